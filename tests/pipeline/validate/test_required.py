"""REQ_001 and REQ_002: required answers missing."""

from __future__ import annotations

from tests.pipeline.validate.records import INS, OUT, TRA, fired, issues, record


def test_req_001__missing_commune_and_count__error() -> None:
    data = record(OUT, where__commune="", reach__n_students="")
    assert {("REQ_001", "where/commune"), ("REQ_001", "reach/n_students")} <= fired(OUT, data)
    issue = issues(OUT, data, "REQ_001")[0]
    assert issue.severity == "error"
    assert issue.message_vi.startswith("[where/commune] Thiếu câu trả lời bắt buộc")
    assert "Fix: edit the submission in ODK Collect" in issue.message_en


def test_req_001__relevant_only_when_asked() -> None:
    # media_items is asked only for media channels; fine_vnd only for a fine.
    assert fired(OUT, record(OUT, media_items="")) == set()
    assert ("REQ_002", "media_items") in fired(OUT, record(OUT, channel="loa_dai", media_items=""))
    nothing = record(INS, findings__action="nhac_nho", findings__fine_vnd="")
    assert fired(INS, nothing) == set()
    assert ("REQ_001", "findings/fine_vnd") in fired(INS, record(INS, findings__fine_vnd=""))
    unknown = record(INS, establishment__known="no", establishment__id="")
    assert fired(INS, unknown) == {
        ("REQ_002", "establishment/name"),
        ("REQ_002", "establishment/address"),
    }


def test_req_002__missing_answer_no_indicator_reads__warning() -> None:
    assert fired(TRA, record(TRA, reporter_org="", topics="")) == {
        ("REQ_002", "reporter_org"),
        ("REQ_002", "topics"),
    }
    assert issues(TRA, record(TRA, topics=""), "REQ_002")[0].severity == "warning"
