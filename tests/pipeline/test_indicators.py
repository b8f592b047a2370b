"""Every indicator of DESIGN §8 on a hand-made dataset (tests/pipeline/handmade.py).

The expected values below are worked out by hand from the records listed in handmade.py — not
by the code under test — at commune (A = 21025), province (51) and country level, for a month,
a quarter, a year and the programme period. The dataset has a rejected record (O6), one with an
open error (O7), an edit replacing its original (O8), denominators that are missing (students
everywhere, provincial officials at commune level: no_data), values over 100 (TT3A of A) and
imported targets that override the defaults (TT1 of 51 in 2025, HD1 of A in 2025Q1).

Columns: indicator, numerator, denominator, value, target, status; "-" is null.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from pcmd.pipeline.indicators.query import indicator_rows
from pcmd.pipeline.run import run_pipeline
from tests.pipeline.handmade import TODAY, World

# --- expected, by hand ---------------------------------------------------------------------

EXPECTED: dict[tuple[str, str], str] = {
    # Commune A, March 2025: O1, O2; T1; I1, I2 (a commune's month is computed on demand).
    ("21025", "202503"): """
        TT1   1     1     100.0  -      no_target
        TT2   1     1     100.0  -      no_target
        TT3A  40    40    100.0  -      no_target
        TT3B  40    100   40.0   -      no_target
        TT3C  50    -     -      -      no_data
        KT1   1     2     50.0   -      no_target
        KT2   1     2     50.0   -      no_target
        DT1   12    -     -      -      no_data
        DT2   8     10    80.0   -      no_target
        HD1   2     -     2      -      no_target
        HD2   150   -     150    -      no_target
        HD3   1     -     1      -      no_target
        HD4   2     -     2      -      no_target
        HD5   5000000 - 5000000  -      no_target
        BC1   1     1     100.0  -      no_target
    """,
    # A, 2025Q1: + I3 (E-A3 is closed: not in KT1). TT3A = 30 + 6 + 4 + 2 over 40: over 100.
    ("21025", "2025Q1"): """
        TT1   1     1     100.0  -      no_target
        TT2   1     3     33.3   -      no_target
        TT3A  42    40    105.0  -      no_target
        TT3B  40    100   40.0   -      no_target
        TT3C  50    -     -      -      no_data
        KT1   1     2     50.0   -      no_target
        KT2   2     3     66.7   -      no_target
        DT1   12    -     -      -      no_data
        DT2   8     10    80.0   -      no_target
        HD1   2     -     2      2.0    met
        HD2   150   -     150    -      no_target
        HD3   1     -     1      -      no_target
        HD4   3     -     3      -      no_target
        HD5   5000000 - 5000000  -      no_target
        BC1   1     1     100.0  -      no_target
    """,
    # A, 2025: nothing after March; yearly default targets apply.
    ("21025", "2025"): """
        TT1   1     1     100.0  70.0   met
        TT2   1     12    8.3    100.0  not_met
        TT3A  42    40    105.0  70.0   met
        TT3B  40    100   40.0   60.0   not_met
        TT3C  50    -     -      70.0   no_data
        KT1   1     2     50.0   20.0   met
        KT2   2     3     66.7   -      no_target
        DT1   12    -     -      70.0   no_data
        DT2   8     10    80.0   50.0   met
        HD1   2     -     2      -      no_target
        HD2   150   -     150    -      no_target
        HD3   1     -     1      -      no_target
        HD4   3     -     3      -      no_target
        HD5   5000000 - 5000000  -      no_target
        BC1   1     1     100.0  100.0  met
    """,
    # A, 2021-2025: + O5 (June 2023, media). KT1's programme target is 100.
    ("21025", "2021-2025"): """
        TT1   1     1     100.0  70.0   met
        TT2   2     60    3.3    100.0  not_met
        TT3A  42    40    105.0  70.0   met
        TT3B  40    100   40.0   60.0   not_met
        TT3C  60    -     -      70.0   no_data
        KT1   1     2     50.0   100.0  not_met
        KT2   2     3     66.7   -      no_target
        DT1   12    -     -      70.0   no_data
        DT2   8     10    80.0   50.0   met
        HD1   3     -     3      -      no_target
        HD2   160   -     160    -      no_target
        HD3   1     -     1      -      no_target
        HD4   3     -     3      -      no_target
        HD5   5000000 - 5000000  -      no_target
        BC1   1     1     100.0  100.0  met
    """,
    # Province 51, March 2025: B's only outreach (O6) is rejected, C's (O7) has an error.
    ("51", "202503"): """
        TT1   1     3     33.3   -      no_target
        TT2   1     1     100.0  -      no_target
        TT3A  43    50    86.0   -      no_target
        TT3B  40    100   40.0   -      no_target
        TT3C  50    -     -      -      no_data
        KT1   1     3     33.3   -      no_target
        KT2   1     3     33.3   -      no_target
        DT1   12    20    60.0   -      no_target
        DT2   8     60    13.3   -      no_target
        HD1   2     -     2      -      no_target
        HD2   150   -     150    -      no_target
        HD3   1     -     1      -      no_target
        HD4   3     -     3      -      no_target
        HD5   5000000 - 5000000  -      no_target
        BC1   2     3     66.7   -      no_target
    """,
    ("51", "2025Q1"): """
        TT1   2     3     66.7   -      no_target
        TT2   2     3     66.7   -      no_target
        TT3A  45    50    90.0   -      no_target
        TT3B  40    100   40.0   -      no_target
        TT3C  170   -     -      -      no_data
        KT1   1     3     33.3   -      no_target
        KT2   2     4     50.0   -      no_target
        DT1   12    20    60.0   -      no_target
        DT2   8     60    13.3   -      no_target
        HD1   3     -     3      -      no_target
        HD2   270   -     270    -      no_target
        HD3   1     -     1      -      no_target
        HD4   4     -     4      -      no_target
        HD5   5000000 - 5000000  -      no_target
        BC1   2     3     66.7   -      no_target
    """,
    # 51, 2025: + O10. TT1's imported target 50 replaces the default 70.
    ("51", "2025"): """
        TT1   2     3     66.7   50.0   met
        TT2   2     12    16.7   100.0  not_met
        TT3A  45    50    90.0   70.0   met
        TT3B  40    100   40.0   60.0   not_met
        TT3C  170   -     -      70.0   no_data
        KT1   1     3     33.3   20.0   met
        KT2   2     4     50.0   -      no_target
        DT1   12    20    60.0   70.0   not_met
        DT2   8     60    13.3   50.0   not_met
        HD1   4     -     4      -      no_target
        HD2   300   -     300    -      no_target
        HD3   1     -     1      -      no_target
        HD4   4     -     4      -      no_target
        HD5   5000000 - 5000000  -      no_target
        BC1   2     3     66.7   100.0  not_met
    """,
    # 51, 2021-2025: + O5 (A, 2023), T3 (B, 2024).
    ("51", "2021-2025"): """
        TT1   2     3     66.7   70.0   not_met
        TT2   3     60    5.0    100.0  not_met
        TT3A  45    50    90.0   70.0   met
        TT3B  40    100   40.0   60.0   not_met
        TT3C  180   -     -      70.0   no_data
        KT1   1     3     33.3   100.0  not_met
        KT2   2     4     50.0   -      no_target
        DT1   12    20    60.0   70.0   not_met
        DT2   13    60    21.7   50.0   not_met
        HD1   5     -     5      -      no_target
        HD2   310   -     310    -      no_target
        HD3   2     -     2      -      no_target
        HD4   4     -     4      -      no_target
        HD5   5000000 - 5000000  -      no_target
        BC1   2     3     66.7   100.0  not_met
    """,
    ("VN", "202503"): """
        TT1   2     5     40.0   -      no_target
        TT2   1     1     100.0  -      no_target
        TT3A  53    150   35.3   -      no_target
        TT3B  240   250   96.0   -      no_target
        TT3C  50    -     -      -      no_data
        KT1   2     6     33.3   -      no_target
        KT2   2     4     50.0   -      no_target
        DT1   12    70    17.1   -      no_target
        DT2   8     116   6.9    -      no_target
        HD1   3     -     3      -      no_target
        HD2   350   -     350    -      no_target
        HD3   1     -     1      -      no_target
        HD4   4     -     4      -      no_target
        HD5   7000000 - 7000000  -      no_target
        BC1   3     5     60.0   -      no_target
    """,
    # VN, 2025Q1: January has media only because of O8's edit (bao_chi; the original was
    # hoi_nghi), and O8 reached 20 (15 students), not 5.
    ("VN", "2025Q1"): """
        TT1   4     5     80.0   -      no_target
        TT2   3     3     100.0  -      no_target
        TT3A  55    150   36.7   -      no_target
        TT3B  240   250   96.0   -      no_target
        TT3C  185   -     -      -      no_data
        KT1   2     6     33.3   -      no_target
        KT2   3     5     60.0   -      no_target
        DT1   12    70    17.1   -      no_target
        DT2   38    116   32.8   -      no_target
        HD1   5     -     5      -      no_target
        HD2   490   -     490    -      no_target
        HD3   2     -     2      -      no_target
        HD4   5     -     5      -      no_target
        HD5   7000000 - 7000000  -      no_target
        BC1   4     5     80.0   -      no_target
    """,
    ("VN", "2025"): """
        TT1   4     5     80.0   70.0   met
        TT2   3     12    25.0   100.0  not_met
        TT3A  56    150   37.3   70.0   not_met
        TT3B  240   250   96.0   60.0   met
        TT3C  185   -     -      70.0   no_data
        KT1   3     6     50.0   20.0   met
        KT2   3     6     50.0   -      no_target
        DT1   12    70    17.1   70.0   not_met
        DT2   39    116   33.6   50.0   not_met
        HD1   6     -     6      -      no_target
        HD2   520   -     520    -      no_target
        HD3   3     -     3      -      no_target
        HD4   6     -     6      -      no_target
        HD5   7000000 - 7000000  -      no_target
        BC1   4     5     80.0   100.0  not_met
    """,
    ("VN", "2021-2025"): """
        TT1   4     5     80.0   70.0   met
        TT2   4     60    6.7    100.0  not_met
        TT3A  56    150   37.3   70.0   not_met
        TT3B  240   250   96.0   60.0   met
        TT3C  195   -     -      70.0   no_data
        KT1   4     6     66.7   100.0  not_met
        KT2   3     7     42.9   -      no_target
        DT1   12    70    17.1   70.0   not_met
        DT2   44    116   37.9   50.0   not_met
        HD1   7     -     7      -      no_target
        HD2   530   -     530    -      no_target
        HD3   4     -     4      -      no_target
        HD4   7     -     7      -      no_target
        HD5   7000000 - 7000000  -      no_target
        BC1   4     5     80.0   100.0  not_met
    """,
}


def _cell(text: str) -> Any:
    if text == "-":
        return None
    if "." in text:
        return float(text)
    if text.isdigit():
        return int(text)
    return text


def expected(org: str, period: str) -> list[dict[str, Any]]:
    units = {"TT1", "TT2", "TT3A", "TT3B", "TT3C", "KT1", "KT2", "DT1", "DT2", "BC1"}
    out = []
    for line in EXPECTED[(org, period)].strip().splitlines():
        ind, num, den, value, target, status = (_cell(x) for x in line.split())
        out.append(
            {
                "indicator": ind,
                "org_unit": org,
                "period": period,
                "numerator": num,
                "denominator": den,
                "value": value,
                "unit": "percent" if ind in units else "count",
                "target": target,
                "status": status,
            }
        )
    return out


SECTION_8 = {"TT1", "TT2", "TT3A", "TT3B", "TT3C", "KT1", "KT2", "DT1", "DT2", "BC1"} | {
    f"HD{n}" for n in range(1, 6)
}


def rows(engine: Engine, period: str, org: str, level: str | None = None) -> list[dict[str, Any]]:
    """The §8 indicators' rows (those of §8b have their own dataset: test_indicators_8b.py)."""
    got = indicator_rows(engine, period=period, org=org, level=level, today=TODAY)
    return [r for r in got if r["indicator"] in SECTION_8]


