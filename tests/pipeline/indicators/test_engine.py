"""The pure parts of the indicator engine: rounding, targets, statuses, computed values."""

from __future__ import annotations

import datetime as dt
import random
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from pcmd.masterdata.periods import parse_period
from pcmd.pipeline.indicators.engine import (
    Context,
    compute,
    default_target,
    half_up_decimal,
    no_quantities,
    percent,
    status_of,
)
from pcmd.pipeline.indicators.programme import default_programme
from pcmd.pipeline.indicators.reference import Reference
from tests.pipeline.indicators.test_reference import TREE


def test_percent__half_up_not_to_even() -> None:
    """Should round 6.25 up to 6.3 and 0.05 up to 0.1 (round() gives 6.2 and 0.1 by luck)."""
    got = percent(np.array([1.0, 1.0, 1.0, 2.0, 0.0]), np.array([16.0, 2000.0, 3.0, 3.0, 5.0]))
    assert got.tolist() == [6.3, 0.1, 33.3, 66.7, 0.0]
    assert round(100 * 1 / 16, 1) == 6.2  # what this avoids


def test_percent__same_as_decimal_everywhere() -> None:
    """Should agree with the Decimal computation on thousands of pairs, including every tie
    (100·n/d ending in exactly 5 at the second decimal) and non-whole inputs."""
    rng = random.Random(7)
    nums, dens = [], []
    for _ in range(5000):
        d = rng.randint(1, 4000)
        nums.append(float(rng.randint(0, 3 * d)))
        dens.append(float(d))
    for d in (8, 16, 40, 80, 160, 200, 400, 2000):  # denominators that make exact ties
        for n in range(3 * d):
            nums.append(float(n))
            dens.append(float(d))
    nums += [12.5, 0.3, 7.0]
    dens += [40.0, 0.7, 12.5]
    got = percent(np.array(nums), np.array(dens))
    want = [
        float((Decimal(repr(n)) * 100 / Decimal(repr(d))).quantize(Decimal("0.1"), ROUND_HALF_UP))
        for n, d in zip(nums, dens, strict=True)
    ]
    assert got.tolist() == want
    assert half_up_decimal(12.5, 40.0) == 31.3


def test_percent__no_usable_denominator() -> None:
    got = percent(np.array([3.0, 3.0, 0.0]), np.array([np.nan, 0.0, 0.0]))
    assert np.isnan(got).all()


def test_default_targets__annual_and_programme_period_only() -> None:
    p = default_programme()
    kt1 = p.indicator("KT1")
    assert default_target(kt1, parse_period("2024"), p) == 20.0
    assert default_target(kt1, parse_period("2021-2025"), p) == 100.0
    for code in ("2024Q2", "202403", "2022-2024", "2026-2030"):
        assert default_target(kt1, parse_period(code), p) is None


def test_status__rounded_value_against_target() -> None:
    value = np.array([70.0, 69.9, np.nan, 5.0, 0.0])
    target = np.array([70.0, 70.0, 70.0, np.nan, 0.0])
    assert status_of(value, target).tolist() == ["met", "not_met", "no_data", "no_target", "met"]


def test_compute__empty_cells_and_imported_targets() -> None:
    """Should give cells without records 0 numerators (0.0 where a denominator exists) and
    prefer an imported target to the default."""
    ctx = Context(
        tree=TREE,
        reference=Reference([], TREE),
        establishments={},
        targets={("TT1", "51", "2025"): 40.0, ("HD1", "21025", "2025Q3"): 3.0},
        today=dt.date(2026, 1, 15),
    )
    frame = compute(
        default_programme(),
        [("51", "2025"), ("21025", "2025Q3")],
        no_quantities(),
        ctx,
    )
    rows = {(r.org_code, r.indicator): r for r in frame.itertuples(index=False)}
    tt1 = rows[("51", "TT1")]
    assert (tt1.numerator, tt1.denominator, tt1.value, tt1.target, tt1.status) == (
        0.0,
        2.0,
        0.0,
        40.0,
        "not_met",
    )
    hd1 = rows[("21025", "HD1")]
    assert (hd1.value, hd1.target, hd1.status) == (0.0, 3.0, "not_met")
    kt1 = rows[("51", "KT1")]
    assert (kt1.denominator, kt1.status) == (0.0, "no_data")
    assert pd.isna(rows[("51", "TT3A")].denominator)


def test_percent__negative_change_half_away_from_zero() -> None:
    """Should round a fall (TP2: 100 × (num − den) / den) half away from zero: −1 of 400 is
    −0.25 % → −0.3 (half to even would give −0.2); −1 of 8 is −12.5 exactly."""
    got = percent(np.array([-1.0, -1.0, -3.0]), np.array([400.0, 8.0, 7.0]))
    assert got.tolist() == [-0.3, -12.5, -42.9]
