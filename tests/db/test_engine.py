"""The PostgreSQL engine checks a pooled connection only after it has been idle: a dropped
idle connection is replaced without an error, and a recently used one is not checked (a
round trip saved on every request), so if it died, that one use fails and the pool recovers."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from pcmd.db import engine as engine_module
from pcmd.db.engine import make_engine

pytestmark = pytest.mark.skipif(
    not os.environ.get("PCMD_TEST_DATABASE_URL"), reason="PostgreSQL only"
)


@pytest.fixture
def pg() -> Iterator[Engine]:
    eng = make_engine(os.environ["PCMD_TEST_DATABASE_URL"])
    yield eng
    eng.dispose()


def _backend(eng: Engine) -> int:
    with eng.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(pid: int) -> None:
    admin = create_engine(os.environ["PCMD_TEST_DATABASE_URL"], isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
    admin.dispose()


def test_engine__idle_connection_dropped_by_server_is_replaced(
    pg: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend(pg)
    _terminate(first)
    monkeypatch.setattr(engine_module, "IDLE_CHECK_SECONDS", 0.0)  # it has been idle "long"
    second = _backend(pg)  # no error: the check found it dead and the pool connected again
    assert second != first


def test_engine__recent_connection_not_checked_one_use_fails_then_recovers(
    pg: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend(pg)
    _terminate(first)
    monkeypatch.setattr(engine_module, "IDLE_CHECK_SECONDS", 3600.0)  # used "just now"
    with pytest.raises(OperationalError):  # not checked: the dead connection is used
        _backend(pg)
    assert _backend(pg) != first  # SQLAlchemy saw the disconnect and replaced it
