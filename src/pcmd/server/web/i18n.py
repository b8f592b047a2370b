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
    # --- review at scale (issue 13) ---
    "issue_family": {"vi": "Loại vấn đề", "en": "Kind of issue"},
    "date_from": {"vi": "Từ ngày", "en": "From"},
    "date_to": {"vi": "Đến ngày", "en": "To"},
    "more_than": {"vi": "hơn", "en": "more than"},
    "select": {"vi": "Chọn", "en": "Select"},
    "select_page": {"vi": "Chọn cả trang", "en": "Select the whole page"},
    "approve_selected": {"vi": "Duyệt các phiếu đã chọn", "en": "Approve the selected"},
    "reject_selected": {"vi": "Không chấp nhận các phiếu đã chọn…", "en": "Reject the selected…"},
    "sent_by": {"vi": "Người gửi", "en": "Sent by"},
    "device": {"vi": "Máy", "en": "Device"},
    "comments": {"vi": "Trao đổi", "en": "Comments"},
    "missing_files": {"vi": "Thiếu ảnh/tệp", "en": "Files missing"},
    "first_page": {"vi": "Trang đầu", "en": "First page"},
    "bad_date": {
        "vi": "Ngày {value!r} không hợp lệ; chọn ngày trong ô lịch.",
        "en": "The date {value!r} is not valid; pick a day in the calendar.",
    },
    "bad_period": {
        "vi": "Kỳ {value!r} không hợp lệ; ví dụ 2026, 2026Q3, 202609, 2021-2025.",
        "en": "The period {value!r} is not valid; e.g. 2026, 2026Q3, 202609, 2021-2025.",
    },
    "reject_title": {"vi": "Không chấp nhận phiếu", "en": "Reject records"},
    "reject_intro": {
        "vi": "Bạn sắp không chấp nhận {n} phiếu. Phiếu không được chấp nhận không được tính vào "
        "chỉ tiêu. Ghi lý do để người gửi biết cần sửa gì.",
        "en": "You are about to reject {n} record(s). A rejected record is not counted in any "
        "indicator. Give the reason so the sender knows what to fix.",
    },
    "reason": {"vi": "Lý do", "en": "Reason"},
    "confirm_reject": {"vi": "Xác nhận không chấp nhận", "en": "Confirm the rejection"},
    "cancel": {"vi": "Quay lại", "en": "Go back"},
    "reason_required": {
        "vi": "Cần ghi lý do không chấp nhận; chưa phiếu nào bị thay đổi.",
        "en": "A reason for the rejection is needed; no record was changed.",
    },
    "nothing_selected": {
        "vi": "Chưa chọn phiếu nào: đánh dấu các phiếu trong danh sách rồi bấm lại.",
        "en": "No record selected: tick records in the list, then press again.",
    },
    "too_many": {
        "vi": "Chọn nhiều nhất {n} phiếu một lần; chưa phiếu nào bị thay đổi.",
        "en": "Select at most {n} records at a time; no record was changed.",
    },
    "out_of_scope": {
        "vi": "Có phiếu không thuộc địa bàn của bạn hoặc không còn tồn tại; chưa phiếu nào bị "
        "thay đổi. Tải lại danh sách rồi chọn lại.",
        "en": "Some records are outside your area or no longer exist; no record was changed. "
        "Reload the list and select again.",
    },
    "reviewed_n": {"vi": "Đã cập nhật {n} phiếu.", "en": "{n} record(s) updated."},
    "thread": {"vi": "Trao đổi về phiếu", "en": "Comments on this record"},
    "add_comment": {"vi": "Gửi trao đổi", "en": "Add the comment"},
    "comment_empty": {
        "vi": "Nội dung trao đổi đang trống; viết nội dung rồi gửi lại.",
        "en": "The comment is empty; write something and send it again.",
    },
    "no_comments": {"vi": "Chưa có trao đổi nào.", "en": "No comments yet."},
    "kind_approved": {"vi": "Duyệt", "en": "Approved"},
    "kind_has_issues": {"vi": "Có vấn đề", "en": "Has issues"},
    "kind_rejected": {"vi": "Không chấp nhận — lý do", "en": "Rejected — reason"},
    "kind_comment": {"vi": "Trao đổi", "en": "Comment"},
    "what_to_do": {"vi": "Cách xử lý", "en": "What to do"},
    "provinces": {"vi": "Các tỉnh", "en": "Provinces"},
    "records": {"vi": "Số phiếu", "en": "Records"},
    "pending_review": {"vi": "Chờ duyệt", "en": "Awaiting review"},
    "with_errors": {"vi": "Phiếu có lỗi", "en": "Records with errors"},
    "last_received": {"vi": "Nhận gần nhất", "en": "Last received"},
    "total_row": {"vi": "Cả nước", "en": "Whole country"},
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
