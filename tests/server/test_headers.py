"""Security headers over real HTTP: pages allow script from pcmd's own /static only and never
sit in a frame; every response says nosniff; cookies are HttpOnly, SameSite, Secure on https."""

from __future__ import annotations

import re
from dataclasses import replace

import httpx
import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import Engine

from pcmd.server.app import create_app
from pcmd.server.headers import OTHER_POLICY, PAGE_POLICY
from pcmd.server.web.base import SERVER_DIR
from pcmd.settings import Settings
from tests.live_server import serve_in_thread
from tests.server.test_browser import CHROMIUM, FLAGS
from tests.server.web.conftest import PASSWORD, Site, signed_in
from tests.server.web.conftest import site as site  # the fixture: a server with users

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


def _common(response: httpx.Response) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_headers__policy_strings() -> None:
    assert "script-src 'self';" in PAGE_POLICY
    assert "'unsafe-inline'" not in PAGE_POLICY
    assert PAGE_POLICY.endswith("frame-ancestors 'none'")
    assert OTHER_POLICY == "default-src 'none'; frame-ancestors 'none'"


def test_headers__templates__no_inline_script_or_handler() -> None:
    for template in sorted((SERVER_DIR / "templates").glob("*.html")):
        text = template.read_text(encoding="utf-8")
        assert INLINE_SCRIPT.findall(text) == [], template.name
        assert HANDLER.findall(text) == [], template.name
        assert "javascript:" not in text.lower(), template.name


def test_headers__every_page__csp_frame_nosniff_and_no_inline_script(site: Site) -> None:
    with httpx.Client(base_url=site.server.url) as anonymous:
        login = anonymous.get("/login")
    _common(login)
    assert login.headers["Content-Security-Policy"] == PAGE_POLICY
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http (base_url http://…)
    pages = [
        "/dashboard?org=51&period=2026&focus=HD1",
        "/submissions",
        f"/submissions/{site.sub_id}",
        "/quality",
        "/reports",
        "/setup",
    ]
    with signed_in(site, "admin") as client:
        for path in pages:
            page = client.get(path)
            assert page.status_code == 200, path
            _common(page)
            assert page.headers["Content-Security-Policy"] == PAGE_POLICY, path
            assert INLINE_SCRIPT.findall(page.text) == [], path
            assert HANDLER.findall(page.text) == [], path
            for src in re.findall(r'<script[^>]*\bsrc="([^"]+)"', page.text):
                assert src.startswith("/static/"), src
                script = client.get(src)
                assert script.status_code == 200, src
                _common(script)
        api = client.get("/api/v1/indicators", params={"org": "51", "period": "2026"})
    assert api.status_code == 200
    _common(api)
    assert api.headers["Content-Security-Policy"] == OTHER_POLICY


def test_headers__openrosa_xml__nosniff(site: Site) -> None:
    with httpx.Client() as phone:
        forms = phone.get(f"{site.server.key_url()}/formList")
    assert forms.status_code == 200
    assert forms.headers["content-type"].startswith("text/xml")
    _common(forms)
    assert forms.headers["Content-Security-Policy"] == OTHER_POLICY


def test_headers__https_base_url__secure_cookie_and_hsts(
    settings: Settings, engine: Engine
) -> None:
    app = create_app(replace(settings, base_url="https://pcmd.example.gov.vn"))
    with serve_in_thread(app) as url, httpx.Client(base_url=url) as client:
        login = client.get("/login", follow_redirects=True)  # no user yet: the first-run page
    assert login.status_code == 200
    cookie = login.headers["set-cookie"].lower()
    assert "secure" in cookie
    assert "httponly" in cookie
    assert login.headers["Strict-Transport-Security"] == "max-age=31536000"


@pytest.mark.slow
def test_headers__csp_in_chromium__scripts_run_nothing_refused(site: Site) -> None:
    """The dashboard's scripts work under the policy, and the browser refuses nothing."""
    refused: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        page.on(
            "console", lambda m: refused.append(m.text) if "Security Policy" in m.text else None
        )
        page.goto(
            f"{site.server.url}/login?next=/dashboard%3Forg%3D51%26period%3D2026%26focus%3DHD1"
        )
        page.fill('input[name="username"]', "admin")
        page.fill('input[name="password"]', PASSWORD)
        page.click('button[type="submit"]')
        page.wait_for_url(re.compile(r"focus=HD1"))
        header = page.locator("#breakdown-table th[data-sort]").first
        header.click()  # sortable.js
        assert header.get_attribute("data-dir") == "asc"
        page.select_option('select[name="focus"][data-autosubmit]', "HD2")  # autosubmit.js
        page.wait_for_url(re.compile(r"focus=HD2"))
        browser.close()
    assert refused == []
