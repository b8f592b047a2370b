"""The web-form pages in the phone-page walk's checks (tests/server/web/test_phone.py's `check`:
no sideways scroll, tap targets of at least 40 px) at 360 and 1280 px: a volunteer's list and
form, the Forms page, filling a form and correcting a record as a reviewer."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.server.web.conftest import PASSWORD, Site, site  # noqa: F401
from tests.server.web.test_phone import check
from tests.server.webforms.driver import browser, wait_ready  # noqa: F401


def walk(browser: Browser, site: Site, width: int) -> None:  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": 740}, locale="vi-VN")
    page = context.new_page()
    server = site.server
    page.goto(f"{server.key_url(server.scoped_token)}/web")
    check(page, f"w{width}-web-list")
    page.click('ul.form-links a[href$="/web/pcmd_outreach"]')
    wait_ready(page)
    check(page, f"w{width}-web-form")
    page.goto(f"{server.url}/login")
    page.fill('input[name="username"]', "hoa.qng")
    page.fill('input[name="password"]', PASSWORD)
    page.click('main button[type="submit"]')
    page.wait_for_url("**/dashboard**")
    page.click('header nav a[href="/forms"]')
    page.wait_for_url("**/forms")
    check(page, f"w{width}-forms")
    page.click('ul.form-links a[href="/forms/pcmd_outreach/fill"]')
    wait_ready(page)
    check(page, f"w{width}-forms-fill")
    page.goto(f"{server.url}/submissions/{site.sub_id}/edit")
    wait_ready(page)
    check(page, f"w{width}-submission-edit")
    context.close()


@pytest.mark.slow
def test_web_form_pages__phone_360__no_sideways_scroll_and_big_tap_targets(
    browser: Browser,  # noqa: F811
    site: Site,  # noqa: F811
) -> None:
    walk(browser, site, 360)


@pytest.mark.slow
def test_web_form_pages__laptop_1280__no_sideways_scroll_and_big_tap_targets(
    browser: Browser,  # noqa: F811
    site: Site,  # noqa: F811
) -> None:
    walk(browser, site, 1280)
