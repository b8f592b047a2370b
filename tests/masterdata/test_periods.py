"""Periods: the four forms, their days, containment and months. Pure; no database."""

from __future__ import annotations

import datetime as dt

import pytest

from pcmd.errors import PipelineError
from pcmd.masterdata.periods import (
    Period,
    PeriodError,
    is_period,
    month_of,
    months_between,
    parse_period,
    periods_of,
    quarter_of,
    year_of,
)

D = dt.date


@pytest.mark.parametrize(
    ("code", "kind", "start", "end"),
    [
        ("202607", "month", D(2026, 7, 1), D(2026, 7, 31)),
        ("202402", "month", D(2024, 2, 1), D(2024, 2, 29)),  # leap year
        ("202502", "month", D(2025, 2, 1), D(2025, 2, 28)),
        ("202512", "month", D(2025, 12, 1), D(2025, 12, 31)),
        ("2026Q1", "quarter", D(2026, 1, 1), D(2026, 3, 31)),
        ("2026Q2", "quarter", D(2026, 4, 1), D(2026, 6, 30)),
        ("2026Q3", "quarter", D(2026, 7, 1), D(2026, 9, 30)),
        ("2026Q4", "quarter", D(2026, 10, 1), D(2026, 12, 31)),
        ("2025", "year", D(2025, 1, 1), D(2025, 12, 31)),
        ("2021-2025", "years", D(2021, 1, 1), D(2025, 12, 31)),
        ("2026-2026", "years", D(2026, 1, 1), D(2026, 12, 31)),
    ],
)
def test_parse_period__each_form__days(code: str, kind: str, start: dt.date, end: dt.date) -> None:
    assert parse_period(code) == Period(code, kind, start, end)  # type: ignore[arg-type]


def test_parse_period__lenient_input__canonical_code() -> None:
    assert parse_period(" 2026q3 ").code == "2026Q3"
    assert parse_period("2021-2025\n").code == "2021-2025"


@pytest.mark.parametrize(
    ("code", "says"),
    [
        ("202613", "no month 13"),
        ("202600", "no month 00"),
        ("2026Q5", "no quarter 5"),
        ("2026Q0", "no quarter 0"),
        ("2025-2021", "ends before it starts"),
        ("0225", "year 225 is outside 1900–2100"),
        ("2021-3025", "year 3025 is outside"),
        ("2026-07", "invalid period"),
        ("26Q1", "invalid period"),
        ("2026S1", "invalid period"),
        ("2026W12", "invalid period"),
        ("", "invalid period"),
        ("20261", "invalid period"),
    ],
)
def test_parse_period__bad_code__says_why_and_forms(code: str, says: str) -> None:
    with pytest.raises(PeriodError, match=says) as err:
        parse_period(code)
    assert isinstance(err.value, PipelineError)  # one line in the CLI, no traceback
    assert isinstance(err.value, ValueError)
    assert not is_period(code)


def test_parse_period__invalid__lists_accepted_forms() -> None:
    with pytest.raises(PeriodError) as err:
        parse_period("Q3/2026")
    assert "YYYYMM" in str(err.value)
    assert "YYYY-YYYY" in str(err.value)


def test_period__contains__bounds_inclusive() -> None:
    q3 = parse_period("2026Q3")
    assert not q3.contains(D(2026, 6, 30))
    assert q3.contains(D(2026, 7, 1))
    assert q3.contains(D(2026, 9, 30))
    assert not q3.contains(D(2026, 10, 1))
    programme = parse_period("2021-2025")
    assert programme.contains(D(2021, 1, 1))
    assert programme.contains(D(2025, 12, 31))
    assert not programme.contains(D(2026, 1, 1))


def test_period__covers__nested_and_overlapping() -> None:
    year, q3, aug = parse_period("2026"), parse_period("2026Q3"), parse_period("202608")
    assert year.covers(q3)
    assert q3.covers(aug)
    assert year.covers(year)
    assert not q3.covers(year)
    assert not parse_period("2021-2025").covers(parse_period("2025-2026"))
    assert parse_period("2021-2025").covers(parse_period("2023"))


def test_period__months__each_kind() -> None:
    assert parse_period("202602").months() == ["202602"]
    assert parse_period("2026Q4").months() == ["202610", "202611", "202612"]
    assert len(parse_period("2026").months()) == 12
    months = parse_period("2021-2025").months()
    assert (len(months), months[0], months[-1]) == (60, "202101", "202512")


def test_period__months_begun__up_to_current_month() -> None:
    year = parse_period("2026")
    assert year.months_begun(D(2025, 12, 31)) == []
    assert year.months_begun(D(2026, 1, 1)) == ["202601"]
    assert year.months_begun(D(2026, 3, 15)) == ["202601", "202602", "202603"]
    assert len(year.months_begun(D(2027, 5, 1))) == 12


def test_period__years_and_last_year() -> None:
    assert parse_period("2021-2025").years() == [2021, 2022, 2023, 2024, 2025]
    assert parse_period("2025-2026").last_year == 2026
    assert parse_period("2026Q3").last_year == 2026
    assert parse_period("202612").first_year == 2026


def test_period__sort_key__chronological_longer_first() -> None:
    codes = ["202607", "2026Q3", "2026", "2021-2025", "2026Q1", "202601"]
    ordered = sorted((parse_period(c) for c in codes), key=Period.sort_key)
    assert [p.code for p in ordered] == [
        "2021-2025",
        "2026",
        "2026Q1",
        "202601",
        "2026Q3",
        "202607",
    ]


def test_periods_of__date__month_quarter_year() -> None:
    day = D(2026, 8, 31)
    assert (month_of(day), quarter_of(day), year_of(day)) == ("202608", "2026Q3", "2026")
    assert periods_of(D(2025, 12, 31)) == ["202512", "2025Q4", "2025"]
    assert periods_of(D(2026, 1, 1)) == ["202601", "2026Q1", "2026"]
    for code in periods_of(day):
        assert parse_period(code).contains(day)


def test_months_between__inclusive_and_empty() -> None:
    assert months_between(D(2025, 11, 30), D(2026, 2, 1)) == [
        "202511",
        "202512",
        "202601",
        "202602",
    ]
    assert months_between(D(2026, 2, 1), D(2026, 1, 31)) == []
