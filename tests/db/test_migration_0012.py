"""Migration 0012 on a database that already holds the pipeline's inputs: each input gets a
counter at the upgrade, and the triggers move it afterwards — SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import select, text, update

from pcmd.db.engine import make_engine
from pcmd.db.migrate import alembic_config, upgrade
from pcmd.db.tables import CHANGES, REF
from pcmd.settings import Settings


def test_migration_0012__existing_inputs_counted_then_moved(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    command.upgrade(alembic_config(engine), "0011")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO reference_values (org_code, year, key, value) VALUES "
                "('51', 2025, 'students', 10), ('51', 2025, 'officials', 20), "
                "('79', 2025, 'students', 30)"
            )
        )
    upgrade(engine)

    def counters() -> dict[str, int]:
        with engine.connect() as conn:
            rows = conn.execute(select(CHANGES.c.name, CHANGES.c.n))
            return {str(r.name): int(r.n) for r in rows}

    before = counters()
    assert set(before) == {"reference:students", "reference:officials"}
    with engine.begin() as conn:
        conn.execute(update(REF).where(REF.c.org_code == "79").values(value=31))
    after = counters()
    assert after["reference:officials"] == before["reference:officials"]
    assert after["reference:students"] > before["reference:students"]
    engine.dispose()
