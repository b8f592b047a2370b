"""Year to date (lũy kế từ đầu năm) on the hand-made world of tests/pipeline/handmade.py.

Worked out by hand from the records listed there (counted records only: O6 is rejected, O7
has an open error). Province 51 from January to September 2025: outreach O1, O2 (A, March),
O3 (B, February, loa_dai), O10 (B, August); media months February and March.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from pcmd.ingest.files import FileStore
from pcmd.pipeline.indicators.year_to_date import year_to_date_rows
from pcmd.pipeline.run import run_pipeline
from pcmd.settings import Settings
from tests.pipeline.handmade import TODAY, World
from tests.pipeline.handmade_8b import TODAY as TODAY_8B
from tests.pipeline.handmade_8b import build_world_8b


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


@pytest.fixture
def world_8b(settings: Settings, engine: Engine, no_validation: None) -> Engine:
    build_world_8b(engine, FileStore(settings.data_dir / "attachments"))
    run_pipeline(engine, today=TODAY_8B)
    return engine


def test_year_to_date__tp2__against_the_same_months_a_year_earlier(world_8b: Engine) -> None:
    """February 2026's year to date is January–February; TP2 compares it with January–February
    2025 (tests/pipeline/handmade_8b.py), not with all of 2025: B prosecuted nothing in either
    (M9's 4 are of March 2025): 0 over 0, no value; 51: A's M1 2 + M3 4 = 6 against M8's 2:
    +200 %, against the year's target of 3: met."""
    with world_8b.connect() as conn:
        b = {
            r["indicator"]: r
            for r in year_to_date_rows(conn, period="202602", org="21028", today=TODAY_8B)
        }
        province = {
            r["indicator"]: r
            for r in year_to_date_rows(conn, period="202602", org="51", today=TODAY_8B)
        }
    assert _cells(b["TP2"]) == (0, 0, None, 3.0, "no_data")
    assert _cells(province["TP1"]) == (6, None, 6, None, "no_target")
    assert _cells(province["TP2"]) == (6, 2, 200.0, 3.0, "met")
