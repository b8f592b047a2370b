"""Central's session API against a running pcmd: a token from POST /v1/sessions reads as a
bearer, is stored only as a hash, ends with DELETE; wrong passwords are refused and throttled
like the web login; malformed bodies get a clear 400."""

from __future__ import annotations

import hashlib

import httpx
from sqlalchemy import select

from pcmd.db.engine import transaction
from pcmd.db.models import WebSession
from tests.server.central.conftest import PASSWORD, Reading


def sign_in(reading: Reading, email: str, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(
        f"{reading.server.url}/v1/sessions", json={"email": email, "password": password}, timeout=30
    )


def test_sessions__token__reads_as_bearer_then_ends(fresh_reading: Reading) -> None:
    reading = fresh_reading
    answer = sign_in(reading, "hoa.qng")
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"token", "createdAt", "expiresAt"}
    assert body["createdAt"].endswith("Z")
    assert body["expiresAt"] > body["createdAt"]
    token = body["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    me = httpx.get(f"{reading.server.url}/v1/users/current", headers=bearer, timeout=30)
    assert me.json()["email"] == "hoa.qng"
    rows = httpx.get(f"{reading.base}/Submissions", headers=bearer, timeout=30).json()["value"]
    assert len(rows) == 4  # A B C D: Quảng Ngãi
    with transaction(reading.server.engine) as s:
        hashes = list(s.scalars(select(WebSession.token_hash)))
    assert hashlib.sha256(token.encode()).hexdigest() in hashes
    assert token not in hashes
    ended = httpx.delete(f"{reading.server.url}/v1/sessions/{token}", headers=bearer, timeout=30)
    assert ended.json() == {"success": True}
    after = httpx.get(f"{reading.base}/Submissions", headers=bearer, timeout=30)
    assert after.status_code == 401
    again = httpx.delete(f"{reading.server.url}/v1/sessions/{token}", timeout=30)
    assert again.status_code == 404


def test_sessions__wrong_password__401_then_throttled_429(fresh_reading: Reading) -> None:
    reading = fresh_reading
    for _ in range(5):
        wrong = sign_in(reading, "admin", "not-the-password")
        assert wrong.status_code == 401
        assert wrong.json()["code"] == 401.2
    throttled = sign_in(reading, "admin")  # even the right password, for a while
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 0
    assert "thử lại" in throttled.json()["message"]
    basic = httpx.get(f"{reading.base}/Submissions", auth=("admin", PASSWORD), timeout=30)
    assert basic.status_code == 429  # Basic goes through the same throttle


def test_sessions__malformed_body__400_and_nothing_stored(fresh_reading: Reading) -> None:
    reading = fresh_reading
    url = f"{reading.server.url}/v1/sessions"
    not_json = httpx.post(url, content=b"email=admin", timeout=30)
    assert not_json.status_code == 400
    assert not_json.json()["code"] == 400.1
    missing = httpx.post(url, json={"email": "admin"}, timeout=30)
    assert missing.status_code == 400
    assert missing.json()["code"] == 400.3
    with transaction(reading.server.engine) as s:
        assert s.scalar(select(WebSession.id)) is None


def test_basic__wrong_passwords__count_toward_the_sign_in_throttle(fresh_reading: Reading) -> None:
    reading = fresh_reading
    for _ in range(5):
        wrong = httpx.get(
            f"{reading.base}/Submissions", auth=("hoa.qng", "sai-mat-khau"), timeout=30
        )
        assert wrong.status_code == 401
        assert wrong.headers["WWW-Authenticate"] == 'Basic realm="pcmd"'
    assert sign_in(reading, "hoa.qng").status_code == 429  # the web login's throttle
    other = httpx.get(f"{reading.base}/Submissions", auth=("admin", PASSWORD), timeout=30)
    assert other.status_code == 200  # another name is not held up
