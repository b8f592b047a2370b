"""The app factory and /healthz, served by a real uvicorn."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine

from pcmd.db.engine import make_engine
from pcmd.server.app import create_app
from pcmd.settings import Settings
from tests.live_server import expect_5xx, serve_in_thread


def test_healthz__migrated_database__ok(settings: Settings, engine: Engine) -> None:
    with serve_in_thread(create_app(settings)) as base:
        health = httpx.get(f"{base}/healthz")
        home = httpx.get(f"{base}/", follow_redirects=True)
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert health.json()["database"] == "ok"
    assert home.status_code == 200
    assert home.url.path == "/login"
    assert "Số liệu phòng, chống mại dâm" in home.text


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
