"""App users: the device identities ODK Collect uses (Central's "app users"), and their QR codes.

A token is base64url(HMAC-SHA256(secret key, "pcmd-appuser:" + nonce)) without padding: 43
characters of [A-Za-z0-9_-]. The database keeps the nonce and the token's sha256, never the
token: a copy of the database alone does not let anyone submit, while whoever holds the secret
key can rebuild the token for the QR code. Lookups go by the sha256.

As on Central, the token travels in the URL path (`{base}/v1/key/{token}/projects/1/…`):
a malformed token is answered 401, an unknown or revoked one 403 (Collect prompts for a
username and password on 401, which would only confuse a field officer whose code was revoked).

Nothing here prints; the CLI and the OpenRosa endpoints do the talking.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import re
import secrets
import unicodedata
import zlib
from collections.abc import Sequence
from typing import Any

import segno
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pcmd.db.models import AppUser, OrgUnit, Project, utcnow
from pcmd.errors import AuthError, PcmdError
from pcmd.server import audit

TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")
TOKEN_CONTEXT = b"pcmd-appuser:"
NAME_MAX = 100
# \w is Unicode-aware: Vietnamese letters (once NFC-composed) count as letters.
_NAME_RE = re.compile(r"[\w .\-]+")


# --- tokens ----------------------------------------------------------------------------------


def derive_token(nonce: str, secret: bytes) -> str:
    """The token for a nonce under a key; the same inputs always give the same token."""
    digest = hmac.new(secret, TOKEN_CONTEXT + nonce.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def token_for(app_user: AppUser, secret: bytes) -> str:
    """Rebuild an app user's token, e.g. for its QR code.

    Refuses when the key is not the one the token was made with: a QR code built from a wrong
    key would configure phones that are then refused.
    """
    token = derive_token(app_user.token_nonce, secret)
    if not hmac.compare_digest(token_hash(token), app_user.token_hash):
        raise PcmdError(
            f"Không dựng lại được mã của người dùng ứng dụng {app_user.name!r}: khoá bí mật "
            f"đã khác lúc tạo (the secret key differs from the one {app_user.name!r} was "
            "created with, so its token cannot be rebuilt). Fix: use the same PCMD_SECRET_KEY "
            "(or <data_dir>/secret_key) as when it was created, or revoke it and create a new "
            "app user."
        )
    return token


def authenticate(session: Session, token: str) -> AppUser:
    """The active app user a token belongs to; AuthError 401 when malformed, 403 otherwise."""
    if not TOKEN_RE.fullmatch(token):
        raise AuthError(
            "Mã truy cập sai định dạng (malformed token): the server address must end in "
            "/v1/key/<43-character code>/projects/1. Scan the QR code from the province again.",
            status=401,
        )
    app_user = session.scalar(select(AppUser).where(AppUser.token_hash == token_hash(token)))
    if app_user is None or app_user.revoked_at is not None:
        raise AuthError(
            "Mã truy cập không hợp lệ hoặc đã bị thu hồi (unknown or revoked token): "
            "scan the new QR code from the province.",
            status=403,
        )
    return app_user


# --- app users -------------------------------------------------------------------------------


def normalise_name(name: str) -> str:
    """NFC and trimmed, so "Xã 1" typed on any keyboard is the same name."""
    return unicodedata.normalize("NFC", name).strip()


def _check_name(name: str) -> None:
    if not 1 <= len(name) <= NAME_MAX or not _NAME_RE.fullmatch(name):
        raise PcmdError(
            f"Tên người dùng ứng dụng {name!r} không hợp lệ: cần 1–{NAME_MAX} ký tự gồm chữ, "
            f"số, khoảng trắng và . - _ (invalid app user name: 1–{NAME_MAX} characters of "
            "letters, digits, spaces and . - _), e.g. `Xã Tân Lập 1`."
        )


def _unknown_communes(session: Session, codes: Sequence[str]) -> list[str]:
    in_force = set(
        session.scalars(
            select(OrgUnit.code).where(
                OrgUnit.code.in_(codes),
                OrgUnit.level == "commune",
                OrgUnit.valid_to.is_(None),
            )
        )
    )
    return [c for c in codes if c not in in_force]


def _audit(session: Session, actor: str, action: str, app_user: AppUser) -> None:
    details = {"communes": list(app_user.commune_codes)} if action.endswith("create") else {}
    province = (
        audit.province_of(session, app_user.commune_codes) if app_user.commune_codes else None
    )
    audit.record(session, actor, action, app_user.name, province=province, details=details)


def create_app_user(
    session: Session,
    name: str,
    communes: Sequence[str],
    secret: bytes,
    *,
    actor: str = "cli",
) -> tuple[AppUser, str]:
    """Create an app user in the default project; returns it and its token.

    `communes` are the codes of communes in force it may submit for; empty = every commune.
    """
    # The registry pulls in pyxform (half a second): only creating an app user needs it.
    from pcmd.forms.registry import ensure_default_project

    name = normalise_name(name)
    _check_name(name)
    codes = list(dict.fromkeys(c.strip() for c in communes if c.strip()))
    unknown = _unknown_communes(session, codes) if codes else []
    if unknown:
        listed = ", ".join(unknown)
        raise PcmdError(
            f"Không có xã đang hiệu lực với mã {listed} (no commune in force with code(s) "
            f"{listed}). Fix: use 5-digit commune codes from communes.csv "
            "(`pcmd forms media --out DIR`)."
        )
    if get_app_user_or_none(session, name) is not None:
        raise _duplicate(name)

    project = ensure_default_project(session)
    nonce = secrets.token_hex(16)
    token = derive_token(nonce, secret)
    app_user = AppUser(
        project_id=project.id,
        name=name,
        token_nonce=nonce,
        token_hash=token_hash(token),
        commune_codes=codes,
    )
    session.add(app_user)
    try:
        session.flush()
    except IntegrityError:
        # A concurrent create took the name between our check and the insert.
        raise _duplicate(name) from None
    _audit(session, actor, "appuser.create", app_user)
    return app_user, token


def _duplicate(name: str) -> PcmdError:
    return PcmdError(
        f"Đã có người dùng ứng dụng tên {name!r} (an app user named {name!r} already exists; "
        "names of revoked app users stay taken). Fix: choose another name; see "
        "`pcmd appuser list`."
    )


def get_app_user_or_none(session: Session, name: str) -> AppUser | None:
    return session.scalar(select(AppUser).where(AppUser.name == normalise_name(name)))


def get_app_user(session: Session, name: str) -> AppUser:
    app_user = get_app_user_or_none(session, name)
    if app_user is None:
        raise PcmdError(
            f"Không có người dùng ứng dụng tên {name!r} (no app user named {name!r}). "
            "See `pcmd appuser list`."
        )
    return app_user


def revoke_app_user(session: Session, name: str, *, actor: str = "cli") -> AppUser:
    """Revoke an app user: every phone configured with its QR code is refused from now on.

    Revoking twice is harmless and keeps the first date.
    """
    app_user = get_app_user(session, name)
    if app_user.revoked_at is None:
        app_user.revoked_at = utcnow()
        _audit(session, actor, "appuser.revoke", app_user)
        session.flush()
    return app_user


def list_app_users(session: Session) -> list[AppUser]:
    return list(session.scalars(select(AppUser).order_by(AppUser.name)))


def project_name(session: Session, app_user: AppUser) -> str:
    project = session.get(Project, app_user.project_id)
    return project.name if project is not None else f"Project {app_user.project_id}"


# --- Collect configuration -------------------------------------------------------------------


def server_url(base_url: str, token: str, project_id: int = 1) -> str:
    """Central's layout: Collect appends /formList, /submission … to this."""
    return f"{base_url}/v1/key/{token}/projects/{project_id}"


