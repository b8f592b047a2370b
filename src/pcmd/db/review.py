"""The review's own schema: the comment thread of a submission (comments, reasons given for a
rejection or an approval), and the indexes the submissions list pages through at scale.

Comments are kept apart from the audit log: the thread is what reviewers read on a record and
count in the list; the audit log (models.AuditLog) records who did what. A review action with a
reason writes both.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pcmd.db.models import Base, Submission, utcnow


class SubmissionComment(Base):
    """One entry of a submission's thread: a comment, or the reason of a review action."""

    __tablename__ = "submission_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    author: Mapped[str] = mapped_column(String(100))  # the web user's username
    # comment | approved | has_issues | rejected: what the entry came with
    kind: Mapped[str] = mapped_column(String(16), default="comment")
    body: Mapped[str] = mapped_column(Text)


_SUB = Submission.__table__
# The submissions list pages newest first by id, with no OFFSET (a deep page starts where the
# last one ended); these let it do so within a commune and within a review state.
Index("ix_submissions_commune_id", _SUB.c.commune_code, _SUB.c.id)
Index("ix_submissions_review_state_id", _SUB.c.review_state, _SUB.c.id)
