"""`run_pipeline`: incremental runs agree with a full recompute, the cursor, what triggers a
recompute besides submissions, programme files, provenance, and validation when present."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select, update

from pcmd.db.engine import transaction
from pcmd.db.facts import ACTIVITY_CUBE, FACT_TABLES
from pcmd.db.models import (
    Establishment,
    IndicatorValue,
    ReferenceValue,
    Submission,
    Target,
    ValidationIssue,
    utcnow,
)
from pcmd.db.tables import STATE
from pcmd.errors import PipelineError
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from pcmd.pipeline.indicators.programme import EXAMPLE_PLAN, shipped_text
from pcmd.pipeline.indicators.query import indicator_rows, submission_ids
from pcmd.pipeline.programmes import add_programme, remove_programme
from pcmd.pipeline.run import CUBE_REBUILT, reaggregate, run_pipeline
from pcmd.pipeline.state import load_state
from pcmd.settings import Settings
from tests.pipeline import records
from tests.pipeline.handmade import TODAY, World, build_world


def stored(engine: Engine) -> dict[tuple[str, str, str, str], tuple[Any, ...]]:
    with transaction(engine) as s:
        return {
            (r.programme, r.period, r.org_code, r.indicator): (
                r.numerator,
                r.denominator,
                r.value,
                r.target,
                r.status,
            )
            for r in s.scalars(select(IndicatorValue))
        }


def cube_rows(engine: Engine) -> set[tuple[Any, ...]]:
    with engine.connect() as conn:
        return {tuple(r) for r in conn.execute(select(ACTIVITY_CUBE))}


def facts(engine: Engine) -> dict[str, set[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {f: {tuple(r) for r in conn.execute(select(t))} for f, t in FACT_TABLES.items()}


def touch(engine: Engine, sid: int, **values: Any) -> None:
    with transaction(engine, write=True) as s:
        s.execute(
            update(Submission).where(Submission.id == sid).values(updated_at=utcnow(), **values)
        )


def test_run__nothing_changed__writes_nothing(world: World) -> None:
    """Should find no changed submission and write no value on a second run."""
    before = stored(world.engine)
    again = run_pipeline(world.engine, today=TODAY)
    assert (again.full, again.changed, again.values_written, again.cells) == (False, 0, 0, 0)
    assert stored(world.engine) == before


def test_run__incremental__same_as_full(world: World) -> None:
    """Should leave, after a series of incremental runs, exactly the facts, cube and stored
    values a full recompute gives: new records, an edit, a rejection and its undoing, a
    deletion, an accepted error, reference data, a target, the register, a new month and a
    province plan."""
    engine = world.engine
    steps: list[tuple[str, Any]] = [
        ("new record", lambda: world.send("O2", reach__n_general=9)),  # a second O2-like record
        ("edit", lambda: world.send("I5", deprecated=True, findings__violation="no",
                                    findings__action="nhac_nho", findings__fine_vnd="")),
        ("reject", lambda: touch(engine, world.ids["O1"], review_state="rejected")),
        ("un-reject", lambda: touch(engine, world.ids["O6"], review_state="approved")),
        ("delete", lambda: touch(engine, world.ids["I2"], deleted=True, deleted_at=utcnow())),
    ]  # fmt: skip
    for _name, step in steps:
        step()
        summary = run_pipeline(engine, today=TODAY)
        assert not summary.full
        assert summary.changed >= 1

    # A reviewer accepts O7's error: it counts from now on.
    with transaction(engine, write=True) as s:
        s.execute(
            update(ValidationIssue)
            .where(ValidationIssue.submission_id == world.ids["O7"])
            .values(status="overridden")
        )
    touch(engine, world.ids["O7"])
    assert run_pipeline(engine, today=TODAY).changed == 1

    with transaction(engine, write=True) as s:
        s.execute(
            update(ReferenceValue)
            .where(ReferenceValue.org_code == "21025", ReferenceValue.year == 2025)
            .values(value=45)
        )
        s.add(Target(indicator="TT2", org_code="VN", period="2025", target=20))
        s.execute(
            update(Establishment)
            .where(Establishment.id == "E-A3")
            .values(status="active", updated_at=utcnow())
        )
    summary = run_pipeline(engine, today=TODAY)
    assert not summary.full
    assert any("reference" in r for r in summary.reasons)
    assert any("targets: TT2" in r for r in summary.reasons)
    assert any("register" in r for r in summary.reasons)

    summary = run_pipeline(engine, today=dt.date(2026, 12, 5))  # a new month begins
    assert any("new month" in r for r in summary.reasons)
    with engine.begin() as conn:
        add_programme(conn, shipped_text(EXAMPLE_PLAN), "example_province_plan.toml")
    run_pipeline(engine, today=dt.date(2026, 12, 5))

    incremental = (stored(engine), cube_rows(engine), facts(engine))
    full = run_pipeline(engine, full=True, today=dt.date(2026, 12, 5))
    assert full.full
    assert incremental[2] == facts(engine)
    assert incremental[1] == cube_rows(engine)
    assert incremental[0] == stored(engine)
    assert {k[0] for k in incremental[0]} == {"pcmd_1629", "ke_hoach_51_2026"}


def test_reaggregate__writes_only_the_periods_that_changed(world: World) -> None:
    """Should write nothing when every value is as stored; write again exactly the period of a
    row deleted behind the pipeline's back; and write again the periods an incremental run
    touched (their fingerprints are forgotten), leaving the values a full recompute gives."""
    engine = world.engine
    before = stored(engine)
    assert reaggregate(engine, today=TODAY).values_written == 0
    assert stored(engine) == before

    with transaction(engine, write=True) as s:
        s.execute(
            delete(IndicatorValue).where(
                IndicatorValue.programme == "pcmd_1629",
                IndicatorValue.period == "2025",
                IndicatorValue.org_code == "VN",
                IndicatorValue.indicator == "TT1",
            )
        )
    again = reaggregate(engine, today=TODAY)
    assert again.values_written == sum(1 for k in before if k[:2] == ("pcmd_1629", "2025"))
    assert stored(engine) == before

    touch(engine, world.ids["O1"], review_state="rejected")
    run_pipeline(engine, today=TODAY)
    incremental = stored(engine)
    rewritten = reaggregate(engine, today=TODAY)
    assert 0 < rewritten.values_written < len(incremental)
    assert stored(engine) == incremental
    assert reaggregate(engine, today=TODAY).values_written == 0


def test_reaggregate__rebuilds_the_cube_only_when_the_facts_moved(world: World) -> None:
    """Should keep the cube when nothing moved since the full run; rebuild it when a fact row
    is deleted behind the pipeline's back (O1: one outreach record, 100 people, out of A's
    March 2025), and after an incremental run; and keep it again once rebuilt."""
    engine = world.engine
    hd = ("pcmd_1629", "202503", "VN")
    before = stored(engine)
    kept = reaggregate(engine, today=TODAY)
    assert CUBE_REBUILT not in kept.reasons
    assert stored(engine) == before

    table = FACT_TABLES["pcmd_outreach"]
    with transaction(engine, write=True) as s:
        s.execute(delete(table).where(table.c.submission_id == world.ids["O1"]))
    rebuilt = reaggregate(engine, today=TODAY)
    assert CUBE_REBUILT in rebuilt.reasons
    after = stored(engine)
    assert after[(*hd, "HD1")][0] == before[(*hd, "HD1")][0] - 1
    assert after[(*hd, "HD2")][0] == before[(*hd, "HD2")][0] - 100
    assert CUBE_REBUILT not in reaggregate(engine, today=TODAY).reasons

    run_pipeline(engine, full=True, today=TODAY)  # O1 normalised again
    assert stored(engine) == before
    touch(engine, world.ids["O10"], review_state="rejected")
    run_pipeline(engine, today=TODAY)
    assert CUBE_REBUILT in reaggregate(engine, today=TODAY).reasons


def test_run__edits_are_seen(world: World) -> None:
    """Should reflect each change in the values: rejecting O1 takes its 100 contacts and
    A's only March media item out."""
    run_pipeline(world.engine, today=TODAY)
    touch(world.engine, world.ids["O1"], review_state="rejected")
    run_pipeline(world.engine, today=TODAY)
    got = {r["indicator"]: r for r in indicator_rows(world.engine, period="2025", org="51")}
    assert got["HD2"]["numerator"] == 200  # 300 - 100
    assert got["TT2"]["numerator"] == 1  # February only (O3)


