"""Web sessions kept on the server (server/sessions.py), over real HTTP: sign-out, idle time and
a new password end them, and a copy of the cookie then opens nothing."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import replace

import httpx
from sqlalchemy import select, update

from pcmd.db.engine import transaction
from pcmd.db.models import WebSession, WebUser, utcnow
from pcmd.server.sessions import token_hash
from tests.cli.test_main import pcmd
from tests.serve_process import pcmd_serve
from tests.server.web.conftest import PASSWORD, Site, csrf_of, signed_in

NEW_PASSWORD = "mật-khẩu-mới-tháng-12"


def _replay(site: Site, cookie: str) -> httpx.Response:
    """A request from another browser holding a copy of the cookie."""
    with httpx.Client(base_url=site.server.url, cookies={"pcmd_session": cookie}) as other:
        return other.get("/submissions")


def _sessions(site: Site, username: str) -> list[WebSession]:
    with transaction(site.server.engine) as s:
        return list(
            s.scalars(
                select(WebSession)
                .join(WebUser, WebUser.id == WebSession.user_id)
                .where(WebUser.username == username)
                .order_by(WebSession.id)
            )
        )


def _set_last_seen(site: Site, when: dt.datetime) -> None:
    with transaction(site.server.engine) as s:
        s.execute(update(WebSession).values(last_seen_at=when))


def test_sessions__signed_out__replayed_cookie_refused(site: Site) -> None:
    with signed_in(site, "hoa.qng") as client:
        cookie = client.cookies["pcmd_session"]
        assert _replay(site, cookie).status_code == 200  # the copy works while signed in
        page = client.get("/submissions")
        client.post("/logout", data={"csrf": csrf_of(page.text)})
    replayed = _replay(site, cookie)
    assert replayed.status_code == 303
    assert replayed.headers["location"].startswith("/login")
    (ended,) = _sessions(site, "hoa.qng")
    assert ended.ended_at is not None
    # only the token's hash is stored, never the token the cookie carries
    assert len(ended.token_hash) == 64
    assert ended.token_hash not in cookie


def test_sessions__idle_longer_than_setting__refused(site: Site) -> None:
    assert site.server.settings.session_idle_hours == 8
    with signed_in(site, "hoa.qng") as client:
        _set_last_seen(site, utcnow() - dt.timedelta(hours=7, minutes=59))
        assert client.get("/submissions").status_code == 200  # still within 8 hours …
        (session,) = _sessions(site, "hoa.qng")
        seen = session.last_seen_at.replace(tzinfo=dt.UTC)
        assert utcnow() - seen < dt.timedelta(minutes=1)  # … and the request renewed it
        _set_last_seen(site, utcnow() - dt.timedelta(hours=8, minutes=1))
        idle = client.get("/submissions", follow_redirects=False)
    assert idle.status_code == 303
    assert idle.headers["location"].startswith("/login")


def test_sessions__twelve_hours_after_sign_in__refused_even_if_busy(site: Site) -> None:
    with signed_in(site, "hoa.qng") as client:
        with transaction(site.server.engine) as s:
            s.execute(update(WebSession).values(created_at=utcnow() - dt.timedelta(hours=11)))
        assert client.get("/submissions").status_code == 200
        with transaction(site.server.engine) as s:
            s.execute(
                update(WebSession).values(created_at=utcnow() - dt.timedelta(hours=12, minutes=1))
            )
        late = client.get("/submissions", follow_redirects=False)
    assert late.status_code == 303
    assert late.headers["location"].startswith("/login")


def test_sessions__last_seen_written_at_most_once_a_minute(site: Site) -> None:
    with signed_in(site, "hoa.qng") as client:
        before = utcnow() - dt.timedelta(seconds=30)
        _set_last_seen(site, before)
        for _ in range(3):
            assert client.get("/submissions").status_code == 200
        (session,) = _sessions(site, "hoa.qng")
        assert session.last_seen_at.replace(tzinfo=dt.UTC) == before
        _set_last_seen(site, utcnow() - dt.timedelta(seconds=61))
        assert client.get("/submissions").status_code == 200
        (session,) = _sessions(site, "hoa.qng")
        assert utcnow() - session.last_seen_at.replace(tzinfo=dt.UTC) < dt.timedelta(seconds=30)


def test_sessions__password_changed_with_cli__every_session_ends(site: Site) -> None:
    settings = site.server.settings
    env = {
        "PCMD_DATABASE_URL": settings.database_url,
        "PCMD_DATA_DIR": str(settings.data_dir),
        "NEW_PW": NEW_PASSWORD,
    }
    with signed_in(site, "hoa.qng") as laptop, signed_in(site, "hoa.qng") as phone:
        changed = pcmd("user", "password", "hoa.qng", "--password-env", "NEW_PW", env=env)
        assert changed.returncode == 0, changed.stderr
        assert "2 session(s) ended" in changed.stdout
        for client in (laptop, phone):
            refused = client.get("/submissions", follow_redirects=False)
            assert refused.status_code == 303
    assert all(s.ended_at is not None for s in _sessions(site, "hoa.qng"))
    with httpx.Client(base_url=site.server.url) as client:
        page = client.get("/login")
        old = client.post(
            "/login",
            data={"csrf": csrf_of(page.text), "username": "hoa.qng", "password": PASSWORD},
        )
        new = client.post(
            "/login",
            data={"csrf": csrf_of(page.text), "username": "hoa.qng", "password": NEW_PASSWORD},
        )
    assert old.status_code == 401
    assert new.status_code == 303


def test_sessions__token_hash__sha256_hex() -> None:
    # sha256("abc"), from FIPS 180-2 appendix B.1
    assert token_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_sessions__user_disabled__refused_within_a_second_in_every_process(site: Site) -> None:
    settings = site.server.settings
    env = {"PCMD_DATABASE_URL": settings.database_url, "PCMD_DATA_DIR": str(settings.data_dir)}
    with (
        pcmd_serve(
            {**env, "PCMD_SCHEDULER": "false", "PCMD_LOG_LEVEL": "WARNING"},
            settings.data_dir.parent / "serve.log",
            workers=2,
        ) as other_url,
        signed_in(site, "hoa.qng") as here,
        signed_in(replace(site, server=replace(site.server, url=other_url)), "hoa.qng") as there,
    ):
        for _ in range(4):  # both worker processes of the other server answer
            assert there.get("/submissions").status_code == 200
        disabled = pcmd("user", "disable", "hoa.qng", env=env)
        assert disabled.returncode == 0, disabled.stderr
        done = time.monotonic()
        answers = [
            client.get("/submissions", follow_redirects=False)
            for client in (here, there, there, there, there, here)
        ]
        elapsed = time.monotonic() - done
    assert [a.status_code for a in answers] == [303] * 6
    assert all(a.headers["location"].startswith("/login") for a in answers)
    assert elapsed < 1.0
    sessions = _sessions(site, "hoa.qng")
    assert len(sessions) == 2
    assert all(s.ended_at is not None for s in sessions)
    with httpx.Client(base_url=site.server.url) as client:
        page = client.get("/login")
        again = client.post(
            "/login", data={"csrf": csrf_of(page.text), "username": "hoa.qng", "password": PASSWORD}
        )
    assert again.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in again.text
