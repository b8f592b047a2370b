"""The audit log as an administrator reads it: who approved, rejected, imported, created or
revoked what, and when — filtered by action, user and date, paged, within the reader's provinces,
each action in Vietnamese and English.

A province administrator reads the entries of its provinces: those written with the province
(accounts, app users: server/audit.py) and, for entries about a record written without one, the
entries whose record lies in its communes. Sign-ins are not listed (they are the throttle's
records, and a name typed at sign-in may be anything, even a password). Details are shown by
an allow-list of keys, so nothing secret a writer might have put there reaches the page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, func, literal, or_, select
from sqlalchemy.orm import Session

from pcmd.db.models import AuditLog, Establishment, OrgUnit, Submission

PER_PAGE = 50
VN_TIME = dt.timezone(dt.timedelta(hours=7))
HIDDEN = ("login", "login.failed", "setup.code")

ACTIONS: dict[str, tuple[str, str]] = {
    "submission.review": ("Duyệt phiếu", "Reviewed a submission"),
    "submission.comment": ("Trao đổi về phiếu", "Commented on a submission"),
    "issue.override": ("Chấp nhận cảnh báo của phiếu", "Accepted a warning"),
    "establishment.accept": ("Đưa cơ sở vào danh sách quản lý", "Added an establishment"),
    "user.create": ("Tạo người dùng", "Created a web user"),
    "user.access": ("Đổi vai trò, đơn vị của người dùng", "Changed a web user's role and units"),
    "user.password": ("Đặt lại mật khẩu", "Reset a password"),
    "user.disable": ("Khoá người dùng", "Disabled a web user"),
    "user.enable": ("Mở khoá người dùng", "Enabled a web user"),
    "appuser.create": ("Tạo tài khoản ODK Collect", "Created an app user"),
    "appuser.revoke": ("Thu hồi tài khoản ODK Collect", "Revoked an app user"),
    "reference.import": ("Nhập số liệu tham chiếu", "Imported reference data"),
    "establishments.import": ("Nhập danh sách cơ sở", "Imported the establishment register"),
    "targets.import": ("Nhập chỉ tiêu", "Imported targets"),
    "submissions.import": ("Nhập thư mục phiếu", "Imported a folder of submissions"),
    "source.add": ("Thêm nguồn đồng bộ", "Added a sync source"),
    "source.remove": ("Gỡ nguồn đồng bộ", "Removed a sync source"),
    "setup.first_admin": ("Tạo quản trị viên đầu tiên", "Created the first administrator"),
}
STATES = {
    "approved": ("đã duyệt", "approved"),
    "rejected": ("không chấp nhận", "rejected"),
    "has_issues": ("có vấn đề", "has issues"),
    "received": ("mới nhận", "received"),
}
IMPORT_OUTCOMES = (  # a folder import's outcomes (ingest statuses, and folders that failed)
    ("created", "phiếu mới", "new"),
    ("edited", "bản sửa", "edits"),
    ("duplicate", "đã có", "already there"),
    ("attachments_added", "thêm tệp đính kèm", "attachments added"),
    ("error", "lỗi", "failed"),
)
ROLE_WORDS = {
    "national_admin": ("Quản trị quốc gia", "National administrator"),
    "province_admin": ("Quản trị tỉnh", "Province administrator"),
    "province_reviewer": ("Cán bộ duyệt cấp tỉnh", "Province reviewer"),
    "commune_officer": ("Cán bộ xã", "Commune officer"),
    "viewer": ("Chỉ xem", "Read only"),
    "admin": ("Quản trị", "Administrator"),
}


@dataclass(frozen=True)
class Filters:
    action: str = ""
    actor: str = ""  # a web user's name
    day_from: dt.date | None = None
    day_to: dt.date | None = None
    page: int = 1


@dataclass(frozen=True)
class Entry:
    at: dt.datetime  # in Vietnam's time
    who: str
    what_vi: str
    what_en: str
    target: str
    submission_id: int | None  # a link to the record, when the entry is about one
    details_vi: str
    details_en: str


@dataclass(frozen=True)
class AuditPage:
    entries: list[Entry]
    total: int
    page: int
    pages: int


def _in_provinces(provinces: list[str]) -> ColumnElement[bool]:
    communes = select(OrgUnit.code).where(
        OrgUnit.level == "commune", OrgUnit.parent_code.in_(provinces)
    )
    subs = select(Submission.id, Submission.instance_id).where(
        Submission.commune_code.in_(communes)
    )
    about_record = or_(
        and_(
            AuditLog.action.like("submission.%"),
            AuditLog.target.in_(select(cast(subs.subquery().c.id, String))),
        ),
        and_(
            AuditLog.action == "issue.override",
            AuditLog.target.in_(select(literal("submission:") + subs.subquery().c.instance_id)),
        ),
        and_(
            AuditLog.action == "establishment.accept",
            AuditLog.target.in_(
                select(Establishment.id).where(Establishment.commune_code.in_(communes))
            ),
        ),
    )
    return or_(
        AuditLog.province_code.in_(provinces),
        and_(AuditLog.province_code.is_(None), about_record),
    )


def _conditions(provinces: list[str] | None, filters: Filters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [AuditLog.action.not_in(HIDDEN)]
    if provinces is not None:
        where.append(_in_provinces(provinces))
    if filters.action:
        where.append(AuditLog.action == filters.action)
    if filters.actor:
        where.append(AuditLog.actor == f"user:{filters.actor}")
    if filters.day_from is not None:
        where.append(AuditLog.at >= _start_utc(filters.day_from))
    if filters.day_to is not None:
        where.append(AuditLog.at < _start_utc(filters.day_to + dt.timedelta(days=1)))
    return where


def _start_utc(day: dt.date) -> dt.datetime:
    """The first moment of a day in Vietnam, in UTC (as the log stores moments)."""
    return dt.datetime.combine(day, dt.time(), VN_TIME).astimezone(dt.UTC)


def read(session: Session, provinces: list[str] | None, filters: Filters) -> AuditPage:
    """One page of entries, newest first; `provinces` None = every entry (national)."""
    where = _conditions(provinces, filters)
    total = session.scalar(select(func.count()).select_from(AuditLog).where(*where)) or 0
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(1, filters.page), pages)
    rows = list(
        session.scalars(
            select(AuditLog)
            .where(*where)
            .order_by(AuditLog.at.desc(), AuditLog.id.desc())
            .offset((page - 1) * PER_PAGE)
            .limit(PER_PAGE)
        )
    )
    names = _unit_names(session, rows)
    return AuditPage([entry(row, names) for row in rows], total, page, pages)


def _unit_names(session: Session, rows: list[AuditLog]) -> dict[str, str]:
    """Names of the org units the entries' details list (a person reads names, not codes)."""
    codes = {
        str(code)
        for row in rows
        for key in ("org", "communes")
        if isinstance((row.details or {}).get(key), list)
        for code in row.details[key]
    }
    if not codes:
        return {}
    found = session.execute(
        select(OrgUnit.code, OrgUnit.name).where(
            OrgUnit.code.in_(codes), OrgUnit.valid_to.is_(None)
        )
    )
    return {str(code): str(name) for code, name in found}


