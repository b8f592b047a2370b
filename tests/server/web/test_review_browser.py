"""Review at scale in real Chromium, on a 360-px phone and at 1280 px: a province reviewer ticks
two records and approves them at once, rejects a third after confirming with a reason, finds the
reason in the record's thread, and the administrator finds it in the audit log table — every
page without sideways scroll, with finger-sized tap targets and plain text."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select

from pcmd.db.engine import transaction
from pcmd.db.models import Submission
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from tests.server.collect import OTHER_COMMUNE, new_id, outreach_xml
from tests.server.web.conftest import Site
from tests.server.web.test_phone import browser, check, sign_in
from tests.server.web.test_plain_text import problems

__all__ = ["browser"]  # the module's Chromium, shared with the page walk

REASON = "Số người tham dự ghi nhầm, đề nghị xã sửa và gửi lại"


def _send(site: Site) -> int:
    store = FileStore(site.server.settings.data_dir / "attachments")
    xml = outreach_xml(new_id(), commune=OTHER_COMMUNE, students=12)
    return ingest_with_retry(
        site.server.engine, store, Incoming(xml=xml, source="openrosa", submitter="xa-nghia-lo")
    ).submission_id


def _plain(page: Page, name: str) -> None:
    check(page, name)
    assert problems(page.inner_text("body"), "vi") == [], name


def _states(site: Site) -> dict[int, str]:
    with transaction(site.server.engine) as s:
        return dict(s.execute(select(Submission.id, Submission.review_state)).all())


def review_many(browser: Browser, site: Site, width: int) -> None:
    second, third = _send(site), _send(site)
    context = browser.new_context(viewport={"width": width, "height": 740}, locale="vi-VN")
    page = context.new_page()
    url = site.server.url
    sign_in(page, url, "hoa.qng")
    page.click('header nav a[href="/submissions"]')
    page.wait_for_url(re.compile("/submissions$"))
    _plain(page, f"w{width}-review-list")
    row = page.locator(f'tr[data-id="{second}"]')
    assert "xa-nghia-lo" in row.inner_text()  # who sent it

    # tick two records, approve both at once
    page.locator(f'tr[data-id="{site.sub_id}"] input[name="ids"]').check()
    row.locator('input[name="ids"]').check()
    page.click('button[name="action"][value="approved"]')
    page.wait_for_selector("p.flash")
    assert page.inner_text("p.flash") == "Đã cập nhật 2 phiếu."
    assert page.locator(f'tr[data-id="{second}"] .state').inner_text() == "Đã duyệt"
    assert _states(site) == {site.sub_id: "approved", second: "approved", third: "received"}

    # reject the third: a confirmation page asks for the reason first
    page.locator(f'tr[data-id="{third}"] input[name="ids"]').check()
    page.click('button[name="action"][value="rejected"]')
    page.wait_for_selector("form#reject")
    _plain(page, f"w{width}-reject-confirm")
    page.click("form#reject button")  # no reason: the browser keeps the page, nothing sent
    assert page.locator("form#reject").count() == 1
    assert _states(site)[third] == "received"
    page.fill('form#reject textarea[name="comment"]', REASON)
    page.click("form#reject button")
    page.wait_for_selector("p.flash")
    assert _states(site)[third] == "rejected"

    # the reason in the record's thread
    page.goto(f"{url}/submissions/{third}")
    thread = page.inner_text("#thread")
    assert REASON in thread
    assert "Không chấp nhận — lý do" in thread
    _plain(page, f"w{width}-rejected-record")
    context.close()

    # the administrator's audit log table
    admin = browser.new_context(viewport={"width": width, "height": 740}, locale="vi-VN")
    page = admin.new_page()
    sign_in(page, url, "admin")
    page.goto(f"{url}/audit?action=submission.review")
    table = page.inner_text("table#audit")
    assert f"lý do: {REASON}" in table
    assert table.count("hoa.qng") == 3  # two approvals and the rejection
    _plain(page, f"w{width}-audit-review")
    page.click('header nav a[href="/provinces"]')
    page.wait_for_url(re.compile("/provinces$"))
    assert "Tỉnh Quảng Ngãi" in page.inner_text('tr[data-province="51"]')
    _plain(page, f"w{width}-provinces")
    admin.close()


@pytest.mark.slow
def test_review__phone_360__bulk_approval_and_rejection_with_reason(
    browser: Browser, site: Site
) -> None:
    review_many(browser, site, 360)


@pytest.mark.slow
def test_review__laptop_1280__bulk_approval_and_rejection_with_reason(
    browser: Browser, site: Site
) -> None:
    review_many(browser, site, 1280)
