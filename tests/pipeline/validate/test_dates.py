"""DATE_001–DATE_003: activity dates in the future, before the programme, after the reform."""

from __future__ import annotations

from tests.pipeline.validate.records import INS, OUT, TRA, fired, issues, record


def test_date_001__after_today__error() -> None:
    data = record(OUT, activity_date="2026-11-24")
    assert fired(OUT, data) == {("DATE_001", "activity_date")}
    assert "(2026-11-23)" in issues(OUT, data, "DATE_001")[0].message_en
    assert fired(OUT, record(OUT, activity_date="2026-11-23")) == set()


def test_date_002__before_2021__error() -> None:
    assert fired(INS, record(INS, inspection_date="2020-12-31")) == {
        ("DATE_002", "inspection_date")
    }
    assert fired(INS, record(INS, inspection_date="2021-01-01")) == set()


def test_date_003__district_organiser_after_reform__warning() -> None:
    assert fired(TRA, record(TRA, organizer_level="huyen", start_date="2025-07-01")) == {
        ("DATE_003", "organizer_level")
    }
    # before 1 July 2025 districts existed; the commune list says nothing about that time
    assert fired(TRA, record(TRA, organizer_level="huyen", start_date="2025-06-30")) == set()
