"""Plausibility within a record: a media activity with no media items (MEDIA_001), a sanction
with no violation (CONS_001)."""

from __future__ import annotations

from collections.abc import Iterator

from pcmd.forms import contract as c
from pcmd.forms.contract import Data, chosen, is_chosen
from pcmd.pipeline.validate.context import RuleContext
from pcmd.pipeline.validate.registry import EDIT_EN, EDIT_VI, Finding, rule
from pcmd.pipeline.validate.values import as_count


@rule(
    "MEDIA_001",
    "warning",
    ("Hoạt động truyền thông không có tin, bài", "Media activity with no media items"),
    (
        "[{field}] Hình thức {channel} nhưng số tin, bài, lượt phát là 0. Cách sửa: "
        + EDIT_VI
        + " "
        "với số tin, bài đã phát hành, hoặc chọn đúng hình thức tuyên truyền.",
        "[{field}] The channel is {channel} but there are 0 articles, posts or broadcasts. Fix: "
        + EDIT_EN
        + " with the number of items published, or the right channel.",
    ),
)
def media_without_items(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    if ctx.form_id != c.OUTREACH or not is_chosen(data, c.CHANNEL, *c.MEDIA_CHANNELS):
        return
    if as_count(data.get(c.MEDIA_ITEMS)) == 0:
        yield Finding(c.MEDIA_ITEMS, {"channel": " ".join(chosen(data, c.CHANNEL))})


@rule(
    "CONS_001",
    "warning",
    ("Có hình thức xử lý nhưng không có vi phạm", "Sanction with no violation"),
    (
        "[{field}] Hình thức xử lý {value} nhưng phiếu ghi không phát hiện vi phạm. Cách sửa: "
        + EDIT_VI
        + ' — trả lời "Có" ở câu vi phạm, hoặc chọn "Nhắc nhở"/"Không xử lý".',
        "[{field}] The action is {value} but no violation is recorded. Fix: "
        + EDIT_EN
        + ' answering "Yes" to the violation question, or choosing "Reminder"/"No action".',
    ),
)
def sanction_without_violation(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    if ctx.form_id != c.INSPECTION or not is_chosen(data, c.VIOLATION, "no"):
        return
    if is_chosen(data, c.ACTION, *c.SANCTIONS):
        yield Finding(c.ACTION, {"value": " ".join(chosen(data, c.ACTION))})
