"""Accounts run by the province (server/manage.py): what a province administrator may grant and
touch, checked on the server whatever a form sends; refusals leave the database unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from pcmd.db.engine import transaction
from pcmd.db.models import AppUser, AuditLog, WebUser, WebUserScope
from pcmd.errors import AuthError, PcmdError
from pcmd.masterdata.orgunits import load_shipped
from pcmd.server import manage
from pcmd.server.accounts import Scope, create_user, scope_of
from pcmd.server.manage import NotManaged
from pcmd.server.openrosa.appusers import create_app_user
from pcmd.server.signin import login
from tests.server.hashes import cheap_hashes  # noqa: F401 (a fixture)

PASSWORD = "mật-khẩu-đủ-dài-2026"
SECRET = b"k" * 32
# Quảng Ngãi (51): Phường Cẩm Thành 21025, Phường Nghĩa Lộ 21028; Đà Nẵng (48): Hải Vân 20194
CAM_THANH, NGHIA_LO, HAI_VAN = "21025", "21028", "20194"


@pytest.fixture
def db(engine: Engine, request: pytest.FixtureRequest) -> Engine:
    request.getfixturevalue("cheap_hashes")
    with transaction(engine) as s:
        load_shipped(s)
        create_user(s, "quoc.gia", PASSWORD, "national_admin", ["VN"])
        create_user(s, "qt.qng", PASSWORD, "province_admin", ["51"])
        create_user(s, "qt.dng", PASSWORD, "province_admin", ["48"])
        create_user(s, "hoa.qng", PASSWORD, "province_reviewer", ["51"])
        create_user(s, "minh.dng", PASSWORD, "province_reviewer", ["48"])
        create_user(s, "xa.camthanh", PASSWORD, "commune_officer", [CAM_THANH])
        create_app_user(s, "may-qng", [CAM_THANH], SECRET)
        create_app_user(s, "may-dng", [HAI_VAN], SECRET)
        create_app_user(s, "may-ca-nuoc", [], SECRET)  # every commune: national only
    return engine


def scope(engine: Engine, username: str) -> Scope:
    with transaction(engine) as s:
        user = s.scalar(select(WebUser).where(WebUser.username == username))
        assert user is not None
        return scope_of(s, user)


def user_id(engine: Engine, username: str) -> int:
    with transaction(engine) as s:
        found = s.scalar(select(WebUser.id).where(WebUser.username == username))
    assert found is not None
    return found


def app_user_id(engine: Engine, name: str) -> int:
    with transaction(engine) as s:
        found = s.scalar(select(AppUser.id).where(AppUser.name == name))
    assert found is not None
    return found


def snapshot(engine: Engine) -> dict[str, Any]:
    """Everything an accounts change could touch."""
    with transaction(engine) as s:
        return {
            "users": s.execute(
                select(
                    WebUser.username, WebUser.role, WebUser.password_hash, WebUser.disabled_at
                ).order_by(WebUser.username)
            ).all(),
            "scopes": sorted(s.execute(select(WebUserScope.user_id, WebUserScope.org_code)).all()),
            "app_users": s.execute(
                select(AppUser.name, AppUser.revoked_at).order_by(AppUser.name)
            ).all(),
            "audit": s.scalar(select(func.count()).select_from(AuditLog)),
        }


def test_create_web_user__province_admin__commune_officer_with_temporary_password(
    db: Engine,
) -> None:
    admin = scope(db, "qt.qng")
    with transaction(db) as s:
        created, password = manage.create_web_user(
            s, admin, "can.bo.nghialo", "commune_officer", "51", [NGHIA_LO], display_name="Lan"
        )
        assert created.role == "commune_officer"
    assert len(password) == 19  # four groups of four
    assert password.count("-") == 3
    with transaction(db) as s:
        signed = login(s, "can.bo.nghialo", password)
        assert signed is not None
        assert signed.org_codes == frozenset({NGHIA_LO})
        assert signed.must_change_password  # its own password before any page
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "user.create")).all()[-1]
    assert (entry.actor, entry.target, entry.province_code) == (
        "user:qt.qng",
        "can.bo.nghialo",
        "51",
    )
    assert password not in str(entry.details)


def test_create_web_user__province_roles__get_the_province(db: Engine) -> None:
    with transaction(db) as s:
        manage.create_web_user(s, scope(db, "qt.qng"), "duyet.2", "province_reviewer", "51", [])
    assert scope(db, "duyet.2").org_codes == frozenset({"51"})


@pytest.mark.parametrize(
    ("role", "province", "communes", "refusal"),
    [
        ("national_admin", "51", [], AuthError),  # above its own role
        ("viewer", "51", [], AuthError),  # not a role a page gives
        ("province_reviewer", "48", [], NotManaged),  # another province
        ("commune_officer", "51", [HAI_VAN], NotManaged),  # a commune of another province
        ("commune_officer", "48", [HAI_VAN], NotManaged),
        ("commune_officer", "51", [], PcmdError),  # no commune chosen
    ],
)
def test_create_web_user__province_admin__refused_database_unchanged(
    db: Engine, role: str, province: str, communes: list[str], refusal: type[Exception]
) -> None:
    before = snapshot(db)
    with pytest.raises(refusal), transaction(db) as s:
        manage.create_web_user(s, scope(db, "qt.qng"), "ke.gian", role, province, communes)
    assert snapshot(db) == before


def test_grantable_roles__at_most_own() -> None:
    national = Scope(1, "a", "national_admin", frozenset({"VN"}))
    province = Scope(2, "b", "province_admin", frozenset({"51"}))
    reviewer = Scope(3, "c", "province_reviewer", frozenset({"51"}))
    assert manage.grantable_roles(national) == (
        "national_admin",
        "province_admin",
        "province_reviewer",
        "commune_officer",
    )
    assert manage.grantable_roles(province) == (
        "province_admin",
        "province_reviewer",
        "commune_officer",
    )
    assert manage.grantable_roles(reviewer) == ()
    with pytest.raises(AuthError):
        manage.require_admin(reviewer)


def test_list_users__province_admin__own_province_only(db: Engine) -> None:
    with transaction(db) as s:
        province = [u.username for u in manage.list_users(s, scope(db, "qt.qng"))]
        national = [u.username for u in manage.list_users(s, scope(db, "quoc.gia"))]
    assert province == ["hoa.qng", "qt.qng", "xa.camthanh"]
    assert national == [
        "hoa.qng",
        "minh.dng",
        "qt.dng",
        "qt.qng",
        "quoc.gia",
        "xa.camthanh",
    ]


def test_reset_password__own_province_user__new_password_works_old_does_not(db: Engine) -> None:
    with transaction(db) as s:
        name, password = manage.reset_password(s, scope(db, "qt.qng"), user_id(db, "xa.camthanh"))
    assert name == "xa.camthanh"
    with transaction(db) as s:
        assert login(s, "xa.camthanh", password) is not None
        assert login(s, "xa.camthanh", PASSWORD) is None
        entry = s.scalar(select(AuditLog).where(AuditLog.action == "user.password"))
        assert entry is not None
        assert (entry.target, entry.province_code) == ("xa.camthanh", "51")


@pytest.mark.parametrize("target", ["minh.dng", "qt.dng", "quoc.gia", "nobody"])
def test_reset_password_or_disable__outside_province__not_managed_database_unchanged(
    db: Engine, target: str
) -> None:
    wanted = user_id(db, target) if target != "nobody" else 999_999
    before = snapshot(db)
    admin = scope(db, "qt.qng")
    with pytest.raises(NotManaged), transaction(db) as s:
        manage.reset_password(s, admin, wanted)
    with pytest.raises(NotManaged), transaction(db) as s:
        manage.set_disabled(s, admin, wanted, True)
    assert snapshot(db) == before


def test_set_disabled__then_enabled__sign_in_refused_then_allowed(db: Engine) -> None:
    admin = scope(db, "qt.qng")
    target = user_id(db, "hoa.qng")
    with transaction(db) as s:
        manage.set_disabled(s, admin, target, True)
    with transaction(db) as s:
        assert login(s, "hoa.qng", PASSWORD) is None
        manage.set_disabled(s, admin, target, False)
    with transaction(db) as s:
        assert login(s, "hoa.qng", PASSWORD) is not None


def test_set_disabled__own_account__refused(db: Engine) -> None:
    before = snapshot(db)
    with pytest.raises(PcmdError, match="your own account"), transaction(db) as s:
        manage.set_disabled(s, scope(db, "qt.qng"), user_id(db, "qt.qng"), True)
    assert snapshot(db) == before


def test_app_users__province_admin__lists_creates_revokes_own_only(db: Engine) -> None:
    admin = scope(db, "qt.qng")
    with transaction(db) as s:
        assert [u.name for u in manage.list_app_users(s, admin)] == ["may-qng"]
        created = manage.create_app_user(s, admin, "Xã Nghĩa Lộ 1", "51", [NGHIA_LO], SECRET)
        assert created.commune_codes == [NGHIA_LO]
    with transaction(db) as s:
        assert manage.revoke_app_user(s, admin, app_user_id(db, "Xã Nghĩa Lộ 1")) == "Xã Nghĩa Lộ 1"
        entries = s.execute(
            select(AuditLog.action, AuditLog.target, AuditLog.province_code).where(
                AuditLog.action.like("appuser.%"), AuditLog.actor == "user:qt.qng"
            )
        ).all()
    assert sorted(entries) == [
        ("appuser.create", "Xã Nghĩa Lộ 1", "51"),
        ("appuser.revoke", "Xã Nghĩa Lộ 1", "51"),
    ]


@pytest.mark.parametrize("name", ["may-dng", "may-ca-nuoc"])
def test_app_users__outside_province__not_managed_database_unchanged(db: Engine, name: str) -> None:
    admin = scope(db, "qt.qng")
    before = snapshot(db)
    with pytest.raises(NotManaged), transaction(db) as s:
        manage.revoke_app_user(s, admin, app_user_id(db, name))
    with pytest.raises(NotManaged), transaction(db) as s:
        manage.managed_app_user(s, admin, app_user_id(db, name))
    with pytest.raises(NotManaged), transaction(db) as s:
        manage.create_app_user(s, admin, "ke-gian", "51", [HAI_VAN], SECRET)
    with pytest.raises(NotManaged), transaction(db) as s:
        manage.create_app_user(s, admin, "ke-gian", "48", [HAI_VAN], SECRET)
    with pytest.raises(PcmdError, match="at least one commune"), transaction(db) as s:
        manage.create_app_user(s, admin, "ke-gian", "51", [], SECRET)
    assert snapshot(db) == before


def test_communes__province_picker__only_managed_provinces(db: Engine) -> None:
    with transaction(db) as s:
        assert manage.provinces(s, scope(db, "qt.qng")) == [("51", "Tỉnh Quảng Ngãi")]
        communes = dict(manage.communes(s, scope(db, "qt.qng"), "51"))
        assert len(manage.provinces(s, scope(db, "quoc.gia"))) == 34
        with pytest.raises(NotManaged):
            manage.communes(s, scope(db, "qt.qng"), "48")
    assert len(communes) == 96  # Quảng Ngãi's communes in the 2025 list
    assert communes[CAM_THANH] == "Phường Cẩm Thành"


def test_viewer__older_read_only_account__province_admin_may_disable_not_create(
    db: Engine,
) -> None:
    with transaction(db) as s:
        create_user(s, "xem.qng", PASSWORD, "viewer", ["51"])
    admin = scope(db, "qt.qng")
    with transaction(db) as s:
        assert "xem.qng" in [u.username for u in manage.list_users(s, admin)]
        manage.set_disabled(s, admin, user_id(db, "xem.qng"), True)
    with transaction(db) as s:
        assert login(s, "xem.qng", PASSWORD) is None
    with pytest.raises(AuthError), transaction(db) as s:
        manage.create_web_user(s, admin, "xem.2", "viewer", "51", [])
