"""Accounts run by the province: which web users and app users an administrator manages, which
roles and units it may grant, and the changes it makes (create, change role and units, new
password, disable, revoke).

A national administrator manages every account. A province administrator manages the accounts
whose units all lie in its province: it grants at most its own role, only units of its
province, and never touches a national account nor an app user that may report for every
commune. Every check is made here, on the server, whatever a form sent; an account outside the
administrator's reach is answered as if it did not exist (NotManaged, 404). Each change writes
an audit entry with the province it concerns (server/audit.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pcmd.db.models import AppUser, OrgUnit, WebUser, WebUserScope
from pcmd.errors import AuthError, PcmdError
from pcmd.server import accounts
from pcmd.server.accounts import Scope
from pcmd.server.audit import provinces_of
from pcmd.server.openrosa import appusers

GRANTS = {
    "national_admin": ("national_admin", "province_admin", "province_reviewer", "commune_officer"),
    "province_admin": ("province_admin", "province_reviewer", "commune_officer"),
}
# Temporary passwords: no letters that look alike (0/o, 1/l/i), easy to read out on the phone.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


class NotManaged(AuthError):
    """An account or unit outside the administrator's reach, or none at all: a 404."""

    def __init__(self) -> None:
        super().__init__("Không tìm thấy (not found).", status=404)


@dataclass(frozen=True)
class UserRow:
    """A web user as the accounts page lists it (never its password hash)."""

    id: int
    username: str
    display_name: str
    role: str
    org_codes: tuple[str, ...]
    disabled: bool


def grantable_roles(actor: Scope) -> tuple[str, ...]:
    """The roles an administrator may give: at most its own."""
    if actor.role == "national_admin" and not actor.everywhere:
        return GRANTS["province_admin"]
    return GRANTS.get(actor.role, ())


def require_admin(actor: Scope) -> None:
    if not grantable_roles(actor):
        raise AuthError("Không có quyền (not allowed).", status=403)


def managed_provinces(session: Session, actor: Scope) -> list[str] | None:
    """The provinces whose accounts the administrator runs; None = every province."""
    require_admin(actor)
    if actor.everywhere:
        return None
    return sorted(
        session.scalars(
            select(OrgUnit.code).where(
                OrgUnit.code.in_(actor.org_codes),
                OrgUnit.level == "province",
                OrgUnit.valid_to.is_(None),
            )
        )
    )


def provinces(session: Session, actor: Scope) -> list[tuple[str, str]]:
    """(code, name) of the provinces in force the administrator may choose."""
    allowed = managed_provinces(session, actor)
    query = select(OrgUnit.code, OrgUnit.name).where(
        OrgUnit.level == "province", OrgUnit.valid_to.is_(None)
    )
    if allowed is not None:
        query = query.where(OrgUnit.code.in_(allowed))
    return [(c, n) for c, n in session.execute(query.order_by(OrgUnit.name))]


def communes(session: Session, actor: Scope, province: str) -> list[tuple[str, str]]:
    """(code, name) of the communes in force of a province the administrator runs."""
    check_province(session, actor, province)
    rows = session.execute(
        select(OrgUnit.code, OrgUnit.name)
        .where(
            OrgUnit.level == "commune",
            OrgUnit.parent_code == province,
            OrgUnit.valid_to.is_(None),
        )
        .order_by(OrgUnit.name)
    )
    return [(c, n) for c, n in rows]


def check_province(session: Session, actor: Scope, province: str) -> None:
    allowed = managed_provinces(session, actor)
    known = session.scalar(
        select(OrgUnit.code).where(
            OrgUnit.code == province, OrgUnit.level == "province", OrgUnit.valid_to.is_(None)
        )
    )
    if known is None or (allowed is not None and province not in allowed):
        raise NotManaged


def _inside(session: Session, allowed: list[str], codes: Sequence[str]) -> bool:
    """Whether every unit is one of the provinces or a commune of one (VN never is)."""
    if not codes or "VN" in codes:
        return False
    return provinces_of(session, codes) <= set(allowed) and _all_known(session, codes)


def _all_known(session: Session, codes: Sequence[str]) -> bool:
    found = set(
        session.scalars(
            select(OrgUnit.code).where(OrgUnit.code.in_(codes), OrgUnit.valid_to.is_(None))
        )
    )
    return set(codes) <= found


def _codes(session: Session, user_id: int) -> tuple[str, ...]:
    return tuple(
        sorted(
            session.scalars(select(WebUserScope.org_code).where(WebUserScope.user_id == user_id))
        )
    )


def _manages_user(session: Session, actor: Scope, user: WebUser, codes: Sequence[str]) -> bool:
    allowed = managed_provinces(session, actor)
    if allowed is None:
        return True
    # a read-only account of its province too: it may be disabled or given a new password
    manageable = (*grantable_roles(actor), "viewer")
    return user.role in manageable and _inside(session, allowed, codes)


def list_users(session: Session, actor: Scope) -> list[UserRow]:
    rows = []
    for user in session.scalars(select(WebUser).order_by(WebUser.username)):
        codes = _codes(session, user.id)
        if _manages_user(session, actor, user, codes):
            rows.append(
                UserRow(
                    user.id,
                    user.username,
                    user.display_name,
                    user.role,
                    codes,
                    user.disabled_at is not None,
                )
            )
    return rows


