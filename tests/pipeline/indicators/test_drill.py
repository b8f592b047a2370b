"""`drill_down`: for every indicator of the default programme, the records listed are exactly
the records behind its numerator, worked out by hand from tests/pipeline/handmade.py.

Counted records of 2025 (O6 rejected, O7 with an open error are not): outreach O1 A, O2 A,
O3 B, O4 D, O8 E (edited: bao_chi, students 15, general 5), O10 B; training T1 A, T2 D, T4 E;
inspections I1 A (E-A1), I2 A (E-A1), I3 A (E-A3, closed), I4 B (not in the register),
I5 D (E-D1), I7 E (E-E1).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine

from pcmd.ingest.files import FileStore
from pcmd.pipeline.indicators.drill import WHAT, drill_down
from pcmd.pipeline.indicators.programme import DEFAULT_PROGRAMME, default_programme
from pcmd.pipeline.indicators.query import indicator_rows
from pcmd.pipeline.run import run_pipeline
from pcmd.settings import Settings
from tests.pipeline.handmade import TODAY, World
from tests.pipeline.handmade_8b import TODAY as TODAY_8B
from tests.pipeline.handmade_8b import World8b, build_world_8b

INSPECTED = ("I1", "I2", "I3", "I4", "I5", "I7")
# indicator → (records listed, numerator) for the whole country in 2025, by hand
EXPECTED_VN_2025: dict[str, tuple[list[str], float]] = {
    # communes with an outreach record: A, B, D, E
    "TT1": (["O1", "O2", "O3", "O4", "O8", "O10"], 4),
    # months with bao_chi / mang_xa_hoi / loa_dai: Jan (O8), Feb (O3), Mar (O1, O4)
    "TT2": (["O1", "O3", "O4", "O8"], 3),
    # establishment workers 30 (O1) + workers informed 6+4+2+3+10+1 = 56
    "TT3A": (["O1", "I1", "I2", "I3", "I4", "I5", "I7"], 56),
    # industrial workers 40 + 200
    "TT3B": (["O2", "O4"], 240),
    # students 50 + 120 + 15
    "TT3C": (["O1", "O3", "O8"], 185),
    # active register establishments inspected: E-A1 (latest I2), E-D1 (I5), E-E1 (I7)
    "KT1": (["I2", "I5", "I7"], 3),
    # inspections with a violation
    "KT2": (["I1", "I3", "I5"], 3),
    "DT1": (["T1"], 12),
    "DT2": (["T1", "T2", "T4"], 39),
    "HD1": (["O1", "O2", "O3", "O4", "O8", "O10"], 6),
    # totals 100 + 50 + 120 + 200 + 20 + 30
    "HD2": (["O1", "O2", "O3", "O4", "O8", "O10"], 520),
    "HD3": (["T1", "T2", "T4"], 3),
    "HD4": (list(INSPECTED), 6),
    "HD5": (["I1", "I5"], 7_000_000),
    # communes with any record: A, B, D, E
    "BC1": (
        [*("O1", "O2", "O3", "O4", "O8", "O10"), *("T1", "T2", "T4"), *INSPECTED],
        4,
    ),
}


def _stored_numerator(world: World, indicator: str, org: str, period: str) -> float | None:
    """The numerator the dashboard shows: stored by the pipeline, or computed on demand."""
    rows = indicator_rows(world.engine, period=period, org=org, today=TODAY)
    found = [r["numerator"] for r in rows if r["indicator"] == indicator]
    assert len(found) == 1, indicator
    value = found[0]
    return None if value is None else float(value)


def _drill(world: World) -> Callable[[str, str, str], list[int]]:
    def got(indicator: str, period: str, org: str) -> list[int]:
        with world.engine.connect() as conn:
            return drill_down(
                conn, indicator=indicator, period=period, org=org, programme=DEFAULT_PROGRAMME
            ).ids

    return got


def test_drill_down__every_indicator_lists_exactly_its_records(world: World) -> None:
    """Should list, for every indicator of the default programme, exactly the records behind
    its numerator, and that numerator is the one the pipeline stored."""
    got = _drill(world)
    for ind in default_programme().indicators:
        if ind.id in EXPECTED_VN_2025:
            continue
        # an indicator of the forms this world has no record of (DESIGN §8b's): nothing behind
        forms = {form for part in ind.numerator for form in part.forms}
        assert not forms & {"pcmd_outreach", "pcmd_training", "pcmd_inspection"}, ind.id
        assert got(ind.id, "2025", "VN") == [], ind.id
        assert _stored_numerator(world, ind.id, "VN", "2025") in (0, None), ind.id
    for indicator, (names, numerator) in EXPECTED_VN_2025.items():
        expected = sorted(world.ids[n] for n in names)
        assert got(indicator, "2025", "VN") == expected, indicator
        assert _stored_numerator(world, indicator, "VN", "2025") == numerator, indicator


def test_drill_down__kt1_one_row_per_establishment(world: World) -> None:
    """Should list KT1's establishments once each (its latest inspection), as many rows as
    the numerator, not every inspection: E-A1 was inspected twice in March 2025."""
    got = _drill(world)
    ids = world.ids
    assert got("KT1", "2025Q1", "21025") == [ids["I2"]]  # E-A1 only; E-A3 is closed
    assert _stored_numerator(world, "KT1", "21025", "2025Q1") == 1
    assert got("KT1", "2021-2025", "79") == sorted([ids["I5"], ids["I6"], ids["I7"]])
    assert _stored_numerator(world, "KT1", "79", "2021-2025") == 3


def test_drill_down__says_what_it_lists(world: World) -> None:
    """Should say in words what each drill-down lists: KT1 one per establishment, TT3A the
    records whose figures add up, HD1 the counted records."""
    with world.engine.connect() as conn:
        kt1 = drill_down(conn, indicator="KT1", period="2025", org="VN", programme="pcmd_1629")
        tt3a = drill_down(conn, indicator="TT3A", period="2025", org="VN", programme="pcmd_1629")
    said = "one record per establishment — the latest in the period (the numerator counts "
    assert kt1.what_en == said + "establishments)"
    assert kt1.what_vi.startswith("mỗi cơ sở một phiếu")
    assert tt3a.what_vi == WHAT["with_value"][0]  # both parts are sums: said once
    assert tt3a.what_en == "the records whose non-zero figures add up to the numerator"


# DESIGN §8b's indicators on tests/pipeline/handmade_8b.py (today 2026-11-20): indicator →
# the records behind its numerator for province 51 in 2026, by hand (see that module's notes).
EXPECTED_51_2026: dict[str, list[str]] = {
    "TG1": ["K1", "K2"],  # handled by their deadlines (K2's extended to 04-10)
    "TG2": ["K1", "K2", "K3", "K4"],  # K7 is rejected
    "TG3": ["K4"],  # due 04-04, never handled
    "TP1": ["M1", "M3", "M5"],  # prosecuted 2 + 4 + 3 (M3 replaced M2; M4 reports nothing)
    "TP2": ["M1", "M3", "M5"],  # this year's numerator (the change on 2025's)
    "HT1": ["S2"],  # one person in need (P1: S1, S2 in A, S4 in B): the latest, S2 (March)
    "HT2": ["S1", "S2", "S3", "S4"],
    "KH1": ["L1", "L3"],  # A's plan, and B's issued one (L3 after L2)
    "KH2": ["L3"],  # the only one integrated
    "BC2": ["M1", "M4", "M5"],  # on time, in the ended months since 2025-07
}


@pytest.fixture
def world_8b(settings: Settings, engine: Engine, no_validation: None) -> World8b:
    built = build_world_8b(engine, FileStore(settings.data_dir / "attachments"))
    run_pipeline(engine, today=TODAY_8B)
    return built


def test_drill_down__design_8b_indicators_list_exactly_their_records(world_8b: World8b) -> None:
    """Should list, for the indicators of cases, monthly reports, support and plans, exactly the
    records behind the numerator — judged on the day, a year's plans, ended months."""

    def got(indicator: str, period: str, org: str) -> list[int]:
        with world_8b.engine.connect() as conn:
            return drill_down(
                conn,
                indicator=indicator,
                period=period,
                org=org,
                programme=DEFAULT_PROGRAMME,
                today=TODAY_8B,
            ).ids

    for indicator, names in EXPECTED_51_2026.items():
        assert got(indicator, "2026", "51") == sorted(world_8b.ids[n] for n in names), indicator
    ids = world_8b.ids
    # A in March 2026: reported by M4 (nothing to report), S2 and S3
    assert got("BC1", "202603", "21025") == sorted([ids["M4"], ids["S2"], ids["S3"]])
