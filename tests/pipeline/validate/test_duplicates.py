"""DUP_001 and the key that makes two records the same activity."""

from __future__ import annotations

from pcmd.pipeline.validate.duplicates import duplicate_key
from tests.pipeline.validate.records import INS, OUT, issues, record


def test_dup_001__earlier_same_activity__warning_names_it() -> None:
    data = record(OUT)
    found = issues(OUT, data, "DUP_001", duplicate_of="uuid:earlier-0001")
    assert [(i.field_path, i.severity) for i in found] == [(None, "warning")]
    assert "same form, commune, date and counts as uuid:earlier-0001" in found[0].message_en
    assert issues(OUT, data, "DUP_001") == []


def test_duplicate_key__counts_and_place_matter() -> None:
    base = duplicate_key(OUT, record(OUT))
    assert base == duplicate_key(OUT, record(OUT, reporter_org="mttq", deviceid="collect:other"))
    assert base != duplicate_key(OUT, record(OUT, reach__n_general="6"))
    assert base != duplicate_key(OUT, record(OUT, where__commune="21028"))
    assert base != duplicate_key(OUT, record(OUT, activity_date="2026-11-19"))
    # two inspections of different establishments with the same head counts are not one
    assert duplicate_key(INS, record(INS)) != duplicate_key(
        INS, record(INS, establishment__id="QN-0003")
    )
    assert duplicate_key(OUT, record(OUT, where__commune="")) is None
