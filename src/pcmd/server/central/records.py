"""The submissions a reader may see, as Central lists them: current versions of one form, not
deleted, inside the reader's communes; the columns `$filter` and `$orderby` may name; and the
`__system` facts of a page of them (edits, attachments, submitter) read in a few queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, literal, null, or_, select, tuple_
from sqlalchemy.orm import Session, aliased

from pcmd.db.models import AppUser, Attachment, Submission, SubmissionVersion, UtcDateTime
from pcmd.server.central.odata_filter import Column
from pcmd.server.central.odata_rows import CENTRAL_STATES, System

CURRENT = aliased(SubmissionVersion, name="current_version")

# Central's updatedAt: set once a submission was edited or reviewed, null before.
UPDATED_AT: ColumnElement[Any] = case(
    (
        or_(Submission.review_state != "received", CURRENT.instance_id != Submission.instance_id),
        Submission.updated_at,
    ),
    else_=null(),
)


def _review_state(value: Any) -> Any:
    """A Central review state named in a filter → pcmd's (null = not reviewed: `received`)."""
    if value is None:
        return "received"
    return CENTRAL_STATES.get(str(value), f"unknown:{value}")


FILTER_COLUMNS = {
    "__id": Column(Submission.instance_id, "text"),
    "__system/submissionDate": Column(Submission.submitted_at, "timestamp"),
    "__system/updatedAt": Column(UPDATED_AT, "timestamp"),
    "__system/reviewState": Column(Submission.review_state, "enum", _review_state),
}


def visible(form_pk: int, communes: list[str] | None) -> Select[Submission, SubmissionVersion]:
    """Current, not deleted submissions of a form within the communes (None: all)."""
    query = (
        select(Submission, CURRENT)
        .join(CURRENT, CURRENT.id == Submission.current_version_id)
        .where(Submission.form_pk == form_pk, Submission.deleted.is_(False))
    )
    if communes is not None:
        query = query.where(Submission.commune_code.in_(communes))
    return query


def after(submitted_at: dt.datetime, sid: int, *, inclusive: bool = False) -> ColumnElement[bool]:
    """Rows after the submission (submitted_at, sid) in Central's order (newest first, then by
    id), and that one too when `inclusive`. A row-value comparison, which SQLite and PostgreSQL
    both read as a range of ix_submissions_form_submitted (an OR of the two parts they scan)."""
    key = tuple_(Submission.submitted_at, Submission.id)
    start = tuple_(literal(submitted_at, UtcDateTime), literal(sid))
    return key <= start if inclusive else key < start


@dataclass(frozen=True)
class Record:
    submission: Submission
    version: SubmissionVersion
    system: System


def _submitter_ids(session: Session, names: set[str]) -> dict[str, int]:
    """App user ids by name (`appuser:NAME` submitters); other sources have none (0)."""
    plain = {n.removeprefix("appuser:") for n in names if n.startswith("appuser:")}
    if not plain:
        return {}
    rows = session.execute(select(AppUser.name, AppUser.id).where(AppUser.name.in_(plain)))
    return {f"appuser:{name}": uid for name, uid in rows}


def records(session: Session, rows: Sequence[tuple[Submission, SubmissionVersion]]) -> list[Record]:
    """The rows with their `__system` facts."""
    if not rows:
        return []
    sub_ids = [s.id for s, _v in rows]
    version_ids = [v.id for _s, v in rows]
    edits = dict(
        session.execute(
            select(SubmissionVersion.submission_id, func.count())
            .where(SubmissionVersion.submission_id.in_(sub_ids))
            .group_by(SubmissionVersion.submission_id)
        ).all()
    )
    present = dict(
        session.execute(
            select(Attachment.version_id, func.count(func.distinct(Attachment.filename)))
            .where(Attachment.version_id.in_(version_ids))
            .group_by(Attachment.version_id)
        ).all()
    )
    submitters = _submitter_ids(session, {v.submitter for _s, v in rows if v.submitter})
    out = []
    for sub, version in rows:
        edited = version.instance_id != sub.instance_id
        system = System(
            submission_date=sub.submitted_at,
            updated_at=sub.updated_at if edited or sub.review_state != "received" else None,
            submitter_id=submitters.get(version.submitter or "", 0),
            submitter_name=(version.submitter or "").removeprefix("appuser:") or None,
            attachments_present=int(present.get(version.id, 0)),
            attachments_expected=len(version.attachments_expected or []),
            review_state=sub.review_state,
            device_id=version.device_id,
            edits=int(edits.get(sub.id, 1)) - 1,
            form_version=version.form_version,
        )
        out.append(Record(sub, version, system))
    return out
