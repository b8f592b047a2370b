"""Alembic environment: pcmd passes its engine in, so nothing is read from alembic.ini."""

from __future__ import annotations

from alembic import context

from pcmd.db.tables import METADATA

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=METADATA,
        render_as_batch=connection.dialect.name == "sqlite",  # ALTER TABLE support on SQLite
        compare_type=True,
    )
    context.run_migrations()
