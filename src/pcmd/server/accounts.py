"""Web users: roles, org-unit scope, creating and changing accounts.

Roles (ROLES, highest first): `national_admin` (every province, field set-up, every account),
`province_admin` (its province's accounts and app users, review), `province_reviewer` (review and
reports within its province), `commune_officer` (sees and reviews its commune only). `viewer`
(read only) is kept for accounts made before the four roles; no page offers it. Names used
before the four roles (`admin`) are still accepted and mapped (LEGACY_ROLES), as migration 0008
mapped the stored ones. A user is scoped to org units: `VN`, a province code or commune codes;
it sees a unit when the unit is one of them or lies under one of them. A new password or
disabling a user ends every session of theirs (server/sessions.py). Passwords are hashed in
server/passwords.py; signing in and its throttles are server/signin.py.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pcmd.db.models import OrgUnit, SyncState, WebUser, WebUserScope, utcnow
from pcmd.errors import AuthError, PcmdError
from pcmd.server import audit
from pcmd.server.passwords import (
    check_password,
    hash_password,
    normalised,
    verify_password,
)
from pcmd.server.sessions import end_user_sessions

ROLES = ("national_admin", "province_admin", "province_reviewer", "commune_officer", "viewer")
REVIEW_ROLES = ("national_admin", "province_admin", "province_reviewer", "commune_officer")
ADMIN_ROLES = ("national_admin", "province_admin")
# The level of unit each role is scoped to: a national role to VN, a province role to provinces.
ROLE_LEVEL = {
    "national_admin": "country",
    "province_admin": "province",
    "province_reviewer": "province",
    "commune_officer": "commune",
}
MAX_USERNAME = 100
SETUP_CODE_PREFIX = "setup-code:"  # sync_state rows holding a first-run code's hash


@dataclass(frozen=True)
class Scope:
    """What one signed-in user may see and do."""

    user_id: int
    username: str
    role: str
    org_codes: frozenset[str]
    must_change_password: bool = False  # signed in with a temporary password

    @property
    def everywhere(self) -> bool:
        return "VN" in self.org_codes

    @property
    def can_review(self) -> bool:
        return self.role in REVIEW_ROLES

    @property
    def is_admin(self) -> bool:
        """Manages accounts: every province's (national) or its own province's."""
        return self.role in ADMIN_ROLES

    @property
    def is_national_admin(self) -> bool:
        """Field set-up (forms) and every account; the role of the first administrator."""
        return self.role == "national_admin" and self.everywhere

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


LEGACY_ROLES = ("admin",)


def current_role(role: str, org_codes: Sequence[str]) -> str:
    """The role a name used before the four roles stands for: `admin` scoped to VN is the
    national administrator, otherwise a province administrator (as migration 0008 maps it)."""
    if role == "admin":
        return "national_admin" if "VN" in org_codes else "province_admin"
    return role


def _levels_in_force(session: Session, codes: Sequence[str]) -> dict[str, str]:
    return dict(
        session.execute(
            select(OrgUnit.code, OrgUnit.level).where(
                OrgUnit.code.in_(codes), OrgUnit.valid_to.is_(None)
            )
        ).all()
    )


_LEVEL_WORDS = {
    "country": "VN (cả nước, the whole country)",
    "province": "mã tỉnh (province codes)",
    "commune": "mã xã (commune codes)",
}


def _check_role_units(role: str, codes: Sequence[str], levels: dict[str, str]) -> None:
    """A national role holds VN, a province role provinces, a commune officer communes."""
    wanted = ROLE_LEVEL.get(role)
    wrong = [c for c in codes if wanted is not None and levels.get(c) != wanted]
    if wrong:
        raise PcmdError(
            f"Vai trò {role} chỉ gắn với {_LEVEL_WORDS[str(wanted)]}, không gắn với "
            f"{', '.join(wrong)} (role {role} is scoped to {wanted} units only, not "
            f"{', '.join(wrong)})."
        )


def _check_units(session: Session, role: str, codes: Sequence[str]) -> None:
    """Every unit in force, each of the level the role holds."""
    levels = _levels_in_force(session, codes)
    unknown = sorted(set(codes) - set(levels))
    if unknown:
        raise PcmdError(
            f"Không có đơn vị đang hiệu lực mã {', '.join(unknown)} (no org unit in force with "
            f"code(s) {', '.join(unknown)}): use VN, a 2-digit province or a 5-digit commune code."
        )
    _check_role_units(role, codes, levels)


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
    if (
        not username
        or len(username) > MAX_USERNAME
        or any(c.isspace() or unicodedata.category(c) == "Cc" for c in username)
    ):
        raise PcmdError(
            f"Tên đăng nhập {username!r} không hợp lệ: không rỗng, không dấu cách, tối đa 100 ký "
            "tự (invalid username: non-empty, no spaces, at most 100 characters)."
        )
    codes = list(dict.fromkeys(c.strip() for c in org_codes if c.strip()))
    role = current_role(role, codes)
    if role not in ROLES:
        raise PcmdError(
            f"Vai trò {role!r} không có (unknown role); choose one of: {', '.join(ROLES)}."
        )
    check_password(password)
    if not codes:
        raise PcmdError("Cần ít nhất một đơn vị --org (at least one --org unit is required).")
    _check_units(session, role, codes)
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
    # with a web user, no set-up code opens the first-run page any more (server/firstrun.py)
    session.execute(delete(SyncState).where(SyncState.source.startswith(SETUP_CODE_PREFIX)))
    session.add_all(WebUserScope(user_id=user.id, org_code=code) for code in codes)
    audit.record(
        session,
        actor,
        "user.create",
        username,
        province=audit.province_of(session, codes),
        details={"role": role, "org": codes},
    )
    session.flush()
    return user


def user_province(session: Session, user: WebUser) -> str | None:
    """The one province a web user's units lie in (None: national or several)."""
    codes = session.scalars(select(WebUserScope.org_code).where(WebUserScope.user_id == user.id))
    return audit.province_of(session, codes)