def test_run__reference_import__changes_denominators(world: World) -> None:
    """Should use a new reference value on the next run, without any submission changing."""
    with transaction(world.engine, write=True) as s:
        s.add(ReferenceValue(org_code="21025", year=2025, key="students", value=25))
    summary = run_pipeline(world.engine, today=TODAY)
    assert summary.changed == 0
    got = {r["indicator"]: r for r in indicator_rows(world.engine, period="2025", org="21025")}
    assert (got["TT3C"]["denominator"], got["TT3C"]["value"], got["TT3C"]["status"]) == (
        25,
        200.0,
        "met",
    )


def test_run__province_plan(world: World) -> None:
    """Should compute an added province plan for 51 and its communes only, with its targets
    and its own indicators (QN1: people reached in 2025 are 20 + 10 + 30 in 51)."""
    with world.engine.begin() as conn:
        plan = add_programme(conn, shipped_text(EXAMPLE_PLAN), "example_province_plan.toml")
    assert plan.id == "ke_hoach_51_2026"
    summary = run_pipeline(world.engine, today=TODAY)
    assert "ke_hoach_51_2026" in summary.programmes

    def get(period: str, org: str, level: str | None = None) -> dict[str, Any]:
        return {
            r["indicator"]: r
            for r in indicator_rows(
                world.engine, period=period, org=org, level=level, programme=plan.id
            )
        }

    y2026 = get("2026", "51")
    assert (y2026["TT1"]["numerator"], y2026["TT1"]["value"], y2026["TT1"]["target"]) == (
        1,
        33.3,
        100.0,
    )
    assert y2026["KT1"]["target"] == 30.0
    assert (y2026["QN1"]["value"], y2026["QN1"]["target"], y2026["QN1"]["status"]) == (
        0,
        5300.0,
        "not_met",
    )
    y2025 = get("2025", "51")  # before the plan's period: computed on demand
    assert (y2025["QN1"]["numerator"], y2025["QN1"]["unit"]) == (60, "count")
    assert (y2025["QN2"]["numerator"], y2025["QN2"]["denominator"], y2025["QN2"]["value"]) == (
        0,
        1,
        0.0,
    )
    assert (y2025["TT1"]["target"], y2025["TT1"]["status"]) == (50.0, "met")  # imported wins
    communes = indicator_rows(
        world.engine, period="2026", org="51", level="commune", programme=plan.id, today=TODAY
    )
    assert len(communes) == 3 * 27  # 25 indicators of pcmd_1629 and the plan's own 2
    with pytest.raises(PipelineError, match="covers 51"):
        get("2026", "VN")
    with world.engine.begin() as conn:
        remove_programme(conn, plan.id)
    with transaction(world.engine) as s:
        left = s.scalar(select(func.count()).where(IndicatorValue.programme == plan.id))
    assert left == 0


