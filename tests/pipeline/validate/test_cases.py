"""CASE_001 (a step dated before its case was received) and PLAN_001 (a plan's year outside
2021 – next year), on data typed as ingest types it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pcmd.pipeline.validate.catalogue import check_record
from pcmd.pipeline.validate.context import RuleContext
from tests.pipeline.validate.records import LOOKUPS, TODAY, D, binds

CASE_ID = "0f6a2a4e-7d1c-4a55-9d55-1d2b3c4d5e6f"
LOOKUPS_WITH_CASE = replace(LOOKUPS, cases={CASE_ID: D(2026, 3, 14)})


def found(form_id: str, data: dict[str, Any], code: str) -> list[tuple[str | None, str, str]]:
    ctx = RuleContext(form_id, LOOKUPS_WITH_CASE, TODAY, binds(form_id))
    return [
        (i.field_path, i.message_vi, i.message_en)
        for i in check_record(data, ctx)
        if i.rule == code
    ]


def step(day: str, case: str = CASE_ID) -> dict[str, Any]:
    return {
        "where/province": "51",
        "where/commune": "21025",
        "reporter_org": "cong_an",
        "case": case,
        "step": "xac_minh",
        "step_date": day,
    }


def test_case_001__step_before_received__error_naming_both_dates() -> None:
    got = found("pcmd_case_update", step("2026-03-13"), "CASE_001")
    assert [g[0] for g in got] == ["step_date"]
    _field, vi, en = got[0]
    assert "Ngày 2026-03-13 trước ngày tiếp nhận vụ việc (2026-03-14)" in vi
    assert "Cách sửa" in vi
    assert "before the case was received (2026-03-14)" in en


def test_case_001__same_day_or_unknown_case__nothing() -> None:
    assert found("pcmd_case_update", step("2026-03-14"), "CASE_001") == []
    # a case pcmd does not hold (rejected, or not arrived yet) cannot be compared
    assert found("pcmd_case_update", step("2020-01-01", case="other"), "CASE_001") == []


def plan(year: int) -> dict[str, Any]:
    return {
        "where/province": "51",
        "where/commune": "21025",
        "reporter_org": "van_hoa_xa_hoi",
        "year": year,
        "plan_issued": "yes",
        "integrated_with": "khong",
    }


def test_plan_001__year_outside_2021_to_next_year__error() -> None:
    # today is 2026-11-23: plans for 2021 … 2027
    assert [g[0] for g in found("pcmd_plan", plan(2020), "PLAN_001")] == ["year"]
    assert [g[0] for g in found("pcmd_plan", plan(2028), "PLAN_001")] == ["year"]
    assert "2021" in found("pcmd_plan", plan(2028), "PLAN_001")[0][2]
    assert found("pcmd_plan", plan(2021), "PLAN_001") == []
    assert found("pcmd_plan", plan(2027), "PLAN_001") == []
