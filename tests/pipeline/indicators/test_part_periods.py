"""Which period a shifted part reads, and the months a windowed part counts (part_periods.py)."""

from __future__ import annotations

import datetime as dt

from pcmd.masterdata.periods import parse_period
from pcmd.pipeline.indicators.model import Part
from pcmd.pipeline.indicators.part_periods import (
    count_months,
    last_ended_month,
    months_read,
    shifted,
    window,
)


def code(period: str, shift: str) -> str | None:
    got = shifted(parse_period(period), shift)
    return None if got is None else got.code


def test_shifted__year_before_and_last_year() -> None:
    assert [code(p, "year_before") for p in ("202603", "2026Q1", "2026", "2021-2025")] == [
        "202503",
        "2025Q1",
        "2025",
        None,  # a multi-year period has no same period a year earlier
    ]
    assert [code(p, "last_year") for p in ("202603", "2026Q4", "2026", "2021-2025")] == [
        "2026",
        "2026",
        "2026",
        "2025",
    ]


def test_months_read__own_and_shifted() -> None:
    got = months_read(parse_period("2026Q1"), ["year_before"])
    assert got == {202601, 202602, 202603, 202501, 202502, 202503}
    assert 202601 in months_read(parse_period("202605"), ["last_year"])


def test_window__ended_months_since() -> None:
    ended = Part("records", forms=("pcmd_monthly",), months="ended", since=202507)
    today = dt.date(2026, 11, 20)
    assert last_ended_month(today) == 202610
    assert last_ended_month(dt.date(2026, 1, 1)) == 202512
    assert window(ended, parse_period("2026"), today) == (202601, 202610)
    assert window(ended, parse_period("2025"), today) == (202507, 202512)
    assert window(ended, parse_period("2021-2025"), today) == (202507, 202512)
    lo, hi = window(ended, parse_period("2026Q4"), today)
    assert (lo, hi, count_months(lo, hi)) == (202610, 202610, 1)
    lo, hi = window(ended, parse_period("2025Q1"), today)
    assert count_months(lo, hi) == 0  # before July 2025
    plain = Part("records", forms=("pcmd_monthly",))
    assert window(plain, parse_period("2026Q4"), today) == (202610, 202612)
