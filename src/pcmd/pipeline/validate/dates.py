"""Activity dates: in the future (DATE_001), before the programme (DATE_002), a district
organiser after districts were abolished (DATE_003)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from pcmd.forms import contract as c
from pcmd.forms.contract import Data, is_chosen
from pcmd.pipeline.validate.context import RuleContext
from pcmd.pipeline.validate.registry import EDIT_EN, EDIT_VI, Finding, rule
from pcmd.pipeline.validate.values import activity_date

EARLIEST_DATE = dt.date(2021, 1, 1)  # Programme 1629 starts in 2021
DISTRICTS_ABOLISHED = dt.date(2025, 7, 1)


@rule(
    "DATE_001",
    "error",
    ("Ngày hoạt động trong tương lai", "Activity date in the future"),
    (
        "[{field}] Ngày {value} sau ngày phiếu được gửi hoặc sau hôm nay ({limit}). Cách sửa: "
        + EDIT_VI
        + " với ngày diễn ra hoạt động.",
        "[{field}] The date {value} is after the day the form was sent or after today "
        "({limit}). Fix: " + EDIT_EN + " with the day the activity took place.",
    ),
)
def date_in_future(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    day = activity_date(ctx.form_id, data)
    if day is not None and day > ctx.today:
        yield Finding(c.DATE_FIELD[ctx.form_id], {"value": day.isoformat(), "limit": ctx.today})


@rule(
    "DATE_002",
    "error",
    ("Ngày hoạt động trước năm 2021", "Activity date before 2021"),
    (
        "[{field}] Ngày {value} trước ngày 01/01/2021, khi Chương trình bắt đầu. Cách sửa: "
        + EDIT_VI
        + " với ngày diễn ra hoạt động (kiểm tra năm).",
        "[{field}] The date {value} is before 1 January 2021, when the programme began. Fix: "
        + EDIT_EN
        + " with the day the activity took place (check the year).",
    ),
)
def date_before_programme(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    day = activity_date(ctx.form_id, data)
    if day is not None and day < EARLIEST_DATE:
        yield Finding(c.DATE_FIELD[ctx.form_id], {"value": day.isoformat()})


@rule(
    "DATE_003",
    "warning",
    ("Cấp huyện sau khi bỏ cấp huyện", "District level after districts were abolished"),
    (
        "[{field}] Lớp tập huấn ngày {value} ghi cấp huyện, nhưng từ 01/07/2025 không còn cấp "
        "huyện. Cách sửa: " + EDIT_VI + ", chọn cấp tỉnh hoặc cấp xã.",
        "[{field}] A training on {value} is recorded as district level, but districts no longer "
        "exist from 1 July 2025. Fix: " + EDIT_EN + " choosing province or commune level.",
    ),
)
def district_after_reform(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    day = activity_date(ctx.form_id, data)
    if (
        ctx.form_id == c.TRAINING
        and day is not None
        and day >= DISTRICTS_ABOLISHED
        and is_chosen(data, c.ORGANIZER_LEVEL, "huyen")
    ):
        yield Finding(c.ORGANIZER_LEVEL, {"value": day.isoformat()})
