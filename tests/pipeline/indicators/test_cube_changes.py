"""What an incremental run moved in the kept cube (cube_changes.py): slots whose value
changed, and parts whose fact rows changed, per commune-month."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pcmd.pipeline.indicators.cube_changes import Changes

PAIRS = [("c1", "p1"), ("c2", "p1")]
MONTHS = [202601, 202602]


def test_changes_slots__only_the_slots_that_moved() -> None:
    """Should note v02 of c1's February (0 → 3) and nothing else: equal values elsewhere,
    v01 of c2 written again with the same 5."""
    old = np.zeros((2, 2, 2))
    old[0, 1, 0] = 5.0
    new = old.copy()
    new[1, 0, 1] = 3.0
    changes = Changes()
    changes.slots(old, new, ["v01", "v02"], PAIRS, MONTHS)
    assert changes.moved == {("c1", "p1", 202602): {"v02"}}


def _rows(*rows: tuple[str, str, int, str]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=["commune_code", "province_code", "month", "key"])


def test_changes_rows__compared_as_multisets() -> None:
    """Should see c1's rows (A, B → B, A) as unchanged and c2's (C → C, C) as moved — a
    second row of the same key is a change to the rows even if the distinct count is not —
    and note the part as tracked."""
    old = _rows(("c1", "p1", 202601, "A"), ("c1", "p1", 202601, "B"), ("c2", "p1", 202601, "C"))
    new = _rows(
        ("c1", "p1", 202601, "B"),
        ("c1", "p1", 202601, "A"),
        ("c2", "p1", 202601, "C"),
        ("c2", "p1", 202601, "C"),
    )
    changes = Changes()
    changes.rows("X", old, new, ["key"])
    assert changes.moved == {("c2", "p1", 202601): {"part:X"}}
    assert changes.tracked == {"X"}


def test_changes_rows__a_commune_month_gone() -> None:
    """Should note a commune-month whose rows all went (c1's January) as moved."""
    changes = Changes()
    changes.rows("X", _rows(("c1", "p1", 202601, "A")), _rows(), ["key"])
    assert changes.moved == {("c1", "p1", 202601): {"part:X"}}