# --- tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("org", "period"), sorted(EXPECTED))
def test_indicators__handmade__every_indicator_as_worked_out(
    world: World, org: str, period: str
) -> None:
    """Should give, for each indicator, exactly the numbers worked out by hand."""
    assert rows(world.engine, period, org) == expected(org, period)


def test_indicators__full_run_again__same_values(world: World) -> None:
    """Should give the same numbers after `pcmd pipeline run --full` as after the first run."""
    run_pipeline(world.engine, full=True, today=TODAY)
    for org, period in EXPECTED:
        assert rows(world.engine, period, org) == expected(org, period)


def test_indicators__commune_with_only_an_error_record__zero_not_null(world: World) -> None:
    """Should give C (only O7, which has an open error) 0.0 — a value judged against its
    target — not null, for TT1, BC1 and DT2, whose denominators C has."""
    got = {r["indicator"]: r for r in rows(world.engine, "2025", "21031")}
    assert (got["TT1"]["numerator"], got["TT1"]["value"], got["TT1"]["status"]) == (
        0,
        0.0,
        "not_met",
    )
    assert (got["BC1"]["value"], got["BC1"]["status"]) == (0.0, "not_met")
    assert (got["DT2"]["numerator"], got["DT2"]["denominator"], got["DT2"]["value"]) == (
        0,
        30,
        0.0,
    )
    assert (got["HD1"]["value"], got["HD1"]["status"]) == (0, "no_target")


