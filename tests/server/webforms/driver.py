"""Driving ODK Web Forms in Chromium as a person would: the outreach form filled with the same
answers tests/server/collect.py's Collect instance carries, and every request a page makes
recorded (none may leave the pcmd server)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Locator, Page, sync_playwright

from tests.server.test_browser import CHROMIUM, FLAGS

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "webforms"
# The answers of collect.outreach_xml(…, students=40) with no photo and no location.
PROVINCE = "Tỉnh Quảng Ngãi"
COMMUNE = "Phường Cẩm Thành"
ACTIVITY_DATE = "11/20/2026"  # PrimeVue's date field: month/day/year
CHOICES = {  # question label → the choices ticked, by name
    "Cơ quan, tổ chức báo cáo": ("phu_nu",),
    "Hình thức tuyên truyền": ("hoi_nghi",),
    "Địa điểm, môi trường tuyên truyền": ("truong_hoc",),
    "Nội dung tuyên truyền": ("phap_luat", "hiv_sti"),
    "Hoạt động có lồng ghép với chương trình, cuộc vận động, phong trào nào không?": ("khong",),
}
NUMBERS = {
    "Người lao động tại cơ sở kinh doanh dịch vụ dễ phát sinh tệ nạn mại dâm": 0,
    "Người lao động trong khu, cụm công nghiệp": 0,
    "Học sinh, sinh viên": 40,
    "Người dân khác": 5,
    "Trong đó: số nữ": 20,
    "Số tờ rơi, tài liệu, áp phích đã phát": 30,
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert shutil.which("chromium") or Path(CHROMIUM).exists(), "make test installs chromium"
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def record_requests(page: Page) -> list[str]:
    """Every URL the page asks for (data:/blob: are in the page itself)."""
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    return seen


def outside(seen: list[str], base_url: str) -> list[str]:
    host = urlsplit(base_url).netloc
    return [
        u for u in seen if u.startswith(("http:", "https:", "ws:")) and urlsplit(u).netloc != host
    ]


def wait_ready(page: Page) -> None:
    page.wait_for_selector(".form-initialization-status.ready", state="attached", timeout=90_000)


def question(page: Page, label: str) -> Locator:
    return page.locator(".question-container").filter(has=page.get_by_text(label, exact=True)).last


def pick(page: Page, label: str, option: str) -> None:
    question(page, label).locator(".p-select").click()
    page.get_by_role("option", name=option, exact=True).click()


def tick(page: Page, label: str, *values: str) -> None:
    box = question(page, label)
    for value in values:
        box.locator(f'input[id$="_{value}"]').click()


def number(page: Page, label: str, value: int) -> None:
    field = question(page, label).locator("input.p-inputnumber-input")
    field.fill("")
    field.press_sequentially(str(value))  # typed: PrimeVue's number field reads the keys
    field.press("Tab")


def fill_outreach(page: Page, skip: tuple[str, ...] = ()) -> None:
    """The outreach form's answers, all but the questions (by label) in `skip`."""
    wait_ready(page)
    if "Tỉnh, thành phố" not in skip:
        pick(page, "Tỉnh, thành phố", PROVINCE)
    pick(page, "Xã, phường, đặc khu", COMMUNE)
    date = question(page, "Ngày tổ chức hoạt động").locator("input")
    date.fill("")
    date.press_sequentially(ACTIVITY_DATE)
    date.press("Enter")
    date.press("Escape")
    for label, values in CHOICES.items():
        if label not in skip:
            tick(page, label, *values)
    for label, value in NUMBERS.items():
        if label not in skip:
            number(page, label, value)


def send(page: Page) -> None:
    page.locator("#webform button", has_text="Gửi (Send)").click()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
