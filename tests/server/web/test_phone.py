"""Every page at 360 px (an Android phone) and at 1280 px, in real Chromium: no sideways page
scroll, tables as cards or scrolling in their own box, tap targets at least 40 px high, plain
text (test_plain_text.problems); and the
first run walked in the browser, from a fresh installation to the dashboard."""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import Engine, select

from pcmd.db.engine import transaction
from pcmd.db.models import WebUser
from pcmd.ingest.files import FileStore
from pcmd.settings import Settings
from tests.server.collect import running_server
from tests.server.test_browser import ARTIFACTS, CHROMIUM, FLAGS
from tests.server.web.conftest import PASSWORD, Site
from tests.server.web.test_cases import add_cases
from tests.server.web.test_firstrun import LOGGER, code_in
from tests.server.web.test_plain_text import problems

MIN_TAP = 40
# What a finger taps in the page's own content: links (not a chart's bars, whose numbers the
# table beside them links too), buttons, fields; a checkbox is tapped through its label.
TAP_TARGETS = """() => Array.from(document.querySelectorAll(
    'main a, main button, main input:not([type=hidden]), main select, main textarea,'
    + ' header a, header button'))
  .filter(e => !e.closest('svg') && e.getClientRects().length)
  .map(e => {
    const box = (e.type === 'checkbox' && e.closest('label') || e).getBoundingClientRect();
    return {what: e.outerHTML.slice(0, 80), height: box.height, width: box.width};
  })
  .filter(t => t.height < MIN_TAP)""".replace("MIN_TAP", str(MIN_TAP))
