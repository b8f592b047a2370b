"""The establishment register (`pcmd establishments import`): `id,name,type,commune,address,
license_no,status`, the at-risk service establishments that inspections choose from."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from pcmd.db.models import Establishment, utcnow
from pcmd.errors import RowProblem
from pcmd.forms.contract import ESTABLISHMENT_TYPES
from pcmd.masterdata.csvfile import (
    ImportResult,
    audit_import,
    keep_first,
    raise_if_problems,
    read_rows,
    unit_problem,
    units_in_force,
)

ESTABLISHMENT_COLUMNS = ("id", "name", "type", "commune", "address", "license_no", "status")
ESTABLISHMENT_STATUSES = ("active", "closed")
# An establishment id is a choice name in establishments.csv: no spaces, short.
ESTABLISHMENT_ID_RE = re.compile(r"^\S{1,64}$")
MAX_LENGTHS = {"name": 300, "address": 500, "license_no": 100}


def import_establishments(
    session: Session, text: str, path: str, *, actor: str = "cli"
) -> ImportResult:
    """Check and upsert register rows in the caller's transaction.

    The caller refreshes the forms' media afterwards (establishments.csv lists the active ones).
    An establishment the file does not list is kept: closing one is a row with status closed.
    """
    units = units_in_force(session)
    problems: list[RowProblem] = []
    parsed: dict[str, tuple[dict[str, str], int]] = {}
    for line, row in read_rows(text, path, ESTABLISHMENT_COLUMNS):
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
        if (why := unit_problem(row["commune"], units, "commune")) is not None:
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
        if not bad and (why := keep_first(parsed, est_id, {**row, "status": status}, line)):
            bad.append(why)
        problems.extend(RowProblem(line, why) for why in bad)
    raise_if_problems(path, problems, len(parsed))

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
    audit_import(session, actor, "establishments.import", path, result)
    return result
