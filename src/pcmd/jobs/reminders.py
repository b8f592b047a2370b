"""Reminders (issue 15): on the 3rd of each month, the web users of a commune whose monthly
report for last month is missing get an e-mail; every Monday, province staff get a digest of the
province's overdue cases (past their deadline, not handled — DESIGN §8b).

Messages are Vietnamese first with English below, and name no person: a commune, a month,
cases by their labels (date, kind, commune). Each reminder is recorded once sent
(`reminders_sent`), so a restart does not send it again. Without a mail server (`smtp_host`
unset) nothing is sent: the dashboard shows the missing reports instead (`missing_reports`).
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage

from sqlalchemy import Connection, Engine, and_, insert, select
from sqlalchemy.exc import IntegrityError

from pcmd.db.models import Form, OrgUnit, Submission, WebUser, WebUserScope
from pcmd.db.tables import EMAILS, REMINDERS_SENT
from pcmd.forms import contract
from pcmd.forms.case_list import CaseView, load_cases
from pcmd.settings import Settings

log = logging.getLogger(__name__)

MONTHLY_DAY = 3  # the day of the month the missing-report reminder goes out
DIGEST_WEEKDAY = 0  # Monday


@dataclass(frozen=True)
class Message:
    kind: str  # monthly | overdue
    key: str  # what it is about, once: "21025:202611", "51:2026-12-07"
    to: tuple[str, ...]
    subject: str
    body: str


@dataclass
class ReminderResult:
    sent: list[Message] = field(default_factory=list)
    skipped: int = 0  # already sent before
    no_mail_server: bool = False


def last_month(today: dt.date) -> dt.date:
    """The first day of the month before `today`'s."""
    first = today.replace(day=1)
    return (first - dt.timedelta(days=1)).replace(day=1)


def _names(conn: Connection) -> dict[str, tuple[str, str | None]]:
    rows = conn.execute(
        select(OrgUnit.code, OrgUnit.name, OrgUnit.parent_code).where(OrgUnit.valid_to.is_(None))
    )
    return {code: (name, parent) for code, name, parent in rows}


def _emails_by_unit(conn: Connection) -> dict[str, list[str]]:
    """Active web users' addresses by the org units they are scoped to."""
    rows = conn.execute(
        select(WebUserScope.org_code, EMAILS.c.email)
        .join(WebUser, WebUser.id == WebUserScope.user_id)
        .join(EMAILS, EMAILS.c.user_id == WebUser.id)
        .where(WebUser.disabled_at.is_(None))
    )
    out: dict[str, list[str]] = {}
    for code, email in rows:
        out.setdefault(str(code), []).append(str(email))
    return out


def reported_communes(conn: Connection, month: dt.date) -> set[str]:
    """Communes with a counted monthly report for `month` (its first day)."""
    end = (month + dt.timedelta(days=32)).replace(day=1)
    rows = conn.execute(
        select(Submission.commune_code)
        .join(Form, Form.id == Submission.form_pk)
        .where(
            and_(
                Form.form_id == contract.MONTHLY,
                Submission.deleted.is_(False),
                Submission.review_state != "rejected",
                Submission.activity_date >= month,
                Submission.activity_date < end,
            )
        )
    )
    return {code for (code,) in rows if code}


def missing_reports(
    conn: Connection,
    communes: Sequence[str],
    today: dt.date,
    reported: Callable[[Connection, dt.date], set[str]] = reported_communes,
) -> list[str]:
    """Of `communes`, those without last month's report once the 3rd has come (for the
    dashboard's notice); empty before the 3rd. `reported`: the communes that sent a month's
    report (the web server counts them from its ledger of submissions)."""
    if today.day < MONTHLY_DAY:
        return []
    done = reported(conn, last_month(today))
    return sorted(c for c in communes if c not in done)


