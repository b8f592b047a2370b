"""Web users: argon2 passwords, roles, org-unit scope, and a login throttle kept in the database.

Roles: `admin` (everything, field set-up), `province_reviewer` (review and
reports within its units), `commune_officer` (its commune's records), `viewer` (read only).
A user is scoped to org units: `VN`, a province code or commune codes; it sees a unit when the
unit is one of them or lies under one of them. Failed logins are audit-log rows, so the throttle
holds across server processes.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pcmd.db.models import AuditLog, OrgUnit, WebUser, WebUserScope, utcnow
from pcmd.errors import AuthError, PcmdError

ROLES = ("admin", "province_reviewer", "commune_officer", "viewer")
REVIEW_ROLES = ("admin", "province_reviewer")
MIN_PASSWORD = 10
THROTTLE_FAILURES = 5
THROTTLE_WINDOW = dt.timedelta(minutes=15)

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Scope:
    """What one signed-in user may see and do."""

    user_id: int
    username: str
    role: str
    org_codes: frozenset[str]

    @property
    def everywhere(self) -> bool:
        return "VN" in self.org_codes

    @property
    def can_review(self) -> bool:
        return self.role in REVIEW_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def sees(self, commune: str | None, province: str | None) -> bool:
        """Whether a record of this commune (in this province) is inside the user's units."""
        if self.everywhere:
            return True
        return (commune is not None and commune in self.org_codes) or (
            province is not None and province in self.org_codes
        )

    def sees_unit(self, code: str, ancestors: Sequence[str]) -> bool:
        """Whether an org unit (with its ancestors' codes) is inside the user's units."""
        return (
            self.everywhere or code in self.org_codes or any(a in self.org_codes for a in ancestors)
        )


def _units_in_force(session: Session, codes: Sequence[str]) -> set[str]:
    return set(
        session.scalars(
            select(OrgUnit.code).where(OrgUnit.code.in_(codes), OrgUnit.valid_to.is_(None))
        )
    )


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    org_codes: Sequence[str],
    *,
    display_name: str = "",
    actor: str = "cli",
) -> WebUser:
    username = unicodedata.normalize("NFC", username.strip())
    if not username or len(username) > 100 or any(c.isspace() for c in username):
        raise PcmdError(
            f"Tên đăng nhập {username!r} không hợp lệ: không rỗng, không dấu cách, tối đa 100 ký "
            "tự (invalid username: non-empty, no spaces, at most 100 characters)."
        )
    if role not in ROLES:
        raise PcmdError(
            f"Vai trò {role!r} không có (unknown role); choose one of: {', '.join(ROLES)}."
        )
    if len(password) < MIN_PASSWORD:
        raise PcmdError(
            f"Mật khẩu phải có ít nhất {MIN_PASSWORD} ký tự (the password needs at least "
            f"{MIN_PASSWORD} characters)."
        )
    codes = list(dict.fromkeys(c.strip() for c in org_codes if c.strip()))
    if not codes:
        raise PcmdError("Cần ít nhất một đơn vị --org (at least one --org unit is required).")
    unknown = sorted(set(codes) - _units_in_force(session, codes))
    if unknown:
        raise PcmdError(
            f"Không có đơn vị đang hiệu lực mã {', '.join(unknown)} (no org unit in force with "
            f"code(s) {', '.join(unknown)}): use VN, a 2-digit province or a 5-digit commune code."
        )
    if session.scalar(select(WebUser.id).where(WebUser.username == username)) is not None:
        raise PcmdError(
            f"Đã có người dùng {username!r} (a user named {username!r} already exists)."
        )
    user = WebUser(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        role=role,
    )
    session.add(user)
    session.flush()
    session.add_all(WebUserScope(user_id=user.id, org_code=code) for code in codes)
    session.add(
        AuditLog(
            actor=actor, action="user.create", target=username, details={"role": role, "org": codes}
        )
    )
    session.flush()
    return user


def scope_of(session: Session, user: WebUser) -> Scope:
    codes = session.scalars(select(WebUserScope.org_code).where(WebUserScope.user_id == user.id))
    return Scope(user.id, user.username, user.role, frozenset(codes))


def load_scope(session: Session, user_id: int) -> Scope | None:
    user = session.get(WebUser, user_id)
    if user is None or user.disabled_at is not None:
        return None
    return scope_of(session, user)


def _recent_failures(session: Session, username: str, now: dt.datetime) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(
                AuditLog.action == "login.failed",
                AuditLog.target == username,
                AuditLog.at >= now - THROTTLE_WINDOW,
            )
        )
        or 0
    )


def login(session: Session, username: str, password: str, *, client: str = "") -> Scope | None:
    """Check a password: the user's scope, or None (the failure is recorded: commit it).

    After THROTTLE_FAILURES failures within THROTTLE_WINDOW the name is refused outright
    (AuthError 429), whatever the password.
    """
    username = unicodedata.normalize("NFC", username.strip())
    now = utcnow()
    if _recent_failures(session, username, now) >= THROTTLE_FAILURES:
        raise AuthError(
            "Đăng nhập sai quá nhiều lần; hãy thử lại sau 15 phút (too many failed logins: try "
            "again in 15 minutes).",
            status=429,
        )
    user = session.scalar(select(WebUser).where(WebUser.username == username))
    if (
        user is None
        or user.disabled_at is not None
        or not verify_password(user.password_hash, password)
    ):
        session.add(AuditLog(actor=f"web:{client}", action="login.failed", target=username))
        return None
    session.add(AuditLog(actor=f"user:{username}", action="login", target=username))
    return scope_of(session, user)
