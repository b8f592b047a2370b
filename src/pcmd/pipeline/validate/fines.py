"""Fines: a fine of 0 with "fine" as the action (RANGE_003), one typed in thousands or millions
(FINE_001), one with a zero too many (FINE_002)."""

from __future__ import annotations

from collections.abc import Iterator

from pcmd.forms import contract as c
from pcmd.forms.contract import Data, is_chosen
from pcmd.pipeline.validate.context import RuleContext
from pcmd.pipeline.validate.registry import CHECK_EN, CHECK_VI, EDIT_EN, EDIT_VI, Finding, rule
from pcmd.pipeline.validate.values import as_number

# Fines are whole đồng; the smallest fine in the social-evils decree is hundreds of thousands, so
# 0 < fine < 50,000 is a fine typed in thousands or millions ("15" for 15 million).
FINE_TOO_SMALL = 50_000
# The social-evils maximum is 75 million đồng for a person, 150 million for an organisation;
# above 200 million an inspection's fine most likely has an extra zero.
FINE_TOO_LARGE = 200_000_000


def _fine(data: Data, ctx: RuleContext) -> float | None:
    if ctx.form_id != c.INSPECTION or not is_chosen(data, c.ACTION, "phat_tien"):
        return None
    return as_number(data.get(c.FINE_VND))


@rule(
    "RANGE_003",
    "error",
    ("Phạt tiền nhưng số tiền không lớn hơn 0", "Fine chosen but amount not above 0"),
    (
        "[{field}] Hình thức xử lý là phạt tiền nhưng số tiền là {value} đồng. Cách sửa: "
        + EDIT_VI
        + " và ghi đủ số tiền theo quyết định xử phạt, hoặc chọn đúng hình thức xử lý.",
        "[{field}] The action is a fine but the amount is {value} đồng. Fix: "
        + EDIT_EN
        + " with the full amount of the penalty decision, or choose the action actually taken.",
    ),
)
def fine_not_positive(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    value = _fine(data, ctx)
    if value is not None and value <= 0:
        yield Finding(c.FINE_VND, {"value": data.get(c.FINE_VND)})


@rule(
    "FINE_001",
    "warning",
    ("Số tiền phạt quá nhỏ, có thể ghi tắt", "Fine too small, likely abbreviated"),
    (
        "[{field}] Số tiền phạt {value} đồng quá nhỏ; có lẽ đã ghi theo nghìn hoặc triệu đồng. "
        "Cách sửa: ghi đủ số đồng (15 triệu đồng ghi 15000000): " + EDIT_VI + ".",
        "[{field}] A fine of {value} đồng is too small; it was probably typed in thousands or "
        "millions. Fix: enter the full amount in đồng (15 million is 15000000): " + EDIT_EN + ".",
    ),
)
def fine_too_small(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    value = _fine(data, ctx)
    if value is not None and 0 < value < FINE_TOO_SMALL:
        yield Finding(c.FINE_VND, {"value": data.get(c.FINE_VND)})


@rule(
    "FINE_002",
    "warning",
    ("Số tiền phạt rất lớn", "Fine unusually large"),
    (
        "[{field}] Số tiền phạt {value} đồng lớn hơn nhiều so với mức phạt thường gặp; có thể thừa "
        "chữ số 0. Cách sửa: " + CHECK_VI + ".",
        "[{field}] A fine of {value} đồng is far above usual fines; a zero may be extra. Fix: "
        + CHECK_EN
        + ".",
    ),
)
def fine_too_large(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    value = _fine(data, ctx)
    if value is not None and value > FINE_TOO_LARGE:
        yield Finding(c.FINE_VND, {"value": data.get(c.FINE_VND)})