SIDEWAYS = "document.documentElement.scrollWidth - window.innerWidth"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert shutil.which("chromium") or Path(CHROMIUM).exists(), "make test installs chromium"
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def check(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-top.png"))  # what the phone shows first
    wider = page.evaluate(SIDEWAYS)
    assert wider <= 0, f"{name}: the page is {wider} px wider than the window"
    small = page.evaluate(TAP_TARGETS)
    assert small == [], f"{name}: tap targets under {MIN_TAP} px: {small}"
    lang = page.locator("html").get_attribute("lang") or "vi"
    wrong = problems(page.inner_text("body"), lang)
    assert wrong == [], f"{name}: not plain text: {wrong}"


def sign_in(page: Page, url: str, username: str) -> None:
    page.goto(f"{url}/login")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('main button[type="submit"]')
    page.wait_for_url(re.compile(r"/dashboard"))


def every_page(browser: Browser, site: Site, width: int) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": 740}, locale="vi-VN")
    page = context.new_page()
    url = site.server.url
    page.goto(f"{url}/login")
    check(page, f"w{width}-login")
    sign_in(page, url, "admin")
    check(page, f"w{width}-dashboard")
    page.goto(f"{url}/dashboard?org=51&period=2026")
    check(page, f"w{width}-dashboard-51")
    page.click('tr[data-indicator="HD1"] a.numerator')  # what the number is made of
    page.wait_for_url(re.compile(r"/submissions\?.*indicator=HD1"))
    assert page.locator("table.data tbody tr").count() == 1
    check(page, f"w{width}-drilldown")
    page.goto(f"{url}/dashboard?org=51&period=2026&focus=HD1#breakdown")
    check(page, f"w{width}-breakdown")
    page.goto(f"{url}/dashboard?org=51&period=2026Q4")  # with the year-to-date columns
    assert page.locator('tr[data-indicator="HD1"] td.ytd').count() == 1
    check(page, f"w{width}-dashboard-quarter")
    for nav, path in [("submissions", "/submissions"), ("quality", "/quality")]:
        page.click(f'header nav a[href="{path}"]')
        page.wait_for_url(re.compile(path + "$"))
        check(page, f"w{width}-{nav}")
        if nav == "submissions":
            page.click("table.data tbody tr a")
            page.wait_for_url(re.compile(rf"/submissions/{site.sub_id}$"))
            check(page, f"w{width}-submission")
    for nav, path in [("reports", "/reports"), ("setup", "/setup"), ("provinces", "/provinces")]:
        page.click(f'header nav a[href="{path}"]')
        page.wait_for_url(re.compile(path + "$"))
        check(page, f"w{width}-{nav}")
    # the accounts pages and the audit log, as a national administrator sees them
    for nav, path in [("users", "/users"), ("audit", "/audit"), ("password", "/password")]:
        page.click(f'header nav a[href="{path}"]')
        page.wait_for_url(re.compile(path + "$"))
        check(page, f"w{width}-{nav}")
    page.goto(f"{url}/appusers")
    check(page, f"w{width}-appusers")
    page.click('table#app-users a:text-is("xa-cam-thanh")')
    page.wait_for_url(re.compile(r"/appusers/\d+$"))
    check(page, f"w{width}-appuser")
    page.click('header nav a[href="/dashboard"]')
    page.wait_for_url(re.compile("/dashboard$"))
    with page.expect_navigation():
        page.click('header a[href^="/lang?to=en"]')  # English words are longer
    assert page.locator("html").get_attribute("lang") == "en"
    check(page, f"w{width}-dashboard-en")
    page.goto(f"{url}/submissions/{site.sub_id}")
    check(page, f"w{width}-submission-en")
    # the case page, with cases in it (added last: the walk above expects one record)
    add_cases(site.server.engine, FileStore(site.server.settings.attachments_dir))
    page.click('header nav a[href="/cases"]')
    page.wait_for_url(re.compile("/cases$"))
    assert page.locator("tr.overdue").count() == 1
    check(page, f"w{width}-cases-en")
    with page.expect_navigation():
        page.click('header a[href^="/lang?to=vi"]')
    check(page, f"w{width}-cases")
    context.close()


@pytest.mark.slow
def test_pages__phone_360__no_sideways_scroll_and_big_tap_targets(
    browser: Browser, site: Site
) -> None:
    every_page(browser, site, 360)


@pytest.mark.slow
def test_pages__laptop_1280__no_sideways_scroll_and_big_tap_targets(
    browser: Browser, site: Site
) -> None:
    every_page(browser, site, 1280)


def fill_first_run(page: Page, code: str, username: str) -> None:
    page.fill('input[name="code"]', code)
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.fill('input[name="password2"]', PASSWORD)
    page.click('main button[type="submit"]')


@pytest.mark.slow
def test_first_run__fresh_install_on_phone__code_from_log_makes_admin_once(
    browser: Browser, settings: Settings, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    caplog.set_level(logging.WARNING, logger=LOGGER)
    with running_server(settings, engine) as server:
        code = code_in(caplog.text)  # what the server printed at start
        first, late = (
            browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
            for _ in range(2)
        )
        page, other = first.new_page(), late.new_page()
        other.goto(f"{server.url}/")  # a second visitor, with the same page open
        page.goto(f"{server.url}/")
        page.wait_for_url(re.compile(r"/first-run$"))
        assert "mã cài đặt" in page.inner_text("main").lower()
        check(page, "w360-first-run")
        fill_first_run(page, code, "quan.tri")
        page.wait_for_url(re.compile(r"/dashboard$"))
        assert "quan.tri" in page.inner_text("header")
        check(page, "w360-first-run-dashboard")
        page.click('header nav a[href="/setup"]')  # an administrator
        page.wait_for_url(re.compile(r"/setup$"))

        assert other.url.endswith("/first-run")
        fill_first_run(other, code, "ke.khac")  # the same code, a second time
        other.wait_for_url(re.compile(r"/login$"))
        assert other.locator('input[name="password"]').count() == 1
        other.goto(f"{server.url}/first-run")
        assert other.url.endswith("/login")
        first.close()
        late.close()
    with transaction(engine) as s:
        assert list(s.scalars(select(WebUser.username))) == ["quan.tri"]
