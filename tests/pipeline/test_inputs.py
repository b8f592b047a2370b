"""The pipeline's inputs besides submissions: the counters that migration 0012's triggers move
on every write of the org units, the register, reference data and targets (inputs.fingerprints),
and the runs that follow such a write."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, delete, insert, update

from pcmd.db.tables import EST, ORG, REF, TGT
from pcmd.pipeline.indicators.query import indicator_rows
from pcmd.pipeline.inputs import fingerprints
from pcmd.pipeline.run import run_pipeline
from tests.pipeline.handmade import TODAY, World


def prints(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return fingerprints(conn)


def moved(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    """The inputs whose counter differs: "org_units", "register", "reference:<key>",
    "targets:<indicator>"."""
    out = {k for k in ("org_units", "register") if before[k] != after[k]}
    for kind in ("reference", "targets"):
        keys = set(before[kind]) | set(after[kind])
        out |= {f"{kind}:{k}" for k in keys if before[kind].get(k) != after[kind].get(k)}
    return out


def test_inputs__fingerprints__each_write_moves_its_own_counter(engine: Engine) -> None:
    """Should move, for every insert, update and delete, the counter of what was written and
    no other; an input never written has none."""
    empty = prints(engine)
    assert empty == {"org_units": None, "reference": {}, "targets": {}, "register": None}
    steps: list[tuple[Any, set[str], list[dict[str, Any]] | None]] = [
        (
            insert(ORG).values(
                code="VN", name="Việt Nam", level="country", valid_from=dt.date(2025, 7, 1)
            ),
            {"org_units"},
            None,
        ),
        (update(ORG).values(name="Viet Nam"), {"org_units"}, None),
        (
            insert(REF),
            {"reference:students", "reference:officials"},
            [
                {"org_code": "VN", "year": 2025, "key": "students", "value": 10},
                {"org_code": "VN", "year": 2025, "key": "officials", "value": 20},
            ],
        ),
        (
            update(REF).where(REF.c.key == "students").values(value=11),
            {"reference:students"},
            None,
        ),
        (  # a row moved from one key to another moves both
            update(REF).where(REF.c.key == "officials").values(key="workers"),
            {"reference:officials", "reference:workers"},
            None,
        ),
        (delete(REF).where(REF.c.key == "students"), {"reference:students"}, None),
        (
            insert(TGT).values(indicator="TT1", org_code="VN", period="2025", target=50),
            {"targets:TT1"},
            None,
        ),
        (update(TGT).values(target=40), {"targets:TT1"}, None),
        (delete(TGT), {"targets:TT1"}, None),
        (
            insert(EST).values(
                id="E1",
                name="x",
                type="karaoke",
                commune_code="21025",
                updated_at=dt.datetime(2025, 1, 1),
            ),
            {"register"},
            None,
        ),
        # the commune changes, not the stamp: a hash of counts and the newest stamp missed it
        (update(EST).values(commune_code="21028"), {"register"}, None),
        (delete(EST), {"register"}, None),
        (delete(ORG), {"org_units"}, None),
    ]
    before = empty
    for statement, expected, rows in steps:
        with engine.begin() as conn:
            conn.execute(statement, rows)
        after = prints(engine)
        assert moved(before, after) == expected, statement
        before = after


def test_inputs__fingerprints__rolled_back_write_moves_nothing(engine: Engine) -> None:
    """Should leave the counters as they were when the writing transaction rolls back."""
    with engine.begin() as conn:
        conn.execute(insert(REF).values(org_code="VN", year=2025, key="students", value=1))
    before = prints(engine)
    with engine.connect() as conn, conn.begin() as tx:
        conn.execute(update(REF).values(value=2))
        tx.rollback()
    assert prints(engine) == before


def test_run__register_commune_changed__denominators_follow(world: World) -> None:
    """Should recount the register after an establishment moves commune with its stamp left
    as it was: KT1 in 2025 for A (E-A1 inspected, active) is 1 of A's 2 active establishments
    before, 1 of 1 after; B's denominator 1 → 2 (E-B1, E-A1), nothing of it inspected."""

    def kt1(org: str) -> tuple[Any, Any]:
        rows = {r["indicator"]: r for r in indicator_rows(world.engine, period="2025", org=org)}
        return rows["KT1"]["numerator"], rows["KT1"]["denominator"]

    assert (kt1("21025"), kt1("21028")) == ((1, 2), (0, 1))
    with world.engine.begin() as conn:
        conn.execute(update(EST).where(EST.c.id == "E-A1").values(commune_code="21028"))
    summary = run_pipeline(world.engine, today=TODAY)
    assert summary.changed == 0
    assert (kt1("21025"), kt1("21028")) == ((1, 1), (0, 2))


def test_run__target_updated__stored_target_follows(world: World) -> None:
    """Should store an imported target changed in place (50 → 40 for TT1, 51, 2025) on the
    next run, no submission having changed."""

    def tt1() -> Any:
        rows = {r["indicator"]: r for r in indicator_rows(world.engine, period="2025", org="51")}
        return rows["TT1"]["target"]

    assert tt1() == 50
    with world.engine.begin() as conn:
        conn.execute(
            update(TGT)
            .where(TGT.c.indicator == "TT1", TGT.c.org_code == "51", TGT.c.period == "2025")
            .values(target=40)
        )
    run_pipeline(world.engine, today=TODAY)
    assert tt1() == 40
