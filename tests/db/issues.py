"""An open validation issue on a record's current version, as the validation rules write it:
the one way the tests put a record in error without running a rule."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pcmd.db.models import Submission, ValidationIssue


def add_open_issue(
    s: Session,
    sid: int,
    rule: str = "REQ_001",
    severity: str = "error",
    field_path: str = "channel",
    message_vi: str = "[channel] Thiếu. Cách sửa: bổ sung.",
    message_en: str = "[channel] Missing. Fix: add it.",
) -> None:
    """Add the issue in the caller's transaction (which may change the record too)."""
    version = s.scalar(select(Submission.current_version_id).where(Submission.id == sid))
    assert version is not None, f"submission {sid} has no current version"
    s.add(
        ValidationIssue(
            submission_id=sid,
            version_id=version,
            rule=rule,
            severity=severity,
            field_path=field_path,
            message_vi=message_vi,
            message_en=message_en,
        )
    )
