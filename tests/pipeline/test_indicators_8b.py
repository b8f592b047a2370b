"""Every indicator of DESIGN §8b on a hand-made dataset (tests/pipeline/handmade_8b.py), compared
with `pcmd indicators` at commune (A = 21025), province (51) and country level for a month, a
quarter and a year. The expected values are worked out by hand from the records listed in
handmade_8b.py; the reasoning for each is in the comments.

Columns: indicator, numerator, denominator, value, target, status; "-" is null.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from pcmd.ingest.files import FileStore
from pcmd.pipeline.run import run_pipeline
from pcmd.settings import Settings
from tests.pipeline.handmade_8b import TODAY, World8b, build_world_8b

SHOWN = ("TG1", "TG2", "TG3", "TP1", "TP2", "HT1", "HT2", "KH1", "KH2", "BC2", "BC1")
PERCENT = {"TG1", "TP2", "HT1", "KH1", "KH2", "BC2", "BC1"}

EXPECTED: dict[tuple[str, str], str] = {
    # A, March 2026 (computed on demand: a commune's month is not stored). No case received;
    # TP1 0 (M4: nothing to report) against 0 in March 2025: no TP2. HT1: P1 (S2; S3 is not
    # in need) over 4. Plans of 2026: A's L1, not integrated. M4 on time. BC1: M4, S2, S3.
    ("21025", "202603"): """
        TG1  0  0  -      -    no_data
        TG2  0  -  0      -    no_target
        TG3  0  -  0      -    no_target
        TP1  0  -  0      -    no_target
        TP2  0  0  -      -    no_data
        HT1  1  4  25.0   -    no_target
        HT2  2  -  2      -    no_target
        KH1  1  1  100.0  -    no_target
        KH2  0  1  0.0    -    no_target
        BC2  1  1  100.0  -    no_target
        BC1  1  1  100.0  -    no_target
    """,
    # A, 2026Q1 (R = 03-31): K1 due and handled in time; K2 extended to 04-10 and handled
    # 04-01, after R: not due. TP1 = M1 2 + M3 4 (M2 replaced) + M4 0 = 6, against M8's 2 in
    # 2025Q1: +200 %. HT2: S1 S2 S3. BC2: January on time, February late (its first report,
    # M2, on 03-10), March on time: 2 of 3.
    ("21025", "2026Q1"): """
        TG1  1  1  100.0  -    no_target
        TG2  2  -  2      -    no_target
        TG3  0  -  0      -    no_target
        TP1  6  -  6      -    no_target
        TP2  6  2  200.0  -    no_target
        HT1  1  4  25.0   -    no_target
        HT2  3  -  3      -    no_target
        KH1  1  1  100.0  -    no_target
        KH2  0  1  0.0    -    no_target
        BC2  2  3  66.7   -    no_target
        BC1  1  1  100.0  -    no_target
    """,
    # A, 2026 (R = today, 2026-11-20): K1 and K2 both due and in time. BC2: 2 on time of the
    # 10 ended months (January–October). Annual targets.
    ("21025", "2026"): """
        TG1  2  2  100.0  100.0  met
        TG2  2  -  2      -      no_target
        TG3  0  -  0      -      no_target
        TP1  6  -  6      -      no_target
        TP2  6  2  200.0  3.0    met
        HT1  1  4  25.0   60.0   not_met
        HT2  3  -  3      -      no_target
        KH1  1  1  100.0  100.0  met
        KH2  0  1  0.0    50.0   not_met
        BC2  2  10 20.0   100.0  not_met
        BC1  1  1  100.0  100.0  met
    """,
    # 51, March 2026: K3 (D 03-21) handled 03-28: due, late; K4 (D 04-04) not due at 03-31.
    # TP1 = B 3 against B's 4 of March 2025: −25 %. HT1: P1 over A 4 + B 2. Plans: A, B (L3,
    # received after L2) of 3 communes; integrating: B. BC2: A, B on time, C (04-20) late.
    # BC1: A, B, C (its only record: M7, nothing to report).
    ("51", "202603"): """
        TG1  0  1  0.0    -    no_target
        TG2  2  -  2      -    no_target
        TG3  0  -  0      -    no_target
        TP1  3  -  3      -    no_target
        TP2  3  4  -25.0  -    no_target
        HT1  1  6  16.7   -    no_target
        HT2  2  -  2      -    no_target
        KH1  2  3  66.7   -    no_target
        KH2  1  3  33.3   -    no_target
        BC2  2  3  66.7   -    no_target
        BC1  3  3  100.0  -    no_target
    """,
    # 51, 2026Q1: due K1 (in time), K3 (late); K7 is rejected. TP1 9 against 2 + 4 = 6: +50 %.
    # HT2: S1–S4. BC2: A 2 + B 1 of 3 communes × 3 months.
    ("51", "2026Q1"): """
        TG1  1  2  50.0   -    no_target
        TG2  4  -  4      -    no_target
        TG3  0  -  0      -    no_target
        TP1  9  -  9      -    no_target
        TP2  9  6  50.0   -    no_target
        HT1  1  6  16.7   -    no_target
        HT2  4  -  4      -    no_target
        KH1  2  3  66.7   -    no_target
        KH2  1  3  33.3   -    no_target
        BC2  3  9  33.3   -    no_target
        BC1  3  3  100.0  -    no_target
    """,
    # 51, 2026: due K1, K2 (in time), K3 (late), K4 (overdue since 04-05, never handled).
    ("51", "2026"): """
        TG1  2  4  50.0   100.0  not_met
        TG2  4  -  4      -      no_target
        TG3  1  -  1      -      no_target
        TP1  9  -  9      -      no_target
        TP2  9  6  50.0   3.0    met
        HT1  1  6  16.7   60.0   not_met
        HT2  4  -  4      -      no_target
        KH1  2  3  66.7   100.0  not_met
        KH2  1  3  33.3   50.0   not_met
        BC2  3  30 10.0   100.0  not_met
        BC1  3  3  100.0  100.0  met
    """,
    # VN, March 2026: + D (M6 late by half an hour: 04-06 00:30; prosecuted 5; S5 P3). TP1 8
    # against 4: +100 %. HT1: P1, P3 over 6 + 79's own 10. Plans: A, B, D of 5; integrating
    # B, D. BC2: A, B of 5. BC1: A, B, C, D.
    ("VN", "202603"): """
        TG1  0  1  0.0    -    no_target
        TG2  2  -  2      -    no_target
        TG3  0  -  0      -    no_target
        TP1  8  -  8      -    no_target
        TP2  8  4  100.0  -    no_target
        HT1  2  16 12.5   -    no_target
        HT2  3  -  3      -    no_target
        KH1  3  5  60.0   -    no_target
        KH2  2  5  40.0   -    no_target
        BC2  2  5  40.0   -    no_target
        BC1  4  5  80.0   -    no_target
    """,
    # VN, 2026Q1: due K1, K3, K5 (D 02-09: its gia_han of 02-20 came too late to extend it;
    # transferred 02-05, in time). TP1 14 against 6: 133.33… → 133.3.
    ("VN", "2026Q1"): """
        TG1  2  3  66.7   -    no_target
        TG2  5  -  5      -    no_target
        TG3  0  -  0      -    no_target
        TP1  14 -  14     -    no_target
        TP2  14 6  133.3  -    no_target
        HT1  2  16 12.5   -    no_target
        HT2  5  -  5      -    no_target
        KH1  3  5  60.0   -    no_target
        KH2  2  5  40.0   -    no_target
        BC2  3  15 20.0   -    no_target
        BC1  4  5  80.0   -    no_target
    """,
    # VN, 2026: due K1, K2, K5 (in time), K3 (late), K4 (overdue); K6 (D 11-30) not yet due on
    # 11-20 but received (TG2). E reports only K6: BC1 5 of 5.
    ("VN", "2026"): """
        TG1  3  5  60.0   100.0  not_met
        TG2  6  -  6      -      no_target
        TG3  1  -  1      -      no_target
        TP1  14 -  14     -      no_target
        TP2  14 6  133.3  3.0    met
        HT1  2  16 12.5   60.0   not_met
        HT2  5  -  5      -      no_target
        KH1  3  5  60.0   100.0  not_met
        KH2  2  5  40.0   50.0   not_met
        BC2  3  50 6.0    100.0  not_met
        BC1  5  5  100.0  100.0  met
    """,
}


def _cell(text: str) -> Any:
    if text == "-":
        return None
    if "." in text:
        return float(text)
    if text.lstrip("-").isdigit():
        return int(text)
    return text


def expected(org: str, period: str) -> list[dict[str, Any]]:
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
                "unit": "percent" if ind in PERCENT else "count",
                "target": target,
                "status": status,
            }
        )
    return out


def cli_rows(settings: Settings, period: str, org: str) -> list[dict[str, Any]]:
    """`pcmd indicators --period P --org O --format json`, as a user runs it."""
    from pcmd.cli.main import cli

    result = CliRunner().invoke(
        cli,
        ["indicators", "--period", period, "--org", org, "--format", "json"],
        env={"PCMD_DATA_DIR": str(settings.data_dir), "PCMD_DATABASE_URL": settings.database_url},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    got = {r["indicator"]: r for r in json.loads(result.output)}
    return [got[i] for i in SHOWN]


@pytest.fixture
def world(settings: Settings, engine: Engine, no_validation: None) -> World8b:
    built = build_world_8b(engine, FileStore(settings.data_dir / "attachments"))
    run_pipeline(engine, today=TODAY)
    return built


def rows(engine: Engine, period: str, org: str) -> list[dict[str, Any]]:
    from pcmd.pipeline.indicators.query import indicator_rows

    got = {r["indicator"]: r for r in indicator_rows(engine, period=period, org=org, today=TODAY)}
    return [got[i] for i in SHOWN]


# --- tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("org", "period"), sorted(EXPECTED))
def test_indicators_8b__handmade__every_indicator_as_worked_out(
    world: World8b, settings: Settings, org: str, period: str
) -> None:
    """Should give, for each §8b indicator and BC1, exactly the numbers worked out by hand —
    read through the query layer and printed by `pcmd indicators`."""
    assert rows(world.engine, period, org) == expected(org, period)
    assert cli_rows(settings, period, org) == expected(org, period)


def test_indicators_8b__full_run_again__same_values(world: World8b) -> None:
    """Should give the same numbers after `pcmd pipeline run --full` as after the first run
    (the groups — a commune-month's reports, a case's steps — worked out from scratch)."""
    run_pipeline(world.engine, full=True, today=TODAY)
    for org, period in EXPECTED:
        assert rows(world.engine, period, org) == expected(org, period)


def test_indicators_8b__tp2_over_a_multi_year_period__no_value(world: World8b) -> None:
    """Should give TP2 no value over 2021-2025 (a multi-year period has no same period a year
    earlier), while TP1 there is M8 2 + M9 4 = 6."""
    got = {r["indicator"]: r for r in rows(world.engine, "2021-2025", "VN")}
    assert (got["TP1"]["numerator"], got["TP1"]["value"]) == (6, 6)
    tp2 = got["TP2"]
    assert (tp2["numerator"], tp2["denominator"], tp2["value"], tp2["status"]) == (
        6,
        None,
        None,
        "no_data",
    )


def test_indicators_8b__last_report_rejected__the_one_before_counts(world: World8b) -> None:
    """Should count M2 (prosecuted 1) for A's February once M3, received after it, is
    rejected: A's 2026Q1 TP1 = M1 2 + M2 1 + M4 0 = 3; TP2 (3 − 2) / 2 = 50 %."""
    world.reject("M3")
    run_pipeline(world.engine, today=TODAY)
    got = {r["indicator"]: r for r in rows(world.engine, "2026Q1", "21025")}
    assert (got["TP1"]["value"], got["TP2"]["value"]) == (3, 50.0)
    # BC2 still judges February by its first report, M2 (late): 2 of 3
    assert (got["BC2"]["numerator"], got["BC2"]["denominator"]) == (2, 3)


