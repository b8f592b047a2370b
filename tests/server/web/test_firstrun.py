"""The first run over real HTTP: a fresh installation with no web user sends `/` to the
first-run page, where the one-time code from the server's log creates the first administrator."""

from __future__ import annotations

import re
import time
import unicodedata

import httpx
import pytest
from sqlalchemy import Engine, func, select

from pcmd.db.engine import transaction
from pcmd.db.models import AuditLog, SyncState, WebUser, WebUserScope
from pcmd.masterdata.orgunits import load_shipped
from pcmd.server.accounts import SETUP_CODE_PREFIX, create_user
from pcmd.server.firstrun import AlreadySetUp, create_first_admin, issue_code
from pcmd.server.signin import THROTTLE_ADDRESS_FAILURES, LoginThrottled
from pcmd.settings import Settings
from tests.serve_process import pcmd_serve
from tests.server.collect import running_server
from tests.server.web.conftest import csrf_of

PASSWORD = "mật-khẩu-đủ-dài-2026"
LOGGER = "pcmd.server.web.firstrun"


@pytest.fixture
def units(engine: Engine) -> Engine:
    with transaction(engine) as s:
        load_shipped(s)
    return engine


def code_in(log: str) -> str:
    found = re.findall(r"Mã cài đặt \(set-up code\), dùng một lần: ([A-Z0-9-]+)", log)
    assert len(found) == 1, log
    return str(found[0])


def submit(
    client: httpx.Client, code: str, username: str = "quan.tri", **extra: str
) -> httpx.Response:
    page = client.get("/first-run")
    data = {
        "csrf": csrf_of(page.text),
        "code": code,
        "username": username,
        "password": PASSWORD,
        "password2": PASSWORD,
        **extra,
    }
    return client.post("/first-run", data=data)


def test_first_run__fresh_install__code_from_log_makes_the_admin_once(
    settings: Settings, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("WARNING", logger=LOGGER)
    with running_server(settings, engine) as server:
        code = code_in(caplog.text)
        with httpx.Client(base_url=server.url, follow_redirects=True, timeout=30) as client:
            home = client.get("/")
            assert home.url.path == "/first-run"
            assert "mã cài đặt" in home.text.lower()
            assert not re.search(r"pcmd (user|init|serve)", home.text)  # no command to run
            assert client.get("/login").url.path == "/first-run"  # no login nobody can pass
            wrong = submit(client, "ABCD-EFGH-JKMN")
            assert wrong.status_code == 401
            assert "Mã cài đặt không đúng" in wrong.text
            done = submit(client, code.lower().replace("-", " "))  # as a phone may type it
            assert done.status_code == 200
            assert done.url.path == "/dashboard"
            assert "quan.tri" in done.text
            assert 'href="/setup"' in done.text  # an administrator
        with httpx.Client(base_url=server.url, follow_redirects=True, timeout=30) as other:
            again = submit(other, code, username="ke.khac")
            assert again.url.path == "/login"  # set up already: the code opens nothing
            assert 'name="password"' in again.text
            assert other.get("/").url.path == "/login"
            # the administrator signs in from a phone whose keyboard sends decomposed letters
            page = other.get("/login")
            typed = unicodedata.normalize("NFD", PASSWORD)
            form = {"csrf": csrf_of(page.text), "username": "quan.tri", "password": typed}
            assert other.post("/login", data=form).url.path == "/dashboard"
    with transaction(engine) as s:
        users = list(s.scalars(select(WebUser.username)))
        admin = s.scalar(select(WebUser).where(WebUser.username == "quan.tri"))
        assert admin is not None
        scope = list(
            s.scalars(select(WebUserScope.org_code).where(WebUserScope.user_id == admin.id))
        )
        codes = list(
            s.scalars(
                select(SyncState.source).where(SyncState.source.startswith(SETUP_CODE_PREFIX))
            )
        )
    assert users == ["quan.tri"]
    assert (admin.role, scope) == ("national_admin", ["VN"])
    assert codes == []


def test_first_run__serve_with_two_workers__one_code_printed_and_it_works(
    settings: Settings, units: Engine
) -> None:
    log = settings.data_dir.parent / "serve.log"
    env = {
        "PCMD_DATABASE_URL": settings.database_url,
        "PCMD_DATA_DIR": str(settings.data_dir),
        "PCMD_SCHEDULER": "false",
        "PCMD_LOG_LEVEL": "INFO",
    }
    with pcmd_serve(env, log, workers=2) as url:
        deadline = time.monotonic() + 60  # both workers through their start, not only one
        while log.read_text().count("Application startup complete") < 2:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        code = code_in(log.read_text())  # exactly one, though two processes serve
        with httpx.Client(base_url=url, follow_redirects=True, timeout=30) as client:
            for _ in range(4):  # whichever worker answers, the page asks for that code
                assert client.get("/").url.path == "/first-run"
            assert submit(client, code).url.path == "/dashboard"
    with transaction(units) as s:
        users = list(s.scalars(select(WebUser.username)))
        issued = s.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "setup.code")
        )
    assert users == ["quan.tri"]
    assert issued == 1


