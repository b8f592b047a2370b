"""Words of the web pages in Vietnamese (default) and English, and how numbers and dates look.

Vietnamese writes 1.234.567,8 and 23/11/2026; English pages keep the same day-first dates (the
reports are Vietnamese documents) and write 1,234,567.8.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

LANGS = ("vi", "en")

TEXT: dict[str, dict[str, str]] = {
    "app": {"vi": "Số liệu phòng, chống mại dâm", "en": "Prostitution-prevention data"},
    "login": {"vi": "Đăng nhập", "en": "Sign in"},
    "logout": {"vi": "Đăng xuất", "en": "Sign out"},
    "username": {"vi": "Tên đăng nhập", "en": "Username"},
    "password": {"vi": "Mật khẩu", "en": "Password"},
    "dashboard": {"vi": "Tổng quan", "en": "Dashboard"},
    "submissions": {"vi": "Phiếu báo cáo", "en": "Submissions"},
    "quality": {"vi": "Chất lượng số liệu", "en": "Data quality"},
    "setup": {"vi": "Thiết lập", "en": "Set-up"},
    "reports": {"vi": "Báo cáo", "en": "Reports"},
    "form": {"vi": "Biểu mẫu", "en": "Form"},
    "commune": {"vi": "Xã, phường", "en": "Commune"},
    "province": {"vi": "Tỉnh", "en": "Province"},
    "period": {"vi": "Kỳ", "en": "Period"},
    "state": {"vi": "Trạng thái duyệt", "en": "Review state"},
    "issues": {"vi": "Cảnh báo, lỗi", "en": "Issues"},
    "has_issue_filter": {"vi": "Chỉ phiếu có lỗi/cảnh báo", "en": "Only with issues"},
    "filter": {"vi": "Lọc", "en": "Filter"},
    "all": {"vi": "Tất cả", "en": "All"},
    "activity_date": {"vi": "Ngày hoạt động", "en": "Activity date"},
    "received": {"vi": "Ngày nhận", "en": "Received"},
    "source": {"vi": "Nguồn", "en": "Source"},
    "answers": {"vi": "Nội dung phiếu", "en": "Answers"},
    "photos": {"vi": "Ảnh", "en": "Photos"},
    "location": {"vi": "Vị trí", "en": "Location"},
    "history": {"vi": "Lịch sử sửa", "en": "Edit history"},
    "review": {"vi": "Duyệt phiếu", "en": "Review"},
    "comment": {"vi": "Ghi chú", "en": "Comment"},
    "approve": {"vi": "Duyệt", "en": "Approve"},
    "mark_issues": {"vi": "Có vấn đề", "en": "Has issues"},
    "reject": {"vi": "Không chấp nhận", "en": "Reject"},
    "no_rows": {"vi": "Không có phiếu nào.", "en": "No submissions."},
    "not_found": {"vi": "Không tìm thấy", "en": "Not found"},
    "forbidden": {"vi": "Không có quyền", "en": "Not allowed"},
    "version": {"vi": "Phiên bản", "en": "Version"},
    "count": {"vi": "Số phiếu", "en": "Count"},
    "next": {"vi": "Trang sau", "en": "Next page"},
    "prev": {"vi": "Trang trước", "en": "Previous page"},
    "severity_error": {"vi": "Lỗi", "en": "Error"},
    "severity_warning": {"vi": "Cảnh báo", "en": "Warning"},
    "accept_establishment": {
        "vi": "Đưa cơ sở này vào danh sách quản lý",
        "en": "Add this establishment to the register",
    },
    "state_received": {"vi": "Mới nhận", "en": "Received"},
    "state_has_issues": {"vi": "Có vấn đề", "en": "Has issues"},
    "state_approved": {"vi": "Đã duyệt", "en": "Approved"},
    "state_rejected": {"vi": "Không chấp nhận", "en": "Rejected"},
    "state_edited": {"vi": "Đã sửa", "en": "Edited"},
    "saved": {"vi": "Đã lưu.", "en": "Saved."},
    "bad_csrf": {
        "vi": "Phiên làm việc đã hết hạn, vui lòng thử lại.",
        "en": "Your session expired, please try again.",
    },
}

REVIEW_STATES = ("received", "has_issues", "approved", "rejected", "edited")


def text(key: str, lang: str) -> str:
    entry = TEXT.get(key)
    if entry is None:
        return key
    return entry.get(lang) or entry["vi"]


def number(value: float | int | None, lang: str, decimals: int | None = None) -> str:
    """1234567.8 → '1.234.567,8' (vi) or '1,234,567.8' (en); None → '—'."""
    if value is None:
        return "—"
    if decimals is None:
        decimals = 0 if float(value).is_integer() else 1
    quant = Decimal(1).scaleb(-decimals)
    rounded = Decimal(str(value)).quantize(quant, rounding=ROUND_HALF_UP)
    whole, _, frac = f"{abs(rounded):f}".partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    thousands, point = (".", ",") if lang == "vi" else (",", ".")
    out = thousands.join(groups) + (point + frac if frac else "")
    return ("-" if rounded < 0 else "") + out


def date(value: dt.date | dt.datetime | str | None) -> str:
    """dd/mm/yyyy (and HH:MM for a moment, in Vietnam's time, UTC+7)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            parsed = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
        return parsed.strftime("%d/%m/%Y")
    if isinstance(value, dt.datetime):
        local = value.astimezone(dt.timezone(dt.timedelta(hours=7))) if value.tzinfo else value
        return local.strftime("%d/%m/%Y %H:%M")
    return value.strftime("%d/%m/%Y")
