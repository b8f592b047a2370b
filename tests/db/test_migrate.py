"""Migrations: `pcmd init`'s schema step, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from pcmd.db.engine import make_engine
from pcmd.db.migrate import head_revision, upgrade
from pcmd.db.tables import METADATA
from pcmd.settings import Settings


def test_upgrade__twice__same_schema_once(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    assert upgrade(engine) == (None, head_revision())
    assert upgrade(engine) == (head_revision(), head_revision())
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        versions = conn.execute(text("SELECT count(*) FROM alembic_version")).scalar()
    assert set(METADATA.tables) <= tables
    assert versions == 1
    engine.dispose()


def test_migrations__match_models(engine: Engine) -> None:
    """The Alembic history builds exactly the schema the models describe."""
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), METADATA)
    assert diff == []


def test_sqlite__wal_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'new' / 'pcmd.db'}")  # folder is created
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()