def test_first_run__refused_password__code_still_works(
    settings: Settings, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("WARNING", logger=LOGGER)
    with running_server(settings, engine) as server:
        code = code_in(caplog.text)
        with httpx.Client(base_url=server.url, follow_redirects=True, timeout=30) as client:
            short = submit(client, code, password="ngan", password2="ngan")
            assert short.status_code == 400
            assert "ít nhất 10 ký tự" in short.text
            mismatch = submit(client, code, password2=PASSWORD + "x")
            assert mismatch.status_code == 400
            assert submit(client, code).url.path == "/dashboard"


def test_first_run__code__kept_only_hashed(engine: Engine) -> None:
    with transaction(engine) as s:
        code = issue_code(s)
    assert code is not None
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    with transaction(engine) as s:
        stored = [(r.source, str(r.cursor)) for r in s.scalars(select(SyncState))]
        audit = [str((a.target, a.details)) for a in s.scalars(select(AuditLog))]
    bare = code.replace("-", "")
    assert len(stored) == 1
    assert all(bare not in text and code not in text for row in stored for text in row)
    assert all(bare not in text for text in audit)


def test_first_run__any_user_created__every_code_expires(units: Engine) -> None:
    with transaction(units) as s:
        first, second = issue_code(s), issue_code(s)  # e.g. two server processes
    assert first is not None
    assert second is not None
    assert first != second
    with transaction(units) as s:
        create_user(s, "hoa.qng", PASSWORD, "province_reviewer", ["51"])
    with pytest.raises(AlreadySetUp), transaction(units) as s:
        create_first_admin(s, first, "quan.tri", PASSWORD)
    with transaction(units) as s:
        assert issue_code(s) is None
        assert list(s.scalars(select(SyncState))) == []


def test_first_run__two_codes__one_admin(units: Engine) -> None:
    with transaction(units) as s:
        first, second = issue_code(s), issue_code(s)
    assert first is not None
    assert second is not None
    with transaction(units) as s:
        assert create_first_admin(s, second, "quan.tri", PASSWORD) is not None
    with pytest.raises(AlreadySetUp), transaction(units) as s:
        create_first_admin(s, first, "ke.khac", PASSWORD)


def test_first_run__wrong_codes_from_one_address__throttled(units: Engine) -> None:
    with transaction(units) as s:
        code = issue_code(s)
    assert code is not None
    for _ in range(THROTTLE_ADDRESS_FAILURES):
        with transaction(units) as s:
            assert (
                create_first_admin(s, "AAAA-BBBB-CCCC", "x.y", PASSWORD, client="10.0.0.9") is None
            )
    with pytest.raises(LoginThrottled), transaction(units) as s:
        create_first_admin(s, code, "quan.tri", PASSWORD, client="10.0.0.9")
    with transaction(units) as s:  # another address is not held up
        assert create_first_admin(s, code, "quan.tri", PASSWORD, client="10.0.0.7") is not None
