"""The DHIS2 export: a dataValueSet DHIS2 accepts, with or without a province's uid mapping."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pcmd.errors import ReportError
from pcmd.reports.dhis2 import Mapping, data_value_set, read_mapping, to_json

EXAMPLE = Path(__file__).parents[2] / "docs" / "dhis2-mapping.example.csv"
INDICATORS = {"TT1", "KT1", "HD1", "HD2"}
ORG_UNITS = {"VN", "51", "21025", "21028"}
UID = re.compile(r"^[A-Za-z][A-Za-z0-9]{10}$")
PERIOD = re.compile(r"^(\d{4}|\d{6}|\d{4}Q[1-4])$")  # DHIS2 year, month, quarter


def _row(
    ind: str, org: str, num: Any, den: Any, value: Any, unit: str = "percent"
) -> dict[str, Any]:
    return {
        "indicator": ind,
        "org_unit": org,
        "period": "2026Q3",
        "numerator": num,
        "denominator": den,
        "value": value,
        "unit": unit,
        "target": None,
        "status": "no_target",
    }


ROWS = [
    _row("TT1", "51", 12, 15, 80.0),
    _row("KT2", "51", 1, 4, 25.0),  # not in the mapping: not sent
    _row("HD2", "51", 300, None, 300, "count"),
    _row("TT1", "21025", 1, 1, 100.0),
    _row("TT1", "21028", 0, 1, 0.0),  # a commune without a uid: not sent
    _row("TT3C", "51", 50, None, None),  # no denominator: only the numerator
]


def _mapping() -> Mapping:
    return read_mapping(
        EXAMPLE.read_text(encoding="utf-8"),
        str(EXAMPLE),
        indicators=INDICATORS,
        org_units=ORG_UNITS,
    )


def _valid(body: dict[str, Any], *, uids: bool) -> None:
    """DHIS2's dataValueSet rules: set-level dataSet, period, orgUnit and an ISO completeDate;
    every value with dataElement, period, orgUnit and value as a string; uids well formed."""
    assert {"dataSet", "period", "orgUnit", "completeDate", "dataValues"} <= set(body)
    assert PERIOD.match(body["period"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", body["completeDate"])
    for value in body["dataValues"]:
        assert {"dataElement", "period", "orgUnit", "value"} <= set(value)
        assert set(value) <= {
            "dataElement",
            "period",
            "orgUnit",
            "value",
            "categoryOptionCombo",
            "attributeOptionCombo",
        }
        assert isinstance(value["value"], str)
        assert PERIOD.match(value["period"])
    if uids:
        ids = [body["dataSet"], body["orgUnit"]]
        for value in body["dataValues"]:
            ids += [value["dataElement"], value["orgUnit"], value.get("categoryOptionCombo")]
        assert all(UID.match(i) for i in ids if i is not None)


def test_data_value_set__mapping__uids_for_mapped_values_only() -> None:
    body = data_value_set(
        ROWS, period="2026Q3", org_unit="51", complete_date="2026-10-05", mapping=_mapping()
    )
    _valid(body, uids=True)
    assert (body["dataSet"], body["period"], body["orgUnit"], body["completeDate"]) == (
        "pBOMPrpg1QX",
        "2026Q3",
        "DiszpKrYNg8",
        "2026-10-05",
    )
    assert "idScheme" not in body
    q3 = "2026Q3"
    assert body["dataValues"] == [
        {"dataElement": "fbfJHSPpUQD", "period": q3, "orgUnit": "DiszpKrYNg8", "value": "12"},
        {"dataElement": "cYeuwXTCPkU", "period": q3, "orgUnit": "DiszpKrYNg8", "value": "15"},
        {"dataElement": "Jtf34kNZhzP", "period": q3, "orgUnit": "DiszpKrYNg8", "value": "80"},
        {
            "dataElement": "pikOziyCXbM",
            "period": q3,
            "orgUnit": "DiszpKrYNg8",
            "value": "300",
            "categoryOptionCombo": "Prlt0C1RF0s",
        },
        {"dataElement": "fbfJHSPpUQD", "period": q3, "orgUnit": "Rp268JB6Ne4", "value": "1"},
        {"dataElement": "cYeuwXTCPkU", "period": q3, "orgUnit": "Rp268JB6Ne4", "value": "1"},
        {"dataElement": "Jtf34kNZhzP", "period": q3, "orgUnit": "Rp268JB6Ne4", "value": "100"},
    ]
    assert json.loads(to_json(body)) == body


def test_data_value_set__no_mapping__by_code_with_the_scheme_said() -> None:
    body = data_value_set(ROWS[:1], period="2026Q3", org_unit="51", complete_date="2026-10-05")
    _valid(body, uids=False)
    assert (body["dataSet"], body["orgUnit"], body["idScheme"]) == ("PCMD_1629", "51", "CODE")
    assert [v["dataElement"] for v in body["dataValues"]] == ["PCMD_TT1_NUM", "PCMD_TT1_DEN"]


def test_data_value_set__unit_not_mapped_or_multi_year__clear_error() -> None:
    with pytest.raises(ReportError, match=r"chưa có đơn vị 79 .*org_unit,79,"):
        data_value_set(
            ROWS, period="2026", org_unit="79", complete_date="2026-10-05", mapping=_mapping()
        )
    with pytest.raises(ReportError, match="multi-year"):
        data_value_set(ROWS, period="2021-2025", org_unit="51", complete_date="2026-10-05")


@pytest.mark.parametrize(
    ("lines", "said"),
    [
        ("numerator,TT9,fbfJHSPpUQD,", "dòng 3 (line 3): chỉ tiêu 'TT9' không có"),
        ("org_unit,99999,fbfJHSPpUQD,", "dòng 3 (line 3): đơn vị '99999' không có"),
        ("numerator,TT1,1bfJHSPpUQD,", "dòng 3 (line 3): uid DHIS2 '1bfJHSPpUQD' không đúng"),
        ("numerator,TT1,fbfJHSPpUQ,", "uid DHIS2 'fbfJHSPpUQ' không đúng: 11 ký tự"),
        ("numerator,TT1,fbfJHSPpUQD,Prlt0C1RF0", "dòng 3 (line 3): category_option_combo"),
        ("dataelement,TT1,fbfJHSPpUQD,", "dòng 3 (line 3): kind 'dataelement' không có"),
        ("data_set,,fbfJHSPpUQD,", "dòng 3 (line 3): data_set  đã có ở dòng 2"),
    ],
)
def test_read_mapping__bad_line__its_number_and_what_is_wrong(lines: str, said: str) -> None:
    text = f"kind,pcmd_code,dhis2_uid,category_option_combo\ndata_set,,pBOMPrpg1QX,\n{lines}\n"
    with pytest.raises(ReportError) as caught:
        read_mapping(text, "ban-do.csv", indicators=INDICATORS, org_units=ORG_UNITS)
    message = str(caught.value)
    assert message.startswith("ban-do.csv: tệp ánh xạ DHIS2 có 1 dòng lỗi, chưa xuất gì")
    assert said in message


def test_read_mapping__no_data_set_or_bad_header__clear_error() -> None:
    with pytest.raises(ReportError, match="exactly one data_set row"):
        read_mapping(
            "kind,pcmd_code,dhis2_uid,category_option_combo\norg_unit,51,DiszpKrYNg8,\n",
            "m.csv",
            indicators=INDICATORS,
            org_units=ORG_UNITS,
        )
    with pytest.raises(
        ReportError, match=r"(?s)m\.csv: tệp ánh xạ DHIS2 .*dòng 1 \(line 1\): tiêu đề"
    ):
        read_mapping(
            "indicator,uid\nTT1,fbfJHSPpUQD\n", "m.csv", indicators=INDICATORS, org_units=ORG_UNITS
        )
