"""Org units: read a `code,name,level,parent` list, check it, and plan how it changes the database.

The shipped list (data/admin_units_2025.csv) is the official one in force since 2025-07-01. A
province that uses its own list imports a CSV of the same shape: by default it extends and renames;
with `replace`, units under the imported ones that the file no longer lists are closed (valid_to),
never deleted, because submissions of earlier eras still point at them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pcmd.db.models import OrgUnit
from pcmd.errors import ImportFileError, RowProblem

HEADER = ["code", "name", "level", "parent"]
LEVELS = ("country", "province", "commune")
PARENT_LEVEL = {"province": "country", "commune": "province"}
SHIPPED_CSV = "admin_units_2025.csv"
SHIPPED_VALID_FROM = dt.date(2025, 7, 1)


@dataclass(frozen=True)
class OrgUnitRow:
    code: str
    name: str
    level: str
    parent: str | None
    line: int = 0


@dataclass
class OrgUnitPlan:
    """What an import does: rows to insert, renames/moves of current units, units to close."""

    insert: list[OrgUnitRow] = field(default_factory=list)
    update: list[OrgUnitRow] = field(default_factory=list)
    close: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changes(self) -> int:
        return len(self.insert) + len(self.update) + len(self.close)


def shipped_csv_text() -> str:
    return (resources.files("pcmd.masterdata") / "data" / SHIPPED_CSV).read_text(encoding="utf-8")


def parse_orgunits(text: str, path: str, known: dict[str, str] | None = None) -> list[OrgUnitRow]:
    """Parse and check a whole org-unit CSV; raise ImportFileError listing every bad line.

    `known` maps codes already in force to their level, so a file may attach communes to a
    province it does not repeat.
    """
    known = known or {}
    text = text.removeprefix("\ufeff")  # Excel writes a BOM in "CSV UTF-8"
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or [h.strip().lower() for h in header] != HEADER:
        raise ImportFileError(
            path,
            [
                RowProblem(
                    1,
                    f"tiêu đề phải là {','.join(HEADER)} (header must be "
                    f"{','.join(HEADER)}), got {','.join(header or [])!r}",
                )
            ],
        )
    rows: list[OrgUnitRow] = []
    problems: list[RowProblem] = []
    seen: dict[str, int] = {}
    for line, raw in enumerate(reader, start=2):
        if not any(cell.strip() for cell in raw):
            continue
        if len(raw) != len(HEADER):
            problems.append(RowProblem(line, f"cần 4 cột, có {len(raw)} (expected 4 columns)"))
            continue
        code, name, level, parent = (cell.strip() for cell in raw)
        level = level.lower()
        if not code or any(ch.isspace() for ch in code) or len(code) > 16:
            problems.append(
                RowProblem(
                    line,
                    f"mã {code!r} không hợp lệ: không rỗng, không dấu "
                    f"cách, tối đa 16 ký tự (invalid code)",
                )
            )
        elif code in seen:
            problems.append(
                RowProblem(
                    line,
                    f"mã {code} trùng với dòng {seen[code]} "
                    f"(code {code} repeats line {seen[code]})",
                )
            )
        else:
            seen[code] = line
        if not name:
            problems.append(RowProblem(line, "thiếu tên (name is empty)"))
        if level not in LEVELS:
            problems.append(
                RowProblem(
                    line,
                    f"cấp {level!r} phải là country, province hoặc "
                    f"commune (level must be country/province/commune)",
                )
            )
        elif level == "country" and parent:
            problems.append(
                RowProblem(
                    line,
                    "cấp quốc gia không có cấp trên (country has no parent): leave parent empty",
                )
            )
        elif level != "country" and not parent:
            problems.append(RowProblem(line, f"thiếu mã cấp trên (parent is empty for {level})"))
        rows.append(OrgUnitRow(code, name, level, parent or None, line))

    levels = {**known, **{r.code: r.level for r in rows if r.level in LEVELS}}
    for row in rows:
        if row.parent is None or row.level not in PARENT_LEVEL:
            continue
        want = PARENT_LEVEL[row.level]
        if row.parent not in levels:
            problems.append(
                RowProblem(
                    row.line,
                    f"cấp trên {row.parent} không có trong tệp hay "
                    f"danh mục (unknown parent {row.parent})",
                )
            )
        elif levels[row.parent] != want:
            problems.append(
                RowProblem(
                    row.line,
                    f"cấp trên {row.parent} là {levels[row.parent]}, "
                    f"cần {want} (parent of a {row.level} must be "
                    f"a {want})",
                )
            )
    if problems:
        raise ImportFileError(path, sorted(problems, key=lambda p: p.line))
    return rows


def current_units(session: Session) -> dict[str, OrgUnit]:
    """Units in force now (valid_to is None), by code."""
    result = session.scalars(select(OrgUnit).where(OrgUnit.valid_to.is_(None)))
    return {u.code: u for u in result}


def plan_import(
    current: dict[str, tuple[str, str, str | None]],
    rows: Sequence[OrgUnitRow],
    *,
    replace: bool,
) -> OrgUnitPlan:
    """Compare a parsed file with the units in force (code → (name, level, parent))."""
    plan = OrgUnitPlan()
    for row in rows:
        now = current.get(row.code)
        if now is None:
            plan.insert.append(row)
        elif now != (row.name, row.level, row.parent):
            plan.update.append(row)
        else:
            plan.unchanged += 1
    if replace:
        listed = {r.code for r in rows}
        roots = {r.code for r in rows}
        children: dict[str, list[str]] = {}
        for code, (_n, _l, parent) in current.items():
            if parent:
                children.setdefault(parent, []).append(code)
        stack = list(roots)
        while stack:
            for child in children.get(stack.pop(), []):
                if child not in listed:
                    plan.close.append(child)
                stack.append(child)
    return plan


def apply_plan(session: Session, plan: OrgUnitPlan, valid_from: dt.date) -> None:
    """Write a plan in the caller's transaction."""
    if plan.close:
        session.execute(
            update(OrgUnit)
            .where(OrgUnit.code.in_(plan.close), OrgUnit.valid_to.is_(None))
            .values(valid_to=valid_from)
        )
    for row in plan.update:
        session.execute(
            update(OrgUnit)
            .where(OrgUnit.code == row.code, OrgUnit.valid_to.is_(None))
            .values(name=row.name, level=row.level, parent_code=row.parent)
        )
    if plan.insert:
        session.add_all(
            OrgUnit(
                code=r.code, name=r.name, level=r.level, parent_code=r.parent, valid_from=valid_from
            )
            for r in plan.insert
        )


def import_orgunits(
    session: Session,
    text: str,
    path: str,
    *,
    replace: bool = False,
    valid_from: dt.date | None = None,
) -> OrgUnitPlan:
    """Parse, plan and apply an org-unit list in the caller's transaction (all or nothing)."""
    units = current_units(session)
    rows = parse_orgunits(text, path, known={c: u.level for c, u in units.items()})
    existing = {c: (u.name, u.level, u.parent_code) for c, u in units.items()}
    plan = plan_import(existing, rows, replace=replace)
    apply_plan(session, plan, valid_from or dt.date.today())
    return plan


def load_shipped(session: Session) -> OrgUnitPlan:
    """Load the official 2025 list; running it again changes nothing."""
    return import_orgunits(session, shipped_csv_text(), SHIPPED_CSV, valid_from=SHIPPED_VALID_FROM)


def count_by_level(units: Iterable[OrgUnit]) -> dict[str, int]:
    counts = dict.fromkeys(LEVELS, 0)
    for unit in units:
        counts[unit.level] = counts.get(unit.level, 0) + 1
    return counts
