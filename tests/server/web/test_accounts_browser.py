"""In real Chromium, at 360×740 (a phone) and 1280: a province administrator creates a commune
officer and an app user with the commune picker, shows the QR code, and finds both on the audit
page; the new commune officer signs in with the temporary password and sees only its commune.
Every page passes the phone checks (no sideways scroll, tap targets of at least 40 px)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page

from tests.server.hashes import cheap_hashes  # noqa: F401 (a fixture)
from tests.server.web.conftest import Site
from tests.server.web.test_phone import browser, check, sign_in  # noqa: F401 (a fixture)
from tests.server.web.test_users import accounts  # noqa: F401 (a fixture)

CAM_THANH = "21025"
OWN_PASSWORD = "mật khẩu của Bình 2026"


def pick_commune(page: Page, form: str, search: str, code: str) -> None:
    """Narrow the picker by typing part of a name without accents, then tick the commune."""
    page.fill(f"{form} input[data-picker-filter]", search)
    shown = page.locator(f"{form} [data-picker-list] label:visible")
    assert shown.count() == 1, shown.all_inner_texts()
    assert shown.inner_text().strip() == "Phường Cẩm Thành"
    page.check(f'{form} input[name="commune"][value="{code}"]')


def walk(browser: Browser, site: Site, width: int) -> None:  # noqa: F811
    url = site.server.url
    context = browser.new_context(viewport={"width": width, "height": 740}, locale="vi-VN")
    page = context.new_page()
    sign_in(page, url, "qt.qng")
    page.click('header nav a[href="/users"]')
    page.wait_for_url(re.compile(r"/users$"))
    check(page, f"w{width}-users")

    # a commune officer for Phường Cẩm Thành
    page.fill('#create-user input[name="username"]', "can.bo.camthanh")
    page.fill('#create-user input[name="display_name"]', "Trần Văn Bình")
    page.select_option('#create-user select[name="role"]', "commune_officer")
    pick_commune(page, "#create-user", "cam thanh", CAM_THANH)
    check(page, f"w{width}-users-picker")
    page.click('#create-user button[type="submit"]')
    page.wait_for_selector("#temp-password")
    password = page.inner_text("#temp-password code[data-password]").strip()
    assert len(password) == 19
    assert page.locator('tr[data-username="can.bo.camthanh"]').count() == 1
    check(page, f"w{width}-users-created")

    # a user's role and units, on a page of their own
    page.click('tr[data-username="hoa.qng"] a[href^="/users/"]')
    page.wait_for_url(re.compile(r"/users/\d+$"))
    assert page.locator('#user-access select[name="role"]').input_value() == "province_reviewer"
    check(page, f"w{width}-user-access")
    page.click('main a[href="/users"]')  # back to the list
    page.wait_for_url(re.compile(r"/users$"))

    # an app user for the same commune, and its QR code
    page.click('nav.tabs a[href="/appusers"]')
    page.wait_for_url(re.compile(r"/appusers$"))
    check(page, f"w{width}-appusers")
    page.fill('#create-app-user input[name="name"]', "Xã Cẩm Thành 2")
    pick_commune(page, "#create-app-user", "Cẩm Th", CAM_THANH)  # accents typed too
    page.click('#create-app-user button[type="submit"]')
    page.wait_for_url(re.compile(r"/appusers/\d+$"))
    page.wait_for_function("document.querySelector('img.qr').complete")
    assert page.evaluate("document.querySelector('img.qr').naturalWidth") > 200
    assert "Phường Cẩm Thành" in page.inner_text("dl.facts")
    check(page, f"w{width}-appuser-qr")

    # both on the audit page, in words
    page.click('header nav a[href="/audit"]')
    page.wait_for_url(re.compile(r"/audit$"))
    rows = page.locator("table#audit tbody tr").all_inner_texts()
    assert any("Tạo tài khoản ODK Collect" in r and "Xã Cẩm Thành 2" in r for r in rows), rows
    assert any("Tạo người dùng" in r and "can.bo.camthanh" in r for r in rows), rows
    assert all(password not in r for r in rows)
    check(page, f"w{width}-audit")
    page.select_option('#audit-filters select[name="action"]', "appuser.create")
    page.fill('#audit-filters input[name="user"]', "qt.qng")
    page.click('#audit-filters button[type="submit"]')
    page.wait_for_url(re.compile(r"action=appuser.create"))
    # the phone set up from the command line (xa-cam-thanh) is another user's entry
    filtered = page.locator("table#audit tbody tr").all_inner_texts()
    assert len(filtered) == 1
    assert "Xã Cẩm Thành 2" in filtered[0]
    context.close()

    # the commune officer signs in with the temporary password: its commune only
    context = browser.new_context(viewport={"width": width, "height": 740}, locale="vi-VN")
    page = context.new_page()
    page.goto(f"{url}/login")
    page.fill('input[name="username"]', "can.bo.camthanh")
    page.fill('input[name="password"]', password)
    page.click('main button[type="submit"]')
    # a temporary password: its own password first, then sign in again with it
    page.wait_for_url(re.compile(r"/password$"))
    page.goto(f"{url}/submissions")
    page.wait_for_url(re.compile(r"/password$"))  # no other page until then
    check(page, f"w{width}-own-password")
    page.fill('#own-password input[name="current"]', password)
    page.fill('#own-password input[name="password"]', OWN_PASSWORD)
    page.fill('#own-password input[name="password2"]', OWN_PASSWORD)
    page.click('#own-password button[type="submit"]')
    page.wait_for_url(re.compile(r"/login"))
    page.fill('input[name="username"]', "can.bo.camthanh")
    page.fill('input[name="password"]', OWN_PASSWORD)
    page.click('main button[type="submit"]')
    page.wait_for_url(re.compile(r"/dashboard"))
    assert page.locator('header nav a[href="/users"]').count() == 0
    assert page.locator('header nav a[href="/audit"]').count() == 0
    check(page, f"w{width}-officer-dashboard")
    page.click('header nav a[href="/submissions"]')
    page.wait_for_url(re.compile(r"/submissions$"))
    links = page.locator("table.data tbody tr td.title a")
    assert links.count() == 1
    assert links.get_attribute("href") == f"/submissions/{site.sub_id}"
    check(page, f"w{width}-officer-submissions")
    context.close()


@pytest.mark.slow
def test_accounts__phone_360__admin_creates_officer_and_app_user_audit_lists_them(
    browser: Browser,  # noqa: F811
    accounts: Site,  # noqa: F811
) -> None:
    walk(browser, accounts, 360)


@pytest.mark.slow
def test_accounts__laptop_1280__admin_creates_officer_and_app_user_audit_lists_them(
    browser: Browser,  # noqa: F811
    accounts: Site,  # noqa: F811
) -> None:
    walk(browser, accounts, 1280)
