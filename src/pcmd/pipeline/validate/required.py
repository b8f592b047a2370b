"""Required answers: REQ_001 when an indicator or the record's placement needs the answer,
REQ_002 when nothing is computed from it."""

from __future__ import annotations

from collections.abc import Iterator

from pcmd.forms import contract as c
from pcmd.forms.contract import Data
from pcmd.pipeline.validate.context import RuleContext
from pcmd.pipeline.validate.registry import EDIT_EN, EDIT_VI, Finding, rule


def _missing(data: Data, ctx: RuleContext, feeds: bool) -> Iterator[Finding]:
    for req in c.REQUIRED.get(ctx.form_id, ()):
        if req.feeds != feeds or (req.when is not None and not req.when(data)):
            continue
        if data.get(req.path) in (None, "", []):
            yield Finding(req.path)


@rule(
    "REQ_001",
    "error",
    (
        "Thiếu câu trả lời bắt buộc dùng để tính chỉ tiêu",
        "Required answer missing (used by indicators)",
    ),
    (
        "[{field}] Thiếu câu trả lời bắt buộc mà chỉ tiêu hoặc việc xác định địa bàn, kỳ báo cáo "
        "cần; phiếu chưa được tính cho đến khi bổ sung. Cách sửa: " + EDIT_VI + ".",
        "[{field}] A required answer that the indicators or the record's place and period need "
        "is missing; the record is not counted until it is given. Fix: " + EDIT_EN + ".",
    ),
)
def required_for_indicators(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    yield from _missing(data, ctx, feeds=True)


@rule(
    "REQ_002",
    "warning",
    ("Thiếu câu trả lời bắt buộc", "Required answer missing"),
    (
        "[{field}] Thiếu câu trả lời bắt buộc (không dùng để tính chỉ tiêu, phiếu vẫn được tính). "
        "Cách sửa: " + EDIT_VI + ".",
        "[{field}] A required answer is missing (no indicator uses it; the record still counts). "
        "Fix: " + EDIT_EN + ".",
    ),
)
def required_other(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    yield from _missing(data, ctx, feeds=False)
