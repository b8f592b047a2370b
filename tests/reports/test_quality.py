"""Reporting grid, completeness and timeliness, worked out by hand."""

from __future__ import annotations

import datetime as dt

from pcmd.reports.quality import local_date, months_of_year, reporting_grid

UTC = dt.UTC


def test_months_of_year__only_begun_months() -> None:
    today = dt.date(2026, 3, 15)
    assert months_of_year(2026, today) == ["202601", "202602", "202603"]
    assert len(months_of_year(2025, today)) == 12
    assert months_of_year(2027, today) == []


def test_local_date__utc_evening_is_next_day_in_vietnam() -> None:
    assert local_date(dt.datetime(2026, 3, 1, 18, 30, tzinfo=UTC)) == dt.date(2026, 3, 2)
    assert local_date(dt.datetime(2026, 3, 1, 16, 59)) == dt.date(2026, 3, 1)  # naive = UTC


def test_reporting_grid__counts_completeness_timeliness() -> None:
    communes = [("21025", "Phường Cẩm Thành"), ("21028", "Phường Nghĩa Lộ")]
    records = [
        # sent the same day, 5 days later (timely), 6 days later (late)
        ("21025", dt.date(2026, 1, 10), dt.datetime(2026, 1, 10, 3, 0, tzinfo=UTC)),
        ("21025", dt.date(2026, 1, 20), dt.datetime(2026, 1, 25, 3, 0, tzinfo=UTC)),
        ("21025", dt.date(2026, 3, 1), dt.datetime(2026, 3, 7, 3, 0, tzinfo=UTC)),
        ("99999", dt.date(2026, 3, 1), dt.datetime(2026, 3, 1, 3, 0, tzinfo=UTC)),  # not listed
    ]
    cam_thanh, nghia_lo = reporting_grid(communes, records)
    months = ["202601", "202602", "202603"]
    assert cam_thanh.by_month == {"202601": 2, "202603": 1}
    assert cam_thanh.records == 3
    assert cam_thanh.months_reporting(months) == 2
    assert cam_thanh.completeness(months) == 100 * 2 / 3
    assert (cam_thanh.timely, cam_thanh.late) == (2, 1)
    assert cam_thanh.timeliness == 100 * 2 / 3
    assert nghia_lo.records == 0
    assert nghia_lo.completeness(months) == 0
    assert nghia_lo.timeliness is None
