"""Targets import: indicators of the programmes in use, canonical periods, upsert,
line-numbered errors."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import Engine, select

from pcmd.db.engine import transaction
from pcmd.db.models import ProgrammeFile, Target
from pcmd.errors import ImportFileError
from pcmd.masterdata.csvfile import ImportResult
from pcmd.masterdata.targets import import_targets
from pcmd.pipeline.indicators.programme import EXAMPLE_PLAN, shipped_text
from pcmd.pipeline.programmes import programme_indicators
from tests.masterdata.conftest import problems


def target_rows(engine: Engine) -> dict[tuple[str, str, str], float]:
    with transaction(engine) as s:
        rows = s.execute(select(Target.indicator, Target.org_code, Target.period, Target.target))
        return {(i, o, p): t for i, o, p, t in rows}


def test_import_targets__indicators_of_programme_1629_by_default(units: Engine) -> None:
    text = "indicator,org_unit,period,target\nTT3A,51,2026,70\ntt1,51,2026,70\nQN1,51,2026,5\n"
    with pytest.raises(ImportFileError) as err, transaction(units) as s:
        import_targets(s, text, "t.csv", indicators=programme_indicators(s))
    found = problems(err)
    assert sorted(found) == [3, 4]
    assert "no indicator tt1 in the programmes in use; known: BC1, BC2, DT1, DT2" in found[3]
    assert "pcmd programmes add" in found[4]


def test_import_targets__indicator_of_a_plan_switched_on__accepted(units: Engine) -> None:
    text = "indicator,org_unit,period,target\nQN1,51,2026,5300\n"
    with pytest.raises(ImportFileError, match="no indicator QN1"), transaction(units) as s:
        import_targets(s, text, "t.csv", indicators=programme_indicators(s))
    plan = shipped_text(EXAMPLE_PLAN)
    with transaction(units) as s:
        s.add(ProgrammeFile(programme="ke_hoach_51_2026", filename=EXAMPLE_PLAN, content=plan,
                            sha256=hashlib.sha256(plan.encode()).hexdigest()))  # fmt: skip
    with transaction(units) as s:
        assert import_targets(s, text, "t.csv", indicators=programme_indicators(s)) == ImportResult(
            1, 0, 0
        )


def test_import_targets__periods_canonical_and_upsert(units: Engine) -> None:
    with transaction(units) as s:
        first = import_targets(
            s,
            "indicator,org_unit,period,target\nTT1,51,2026,80\nKT1,51,2021-2025,100\n"
            "HD1,21025,2026q3,12\n",
            "t.csv",
            indicators=programme_indicators(s),
        )
    with transaction(units) as s:
        second = import_targets(
            s,
            "indicator,org_unit,period,target\nTT1,51,2026,85.5\nKT1,51,2021-2025,100\n",
            "t.csv",
            indicators=programme_indicators(s),
        )
    assert (first, second) == (ImportResult(3, 0, 0), ImportResult(0, 1, 1))
    assert target_rows(units) == {
        ("TT1", "51", "2026"): 85.5,
        ("KT1", "51", "2021-2025"): 100.0,
        ("HD1", "21025", "2026Q3"): 12.0,
    }


def test_import_targets__bad_rows__every_line_reported(units: Engine) -> None:
    text = (
        "indicator,org_unit,period,target\n"
        "TT 1,51,2026,80\n"  # 2 a space in the id
        "TT1,5,2026,80\n"  # 3 unknown unit
        "TT1,51,2026Q5,80\n"  # 4 bad quarter
        "TT1,51,2026,-1\n"  # 5 negative
        "TT1,51,2026,bảy mươi\n"  # 6 not a number
        "TT1,51,2026-07,70\n"  # 7 not a period form
        "TT9,51,2026,70\n"  # 8 not in the programme
        "TT2,51,2026,100\n"  # 9 good
        "TT2,51,2026,90\n"  # 10 repeats 9
    )
    with pytest.raises(ImportFileError) as err, transaction(units) as s:
        import_targets(s, text, "t.csv", indicators={"TT1", "TT2"})
    found = problems(err)
    assert sorted(found) == [2, 3, 4, 5, 6, 7, 8, 10]
    assert "invalid indicator id" in found[2]
    assert "no org unit 5 in force" in found[3]
    assert "no quarter 5" in found[4]
    assert "cannot be negative" in found[5]
    assert "is not a number" in found[6]
    assert "invalid period '2026-07'" in found[7]
    assert "no indicator TT9 in the programmes in use" in found[8]
    assert "repeats line 9" in found[10]
    assert target_rows(units) == {}


def test_import_targets__indicators_of_8b__accepted(units: Engine) -> None:
    """Should take targets for the indicators of DESIGN §8b like any other (a province's
    plan for cases handled, criminal cases, support, plans and monthly reports)."""
    text = (
        "indicator,org_unit,period,target\nTG1,51,2026,100\nTP2,51,2026,5\nHT1,21025,2026Q3,60\n"
        "KH2,51,2026,70\nBC2,51,202603,95\n"
    )
    with transaction(units) as s:
        assert import_targets(s, text, "t.csv", indicators=programme_indicators(s)) == (
            ImportResult(5, 0, 0)
        )
    assert target_rows(units) == {
        ("TG1", "51", "2026"): 100.0,
        ("TP2", "51", "2026"): 5.0,
        ("HT1", "21025", "2026Q3"): 60.0,
        ("KH2", "51", "2026"): 70.0,
        ("BC2", "51", "202603"): 95.0,
    }
