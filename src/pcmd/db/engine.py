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
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    OperationalError,
)
from sqlalchemy.orm import Session, sessionmaker

from pcmd.errors import DatabaseError, StorageError
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
    # FULL: a commit is on disk (the WAL synced) before it returns. ODK Collect deletes its
    # copy of a submission once it hears 201, so the commit before that answer must survive a
    # power cut; NORMAL could lose the last commits.
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
    cur.close()


def _postgres_settings(dbapi_conn: Any, _record: Any) -> None:
    # A commit returns once it is on disk, whatever the server's default says: the 201 that
    # follows makes the phone delete its copy.
    with dbapi_conn.cursor() as cur:
        cur.execute("SET synchronous_commit TO on")
    dbapi_conn.commit()


# A pooled PostgreSQL connection idle longer than this is checked before use (a server restart
# or a firewall may have dropped it); one used more recently is not: the check is a round trip,
# and on the ingest path it cost as much as a statement. A connection that died within the
# window fails its one request, and SQLAlchemy then replaces every pooled connection.
IDLE_CHECK_SECONDS = 10.0
_IDLE_SINCE = "pcmd_idle_since"


def _returned(_dbapi_conn: Any, record: Any) -> None:
    record.info[_IDLE_SINCE] = time.monotonic()


def _check_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
    since = record.info.get(_IDLE_SINCE)
    if since is None or time.monotonic() - since < IDLE_CHECK_SECONDS:
        return
    try:
        with dbapi_conn.cursor() as cur:
            cur.execute("SELECT 1")
        dbapi_conn.rollback()
    except Exception as exc:  # the pool discards it and connects afresh
        raise DisconnectionError(f"idle connection lost: {exc}") from exc


def _private_file(path: Path) -> None:
    """The database file made for pcmd's user only (0600), as its folder is (0700): it holds
    personal data. SQLite gives its -wal and -shm files the database file's mode."""
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


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
                Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            engine = create_engine(database_url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
            if path and path != ":memory:":
                file = Path(path)
                # made 0600 on first connect (not here: building an engine does no I/O)
                event.listen(engine, "do_connect", lambda *_a: _private_file(file))
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
            return engine
        engine = create_engine(database_url)
        event.listen(engine, "connect", _postgres_settings)
        event.listen(engine, "checkin", _returned)
        event.listen(engine, "checkout", _check_if_idle)
        return engine
    except (ArgumentError, ImportError, OSError) as exc:
        raise DatabaseError(
            f"Không mở được cơ sở dữ liệu {database_url!r} (cannot open database): {exc}. "
            "Fix: check PCMD_DATABASE_URL, e.g. sqlite:///var/pcmd.db or "
            "postgresql+psycopg://user@127.0.0.1:5432/pcmd."
        ) from exc


class WriterLock:
    """One writer at a time on a SQLite file: a thread lock, then an flock across processes.

    Re-entrant in the thread that holds it: the group committer holds it while it gathers a
    group and writes it (write_connection inside takes it again)."""

    def __init__(self, path: Path) -> None:
        self.thread_lock = threading.RLock()
        self.path = path
        self.fd: int | None = None
        self.depth = 0  # only the holding thread reads or changes it

    def __enter__(self) -> None:
        self.thread_lock.acquire()
        if self.depth:
            self.depth += 1
            return
        try:
            if self.fd is None:
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except BaseException:
            self.thread_lock.release()
            raise
        self.depth = 1

    def __exit__(self, *_exc: object) -> None:
        try:
            self.depth -= 1
            if self.depth == 0 and self.fd is not None:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            self.thread_lock.release()


_WRITER_LOCKS: dict[str, WriterLock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()


def writer_lock(engine: Engine) -> WriterLock | None:
    """The lock a SQLite file's writers queue on (None: PostgreSQL, or SQLite in memory)."""
    return _writer_lock(engine)


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
    writer = writer_engine(engine)
    if lock is None:
        with writer.begin() as conn:
            yield conn
        return
    with lock, writer.begin() as conn:
        yield conn


def writer_engine(engine: Engine) -> Engine:
    """The engine whose transactions write (IMMEDIATE on SQLite), made once per engine."""
    return _view(engine, "_pcmd_writer", **{WRITE_OPTION: True})


def autocommit_engine(engine: Engine) -> Engine:
    """The engine whose connections run each statement as its own transaction, made once per
    engine."""
    return _view(engine, "_pcmd_autocommit", isolation_level="AUTOCOMMIT")


def _view(engine: Engine, name: str, **options: Any) -> Engine:
    # an engine with other execution options is a cheap view of it, kept on it by name
    view: Engine | None = engine.__dict__.get(name)
    if view is None:
        view = engine.execution_options(**options)
        engine.__dict__[name] = view
    return view


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
            if storage_failure(exc):
                raise disk_full_error(exc) from exc
            if "locked" not in str(exc.orig).lower() and "busy" not in str(exc.orig).lower():
                raise
            if attempt == attempts:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
    raise AssertionError("unreachable")


# SQLite's messages for SQLITE_FULL and SQLITE_IOERR; PostgreSQL's SQLSTATE class 53
# (insufficient resources: disk full, out of memory) and 58030 (I/O error).
_STORAGE_MESSAGES = ("database or disk is full", "disk i/o error")


def storage_failure(exc: DBAPIError) -> bool:
    """Whether a database error means the disk is full or failing (not the request's fault)."""
    code = getattr(exc.orig, "sqlstate", None)
    if isinstance(code, str) and (code.startswith("53") or code == "58030"):
        return True
    return any(m in str(exc.orig).lower() for m in _STORAGE_MESSAGES)


def disk_full_error(exc: BaseException) -> StorageError:
    return StorageError(
        "Máy chủ hết chỗ lưu hoặc lỗi ổ đĩa, chưa lưu gì; hãy gửi lại sau (the server's disk is "
        f"full or failing; nothing was stored, send again later): {exc.__class__.__name__}."
    )
