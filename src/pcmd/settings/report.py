"""The `[report]` table of pcmd.toml, read and checked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pcmd.errors import SettingsError

# The `[report]` table of pcmd.toml: who sends the report and who signs it (its cover, in the
# administrative format of Decree 30/2020). Blank fields are left as dotted lines to fill by hand.
REPORT_TEXT_LIMIT = 200


@dataclass(frozen=True)
class ReportSettings:
    parent_agency: str = ""  # cơ quan chủ quản, e.g. UBND TỈNH QUẢNG NGÃI
    agency: str = ""  # cơ quan ban hành, e.g. SỞ Y TẾ
    symbol: str = "BC"  # the part after "Số: …/", e.g. BC-SYT
    place: str = ""  # địa danh, e.g. Quảng Ngãi
    to: tuple[str, ...] = ()  # Kính gửi
    recipients: tuple[str, ...] = ("Như trên", "Lưu: VT")  # Nơi nhận
    signer_authority: str = ""  # KT. GIÁM ĐỐC, TM. ỦY BAN NHÂN DÂN, … (may be empty)
    signer_title: str = ""  # PHÓ GIÁM ĐỐC
    signer_name: str = ""
    dhis2_mapping: Path | None = None  # CSV mapping pcmd codes to DHIS2 uids


REPORT_HELP = {
    "parent_agency": 'cơ quan chủ quản (parent agency), e.g. "UBND TỈNH QUẢNG NGÃI"',
    "agency": 'cơ quan ban hành (issuing agency), e.g. "SỞ Y TẾ"',
    "symbol": 'ký hiệu sau số (symbol after the number), e.g. "BC-SYT"',
    "place": 'địa danh (place), e.g. "Quảng Ngãi"',
    "to": "kính gửi (addressees), a list of strings",
    "recipients": "nơi nhận (recipients), a list of strings",
    "signer_authority": 'quyền hạn (authority), e.g. "KT. GIÁM ĐỐC"',
    "signer_title": 'chức vụ người ký (signer\'s title), e.g. "PHÓ GIÁM ĐỐC"',
    "signer_name": "họ tên người ký (signer's full name)",
    "dhis2_mapping": 'tệp CSV ánh xạ mã DHIS2 (the DHIS2 mapping CSV), e.g. "dhis2-mapping.csv"',
}
SYMBOL_RE = re.compile(r"[A-ZĐ][A-ZĐ0-9]*(?:[-.][A-ZĐ0-9]+)*")


def _report_text(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{key}: cần một chuỗi (expected a string)")
    text = value.strip()
    if len(text) > REPORT_TEXT_LIMIT or any(c in text for c in "\r\n\t"):
        raise ValueError(
            f"{key}: một dòng, tối đa {REPORT_TEXT_LIMIT} ký tự (one line of at most "
            f"{REPORT_TEXT_LIMIT} characters)"
        )
    return text


def parse_report_section(raw: Any, where: str) -> ReportSettings:
    """The `[report]` table, checked: known keys, one-line texts, lists of texts, a symbol in
    capitals (BC-SYT). Raises SettingsError saying which key is wrong and how to fix it."""
    if not isinstance(raw, dict):
        raise SettingsError(f"{where}: [report] phải là một bảng (must be a table of settings).")
    unknown = sorted(set(raw) - set(REPORT_HELP))
    values: dict[str, Any] = {}
    key = ""
    try:
        if unknown:
            raise ValueError(
                f"không có {', '.join(unknown)} (unknown key(s)); known: {', '.join(REPORT_HELP)}"
            )
        for key, value in raw.items():
            if key in ("to", "recipients"):
                if not isinstance(value, list):
                    raise ValueError(f"{key}: cần một danh sách chuỗi (expected a list of strings)")
                values[key] = tuple(t for t in (_report_text(key, v) for v in value) if t)
            elif key == "dhis2_mapping":
                values[key] = Path(_report_text(key, value)).expanduser() if value else None
            else:
                values[key] = _report_text(key, value)
        key = "symbol"
        if "symbol" in values and not SYMBOL_RE.fullmatch(values["symbol"]):
            raise ValueError(
                "symbol: chữ in hoa và số, nối bằng dấu gạch ngang (capitals and digits joined "
                "by hyphens)"
            )
    except ValueError as exc:
        fix = f"{key} = {REPORT_HELP[key]}" if key in REPORT_HELP else "remove the unknown key"
        raise SettingsError(
            f"{where}: [report] không hợp lệ — {exc}. (The [report] table is invalid.) Fix: {fix}."
        ) from None
    return ReportSettings(**values)
