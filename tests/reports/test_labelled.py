"""Report columns and cells from a form's labels: headings, choice labels, typed values."""

from __future__ import annotations

import datetime as dt

from pcmd.forms.xform import Labels
from pcmd.reports.labelled import Column, cell, form_columns

LABELS = Labels(
    questions={
        "activity_date": {"vi": "Ngày tổ chức hoạt động", "en": "Activity date"},
        "channel": {"vi": "Hình thức tuyên truyền", "en": "Channel"},
        "topics": {"vi": "Nội dung", "en": "Topics"},
        "reach/n_students": {"vi": "Số người", "en": "Students"},
        "reach/n_general": {"vi": "Số người", "en": "Others"},
        "uic/key": {"vi": "Mã nhận diện", "en": "UIC"},
    },
    choices={
        "channel": {"hoi_nghi": {"vi": "Hội nghị", "en": "Meeting"}},
        "topics": {
            "phap_luat": {"vi": "Pháp luật", "en": "Law"},
            "hiv_sti": {"vi": "HIV/AIDS", "en": "HIV/AIDS"},
        },
    },
    languages=("vi", "en"),
)
FIELDS = {
    "activity_date": {"type": "date", "control": "input"},
    "channel": {"type": "string", "control": "select1"},
    "topics": {"type": "string", "control": "select"},
    "reach/n_students": {"type": "int", "control": "input"},
    "reach/n_general": {"type": "int", "control": "input"},
    "where/commune": {"type": "string", "control": "select1"},
    "uic/key": {"type": "string", "control": None},
}


def test_form_columns__vietnamese_labels_unique_no_personal_identifier() -> None:
    paths = list(FIELDS)
    columns = form_columns(paths, FIELDS, LABELS)
    headings = {c.path: c.heading for c in columns}
    assert headings["instance_id"] == "Mã phiếu"
    assert headings["activity_date"] == "Ngày tổ chức hoạt động"
    # the same label twice: the path tells them apart
    assert headings["reach/n_students"] == "Số người (reach/n_students)"
    assert headings["reach/n_general"] == "Số người (reach/n_general)"
    assert headings["where/commune"] == "where/commune"  # no label: the path
    assert "uic/key" not in headings  # a person's identifier is never in a report
    topics = next(c for c in columns if c.path == "topics")
    assert (topics.kind, dict(topics.choices)) == (
        "select",
        {"phap_luat": "Pháp luật", "hiv_sti": "HIV/AIDS"},
    )


def test_cell__typed_and_labelled() -> None:
    columns = {c.path: c for c in form_columns(list(FIELDS), FIELDS, LABELS)}
    names = {"21025": "Phường Cẩm Thành"}
    assert cell(columns["activity_date"], "2026-11-20", names) == dt.date(2026, 11, 20)
    assert cell(columns["reach/n_students"], 37, names) == 37
    assert cell(columns["reach/n_students"], "12", names) == 12
    assert cell(columns["reach/n_students"], "nhiều", names) == "nhiều"  # kept, not lost
    assert cell(columns["channel"], "hoi_nghi", names) == "Hội nghị"
    assert cell(columns["channel"], "khac_moi", names) == "khac_moi"  # an unknown code stays
    assert cell(columns["topics"], ["phap_luat", "hiv_sti"], names) == "Pháp luật; HIV/AIDS"
    assert cell(columns["where/commune"], "21025", names) == "Phường Cẩm Thành"
    assert cell(columns["reach/n_general"], None, names) is None
    assert cell(columns["review_state"], "has_issues", names) == "Có vấn đề"
    # 01:30 UTC is 08:30 in Vietnam, written without a zone
    when = dt.datetime(2026, 11, 20, 1, 30, tzinfo=dt.UTC)
    assert cell(columns["submitted_at"], when, names) == dt.datetime(2026, 11, 20, 8, 30)
    assert cell(Column("x", "x", "decimal"), 2, names) == 2.0
    assert isinstance(cell(Column("x", "x", "decimal"), 2, names), float)
