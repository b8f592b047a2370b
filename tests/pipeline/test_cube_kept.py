"""The cube a process keeps in memory between pipeline runs (cube_kept.py): brought up to date
by each run, and never used once another process has run."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import Engine, select, update

from pcmd.db.engine import transaction
from pcmd.db.models import IndicatorValue, Submission, utcnow
from pcmd.pipeline.indicators import cube_kept
from pcmd.pipeline.indicators.cube_memory import Loaded
from pcmd.pipeline.run import run_pipeline
from tests.pipeline.handmade import TODAY, World


def stored(engine: Engine) -> dict[tuple[str, str, str, str], tuple[Any, ...]]:
    with transaction(engine) as s:
        return {
            (r.programme, r.period, r.org_code, r.indicator): (r.numerator, r.value, r.status)
            for r in s.scalars(select(IndicatorValue))
        }


def touch(engine: Engine, sid: int, **values: Any) -> None:
    with transaction(engine, write=True) as s:
        s.execute(
            update(Submission).where(Submission.id == sid).values(updated_at=utcnow(), **values)
        )


def _kept(engine: Engine) -> Loaded:
    database = engine.url.render_as_string(hide_password=True)
    return cube_kept._KEPT[database][1]


def test_kept_cube__follows_the_runs(world: World) -> None:
    """Should hold, after runs that add, reject and delete records, exactly the matrix and
    distinct-count rows a fresh read of the cube gives."""
    engine = world.engine
    world.send("O2", reach__n_general=9)
    run_pipeline(engine, today=TODAY)
    touch(engine, world.ids["O1"], review_state="rejected")
    touch(engine, world.ids["I2"], deleted=True, deleted_at=utcnow())
    run_pipeline(engine, today=TODAY)
    kept = _kept(engine)
    with engine.connect() as conn:
        fresh = Loaded(conn, [kept.parts[k] for k in (*kept.keys, *kept.rows)], kept.slots)
    order = {
        pair: i for i, pair in enumerate(zip(fresh.pair_commune, fresh.pair_province, strict=True))
    }
    assert set(order) <= set(zip(kept.pair_commune, kept.pair_province, strict=True))
    shift = (fresh.first_year - kept.first_year) * 12
    for i, pair in enumerate(zip(kept.pair_commune, kept.pair_province, strict=True)):
        window = kept.values[:, i, shift : shift + fresh.n_months]
        if pair in order:
            assert np.array_equal(window, fresh.values[:, order[pair]])
        else:
            assert not window.any()  # a pair whose records all went
    for part_id, frame in fresh.keys.items():
        got = kept.keys[part_id]
        assert sorted(map(tuple, got.to_numpy().tolist())) == sorted(
            map(tuple, frame.to_numpy().tolist())
        )


def test_kept_cube__not_used_after_another_process_ran(world: World) -> None:
    """Should read the cube again when another process ran in between: a cube kept before
    O1 was rejected elsewhere would still count O1's 100 people."""
    engine = world.engine
    database = engine.url.render_as_string(hide_password=True)
    run_pipeline(engine, today=TODAY)
    before = stored(engine)
    stale = cube_kept._KEPT[database]

    cube_kept._KEPT.clear()  # another process: rejects O1 and runs
    touch(engine, world.ids["O1"], review_state="rejected")
    run_pipeline(engine, today=TODAY)

    cube_kept._KEPT.clear()
    cube_kept._KEPT[database] = stale  # this process again, with its old cube
    touch(engine, world.ids["O10"], review_state="rejected")
    run_pipeline(engine, today=TODAY)
    incremental = stored(engine)
    run_pipeline(engine, full=True, today=TODAY)
    assert stored(engine) == incremental
    # O1 (March 2025, 100 people) and O10 (August 2025's only record, 30) no longer count
    hd2 = ("pcmd_1629", "{}", "VN", "HD2")
    march, august, year = (
        (hd2[0], hd2[1].format(p), hd2[2], hd2[3]) for p in ("202503", "202508", "2025")
    )
    assert incremental[march][0] == before[march][0] - 100
    assert before[august][0] == 30
    assert august not in incremental
    assert incremental[year][0] == before[year][0] - 130
