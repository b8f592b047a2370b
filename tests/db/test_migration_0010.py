"""Migration 0010 on a database whose case list versions counted dropped steps at reading: each
case's stored version takes in its steps rejected or deleted so far (in its commune), so no
phone sees a version go down at the upgrade — SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, select, text

from pcmd.db.engine import make_engine
from pcmd.db.migrate import alembic_config, upgrade
from pcmd.db.tables import CASES as CASE_TABLE
from pcmd.settings import Settings

# submission id, instance id, review state, deleted
SUBMISSIONS = [
    (1, "uuid:case-a", "received", False),  # case A
    (2, "uuid:step-a1", "rejected", False),  # dropped
    (3, "uuid:step-a2", "received", True),  # dropped (deleted)
    (4, "uuid:step-a3", "approved", False),  # counts
    (5, "uuid:step-a4", "rejected", False),  # by A's phone id (alias): dropped
    (6, "uuid:step-a5", "rejected", False),  # another commune's: never A's step
    (7, "uuid:case-b", "received", False),  # case B: no step
]
CASES = [  # id, submission, entity id, alias, commune, version
    (1, 1, "case-a", "phone-a", "21025", 4),
    (2, 7, "case-b", None, "21025", 1),
]
STEPS = [  # submission, entity ref, commune
    (2, "case-a", "21025"),
    (3, "case-a", "21025"),
    (4, "case-a", "21025"),
    (5, "phone-a", "21025"),
    (6, "case-a", "21028"),
]


def versions(engine: Engine) -> dict[str, object]:
    with engine.connect() as conn:
        rows = conn.execute(select(CASE_TABLE.c.entity_id, CASE_TABLE.c.version)).all()
    return {str(entity): version for entity, version in rows}


def test_migration_0010__dropped_steps_folded_into_case_versions(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    command.upgrade(alembic_config(engine), "0009")
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO projects (id, name, created_at) VALUES (1, 'p', '2026-01-01')")
        )
        conn.execute(
            text(
                "INSERT INTO forms (id, project_id, form_id, title, state, created_at) "
                "VALUES (1, 1, 'pcmd_case', 'c', 'open', '2026-01-01')"
            )
        )
        for sid, iid, state, deleted in SUBMISSIONS:
            conn.execute(
                text(
                    "INSERT INTO submissions (id, instance_id, form_pk, source, review_state, "
                    "deleted, submitted_at, updated_at) VALUES (:i, :n, 1, 'openrosa', :s, :d, "
                    "'2026-11-01', '2026-11-01')"
                ),
                {"i": sid, "n": iid, "s": state, "d": deleted},
            )
        for cid, sid, entity, alias, commune, version in CASES:
            conn.execute(
                text(
                    "INSERT INTO case_entities (id, submission_id, entity_id, alias, commune_code,"
                    " label, version, updated_at) VALUES (:i, :s, :e, :a, :c, 'x', :v, "
                    "'2026-11-01')"
                ),
                {"i": cid, "s": sid, "e": entity, "a": alias, "c": commune, "v": version},
            )
        for seq, (sid, ref, commune) in enumerate(STEPS, start=1):
            conn.execute(
                text(
                    "INSERT INTO case_steps (submission_id, entity_ref, commune_code, seq) "
                    "VALUES (:s, :r, :c, :q)"
                ),
                {"s": sid, "r": ref, "c": commune, "q": seq},
            )
    upgrade(engine)
    # A: 4 + three dropped steps (a rejected, a deleted, one by its phone id); B: unchanged
    assert versions(engine) == {"case-a": 7, "case-b": 1}
    command.downgrade(alembic_config(engine), "0009")
    assert versions(engine) == {"case-a": 4, "case-b": 1}
    engine.dispose()
