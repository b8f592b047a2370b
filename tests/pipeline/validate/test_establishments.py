"""EST_001–EST_003: the establishment register."""

from __future__ import annotations

from tests.pipeline.validate.records import INS, fired, issues, record


def test_est_001__register_id_unknown__error() -> None:
    data = record(INS, establishment__id="QN-9999")
    assert fired(INS, data) == {("EST_001", "establishment/id")}
    not_known = record(
        INS,
        establishment__known="no",
        establishment__id="QN-9999",
        establishment__name="Karaoke Mới",
        establishment__address="1 Trần Phú",
    )
    assert fired(INS, not_known) == set()  # a new establishment proposed, not a register id


def test_est_002__register_entry_closed__warning() -> None:
    assert fired(INS, record(INS, establishment__id="QN-0002")) == {("EST_002", "establishment/id")}


def test_est_003__register_entry_of_another_commune__warning() -> None:
    data = record(INS, establishment__id="QN-0003")
    assert fired(INS, data) == {("EST_003", "establishment/id")}
    assert "registered in commune 21028, but the submission says 21025" in (
        issues(INS, data, "EST_003")[0].message_en
    )
