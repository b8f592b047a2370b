"""Answers of the wrong type: text where a number or date belongs (TYPE_001), a choice the form
does not have (TYPE_002)."""

from __future__ import annotations

from collections.abc import Iterator

from pcmd.forms import contract as c
from pcmd.forms.contract import Data, chosen
from pcmd.pipeline.validate.context import RuleContext
from pcmd.pipeline.validate.registry import EDIT_EN, EDIT_VI, Finding, rule
from pcmd.pipeline.validate.values import as_date


def _expected_kind(path: str, ctx: RuleContext) -> str | None:
    """int, decimal or date for a typed field: the form version's bind, else the contract."""
    bind = ctx.fields.get(path)
    if bind is not None:
        kind = bind.get("type")
        # Questions only: metadata (today, start) is written by the phone, not by a person.
        if bind.get("control") is None or kind not in ("int", "decimal", "date"):
            return None
        return str(kind)
    if path in c.COUNTS.get(ctx.form_id, ()):
        return "int"
    if path == c.DATE_FIELD.get(ctx.form_id):
        return "date"
    if ctx.form_id == c.TRAINING and path == c.DAYS:
        return "decimal"
    return None


KIND_VI = {"int": "số nguyên", "decimal": "số", "date": "ngày (YYYY-MM-DD)"}
KIND_EN = {"int": "a whole number", "decimal": "a number", "date": "a date (YYYY-MM-DD)"}


@rule(
    "TYPE_001",
    "error",
    ("Giá trị sai kiểu", "Value of the wrong type"),
    (
        "[{field}] Giá trị {value!r} không phải {kind_vi}. Cách sửa: " + EDIT_VI + ".",
        "[{field}] The value {value!r} is not {kind_en}. Fix: " + EDIT_EN + ".",
    ),
)
def wrong_type(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    for path, value in data.items():
        # type_value keeps an answer that did not parse as its text; a date is stored as ISO
        # text once it parsed.
        if not isinstance(value, str):
            continue
        kind = _expected_kind(path, ctx)
        if kind is not None and (kind != "date" or as_date(value) is None):
            yield Finding(
                path, {"value": value, "kind_vi": KIND_VI[kind], "kind_en": KIND_EN[kind]}
            )


@rule(
    "TYPE_002",
    "error",
    ("Lựa chọn không có trong biểu mẫu", "Choice not in the form"),
    (
        "[{field}] Lựa chọn {value!r} không có trong danh sách của biểu mẫu ({choices}). "
        "Cách sửa: " + EDIT_VI + " và chọn một mục trong danh sách.",
        "[{field}] The choice {value!r} is not in the form's list ({choices}). Fix: "
        + EDIT_EN
        + " with one of the listed choices.",
    ),
)
def unknown_choice(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    for path, bind in ctx.fields.items():
        names = bind.get("choices")
        if not names or bind.get("control") not in ("select1", "select"):
            continue
        bad = [v for v in chosen(data, path) if v not in names]
        if bad:
            yield Finding(path, {"value": " ".join(bad), "choices": ", ".join(names)})
