"""Web users: passwords, roles, scope and the login throttle."""

from __future__ import annotations

import unicodedata

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select

from pcmd.db.engine import transaction
from pcmd.db.models import AuditLog, WebUser
from pcmd.errors import AuthError, PcmdError
from pcmd.masterdata.orgunits import load_shipped
from pcmd.server.accounts import Scope, create_user
from pcmd.server.passwords import hash_password, verify_password
from pcmd.server.signin import THROTTLE_FAILURES, login

PASSWORD = "mật-khẩu-đủ-dài-2026"


@pytest.fixture
def units(engine: Engine) -> Engine:
    with transaction(engine) as s:
        load_shipped(s)
    return engine


def test_password__argon2_round_trip() -> None:
    hashed = hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$")
    assert PASSWORD not in hashed
    assert verify_password(hashed, PASSWORD)
    assert not verify_password(hashed, PASSWORD + "x")
    assert not verify_password("not-a-hash", PASSWORD)


def test_create_user__checks(units: Engine) -> None:
    with transaction(units) as s:
        user = create_user(s, "hoa.qng", PASSWORD, "province_reviewer", ["51"])
        assert user.password_hash != PASSWORD
    cases = [
        (("hoa qng", PASSWORD, "viewer", ["51"]), "invalid username"),
        (("hoa\x00qng", PASSWORD, "viewer", ["51"]), "invalid username"),
        (("lan", PASSWORD, "boss", ["51"]), "unknown role"),
        (("lan", "ngan", "viewer", ["51"]), "at least 10 characters"),
        (("lan", PASSWORD, "viewer", ["99", "51"]), r"code\(s\) 99"),
        (("hoa.qng", PASSWORD, "viewer", ["51"]), "already exists"),
    ]
    for args, needle in cases:
        with pytest.raises(PcmdError, match=needle), transaction(units) as s:
            create_user(s, *args)


def test_login__right_wrong_and_throttled(units: Engine) -> None:
    with transaction(units) as s:
        create_user(s, "hoa.qng", PASSWORD, "province_reviewer", ["51"])
    with transaction(units) as s:
        scope = login(s, "hoa.qng", PASSWORD)
    assert scope is not None
    assert (scope.role, scope.org_codes) == ("province_reviewer", frozenset({"51"}))
    for _ in range(THROTTLE_FAILURES):
        with transaction(units) as s:
            assert login(s, "hoa.qng", "sai-mat-khau-roi") is None
    with pytest.raises(AuthError, match="15 minutes") as err, transaction(units) as s:
        login(s, "hoa.qng", PASSWORD)  # even the right password waits now
    assert err.value.status == 429
    with transaction(units) as s:
        failures = s.scalars(select(AuditLog).where(AuditLog.action == "login.failed")).all()
        assert len(failures) == THROTTLE_FAILURES
        assert all(PASSWORD not in str(f.details) for f in failures)
        assert s.scalar(select(WebUser.username)) == "hoa.qng"


def test_scope__sees_its_units_only() -> None:
    province = Scope(1, "a", "province_reviewer", frozenset({"51"}))
    assert province.sees("21025", "51")
    assert not province.sees("20194", "48")
    commune = Scope(2, "b", "commune_officer", frozenset({"21025"}))
    assert commune.sees("21025", "51")
    assert not commune.sees("21028", "51")
    assert commune.can_review  # its own commune's records
    assert not commune.is_admin
    country = Scope(3, "c", "national_admin", frozenset({"VN"}))
    assert country.is_national_admin
    assert country.sees("20194", "48")
    assert country.sees_unit("48", ["VN"])
    assert not province.sees_unit("48", ["VN"])


def test_login__password_typed_decomposed__signs_in_user_created_composed(units: Engine) -> None:
    composed = unicodedata.normalize("NFC", PASSWORD)
    decomposed = unicodedata.normalize("NFD", PASSWORD)
    assert composed != decomposed  # a phone keyboard may send "a" + combining marks
    with transaction(units) as s:
        create_user(s, "hoa.qng", composed, "province_reviewer", ["51"])
    with transaction(units) as s:
        assert login(s, "hoa.qng", decomposed) is not None
        assert login(s, "hoa.qng", composed) is not None
        assert login(s, "hoa.qng", unicodedata.normalize("NFD", "mat-khau-khac-2026")) is None


def test_verify_password__hash_made_from_decomposed_text__still_verifies() -> None:
    decomposed = unicodedata.normalize("NFD", PASSWORD)
    old = PasswordHasher().hash(decomposed)  # as hashed before passwords were normalised
    assert verify_password(old, decomposed)
    assert verify_password(old, unicodedata.normalize("NFC", PASSWORD))
    assert not verify_password(old, decomposed + "x")
    assert verify_password(hash_password(decomposed), unicodedata.normalize("NFC", PASSWORD))


def test_create_user__legacy_admin__mapped_to_the_four_roles(units: Engine) -> None:
    with transaction(units) as s:
        national = create_user(s, "quoc.gia", PASSWORD, "admin", ["VN"])
        province = create_user(s, "qt.qng", PASSWORD, "admin", ["51"])
    assert (national.role, province.role) == ("national_admin", "province_admin")


@pytest.mark.parametrize(
    ("role", "org"),
    [
        ("national_admin", ["51"]),  # a national role holds VN
        ("province_admin", ["VN"]),
        ("province_reviewer", ["21025"]),  # a province role holds provinces
        ("commune_officer", ["51"]),  # a commune officer holds communes
    ],
)
def test_create_user__role_and_units_disagree__refused(
    units: Engine, role: str, org: list[str]
) -> None:
    with pytest.raises(PcmdError, match=f"role {role} is scoped to"), transaction(units) as s:
        create_user(s, "lan", PASSWORD, role, org)
    with transaction(units) as s:
        assert s.scalar(select(WebUser.id)) is None


def test_roles__cli_choices__agree_with_accounts() -> None:
    from pcmd.cli.users import ROLE_CHOICES
    from pcmd.server.accounts import LEGACY_ROLES, ROLES

    assert (*ROLES, *LEGACY_ROLES) == ROLE_CHOICES
