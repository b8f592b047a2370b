"""The accounts pages over real HTTP: a province administrator creates a commune officer and an
app user of its province; hostile POSTs (another province, a higher role, no CSRF token, a
reviewer) are refused and leave the database as it was."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from pcmd.db.engine import transaction
from pcmd.db.models import AppUser, AuditLog, WebUser, WebUserScope
from pcmd.server.accounts import create_user
from pcmd.server.openrosa.appusers import create_app_user
from tests.server.hashes import cheap_hashes  # noqa: F401 (a fixture)
from tests.server.web.conftest import PASSWORD, Site, csrf_of

CAM_THANH, NGHIA_LO, HAI_VAN = "21025", "21028", "20194"  # 51, 51, 48
OWN_PASSWORD = "mật khẩu riêng của tôi"


@pytest.fixture
def accounts(site: Site, request: pytest.FixtureRequest) -> Site:
    """The site with a province administrator of 51 and of 48, and a phone of Đà Nẵng."""
    request.getfixturevalue("cheap_hashes")
    with transaction(site.server.engine) as s:
        create_user(s, "qt.qng", PASSWORD, "province_admin", ["51"])
        create_user(s, "qt.dng", PASSWORD, "province_admin", ["48"])
        create_app_user(s, "may-dng", [HAI_VAN], b"k" * 32)
    return site


@contextmanager
def signed_in_at(
    site: Site, username: str, land: str, password: str = PASSWORD
) -> Iterator[httpx.Client]:
    """A browser-like client signed in, first landing on `land`."""
    with httpx.Client(base_url=site.server.url, follow_redirects=True, timeout=30) as client:
        page = client.get("/login")
        response = client.post(
            "/login",
            data={
                "csrf": csrf_of(page.text),
                "username": username,
                "password": password,
                "next": land,
            },
        )
        assert response.url.path == land, response.text
        yield client


def ids(site: Site) -> dict[str, int]:
    with transaction(site.server.engine) as s:
        users = {r[0]: r[1] for r in s.execute(select(WebUser.username, WebUser.id))}
        apps = {r[0]: r[1] for r in s.execute(select(AppUser.name, AppUser.id))}
    return {**users, **{f"app:{k}": v for k, v in apps.items()}}


def snapshot(site: Site) -> dict[str, Any]:
    with transaction(site.server.engine) as s:
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
            "audit": s.scalar(
                select(func.count())
                .select_from(AuditLog)
                .where(AuditLog.action.not_in(["login", "login.failed"]))
            ),
        }


def test_users__province_admin__creates_commune_officer_who_sees_only_its_commune(
    accounts: Site,
) -> None:
    with signed_in_at(accounts, "qt.qng", "/users") as admin:
        page = admin.get("/users")
        assert page.status_code == 200
        assert 'data-username="hoa.qng"' in page.text
        assert 'data-username="minh.dng"' not in page.text  # Đà Nẵng's reviewer
        assert 'data-username="admin"' not in page.text  # the national administrator
        assert 'value="national_admin"' not in page.text  # no higher role offered
        assert f'name="commune" value="{NGHIA_LO}"> Phường Nghĩa Lộ' in page.text
        assert f'value="{HAI_VAN}"' not in page.text
        created = admin.post(
            "/users",
            data={
                "csrf": csrf_of(page.text),
                "username": "can.bo.nghialo",
                "display_name": "Nguyễn Thị Lan",
                "role": "commune_officer",
                "province": "51",
                "commune": NGHIA_LO,
            },
        )
        assert created.status_code == 200
        assert created.headers["cache-control"] == "no-store"
        found = re.search(r"<code class=\"secret\" data-password>([^<]+)</code>", created.text)
        assert found, created.text
        password = found.group(1)
    with transaction(accounts.server.engine) as s:
        user = s.scalar(select(WebUser).where(WebUser.username == "can.bo.nghialo"))
        assert user is not None
        assert user.role == "commune_officer"
        assert password not in user.password_hash
        codes = s.scalars(select(WebUserScope.org_code).where(WebUserScope.user_id == user.id))
        assert list(codes) == [NGHIA_LO]
    with signed_in_at(accounts, "can.bo.nghialo", "/password", password) as first:
        # signed in with a temporary password: every page leads to choosing its own
        assert first.get("/dashboard").url.path == "/password"
        form = first.get("/password")
        changed = first.post(
            "/password",
            data={
                "csrf": csrf_of(form.text),
                "current": password,
                "password": OWN_PASSWORD,
                "password2": OWN_PASSWORD,
            },
        )
        assert changed.url.path == "/login"
        assert "Đã đổi mật khẩu" in changed.text
    with signed_in_at(accounts, "can.bo.nghialo", "/dashboard", OWN_PASSWORD) as officer:
        # the one submission is Cẩm Thành's: not the Nghĩa Lộ officer's to see
        assert officer.get(f"/submissions/{accounts.sub_id}").status_code == 404
        assert officer.get(f"/attachments/{accounts.attachment_id}").status_code == 404
        assert officer.get("/users").status_code == 403
        assert officer.get("/audit").status_code == 403


def test_users__new_password__shown_once_old_one_refused(accounts: Site) -> None:
    target = ids(accounts)["hoa.qng"]
    with signed_in_at(accounts, "qt.qng", "/users") as admin:
        page = admin.get("/users")
        reset = admin.post(f"/users/{target}/password", data={"csrf": csrf_of(page.text)})
        assert reset.status_code == 200
        found = re.search(r"data-password>([^<]+)<", reset.text)
        assert found
        again = admin.get("/users")
        assert found.group(1) not in again.text  # shown once
    with httpx.Client(base_url=accounts.server.url, follow_redirects=True) as client:
        login = client.get("/login")
        old = client.post(
            "/login",
            data={"csrf": csrf_of(login.text), "username": "hoa.qng", "password": PASSWORD},
        )
        assert old.url.path == "/login"
    with signed_in_at(accounts, "hoa.qng", "/password", found.group(1)) as reviewer:
        form = reviewer.get("/password")
        assert "mật khẩu tạm" in form.text
        wrong = reviewer.post(
            "/password",
            data={
                "csrf": csrf_of(form.text),
                "current": "không phải mật khẩu",
                "password": OWN_PASSWORD,
                "password2": OWN_PASSWORD,
            },
        )
        assert wrong.status_code == 400
        assert "Mật khẩu hiện tại không đúng" in wrong.text
        differ = reviewer.post(
            "/password",
            data={
                "csrf": csrf_of(form.text),
                "current": found.group(1),
                "password": OWN_PASSWORD,
                "password2": OWN_PASSWORD + "x",
            },
        )
        assert differ.status_code == 400
        assert "không giống nhau" in differ.text
    with transaction(accounts.server.engine) as s:
        user = s.scalar(select(WebUser).where(WebUser.username == "hoa.qng"))
        assert user is not None
        assert user.must_change_password  # still the temporary one


def test_users__disable__then_sign_in_refused(accounts: Site) -> None:
    target = ids(accounts)["hoa.qng"]
    with signed_in_at(accounts, "qt.qng", "/users") as admin:
        page = admin.get("/users")
        done = admin.post(f"/users/{target}/disable", data={"csrf": csrf_of(page.text)})
        assert done.status_code == 200
        assert "Đã khoá hoa.qng" in done.text
    with transaction(accounts.server.engine) as s:
        disabled = s.scalar(select(WebUser.disabled_at).where(WebUser.username == "hoa.qng"))
        entry = s.scalar(select(AuditLog).where(AuditLog.action == "user.disable"))
    assert disabled is not None
    assert entry is not None
    assert (entry.actor, entry.target, entry.province_code) == ("user:qt.qng", "hoa.qng", "51")


def test_appusers__province_admin__create_with_picker_qr_then_revoke(accounts: Site) -> None:
    with signed_in_at(accounts, "qt.qng", "/appusers") as admin:
        page = admin.get("/appusers")
        assert "may-dng" not in page.text  # Đà Nẵng's phone
        assert "xa-cam-thanh-all" not in page.text  # every commune: national only
        assert 'href="/appusers/' in page.text
        created = admin.post(
            "/appusers",
            data={
                "csrf": csrf_of(page.text),
                "name": "Xã Nghĩa Lộ 1",
                "province": "51",
                "commune": [NGHIA_LO, CAM_THANH],
            },
        )
        assert created.status_code == 200
        assert re.fullmatch(r"/appusers/\d+", created.url.path)
        assert "Phường Nghĩa Lộ, Phường Cẩm Thành" in created.text
        qr = admin.get(f"{created.url.path}/qr.png")
        assert qr.status_code == 200
        assert qr.content.startswith(b"\x89PNG\r\n\x1a\n")
        assert qr.headers["cache-control"] == "no-store"
        revoked = admin.post(f"{created.url.path}/revoke", data={"csrf": csrf_of(page.text)})
        assert revoked.url.path == "/appusers"
        assert admin.get(f"{created.url.path}/qr.png").status_code == 404
    with transaction(accounts.server.engine) as s:
        app_user = s.scalar(select(AppUser).where(AppUser.name == "Xã Nghĩa Lộ 1"))
        assert app_user is not None
        assert app_user.commune_codes == [NGHIA_LO, CAM_THANH]
        assert app_user.revoked_at is not None


def test_accounts__hostile_posts__refused_database_unchanged(accounts: Site) -> None:
    known = ids(accounts)
    before = snapshot(accounts)
    with signed_in_at(accounts, "qt.qng", "/users") as admin:
        csrf = csrf_of(admin.get("/users").text)
        new_user = {"csrf": csrf, "username": "ke.gian", "display_name": ""}
        refusals = [
            # a higher role than its own
            (
                admin.post("/users", data={**new_user, "role": "national_admin", "province": "51"}),
                403,
            ),
            # users of another province
            (
                admin.post("/users", data={**new_user, "role": "province_admin", "province": "48"}),
                404,
            ),
            (
                admin.post(
                    "/users",
                    data={
                        **new_user,
                        "role": "commune_officer",
                        "province": "51",
                        "commune": HAI_VAN,
                    },
                ),
                404,
            ),
            (admin.post(f"/users/{known['minh.dng']}/password", data={"csrf": csrf}), 404),
            (admin.post(f"/users/{known['qt.dng']}/disable", data={"csrf": csrf}), 404),
            (admin.post(f"/users/{known['admin']}/disable", data={"csrf": csrf}), 404),
            # app users of another province, or of every commune
            (
                admin.post(
                    "/appusers",
                    data={"csrf": csrf, "name": "ke-gian", "province": "48", "commune": HAI_VAN},
                ),
                404,
            ),
            (
                admin.post(
                    "/appusers",
                    data={"csrf": csrf, "name": "ke-gian", "province": "51", "commune": HAI_VAN},
                ),
                404,
            ),
            (admin.post(f"/appusers/{known['app:may-dng']}/revoke", data={"csrf": csrf}), 404),
            (
                admin.post(
                    f"/appusers/{known['app:xa-cam-thanh-all']}/revoke", data={"csrf": csrf}
                ),
                404,
            ),
            (admin.get(f"/appusers/{known['app:xa-cam-thanh-all']}/qr.png"), 404),
            (admin.get(f"/appusers/{known['app:may-dng']}"), 404),
            # no CSRF token, or another one
            (admin.post("/users", data={**new_user, "csrf": "", "role": "commune_officer"}), 403),
            (admin.post(f"/users/{known['hoa.qng']}/disable", data={"csrf": "x" * 43}), 403),
            (admin.post(f"/appusers/{known['app:xa-cam-thanh']}/revoke", data={}), 403),
        ]
        for response, status in refusals:
            assert response.status_code == status, (response.request.url, response.text[:300])
            assert "Traceback" not in response.text
    with signed_in_at(accounts, "hoa.qng", "/users") as reviewer:
        page = reviewer.get("/users")
        assert page.status_code == 403
        assert 'href="/users"' not in page.text  # not in a reviewer's navigation
        forged = reviewer.post(
            "/users",
            data={
                "csrf": csrf_of(page.text),
                "username": "ke.gian",
                "role": "province_reviewer",
                "province": "51",
            },
        )
        assert forged.status_code == 403
        assert reviewer.get(f"/appusers/{known['app:xa-cam-thanh']}/qr.png").status_code == 403
    assert snapshot(accounts) == before


def test_accounts__bad_input__clear_message_database_unchanged(accounts: Site) -> None:
    before = snapshot(accounts)
    with signed_in_at(accounts, "qt.qng", "/users") as admin:
        csrf = csrf_of(admin.get("/users").text)
        no_commune = admin.post(
            "/users",
            data={"csrf": csrf, "username": "lan", "role": "commune_officer", "province": "51"},
        )
        assert no_commune.status_code == 200
        assert "Hãy chọn ít nhất một xã" in no_commune.text
        taken = admin.post(
            "/users",
            data={
                "csrf": csrf,
                "username": "hoa.qng",
                "role": "province_reviewer",
                "province": "51",
            },
        )
        assert "Đã có người dùng" in taken.text
        spaces = admin.post(
            "/appusers",
            data={"csrf": csrf, "name": "<script>", "province": "51", "commune": CAM_THANH},
        )
        assert "không hợp lệ" in spaces.text
        assert "<script>" not in spaces.text.split("<main>")[1].replace("&lt;script&gt;", "")
    assert snapshot(accounts) == before


def test_users__change_access__reviewer_made_officer_of_one_commune_sessions_end(
    accounts: Site,
) -> None:
    target = ids(accounts)["hoa.qng"]
    with signed_in_at(accounts, "hoa.qng", "/dashboard") as reviewer:
        with signed_in_at(accounts, "qt.qng", "/users") as admin:
            listing = admin.get("/users")
            assert f'href="/users/{target}"' in listing.text
            page = admin.get(f"/users/{target}")
            assert page.status_code == 200
            assert page.headers["cache-control"] == "no-store"
            assert 'value="province_reviewer" selected' in page.text
            assert f'name="commune" value="{NGHIA_LO}"> Phường Nghĩa Lộ' in page.text  # 51's
            changed = admin.post(
                f"/users/{target}/access",
                data={
                    "csrf": csrf_of(page.text),
                    "role": "commune_officer",
                    "province": "51",
                    "commune": NGHIA_LO,
                },
            )
            assert changed.url.path == "/users"
            assert "Đã đổi vai trò, đơn vị của hoa.qng" in changed.text
            again = admin.get(f"/users/{target}")
            assert f'name="commune" value="{NGHIA_LO}" checked> Phường Nghĩa Lộ' in again.text
        # the reviewer's open session ended with its old rights
        assert reviewer.get("/dashboard").url.path == "/login"
    with transaction(accounts.server.engine) as s:
        user = s.scalar(select(WebUser).where(WebUser.username == "hoa.qng"))
        assert user is not None
        assert user.role == "commune_officer"
        codes = s.scalars(select(WebUserScope.org_code).where(WebUserScope.user_id == user.id))
        assert list(codes) == [NGHIA_LO]
        entry = s.scalar(select(AuditLog).where(AuditLog.action == "user.access"))
        assert entry is not None
        assert (entry.actor, entry.target, entry.province_code) == ("user:qt.qng", "hoa.qng", "51")
        assert entry.details == {
            "role": "commune_officer",
            "org": [NGHIA_LO],
            "before": {"role": "province_reviewer", "org": ["51"]},
        }
    with signed_in_at(accounts, "hoa.qng", "/dashboard") as officer:
        # now an officer of Nghĩa Lộ: Cẩm Thành's submission is not its to see
        assert officer.get(f"/submissions/{accounts.sub_id}").status_code == 404
    with signed_in_at(accounts, "admin", "/audit") as national:
        assert "Đổi vai trò, đơn vị của người dùng" in national.get("/audit").text


def test_users__change_access__hostile_or_wrong__refused_database_unchanged(
    accounts: Site,
) -> None:
    known = ids(accounts)
    before = snapshot(accounts)
    with signed_in_at(accounts, "qt.qng", "/users") as admin:
        csrf = csrf_of(admin.get("/users").text)
        hoa = f"/users/{known['hoa.qng']}/access"
        refusals = [
            # a higher role than its own
            (admin.post(hoa, data={"csrf": csrf, "role": "national_admin", "province": "51"}), 403),
            # a commune of another province, another province's user, the national administrator
            (
                admin.post(
                    hoa,
                    data={
                        "csrf": csrf,
                        "role": "commune_officer",
                        "province": "51",
                        "commune": HAI_VAN,
                    },
                ),
                404,
            ),
            (admin.post(hoa, data={"csrf": csrf, "role": "province_admin", "province": "48"}), 404),
            (
                admin.post(
                    f"/users/{known['minh.dng']}/access",
                    data={"csrf": csrf, "role": "province_reviewer", "province": "51"},
                ),
                404,
            ),
            (admin.get(f"/users/{known['minh.dng']}"), 404),
            (admin.get(f"/users/{known['admin']}"), 404),
            # no CSRF token
            (admin.post(hoa, data={"role": "province_admin", "province": "51"}), 403),
        ]
        for response, status in refusals:
            assert response.status_code == status, (response.request.url, response.text[:300])
            assert "Traceback" not in response.text
        own = admin.post(
            f"/users/{known['qt.qng']}/access",
            data={"csrf": csrf, "role": "province_reviewer", "province": "51"},
        )
        assert "Không thể tự đổi vai trò của mình" in own.text
        no_commune = admin.post(
            hoa, data={"csrf": csrf, "role": "commune_officer", "province": "51"}
        )
        assert "Hãy chọn ít nhất một xã" in no_commune.text
    with signed_in_at(accounts, "hoa.qng", "/dashboard") as reviewer:
        page = reviewer.get(f"/users/{known['hoa.qng']}")
        assert page.status_code == 403
        forged = reviewer.post(
            f"/users/{known['hoa.qng']}/access",
            data={"csrf": csrf_of(page.text), "role": "province_admin", "province": "51"},
        )
        assert forged.status_code == 403
    assert snapshot(accounts) == before
