"""Reference data and targets (DESIGN §7): three CSV imports, all or nothing, upserting.

- `reference import`: `org_unit,year,key,value`, the denominators (workers, students, officials …)
  of an org unit in a year;
- `establishments import`: `id,name,type,commune,address,license_no,status`, the register of
  at-risk service establishments that inspections choose from;
- `targets import`: `indicator,org_unit,period,target`.

Each import reads the whole file first and reports every bad line at once (ImportFileError with
line numbers, the header being line 1); only a clean file is written, in the caller's
transaction. A row whose key is already stored replaces its values (re-importing a corrected
file is how a value is fixed); rows of the database the file does not mention are kept.
Org unit codes must name units in force (valid_to is empty): a value for a unit that no longer
exists would never be read.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from pcmd.db.models import (
    AuditLog,
    Establishment,
    OrgUnit,
    ReferenceValue,
    Target,
    utcnow,
)
from pcmd.errors import ImportFileError, RowProblem
from pcmd.forms.contract import ESTABLISHMENT_TYPES
from pcmd.masterdata.periods import MAX_YEAR, MIN_YEAR, PeriodError, parse_period

REFERENCE_COLUMNS = ("org_unit", "year", "key", "value")
ESTABLISHMENT_COLUMNS = ("id", "name", "type", "commune", "address", "license_no", "status")
TARGET_COLUMNS = ("indicator", "org_unit", "period", "target")

REFERENCE_KEYS = (
    "establishment_workers",
    "industrial_workers",
    "students",
    "officials_province",
    "officials_commune",
    "sex_workers_estimated",
)
ESTABLISHMENT_STATUSES = ("active", "closed")
# Indicator ids as programme files allow them (programme.ID_PATTERN), within targets.indicator.
INDICATOR_RE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
# An establishment id is a choice name in establishments.csv: no spaces, short.
ESTABLISHMENT_ID_RE = re.compile(r"^\S{1,64}$")
MAX_LENGTHS = {"name": 300, "address": 500, "license_no": 100}


@dataclass(frozen=True)
class ImportResult:
    """What an import changed: rows added, rows whose values changed, rows already as given."""

    added: int
    updated: int
    unchanged: int

    @property
    def rows(self) -> int:
        return self.added + self.updated + self.unchanged

    def describe(self) -> str:
        return (
            f"thêm {self.added}, sửa {self.updated}, giữ nguyên {self.unchanged} "
            f"(added {self.added}, updated {self.updated}, unchanged {self.unchanged})"
        )


# --- reading -----------------------------------------------------------------------------------


def _rows(text: str, path: str, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, cells by column) of each non-blank data row; a bad header raises at once.

    Columns may come in any order (spreadsheets get rearranged), but all must be there and no
    other: an unknown column is most often a misspelt one whose values would be lost.
    """
    text = text.removeprefix("\ufeff")  # Excel's "CSV UTF-8" starts with a BOM
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    wanted = ",".join(columns)
    if len(header) == 1 and ";" in header[0]:
        raise ImportFileError(
            path,
            [
                RowProblem(
                    1,
                    "các cột cách nhau bằng dấu chấm phẩy (columns are separated by ';'). Fix: in "
                    "Excel use Save As → CSV UTF-8 (Comma delimited).",
                )
            ],
        )
    missing = [c for c in columns if c not in header]
    unknown = [h for h in header if h not in columns]
    if missing or unknown or len(set(header)) != len(header):
        raise ImportFileError(
            path,
            [
                RowProblem(
                    1,
                    f"tiêu đề phải có đúng các cột {wanted} (header must have exactly the columns "
                    f"{wanted}); thiếu/missing: {','.join(missing) or '-'}, "
                    f"thừa/unknown: {','.join(unknown) or '-'}",
                )
            ],
        )
    for line, raw in enumerate(reader, start=2):
        if not any(cell.strip() for cell in raw):
            continue
        if len(raw) != len(header):
            yield (
                line,
                {"": f"cần {len(header)} cột, có {len(raw)} (expected {len(header)} columns)"},
            )
            continue
        yield line, {name: cell.strip() for name, cell in zip(header, raw, strict=True)}


def _number(text: str, what: str) -> tuple[float | None, str | None]:
    """A finite number ≥ 0 written plainly, or the problem with it (Vietnamese first)."""
    if not text:
        return None, f"thiếu {what} ({what} is empty)"
    try:
        value = float(text) if "_" not in text else math.nan  # float() reads 1_000; people don't
    except ValueError:
        if re.fullmatch(r"-?\d[\d.,\s]*", text):
            return None, (
                f"{what} {text!r} không phải số viết liền (not a plain number): write it "
                "without thousands separators, with '.' for decimals, e.g. 12500 or 70.5"
            )
        return None, f"{what} {text!r} không phải số ({what} is not a number)"
    if not math.isfinite(value):
        return None, f"{what} {text!r} không phải số ({what} is not a number)"
    if value < 0:
        return None, f"{what} {text} âm ({what} cannot be negative)"
    return value, None


