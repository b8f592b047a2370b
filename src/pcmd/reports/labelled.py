"""A form's records as a province officer reads them in the report: Vietnamese question labels
for headings, choice labels instead of codes, numbers as numbers and dates as dates.

Headings are the questions' Vietnamese labels from the form (its `label::Vietnamese (vi)`
column, read from the XForm's translations), English where a form has no Vietnamese, the field
path where it has no label; two questions with the same label get their path added, so every
heading is unique (pivot tables need that). Each column keeps its field path, type and choices
in `Column`, which the report writes as the "Từ điển (Fields)" sheet and `tu_dien.csv`: the
machine-readable key to the headings. A select_multiple answer is its labels joined by "; ".
A commune chosen from the communes list shows the commune's name. A person's identifier never
goes into a report sent upward: the UIC group of pcmd_support (its keyed hash) is left out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pcmd.db.models import Form, FormVersion
from pcmd.forms.contract import UIC_GROUP
from pcmd.forms.xform import Labels, read_labels
from pcmd.reports.submissions import FIXED, submissions_table

VIETNAM = dt.timezone(dt.timedelta(hours=7))
FIXED_HEADINGS = {
    "instance_id": "Mã phiếu",
    "current_instance_id": "Mã phiên bản hiện tại",
    "form_id": "Mã biểu mẫu",
    "version": "Phiên bản biểu mẫu",
    "source": "Nguồn",
    "review_state": "Trạng thái duyệt",
    "submitted_at": "Thời điểm gửi (giờ Việt Nam)",
}
REVIEW_STATES = {
    "received": "Mới nhận",
    "has_issues": "Có vấn đề",
    "approved": "Đã duyệt",
    "rejected": "Không chấp nhận",
    "edited": "Đã sửa",
}
SOURCES = {
    "openrosa": "ODK Collect",
    "kobo": "KoboToolbox",
    "central": "ODK Central",
    "import": "Nhập từ thư mục",
}
SEPARATOR = "; "
# Field groups that identify a person: never in a report.
PERSONAL_GROUPS = (f"{UIC_GROUP}/",)


@dataclass(frozen=True)
class Column:
    heading: str  # what the sheet shows (Vietnamese)
    path: str  # field path (reach/n_students) or fixed column name (instance_id)
    kind: str  # XForm bind type (int, decimal, date, dateTime, string, …) or "text"
    choices: Mapping[str, str] = field(default_factory=dict)  # choice name → label


@dataclass
class FormRows:
    """One form's records for the report: typed cells under labelled columns."""

    title: str  # sheet name: the form id
    columns: Sequence[Column]
    rows: Sequence[Sequence[Any]]
    form_title: str = ""


def _language(labels: Labels) -> str:
    return "vi" if "vi" in labels.languages or not labels.languages else labels.languages[0]


def form_columns(paths: Sequence[str], fields: Mapping[str, Any], labels: Labels) -> list[Column]:
    """The columns of a form: the fixed ones, then each field with its label and choices."""
    lang = _language(labels)
    columns = [
        Column(FIXED_HEADINGS[name], name, "dateTime" if name == "submitted_at" else "text")
        for name in FIXED
    ]
    for path in paths:
        if path.startswith(PERSONAL_GROUPS):
            continue
        info = fields.get(path, {})
        heading = labels.question(path, lang) if path in labels.questions else path
        names = labels.choices.get(path, {})
        choices = {name: labels.choice(path, name, lang) for name in names}
        kind = "select" if info.get("control") == "select" else str(info.get("type", "string"))
        columns.append(Column(heading, path, kind, choices))
    seen: dict[str, int] = {}
    for column in columns:
        seen[column.heading] = seen.get(column.heading, 0) + 1
    return [
        Column(f"{c.heading} ({c.path})", c.path, c.kind, c.choices) if seen[c.heading] > 1 else c
        for c in columns
    ]


def _number(value: Any, kind: type[int] | type[float]) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return kind(value)
    try:
        return kind(str(value))
    except ValueError:
        return value


def _when(value: Any) -> Any:
    """A timestamp as Vietnam wall time without a zone (what a spreadsheet can hold)."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, dt.datetime):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(VIETNAM).replace(tzinfo=None)


def cell(column: Column, value: Any, org_names: Mapping[str, str]) -> Any:
    """One answer as the report's cell: typed, labelled."""
    if value is None or value == "":
        return None
    if column.path == "review_state":
        return REVIEW_STATES.get(str(value), value)
    if column.path == "source":
        return SOURCES.get(str(value), value)
    if column.kind == "int":
        return _number(value, int)
    if column.kind == "decimal":
        return _number(value, float)
    if column.kind == "date":
        try:
            return dt.date.fromisoformat(str(value)[:10])
        except ValueError:
            return value
    if column.kind == "dateTime":
        return _when(value)
    if isinstance(value, list):
        if column.kind == "select":
            return SEPARATOR.join(column.choices.get(str(v), str(v)) for v in value)
        return " ".join(str(v) for v in value)
    if column.choices:
        return column.choices.get(str(value), value)
    if column.kind == "string" and str(value) in org_names and column.path.endswith("commune"):
        return org_names[str(value)]
    return value


def labelled_form(
    session: Session,
    form_id: str,
    *,
    communes: Sequence[str],
    start: dt.date,
    end: dt.date,
    org_names: Mapping[str, str],
) -> FormRows:
    """The counted records of `communes` with an activity date in [start, end]."""
    table = submissions_table(
        session, form_id, communes=communes, start=start, end=end, counted_only=True, flat=False
    )
    form = session.scalar(select(Form).where(Form.form_id == form_id))
    assert form is not None  # submissions_table has checked
    current = session.get(FormVersion, form.current_version_id)
    labels = read_labels(current.xform) if current and current.xform else Labels({}, {}, ())
    fields: dict[str, Any] = {}
    for version in session.scalars(
        select(FormVersion).where(FormVersion.form_pk == form.id).order_by(FormVersion.id)
    ):
        fields.update(version.fields)
    columns = form_columns(table.columns[len(FIXED) :], fields, labels)
    rows = [[cell(c, row.get(c.path), org_names) for c in columns] for row in table.rows]
    return FormRows(form_id, columns, rows, form.title or form_id)