def managed_user(session: Session, actor: Scope, user_id: int) -> WebUser:
    user = session.get(WebUser, user_id)
    if user is None or not _manages_user(session, actor, user, _codes(session, user.id)):
        raise NotManaged
    return user


def units_for(
    session: Session, actor: Scope, role: str, province: str, chosen: Sequence[str]
) -> list[str]:
    """The units a new user of this role gets: VN, the province, or the chosen communes of it."""
    if role not in grantable_roles(actor):
        raise AuthError("Không được cấp vai trò này (this role may not be given).", status=403)
    if role == "national_admin":
        return ["VN"]
    check_province(session, actor, province)
    if role != "commune_officer":
        return [province]
    picked = list(dict.fromkeys(c for c in chosen if c))
    if not picked:
        raise PcmdError(
            "Hãy chọn ít nhất một xã, phường cho cán bộ xã (choose at least one commune for a "
            "commune officer)."
        )
    in_province = {code for code, _ in communes(session, actor, province)}
    if not set(picked) <= in_province:
        raise NotManaged  # a crafted commune of another province
    return picked


def temporary_password() -> str:
    """Four groups of four letters and digits (about 79 bits), shown once to the administrator."""
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(4))


def create_web_user(
    session: Session,
    actor: Scope,
    username: str,
    role: str,
    province: str,
    chosen: Sequence[str],
    *,
    display_name: str = "",
) -> tuple[WebUser, str]:
    """A new web user with a temporary password (returned, never stored in clear)."""
    codes = units_for(session, actor, role, province, chosen)
    password = temporary_password()
    user = accounts.create_user(
        session,
        username,
        password,
        role,
        codes,
        display_name=display_name.strip()[:200],
        actor=f"user:{actor.username}",
    )
    user.must_change_password = True  # the user chooses its own at its first sign-in
    return user, password


def reset_password(session: Session, actor: Scope, user_id: int) -> tuple[str, str]:
    """A new temporary password for a user the administrator runs; its sessions end."""
    user = managed_user(session, actor, user_id)
    password = temporary_password()
    accounts.set_password(
        session, user.username, password, actor=f"user:{actor.username}", temporary=True
    )
    return user.username, password


def change_access(
    session: Session,
    actor: Scope,
    user_id: int,
    role: str,
    province: str,
    chosen: Sequence[str],
) -> str:
    """A new role and units for a user the administrator runs — within the administrator's
    reach both before and after (a province's officer never becomes another province's)."""
    user = managed_user(session, actor, user_id)
    if user.id == actor.user_id:
        raise PcmdError(
            "Không thể tự đổi vai trò của mình (you cannot change your own role): ask another "
            "administrator."
        )
    codes = units_for(session, actor, role, province, chosen)
    accounts.set_access(session, user.username, role, codes, actor=f"user:{actor.username}")
    return user.username


def current_access(session: Session, actor: Scope, user_id: int) -> UserRow:
    """The user as the access page shows it (404 outside the administrator's reach)."""
    user = managed_user(session, actor, user_id)
    return UserRow(
        user.id,
        user.username,
        user.display_name,
        user.role,
        _codes(session, user.id),
        user.disabled_at is not None,
    )


def set_disabled(session: Session, actor: Scope, user_id: int, disabled: bool) -> str:
    user = managed_user(session, actor, user_id)
    if user.id == actor.user_id:
        raise PcmdError(
            "Không thể tự khoá tài khoản của mình (you cannot disable your own account)."
        )
    if disabled:
        accounts.disable_user(session, user.username, actor=f"user:{actor.username}")
    else:
        accounts.enable_user(session, user.username, actor=f"user:{actor.username}")
    return user.username


# --- app users (data collectors' phones) ---------------------------------------------------


def _manages_app_user(session: Session, actor: Scope, app_user: AppUser) -> bool:
    allowed = managed_provinces(session, actor)
    if allowed is None:
        return True
    return _inside(session, allowed, list(app_user.commune_codes))


def list_app_users(session: Session, actor: Scope) -> list[AppUser]:
    return [u for u in appusers.list_app_users(session) if _manages_app_user(session, actor, u)]


def managed_app_user(session: Session, actor: Scope, app_user_id: int) -> AppUser:
    found = session.get(AppUser, app_user_id)
    if found is None or not _manages_app_user(session, actor, found):
        raise NotManaged
    return found


def create_app_user(
    session: Session,
    actor: Scope,
    name: str,
    province: str,
    chosen: Sequence[str],
    secret: bytes,
) -> AppUser:
    """An app user reporting for the chosen communes of a province the administrator runs."""
    picked = list(dict.fromkeys(c for c in chosen if c))
    if not picked:
        raise PcmdError(
            "Hãy chọn ít nhất một xã, phường mà điện thoại này báo cáo (choose at least one "
            "commune this phone reports for)."
        )
    in_province = {code for code, _ in communes(session, actor, province)}
    if not set(picked) <= in_province:
        raise NotManaged
    created, _token = appusers.create_app_user(
        session, name, picked, secret, actor=f"user:{actor.username}"
    )
    return created


def revoke_app_user(session: Session, actor: Scope, app_user_id: int) -> str:
    found = managed_app_user(session, actor, app_user_id)
    appusers.revoke_app_user(session, found.name, actor=f"user:{actor.username}")
    return found.name
