"""A record the pipeline cannot use (PIPE_001): a number too large for any sum the indicators
take, or a record that made a rule fail. The catalogue renders this rule itself when a rule
raises on a record (catalogue.check_record), so one odd record becomes an error on that record,
visible in review, and the run goes on."""

from __future__ import annotations

import math
from collections.abc import Iterator

from pcmd.forms.contract import Data
from pcmd.pipeline.validate.context import RuleContext
from pcmd.pipeline.validate.registry import EDIT_EN, EDIT_VI, Finding, rule

# Beyond any count or fine in đồng a record could carry; a million such values still sum
# well inside 64 bits (normalise stores larger ones as empty).
LARGEST_USABLE = 10**15

CODE = "PIPE_001"


def usable_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return True
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return abs(value) <= LARGEST_USABLE


@rule(
    CODE,
    "error",
    ("Phiếu không xử lý được", "Record cannot be processed"),
    (
        "[{field}] Không xử lý được câu trả lời {value} của phiếu này ({reason}). Cách sửa: "
        + EDIT_VI
        + ".",
        "[{field}] This record's answer {value} cannot be processed ({reason}). Fix: "
        + EDIT_EN
        + ".",
    ),
)
def unusable_value(data: Data, _ctx: RuleContext) -> Iterator[Finding]:
    for path, value in data.items():
        if not usable_number(value):
            yield Finding(path, {"value": value, "reason": "số quá lớn / number too large"})
