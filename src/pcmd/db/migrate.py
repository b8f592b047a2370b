"""Create or upgrade the schema with Alembic (what `pcmd init` runs)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from pcmd.errors import DatabaseError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None
    return head


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to the newest revision; returns (before, after). Safe to run twice."""
    try:
        before = current_revision(engine)
        command.upgrade(alembic_config(engine), "head")
        return before, head_revision()
    except SQLAlchemyError as exc:
        raise DatabaseError(
            "Không cập nhật được cấu trúc cơ sở dữ liệu (migration failed): "
            f"{exc.__class__.__name__}: "
            f"{exc.orig if hasattr(exc, 'orig') else exc}. Fix: check that the database "
            f"{engine.url.render_as_string(hide_password=True)} is reachable and writable."
        ) from exc
