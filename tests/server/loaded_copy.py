# ruff: noqa: S608 - the table and column names come from the database's own catalogue
"""The org units and shipped forms of `load_forms`, loaded once per process and database kind
and copied row for row into each test's empty database: the real import and registration run
in tests/masterdata and tests/forms, and once here, instead of before every server test (they
cost more than most tests themselves).

The copy is taken only when the test's database is at the newest revision and holds no row yet
in any table the loading fills; otherwise the caller loads for real."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, MetaData, text

from pcmd.db.engine import make_engine
from pcmd.db.migrate import head_revision, upgrade


@dataclass(frozen=True)
class _Template:
    where: str  # the attached SQLite file, or the PostgreSQL schema
    tables: tuple[tuple[str, tuple[str, ...]], ...]  # the filled tables: their columns
    serials: tuple[tuple[str, str], ...]  # PostgreSQL: (table, column) fed by a sequence


_TEMPLATES: dict[str, _Template] = {}


def _key(engine: Engine, load: Callable[[Engine], None]) -> str:
    """One template per loading function and database (kind, server and database name)."""
    what = f"{load.__module__}.{load.__qualname__}"
    if engine.dialect.name == "sqlite":
        return f"{what}:sqlite"
    return f"{what}:postgresql:{engine.url.host}:{engine.url.port}:{engine.url.database}"


def _filled(conn: Connection) -> tuple[tuple[str, tuple[str, ...]], ...]:
    meta = MetaData()
    meta.reflect(conn)
    found = []
    # any order: the copy checks foreign keys once at the end (forms and their current
    # versions point at each other)
    for table in sorted(meta.tables.values(), key=lambda t: t.name):
        if table.name == "alembic_version":
            continue
        if conn.execute(text(f'SELECT 1 FROM "{table.name}" LIMIT 1')).first() is not None:
            found.append((table.name, tuple(c.name for c in table.columns)))
    return tuple(found)


def _sqlite_template(load: Callable[[Engine], None]) -> _Template:
    folder = Path(tempfile.mkdtemp(prefix="pcmd-loaded-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "loaded.db"
    eng = make_engine(f"sqlite:///{path}")
    try:
        upgrade(eng)
        load(eng)
        with eng.connect() as conn:
            tables = _filled(conn)
    finally:
        eng.dispose()
    return _Template(str(path), tables, ())


def _pg_template(engine: Engine, load: Callable[[Engine], None]) -> _Template:
    schema = f"loaded_{uuid.uuid4().hex[:12]}"
    admin = make_engine(engine.url.set(query={}).render_as_string(hide_password=False))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        try:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        except Exception:  # noqa: S110 - an xdist worker's database is gone already
            pass
        admin.dispose()

    atexit.register(drop)
    url = engine.url.set(query={"options": f"-csearch_path={schema}"})
    eng = make_engine(url.render_as_string(hide_password=False))
    try:
        upgrade(eng)
        load(eng)
        with eng.connect() as conn:
            tables = _filled(conn)
            serials = tuple(
                (r.table_name, r.column_name)
                for r in conn.execute(
                    text(
                        "SELECT table_name, column_name FROM information_schema.columns "
                        "WHERE table_schema = :s "
                        "AND (column_default LIKE 'nextval(%' OR is_identity = 'YES')"
                    ),
                    {"s": schema},
                )
                if r.table_name in {name for name, _ in tables}
            )
    finally:
        eng.dispose()
    return _Template(schema, tables, serials)


def _fresh(conn: Connection, template: _Template) -> bool:
    version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if version != head_revision():
        return False
    return all(
        conn.execute(text(f'SELECT 1 FROM "{name}" LIMIT 1')).first() is None
        for name, _ in template.tables
    )


def copy_loaded(engine: Engine, load: Callable[[Engine], None]) -> bool:
    """Copy what `load` puts into an empty database into `engine`'s; False (nothing done) when
    that database is not empty or not at the newest revision."""
    if engine.dialect.name not in ("sqlite", "postgresql"):
        return False
    key = _key(engine, load)
    if key not in _TEMPLATES:
        _TEMPLATES[key] = (
            _sqlite_template(load)
            if engine.dialect.name == "sqlite"
            else _pg_template(engine, load)
        )
    template = _TEMPLATES[key]
    with engine.connect() as conn:
        if not _fresh(conn, template):
            return False
    inserts = [
        f'INSERT INTO "{name}" ({cols}){over} SELECT {cols} FROM {{source}}."{name}"'
        for name, columns in template.tables
        for cols in [", ".join(f'"{c}"' for c in columns)]
        for over in ["" if engine.dialect.name == "sqlite" else " OVERRIDING SYSTEM VALUE"]
    ]
    if engine.dialect.name == "sqlite":
        _copy_sqlite(engine, template, inserts)
        return True
    with engine.begin() as conn:
        # foreign keys unchecked while copying a consistent database (test server: superuser)
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for insert in inserts:
            conn.execute(text(insert.format(source=f'"{template.where}"')))
        for name, column in template.serials:
            conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence(:t, :c), "
                    f'(SELECT max("{column}") FROM "{name}"))'
                ),
                {"t": name, "c": column},
            )
    return True


def _copy_sqlite(engine: Engine, template: _Template, inserts: list[str]) -> None:
    # ATTACH and DETACH want no open transaction: straight to the driver (autocommit mode)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("ATTACH DATABASE ? AS loaded", (template.where,))
        try:
            cur.execute("BEGIN IMMEDIATE")
            cur.execute("PRAGMA defer_foreign_keys = ON")  # checked at COMMIT
            for insert in inserts:
                cur.execute(insert.format(source="loaded"))
            cur.execute("COMMIT")
        finally:
            cur.execute("DETACH DATABASE loaded")
            cur.close()
    finally:
        raw.close()
