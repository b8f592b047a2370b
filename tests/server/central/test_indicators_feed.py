"""The OData feed of indicator values: rows as stored, filtered, paged, and scoped to the
reader's units (a commune officer sees their commune's values, not the province's)."""

from __future__ import annotations

import httpx
from sqlalchemy import delete

from pcmd.db.engine import transaction
from pcmd.db.models import IndicatorValue
from tests.server.central.conftest import PASSWORD, Reading

VALUES = [  # indicator, org, period, numerator, denominator, value, target, status
    ("HD1", "VN", "2026", 5, None, 5.0, None, "no_target"),
    ("HD1", "51", "2026", 4, None, 4.0, None, "no_target"),
    ("HD1", "48", "2026", 1, None, 1.0, None, "no_target"),
    ("HD1", "21028", "2026", 1, None, 1.0, None, "no_target"),
    ("TT1", "51", "2026", 2, 3, 66.7, 70.0, "not_met"),
]


def stored(reading: Reading) -> None:
    with transaction(reading.server.engine) as s:
        s.execute(delete(IndicatorValue))
        for ind, org, period, num, den, value, target, status in VALUES:
            s.add(
                IndicatorValue(
                    programme="pcmd_1629", indicator=ind, org_code=org, period=period,
                    numerator=num, denominator=den, value=value, target=target, status=status,
                )
            )  # fmt: skip


def get(reading: Reading, user: str, **params: str) -> httpx.Response:
    url = f"{reading.server.url}/v1/projects/1/indicators.svc/IndicatorValues"
    return httpx.get(url, params=params, auth=(user, PASSWORD), timeout=30)


def ids(body: dict[str, object]) -> list[str]:
    return [row["__id"] for row in body["value"]]  # type: ignore[attr-defined]


def test_indicators__admin__every_row_paged_and_filtered(reading: Reading) -> None:
    stored(reading)
    first = get(reading, "admin", **{"$top": "2", "$count": "true"}).json()
    assert first["@odata.count"] == 5
    # ordered by period, org unit, indicator: 21028 48 51(HD1) 51(TT1) VN
    assert ids(first) == ["pcmd_1629/HD1/21028/2026", "pcmd_1629/HD1/48/2026"]
    second = httpx.get(first["@odata.nextLink"], auth=("admin", PASSWORD), timeout=30).json()
    assert ids(second) == ["pcmd_1629/HD1/51/2026", "pcmd_1629/TT1/51/2026"]
    tt1 = get(reading, "admin", **{"$filter": "indicator eq 'TT1'"}).json()["value"]
    assert tt1 == [
        {
            "__id": "pcmd_1629/TT1/51/2026",
            "programme": "pcmd_1629",
            "indicator": "TT1",
            "org_unit": "51",
            "period": "2026",
            "numerator": 2.0,
            "denominator": 3.0,
            "value": 66.7,
            "target": 70.0,
            "status": "not_met",
            "computed_at": tt1[0]["computed_at"],
        }
    ]


def test_indicators__scoped__only_units_inside(reading: Reading) -> None:
    stored(reading)
    assert ids(get(reading, "hoa.qng").json()) == [
        "pcmd_1629/HD1/21028/2026",
        "pcmd_1629/HD1/51/2026",
        "pcmd_1629/TT1/51/2026",
    ]
    assert ids(get(reading, "xa.21028").json()) == ["pcmd_1629/HD1/21028/2026"]
    assert ids(get(reading, "minh.dng").json()) == ["pcmd_1629/HD1/48/2026"]


def test_indicators__service_metadata_and_bad_filter(reading: Reading) -> None:
    base = f"{reading.server.url}/v1/projects/1/indicators.svc"
    service = httpx.get(base, auth=("admin", PASSWORD), timeout=30).json()
    assert [v["name"] for v in service["value"]] == ["IndicatorValues"]
    metadata = httpx.get(f"{base}/$metadata", auth=("admin", PASSWORD), timeout=30)
    assert '<EntitySet Name="IndicatorValues"' in metadata.text
    bad = get(reading, "admin", **{"$filter": "value gt 3"})
    assert bad.status_code == 400
    assert bad.json()["code"] == 501.5
