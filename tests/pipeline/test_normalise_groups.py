"""The pure rules of normalise_groups.py: a case's deadline (DESIGN §8b) and a monthly report's
due day and receipt date in Vietnam time."""

from __future__ import annotations

import datetime as dt

from pcmd.pipeline.normalise_groups import deadline_of, report_due, vietnam_date

D = dt.date


def test_deadline_of__twenty_days_unless_extended_within_them() -> None:
    received = D(2026, 3, 14)
    assert deadline_of(received, []) == (D(2026, 4, 3), False)
    # a gia_han step on the 20th day extends by two calendar months
    assert deadline_of(received, [D(2026, 4, 3)]) == (D(2026, 5, 14), True)
    # one day later it comes too late
    assert deadline_of(received, [D(2026, 4, 4)]) == (D(2026, 4, 3), False)


def test_deadline_of__two_months_clamped_to_the_month_end() -> None:
    assert deadline_of(D(2025, 12, 31), [D(2026, 1, 5)]) == (D(2026, 2, 28), True)
    assert deadline_of(D(2027, 12, 31), [D(2028, 1, 5)]) == (D(2028, 2, 29), True)  # leap year
    assert deadline_of(D(2026, 8, 31), [D(2026, 9, 1)]) == (D(2026, 10, 31), True)


def test_report_due__fifth_of_the_next_month() -> None:
    assert report_due(D(2026, 3, 1)) == D(2026, 4, 5)
    assert report_due(D(2026, 12, 1)) == D(2027, 1, 5)


def test_vietnam_date__utc_seven_hours_behind() -> None:
    # 16:59 UTC on the 5th is 23:59 in Vietnam; 17:00 UTC is already the 6th there
    assert vietnam_date(dt.datetime(2026, 4, 5, 16, 59, tzinfo=dt.UTC)) == D(2026, 4, 5)
    assert vietnam_date(dt.datetime(2026, 4, 5, 17, 0, tzinfo=dt.UTC)) == D(2026, 4, 6)
    # a stored time without a zone is UTC (SQLite gives it back so)
    assert vietnam_date(dt.datetime(2026, 4, 5, 17, 0)) == D(2026, 4, 6)
