"""Reading an import CSV: rows with line numbers, plain numbers, org unit codes in force, and
what an import changed (ImportResult, audited); shared by the reference, register and target
imports.

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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from pcmd.db.models import AuditLog, OrgUnit
from pcmd.errors import ImportFileError, RowProblem

K = TypeVar("K")
V = TypeVar("V")


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


def read_rows(
    text: str, path: str, columns: tuple[str, ...]
) -> Iterator[tuple[int, dict[str, str]]]:
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


def parse_number(text: str, what: str) -> tuple[float | None, str | None]:
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


def units_in_force(session: Session) -> dict[str, str]:
    """Code → level of the org units in force."""
    rows = session.execute(select(OrgUnit.code, OrgUnit.level).where(OrgUnit.valid_to.is_(None)))
    return dict(rows.all())


def unit_problem(code: str, units: dict[str, str], level: str | None = None) -> str | None:
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


def keep_first(parsed: dict[K, tuple[V, int]], key: K, value: V, line: int) -> str | None:
    """Keep a row's value under its key; a second row with the same key is the row's problem."""
    first = parsed.get(key)
    if first is not None:
        return f"trùng với dòng {first[1]} (repeats line {first[1]}): keep one of the two"
    parsed[key] = (value, line)
    return None


def audit_import(
    session: Session, actor: str, action: str, path: str, result: ImportResult
) -> None:
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


def raise_if_problems(path: str, problems: list[RowProblem], rows: int) -> None:
    if problems:
        raise ImportFileError(path, sorted(problems, key=lambda p: p.line))
    if rows == 0:
        # An empty file is almost always the wrong file; saying so beats "0 rows imported".
        raise ImportFileError(
            path, [RowProblem(2, "tệp không có dòng số liệu nào (the file has no data rows)")]
        )


def upsert_by_key(
    session: Session,
    model: type[Any],
    keys: Sequence[str],
    column: str,
    parsed: Mapping[tuple[Any, ...], tuple[Any, int]],
) -> ImportResult:
    """Insert the rows whose key is new, update those whose `column` changed, count the rest.

    `parsed` maps a key (values of `keys`, in order) to (value, line) as `keep_first` kept it.
    """
    key_columns = [getattr(model, name) for name in keys]
    existing = {
        tuple(row[1:-1]): (row[0], row[-1])
        for row in session.execute(select(model.id, *key_columns, getattr(model, column)))
    }
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    unchanged = 0
    for key, (value, _line) in parsed.items():
        old = existing.get(key)
        if old is None:
            inserts.append({**dict(zip(keys, key, strict=True)), column: value})
        elif old[1] != value:
            updates.append({"id": old[0], column: value})
        else:
            unchanged += 1
    if inserts:
        session.execute(insert(model), inserts)
    if updates:
        session.execute(update(model), updates)
    return ImportResult(len(inserts), len(updates), unchanged)
