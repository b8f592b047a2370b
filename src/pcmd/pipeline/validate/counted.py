"""The counting contract the indicator engine relies on (DESIGN §4), in SQL: a submission is
counted when it is current, not deleted, not `rejected`, and its current version has no open
issue of severity `error`."""

from __future__ import annotations

from sqlalchemy import and_, exists
from sqlalchemy.sql.elements import ColumnElement

from pcmd.db.tables import ISSUE, SUB


def counted_condition() -> ColumnElement[bool]:
    """SQL for "this submission counts in the indicators" (DESIGN §4), on the `submissions`
    table: current, not deleted, not rejected, no open error on its current version."""
    blocking = exists().where(
        ISSUE.c.submission_id == SUB.c.id,
        ISSUE.c.version_id == SUB.c.current_version_id,
        ISSUE.c.severity == "error",
        ISSUE.c.status == "open",
    )
    return and_(
        SUB.c.deleted.is_(False),
        SUB.c.review_state != "rejected",
        SUB.c.current_version_id.is_not(None),
        ~blocking,
    )
