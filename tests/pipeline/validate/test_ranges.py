"""RANGE_001, RANGE_002 and RANGE_004: negative counts, training days out of range, counts
beyond any activity."""

from __future__ import annotations

from tests.pipeline.validate.records import INS, OUT, TRA, fired, record


def test_range_001__negative_count__error() -> None:
    data = record(INS, findings__n_workers_informed="-2")
    assert ("RANGE_001", "findings/n_workers_informed") in fired(INS, data)
    assert ("RANGE_001", "findings/n_workers_informed") not in fired(INS, record(INS))


def test_range_002__days_outside_half_to_thirty__warning() -> None:
    assert fired(TRA, record(TRA, days="0.25")) == {("RANGE_002", "days")}
    assert fired(TRA, record(TRA, days="45")) == {("RANGE_002", "days")}
    assert fired(TRA, record(TRA, days="0.5")) == set()
    assert fired(TRA, record(TRA, days="30")) == set()


def test_range_004__count_over_ten_million__error() -> None:
    # 10,000,000 is the most a single activity may report; one more is a typing slip.
    assert ("RANGE_004", "reach/n_students") in fired(
        OUT, record(OUT, reach__n_students="10000001")
    )
    assert (
        fired(OUT, record(OUT, reach__n_students="10000000")) & {("RANGE_004", "reach/n_students")}
        == set()
    )