def test_indicators_8b__extension_rejected__case_overdue(world: World8b) -> None:
    """Should bring K2's deadline back to 02-10 + 20 days = 03-02 once its gia_han step is
    rejected: on 2026Q1's reference day (03-31) K2 is due and not handled (H = 04-01), so A's
    TG1 = K1 of K1, K2 = 50 % and TG3 = 1; over 2026 K2 is handled late: TG1 1 of 2."""
    world.reject("K2a")
    run_pipeline(world.engine, today=TODAY)
    q1 = {r["indicator"]: r for r in rows(world.engine, "2026Q1", "21025")}
    assert (q1["TG1"]["numerator"], q1["TG1"]["denominator"], q1["TG1"]["value"]) == (1, 2, 50.0)
    assert q1["TG3"]["value"] == 1
    year = {r["indicator"]: r for r in rows(world.engine, "2026", "21025")}
    assert (year["TG1"]["numerator"], year["TG1"]["denominator"], year["TG3"]["value"]) == (
        1,
        2,
        0,
    )


def test_indicators_8b__next_day__deadlines_judged_again(world: World8b) -> None:
    """Should judge deadlines on the new day without any new record: on 2026-12-01 K6
    (received 11-10, D 11-30, not handled) is overdue — VN 2026 TG3 = K4, K6 = 2 and TG1 =
    3 of 6 = 50 %; November has ended, so BC2 has 11 months: 3 of 55 = 5.5 %."""
    summary = run_pipeline(world.engine, today=TODAY.replace(month=12, day=1))
    assert summary.values_written > 0
    from pcmd.pipeline.indicators.query import indicator_rows

    got = {
        r["indicator"]: r
        for r in indicator_rows(world.engine, period="2026", org="VN", today=TODAY)
    }
    assert got["TG3"]["value"] == 2
    assert (got["TG1"]["numerator"], got["TG1"]["denominator"], got["TG1"]["value"]) == (
        3,
        6,
        50.0,
    )
    assert (got["BC2"]["numerator"], got["BC2"]["denominator"], got["BC2"]["value"]) == (
        3,
        55,
        5.5,
    )
