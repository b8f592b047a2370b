"""Signing in with a password, the throttles on failed sign-ins, and the scope of a live
session's token. Failed sign-ins are audit-log rows, so the throttles (per name and per client
address) hold across server processes; an unknown or disabled name costs one argon2 check, like
a wrong password."""

from __future__ import annotations

import datetime as dt
import math
import secrets
import unicodedata
from functools import cache

from sqlalchemy import ColumnElement, Engine, select
from sqlalchemy.orm import Session

from pcmd.db.engine import transaction
from pcmd.db.models import AuditLog, WebUser, utcnow
from pcmd.errors import AuthError
from pcmd.server.accounts import MAX_USERNAME, Scope, scope_of
from pcmd.server.passwords import hash_password, verify_password
from pcmd.server.sessions import find_session, touch

THROTTLE_FAILURES = 5  # failed sign-ins for one name …
THROTTLE_ADDRESS_FAILURES = 20  # … or from one address (an office shares one) …
THROTTLE_WINDOW = dt.timedelta(minutes=15)  # … within this window


class LoginThrottled(AuthError):
    """Too many failed sign-ins for a name or from an address: 429, try again after a while."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, status=429)
        self.retry_after = retry_after


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _wait(session: Session, match: ColumnElement[bool], limit: int, now: dt.datetime) -> int:
    """Seconds until fewer than `limit` failures that `match` lie in the window; 0 = none."""
    times = list(
        session.scalars(
            select(AuditLog.at)
            .where(AuditLog.action == "login.failed", AuditLog.at >= now - THROTTLE_WINDOW, match)
            .order_by(AuditLog.at)
        )
    )
    if len(times) < limit:
        return 0
    frees = _aware(times[len(times) - limit]) + THROTTLE_WINDOW
    return max(1, math.ceil((frees - now).total_seconds()))


def check_throttle(session: Session, username: str | None, client: str, now: dt.datetime) -> None:
    """LoginThrottled when the name (None: no name, e.g. a set-up code) or the address has
    failed too often within the window."""
    by_name = (
        _wait(session, AuditLog.target == username, THROTTLE_FAILURES, now)
        if username is not None
        else 0
    )
    by_address = (
        _wait(session, AuditLog.actor == f"web:{client}", THROTTLE_ADDRESS_FAILURES, now)
        if client
        else 0
    )
    wait = max(by_name, by_address)
    if wait:
        minutes = math.ceil(wait / 60)
        raise LoginThrottled(
            f"Đăng nhập sai quá nhiều lần; hãy thử lại sau {minutes} phút (too many failed "
            f"sign-ins: try again in {minutes} minutes).",
            wait,
        )


@cache
def _dummy_hash() -> str:
    """A hash no password matches, checked when the name is unknown or disabled, so that such
    a sign-in takes as long as a wrong password."""
    return hash_password(secrets.token_urlsafe(32))


def login(session: Session, username: str, password: str, *, client: str = "") -> Scope | None:
    """Check a password: the user's scope, or None (the failure is recorded: commit it).

    After THROTTLE_FAILURES failures for a name, or THROTTLE_ADDRESS_FAILURES from one address,
    within THROTTLE_WINDOW, the sign-in is refused outright (LoginThrottled, 429), whatever the
    password. An unknown or disabled name costs one argon2 check, like a wrong password.
    """
    typed = unicodedata.normalize("NFC", username.strip())
    # What the audit log can hold; a longer name or one with NUL names no user.
    username = typed.replace("\x00", "\ufffd")[:MAX_USERNAME]
    now = utcnow()
    check_throttle(session, username, client, now)
    user = (
        session.scalar(select(WebUser).where(WebUser.username == username))
        if username == typed
        else None
    )
    usable = user is not None and user.disabled_at is None
    checked = user.password_hash if user is not None and usable else _dummy_hash()
    if not verify_password(checked, password) or user is None or not usable:
        session.add(AuditLog(actor=f"web:{client}", action="login.failed", target=username))
        return None
    session.add(AuditLog(actor=f"user:{username}", action="login", target=username))
    return scope_of(session, user)


def session_scope(engine: Engine, token: str, idle: dt.timedelta) -> Scope | None:
    """The scope of a live sign-in session's token (server/sessions.py), or None; its
    `last_seen_at` is written, in a write transaction of its own, only when due."""
    now = utcnow()
    with transaction(engine) as session:
        live = find_session(session, token, idle=idle, now=now)
        scope = scope_of(session, live.user) if live is not None else None
    if live is not None and live.stale:
        with transaction(engine, write=True) as session:
            touch(session, live.session_id, now)
    return scope
