"""Submissions as a table: one row per current (latest-version, not deleted) submission.

Columns as DESIGN §9: instance_id (root), current_instance_id, form_id, version, source,
review_state, submitted_at, then every field of the form by its group path, select_multiple
space-separated, like ODK Central's CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pcmd.db.models import Form, FormVersion, Submission, SubmissionVersion
from pcmd.errors import ReportError
from pcmd.reports.formulas import csv_row

FIXED = (
    "instance_id",
    "current_instance_id",
    "form_id",
    "version",
    "source",
    "review_state",
    "submitted_at",
)
SKIPPED_FIELDS = ("meta/instanceID",)  # already the current_instance_id column


@dataclass
class Table:
    columns: list[str]
    rows: Iterator[dict[str, Any]]


def _flat(value: Any) -> Any:
    """select_multiple and geopoint values as space-separated text; the rest unchanged."""
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return value


def form_fields(session: Session, form: Form) -> list[str]:
    """Field paths of every version of the form, current version's order first."""
    versions = session.scalars(
        select(FormVersion).where(FormVersion.form_pk == form.id).order_by(FormVersion.id.desc())
    ).all()
    paths: list[str] = []
    for version in versions:
        for path, info in version.fields.items():
            if path in SKIPPED_FIELDS or path in paths or info.get("control") == "trigger":
                continue
            paths.append(path)
    return paths


def submissions_table(
    session: Session,
    form_id: str,
    project_id: int = 1,
    *,
    communes: Sequence[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    counted_only: bool = False,
    flat: bool = True,
) -> Table:
    """The form's current submissions, optionally only those of `communes` with an activity
    date in [start, end], and (`counted_only`) without the rejected ones; `flat=False` keeps
    select_multiple answers as lists and `submitted_at` as a datetime."""
    form = session.scalar(
        select(Form).where(Form.project_id == project_id, Form.form_id == form_id)
    )
    if form is None:
        known = ", ".join(session.scalars(select(Form.form_id).order_by(Form.form_id)))
        raise ReportError(
            f"Không có biểu mẫu {form_id!r} (no form {form_id!r}). Known forms: {known or '—'}."
        )
    fields = form_fields(session, form)
    query = (
        select(Submission, SubmissionVersion)
        .join(SubmissionVersion, SubmissionVersion.id == Submission.current_version_id)
        .where(Submission.form_pk == form.id, Submission.deleted.is_(False))
        .order_by(Submission.submitted_at, Submission.id)
        .execution_options(yield_per=1000)
    )
    if communes is not None:
        query = query.where(Submission.commune_code.in_(communes))
    if start is not None:
        query = query.where(Submission.activity_date >= start)
    if end is not None:
        query = query.where(Submission.activity_date <= end)
    if counted_only:
        query = query.where(Submission.review_state != "rejected")

    def rows() -> Iterator[dict[str, Any]]:
        for submission, version in session.execute(query):
            row: dict[str, Any] = {
                "instance_id": submission.instance_id,
                "current_instance_id": version.instance_id,
                "form_id": form_id,
                "version": version.form_version,
                "source": submission.source,
                "review_state": submission.review_state,
                "submitted_at": submission.submitted_at.isoformat()
                if flat
                else submission.submitted_at,
            }
            for path in fields:
                value = version.data.get(path)
                row[path] = _flat(value) if flat else value
            yield row

    return Table([*FIXED, *fields], rows())


def write_csv(table: Table, out: IO[str]) -> int:
    """The table as CSV; text a spreadsheet would take for a formula is made inert."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(csv_row(table.columns))
    count = 0
    for row in table.rows:
        writer.writerow(csv_row(row.get(column) for column in table.columns))
        count += 1
    return count


def write_json(table: Table, out: IO[str]) -> int:
    """A JSON list, written row by row so a large export is not held in memory."""
    count = 0
    out.write("[")
    for row in table.rows:
        out.write(",\n" if count else "\n")
        out.write(json.dumps(row, ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count
