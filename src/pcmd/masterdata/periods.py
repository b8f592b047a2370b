"""Reporting periods, DHIS2 style: `YYYYMM`, `YYYYQn`, `YYYY` and `YYYY-YYYY`.

Pure functions, no database. A record belongs to a period by its activity date, never by when it
was sent. `YYYY-YYYY` is inclusive at both ends (`2021-2025` is the programme period, five years).

    >>> p = parse_period("2026Q3")
    >>> p.start, p.end, p.months()
    (datetime.date(2026, 7, 1), datetime.date(2026, 9, 30), ['202607', '202608', '202609'])

Codes are read forgivingly (spaces around, a lower-case `q`) and always written back in the
canonical form (`Period.code`), so `2026q3` imported in a targets file is stored as `2026Q3`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from pcmd.errors import PipelineError

Kind = Literal["month", "quarter", "year", "years"]

# Years a period may name. Wide enough for any programme (1629 began in 2021, the next runs to
# 2035), narrow enough that a typo such as 0225 or 20255 in an imported file is caught.
MIN_YEAR = 1900
MAX_YEAR = 2100

# Vietnam has one time zone and no daylight saving: "today" for an activity date is today there,
# whatever zone the server runs in (a session at 06:00 in Hà Nội is still yesterday in UTC).
VIETNAM = dt.timezone(dt.timedelta(hours=7), "ICT")

_PATTERNS: tuple[tuple[Kind, re.Pattern[str]], ...] = (
    ("month", re.compile(r"^(\d{4})(\d{2})$")),
    ("quarter", re.compile(r"^(\d{4})Q(\d)$")),
    ("year", re.compile(r"^(\d{4})$")),
    ("years", re.compile(r"^(\d{4})-(\d{4})$")),
)

# How periods of each kind order among themselves when listed together: longer first.
_KIND_RANK: dict[Kind, int] = {"years": 0, "year": 1, "quarter": 2, "month": 3}

FORMATS_HELP = "YYYYMM (202607), YYYYQn (2026Q3), YYYY (2026) hoặc/or YYYY-YYYY (2021-2025)"


class PeriodError(PipelineError, ValueError):
    """A period code that is not one of the four forms, or names an impossible date.

    Also a ValueError, so code that parses a period it built itself can treat it as misuse.
    """


@dataclass(frozen=True)
class Period:
    """A reporting period: its canonical code, kind, and first and last day (both inclusive)."""

    code: str
    kind: Kind
    start: dt.date
    end: dt.date

    def __str__(self) -> str:
        return self.code

    @property
    def first_year(self) -> int:
        return self.start.year

    @property
    def last_year(self) -> int:
        """The year whose reference data a denominator uses."""
        return self.end.year

    def years(self) -> list[int]:
        return list(range(self.start.year, self.end.year + 1))

    def contains(self, day: dt.date) -> bool:
        """Whether a record with this activity date belongs to the period."""
        return self.start <= day <= self.end

    def covers(self, other: Period) -> bool:
        """Whether every day of `other` is in this period (2026 covers 2026Q3 and 202608)."""
        return self.start <= other.start and other.end <= self.end

    def months(self) -> list[str]:
        """The `YYYYMM` codes of every month of the period, in order."""
        return [month_code(y, m) for y, m in _month_range(self.start, self.end)]

    def months_begun(self, today: dt.date) -> list[str]:
        """The months of the period that have begun by `today` (TT2's denominator)."""
        if today < self.start:
            return []
        last = min(self.end, today)
        return [month_code(y, m) for y, m in _month_range(self.start, last)]

    def sort_key(self) -> tuple[dt.date, int, dt.date]:
        """Chronological, and the longer period first when two start on the same day."""
        return (self.start, _KIND_RANK[self.kind], self.end)


def _month_range(start: dt.date, end: dt.date) -> Iterator[tuple[int, int]]:
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _last_day(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _check_year(year: int, code: str) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise PeriodError(
            f"Kỳ {code!r}: năm {year} nằm ngoài {MIN_YEAR}–{MAX_YEAR} (period {code!r}: year "
            f"{year} is outside {MIN_YEAR}–{MAX_YEAR}). Fix: check the year for a typo."
        )


def parse_period(code: str) -> Period:
    """Read a period code; raise PeriodError with the accepted forms when it is not one."""
    text = code.strip().upper()
    for kind, pattern in _PATTERNS:
        match = pattern.match(text)
        if match is None:
            continue
        year = int(match.group(1))
        _check_year(year, code)
        if kind == "month":
            month = int(match.group(2))
            if not 1 <= month <= 12:
                raise PeriodError(
                    f"Kỳ {code!r}: tháng {month:02d} không có (period {code!r}: there is no "
                    f"month {month:02d}). Fix: months are 01–12, e.g. {year}07."
                )
            return Period(
                month_code(year, month), kind, dt.date(year, month, 1), _last_day(year, month)
            )
        if kind == "quarter":
            quarter = int(match.group(2))
            if not 1 <= quarter <= 4:
                raise PeriodError(
                    f"Kỳ {code!r}: quý {quarter} không có (period {code!r}: there is no quarter "
                    f"{quarter}). Fix: quarters are Q1–Q4, e.g. {year}Q3."
                )
            first = 3 * quarter - 2
            return Period(
                f"{year}Q{quarter}", kind, dt.date(year, first, 1), _last_day(year, first + 2)
            )
        if kind == "year":
            return Period(str(year), kind, dt.date(year, 1, 1), dt.date(year, 12, 31))
        last = int(match.group(2))
        _check_year(last, code)
        if last < year:
            raise PeriodError(
                f"Kỳ {code!r}: năm cuối trước năm đầu (period {code!r} ends before it starts). "
                f"Fix: write the earlier year first, e.g. {last}-{year}."
            )
        return Period(f"{year}-{last}", kind, dt.date(year, 1, 1), dt.date(last, 12, 31))
    raise PeriodError(
        f"Kỳ báo cáo {code!r} không hợp lệ (invalid period {code!r}). Dùng/use {FORMATS_HELP}."
    )


def is_period(code: str) -> bool:
    """Whether `code` parses as a period."""
    try:
        parse_period(code)
    except PeriodError:
        return False
    return True


def month_code(year: int, month: int) -> str:
    return f"{year:04d}{month:02d}"


def month_of(day: dt.date) -> str:
    return month_code(day.year, day.month)


def quarter_of(day: dt.date) -> str:
    return f"{day.year:04d}Q{(day.month - 1) // 3 + 1}"


def year_of(day: dt.date) -> str:
    return f"{day.year:04d}"


def periods_of(day: dt.date) -> list[str]:
    """The month, quarter and year a date belongs to: what a new record touches.

    Multi-year periods are open-ended (any `YYYY-YYYY` around the date), so the caller checks the
    ones it keeps, e.g. the programme period, with `Period.contains`.
    """
    return [month_of(day), quarter_of(day), year_of(day)]


def months_between(start: dt.date, end: dt.date) -> list[str]:
    """`YYYYMM` codes of every month from `start`'s to `end`'s, inclusive; [] if end < start."""
    if end < start:
        return []
    return [month_code(y, m) for y, m in _month_range(start, end)]


def vietnam_today() -> dt.date:
    """Today in Vietnam (one time zone, no daylight saving), whatever zone the server is in."""
    return dt.datetime.now(VIETNAM).date()