def collect_settings(server_url: str, project_name: str) -> dict[str, Any]:
    """Collect's settings, in managed mode as Central makes them: phones get exactly the
    published forms and send finalised forms on any network."""
    return {
        "general": {
            "server_url": server_url,
            "form_update_mode": "match_exactly",
            "autosend": "wifi_and_cellular",
        },
        "project": {"name": project_name},
        "admin": {},  # Collect rejects settings without it
    }


def qr_payload(settings: dict[str, Any]) -> str:
    """The QR text Collect reads: base64 of zlib-compressed JSON (Central's encoding)."""
    return base64.b64encode(zlib.compress(json.dumps(settings).encode("utf-8"))).decode("ascii")


def _qr(payload: str) -> Any:
    # Level L at least (segno raises it when that costs no extra size): the smallest code for
    # the payload, which phone cameras read best.
    return segno.make(payload, error="L", micro=False)


def qr_png(payload: str, *, scale: int = 8, border: int = 4) -> bytes:
    """A PNG of the QR code; 8 px per module prints sharply, border 4 is the standard margin."""
    out = io.BytesIO()
    _qr(payload).save(out, kind="png", scale=scale, border=border)
    return out.getvalue()


def qr_svg(payload: str, *, scale: int = 8, border: int = 4) -> str:
    out = io.BytesIO()
    _qr(payload).save(out, kind="svg", scale=scale, border=border, xmldecl=False)
    return out.getvalue().decode("utf-8")
