"""Data-quality views: a commune × month grid of reporting, completeness and timeliness.

Pure functions over rows the caller loads: (commune, activity date, submitted at). A record is
timely when it reached the server within TIMELY_DAYS days of its activity date (DHIS2's
"timely" idea, counted per record because field activities are not monthly reports).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pcmd.masterdata.periods import VIETNAM

TIMELY_DAYS = 5


def local_date(moment: dt.datetime) -> dt.date:
    """The date in Vietnam of a server timestamp (stored in UTC; naive ones are UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(VIETNAM).date()


@dataclass
class CommuneQuality:
    code: str
    name: str
    by_month: dict[str, int] = field(default_factory=dict)  # YYYYMM → records
    timely: int = 0
    late: int = 0

    @property
    def records(self) -> int:
        return sum(self.by_month.values())

    def months_reporting(self, months: Sequence[str]) -> int:
        return sum(1 for m in months if self.by_month.get(m))

    def completeness(self, months: Sequence[str]) -> float | None:
        """Percent of the months that have begun with at least one record."""
        if not months:
            return None
        return 100 * self.months_reporting(months) / len(months)

    @property
    def timeliness(self) -> float | None:
        total = self.timely + self.late
        return 100 * self.timely / total if total else None


def months_of_year(year: int, today: dt.date) -> list[str]:
    """YYYYMM of the months of `year` that have begun by `today`."""
    last = 12 if year < today.year else (today.month if year == today.year else 0)
    return [f"{year}{m:02d}" for m in range(1, last + 1)]


def reporting_grid(
    communes: Iterable[tuple[str, str]],
    records: Iterable[tuple[str, dt.date, dt.datetime]],
) -> list[CommuneQuality]:
    """One row per commune (all of them, reporting or not), in the order given."""
    rows = {code: CommuneQuality(code, name) for code, name in communes}
    for commune, activity, submitted in records:
        row = rows.get(commune)
        if row is None:
            continue
        month = f"{activity.year}{activity.month:02d}"
        row.by_month[month] = row.by_month.get(month, 0) + 1
        delay = local_date(submitted) - activity
        if delay <= dt.timedelta(days=TIMELY_DAYS):
            row.timely += 1
        else:
            row.late += 1
    return list(rows.values())
