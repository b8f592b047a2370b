"""A database busy past its wait (SQLite's write lock held longer than the busy timeout, e.g. by
a long pipeline run) is answered 503 with Retry-After, in words a user understands — never an
internal error. Anything else from the database is left to the server's own error handling."""

from __future__ import annotations

import logging
import sqlite3

from sqlalchemy.exc import OperationalError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

log = logging.getLogger(__name__)

RETRY_AFTER_S = 30
# SQLAlchemy's, and the driver's own when the lock is met in SQLite's BEGIN IMMEDIATE (issued
# by db/engine.py on the raw connection, outside SQLAlchemy's wrapping)
BUSY_ERRORS = (OperationalError, sqlite3.OperationalError)
MESSAGE = (
    "Máy chủ đang bận cập nhật số liệu, xin thử lại sau ít phút.\n"
    "The server is busy updating its figures; please try again in a few minutes.\n"
)


def is_busy(exc: BaseException) -> bool:
    """Whether a database error means 'locked, try later' rather than a fault."""
    text = str(getattr(exc, "orig", exc)).lower()
    return "database is locked" in text or "database is busy" in text


async def busy_database(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, BUSY_ERRORS) or not is_busy(exc):
        raise exc
    log.warning("database busy past its wait: %s %s answered 503", request.method, request.url.path)
    return PlainTextResponse(MESSAGE, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})
