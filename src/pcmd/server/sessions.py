"""Web sign-in sessions kept on the server, so that ending one holds in every server process.

The browser's cookie (signed by Starlette's SessionMiddleware) carries a random token; the
`web_sessions` table keeps only the token's sha256, the user, and a marker of the user's
password hash at sign-in. Every request looks its session up. A session is refused once it
was ended (sign-out), after `session_idle_hours` without a request, 12 hours after sign-in,
when its user is disabled, and when the user's password changed since it began (the marker
no longer matches) — so a cookie copied or replayed after any of these opens nothing.
`last_seen_at` is written at most once a minute per session, to spare the database a write
per page.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from pcmd.db.models import WebSession, WebUser, utcnow

SEEN_EVERY = dt.timedelta(minutes=1)
LIFETIME = dt.timedelta(hours=12)  # a working day however busy: sign in again tomorrow
KEEP_ENDED = dt.timedelta(days=30)  # ended or idle sessions are deleted after this


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def password_marker(password_hash: str) -> str:
    """What changes when the password does (argon2 salts every hash anew)."""
    return hashlib.sha256(password_hash.encode("utf-8")).hexdigest()


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def start_session(session: Session, user_id: int, *, client: str = "") -> str:
    """A new session for a user whose password was just checked; returns the cookie's token."""
    now = utcnow()
    user = session.get(WebUser, user_id)
    if user is None:
        raise LookupError(f"no web user {user_id}")
    session.execute(
        delete(WebSession).where(
            or_(WebSession.ended_at < now - KEEP_ENDED, WebSession.last_seen_at < now - KEEP_ENDED)
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            token_hash=token_hash(token),
            user_id=user.id,
            password_marker=password_marker(user.password_hash),
            client=client[:100],
            created_at=now,
            last_seen_at=now,
        )
    )
    session.flush()
    return token


@dataclass(frozen=True)
class Live:
    """A session that may go on: its user, and whether `last_seen_at` is due a write."""

    session_id: int
    user: WebUser
    stale: bool


def find_session(
    session: Session, token: str, *, idle: dt.timedelta, now: dt.datetime | None = None
) -> Live | None:
    """The live session of a cookie's token, or None when it is unknown, ended, idle for
    longer than `idle`, older than LIFETIME, its user disabled, or its user's password
    changed since it began."""
    now = now or utcnow()
    row = session.execute(
        select(WebSession, WebUser)
        .join(WebUser, WebUser.id == WebSession.user_id)
        .where(
            WebSession.token_hash == token_hash(token),
            WebSession.ended_at.is_(None),
            WebSession.last_seen_at > now - idle,
            WebSession.created_at > now - LIFETIME,
            WebUser.disabled_at.is_(None),
        )
    ).first()
    if row is None:
        return None
    found, user = row
    if found.password_marker != password_marker(user.password_hash):
        return None
    return Live(found.id, user, now - _aware(found.last_seen_at) >= SEEN_EVERY)


def touch(session: Session, session_id: int, now: dt.datetime | None = None) -> None:
    session.execute(
        update(WebSession)
        .where(WebSession.id == session_id, WebSession.ended_at.is_(None))
        .values(last_seen_at=now or utcnow())
    )


def end_session(session: Session, token: str) -> bool:
    """Sign-out: the session is over for every process; False when it was not live."""
    done = session.execute(
        update(WebSession)
        .where(WebSession.token_hash == token_hash(token), WebSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
    return bool(getattr(done, "rowcount", 0))


def end_user_sessions(session: Session, user_id: int) -> int:
    """End every live session of a user (disabled, new password); returns how many."""
    done = session.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
    return int(getattr(done, "rowcount", 0))