def monthly_messages(conn: Connection, today: dt.date) -> list[Message]:
    month = last_month(today)
    names = _names(conn)
    done = reported_communes(conn, month)
    shown = f"{month.month:02d}/{month.year}"
    out = []
    for code, emails in sorted(_emails_by_unit(conn).items()):
        if len(code) != 5 or code in done:  # communes only (5-digit GSO codes)
            continue
        name = names.get(code, (code, None))[0]
        out.append(
            Message(
                "monthly",
                f"{code}:{month:%Y%m}",
                tuple(sorted(set(emails))),
                f"[pcmd] {name}: chưa gửi báo cáo tháng {shown} (monthly report missing)",
                f"Kính gửi cán bộ {name},\n\n"
                f"Hệ thống chưa nhận được báo cáo tháng {shown} về phòng, chống mại dâm của "
                f"{name}. Hạn gửi là ngày 05 tháng sau. Vui lòng gửi biểu mẫu “Báo cáo tháng” "
                "trên ODK Collect; nếu trong tháng không có số liệu phát sinh, chọn “Không có số "
                "liệu phát sinh” và gửi.\n\n"
                f"The monthly report of {name} for {shown} has not been received. It is due by "
                "the 5th. Please send the monthly report form from ODK Collect; with nothing to "
                "report, answer “nothing to report” and send it.\n",
            )
        )
    return out


def overdue_cases(conn: Connection, today: dt.date) -> dict[str, list[CaseView]]:
    """Overdue, unhandled cases by province."""
    names = _names(conn)
    out: dict[str, list[CaseView]] = {}
    for view in load_cases(conn):
        days = view.days_left(today)
        if days is None or days >= 0:
            continue
        province = names.get(view.row.commune or "", ("", None))[1]
        if province:
            out.setdefault(province, []).append(view)
    return out


def overdue_messages(conn: Connection, today: dt.date) -> list[Message]:
    names = _names(conn)
    emails = _emails_by_unit(conn)
    out = []
    for province, views in sorted(overdue_cases(conn, today).items()):
        to = emails.get(province)
        if not to:
            continue
        name = names.get(province, (province, None))[0]
        views = sorted(views, key=lambda v: v.days_left(today) or 0)
        lines = "\n".join(
            f"- {v.row.label}: hạn {v.row.state.deadline:%d/%m/%Y}, quá hạn "
            f"{-(v.days_left(today) or 0)} ngày ({-(v.days_left(today) or 0)} days overdue)"
            for v in views
        )
        out.append(
            Message(
                "overdue",
                f"{province}:{today.isoformat()}",
                tuple(sorted(set(to))),
                f"[pcmd] {name}: {len(views)} vụ việc quá hạn chưa xử lý ({len(views)} overdue)",
                f"Kính gửi cán bộ {name},\n\n"
                f"Đến ngày {today:%d/%m/%Y}, {name} có {len(views)} tố giác, tin báo, khiếu nại, "
                f"kiến nghị đã quá hạn mà chưa xử lý xong:\n\n{lines}\n\n"
                f"As of {today:%d/%m/%Y}, {name} has {len(views)} denunciations, reports or "
                "complaints past their deadline and not handled (listed above). Details are on "
                "the Cases page.\n",
            )
        )
    return out


def due_messages(conn: Connection, today: dt.date) -> list[Message]:
    """What goes out today: the missing-report reminders on the 3rd, the digest on Mondays."""
    out = []
    if today.day == MONTHLY_DAY:
        out += monthly_messages(conn, today)
    if today.weekday() == DIGEST_WEEKDAY:
        out += overdue_messages(conn, today)
    return out


def _mail(settings: Settings, message: Message) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = settings.smtp_from
    mail["To"] = ", ".join(message.to)
    mail["Subject"] = message.subject
    mail.set_content(message.body)
    return mail


def send_reminders(settings: Settings, engine: Engine, today: dt.date) -> ReminderResult:
    """Send what is due today and not sent before; nothing without a mail server."""
    result = ReminderResult()
    if not settings.smtp_host:
        result.no_mail_server = True
        return result
    with engine.connect() as conn:
        messages = due_messages(conn, today)
        sent_before = {
            (k, key) for k, key in conn.execute(select(REMINDERS_SENT.c.kind, REMINDERS_SENT.c.key))
        }
    todo = [m for m in messages if (m.kind, m.key) not in sent_before]
    result.skipped = len(messages) - len(todo)
    if not todo:
        return result
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        for message in todo:
            smtp.send_message(_mail(settings, message))
            try:
                with engine.begin() as conn:
                    conn.execute(insert(REMINDERS_SENT).values(kind=message.kind, key=message.key))
            except IntegrityError:
                pass  # another process recorded it meanwhile
            result.sent.append(message)
            log.info(
                "reminder sent: %s %s to %d address(es)", message.kind, message.key, len(message.to)
            )
    return result
