"""Reference values (`pcmd reference import`): `org_unit,year,key,value`, the denominators
(workers, students, officials …) of an org unit in a year, checked and upserted all or nothing."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from pcmd.db.models import ReferenceValue
from pcmd.errors import RowProblem
from pcmd.masterdata.csvfile import (
    ImportResult,
    audit_import,
    keep_first,
    parse_number,
    raise_if_problems,
    read_rows,
    unit_problem,
    units_in_force,
    upsert_by_key,
)
from pcmd.masterdata.periods import MAX_YEAR, MIN_YEAR

REFERENCE_COLUMNS = ("org_unit", "year", "key", "value")

REFERENCE_KEYS = (
    "establishment_workers",
    "industrial_workers",
    "students",
    "officials_province",
    "officials_commune",
    "sex_workers_estimated",
    # persons who sell sex assessed as in need of and eligible for support (HT1, DESIGN §7)
    "sex_workers_in_need",
)


def import_reference_values(
    session: Session, text: str, path: str, *, actor: str = "cli"
) -> ImportResult:
    """Check and upsert `org_unit,year,key,value` rows in the caller's transaction."""
    units = units_in_force(session)
    problems: list[RowProblem] = []
    parsed: dict[tuple[str, int, str], tuple[float, int]] = {}
    for line, row in read_rows(text, path, REFERENCE_COLUMNS):
        if "" in row:
            problems.append(RowProblem(line, row[""]))
            continue
        bad: list[str] = []
        code, key = row["org_unit"], row["key"]
        if (why := unit_problem(code, units)) is not None:
            bad.append(why)
        year = _year(row["year"], bad)
        if key not in REFERENCE_KEYS:
            bad.append(
                f"khoá {key!r} không có (unknown key {key!r}); dùng/use one of "
                f"{', '.join(REFERENCE_KEYS)}"
            )
        value, why = parse_number(row["value"], "value")
        if why is not None:
            bad.append(why)
        elif value is not None and not value.is_integer():
            # Every key is a head count; 12.5 is most often 12.500 written with a separator.
            bad.append(
                f"value {row['value']} không phải số nguyên (is not a whole number): these are "
                "head counts; write 12500, not 12.500"
            )
        if (
            not bad
            and year is not None
            and value is not None
            and (why := keep_first(parsed, (code, year, key), value, line))
        ):
            bad.append(why)
        problems.extend(RowProblem(line, why) for why in bad)
    raise_if_problems(path, problems, len(parsed))

    result = upsert_by_key(session, ReferenceValue, ("org_code", "year", "key"), "value", parsed)
    audit_import(session, actor, "reference.import", path, result)
    return result


def _year(text: str, bad: list[str]) -> int | None:
    if not re.fullmatch(r"\d{4}", text):
        bad.append(f"năm {text!r} phải có 4 chữ số (year must be 4 digits, e.g. 2025)")
        return None
    year = int(text)
    if not MIN_YEAR <= year <= MAX_YEAR:
        bad.append(f"năm {year} nằm ngoài {MIN_YEAR}–{MAX_YEAR} (year out of range)")
        return None
    return year
