"""Officers and reviewers in ODK Web Forms (server/webforms/staff.py) against a real pcmd: a
province reviewer corrects a Collect submission in Chromium at 360×740 and finds a new version
with the old one kept, by their name, the photo still there; and the scope of these pages over
HTTP (another province's record, a viewer, CSRF, the communes a province user's form lists)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from pcmd.db.engine import transaction
from pcmd.db.models import (
    AppUser,
    Attachment,
    AuditLog,
    Submission,
    SubmissionVersion,
    WebUser,
)
from pcmd.server.openrosa.appusers import qr_png
from pcmd.server.sessions import end_user_sessions
from tests.server.collect import multipart, new_id, outreach_xml
from tests.server.web.conftest import PASSWORD, Site, csrf_of, signed_in, site  # noqa: F401
from tests.server.webforms.driver import (
    browser,  # noqa: F401  (the module's Chromium)
    fill_outreach,
    number,
    outside,
    question,
    record_requests,
    send,
    shot,
    wait_ready,
)

pytestmark = pytest.mark.postgres


def sign_in(page: Page, url: str, username: str) -> None:
    page.goto(f"{url}/login")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('main button[type="submit"]')
    page.wait_for_url(re.compile(r"/dashboard"))


@pytest.mark.slow
def test_reviewer_corrects__new_version_by_them__old_kept(
    browser: Browser,  # noqa: F811
    site: Site,  # noqa: F811
) -> None:
    url = site.server.url
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
    page = context.new_page()
    seen = record_requests(page)
    sign_in(page, url, "hoa.qng")
    page.goto(f"{url}/submissions/{site.sub_id}")
    page.click(f'a[href="/submissions/{site.sub_id}/edit"]')
    wait_ready(page)
    students = question(page, "Học sinh, sinh viên").locator("input.p-inputnumber-input")
    expect(students).to_have_value("37")  # the record's answer
    shot(page, "reviewer-edit-360")
    number(page, "Học sinh, sinh viên", 41)
    send(page)
    page.wait_for_url(re.compile(rf"/submissions/{site.sub_id}$"), timeout=30_000)
    assert outside(seen, url) == []
    context.close()

    with transaction(site.server.engine) as session:
        sub = session.get(Submission, site.sub_id)
        assert sub is not None
        versions = session.scalars(
            select(SubmissionVersion)
            .where(SubmissionVersion.submission_id == sub.id)
            .order_by(SubmissionVersion.id)
        ).all()
        assert len(versions) == 2
        old, new = versions
        assert sub.current_version_id == new.id
        assert sub.review_state == "edited"
        assert old.data["reach/n_students"] == 37  # kept as it was
        assert new.data["reach/n_students"] == 41
        assert new.deprecated_id == old.instance_id
        assert new.instance_id != old.instance_id
        assert new.source == "web"
        assert new.submitter == "user:hoa.qng"
        photos = session.scalars(
            select(Attachment.sha256).where(Attachment.version_id.in_([old.id, new.id]))
        ).all()
        assert len(photos) == 2
        assert len(set(photos)) == 1  # the same photo on both versions
        audit = session.scalars(select(AuditLog).where(AuditLog.action == "submission.edit")).all()
        assert [(a.actor, a.target) for a in audit] == [("user:hoa.qng", str(sub.id))]


@pytest.mark.slow
def test_officer_session_ends_while_queued__said_kept_then_sent_once_signed_in(
    browser: Browser,  # noqa: F811
    site: Site,  # noqa: F811
) -> None:
    url = site.server.url
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
    page = context.new_page()
    sign_in(page, url, "hoa.qng")
    page.goto(f"{url}/forms/pcmd_outreach/fill")
    fill_outreach(page)
    context.set_offline(True)
    send(page)
    waiting = page.locator("#wf-queue")
    expect(waiting).to_contain_text("Đang chờ gửi: 1", timeout=30_000)
    with transaction(site.server.engine) as session:  # the session ends (as after idle hours)
        user_id = session.scalar(select(WebUser.id).where(WebUser.username == "hoa.qng"))
        assert user_id is not None
        end_user_sessions(session, user_id)
    context.set_offline(False)  # back online: pcmd answers 401, not the sign-in page
    signin = page.locator("#wf-signin")
    expect(signin).to_contain_text("hãy đăng nhập lại", timeout=30_000)
    expect(signin).to_contain_text("sign in again")
    expect(waiting).to_contain_text("Đang chờ gửi: 1")  # kept and counted, not refused
    expect(page.locator("#wf-refused")).to_be_hidden()
    shot(page, "officer-session-ended-360")
    assert web_versions(site) == []

    sign_in(page, url, "hoa.qng")
    page.goto(f"{url}/forms")  # the Forms page sends what waits, with the new session
    # data-waiting is set by each count: 0 only once the send has been received
    expect(page.locator("#wf-queue")).to_have_attribute("data-waiting", "0", timeout=30_000)
    expect(page.locator("#wf-signin")).to_be_hidden()
    context.close()
    assert web_versions(site) == [("user:hoa.qng", 40)]


def web_versions(site: Site) -> list[tuple[str | None, Any]]:  # noqa: F811
    """(submitter, students) of each version sent from a web form."""
    with transaction(site.server.engine) as session:
        versions = session.scalars(
            select(SubmissionVersion).where(SubmissionVersion.source == "web")
        ).all()
        return [(v.submitter, v.data["reach/n_students"]) for v in versions]


def test_staff_pages__scope_viewer_and_csrf(site: Site) -> None:  # noqa: F811
    sid = site.sub_id
    with signed_in(site, "minh.dng") as other:  # Đà Nẵng's reviewer: the record is not theirs
        assert other.get(f"/submissions/{sid}/edit").status_code == 404
        assert other.get(f"/submissions/{sid}/instance.xml").status_code == 404
        forms = other.get("/forms")
        assert forms.status_code == 200
        assert "/forms/pcmd_outreach/fill" in forms.text
        communes = other.get("/forms/pcmd_outreach/media/communes.csv").text
        assert "21025" not in communes  # Quảng Ngãi's communes are not theirs
        token = csrf_of(other.get("/submissions").text)
        refused = other.post(
            "/forms/submission",
            headers={"X-CSRF-Token": token},
            **multipart(outreach_xml(new_id())),  # type: ignore[arg-type]
        )
        assert refused.status_code == 403
        assert "21025" in refused.json()["message"]
    with signed_in(site, "xem.qng") as viewer:  # reads only
        assert viewer.get(f"/submissions/{sid}/edit").status_code == 403
    with signed_in(site, "hoa.qng") as reviewer:
        communes = reviewer.get("/forms/pcmd_outreach/media/communes.csv").text
        assert "21025" in communes
        page = reviewer.get("/forms/pcmd_outreach/fill")
        assert page.status_code == 200
        assert "wasm-unsafe-eval" in page.headers["content-security-policy"]
        xml = reviewer.get(f"/submissions/{sid}/instance.xml")
        assert "<n_students>37</n_students>" in xml.text
        no_token = reviewer.post("/forms/submission", **multipart(outreach_xml(new_id())))  # type: ignore[arg-type]
        assert no_token.status_code == 403
        token = csrf_of(reviewer.get("/submissions").text)
        sent = reviewer.post(
            "/forms/submission",
            headers={"X-CSRF-Token": token},
            **multipart(outreach_xml(new_id(), students=12)),  # type: ignore[arg-type]
        )
        assert sent.status_code == 201, sent.text
    with transaction(site.server.engine) as session:
        by_web = session.scalars(
            select(SubmissionVersion.submitter).where(SubmissionVersion.source == "web")
        ).all()
    assert by_web == ["user:hoa.qng"]


def test_staff_pages__signed_out__sent_to_sign_in(site: Site) -> None:  # noqa: F811
    with httpx.Client(base_url=site.server.url, timeout=30) as client:
        response = client.get(f"/submissions/{site.sub_id}/edit")
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")
        # the outbox's post is answered in JSON it can say, never by the sign-in page
        sent = client.post("/forms/submission", **multipart(outreach_xml(new_id())))  # type: ignore[arg-type]
        assert sent.status_code == 401
        assert sent.json()["signin"] == "session"
        assert "đăng nhập lại" in sent.json()["message"]


def test_app_user_page__web_forms_link_and_its_qr_code(site: Site) -> None:  # noqa: F811
    server = site.server
    with transaction(server.engine) as session:
        ids = {row.name: row.id for row in session.execute(select(AppUser.name, AppUser.id))}
    expected = f"{server.url}/v1/key/{server.scoped_token}/projects/1/web"
    with signed_in(site, "admin") as admin:
        page = admin.get(f"/appusers/{ids['xa-cam-thanh']}")
        assert f'<a href="{expected}" id="web-url">' in page.text
        qr = admin.get(f"/appusers/{ids['xa-cam-thanh']}/web-qr.png")
        assert qr.status_code == 200
        assert qr.headers["content-type"] == "image/png"
        assert qr.headers["cache-control"] == "no-store"  # it holds a credential
        assert qr.content == qr_png(expected)
        revoked = admin.get(f"/appusers/{ids['may-cu']}")
        assert 'id="web-url"' not in revoked.text
        assert admin.get(f"/appusers/{ids['may-cu']}/web-qr.png").status_code == 404
    with signed_in(site, "hoa.qng") as reviewer:  # not an administrator
        assert reviewer.get(f"/appusers/{ids['xa-cam-thanh']}/web-qr.png").status_code in (403, 404)
