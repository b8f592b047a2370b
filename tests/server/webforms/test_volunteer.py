"""A volunteer's web forms (server/webforms/volunteer.py) in real Chromium at 360×740 against a
real pcmd: the app user's link lists the forms, the outreach form is filled and sent and lands
as the same answers Collect's instance gives; a reload keeps a half-filled form; a form sent
offline waits in the browser, counted, and is stored once when the connection returns. Every
request the pages make stays on the pcmd server. Plus the link's HTTP answers (scope, tokens)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import Engine, select

from pcmd.db.engine import transaction
from pcmd.db.models import Submission, SubmissionVersion
from pcmd.server.keys import secret_key
from pcmd.server.openrosa.appusers import create_app_user, revoke_app_user
from pcmd.settings import Settings
from tests.server.collect import (
    COMMUNE,
    OTHER_COMMUNE,
    multipart,
    new_id,
    outreach_xml,
    post,
    running_server,
)
from tests.server.webforms.driver import (
    PROVINCE,
    browser,  # noqa: F401  (the module's Chromium)
    fill_outreach,
    number,
    outside,
    pick,
    question,
    record_requests,
    send,
    shot,
    tick,
    wait_ready,
)

pytestmark = pytest.mark.postgres
# Fields Collect and a browser fill differently by nature: the device's clock and identity.
SYSTEM = {"start", "end", "today", "deviceid", "username", "location"}


def stored(engine: Engine, source: str) -> list[tuple[Submission, SubmissionVersion]]:
    with transaction(engine) as session:
        rows = session.execute(
            select(Submission, SubmissionVersion)
            .join(SubmissionVersion, SubmissionVersion.submission_id == Submission.id)
            .where(Submission.source == source)
            .order_by(SubmissionVersion.id)
        ).all()
        session.expunge_all()
        return [(s, v) for s, v in rows]


def answers(data: dict[str, Any]) -> dict[str, Any]:
    """The answers, an empty one the same as an absent one (as the ingest compares them): Collect
    writes a question it skipped as an empty node, Web Forms leaves a non-relevant one out."""
    return {
        k: v
        for k, v in data.items()
        if k not in SYSTEM and not k.startswith("meta/") and v not in (None, "")
    }


@pytest.mark.slow
def test_volunteer__phone_fills_outreach__stored_as_collect_sends_it(
    browser: Browser,  # noqa: F811
    settings: Settings,
    engine: Engine,
) -> None:
    with running_server(settings, engine) as server:
        context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
        page = context.new_page()
        seen = record_requests(page)
        page.goto(f"{server.key_url(server.scoped_token)}/web")
        shot(page, "volunteer-list-360")
        page.locator('ul.form-links a[href$="/web/pcmd_outreach"]').click()
        fill_outreach(page)
        shot(page, "volunteer-outreach-filled-360")
        # the engine's own English words, said in Vietnamese first
        expect(page.locator("#webform")).to_contain_text("Chọn ảnh (Choose image)")
        expect(page.locator("#webform")).to_contain_text("Lấy vị trí (Get location)")
        send(page)
        expect(page.locator("#wf-message")).to_contain_text("Đã gửi", timeout=30_000)
        assert outside(seen, server.url) == []
        context.close()

        web = stored(engine, "web")
        assert len(web) == 1
        submission, version = web[0]
        assert submission.commune_code == "21025"
        assert version.submitter == "appuser:xa-cam-thanh"
        assert version.deprecated_id is None
        # the same answers by hand: what collect.outreach_xml(students=40) says
        data = version.data
        assert data["where/province"] == "51"
        assert data["where/commune"] == "21025"
        assert data["reporter_org"] == "phu_nu"
        assert data["activity_date"] == "2026-11-20"
        assert data["channel"] == "hoi_nghi"
        assert data["setting"] == "truong_hoc"
        assert data["topics"] == ["phap_luat", "hiv_sti"]
        assert data["reach/n_students"] == 40
        assert data["reach/n_total"] == "45"  # 0 + 0 + 40 + 5; a calculate is text in XForms

        # and Collect's instance of the same answers, stored by the OpenRosa route
        collect = outreach_xml(new_id()).replace(
            b"<location>15.12 108.8 12.0 5.0</location>", b"<location/>"
        )
        with httpx.Client(timeout=30) as client:
            assert post(client, server, collect, token=server.scoped_token).status_code == 201
        ((_s, from_collect),) = stored(engine, "openrosa")
        assert answers(data) == answers(from_collect.data)


@pytest.mark.slow
def test_volunteer__reload_then_offline_send__kept_counted_and_stored_once(
    browser: Browser,  # noqa: F811
    settings: Settings,
    engine: Engine,
) -> None:
    with running_server(settings, engine) as server:
        context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
        page = context.new_page()
        seen = record_requests(page)
        page.goto(f"{server.key_url(server.scoped_token)}/web/pcmd_outreach")
        wait_ready(page)
        pick(page, "Tỉnh, thành phố", PROVINCE)
        tick(page, "Cơ quan, tổ chức báo cáo", "phu_nu")
        number(page, "Học sinh, sinh viên", 40)
        # the page says when the draft in the browser holds every change seen so far
        page.wait_for_selector('#webform[data-draft="saved"]', state="attached")
        page.reload()
        wait_ready(page)
        expect(page.locator("#wf-message")).to_contain_text("đang điền dở", timeout=30_000)
        # every answer given before the reload is back in the form
        province = question(page, "Tỉnh, thành phố").locator(".p-select-label")
        expect(province).to_have_text(PROVINCE)
        reporter = question(page, "Cơ quan, tổ chức báo cáo").locator('input[id$="_phu_nu"]')
        expect(reporter).to_be_checked()
        students = question(page, "Học sinh, sinh viên").locator("input.p-inputnumber-input")
        expect(students).to_have_value("40")
        # the draft reopens as the new record it is, not as an edit of one: its location
        # question still offers to take the location (an edit shows a map to place it on)
        location = question(page, "Vị trí tổ chức hoạt động")
        expect(location).to_contain_text("Lấy vị trí (Get location)")
        expect(location.locator(".map-block")).to_have_count(0)
        shot(page, "volunteer-draft-reopened-360")
        # only what is missing is given now
        fill_outreach(
            page, skip=("Tỉnh, thành phố", "Cơ quan, tổ chức báo cáo", "Học sinh, sinh viên")
        )
        # cut the network (Playwright's set_offline is DevTools' Network.emulateNetworkConditions)
        context.set_offline(True)
        send(page)
        waiting = page.locator("#wf-queue")
        expect(waiting).to_be_visible(timeout=30_000)
        expect(waiting).to_contain_text("Đang chờ gửi: 1")
        expect(page.locator("#wf-message")).to_contain_text("Chưa có mạng")
        shot(page, "volunteer-offline-waiting-360")
        assert stored(engine, "web") == []

        context.set_offline(False)
        expect(waiting).to_be_hidden(timeout=30_000)
        # the list page sends what waits too, and finds nothing more to send
        page.goto(f"{server.key_url(server.scoped_token)}/web")
        expect(page.locator("#wf-queue")).to_have_attribute("data-waiting", "0")
        expect(page.locator("#wf-queue")).to_be_hidden()
        assert outside(seen, server.url) == []
        posts = [u for u in seen if u.endswith("/web/submission")]
        context.close()

    web = stored(engine, "web")
    assert len(web) == 1, posts
    submission, version = web[0]
    assert version.deprecated_id is None  # a restored draft is a new record, not an edit
    assert submission.review_state == "received"
    # the answers given before the reload, and the rest given after it
    data = version.data
    assert data["where/province"] == "51"
    assert data["reporter_org"] == "phu_nu"
    assert data["reach/n_students"] == 40
    assert data["where/commune"] == "21025"
    assert data["channel"] == "hoi_nghi"
    assert data["reach/n_general"] == 5
    assert data["reach/n_total"] == "45"  # 0 + 0 + 40 + 5


@pytest.mark.slow
def test_volunteer__reload_before_the_answer_reached_the_store__kept(
    browser: Browser,  # noqa: F811
    settings: Settings,
    engine: Engine,
) -> None:
    """The browser's store is asynchronous: a page reloaded while an answer's write has not
    ended would reopen the answer before it. Here the write fails for certain (as one cut
    short by the reload would), and the answer comes back from the copy written as the page
    went; once a later save holds it, the copy is dropped."""
    with running_server(settings, engine) as server:
        context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
        page = context.new_page()
        page.goto(f"{server.key_url(server.scoped_token)}/web/pcmd_outreach")
        wait_ready(page)
        pick(page, "Tỉnh, thành phố", PROVINCE)
        number(page, "Học sinh, sinh viên", 40)
        page.wait_for_selector('#webform[data-draft="saved"]', state="attached")
        # from now on no write reaches the browser's store (until the page is loaded again)
        page.evaluate(
            "() => { IDBObjectStore.prototype.put = () => { throw new Error('cut short'); }; }"
        )
        number(page, "Học sinh, sinh viên", 41)
        page.wait_for_selector('#webform[data-draft="unsaved"]', state="attached")
        page.reload()
        wait_ready(page)
        expect(page.locator("#wf-message")).to_contain_text("đang điền dở", timeout=30_000)
        students = question(page, "Học sinh, sinh viên").locator("input.p-inputnumber-input")
        expect(students).to_have_value("41")
        province = question(page, "Tỉnh, thành phố").locator(".p-select-label")
        expect(province).to_have_text(PROVINCE)
        copies = "() => Object.keys(localStorage).filter((k) => k.startsWith('pcmd-draft'))"
        assert len(page.evaluate(copies)) == 1
        number(page, "Học sinh, sinh viên", 42)
        page.wait_for_selector('#webform[data-draft="saved"]', state="attached")
        assert page.evaluate(copies) == []
        page.reload()
        wait_ready(page)
        students = question(page, "Học sinh, sinh viên").locator("input.p-inputnumber-input")
        expect(students).to_have_value("42")
        context.close()


@pytest.mark.slow
def test_volunteer__link_revoked_while_queued__said_kept_then_sent_by_new_link(
    browser: Browser,  # noqa: F811
    settings: Settings,
    engine: Engine,
) -> None:
    with running_server(settings, engine) as server:
        context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
        page = context.new_page()
        page.goto(f"{server.key_url(server.scoped_token)}/web/pcmd_outreach")
        fill_outreach(page)
        context.set_offline(True)
        send(page)
        waiting = page.locator("#wf-queue")
        expect(waiting).to_contain_text("Đang chờ gửi: 1", timeout=30_000)
        # the province revokes the link while the form waits in the phone
        with transaction(engine) as session:
            revoke_app_user(session, "xa-cam-thanh")
        context.set_offline(False)  # back online: the outbox tries, pcmd answers 403
        signin = page.locator("#wf-signin")
        expect(signin).to_contain_text("xin cán bộ phụ trách một đường dẫn", timeout=30_000)
        expect(signin).to_contain_text("ask your officer for a new link")
        expect(waiting).to_contain_text("Đang chờ gửi: 1")  # kept and counted, not refused
        expect(page.locator("#wf-refused")).to_be_hidden()
        shot(page, "volunteer-link-revoked-360")
        assert stored(engine, "web") == []

        # the new link, opened in the same browser, sends what waits
        with transaction(engine) as session:
            _user, new_token = create_app_user(
                session, "xa-cam-thanh-moi", [COMMUNE], secret_key(settings)
            )
        page.goto(f"{server.key_url(new_token)}/web")
        # data-waiting is set by each count: 0 only once the send has been received
        expect(page.locator("#wf-queue")).to_have_attribute("data-waiting", "0", timeout=30_000)
        expect(page.locator("#wf-signin")).to_be_hidden()
        context.close()

    web = stored(engine, "web")
    assert len(web) == 1
    submission, version = web[0]
    assert version.submitter == "appuser:xa-cam-thanh-moi"
    assert version.deprecated_id is None
    assert submission.commune_code == "21025"
    assert version.data["reach/n_students"] == 40


def test_volunteer_pages__list_and_refusals_over_http(settings: Settings, engine: Engine) -> None:
    with running_server(settings, engine) as server, httpx.Client(timeout=30) as client:
        page = client.get(f"{server.key_url(server.scoped_token)}/web")
        assert page.status_code == 200
        assert "/web/pcmd_outreach" in page.text
        assert "xa-cam-thanh" in page.text
        assert "unsafe" not in page.headers["content-security-policy"]

        form = client.get(f"{server.key_url(server.scoped_token)}/web/pcmd_outreach")
        assert form.status_code == 200
        policy = form.headers["content-security-policy"]
        assert "script-src 'self' 'wasm-unsafe-eval';" in policy
        assert "http" not in policy  # no other host
        assert 'data-submit-url="/v1/key/' in form.text

        revoked = client.get(f"{server.key_url(server.revoked_token)}/web")
        assert revoked.status_code == 401 or revoked.status_code == 403
        assert "Traceback" not in revoked.text
        missing = client.get(f"{server.key_url(server.token)}/web/no_such_form")
        assert missing.status_code == 404
        assert "no_such_form" in missing.text

        submit = f"{server.key_url(server.scoped_token)}/web/submission"
        other = client.post(submit, **multipart(outreach_xml(new_id(), commune=OTHER_COMMUNE)))  # type: ignore[arg-type]
        assert other.status_code == 403
        assert OTHER_COMMUNE in other.json()["message"]
        assert "Phường Nghĩa Lộ" in other.json()["message"]

        xml = outreach_xml(new_id())
        first = client.post(submit, **multipart(xml))  # type: ignore[arg-type]
        again = client.post(submit, **multipart(xml))  # type: ignore[arg-type]
        assert (first.status_code, first.json()["status"]) == (201, "created")
        assert (again.status_code, again.json()["status"]) == (201, "duplicate")
        bad = client.post(submit, content=b"<x/>", headers={"content-type": "text/xml"})
        assert bad.status_code == 400
        assert "multipart" in bad.json()["message"]
    assert len(stored(engine, "web")) == 1
    assert re.fullmatch(r"appuser:xa-cam-thanh", stored(engine, "web")[0][1].submitter or "")
