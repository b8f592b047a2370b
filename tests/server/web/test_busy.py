"""A database held busy longer than a writer's wait (SQLite's write lock, e.g. a long pipeline
run in another process) answers 503 with Retry-After and plain words — never a 500 — and the
same request goes through once the lock is released."""

from __future__ import annotations

import sqlite3

import httpx
import pytest

from pcmd.db import engine as db_engine
from tests.live_server import expect_5xx
from tests.server.web.conftest import PASSWORD, Site, csrf_of


@pytest.fixture
def short_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    # before the server's engine is made: its connections wait 1 s for the lock, not 30
    monkeypatch.setattr(db_engine, "SQLITE_BUSY_TIMEOUT_S", 1)


def test_busy_database__sign_in_while_locked__503_then_works(short_wait: None, site: Site) -> None:
    eng = site.server.engine
    if eng.dialect.name != "sqlite":
        pytest.skip("PostgreSQL has no database-wide write lock")
    holder = sqlite3.connect(str(eng.url.database), isolation_level=None)
    with httpx.Client(base_url=site.server.url, timeout=30) as client:
        form = {"csrf": "", "username": "hoa.qng", "password": PASSWORD, "next": "/"}
        form["csrf"] = csrf_of(client.get("/login").text)
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock past the wait
        try:
            expect_5xx(503)
            busy = client.post("/login", data=form)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert busy.status_code == 503
        assert busy.headers["Retry-After"] == "30"
        assert "Máy chủ đang bận" in busy.text
        assert "Traceback" not in busy.text
        again = client.post("/login", data=form)
        assert again.status_code == 303