def _units_in_force(session: Session) -> dict[str, str]:
    """Code → level of the org units in force."""
    rows = session.execute(select(OrgUnit.code, OrgUnit.level).where(OrgUnit.valid_to.is_(None)))
    return dict(rows.all())


def _unit_problem(code: str, units: dict[str, str], level: str | None = None) -> str | None:
    if not code:
        return "thiếu mã đơn vị (org unit code is empty)"
    found = units.get(code)
    if found is None:
        return (
            f"không có đơn vị {code} trong danh mục đang hiệu lực (no org unit {code} in force). "
            "Fix: use the GSO code, e.g. 51 for a province or 21025 for a commune "
            "(see `pcmd forms media --out DIR`, communes.csv)"
        )
    if level is not None and found != level:
        return f"{code} là {found}, cần xã (code {code} is a {found}, not a commune)"
    return None


def _repeats(line: int, first: int) -> str:
    return f"trùng với dòng {first} (repeats line {first}): keep one of the two"


def _audit(session: Session, actor: str, action: str, path: str, result: ImportResult) -> None:
    session.add(
        AuditLog(
            actor=actor,
            action=action,
            target=path,
            details={
                "added": result.added,
                "updated": result.updated,
                "unchanged": result.unchanged,
            },
        )
    )


# --- reference values --------------------------------------------------------------------------


def import_reference_values(
    session: Session, text: str, path: str, *, actor: str = "cli"
) -> ImportResult:
    """Check and upsert `org_unit,year,key,value` rows in the caller's transaction."""
    units = _units_in_force(session)
    problems: list[RowProblem] = []
    parsed: dict[tuple[str, int, str], tuple[float, int]] = {}
    for line, row in _rows(text, path, REFERENCE_COLUMNS):
        if "" in row:
            problems.append(RowProblem(line, row[""]))
            continue
        bad: list[str] = []
        code, key = row["org_unit"], row["key"]
        if (why := _unit_problem(code, units)) is not None:
            bad.append(why)
        year = _year(row["year"], bad)
        if key not in REFERENCE_KEYS:
            bad.append(
                f"khoá {key!r} không có (unknown key {key!r}); dùng/use one of "
                f"{', '.join(REFERENCE_KEYS)}"
            )
        value, why = _number(row["value"], "value")
        if why is not None:
            bad.append(why)
        elif value is not None and not value.is_integer():
            # Every key is a head count; 12.5 is most often 12.500 written with a separator.
            bad.append(
                f"value {row['value']} không phải số nguyên (is not a whole number): these are "
                "head counts; write 12500, not 12.500"
            )
        if not bad and year is not None and value is not None:
            first = parsed.get((code, year, key))
            if first is not None:
                bad.append(_repeats(line, first[1]))
            else:
                parsed[(code, year, key)] = (value, line)
        problems.extend(RowProblem(line, why) for why in bad)
    _raise_if(path, problems, len(parsed))

    existing = {
        (r.org_code, r.year, r.key): r
        for r in session.execute(
            select(
                ReferenceValue.id,
                ReferenceValue.org_code,
                ReferenceValue.year,
                ReferenceValue.key,
                ReferenceValue.value,
            )
        )
    }
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    unchanged = 0
    for (code, year, key), (value, _line) in parsed.items():
        old = existing.get((code, year, key))
        if old is None:
            inserts.append({"org_code": code, "year": year, "key": key, "value": value})
        elif old.value != value:
            updates.append({"id": old.id, "value": value})
        else:
            unchanged += 1
    if inserts:
        session.execute(insert(ReferenceValue), inserts)
    if updates:
        session.execute(update(ReferenceValue), updates)
    result = ImportResult(len(inserts), len(updates), unchanged)
    _audit(session, actor, "reference.import", path, result)
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


def _raise_if(path: str, problems: list[RowProblem], rows: int) -> None:
    if problems:
        raise ImportFileError(path, sorted(problems, key=lambda p: p.line))
    if rows == 0:
        # An empty file is almost always the wrong file; saying so beats "0 rows imported".
        raise ImportFileError(
            path, [RowProblem(2, "tệp không có dòng số liệu nào (the file has no data rows)")]
        )


# --- establishments ----------------------------------------------------------------------------


