"""The figures the quality and provinces pages and the dashboard's missing-report notice show,
counted from the ledger of submissions (quality_ledger.py) with numpy rather than by SQL over a
million rows. The open issues, a few thousand rows, are read from the database and their records
found in the columns: on PostgreSQL the join in SQL is a hash join over every record (0.13–0.5 s
at a million, again after every change)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, select

from pcmd.db.tables import ISSUE
from pcmd.reports.quality import TIMELY_DAYS, CommuneQuality
from pcmd.server.web.quality_ledger import NO_DAY, Columns, Ledger

DAY_US = 86_400_000_000
VIETNAM_US = 7 * 3_600_000_000  # UTC+7 all year: a server timestamp's date in Vietnam


@dataclass
class ProvinceCount:
    """One commune's live records, those awaiting review, those with an open error, and the
    newest received."""

    commune: str
    records: int
    pending: int
    with_errors: int
    last_received: dt.datetime | None


def _on_current_version(cols: Columns, issues: Sequence[Any]) -> tuple[Any, Any]:
    """For issues given as (submission id, version id) at their end: the row of each issue's
    record in the columns, and whether the issue is on that live record's current version."""
    sid = np.array([i[-2] for i in issues], np.int64)
    vid = np.array([-1 if i[-1] is None else i[-1] for i in issues], np.int64)
    at = np.minimum(np.searchsorted(cols.ids, sid), len(cols.ids) - 1)
    return at, (cols.ids[at] == sid) & (cols.version[at] == vid) & ~cols.deleted[at]


def province_counts(
    ledger: Ledger, conn: Connection, pending: Iterable[str]
) -> list[ProvinceCount]:
    """Per commune with a live record: records, those in a `pending` state, those with an open
    error on their current version, the newest received."""
    issues = conn.execute(
        select(ISSUE.c.submission_id, ISSUE.c.version_id)
        .where(ISSUE.c.status == "open", ISSUE.c.severity == "error")
        .distinct()
    ).all()
    with ledger.view(conn) as view:
        cols = view.cols
        live = ~cols.deleted
        group = cols.commune[live]
        size = len(view.communes)
        records = np.bincount(group, minlength=size)
        codes = [view.state_index[s] for s in pending if s in view.state_index]
        waiting = np.bincount(
            group, weights=np.isin(cols.state[live], codes), minlength=size
        ).astype(np.int64)
        last = np.full(size, np.iinfo(np.int64).min, np.int64)
        np.maximum.at(last, group, cols.submitted[live])
        errors = np.zeros(size, np.int64)
        if issues and len(cols.ids):
            at, found = _on_current_version(cols, issues)
            counted = np.unique(at[found])  # a record once, however many errors it has
            errors = np.bincount(cols.commune[counted], minlength=size)
        return [
            ProvinceCount(
                view.communes[i],
                int(records[i]),
                int(waiting[i]),
                int(errors[i]),
                view.moment(int(last[i])),
            )
            for i in np.flatnonzero(records)
        ]


def reporting_grid(
    ledger: Ledger, conn: Connection, communes: Sequence[tuple[str, str]], year: int
) -> list[CommuneQuality]:
    """reports.quality.reporting_grid over the live records of these communes dated in `year`
    (one row per commune, in the order given)."""
    rows = [CommuneQuality(code, name) for code, name in communes]
    with ledger.view(conn) as view:
        cols = view.cols
        where = np.full(len(view.communes), -1, np.int64)  # ledger's commune → row
        for i, (code, _name) in enumerate(communes):
            if code and code in view.commune_index:
                where[view.commune_index[code]] = i
        start, end = view.day(dt.date(year, 1, 1)), view.day(dt.date(year, 12, 31))
        row = where[cols.commune]
        keep = (
            ~cols.deleted
            & (row >= 0)
            & (cols.activity >= start)
            & (cols.activity <= end)
            & (cols.activity != NO_DAY)
        )
        row = row[keep]  # fancy indexing copies: the rest is counted outside the lock
        activity = cols.activity[keep].astype(np.int64)
        received = (cols.submitted[keep] + VIETNAM_US) // DAY_US
    month = activity.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12
    timely = (received - activity) <= TIMELY_DAYS
    n = len(rows)
    by_month = np.bincount(row * 12 + month, minlength=n * 12).reshape(n, 12)
    on_time = np.bincount(row, weights=timely, minlength=n).astype(np.int64)
    total = np.bincount(row, minlength=n)
    for i, quality in enumerate(rows):
        quality.by_month = {
            f"{year}{m + 1:02d}": int(by_month[i, m]) for m in np.flatnonzero(by_month[i])
        }
        quality.timely = int(on_time[i])
        quality.late = int(total[i]) - quality.timely
    return rows


def open_issues(
    ledger: Ledger, conn: Connection, communes: Sequence[str], year: int
) -> list[tuple[str, str, int]]:
    """The open issues on the current versions of the live records of these communes dated in
    `year`, counted by rule and severity, most first (the quality page's table)."""
    issues = conn.execute(
        select(ISSUE.c.rule, ISSUE.c.severity, ISSUE.c.submission_id, ISSUE.c.version_id)
        .where(ISSUE.c.status == "open")
        .order_by(ISSUE.c.id)
    ).all()
    if not issues:
        return []
    with ledger.view(conn) as view:
        cols = view.cols
        if not len(cols.ids):
            return []
        visible = np.zeros(len(view.communes), np.bool_)
        for code in communes:
            if code and code in view.commune_index:
                visible[view.commune_index[code]] = True
        at, current = _on_current_version(cols, issues)
        found = (
            current
            & visible[cols.commune[at]]
            & (cols.activity[at] >= view.day(dt.date(year, 1, 1)))
            & (cols.activity[at] <= view.day(dt.date(year, 12, 31)))
        )
    counted: dict[tuple[str, str], int] = {}
    for i in np.flatnonzero(found).tolist():
        key = (issues[i][0], issues[i][1])
        counted[key] = counted.get(key, 0) + 1
    return sorted(
        ((rule, severity, n) for (rule, severity), n in counted.items()),
        key=lambda row: (-row[2], row[0], row[1]),
    )


def reported_communes(
    ledger: Ledger, conn: Connection, forms: Sequence[int], month: dt.date
) -> set[str]:
    """jobs.reminders.reported_communes from the columns: the communes with a live record of
    one of `forms`, not rejected, dated in `month` (its first day). The SQL looks at every
    report of the form (0.15 s at a million on SQLite), again after every change."""
    end = (month + dt.timedelta(days=32)).replace(day=1)
    with ledger.view(conn) as view:
        cols = view.cols
        keep = (
            np.isin(cols.form, np.array(forms, np.int32))
            & ~cols.deleted
            & (cols.state != view.state_index.get("rejected", -1))
            & (cols.activity >= view.day(month))
            & (cols.activity < view.day(end))
        )
        found = np.unique(cols.commune[keep]).tolist()
        return {view.communes[i] for i in found if view.communes[i]}
