"""`write_connection(durable=False)`: committed (or rolled back) as any write, without waiting
for the disk in that transaction only — the connection goes back to the pool with the durable
setting (SQLite synchronous=FULL, PostgreSQL synchronous_commit on)."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, Engine, func, select

from pcmd.db.engine import write_connection
from pcmd.db.models import utcnow
from pcmd.db.tables import STATE


def setting(conn: Connection) -> str:
    if conn.dialect.name == "sqlite":
        level = int(conn.exec_driver_sql("PRAGMA synchronous").scalar_one())
        return {0: "off", 1: "normal", 2: "full"}[level]
    return str(conn.exec_driver_sql("SHOW synchronous_commit").scalar())


def durable(engine: Engine) -> str:
    return "full" if engine.dialect.name == "sqlite" else "on"


def rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(STATE)).scalar_one())


def test_write_connection__not_durable__committed_setting_put_back(engine: Engine) -> None:
    with write_connection(engine, durable=False) as conn:
        assert setting(conn) == ("normal" if engine.dialect.name == "sqlite" else "off")
        conn.execute(STATE.insert().values(source="x", cursor={}, updated_at=utcnow()))
    assert rows(engine) == 1
    with engine.connect() as conn:
        assert setting(conn) == durable(engine)
    with write_connection(engine) as conn:
        assert setting(conn) == durable(engine)


def test_write_connection__not_durable__failure_rolled_back(engine: Engine) -> None:
    def fail() -> None:
        with write_connection(engine, durable=False) as conn:
            conn.execute(STATE.insert().values(source="x", cursor={}, updated_at=utcnow()))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail()
    assert rows(engine) == 0
    with engine.connect() as conn:
        assert setting(conn) == durable(engine)
