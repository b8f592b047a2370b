"""Which touched cells' values can have moved in an incremental run (cells_changed.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import Engine, select

from pcmd.db.tables import IV
from pcmd.masterdata.tree import OrgTree
from pcmd.pipeline.cells_changed import moved
from pcmd.pipeline.indicators.cube_changes import Changes
from pcmd.pipeline.indicators.model import Indicator, Part
from pcmd.pipeline.run import run_pipeline
from tests.pipeline.handmade import TODAY, World

F1 = Part("records", forms=("f1",))
F2 = Part("records", forms=("f2",))
F2_BEFORE = Part("records", forms=("f2",), period="year_before")
SLOTS = {m.key: f"v0{i}" for i, m in enumerate([*F1.measures(), *F2.measures()], start=1)}
INDICATORS = [
    Indicator("A", "f1 records", "count", (F1,)),
    Indicator("B", "f2 records", "count", (F2,)),
    Indicator("C", "f2 records a year before", "count", (F2_BEFORE,)),
    Indicator("E", "distinct x", "count", (Part("distinct", forms=("f3",), field="x"),)),
    Indicator("F", "f1 per commune", "percent", (F1,), Part("communes")),
]  # fmt: skip
TREE = OrgTree.from_rows(
    [("VN", "country", None), ("p1", "province", "VN")]
    + [(c, "commune", "p1") for c in ("c1", "c2", "c3")]
)
# c1: a new f1 record in March 2026 (v01); c2: an f2 record of March 2025 rejected (v02)
CHANGES = Changes({("c1", "p1", 202603): {"v01"}, ("c2", "p1", 202503): {"v02"}})


def test_moved__communes() -> None:
    """Should mark, per cell: A and F (f1) in c1's 2026 only; B (f2) in c2's 2025; C (f2 a
    year before) in c2's 2026, which reads 2025; E (a distinct part the kept cube did not
    compare) everywhere; nothing else — c3 had no change."""
    cells = [("c1", "2025"), ("c1", "2026"), ("c2", "2025"), ("c2", "2026"), ("c3", "2026")]
    got = moved(cells, INDICATORS, "commune", TREE, SLOTS, CHANGES)
    expected = np.array(
        [
            # c1 2025, c1 2026, c2 2025, c2 2026, c3 2026
            [False, True, False, False, False],  # A
            [False, False, True, False, False],  # B
            [False, False, False, True, False],  # C
            [True, True, True, True, True],  # E
            [False, True, False, False, False],  # F
        ]
    )
    assert np.array_equal(got, expected)


def test_moved__province_and_country() -> None:
    """Should add up the communes' changes: p1's and VN's 2026 have A, F (c1's March) and C
    (c2's March 2025, a year before) moved, not B; their 2025 has B only, and E."""
    for level, org in (("province", "p1"), ("country", "VN")):
        got = moved([(org, "2026"), (org, "2025")], INDICATORS, level, TREE, SLOTS, CHANGES)
        assert got[:, 0].tolist() == [True, False, True, True, True]
        assert got[:, 1].tolist() == [False, True, False, True, False]


def test_moved__tracked_part() -> None:
    """Should mark E only where its fact rows moved once the kept cube compared them."""
    changes = Changes(
        {
            ("c1", "p1", 202603): {"v01"},
            ("c2", "p1", 202604): {"part:" + INDICATORS[3].numerator[0].id},
        },
        {INDICATORS[3].numerator[0].id},
    )
    got = moved([("c1", "2026"), ("c2", "2026")], INDICATORS, "commune", TREE, SLOTS, changes)
    assert got[3].tolist() == [False, True]


def test_run__rewrites_only_the_moved_values(world: World) -> None:
    """Should, after a second O2-like record in A (March 2025, industrial 40, general 9),
    write again A's 2025 outreach values (HD2: O1's 100 + O2's 50 = 150 people reached,
    then + 49 = 199) and leave its training and
    inspection values (DT1, HD3, KT1) as they were, computed_at included."""
    engine = world.engine
    before = _cell(engine, "21025", "2025")
    world.send("O2", reach__n_general=9)
    run_pipeline(engine, today=TODAY)
    after = _cell(engine, "21025", "2025")
    assert (before["HD2"][0], after["HD2"][0]) == (150.0, 199.0)
    assert after["HD2"][1] > before["HD2"][1]
    for unmoved in ("DT1", "HD3", "KT1"):
        assert after[unmoved] == before[unmoved]


def _cell(engine: Engine, org: str, period: str) -> dict[str, tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(IV.c.indicator, IV.c.numerator, IV.c.computed_at).where(
                IV.c.programme == "pcmd_1629", IV.c.org_code == org, IV.c.period == period
            )
        ).all()
    return {r.indicator: (r.numerator, r.computed_at) for r in rows}
