"""Counts and durations out of range: a negative count (RANGE_001), a training outside
0.5–30 days (RANGE_002), a count beyond any single activity (RANGE_004)."""

from __future__ import annotations

from collections.abc import Iterator

from pcmd.forms import contract as c
from pcmd.forms.contract import Data
from pcmd.pipeline.validate.context import RuleContext
from pcmd.pipeline.validate.registry import EDIT_EN, EDIT_VI, Finding, rule
from pcmd.pipeline.validate.values import as_number

DAYS_MIN, DAYS_MAX = 0.5, 30.0
# More people than one activity can reach (a tenth of the country): surely a typing slip.
COUNT_MAX = 10_000_000


@rule(
    "RANGE_001",
    "error",
    ("Số lượng âm", "Negative count"),
    (
        "[{field}] Số lượng {value} là số âm. Cách sửa: " + EDIT_VI + ", ghi 0 nếu không có.",
        "[{field}] The count {value} is negative. Fix: " + EDIT_EN + "; enter 0 if none.",
    ),
)
def negative_count(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    for path in c.COUNTS.get(ctx.form_id, ()):
        value = as_number(data.get(path))
        if value is not None and value < 0:
            yield Finding(path, {"value": data.get(path)})


@rule(
    "RANGE_002",
    "warning",
    ("Số ngày tập huấn ngoài 0,5–30", "Training days outside 0.5–30"),
    (
        "[{field}] Lớp tập huấn {value} ngày, ngoài khoảng 0,5–30 ngày của biểu mẫu. Cách sửa: "
        "nếu nhập nhầm, " + EDIT_VI + "; nếu đúng, người duyệt chấp nhận cảnh báo này.",
        "[{field}] A training of {value} days is outside the form's 0.5–30 days. Fix: if "
        "mistyped, " + EDIT_EN + "; if right, a reviewer accepts this warning.",
    ),
)
def days_out_of_range(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    value = as_number(data.get(c.DAYS)) if ctx.form_id == c.TRAINING else None
    if value is not None and not DAYS_MIN <= value <= DAYS_MAX:
        yield Finding(c.DAYS, {"value": data.get(c.DAYS)})


@rule(
    "RANGE_004",
    "error",
    ("Số lượng lớn quá mức", "Count beyond any activity"),
    (
        "[{field}] Số lượng {value} lớn hơn mọi hoạt động có thể đạt (trên 10 triệu người). "
        "Cách sửa: " + EDIT_VI + " với số đúng.",
        "[{field}] The count {value} is more than any activity can reach (over 10 million "
        "people). Fix: " + EDIT_EN + " with the right number.",
    ),
)
def count_too_large(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    for path in c.COUNTS.get(ctx.form_id, ()):
        value = as_number(data.get(path))
        if value is not None and value > COUNT_MAX:
            yield Finding(path, {"value": data.get(path)})
