"""The one engine factory and the ways to open a transaction, built from settings (never at
import time): `transaction` (an ORM session), `write_connection` (Core, for bulk writes) and
`with_retry` (a write that is retried when concurrency makes it fail)."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from pcmd.errors import DatabaseError
from pcmd.settings import Settings

# Seconds a SQLite writer waits for the lock before "database is locked"; writers also retry.
SQLITE_BUSY_TIMEOUT_S = 30
WRITE_OPTION = "pcmd_write"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own would be DEFERRED).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    # NORMAL is durable in WAL mode except for the last commits on power loss; the phone keeps
    # the instance until it gets a 201, so a lost commit is resent, never lost.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    # A writer takes the write lock up front (IMMEDIATE): a DEFERRED transaction that later
    # upgrades to write fails at once with SQLITE_BUSY instead of waiting on busy_timeout.
    write = conn.get_execution_options().get(WRITE_OPTION)
    # Straight to the driver: this runs for every transaction, and needs no SQLAlchemy events.
    conn.connection.dbapi_connection.execute(  # type: ignore[union-attr]
        "BEGIN IMMEDIATE" if write else "BEGIN DEFERRED"
    )


def make_engine(database_url: str) -> Engine:
    """An engine for `database_url`; for SQLite the folder is created and WAL is switched on."""
    try:
        if database_url.startswith("sqlite"):
            path = database_url.split(":///", 1)[1] if ":///" in database_url else ""
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(database_url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
            return engine
        return create_engine(database_url, pool_pre_ping=True)
    except (ArgumentError, ImportError, OSError) as exc:
        raise DatabaseError(
            f"Không mở được cơ sở dữ liệu {database_url!r} (cannot open database): {exc}. "
            "Fix: check PCMD_DATABASE_URL, e.g. sqlite:///var/pcmd.db or "
            "postgresql+psycopg://user@127.0.0.1:5432/pcmd."
        ) from exc


class WriterLock:
    """One writer at a time on a SQLite file: a thread lock, then an flock across processes."""

    def __init__(self, path: Path) -> None:
        self.thread_lock = threading.Lock()
        self.path = path
        self.fd: int | None = None

    def __enter__(self) -> None:
        self.thread_lock.acquire()
        try:
            if self.fd is None:
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except BaseException:
            self.thread_lock.release()
            raise

    def __exit__(self, *_exc: object) -> None:
        try:
            if self.fd is not None:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            self.thread_lock.release()


_WRITER_LOCKS: dict[str, WriterLock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()


def _writer_lock(engine: Engine) -> WriterLock | None:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    path = str(Path(database).resolve()) + ".writelock"
    with _WRITER_LOCKS_GUARD:
        if path not in _WRITER_LOCKS:
            _WRITER_LOCKS[path] = WriterLock(Path(path))
        return _WRITER_LOCKS[path]


def engine_from_settings(settings: Settings) -> Engine:
    return make_engine(settings.database_url)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error.

    `write=True` marks a transaction that will write: on SQLite it begins IMMEDIATE, so
    concurrent writers queue on the lock instead of failing.
    """
    bind = engine.execution_options(**{WRITE_OPTION: True}) if write else engine
    with Session(bind, expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """A Core connection in a write transaction (IMMEDIATE on SQLite), committed on success.

    On SQLite, writers of this process first queue on a lock of their own, and across processes
    on an advisory file lock next to the database: they wake as soon as the writer before them
    commits, instead of polling SQLite's busy handler in growing sleeps.
    """
    lock = _writer_lock(engine)
    writer = _writer_engine(engine)
    if lock is None:
        with writer.begin() as conn:
            yield conn
        return
    with lock, writer.begin() as conn:
        yield conn


def _writer_engine(engine: Engine) -> Engine:
    """The engine with the write option set, made once per engine (it is a cheap view)."""
    writer: Engine | None = engine.__dict__.get("_pcmd_writer")
    if writer is None:
        writer = engine.execution_options(**{WRITE_OPTION: True})
        engine.__dict__["_pcmd_writer"] = writer
    return writer


T = TypeVar("T")


def with_retry(engine: Engine, work: Callable[[Connection], T], *, attempts: int = 8) -> T:
    """Run `work` in a write transaction, retrying what concurrency causes.

    A unique-key race (two copies of one new submission arriving at once) is retried, and the
    second copy then finds the first. SQLite "database is locked" past busy_timeout is retried
    with backoff rather than returned as a 500.
    """
    delay = 0.01
    for attempt in range(1, attempts + 1):
        try:
            with write_connection(engine) as conn:
                return work(conn)
        except IntegrityError:
            if attempt == attempts:
                raise
        except OperationalError as exc:
            if "locked" not in str(exc.orig).lower() and "busy" not in str(exc.orig).lower():
                raise
            if attempt == attempts:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
    raise AssertionError("unreachable")
