"""Which months a part reads for a period: the same period one year earlier or the calendar
year of its end (`period = "year_before" | "last_year"`), and the months a windowed part
counts (`months = "ended"`, `since`) — the periods behind TP2, KH1/KH2 and BC2 (DESIGN §8b)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from pcmd.masterdata.periods import Period, parse_period
from pcmd.pipeline.indicators.model import Part


def shifted(period: Period, shift: str | None) -> Period | None:
    """The period a part with `period = shift` reads for `period`; None when there is none
    (a multi-year period has no same period a year earlier)."""
    if shift is None:
        return period
    if shift == "last_year":
        return parse_period(str(period.last_year))
    if shift == "year_before":
        if period.kind == "years":
            return None
        code = period.code
        year = int(code[:4]) - 1
        if year < 1:
            return None
        earlier = parse_period(f"{year:04d}{code[4:]}")
        if period.end != parse_period(code).end:
            # a span shorter than its code (a year to date: January to a quarter's or month's
            # end, year_to_date.py) compares with the same span a year earlier
            end = dt.date(year, period.end.month, 1) + dt.timedelta(days=31)
            end = end.replace(day=1) - dt.timedelta(days=1)
            return Period(earlier.code, earlier.kind, earlier.start, end)
        return earlier
    raise ValueError(f"unknown period shift {shift!r}")


def months_read(period: Period, shifts: Iterable[str]) -> set[int]:
    """The months (YYYYMM) whose records the period's values read: its own and those of every
    shifted period (incremental runs recompute a period when any of them changes)."""
    out = {int(m) for m in period.months()}
    for shift in shifts:
        other = shifted(period, shift)
        if other is not None:
            out.update(int(m) for m in other.months())
    return out


def last_ended_month(today: dt.date) -> int:
    """The latest month (YYYYMM) whose last day is before `today`."""
    first = today.replace(day=1)
    previous = first - dt.timedelta(days=1)
    return previous.year * 100 + previous.month


def window(part: Part, period: Period, today: dt.date) -> tuple[int, int]:
    """The months [lo, hi] (YYYYMM) of `period` the part counts: all of them, or with
    `months = "ended"` only those ended by `today` and not before `since`."""
    lo = period.start.year * 100 + period.start.month
    hi = period.end.year * 100 + period.end.month
    if part.months == "ended":
        hi = min(hi, last_ended_month(today))
        if part.since is not None:
            lo = max(lo, part.since)
    return lo, hi


def count_months(lo: int, hi: int) -> int:
    if hi < lo:
        return 0
    return (hi // 100 - lo // 100) * 12 + hi % 100 - lo % 100 + 1