def import_establishments(
    session: Session, text: str, path: str, *, actor: str = "cli"
) -> ImportResult:
    """Check and upsert register rows in the caller's transaction.

    The caller refreshes the forms' media afterwards (establishments.csv lists the active ones).
    An establishment the file does not list is kept: closing one is a row with status closed.
    """
    units = _units_in_force(session)
    problems: list[RowProblem] = []
    parsed: dict[str, tuple[dict[str, str], int]] = {}
    for line, row in _rows(text, path, ESTABLISHMENT_COLUMNS):
        if "" in row:
            problems.append(RowProblem(line, row[""]))
            continue
        bad: list[str] = []
        est_id = row["id"]
        if not ESTABLISHMENT_ID_RE.match(est_id):
            bad.append(
                f"mã cơ sở {est_id!r} không hợp lệ: không rỗng, không dấu cách, tối đa 64 ký tự "
                "(id must be 1–64 characters without spaces)"
            )
        if not row["name"]:
            bad.append("thiếu tên cơ sở (name is empty)")
        if row["type"] not in ESTABLISHMENT_TYPES:
            bad.append(
                f"loại hình {row['type']!r} không có (unknown type); dùng/use one of "
                f"{', '.join(ESTABLISHMENT_TYPES)}"
            )
        if (why := _unit_problem(row["commune"], units, "commune")) is not None:
            bad.append(why)
        status = row["status"].lower()
        if status not in ESTABLISHMENT_STATUSES:
            bad.append(
                f"trạng thái {row['status']!r} phải là active hoặc closed "
                "(status must be active or closed)"
            )
        for column, limit in MAX_LENGTHS.items():
            if len(row[column]) > limit:
                bad.append(f"{column} dài quá {limit} ký tự ({column} is over {limit} characters)")
        if not bad:
            first = parsed.get(est_id)
            if first is not None:
                bad.append(_repeats(line, first[1]))
            else:
                parsed[est_id] = ({**row, "status": status}, line)
        problems.extend(RowProblem(line, why) for why in bad)
    _raise_if(path, problems, len(parsed))

    existing = {
        e.id: e
        for e in session.execute(
            select(
                Establishment.id,
                Establishment.name,
                Establishment.type,
                Establishment.commune_code,
                Establishment.address,
                Establishment.license_no,
                Establishment.status,
            )
        )
    }
    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    unchanged = 0
    for est_id, (row, _line) in parsed.items():
        values = {
            "name": row["name"],
            "type": row["type"],
            "commune_code": row["commune"],
            "address": row["address"],
            "license_no": row["license_no"],
            "status": row["status"],
        }
        old = existing.get(est_id)
        if old is None:
            inserts.append({"id": est_id, **values, "updated_at": now})
        elif any(getattr(old, k) != v for k, v in values.items()):
            updates.append({"id": est_id, **values, "updated_at": now})
        else:
            unchanged += 1
    if inserts:
        session.execute(insert(Establishment), inserts)
    if updates:
        session.execute(update(Establishment), updates)
    result = ImportResult(len(inserts), len(updates), unchanged)
    _audit(session, actor, "establishments.import", path, result)
    return result


# --- targets -----------------------------------------------------------------------------------


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
    units = _units_in_force(session)
    problems: list[RowProblem] = []
    parsed: dict[tuple[str, str, str], tuple[float, int]] = {}
    for line, row in _rows(text, path, TARGET_COLUMNS):
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
        if (why := _unit_problem(code, units)) is not None:
            bad.append(why)
        period: str | None = None
        try:
            period = parse_period(row["period"]).code
        except PeriodError as exc:
            bad.append(str(exc))
        value, why = _number(row["target"], "target")
        if why is not None:
            bad.append(why)
        if not bad and period is not None and value is not None:
            first = parsed.get((indicator, code, period))
            if first is not None:
                bad.append(_repeats(line, first[1]))
            else:
                parsed[(indicator, code, period)] = (value, line)
        problems.extend(RowProblem(line, why) for why in bad)
    _raise_if(path, problems, len(parsed))

    existing = {
        (t.indicator, t.org_code, t.period): t
        for t in session.execute(
            select(Target.id, Target.indicator, Target.org_code, Target.period, Target.target)
        )
    }
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    unchanged = 0
    for (indicator, code, period), (value, _line) in parsed.items():
        old = existing.get((indicator, code, period))
        if old is None:
            inserts.append(
                {"indicator": indicator, "org_code": code, "period": period, "target": value}
            )
        elif old.target != value:
            updates.append({"id": old.id, "target": value})
        else:
            unchanged += 1
    if inserts:
        session.execute(insert(Target), inserts)
    if updates:
        session.execute(update(Target), updates)
    result = ImportResult(len(inserts), len(updates), unchanged)
    _audit(session, actor, "targets.import", path, result)
    return result
