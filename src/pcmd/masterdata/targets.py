"""Targets (`pcmd targets import`): `indicator,org_unit,period,target`, what an indicator should
reach in an org unit and period; checked against the programmes' indicators and upserted."""

from __future__ import annotations

import re
from collections.abc import Collection

from sqlalchemy.orm import Session

from pcmd.db.models import Target
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
from pcmd.masterdata.periods import PeriodError, parse_period

TARGET_COLUMNS = ("indicator", "org_unit", "period", "target")
# Indicator ids as programme files allow them (programme.ID_PATTERN), within targets.indicator.
INDICATOR_RE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


def import_targets(
    session: Session,
    text: str,
    path: str,
    *,
    indicators: Collection[str],
    actor: str = "cli",
) -> ImportResult:
    """Check and upsert `indicator,org_unit,period,target` rows in the caller's transaction.

    An indicator must be one the programmes define (`indicators`, by default those of the
    programmes switched on): a target for a misspelt id would never be read. Periods are stored
    in their canonical form (`2026q3` → `2026Q3`).
    """
    known = set(indicators)
    units = units_in_force(session)
    problems: list[RowProblem] = []
    parsed: dict[tuple[str, str, str], tuple[float, int]] = {}
    for line, row in read_rows(text, path, TARGET_COLUMNS):
        if "" in row:
            problems.append(RowProblem(line, row[""]))
            continue
        bad: list[str] = []
        indicator, code = row["indicator"], row["org_unit"]
        if not INDICATOR_RE.match(indicator):
            bad.append(
                f"mã chỉ tiêu {indicator!r} không hợp lệ (invalid indicator id): letters, "
                "digits, _ . - and at most 32 characters, e.g. TT1 or TT3A"
            )
        elif indicator not in known:
            bad.append(
                f"chỉ tiêu {indicator} không có trong các chương trình đang dùng (no indicator "
                f"{indicator} in the programmes in use; known: {', '.join(sorted(known))}). Fix: "
                "correct the id, or first add the plan that defines it (pcmd programmes add)"
            )
        if (why := unit_problem(code, units)) is not None:
            bad.append(why)
        period: str | None = None
        try:
            period = parse_period(row["period"]).code
        except PeriodError as exc:
            bad.append(str(exc))
        value, why = parse_number(row["target"], "target")
        if why is not None:
            bad.append(why)
        if (
            not bad
            and period is not None
            and value is not None
            and (why := keep_first(parsed, (indicator, code, period), value, line))
        ):
            bad.append(why)
        problems.extend(RowProblem(line, why) for why in bad)
    raise_if_problems(path, problems, len(parsed))

    result = upsert_by_key(session, Target, ("indicator", "org_code", "period"), "target", parsed)
    audit_import(session, actor, "targets.import", path, result)
    return result
