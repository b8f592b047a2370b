"""The audit log as administrators read it (server/audit_read.py): a province's entries only,
filters by action, user and day (Vietnam time), pages, Vietnamese words, no secret shown."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pcmd.db.engine import transaction
from pcmd.db.models import AuditLog, Establishment, WebUser
from pcmd.masterdata.orgunits import load_shipped
from pcmd.server import audit_read, manage
from pcmd.server.accounts import Scope, create_user, scope_of
from pcmd.server.audit_read import Filters
from pcmd.server.signin import login
from tests.server.hashes import cheap_hashes  # noqa: F401 (a fixture)

PASSWORD = "mật-khẩu-đủ-dài-2026"
VN = dt.timezone(dt.timedelta(hours=7))


def scope(session: Session, username: str) -> Scope:
    user = session.scalar(select(WebUser).where(WebUser.username == username))
    assert user is not None
    return scope_of(session, user)


@pytest.fixture
def logged(engine: Engine, request: pytest.FixtureRequest) -> Engine:
    """Entries of Quảng Ngãi (51), of Đà Nẵng (48), national ones, and sign-ins."""
    request.getfixturevalue("cheap_hashes")
    with transaction(engine) as s:
        load_shipped(s)
        create_user(s, "qt.qng", PASSWORD, "province_admin", ["51"], actor="cli")
        create_user(s, "qt.dng", PASSWORD, "province_admin", ["48"], actor="cli")
    with transaction(engine) as s:
        manage.create_web_user(s, scope(s, "qt.qng"), "lan", "commune_officer", "51", ["21028"])
        manage.create_web_user(s, scope(s, "qt.dng"), "hai", "province_reviewer", "48", [])
        s.add(
            Establishment(id="21025-000001", name="Karaoke", type="karaoke", commune_code="21025")
        )
        # a record's entry written without a province: found through the record's commune
        s.add(
            AuditLog(
                actor="user:qt.qng",
                action="establishment.accept",
                target="21025-000001",
                details={"submission": 1, "password": "bí-mật-123", "token": "abc" * 14},
            )
        )
        s.add(
            AuditLog(
                actor="cli",
                action="targets.import",
                target="/srv/pcmd/chi-tieu-2026.csv",
                details={"added": 3, "updated": 1, "unchanged": 10},
            )
        )
        login(s, "qt.qng", PASSWORD)
        login(s, "qt.qng", "sai-mat-khau-roi")
    return engine


def actions(page: audit_read.AuditPage) -> list[tuple[str, str]]:
    return [(e.what_vi, e.target) for e in page.entries]


def test_read__province_admin__its_province_only_sign_ins_hidden(logged: Engine) -> None:
    with transaction(logged) as s:
        province = audit_read.read(s, ["51"], Filters())
        national = audit_read.read(s, None, Filters())
    # newest first; qt.qng's own creation (by cli) is an entry of 51 too
    assert actions(province) == [
        ("Đưa cơ sở vào danh sách quản lý", "21025-000001"),
        ("Tạo người dùng", "lan"),
        ("Tạo người dùng", "qt.qng"),
    ]
    assert actions(national) == [
        ("Nhập chỉ tiêu", "chi-tieu-2026.csv"),  # the file's name, not the server's folders
        ("Đưa cơ sở vào danh sách quản lý", "21025-000001"),
        ("Tạo người dùng", "hai"),
        ("Tạo người dùng", "lan"),
        ("Tạo người dùng", "qt.dng"),
        ("Tạo người dùng", "qt.qng"),
    ]
    assert (province.total, national.total) == (3, 6)


def test_read__words__vietnamese_and_english_no_secret(logged: Engine) -> None:
    with transaction(logged) as s:
        entries = audit_read.read(s, None, Filters()).entries
    created = next(e for e in entries if e.target == "lan")
    assert (created.who, created.what_en) == ("qt.qng", "Created a web user")
    assert created.details_vi == "Cán bộ xã; Phường Nghĩa Lộ"
    assert created.details_en == "Commune officer; Phường Nghĩa Lộ"
    imported = entries[0]
    assert imported.who == "Quản trị máy chủ (server administrator)"
    assert imported.details_vi == "thêm 3, cập nhật 1, giữ nguyên 10"
    accepted = next(e for e in entries if e.target == "21025-000001")
    shown = f"{accepted.details_vi} {accepted.details_en} {accepted.target}"
    assert "bí-mật" not in shown
    assert "abcabc" not in shown
    assert accepted.details_vi == ""


def test_read__filters__action_user_and_day(logged: Engine) -> None:
    today = dt.datetime.now(VN).date()
    with transaction(logged) as s:
        by_action = audit_read.read(s, None, Filters(action="targets.import"))
        by_user = audit_read.read(s, None, Filters(actor="qt.dng"))
        tomorrow = audit_read.read(s, None, Filters(day_from=today + dt.timedelta(days=1)))
        yesterday = audit_read.read(s, None, Filters(day_to=today - dt.timedelta(days=1)))
        on_the_day = audit_read.read(s, None, Filters(day_from=today, day_to=today))
        names = audit_read.actors(s, ["51"])
    assert actions(by_action) == [("Nhập chỉ tiêu", "chi-tieu-2026.csv")]
    assert actions(by_user) == [("Tạo người dùng", "hai")]
    assert (tomorrow.total, yesterday.total, on_the_day.total) == (0, 0, 6)
    assert names == ["qt.qng"]


def test_read__day_boundary__vietnam_time(logged: Engine) -> None:
    """An entry at 23:30 UTC on 1 March is 06:30 on 2 March in Vietnam: it is 2 March's."""
    with transaction(logged) as s:
        s.add(
            AuditLog(
                at=dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC),
                actor="cli",
                action="reference.import",
                target="ref.csv",
                details={},
            )
        )
    with transaction(logged) as s:
        first = audit_read.read(
            s, None, Filters(day_from=dt.date(2026, 3, 1), day_to=dt.date(2026, 3, 1))
        )
        second = audit_read.read(
            s, None, Filters(day_from=dt.date(2026, 3, 2), day_to=dt.date(2026, 3, 2))
        )
    assert first.total == 0
    assert [(e.target, e.at.strftime("%d/%m/%Y %H:%M")) for e in second.entries] == [
        ("ref.csv", "02/03/2026 06:30")
    ]


def test_read__pages__fifty_a_page_newest_first(logged: Engine) -> None:
    with transaction(logged) as s:
        for n in range(52):
            s.add(
                AuditLog(
                    actor="user:qt.qng",
                    action="user.enable",
                    target=f"u{n:02d}",
                    province_code="51",
                )
            )
    with transaction(logged) as s:
        first = audit_read.read(s, ["51"], Filters(action="user.enable"))
        second = audit_read.read(s, ["51"], Filters(action="user.enable", page=2))
        beyond = audit_read.read(s, ["51"], Filters(action="user.enable", page=9))
    assert (first.total, first.pages, len(first.entries)) == (52, 2, 50)
    assert [e.target for e in second.entries] == ["u01", "u00"]
    assert beyond.page == 2  # a page past the end shows the last one