def scope_of(session: Session, user: WebUser) -> Scope:
    codes = session.scalars(select(WebUserScope.org_code).where(WebUserScope.user_id == user.id))
    return Scope(
        user.id, user.username, user.role, frozenset(codes), bool(user.must_change_password)
    )


def _user(session: Session, username: str) -> WebUser:
    user = session.scalar(select(WebUser).where(WebUser.username == username))
    if user is None:
        raise PcmdError(f"Không có người dùng {username!r} (no web user named {username!r}).")
    return user


def set_password(
    session: Session,
    username: str,
    password: str,
    *,
    actor: str = "cli",
    temporary: bool = False,
) -> int:
    """A new password; every session of the user ends. Returns how many were ended.
    A temporary one (given by an administrator) is replaced by the user at its next sign-in."""
    check_password(password)
    user = _user(session, username)
    user.password_hash = hash_password(password)
    user.must_change_password = temporary
    ended = end_user_sessions(session, user.id)
    audit.record(
        session, actor, "user.password", user.username, province=user_province(session, user)
    )
    return ended


def set_access(
    session: Session, username: str, role: str, org_codes: Sequence[str], *, actor: str = "cli"
) -> int:
    """A new role and units for a user (each checked as at creation). Every session of the
    user ends, so nothing keeps the old rights. Returns how many sessions were ended."""
    user = _user(session, username)
    codes = list(dict.fromkeys(c.strip() for c in org_codes if c.strip()))
    if role not in ROLES or not codes:
        raise PcmdError(
            f"Vai trò {role!r} không có hoặc chưa chọn đơn vị (unknown role or no unit chosen)."
        )
    _check_units(session, role, codes)
    before_role = user.role
    before = sorted(
        session.scalars(select(WebUserScope.org_code).where(WebUserScope.user_id == user.id))
    )
    session.execute(delete(WebUserScope).where(WebUserScope.user_id == user.id))
    session.add_all(WebUserScope(user_id=user.id, org_code=code) for code in codes)
    user.role = role
    ended = end_user_sessions(session, user.id)
    audit.record(
        session,
        actor,
        "user.access",
        user.username,
        province=audit.province_of(session, codes) or audit.province_of(session, before),
        details={"role": role, "org": codes, "before": {"role": before_role, "org": before}},
    )
    session.flush()
    return ended


def disable_user(session: Session, username: str, *, actor: str = "cli") -> int:
    """The user can no longer sign in, and every session of theirs ends at once."""
    user = _user(session, username)
    if user.disabled_at is None:
        user.disabled_at = utcnow()
    ended = end_user_sessions(session, user.id)
    audit.record(
        session, actor, "user.disable", user.username, province=user_province(session, user)
    )
    return ended


def enable_user(session: Session, username: str, *, actor: str = "cli") -> None:
    user = _user(session, username)
    user.disabled_at = None
    audit.record(
        session, actor, "user.enable", user.username, province=user_province(session, user)
    )


def change_own_password(session: Session, user_id: int, current: str, new: str) -> None:
    """The signed-in user replaces its password (a temporary one, or any): the current one
    first, then a new one of at least MIN_PASSWORD characters that differs from it. Every
    session of the user ends (sign in again with the new one)."""
    user = session.get(WebUser, user_id)
    if user is None or user.disabled_at is not None:
        raise AuthError("Không có quyền (not allowed).", status=403)
    if not verify_password(user.password_hash, current):
        raise PcmdError(
            "Mật khẩu hiện tại không đúng (the current password is wrong): type the password "
            "you signed in with."
        )
    if normalised(new) == normalised(current):
        raise PcmdError(
            "Mật khẩu mới phải khác mật khẩu hiện tại (the new password must differ from the "
            "current one)."
        )
    set_password(session, user.username, new, actor=f"user:{user.username}")
