"""Outliers (OUT_001, across records): a record's size far above the commune's earlier records
of the same form, by the modified z-score."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator, Sequence

from pcmd.forms import contract as c
from pcmd.forms.contract import Data
from pcmd.pipeline.validate.context import RuleContext
from pcmd.pipeline.validate.registry import CHECK_EN, CHECK_VI, EDIT_EN, EDIT_VI, Finding, rule
from pcmd.pipeline.validate.values import as_count

# Outliers (OUT_001): Iglewicz and Hoaglin's modified z-score, 0.6745·(x − median)/MAD, over the
# commune's earlier counted records of the same form. A value is flagged when z > 3.5, it is at
# least twice the median ("≫"), and at least 10 above it (so 2 → 11 workers is not news), given
# at least 10 earlier records. The history is the last OUTLIER_WINDOW of them: enough for a
# stable median and MAD, recent enough to follow a commune whose activities grow over the years.
OUTLIER_Z = 3.5
OUTLIER_MIN_HISTORY = 10
OUTLIER_WINDOW = 30
OUTLIER_MIN_RATIO = 2.0
OUTLIER_MIN_EXCESS = 10.0


def size_of(form_id: str, data: Data) -> float | None:
    """The size OUT_001 compares: people reached, participants, workers present."""
    paths = c.SIZE.get(form_id)
    if not paths:
        return None
    values = [as_count(data.get(p)) for p in paths]
    if any(v is None or v < 0 for v in values):
        return None
    return float(sum(v for v in values if v is not None))


def modified_z(value: float, history: Sequence[float]) -> float:
    """0.6745·(x − median)/MAD; with MAD 0, the mean absolute deviation scaled to match (IBM's
    fallback); infinite when the history has no spread at all and x differs from it."""
    median = statistics.median(history)
    mad = statistics.median(abs(h - median) for h in history)
    if mad > 0:
        return 0.6745 * (value - median) / mad
    mean_ad = statistics.fmean(abs(h - median) for h in history)
    if mean_ad > 0:
        return (value - median) / (1.253314 * mean_ad)
    return 0.0 if value == median else math.copysign(math.inf, value - median)


@rule(
    "OUT_001",
    "warning",
    ("Số liệu bất thường so với các phiếu trước của xã", "Outlier against the commune's history"),
    (
        "[{field}] Tổng {value} lớn bất thường so với {n} phiếu trước của xã (trung vị {median}, "
        "điểm z cải tiến {z}). Cách sửa: " + CHECK_VI + "; nếu nhập nhầm, " + EDIT_VI + ".",
        "[{field}] A total of {value} is unusually large against the commune's {n} earlier "
        "records (median {median}, modified z-score {z}). Fix: "
        + CHECK_EN
        + "; if mistyped, "
        + EDIT_EN
        + ".",
    ),
    cross=True,
)
def outlier(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    value = size_of(ctx.form_id, data)
    history = ctx.history
    if value is None or len(history) < OUTLIER_MIN_HISTORY:
        return
    median = statistics.median(history)
    if value < OUTLIER_MIN_RATIO * median or value - median < OUTLIER_MIN_EXCESS:
        return
    z = modified_z(value, history)
    if z > OUTLIER_Z:
        yield Finding(
            c.SIZE_FIELD[ctx.form_id],
            {
                "value": round(value),
                "n": len(history),
                "median": round(median, 1),
                "z": "∞" if math.isinf(z) else round(z, 1),
            },
        )
