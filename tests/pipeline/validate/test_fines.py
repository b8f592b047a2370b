"""RANGE_003, FINE_001 and FINE_002: fines of 0, typed in millions, or with extra zeros."""

from __future__ import annotations

from tests.pipeline.validate.records import INS, fired, record


def test_range_003__fine_zero_with_fine_action__error() -> None:
    assert ("RANGE_003", "findings/fine_vnd") in fired(INS, record(INS, findings__fine_vnd="0"))
    not_fined = record(INS, findings__action="canh_cao", findings__fine_vnd="0")
    assert not any(rule == "RANGE_003" for rule, _ in fired(INS, not_fined))


def test_fine_001__fine_typed_in_millions__warning() -> None:
    assert fired(INS, record(INS, findings__fine_vnd="15")) == {("FINE_001", "findings/fine_vnd")}
    assert fired(INS, record(INS, findings__fine_vnd="50000")) == set()  # the bound is not flagged


def test_fine_002__fine_with_extra_zeros__warning() -> None:
    assert fired(INS, record(INS, findings__fine_vnd="1500000000")) == {
        ("FINE_002", "findings/fine_vnd")
    }
    assert fired(INS, record(INS, findings__fine_vnd="200000000")) == set()
