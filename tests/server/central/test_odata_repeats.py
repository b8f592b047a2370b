"""Repeat tables: rows of `Submissions.hh.people` and the nested `….visits` from the stored
XML (ids stable, parent links right, fields typed), the service document listing them, and
`$expand=*` inlining them — unit-tested on the XML and read over HTTP from a stored form."""

from __future__ import annotations

import httpx

from pcmd.db.engine import transaction
from pcmd.forms.convert import FormBuild, convert_workbook
from pcmd.forms.registry import refresh_media, store_build
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from pcmd.server.central.odata_repeats import repeat_rows, row_id
from pcmd.server.central.schema import form_fields
from tests.server.central.conftest import PASSWORD, Reading

FORM = """
| survey |
| | type | name | label |
| | begin_group | where | Địa bàn |
| | select_one_from_file communes.csv | commune | Xã |
| | end_group | | |
| | begin_group | hh | Hộ |
| | integer | size | Số người |
| | begin_repeat | people | Người |
| | integer | age | Tuổi |
| | begin_repeat | visits | Lần |
| | date | when | Ngày |
| | end_repeat | | |
| | end_repeat | | |
| | end_group | | |
| settings |
| | form_id | version |
| | hh_visit | 1 |
"""
IID = "uuid:6b0c2f4e-0000-4000-8000-000000000001"
XML = (
    '<?xml version="1.0"?><hh_visit id="hh_visit" version="1">'
    "<where><commune>21025</commune></where><hh><size>2</size>"
    "<people><age>34</age><visits><when>2026-03-01</when></visits>"
    "<visits><when>2026-03-09</when></visits></people>"
    "<people><age/></people></hh>"
    f"<meta><instanceID>{IID}</instanceID></meta></hh_visit>"
)


def build() -> tuple[str, FormBuild]:
    made = convert_workbook(FORM.encode(), "hh_visit.md", validate=False)
    return made.xform, made


def test_repeat_rows__people_and_visits__ids_links_and_types() -> None:
    xform, _ = build()
    fields = form_fields(xform)
    people = repeat_rows(XML, IID, fields, "hh/people")
    first, second = row_id(IID, "hh/people", (1,)), row_id(IID, "hh/people", (2,))
    assert people == [
        {
            "__id": first,
            "__Submissions-id": IID,
            "age": 34,
            "visits@odata.navigationLink": f"Submissions('{IID}')/hh/people/visits",
        },
        {
            "__id": second,
            "__Submissions-id": IID,
            "age": None,
            "visits@odata.navigationLink": f"Submissions('{IID}')/hh/people/visits",
        },
    ]
    visits = repeat_rows(XML, IID, fields, "hh/people/visits")
    assert visits == [
        {
            "__id": row_id(IID, "hh/people/visits", (1, 1)),
            "__Submissions-hh-people-id": first,
            "when": "2026-03-01",
        },
        {
            "__id": row_id(IID, "hh/people/visits", (1, 2)),
            "__Submissions-hh-people-id": first,
            "when": "2026-03-09",
        },
    ]
    assert repeat_rows(XML, IID, fields, "hh/people") == people  # stable ids


def test_repeat_tables__over_http__service_rows_and_expand(reading: Reading) -> None:
    _xform, made = build()
    engine = reading.server.engine
    with transaction(engine) as s:
        store_build(s, made)
        refresh_media(s)
    ingest_with_retry(
        engine,
        FileStore(reading.server.settings.data_dir / "attachments"),
        Incoming(xml=XML.encode(), source="openrosa"),
    )
    base = f"{reading.server.url}/v1/projects/1/forms/hh_visit.svc"
    auth = ("admin", PASSWORD)
    service = httpx.get(base, auth=auth, timeout=30).json()
    assert [v["name"] for v in service["value"]] == [
        "Submissions",
        "Submissions.hh.people",
        "Submissions.hh.people.visits",
    ]
    people = httpx.get(
        f"{base}/Submissions.hh.people",
        params={"$count": "true", "$top": "1"},
        auth=auth,
        timeout=30,
    ).json()
    assert people["@odata.count"] == 2
    assert [r["age"] for r in people["value"]] == [34]
    rest = httpx.get(people["@odata.nextLink"], auth=auth, timeout=30).json()
    assert [r["age"] for r in rest["value"]] == [None]
    visits = httpx.get(f"{base}/Submissions.hh.people.visits", auth=auth, timeout=30).json()
    assert [r["when"] for r in visits["value"]] == ["2026-03-01", "2026-03-09"]
    root = httpx.get(f"{base}/Submissions", auth=auth, timeout=30).json()["value"][0]
    assert (
        root["hh"]["people@odata.navigationLink"]
        == f"Submissions('{IID.replace(':', '%3A')}')/hh/people"
    )
    assert "people" not in root["hh"]
    # the link, followed as a client does (relative to the service), lists that household's
    link = f"{base}/{root['hh']['people@odata.navigationLink']}"
    linked = httpx.get(link, auth=auth, timeout=30).json()
    assert linked["@odata.context"].endswith("$metadata#Submissions.hh.people")
    assert [p["age"] for p in linked["value"]] == [34, None]
    assert linked["value"] == people["value"] + rest["value"]
    inner = httpx.get(f"{base}/{linked['value'][0]['visits@odata.navigationLink']}", auth=auth)
    assert [r["when"] for r in inner.json()["value"]] == ["2026-03-01", "2026-03-09"]
    assert httpx.get(link, auth=("minh.dng", PASSWORD), timeout=30).status_code == 404
    assert httpx.get(f"{base}/Submissions('{IID}')/hh/pets", auth=auth).status_code == 404
    assert httpx.get(link, params={"$top": "1"}, auth=auth).status_code == 400
    expanded = httpx.get(f"{base}/Submissions", params={"$expand": "*"}, auth=auth, timeout=30)
    inline = expanded.json()["value"][0]["hh"]["people"]
    assert [p["age"] for p in inline] == [34, None]
    scoped = httpx.get(f"{base}/Submissions.hh.people", auth=("minh.dng", PASSWORD), timeout=30)
    assert scoped.json()["value"] == []  # Đà Nẵng sees no Quảng Ngãi household
