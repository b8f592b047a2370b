"""Validation runs against the test database, and what they stored: shared by the run, store and
counted tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Engine, select

from pcmd.db.engine import transaction
from pcmd.db.models import Submission, ValidationIssue
from pcmd.pipeline.validate.counted import counted_condition
from pcmd.pipeline.validate.run import validate_submissions
from pcmd.pipeline.validate.store import ValidationSummary

OUT, TRA, INS = "pcmd_outreach", "pcmd_training", "pcmd_inspection"


def validate(engine: Engine, ids: Sequence[int] | None = None) -> ValidationSummary:
    with engine.begin() as conn:
        return validate_submissions(conn, ids, today=dt.date(2026, 11, 23))


def stored(engine: Engine, sid: int) -> list[tuple[str, str | None, str, str, int]]:
    """(rule, field, severity, status, version id) of a submission's issues."""
    with transaction(engine) as s:
        rows = s.execute(
            select(
                ValidationIssue.rule,
                ValidationIssue.field_path,
                ValidationIssue.severity,
                ValidationIssue.status,
                ValidationIssue.version_id,
            )
            .where(ValidationIssue.submission_id == sid)
            .order_by(ValidationIssue.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def counted(engine: Engine) -> set[int]:
    with transaction(engine) as s:
        return set(s.scalars(select(Submission.id).where(counted_condition())))


def current_version(engine: Engine, sid: int) -> int:
    with transaction(engine) as s:
        sub = s.get(Submission, sid)
        assert sub is not None
        assert sub.current_version_id is not None
        return sub.current_version_id


def issue_id(engine: Engine, sid: int, rule: str) -> int:
    with transaction(engine) as s:
        return s.scalars(
            select(ValidationIssue.id).where(
                ValidationIssue.submission_id == sid, ValidationIssue.rule == rule
            )
        ).one()
