"""Year to date (lũy kế từ đầu năm) on the hand-made world of tests/pipeline/handmade.py.

Worked out by hand from the records listed there (counted records only: O6 is rejected, O7
has an open error). Province 51 from January to September 2025: outreach O1, O2 (A, March),
O3 (B, February, loa_dai), O10 (B, August); media months February and March.
"""

from __future__ import annotations

from typing import Any

import pytest

from pcmd.pipeline.indicators.year_to_date import year_to_date_rows
from tests.pipeline.handmade import TODAY, World


def _ytd(world: World, period: str, org: str) -> dict[str, dict[str, Any]]:
    with world.engine.connect() as conn:
        rows = year_to_date_rows(conn, period=period, org=org, today=TODAY)
    return {r["indicator"]: r for r in rows}


def _cells(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["numerator"], row["denominator"], row["value"], row["target"], row["status"])


def test_year_to_date__quarter__january_to_september_against_the_years_target(
    world: World,
) -> None:
    """2025Q3 of 51: TT1 = A and B of 3 communes (66.7) against the target imported for 51 in
    2025 (50): met; TT2 = 2 media months of the 9 begun by 30 September: 22.2 of 100;
    HD1 = 4 activities, HD2 = 100 + 50 + 120 + 30 = 300 contacts."""
    got = _ytd(world, "2025Q3", "51")
    assert _cells(got["TT1"]) == (2, 3, 66.7, 50.0, "met")
    assert _cells(got["TT2"]) == (2, 9, 22.2, 100.0, "not_met")
    assert _cells(got["HD1"]) == (4, None, 4, None, "no_target")
    assert _cells(got["HD2"]) == (300, None, 300, None, "no_target")
    assert got["TT1"]["period"] == "2025-01..2025-09"
    assert got["TT1"]["org_unit"] == "51"


def test_year_to_date__month__january_to_march_with_annual_defaults(world: World) -> None:
    """March 2025 of commune A: the year so far is O1, O2, T1, I1–I3; TT1 1/1 against the
    annual default 70 (met), TT2 1 media month of 3 (33.3 of 100), DT2 8/10 (80.0 of 50),
    KT1 E-A1 of 2 active (50.0 of 20); HD1's quarter target (2, imported for 2025Q1) is not
    the year's: no target."""
    got = _ytd(world, "202503", "21025")
    assert _cells(got["TT1"]) == (1, 1, 100.0, 70.0, "met")
    assert _cells(got["TT2"]) == (1, 3, 33.3, 100.0, "not_met")
    assert _cells(got["DT2"]) == (8, 10, 80.0, 50.0, "met")
    assert _cells(got["KT1"]) == (1, 2, 50.0, 20.0, "met")
    assert _cells(got["HD1"]) == (2, None, 2, None, "no_target")


@pytest.mark.parametrize("period", ["2025", "2021-2025"])
def test_year_to_date__year_or_programme_period__none(world: World, period: str) -> None:
    """A year is its own total: no separate year-to-date rows."""
    assert _ytd(world, period, "51") == {}
