"""Shared fixtures: a clean environment, and a fresh database per test on SQLite and, when
PCMD_TEST_DATABASE_URL is set, on PostgreSQL too (each test gets its own schema there)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from pcmd.db.engine import make_engine
from pcmd.db.migrate import upgrade
from pcmd.settings import Settings, load_settings

PG_URL = os.environ.get("PCMD_TEST_DATABASE_URL", "")

# Fakes of KoboToolbox and ODK Central and their fixtures, for sync, CLI and ingest tests.
pytest_plugins = ["tests.sync.fixtures"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_url" in metafunc.fixturenames:
        kinds = ["sqlite"] + (["postgresql"] if PG_URL else [])
        metafunc.parametrize("database_url", kinds, indirect=True)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No PCMD_* setting or pcmd.toml of the developer's leaks into a test."""
    for name in list(os.environ):
        if name.startswith("PCMD_") and name != "PCMD_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@contextlib.contextmanager
def _pg_schema() -> Iterator[str]:
    """A URL of the test PostgreSQL server pointing at a new schema, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'var' / 'pcmd.db'}"
        return
    with _pg_schema() as url:
        yield url


@pytest.fixture
def reference_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A second, empty database of the same kind as the test's."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'reference' / 'pcmd.db'}"
        return
    with _pg_schema() as url:
        yield url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # No scheduler threads in tests: the tests that want one start it themselves.
    return load_settings(
        {"database_url": database_url, "data_dir": str(tmp_path / "var"), "scheduler": False},
        environ={},
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """A migrated, empty database."""
    eng = make_engine(settings.database_url)
    upgrade(eng)
    yield eng
    eng.dispose()
