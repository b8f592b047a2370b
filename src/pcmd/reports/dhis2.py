"""The DHIS2 export: a dataValueSet for `POST /api/dataValueSets`, and the mapping file that
turns pcmd's codes into a province's DHIS2 uids.

Why numerator and denominator, and the value only if asked: DHIS2 stores raw counts as data
elements and computes percentages itself with indicators (numerator ÷ denominator), which is
the only way its totals over org units and periods stay right — a percent cannot be added up.
So each pcmd indicator maps to up to three data elements, each optional: `numerator`,
`denominator` and `value` (for a data set that asks for the reported percentage itself).

The mapping file (CSV, UTF-8, header `kind,pcmd_code,dhis2_uid,category_option_combo`; example
in docs/dhis2-mapping.example.csv, explained in README):
- `data_set,,<uid>,` — the data set (exactly one);
- `attribute_option_combo,,<uid>,` — optional, for data sets with an attribute category;
- `org_unit,<GSO code>,<uid>,` — one per org unit sent;
- `numerator|denominator|value,<indicator id>,<uid>,[<category option combo uid>]`.
Uids are DHIS2's: 11 characters, a letter then letters or digits. Every bad line is reported
with its line number (the header is line 1) and nothing is exported.

With a mapping, only mapped indicators and org units are sent, and the report's own unit must
be mapped. Without one, the export goes by code (`PCMD_<indicator>_NUM`/`_DEN`, GSO codes,
data set `PCMD_1629`) and says so with `"idScheme": "CODE"` in the payload. DHIS2 has no
multi-year period: such rows are left out (send the years).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from pcmd.errors import ImportFileError, ReportError, RowProblem
from pcmd.masterdata.csvfile import read_rows
from pcmd.masterdata.periods import parse_period

UID_RE = re.compile(r"[A-Za-z][A-Za-z0-9]{10}")
COLUMNS = ("kind", "pcmd_code", "dhis2_uid", "category_option_combo")
PARTS = ("numerator", "denominator", "value")
KINDS = ("data_set", "attribute_option_combo", "org_unit", *PARTS)
DEFAULT_DATA_SET = "PCMD_1629"
SUFFIX = {"numerator": "NUM", "denominator": "DEN", "value": "VAL"}


@dataclass(frozen=True)
class Element:
    uid: str
    combo: str | None = None


@dataclass
class Mapping:
    data_set: str
    attribute_option_combo: str | None = None
    org_units: dict[str, str] = field(default_factory=dict)  # GSO code → uid
    elements: dict[tuple[str, str], Element] = field(default_factory=dict)  # (ind, part) → …


def read_mapping(
    text: str, path: str, *, indicators: Collection[str], org_units: Collection[str]
) -> Mapping:
    """Read and check a mapping file against the programme's indicators and the org units in
    force; a ReportError lists every bad line."""
    problems: list[RowProblem] = []
    try:
        rows = list(read_rows(text, path, COLUMNS))
    except ImportFileError as exc:  # a bad header
        raise ReportError(_message(path, exc.problems)) from None
    data_sets: list[tuple[int, str]] = []
    combo: str | None = None
    units: dict[str, str] = {}
    elements: dict[tuple[str, str], Element] = {}
    seen: dict[tuple[str, str], int] = {}
    for line, row in rows:
        kind, code = row["kind"].strip(), row["pcmd_code"].strip()
        uid, coc = row["dhis2_uid"].strip(), row["category_option_combo"].strip()

        def bad(message: str, line: int = line) -> None:
            problems.append(RowProblem(line, message))

        if kind not in KINDS:
            bad(f"kind {kind!r} không có (unknown kind); dùng (use) {', '.join(KINDS)}")
            continue
        if not UID_RE.fullmatch(uid):
            bad(
                f"uid DHIS2 {uid!r} không đúng: 11 ký tự, chữ cái đầu rồi chữ hoặc số (a DHIS2 "
                "uid is 11 characters: a letter, then letters or digits), e.g. fbfJHSPpUQD"
            )
            continue
        if coc and (kind not in PARTS or not UID_RE.fullmatch(coc)):
            bad(
                f"category_option_combo {coc!r}: chỉ cho numerator/denominator/value, 11 ký tự "
                "(only on numerator, denominator or value rows; an 11-character uid)"
            )
            continue
        if (kind, code) in seen:
            first = seen[(kind, code)]
            bad(f"{kind} {code} đã có ở dòng {first} (already given on line {first})")
            continue
        seen[(kind, code)] = line
        if kind == "data_set":
            data_sets.append((line, uid))
        elif kind == "attribute_option_combo":
            combo = uid
        elif kind == "org_unit":
            if code not in org_units:
                bad(
                    f"đơn vị {code!r} không có hoặc không còn hiệu lực (no org unit {code!r} in "
                    "force); use a GSO code: VN, a province (51) or a commune (21025)"
                )
            units[code] = uid
        elif code not in indicators:
            bad(
                f"chỉ tiêu {code!r} không có trong chương trình (no indicator {code!r}); known: "
                f"{', '.join(sorted(indicators))}"
            )
        else:
            elements[(code, kind)] = Element(uid, coc or None)
    if len(data_sets) != 1 and not problems:
        line = data_sets[1][0] if data_sets else 2
        problems.append(
            RowProblem(
                line,
                "cần đúng một dòng data_set (exactly one data_set row is needed), e.g. "
                "data_set,,pBOMPrpg1QX,",
            )
        )
    if problems:
        raise ReportError(_message(path, problems))
    return Mapping(data_sets[0][1], combo, units, elements)


def _message(path: str, problems: Sequence[RowProblem]) -> str:
    shown = "\n".join(f"  {p}" for p in problems[:20])
    return (
        f"{path}: tệp ánh xạ DHIS2 có {len(problems)} dòng lỗi, chưa xuất gì (the DHIS2 "
        f"mapping file has {len(problems)} bad line(s); nothing exported). Fix these lines:\n"
        f"{shown}"
    )


def _text(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else str(value)


def data_value_set(
    rows: Sequence[dict[str, Any]],
    *,
    period: str,
    org_unit: str,
    complete_date: str,
    mapping: Mapping | None = None,
) -> dict[str, Any]:
    """The dataValueSet of `org_unit`'s report for `period` (rows of the unit and those below
    it), completed on `complete_date` (ISO date)."""
    if "-" in period:
        raise ReportError(
            f"DHIS2 không có kỳ nhiều năm như {period} (DHIS2 has no multi-year period): "
            "export each year instead."
        )
    parse_period(period)
    if mapping is not None and org_unit not in mapping.org_units:
        raise ReportError(
            f"Tệp ánh xạ DHIS2 chưa có đơn vị {org_unit} (the DHIS2 mapping has no uid for org "
            f"unit {org_unit}). Fix: add a line org_unit,{org_unit},<its DHIS2 uid>,"
        )
    values: list[dict[str, str]] = []
    for row in rows:
        if "-" in row["period"]:
            continue
        for part in PARTS:
            raw = row.get(part)
            if raw is None:
                continue
            if mapping is None:
                if part == "value":
                    continue
                element = Element(f"PCMD_{row['indicator']}_{SUFFIX[part]}")
                unit = row["org_unit"]
            else:
                found = mapping.elements.get((row["indicator"], part))
                mapped_unit = mapping.org_units.get(row["org_unit"])
                if found is None or mapped_unit is None:
                    continue
                element, unit = found, mapped_unit
            value = {
                "dataElement": element.uid,
                "period": row["period"],
                "orgUnit": unit,
                "value": _text(raw),
            }
            if element.combo:
                value["categoryOptionCombo"] = element.combo
            if mapping is not None and mapping.attribute_option_combo:
                value["attributeOptionCombo"] = mapping.attribute_option_combo
            values.append(value)
    body: dict[str, Any] = {
        "dataSet": mapping.data_set if mapping else DEFAULT_DATA_SET,
        "period": period,
        "orgUnit": mapping.org_units[org_unit] if mapping else org_unit,
        "completeDate": complete_date,
    }
    if mapping is not None and mapping.attribute_option_combo:
        body["attributeOptionCombo"] = mapping.attribute_option_combo
    if mapping is None:
        body["idScheme"] = "CODE"
    body["dataValues"] = values
    return body


def to_json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, indent=1).encode("utf-8")
