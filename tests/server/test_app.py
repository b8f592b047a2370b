"""The app factory and /healthz, served by a real uvicorn."""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import replace

import httpx
from sqlalchemy import Engine

from pcmd.db.engine import make_engine, transaction
from pcmd.db.models import SchedulerLock
from pcmd.server.app import create_app
from pcmd.server.web.quality_ledger import ledger_of
from pcmd.settings import Settings
from tests.live_server import expect_5xx, serve_in_thread


def test_healthz__migrated_database__ok(settings: Settings, engine: Engine) -> None:
    with serve_in_thread(create_app(settings)) as base:
        health = httpx.get(f"{base}/healthz")
        home = httpx.get(f"{base}/", follow_redirects=True)
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert health.json()["database"] == "ok"
    assert health.json()["scheduler"] == "not run by this server"
    assert health.json()["indicators"] == {"updated_at": None, "waiting": 0, "error": None}
    assert home.status_code == 200
    assert home.url.path == "/first-run"  # no web user yet: the first administrator is made
    assert "Cài đặt lần đầu" in home.text


def test_healthz__database_not_initialised__503_says_run_init(settings: Settings) -> None:
    make_engine(settings.database_url).dispose()  # exists but empty
    with serve_in_thread(create_app(settings)) as base:
        expect_5xx(503)
        health = httpx.get(f"{base}/healthz")
    assert health.status_code == 503
    assert health.json()["status"] == "error"
    assert "run pcmd init" in health.json()["database"]


def test_create_app__no_io_until_request(settings: Settings) -> None:
    """Building the app opens no database connection (nothing happens at construction)."""
    app = create_app(settings)
    assert app.state.engine.pool.checkedout() == 0
    assert settings.sqlite_path is None or not settings.sqlite_path.exists()


def test_healthz__free_disk_below_threshold__503_names_it(
    settings: Settings, engine: Engine
) -> None:
    # More free space asked for than any disk has: the check must fail, and say why.
    wanting = replace(settings, healthz_min_free_mb=10**12)
    with serve_in_thread(create_app(wanting)) as base:
        expect_5xx(503)
        health = httpx.get(f"{base}/healthz")
    assert health.status_code == 503
    assert "below 1000000000000 MB" in health.json()["disk"]


def test_healthz__scheduler_heartbeat_three_intervals_old__503(
    settings: Settings, engine: Engine
) -> None:
    # The lease a scheduler renewed 61 s ago (expiring one second later than that + 60 s):
    # more than three 15-second heartbeats have passed without it.
    now = dt.datetime.now(dt.UTC)
    with transaction(engine, write=True) as session:
        session.add(
            SchedulerLock(
                name="scheduler",
                holder="gone:1:abc",
                acquired_at=now - dt.timedelta(hours=1),
                expires_at=now - dt.timedelta(seconds=1),
            )
        )
    with serve_in_thread(create_app(settings)) as base:
        expect_5xx(503)
        stale = httpx.get(f"{base}/healthz")
    assert stale.status_code == 503
    said = re.search(r"last heartbeat (\d+) s ago", stale.json()["scheduler"])
    assert said is not None, stale.json()
    # 61 s when set, plus however long the server took to start and answer (a loaded machine)
    assert 61 <= int(said.group(1)) <= 90
    with transaction(engine, write=True) as session:
        lock = session.get(SchedulerLock, "scheduler")
        assert lock is not None
        lock.expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=55)
    with serve_in_thread(create_app(settings)) as base:
        fresh = httpx.get(f"{base}/healthz")
    assert fresh.status_code == 200
    assert fresh.json()["scheduler"].startswith("heartbeat")


def test_create_app__warm__ledger_read_as_the_server_starts(
    settings: Settings, engine: Engine
) -> None:
    """`pcmd serve` reads the ledger of submissions as it starts, so that no user's first
    dashboard, quality or provinces page pays for it; an app made for tests leaves it alone."""
    cold = create_app(settings)
    with serve_in_thread(cold):
        pass
    assert ledger_of(cold.state.engine).full_reads == 0
    warm = create_app(settings, warm=True)
    with serve_in_thread(warm):
        ledger = ledger_of(warm.state.engine)
        deadline = time.monotonic() + 30
        while ledger.full_reads == 0:  # no request made: the start read it
            assert time.monotonic() < deadline, "the ledger was not read as the server started"
            time.sleep(0.01)
    assert ledger.full_reads == 1
