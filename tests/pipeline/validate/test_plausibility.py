"""MEDIA_001 and CONS_001: plausibility within a record."""

from __future__ import annotations

from tests.pipeline.validate.records import INS, OUT, fired, record


def test_media_001__media_channel_without_items__warning() -> None:
    assert fired(OUT, record(OUT, channel="bao_chi", media_items="0")) == {
        ("MEDIA_001", "media_items")
    }
    assert fired(OUT, record(OUT, channel="bao_chi", media_items="1")) == set()
    assert fired(OUT, record(OUT, channel="hoi_nghi", media_items="0")) == set()


def test_cons_001__sanction_without_violation__warning() -> None:
    data = record(INS, findings__violation="no", findings__violation_types="")
    assert fired(INS, data) == {("CONS_001", "findings/action")}
    reminder = record(INS, findings__violation="no", findings__violation_types="",
                      findings__action="nhac_nho", findings__fine_vnd="")  # fmt: skip
    assert fired(INS, reminder) == set()