def test_run__programme_removed_and_added_back__computed_again(world: World) -> None:
    """Should store a plan's values again when it is removed and added back unchanged before
    the next run: removing it deleted them, and the file the run finds is the one it last
    computed."""
    plan_text = shipped_text(EXAMPLE_PLAN)
    with world.engine.begin() as conn:
        plan = add_programme(conn, plan_text, "example_province_plan.toml")
    run_pipeline(world.engine, today=TODAY)

    def stored() -> int:
        with transaction(world.engine) as s:
            return int(
                s.scalar(select(func.count()).where(IndicatorValue.programme == plan.id)) or 0
            )

    before = stored()
    assert before > 0
    with world.engine.begin() as conn:
        remove_programme(conn, plan.id)
        add_programme(conn, plan_text, "example_province_plan.toml")
    assert stored() == 0
    run_pipeline(world.engine, today=TODAY)
    assert stored() == before


def test_run__programme_add__checks_org(world: World) -> None:
    text = shipped_text(EXAMPLE_PLAN).replace('org = "51"', 'org = "99"')
    with world.engine.begin() as conn, pytest.raises(PipelineError, match="'99'"):
        add_programme(conn, text, "plan.toml")
    with world.engine.begin() as conn, pytest.raises(PipelineError, match="cannot be removed"):
        remove_programme(conn, "pcmd_1629")


