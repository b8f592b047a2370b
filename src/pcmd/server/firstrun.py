"""The first run: before any web user exists, a one-time set-up code lets whoever can read the
server's console create the first administrator (role `admin`, scope `VN`).

Each start with no web user issues a new random code (`issue_code`); the server writes it once
to its console and log, and keeps only its sha256 in a `sync_state` row (`setup-code:<hex>`).
Every code works until the first web user exists: creating the first administrator with one
deletes them all in the same transaction (so two people racing get one administrator), and so
does creating any web user (server/accounts.py). A wrong code is a failed sign-in for the
client's address, throttled like one.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pcmd.db.models import AuditLog, SyncState, WebUser, utcnow
from pcmd.db.tables import STATE
from pcmd.errors import PcmdError
from pcmd.server.accounts import SETUP_CODE_PREFIX, Scope, create_user, scope_of
from pcmd.server.signin import check_throttle

# Twelve letters and digits that cannot be mistaken for one another (no 0/O, 1/I/L), typed in
# groups of four: about 59 bits, read off a console and typed on a phone.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
GROUPS, GROUP = 3, 4


class AlreadySetUp(PcmdError):
    """A web user exists: the first-run page has nothing more to do."""


def has_users(session: Session) -> bool:
    return session.scalar(select(WebUser.id).limit(1)) is not None


def _key(code: str) -> str:
    """The row that holds a code: its hash, whatever case, spaces or dashes it is typed with."""
    typed = "".join(c for c in code.upper() if c.isalnum())
    return SETUP_CODE_PREFIX + hashlib.sha256(typed.encode()).hexdigest()


def issue_code(session: Session) -> str | None:
    """A new set-up code when no web user exists (None otherwise; leftover codes are removed)."""
    if has_users(session):
        session.execute(delete(SyncState).where(SyncState.source.startswith(SETUP_CODE_PREFIX)))
        return None
    raw = "".join(secrets.choice(ALPHABET) for _ in range(GROUPS * GROUP))
    code = "-".join(raw[i : i + GROUP] for i in range(0, len(raw), GROUP))
    session.add(SyncState(source=_key(code), cursor={"issued_at": utcnow().isoformat()}))
    session.add(AuditLog(actor="server", action="setup.code", target=None))
    return code


def create_first_admin(
    session: Session, code: str, username: str, password: str, *, client: str = ""
) -> Scope | None:
    """The first administrator, if the code is one issued and no web user exists yet.

    None for a wrong code (the failure is recorded: commit it). AlreadySetUp once any web user
    exists; PcmdError for a name or password create_user refuses (nothing is used up then).
    """
    if has_users(session):
        raise AlreadySetUp("Đã có quản trị viên (an administrator already exists).")
    check_throttle(session, None, client, utcnow())
    key = _key(code)
    if session.get(SyncState, key) is None:
        session.add(AuditLog(actor=f"web:{client}", action="login.failed", target="(setup code)"))
        return None
    # Every code goes, in this transaction: a second request racing this one (even with a
    # code another server process printed) waits for it, then finds none and stops here.
    removed: list[str] = list(
        session.scalars(
            delete(STATE)
            .where(STATE.c.source.startswith(SETUP_CODE_PREFIX))
            .returning(STATE.c.source)
        )
    )
    if key not in removed:
        raise AlreadySetUp("Đã có quản trị viên (an administrator already exists).")
    user = create_user(session, username, password, "national_admin", ["VN"], actor=f"web:{client}")
    session.add(AuditLog(actor=f"user:{user.username}", action="setup.first_admin"))
    return scope_of(session, user)
