"""Parts and wholes: an "of whom" count larger than its total (PART_001)."""

from __future__ import annotations

from collections.abc import Iterator

from pcmd.forms import contract as c
from pcmd.forms.contract import Data
from pcmd.pipeline.validate.context import RuleContext
from pcmd.pipeline.validate.registry import EDIT_EN, EDIT_VI, Finding, rule
from pcmd.pipeline.validate.values import as_count


@rule(
    "PART_001",
    "error",
    ("Số bộ phận lớn hơn tổng", "Part larger than its whole"),
    (
        "[{field}] {field} = {value} lớn hơn {whole} = {total}. Cách sửa: " + EDIT_VI + " và "
        'kiểm tra lại các số; số "trong đó" không được lớn hơn tổng.',
        "[{field}] {field} = {value} is larger than {whole} = {total}. Fix: " + EDIT_EN + " "
        'after checking the numbers; an "of whom" count cannot exceed its total.',
    ),
)
def part_larger_than_whole(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    for part, wholes in c.PARTS.get(ctx.form_id, ()):
        value = as_count(data.get(part))
        totals = [as_count(data.get(w)) for w in wholes]
        if value is None or any(t is None for t in totals):
            continue  # a missing or mistyped count is REQ_001's or TYPE_001's to report
        total = sum(t for t in totals if t is not None)
        if value > total:
            whole = wholes[0] if len(wholes) == 1 else " + ".join(w.split("/")[-1] for w in wholes)
            yield Finding(part, {"value": value, "whole": whole, "total": total})
