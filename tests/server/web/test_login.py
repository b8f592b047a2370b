"""Sign-in, sign-out and the page language over real HTTP; every page wants a signed-in user."""

from __future__ import annotations

import re
import statistics
import time

import httpx
import pytest
from sqlalchemy import func, select

from pcmd.db.engine import transaction
from pcmd.db.models import AuditLog, WebSession
from pcmd.server.accounts import disable_user
from pcmd.server.signin import THROTTLE_ADDRESS_FAILURES, THROTTLE_FAILURES
from tests.server.web.conftest import PASSWORD, Site, csrf_of, signed_in


def test_pages__signed_out__redirect_to_login(site: Site) -> None:
    with httpx.Client(base_url=site.server.url) as client:
        for path in (
            "/submissions",
            f"/submissions/{site.sub_id}",
            f"/attachments/{site.attachment_id}",
        ):
            response = client.get(path)
            assert response.status_code == 303
            assert response.headers["location"].startswith("/login?next=")


def test_login__wrong_password__401_and_message(site: Site) -> None:
    with httpx.Client(base_url=site.server.url) as client:
        page = client.get("/login")
        response = client.post(
            "/login", data={"csrf": csrf_of(page.text), "username": "hoa.qng", "password": "sai"}
        )
    assert response.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in response.text


def test_login__no_csrf__refused(site: Site) -> None:
    with httpx.Client(base_url=site.server.url) as client:
        response = client.post("/login", data={"username": "hoa.qng", "password": PASSWORD})
    assert response.status_code == 403


def test_language_switch__english_labels(site: Site) -> None:
    with signed_in(site, "admin") as client:
        client.get("/lang", params={"to": "en", "next": f"/submissions/{site.sub_id}"})
        detail = client.get(f"/submissions/{site.sub_id}")
        assert '<html lang="en">' in detail.text
        assert "Students" in detail.text
        assert "Edit history" in detail.text


def _sign_in(
    client: httpx.Client, username: str, password: str, address: str = ""
) -> httpx.Response:
    page = client.get("/login")
    # uvicorn takes the client's address from X-Forwarded-For when a local proxy sends it
    headers = {"X-Forwarded-For": address} if address else {}
    return client.post(
        "/login",
        data={"csrf": csrf_of(page.text), "username": username, "password": password},
        headers=headers,
    )


def _error(response: httpx.Response) -> str:
    found = re.search(r'<p class="error"[^>]*>(.*?)</p>', response.text, re.S)
    assert found, response.text
    return found.group(1).strip()


def _counts(site: Site) -> tuple[int, int]:
    """(failed sign-ins recorded, sessions started)."""
    with transaction(site.server.engine) as s:
        failed = s.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "login.failed")
        )
        sessions = s.scalar(select(func.count()).select_from(WebSession))
    return failed or 0, sessions or 0


@pytest.mark.full_cost_hashes  # it times sign-ins: argon2 at its real cost
def test_login__unknown_or_disabled_user__same_answer_and_time_as_wrong_password(
    site: Site,
) -> None:
    with transaction(site.server.engine) as s:
        disable_user(s, "xem.qng")
    timings: dict[str, list[float]] = {"wrong": [], "unknown": [], "disabled": []}
    answers: dict[str, set[tuple[int, str]]] = {k: set() for k in timings}
    tries = {
        "wrong": ("hoa.qng", "sai-mat-khau-roi"),
        "unknown": ("khong.co.ai", "sai-mat-khau-roi"),
        "disabled": ("xem.qng", PASSWORD),  # the right password of a disabled user
    }
    with httpx.Client(base_url=site.server.url) as client:
        _sign_in(client, "khong.co.ai", "lan-dau")  # the first unknown name warms up
        for _ in range(3):
            for kind, (username, password) in tries.items():
                start = time.perf_counter()
                response = _sign_in(client, username, password)
                timings[kind].append(time.perf_counter() - start)
                answers[kind].add((response.status_code, _error(response)))
    wrong = {(401, "Sai tên đăng nhập hoặc mật khẩu (wrong username or password).")}
    assert answers == {"wrong": wrong, "unknown": wrong, "disabled": wrong}
    # An unknown or disabled name costs an argon2 check too: no quick "no such user".
    slow = statistics.median(timings["wrong"])
    assert statistics.median(timings["unknown"]) > slow / 2
    assert statistics.median(timings["disabled"]) > slow / 2
    assert _counts(site) == (10, 0)


def test_login__five_failures_for_a_name__429_with_retry_after(site: Site) -> None:
    with httpx.Client(base_url=site.server.url) as client:
        for _ in range(THROTTLE_FAILURES):
            assert _sign_in(client, "hoa.qng", "sai-mat-khau-roi").status_code == 401
        refused = _sign_in(client, "hoa.qng", PASSWORD)  # even the right password waits
        other = _sign_in(client, "admin", PASSWORD)  # another name from the same address
    assert refused.status_code == 429
    assert 14 * 60 < int(refused.headers["Retry-After"]) <= 15 * 60
    assert _error(refused).startswith("Đăng nhập sai quá nhiều lần; hãy thử lại sau 15 phút")
    assert other.status_code == 303
    # the refused attempt is not counted as a failure, and opened no session
    assert _counts(site) == (THROTTLE_FAILURES, 1)


def test_login__twenty_failures_from_one_address__429_for_every_name(site: Site) -> None:
    attacker, colleague = "203.0.113.9", "203.0.113.10"
    with httpx.Client(base_url=site.server.url) as client:
        for i in range(THROTTLE_ADDRESS_FAILURES):
            # a different name each time, so no name reaches its own limit
            response = _sign_in(client, f"doan.{i % 5}", "sai-mat-khau-roi", attacker)
            assert response.status_code == 401
        refused = _sign_in(client, "admin", PASSWORD, attacker)
        elsewhere = _sign_in(client, "admin", PASSWORD, colleague)
    assert refused.status_code == 429
    assert 14 * 60 < int(refused.headers["Retry-After"]) <= 15 * 60
    assert "too many failed sign-ins" in _error(refused)
    assert elsewhere.status_code == 303
    assert _counts(site) == (THROTTLE_ADDRESS_FAILURES, 1)


def test_login__hostile_names__same_refusal_nothing_stored(site: Site) -> None:
    """A name PostgreSQL cannot hold (NUL), or longer than any user's, is a wrong sign-in."""
    names = ["admin\x00", "x" * 300, "admin" + "x" * 200]
    with httpx.Client(base_url=site.server.url) as client:
        answers = [_sign_in(client, name, PASSWORD) for name in names]
    assert [a.status_code for a in answers] == [401, 401, 401]
    assert _counts(site) == (3, 0)
    with transaction(site.server.engine) as s:
        targets = s.scalars(select(AuditLog.target).where(AuditLog.action == "login.failed"))
        assert sorted(len(t or "") for t in targets) == [6, 100, 100]
