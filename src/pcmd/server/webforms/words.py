"""The words of the web-form pages: what the browser says about drafts and the outbox, and the
few words ODK Web Forms itself writes in English only, each Vietnamese first with the English
alongside (they appear inside a form, whatever the page language)."""

from __future__ import annotations

from typing import Any

OUTBOX = {
    "waiting": "Đang chờ gửi: {n} phiếu — sẽ tự gửi khi có mạng ({n} waiting, sent when online)",
    "sent": "Đã gửi phiếu, máy chủ đã nhận (sent and received by the server).",
    "queued": (
        "Chưa có mạng: phiếu được giữ trong máy này và sẽ tự gửi khi có mạng (offline: the form "
        "is kept in this browser and sent when the connection returns)."
    ),
    "failed": "Máy chủ không nhận phiếu (the server refused the form):",
    "signIn": (
        "Phiên đăng nhập đã hết: hãy đăng nhập lại rồi mở lại trang này để gửi. Phiếu vẫn được "
        "giữ trong máy này (your session has ended: sign in again, then open this page again "
        "to send. The forms are still kept in this browser)."
    ),
    "newLink": (
        "Đường dẫn này không còn dùng được: hãy xin cán bộ phụ trách một đường dẫn (mã QR) mới "
        "rồi mở lại biểu mẫu bằng đường dẫn đó trên máy này để gửi. Phiếu vẫn được giữ trong "
        "máy này (this link no longer works: ask your officer for a new link or QR code and "
        "open it in this browser to send. The forms are still kept in this browser)."
    ),
    "restored": (
        "Đã mở lại các câu trả lời đang điền dở (the answers you were filling in are back)."
    ),
    "loadFailed": (
        "Không mở được biểu mẫu: kiểm tra mạng rồi tải lại trang (the form could not be opened: "
        "check the connection and reload the page)."
    ),
}

ENGINE = {
    "Send": "Gửi (Send)",
    "1 question with error.": "1 câu trả lời có lỗi (1 question with error).",
    "{n} questions with errors.": "{n} câu trả lời có lỗi ({n} questions with errors).",
    "Condition not satisfied: required": "Cần trả lời câu này (an answer is required)",
    "Condition not satisfied: constraint": "Câu trả lời chưa đúng (the answer is not valid)",
    "Choose image": "Chọn ảnh (Choose image)",
    "Take picture": "Chụp ảnh (Take picture)",
    "Get location": "Lấy vị trí (Get location)",
    "Save location": "Lưu vị trí (Save location)",
    "Remove": "Bỏ (Remove)",
    "Clear": "Xoá (Clear)",
    "Delete": "Xoá (Delete)",
    "Cancel": "Huỷ (Cancel)",
    "Close": "Đóng (Close)",
    "Try again": "Thử lại (Try again)",
}


def page_texts() -> dict[str, Any]:
    """What the page gives its script (#wf-texts)."""
    return {**OUTBOX, "engine": ENGINE}


PAGE = {
    "forms_title": {"vi": "Biểu mẫu", "en": "Forms"},
    "forms_intro": {
        "vi": "Chọn biểu mẫu để điền ngay trên trình duyệt; phiếu điền khi mất mạng được giữ "
        "lại và tự gửi khi có mạng.",
        "en": "Choose a form to fill in this browser; forms finished offline are kept and "
        "sent when the connection returns.",
    },
    "fill": {"vi": "Điền", "en": "Fill in"},
    "no_forms": {"vi": "Chưa có biểu mẫu nào đang mở.", "en": "No form is open yet."},
    "for_user": {"vi": "Người báo cáo", "en": "Reporter"},
    "edit_title": {"vi": "Sửa phiếu", "en": "Correct the submission"},
    "edit_intro": {
        "vi": "Sửa các câu trả lời rồi bấm Gửi: bản sửa được lưu thành phiên bản mới, bản cũ "
        "vẫn được giữ trong lịch sử.",
        "en": "Change the answers and press Send: the correction is kept as a new version, "
        "the old one stays in the history.",
    },
    "back": {"vi": "Quay lại phiếu", "en": "Back to the submission"},
    "offline_note": {
        "vi": "Câu trả lời được lưu trong máy khi đang điền; tải lại trang không mất.",
        "en": "Answers are kept in this browser while you fill; a reload loses nothing.",
    },
}


def word(key: str, lang: str) -> str:
    return PAGE[key].get(lang) or PAGE[key]["vi"]
