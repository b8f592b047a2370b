"""Validation issues in an officer's words: the families of rules a reviewer can filter by, and
one issue as a page shows it — what is wrong, on which question, and what to do — with no rule
code and no field path.

The rule catalogue (pipeline/validate/) writes each message as `[field/path] what. Cách sửa: …`;
a page puts the question's label in place of the path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Rule code prefix → what the family checks, (Vietnamese, English).
FAMILIES: dict[str, tuple[str, str]] = {
    "REQ": ("Thiếu câu trả lời", "Missing answers"),
    "TYPE": ("Giá trị không đúng kiểu hoặc lựa chọn", "Wrong kind of value or choice"),
    "RANGE": ("Số lượng ngoài khoảng hợp lý", "Numbers out of range"),
    "FINE": ("Tiền phạt bất thường", "Unusual fines"),
    "DATE": ("Ngày tháng không hợp lệ", "Dates out of place"),
    "PART": ("Số bộ phận lớn hơn tổng", "A part larger than its whole"),
    "GEO": ("Địa bàn, vị trí", "Commune and location"),
    "EST": ("Cơ sở kinh doanh trong danh sách quản lý", "Establishments of the register"),
    "MEDIA": ("Thiếu số tin, bài", "Media items missing"),
    "CONS": ("Xử lý không khớp với vi phạm", "Action without a violation"),
    "DUP": ("Có thể trùng phiếu", "Possible duplicates"),
    "OUT": ("Số liệu khác thường so với trước", "Unusual against earlier records"),
    "PIPE": ("Phiếu không xử lý được", "Records that could not be processed"),
    "CASE": ("Bước xử lý vụ việc không khớp ngày tiếp nhận", "Case steps before the case"),
    "PLAN": ("Năm kế hoạch không hợp lệ", "Plan year out of range"),
}

_PATH = re.compile(r"^\[([^\]]*)\]\s*")
_CODE = re.compile(r"\b[A-Z]+_\d{3}\b")


def family_of(rule: str) -> str:
    """The family of a rule code: `GEO_005` → `GEO`."""
    return rule.split("_", 1)[0]


def family_name(family: str, lang: str) -> str:
    vi, en = FAMILIES.get(family, ("Vấn đề khác", "Other issues"))
    return vi if lang == "vi" else en


@dataclass(frozen=True)
class IssueText:
    """One issue in words: the question it is about (its label), what is wrong, what to do."""

    question: str
    what: str
    todo: str


def issue_text(message: str, question_label: str | None) -> IssueText:
    """Split a catalogue message into what is wrong and what to do, its `[path]` replaced by
    the question's label (none for a record-wide issue) and any rule code left out."""
    found = _PATH.match(message)
    body = message[found.end() :] if found else message
    body = _CODE.sub("", body).replace("  ", " ")
    for marker in ("Cách sửa:", "Fix:"):
        if marker in body:
            what, _, todo = body.partition(marker)
            return IssueText(question_label or "", what.strip(), todo.strip())
    return IssueText(question_label or "", body.strip(), "")
