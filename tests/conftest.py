"""Shared fixtures: a clean environment, and a fresh database per test on SQLite and, when
PCMD_TEST_DATABASE_URL is set, on PostgreSQL too (each test gets its own schema there).

Under pytest-xdist (`make test` runs `-n 2`) each worker has its own PostgreSQL database, made
from the given URL's server at start and dropped at the end, its own temporary folders (xdist's
basetemp/popen-gwN) and servers on ports the OS chooses. Web users' passwords are hashed with
the cheapest argon2 parameters unless a test is marked `full_cost_hashes` (login timing)."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from pcmd.db.engine import make_engine
from pcmd.db.migrate import upgrade
from pcmd.settings import Settings, load_settings
from tests.server.hashes import full_cost_hashes, use_cheap_hashes

# The base URL; under xdist, a worker's own database on the same server (see pytest_configure).
PG_URL = os.environ.get("PCMD_TEST_DATABASE_URL", "")
_WORKER_DB: list[str] = []  # the worker database this process made, dropped at the end

# Fakes of KoboToolbox and ODK Central and their fixtures, for sync, CLI and ingest tests.
pytest_plugins = ["tests.sync.fixtures"]


def _worker_database_url(base: str, worker: str, run_id: str) -> str:
    """The base URL with the database `<base db>_<worker>_<run>`: two runs at once on one
    machine (two engineers, or CI) never share one."""
    url = make_url(base)
    name = f"{url.database or 'test'}_{worker}_{run_id}"
    return url.set(database=name).render_as_string(hide_password=False)


def _admin(url: str) -> Engine:
    return create_engine(url, isolation_level="AUTOCOMMIT")


def pytest_configure(config: pytest.Config) -> None:
    global PG_URL
    config.addinivalue_line(
        "markers", "full_cost_hashes: web users' passwords hashed at argon2's real cost"
    )
    use_cheap_hashes()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not (PG_URL and worker):
        return
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID", uuid.uuid4().hex)[:8]
    url = _worker_database_url(PG_URL, worker, run_id)
    name = make_url(url).database
    admin = _admin(PG_URL)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    _WORKER_DB.append(PG_URL)
    PG_URL = url
    os.environ["PCMD_TEST_DATABASE_URL"] = url  # what subprocesses and fakes read too


def pytest_sessionfinish(session: pytest.Session) -> None:
    # here, not at unconfigure: xdist ends a worker soon after the session has finished, and
    # dropping a database waits for a checkpoint
    if not _WORKER_DB:
        return
    base = _WORKER_DB.pop()
    name = make_url(PG_URL).database
    admin = _admin(base)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files holding a test marked slow run first: with a file per worker, a long file started
    last would keep one worker busy while the other has nothing left to do."""
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)  # stable: each file's order is kept


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


@pytest.fixture(autouse=True)
def _password_cost(request: pytest.FixtureRequest) -> Iterator[None]:
    """argon2 at its real cost for the tests that time a sign-in (made before their users,
    as autouse fixtures come first); everyone else keeps the cheap hashes of the session."""
    if request.node.get_closest_marker("full_cost_hashes"):
        with full_cost_hashes():
            yield
    else:
        yield


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


@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to the newest revision once per process, copied for each test
    (a migration run costs more than the test that needs an empty database)."""
    path = tmp_path_factory.mktemp("migrated") / "pcmd.db"
    eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    eng.dispose()  # the last connection closed: the WAL is checkpointed into the file
    return path


@pytest.fixture
def engine(settings: Settings, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated, empty database."""
    url = settings.database_url
    target = Path(url.split(":///", 1)[1]) if url.startswith("sqlite:///") else None
    if target is not None and not target.exists():
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        shutil.copyfile(request.getfixturevalue("_migrated_sqlite"), target)
        target.chmod(0o600)
        eng = make_engine(url)
    else:
        eng = make_engine(url)
        upgrade(eng)
    yield eng
    eng.dispose()