def test_indicators__half_up_rounding(world: World) -> None:
    """Should round E's DT2 for 2025, 1/16 = 6.25 %, half up to 6.3 (not to even, 6.2)."""
    got = {r["indicator"]: r for r in rows(world.engine, "2025", "26737")}
    assert (got["DT2"]["numerator"], got["DT2"]["denominator"], got["DT2"]["value"]) == (
        1,
        16,
        6.3,
    )


def test_indicators__tt2_counts_months_that_have_begun(world: World) -> None:
    """Should divide TT2 by the months of the period begun by today (2026-11-20): 11 in 2026,
    2 in 2026Q4, none in 2027 (a zero denominator: no_data)."""
    tt2 = {
        period: next(r for r in rows(world.engine, period, "VN") if r["indicator"] == "TT2")
        for period in ("2026", "2026Q4", "2027")
    }
    assert (tt2["2026"]["numerator"], tt2["2026"]["denominator"], tt2["2026"]["value"]) == (
        1,
        11,
        9.1,
    )
    assert (tt2["2026Q4"]["denominator"], tt2["2026Q4"]["value"]) == (2, 0.0)
    assert (tt2["2027"]["denominator"], tt2["2027"]["value"], tt2["2027"]["status"]) == (
        0,
        None,
        "no_data",
    )


def test_indicators__any_period_on_demand(world: World) -> None:
    """Should compute a period that is not stored (2024-2025) from the same data: the
    outreach of 2024-2025 is O1, O2, O3, O4, O8 and O10."""
    hd1 = next(r for r in rows(world.engine, "2024-2025", "VN") if r["indicator"] == "HD1")
    assert (hd1["numerator"], hd1["value"]) == (6, 6)


def test_indicators__level_lists_units_under_the_org(world: World) -> None:
    """Should give one row per indicator for each commune of 51 (A, B, C), in code order."""
    got = rows(world.engine, "2025", "51", "commune")
    assert [r["org_unit"] for r in got[::15]] == ["21025", "21028", "21031"]
    assert got[:15] == expected("21025", "2025")
    assert len(got) == 45
