"""Duplicates (DUP_001, across records): the same activity sent earlier from another device,
and the key that says two records are the same activity."""

from __future__ import annotations

from collections.abc import Iterator

from pcmd.forms import contract as c
from pcmd.forms.contract import Data
from pcmd.pipeline.validate.context import RuleContext
from pcmd.pipeline.validate.registry import Finding, rule
from pcmd.pipeline.validate.values import activity_date, as_text


def duplicate_key(form_id: str, data: Data) -> tuple[object, ...] | None:
    """What makes two records the same activity (DUP_001): form, commune, date and every count;
    for an inspection also the establishment (two visits with the same head counts are common)."""
    commune, day = as_text(data.get(c.COMMUNE)), activity_date(form_id, data)
    if commune is None or day is None or form_id not in c.COUNTS:
        return None
    counts = tuple(data.get(p) for p in c.COUNTS[form_id])
    extra: tuple[object, ...] = ()
    if form_id == c.INSPECTION:
        extra = (data.get(c.ESTABLISHMENT_ID), data.get(c.ESTABLISHMENT_NAME))
    elif form_id == c.TRAINING:
        extra = (data.get(c.DAYS),)
    return (form_id, commune, day, *counts, *extra)


@rule(
    "DUP_001",
    "warning",
    ("Có thể trùng với phiếu khác", "Likely the same activity reported twice"),
    (
        "Phiếu này trùng biểu mẫu, xã, ngày và mọi số liệu với phiếu {other} gửi trước từ thiết "
        "bị khác. Cách sửa: nếu là cùng một hoạt động, người duyệt từ chối phiếu gửi sau; nếu là "
        "hai hoạt động khác nhau, người duyệt chấp nhận cảnh báo này.",
        "This submission has the same form, commune, date and counts as {other}, sent earlier "
        "from another device. Fix: if it is the same activity, a reviewer rejects the later "
        "submission; if they are two activities, a reviewer accepts this warning.",
    ),
    cross=True,
)
def duplicate_activity(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    if ctx.duplicate_of is not None:
        yield Finding(None, {"other": ctx.duplicate_of})
