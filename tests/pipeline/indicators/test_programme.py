"""Programme files (DESIGN §8 as data): the shipped one, the example plan, extends and digests."""

from __future__ import annotations

import pytest

from pcmd.pipeline.indicators.model import ProgrammeError
from pcmd.pipeline.indicators.programme import (
    EXAMPLE_PLAN,
    default_programme,
    load_programme,
    resolve_all,
    shipped_text,
)
from tests.pipeline.indicators.test_reader import BASE

NAMES = {
    "TT1": "Tỷ lệ xã, phường, đặc khu tổ chức ít nhất một hình thức tuyên truyền phòng ngừa "
    "mại dâm",
    "KT1": "Tỷ lệ cơ sở kinh doanh dịch vụ dễ phát sinh tệ nạn mại dâm được kiểm tra",
    "HD5": "Tổng số tiền xử phạt (đồng)",
    "BC1": "Tỷ lệ xã, phường, đặc khu có báo cáo",
}


def test_default_programme__design_8() -> None:
    """Should hold the 15 indicators of DESIGN §8 and the 10 of §8b with their names, units
    and targets."""
    p = default_programme()
    assert (p.id, p.period, p.org) == ("pcmd_1629", "2021-2025", "VN")
    assert [i.id for i in p.indicators] == [
        "TT1", "TT2", "TT3A", "TT3B", "TT3C", "KT1", "KT2", "DT1", "DT2",
        "HD1", "HD2", "HD3", "HD4", "HD5", "BC1",
        "TG1", "TG2", "TG3", "TP1", "TP2", "HT1", "HT2", "KH1", "KH2", "BC2",
    ]  # fmt: skip
    for ind_id, name in NAMES.items():
        assert p.indicator(ind_id).name == name
    targets = {i.id: (i.unit, i.target_year, i.target_programme) for i in p.indicators}
    assert targets["TT1"] == ("percent", 70.0, 70.0)
    assert targets["TT2"] == ("percent", 100.0, 100.0)
    assert targets["TT3B"] == ("percent", 60.0, 60.0)
    assert targets["KT1"] == ("percent", 20.0, 100.0)
    assert targets["KT2"] == ("percent", None, None)
    assert targets["DT2"] == ("percent", 50.0, 50.0)
    assert targets["HD2"] == ("count", None, None)
    # DESIGN §8b, names as province staff write them
    assert p.indicator("TG1").name == (
        "Tỷ lệ tố giác, tin báo, khiếu nại, kiến nghị về mại dâm được tiếp nhận, xác minh, xử lý "
        "kịp thời"
    )
    assert p.indicator("TP2").name == (
        "Tỷ lệ tăng số vụ án liên quan đến mại dâm được xử lý so với cùng kỳ"
    )
    assert p.indicator("BC2").name == "Tỷ lệ báo cáo tháng đúng hạn"
    assert targets["TG1"] == ("percent", 100.0, 100.0)
    assert targets["TG2"] == ("count", None, None)
    assert targets["TP2"] == ("percent", 3.0, 3.0)
    assert targets["HT1"] == ("percent", 60.0, 60.0)
    assert targets["KH1"] == ("percent", 100.0, 100.0)
    assert targets["KH2"] == ("percent", 50.0, 50.0)
    assert targets["BC2"] == ("percent", 100.0, 100.0)
    tp2 = p.indicator("TP2")
    assert tp2.formula == "change"
    assert tp2.denominator is not None
    assert (tp2.denominator.kind, tp2.denominator.period) == ("sum", "year_before")
    assert tp2.denominator.fields == tp2.numerator[0].fields == ("crime/n_cases_prosecuted",)
    tt3a = p.indicator("TT3A")
    assert [(part.kind, part.forms, part.fields) for part in tt3a.numerator] == [
        ("sum", ("pcmd_outreach",), ("reach/n_establishment_workers",)),
        ("sum", ("pcmd_inspection",), ("findings/n_workers_informed",)),
    ]
    kt1 = p.indicator("KT1").numerator[0]
    assert (kt1.kind, kt1.field, kt1.status) == ("distinct", "establishment/id", "active")


def test_example_plan__overrides_targets_and_adds_indicators() -> None:
    """Should take 1629's indicators with the plan's targets, limited to 51, plus QN1, QN2."""
    plan = resolve_all([("example_province_plan.toml", shipped_text(EXAMPLE_PLAN))])[
        "ke_hoach_51_2026"
    ]
    assert (plan.extends, plan.org, plan.period) == ("pcmd_1629", "51", "2026")
    ids = [i.id for i in plan.indicators]
    assert ids[:25] == [i.id for i in default_programme().indicators]
    assert ids[25:] == ["QN1", "QN2"]
    assert (plan.indicator("TT1").target_year, plan.indicator("TT1").target_programme) == (
        100.0,
        100.0,
    )
    assert plan.indicator("KT1").target_year == 30.0
    # and for the indicators of §8b
    assert [plan.indicator(i).target_year for i in ("TG1", "TP2", "BC2")] == [100.0, 5.0, 95.0]
    # 1629's programme-period targets were set for 2021-2025: a 2026 plan keeps the annual ones.
    assert (plan.indicator("TT3A").target_year, plan.indicator("TT3A").target_programme) == (
        70.0,
        None,
    )
    kh1 = plan.indicator("QN1")
    assert (kh1.unit, kh1.target_year, kh1.numerator[0].fields) == (
        "count",
        5300.0,
        ("reach/n_general",),
    )


def test_programme_file__extends_errors() -> None:
    """Should refuse a plan whose base is missing, whose [targets] name an indicator the base
    lacks, or which adds an indicator the base already has."""
    plan = (
        '[programme]\nid = "k"\nname = "Kế hoạch"\nextends = "pcmd_1629"\n'
        "[targets]\nZZ9 = { year = 1 }\n"
    )
    with pytest.raises(ProgrammeError, match=r"targets\.ZZ9.*has no indicator ZZ9"):
        resolve_all([("k.toml", plan)])
    with pytest.raises(ProgrammeError, match=r"programme\.extends.*no programme 'nope'"):
        resolve_all([("k.toml", plan.replace("pcmd_1629", "nope"))])
    again = BASE.replace('id = "p"', 'id = "k"\nextends = "pcmd_1629"').replace("X1", "TT1")
    with pytest.raises(ProgrammeError, match=r"TT1 is already in pcmd_1629"):
        resolve_all([("k.toml", again)])
    with pytest.raises(ProgrammeError, match=r"programme id pcmd_1629 is already taken"):
        resolve_all([("k.toml", BASE.replace('id = "p"', 'id = "pcmd_1629"'))])


def test_programme__digest_changes_with_content() -> None:
    """Should give a different digest when a target changes (the pipeline then recomputes)."""
    one = load_programme(BASE, "p.toml", {})
    two = load_programme(
        BASE.replace('kind = "communes" }', 'kind = "communes" }\ntarget = { year = 5 }'),
        "p.toml",
        {},
    )
    assert one.digest != two.digest
    assert one.digest == load_programme(BASE, "elsewhere.toml", {}).digest
