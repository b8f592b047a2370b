"""Place: the commune unknown, in another province, closed or not yet created on the activity
date (GEO_001–GEO_004), and the recorded location far from it or malformed (GEO_005, GEO_006)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Sequence

from pcmd.forms import contract as c
from pcmd.forms.contract import Data
from pcmd.pipeline.validate.context import OrgEra, RuleContext
from pcmd.pipeline.validate.registry import EDIT_EN, EDIT_VI, Finding, rule
from pcmd.pipeline.validate.values import activity_date, as_number, as_text

MAX_DISTANCE_KM = 30.0

EARTH_RADIUS_KM = 6371.0088


def _era(eras: Sequence[OrgEra], day: dt.date | None) -> OrgEra | None:
    """The era in force on `day`, else the one in force now, else the latest."""
    if day is not None:
        for era in eras:
            if era.in_force_on(day):
                return era
    current = [e for e in eras if e.valid_to is None]
    if current:
        return current[0]
    return max(eras, key=lambda e: e.valid_from) if eras else None


def _commune(data: Data, ctx: RuleContext) -> tuple[str | None, Sequence[OrgEra]]:
    code = as_text(data.get(c.COMMUNE))
    return code, ctx.lookups.org_units.get(code, ()) if code else ()


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


@rule(
    "GEO_001",
    "error",
    ("Mã xã không có trong danh mục", "Unknown commune code"),
    (
        "[{field}] Mã xã {value} không có trong danh mục đơn vị hành chính. Cách sửa: tải lại "
        "biểu mẫu trống trên ODK Collect (danh sách xã mới), rồi " + EDIT_VI + ".",
        "[{field}] The commune code {value} is not in the org-unit list. Fix: download the "
        "blank form again in ODK Collect (the current commune list), then " + EDIT_EN + ".",
    ),
)
def commune_unknown(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    code, eras = _commune(data, ctx)
    if code is not None and not any(e.level == "commune" for e in eras):
        yield Finding(c.COMMUNE, {"value": code})


@rule(
    "GEO_002",
    "error",
    ("Xã không thuộc tỉnh đã chọn", "Commune not in the chosen province"),
    (
        "[{field}] Xã {value} thuộc tỉnh {parent}, không thuộc tỉnh {province} đã chọn. Cách "
        "sửa: " + EDIT_VI + ", chọn đúng tỉnh rồi đúng xã.",
        "[{field}] Commune {value} belongs to province {parent}, not to the chosen province "
        "{province}. Fix: " + EDIT_EN + " choosing the right province, then the commune.",
    ),
)
def commune_outside_province(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    code, eras = _commune(data, ctx)
    province = as_text(data.get(c.PROVINCE))
    era = _era([e for e in eras if e.level == "commune"], activity_date(ctx.form_id, data))
    if code and province and era is not None and era.parent != province:
        yield Finding(c.COMMUNE, {"value": code, "parent": era.parent, "province": province})


def _not_in_force(data: Data, ctx: RuleContext) -> tuple[str, dt.date, list[OrgEra]] | None:
    """(code, date, eras) when the commune exists but no era of it covers the activity date."""
    code, eras = _commune(data, ctx)
    communes = [e for e in eras if e.level == "commune"]
    day = activity_date(ctx.form_id, data)
    if code is None or day is None or not communes or any(e.in_force_on(day) for e in communes):
        return None
    return code, day, communes


@rule(
    "GEO_003",
    "error",
    ("Xã đã giải thể trước ngày hoạt động", "Commune closed before the activity"),
    (
        "[{field}] Xã {value} không còn từ ngày {closed}, trước ngày hoạt động {day}. Cách sửa: "
        "tải lại biểu mẫu trống, rồi " + EDIT_VI + " với xã, phường, đặc khu hiện nay.",
        "[{field}] Commune {value} ceased to exist on {closed}, before the activity on {day}. "
        "Fix: download the blank form again, then " + EDIT_EN + " with today's commune.",
    ),
)
def commune_closed(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    found = _not_in_force(data, ctx)
    if found is None:
        return
    code, day, eras = found
    ended = [e.valid_to for e in eras if e.valid_to is not None and e.valid_to <= day]
    if ended:
        yield Finding(c.COMMUNE, {"value": code, "closed": max(ended), "day": day})


@rule(
    "GEO_004",
    "warning",
    ("Xã chưa thành lập vào ngày hoạt động", "Commune not yet created on the activity date"),
    (
        "[{field}] Xã {value} được thành lập từ ngày {since}, sau ngày hoạt động {day}. Cách "
        "sửa: nếu danh mục có đơn vị cũ cho ngày đó, " + EDIT_VI + " với đơn vị cũ; nếu hoạt "
        "động được ghi cho xã hiện nay là đúng, người duyệt chấp nhận cảnh báo này.",
        "[{field}] Commune {value} exists from {since}, after the activity on {day}. Fix: if "
        "the list holds the unit of that time, " + EDIT_EN + " with it; if recording it under "
        "today's commune is intended, a reviewer accepts this warning.",
    ),
)
def commune_not_yet_created(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    found = _not_in_force(data, ctx)
    start = ctx.lookups.coverage_start
    if found is None or start is None:
        return
    code, day, eras = found
    # Before the list's first day it says nothing about which communes existed.
    if day >= start and all(e.valid_from > day for e in eras):
        since = min(e.valid_from for e in eras)
        yield Finding(c.COMMUNE, {"value": code, "since": since, "day": day})


def _point(value: object) -> tuple[float, float] | None:
    if not isinstance(value, list) or len(value) < 2:
        return None
    lat, lon = as_number(value[0]), as_number(value[1])
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    if lat == 0 and lon == 0:  # what a phone reports when it had no fix
        return None
    return lat, lon


@rule(
    "GEO_005",
    "warning",
    ("Vị trí xa xã", "Location far from the commune"),
    (
        "[{field}] Vị trí ghi nhận cách trung tâm xã {commune} khoảng {km} km (quá {limit} km). "
        "Cách sửa: kiểm tra xã đã chọn; nếu vị trí được lấy ở nơi khác, người duyệt chấp nhận "
        "cảnh báo này.",
        "[{field}] The location is about {km} km from the centre of commune {commune} (more "
        "than {limit} km). Fix: check the commune chosen; if the location was taken elsewhere, "
        "a reviewer accepts this warning.",
    ),
)
def location_far(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    point = _point(data.get(c.LOCATION))
    code, eras = _commune(data, ctx)
    era = _era([e for e in eras if e.level == "commune"], activity_date(ctx.form_id, data))
    if point is None or era is None or era.latitude is None or era.longitude is None:
        return
    km = haversine_km(point[0], point[1], era.latitude, era.longitude)
    if km > MAX_DISTANCE_KM:
        yield Finding(
            c.LOCATION, {"km": round(km), "commune": code, "limit": round(MAX_DISTANCE_KM)}
        )


@rule(
    "GEO_006",
    "warning",
    ("Vị trí không hợp lệ", "Invalid location"),
    (
        "[{field}] Vị trí {value!r} không phải toạ độ hợp lệ (hoặc là 0 0 khi máy chưa bắt được "
        "GPS). Cách sửa: lấy lại vị trí khi " + EDIT_VI + ", hoặc xoá vị trí.",
        "[{field}] The location {value!r} is not a valid coordinate (or is 0 0, taken before the "
        "phone had a GPS fix). Fix: record it again as you " + EDIT_EN + ", or clear it.",
    ),
)
def location_invalid(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    value = data.get(c.LOCATION)
    if value not in (None, "", []) and _point(value) is None:
        yield Finding(c.LOCATION, {"value": value})
