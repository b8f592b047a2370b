"""Real Chromium (Debian's /usr/bin/chromium, driven by Playwright) against a real pcmd server.

A province reviewer signs in, opens the dashboard, follows a number to the submissions it is
made of, rejects one, and sees the indicator change — on a laptop-sized window and on a 360-px
phone. Every request the pages make must go to pcmd itself (no CDN, no fonts from elsewhere).
Screenshots are kept in test-artifacts/browser/.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import Engine

from pcmd.db.engine import make_engine, transaction
from pcmd.db.migrate import upgrade
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from pcmd.masterdata.reference import import_reference_values
from pcmd.pipeline.run import run_pipeline
from pcmd.server.accounts import create_user
from pcmd.server.app import create_app
from pcmd.settings import Settings, load_settings
from tests.live_server import free_port, serve_in_thread
from tests.server.collect import load_forms, new_id, outreach_xml

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
PASSWORD = "mật-khẩu-đủ-dài-2026"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Quảng Ngãi: four communes report outreach in 2026; 21025 reports twice.
REPORTS = ["21025", "21025", "21028", "21034", "21040"]


@dataclass
class Site:
    url: str
    engine: Engine


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert shutil.which("chromium") or Path(CHROMIUM).exists(), (
        "Chromium is missing: `make test` installs Debian's chromium package"
    )
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    settings: Settings = load_settings(
        {"database_url": f"sqlite:///{tmp_path / 'pcmd.db'}", "data_dir": str(tmp_path)},
        environ={},
    )
    engine = make_engine(settings.database_url)
    upgrade(engine)
    load_forms(engine)
    store = FileStore(settings.data_dir / "attachments")
    for commune in REPORTS:
        xml = outreach_xml(new_id(), commune=commune)
        ingest_with_retry(engine, store, Incoming(xml=xml, source="openrosa"))
    with transaction(engine, write=True) as session:
        import_reference_values(
            session, "org_unit,year,key,value\n51,2026,students,1000\n", "ref.csv"
        )
        create_user(session, "hoa.qng", PASSWORD, "province_reviewer", ["51"])
    run_pipeline(engine, full=True)
    port = free_port()
    # the scheduler runs as in `pcmd serve`, polling for waiting data every second
    settings = replace(
        settings, base_url=f"http://127.0.0.1:{port}", scheduler=True, pipeline_delay_seconds=1
    )
    with serve_in_thread(create_app(settings), port) as url:
        yield Site(url, engine)
    engine.dispose()


def watch_hosts(page: Page, allowed: str) -> list[str]:
    """Record every host the page asks for other than pcmd's."""
    outside: list[str] = []
    host = urlsplit(allowed).netloc

    def check(request: object) -> None:
        url = getattr(request, "url", "")
        netloc = urlsplit(url).netloc
        if url.startswith(("http:", "https:")) and netloc != host:
            outside.append(url)

    page.on("request", check)
    return outside


def hd1(page: Page) -> int:
    cell = page.locator('tr[data-indicator="HD1"] td.value')
    return int(re.sub(r"\D", "", cell.inner_text()))


def journey(browser: Browser, site: Site, width: int, height: int, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
    page = context.new_page()
    outside = watch_hosts(page, site.url)

    page.goto(f"{site.url}/dashboard?org=51&period=2026")
    assert "/login" in page.url
    page.fill('input[name="username"]', "hoa.qng")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(re.compile(r"/dashboard"))
    page.screenshot(path=str(ARTIFACTS / f"{name}-1-dashboard.png"), full_page=True)
    assert hd1(page) == len(REPORTS)
    tt1 = page.locator('tr[data-indicator="TT1"]')
    assert "Tỷ lệ xã, phường, đặc khu" in tt1.inner_text()
    assert tt1.locator(".status").inner_text() in ("Đạt", "Chưa đạt")

    # follow HD1's number to the submissions it counts
    page.click('tr[data-indicator="HD1"] a.numerator')
    page.wait_for_url(re.compile(r"/submissions"))
    rows = page.locator("table.data tbody tr")
    assert rows.count() == len(REPORTS)
    page.screenshot(path=str(ARTIFACTS / f"{name}-2-submissions.png"), full_page=True)

    # reject the first one
    rows.first.locator("a").first.click()
    page.wait_for_url(re.compile(r"/submissions/\d+$"))
    page.fill('input[name="comment"]', "Phiếu trùng")
    page.click('button[value="rejected"]')
    # a rejection is confirmed on its own page, the reason carried over
    page.wait_for_selector("form#reject")
    assert page.input_value('form#reject textarea[name="comment"]') == "Phiếu trùng"
    page.click("form#reject button")
    page.wait_for_selector("#review-state")
    assert page.locator("#review-state").inner_text() == "Không chấp nhận"
    page.screenshot(path=str(ARTIFACTS / f"{name}-3-rejected.png"), full_page=True)

    # the scheduler brings the indicator up to date by itself, within its delay
    deadline = time.monotonic() + 30
    page.goto(f"{site.url}/dashboard?org=51&period=2026")
    while hd1(page) != len(REPORTS) - 1 and time.monotonic() < deadline:
        page.wait_for_timeout(500)
        page.reload()
    assert hd1(page) == len(REPORTS) - 1
    page.screenshot(path=str(ARTIFACTS / f"{name}-4-after.png"), full_page=True)
    if width <= 400:
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not overflow, "the page is wider than the phone"
    assert outside == []
    context.close()


@pytest.mark.slow
def test_browser__review_changes_indicator__laptop(browser: Browser, site: Site) -> None:
    journey(browser, site, 1280, 900, "laptop")


@pytest.mark.slow
def test_browser__review_changes_indicator__phone_360(browser: Browser, site: Site) -> None:
    journey(browser, site, 360, 740, "phone")