def test_submission_ids__the_records_behind_a_numerator(world: World) -> None:
    """Should list the counted submissions a numerator is made of."""
    ids = world.ids

    def got(indicator: str, period: str, org: str) -> list[int]:
        return submission_ids(world.engine, indicator=indicator, period=period, org=org)

    assert got("HD1", "2025", "51") == sorted([ids["O1"], ids["O2"], ids["O3"], ids["O10"]])
    assert got("TT2", "2025Q1", "VN") == sorted([ids["O1"], ids["O3"], ids["O4"], ids["O8"]])
    # one per establishment: E-A1's latest inspection (I2), not I1 as well
    assert got("KT1", "2021-2025", "VN") == sorted([ids["I2"], ids["I5"], ids["I6"], ids["I7"]])
    assert got("TT3A", "202503", "21025") == sorted([ids["O1"], ids["I1"], ids["I2"]])
    assert got("HD5", "2025", "79") == [ids["I5"]]


def test_run__cube_rebuilt_when_measures_change(world: World) -> None:
    """Should rebuild the cube when a programme adds measures (QN1's people reached)."""
    with world.engine.begin() as conn:
        add_programme(conn, shipped_text(EXAMPLE_PLAN), "example_province_plan.toml")
    summary = run_pipeline(world.engine, today=TODAY)
    assert any("measures" in r for r in summary.reasons)


def test_run__lost_state__full_again(world: World) -> None:
    """Should recompute everything when the cursor is gone, and end with the same values."""
    before = stored(world.engine)
    with transaction(world.engine, write=True) as s:
        s.execute(delete(IndicatorValue))
        s.execute(update(STATE).where(STATE.c.source == "pipeline").values(cursor={}))
    summary = run_pipeline(world.engine, today=TODAY)
    assert summary.full
    assert stored(world.engine) == before


def test_run__late_commit_on_postgresql_is_not_missed(world: World) -> None:
    """Should pick up, on PostgreSQL, a submission stamped a little before the newest one seen
    (its transaction committed later), and skip those already processed."""
    if world.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: stamps follow commit order")
    sid = world.ids["O10"]
    state = load_state(world.engine)
    assert state is not None
    hw = dt.datetime.fromisoformat(state["hw"])
    touch(world.engine, sid, review_state="rejected")
    with transaction(world.engine, write=True) as s:
        s.execute(
            update(Submission)
            .where(Submission.id == sid)
            .values(updated_at=hw + dt.timedelta(seconds=1))
        )
    summary = run_pipeline(world.engine, today=TODAY)
    assert summary.changed == 1
    assert run_pipeline(world.engine, today=TODAY).changed == 0


def test_run__with_validation(settings: Settings, engine: Engine) -> None:
    """Should run the validation rules (when that module is present) and leave out a record
    they flag with an error: an activity dated after today."""
    pytest.importorskip("pcmd.pipeline.validate.run")
    store = FileStore(settings.data_dir / "attachments")
    world = build_world(engine, store)
    xml = records.xml(
        "pcmd_outreach",
        records.new_id(),
        commune="21025",
        province="51",
        day="2026-12-24",
        reach__n_general=5,
    )
    sid = ingest_with_retry(engine, store, Incoming(xml=xml, source="openrosa")).submission_id
    summary = run_pipeline(engine, today=TODAY)
    assert summary.validation == "ran"
    with engine.connect() as conn:
        counted: set[int] = set(
            conn.execute(select(FACT_TABLES["pcmd_outreach"].c.submission_id)).scalars()
        )
        errors = conn.execute(
            select(func.count()).where(
                ValidationIssue.submission_id == sid, ValidationIssue.severity == "error"
            )
        ).scalar()
    assert errors
    assert sid not in counted
    assert world.ids["O1"] in counted