def actors(session: Session, provinces: list[str] | None) -> list[str]:
    """The web users who appear in the entries the reader may see (for the user filter)."""
    where = _conditions(provinces, Filters())
    names = session.scalars(
        select(AuditLog.actor).where(*where, AuditLog.actor.like("user:%")).distinct()
    )
    return sorted(name.removeprefix("user:") for name in names)


def _who(actor: str) -> str:
    if actor.startswith("user:"):
        return actor.removeprefix("user:")
    return {
        "cli": "Quản trị máy chủ (server administrator)",
        "server": "Máy chủ (server)",
        "demo": "Dữ liệu mẫu (demo)",
    }.get(actor, "Trang web (web)" if actor.startswith("web:") else actor)


def _vn(moment: dt.datetime) -> dt.datetime:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(VN_TIME)


def entry(row: AuditLog, names: dict[str, str] | None = None) -> Entry:
    what_vi, what_en = ACTIONS.get(row.action, ("Thao tác khác", "Other action"))
    details = row.details or {}
    vi, en = _details(row.action, details, names or {})
    submission_id = None
    target = row.target or ""
    if row.action.startswith("submission.") and target.isdigit():
        submission_id = int(target)
        target = f"#{target}"
    elif row.action == "issue.override":
        target = target.removeprefix("submission:")
    elif row.action.endswith(".import"):
        target = target.replace("\\", "/").rsplit("/", 1)[-1]  # the file's name, not its folder
    return Entry(_vn(row.at), _who(row.actor), what_vi, what_en, target, submission_id, vi, en)


def _details(action: str, details: dict[str, Any], names: dict[str, str]) -> tuple[str, str]:
    """Words for an allow-list of detail keys; anything else is not shown."""
    vi: list[str] = []
    en: list[str] = []
    state = details.get("state")
    if isinstance(state, str) and state in STATES:
        vi.append(STATES[state][0])
        en.append(STATES[state][1])
    for key, word_vi, word_en in (("reason", "lý do", "reason"), ("comment", "ghi chú", "comment")):
        value = details.get(key)
        if isinstance(value, str) and value.strip():
            vi.append(f"{word_vi}: {value.strip()[:300]}")
            en.append(f"{word_en}: {value.strip()[:300]}")
    role = details.get("role")
    if isinstance(role, str) and role in ROLE_WORDS:
        vi.append(ROLE_WORDS[role][0])
        en.append(ROLE_WORDS[role][1])
    for key in ("org", "communes"):
        codes = details.get(key)
        if isinstance(codes, list) and codes:
            listed = ", ".join(names.get(str(c), str(c)) for c in codes[:20])
            vi.append(listed)
            en.append(listed)
    if action == "submissions.import":
        for key, word_vi, word_en in IMPORT_OUTCOMES:
            if isinstance(details.get(key), int):
                vi.append(f"{word_vi} {details[key]}")
                en.append(f"{word_en} {details[key]}")
    elif action.endswith(".import"):
        counts = [details.get(k) for k in ("added", "updated", "unchanged")]
        if all(isinstance(c, int) for c in counts):
            vi.append(f"thêm {counts[0]}, cập nhật {counts[1]}, giữ nguyên {counts[2]}")
            en.append(f"added {counts[0]}, updated {counts[1]}, unchanged {counts[2]}")
    return "; ".join(vi), "; ".join(en)
