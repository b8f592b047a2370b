"""Reminders through a real SMTP server (aiosmtpd) started in the test: on the 3rd, the web
users of a commune without last month's report; on Mondays, province staff with the province's
overdue cases. Messages Vietnamese first, naming no person; each sent once."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import time
from collections.abc import Iterator
from email.message import Message as Mail
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, insert, select

from pcmd.db.engine import transaction
from pcmd.db.models import WebUser
from pcmd.db.tables import EMAILS
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from pcmd.jobs import scheduler as sched
from pcmd.jobs.reminders import missing_reports, send_reminders
from pcmd.jobs.scheduler import SyncScheduler
from pcmd.server.accounts import create_user
from pcmd.settings import Settings
from tests.live_server import free_port
from tests.server.collect import COMMUNE, OTHER_COMMUNE, PROVINCE, load_forms, new_id
from tests.server.openrosa.test_cases import case_xml, step_xml

PASSWORD = "mật-khẩu-đủ-dài-2026"


class Inbox:
    """What the SMTP server received: (recipients, parsed message)."""

    def __init__(self) -> None:
        self.mails: list[tuple[list[str], Mail]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    box, port = Inbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def monthly_xml(instance_id: str, commune: str, month: str) -> bytes:
    return (
        '<?xml version="1.0"?><pcmd_monthly id="pcmd_monthly" version="2026120701">'
        f"<where><province>{PROVINCE}</province><commune>{commune}</commune></where>"
        f"<reporter_org>cong_an</reporter_org><month>{month}</month>"
        "<nothing_to_report>yes</nothing_to_report>"
        f"<meta><instanceID>{instance_id}</instanceID></meta></pcmd_monthly>"
    ).encode()


@pytest.fixture
def data(settings: Settings, engine: Engine) -> None:
    """Cẩm Thành (21025) sent no November report and has a case overdue since 21 Nov; Nghĩa Lộ
    (21028) reported November; one handled case. Web users with addresses."""
    load_forms(engine)
    store = FileStore(settings.attachments_dir)

    def send(xml: bytes) -> None:
        ingest_with_retry(engine, store, Incoming(xml=xml, source="openrosa"))

    send(monthly_xml(new_id(), OTHER_COMMUNE, "2026-11-01"))
    send(monthly_xml(new_id(), COMMUNE, "2026-10-01"))  # October's does not count for November
    overdue, handled = new_id(), new_id()
    send(case_xml(overdue, "44444444-4444-4444-8444-444444444444", received="2026-11-01"))
    send(case_xml(handled, "55555555-5555-4555-8555-555555555555", received="2026-11-02"))
    send(step_xml(new_id(), handled.removeprefix("uuid:"), "xu_ly_xong", "2026-11-10"))
    users = {
        "can.bo.camthanh": ("commune_officer", [COMMUNE], "camthanh@xa.example"),
        "can.bo.nghialo": ("commune_officer", [OTHER_COMMUNE], "nghialo@xa.example"),
        "so.y.te.qng": ("province_reviewer", [PROVINCE], "syt@tinh.example"),
        "khong.thu": ("commune_officer", [COMMUNE], None),
    }
    with transaction(engine, write=True) as session:
        for name, (role, units, address) in users.items():
            create_user(session, name, PASSWORD, role, units)
            if address:
                uid = session.scalar(select(WebUser.id).where(WebUser.username == name))
                session.execute(insert(EMAILS).values(user_id=uid, email=address))


def text(mail: Mail) -> str:
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(mail.get_content_charset() or "utf-8")


def subject(mail: Mail) -> str:
    return str(email.header.make_header(email.header.decode_header(mail["Subject"])))


def test_reminders__third_of_month__commune_without_report_mailed_once(
    settings: Settings, engine: Engine, data: None, inbox: tuple[Inbox, int]
) -> None:
    box, port = inbox
    smtp = dataclasses.replace(
        settings,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,
        smtp_from="pcmd@tinh.example",
    )
    third = dt.date(2026, 12, 3)  # a Thursday: no digest
    result = send_reminders(smtp, engine, third)
    assert len(result.sent) == 1
    [(to, mail)] = box.mails
    assert to == ["camthanh@xa.example"]
    assert mail["From"] == "pcmd@tinh.example"
    assert subject(mail) == (
        "[pcmd] Phường Cẩm Thành: chưa gửi báo cáo tháng 11/2026 (monthly report missing)"
    )
    body = text(mail)
    assert body.startswith("Kính gửi cán bộ Phường Cẩm Thành,")
    assert body.index("chưa nhận được báo cáo tháng 11/2026") < body.index("has not been received")
    assert "can.bo" not in body  # no person named
    # the scheduler runs again (a restart): nothing sent twice
    again = send_reminders(smtp, engine, third)
    assert (again.sent, again.skipped) == ([], 1)
    assert len(box.mails) == 1
    # another day of the month: no reminder
    assert send_reminders(smtp, engine, dt.date(2026, 12, 4)).sent == []


def test_reminders__monday__province_digest_of_overdue_cases(
    settings: Settings, engine: Engine, data: None, inbox: tuple[Inbox, int]
) -> None:
    box, port = inbox
    smtp = dataclasses.replace(settings, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False)
    monday = dt.date(2026, 12, 7)
    assert [m.kind for m in send_reminders(smtp, engine, monday).sent] == ["overdue"]
    [(to, mail)] = box.mails
    assert to == ["syt@tinh.example"]
    assert subject(mail) == "[pcmd] Tỉnh Quảng Ngãi: 1 vụ việc quá hạn chưa xử lý (1 overdue)"
    body = text(mail)
    # received 1 Nov: due 21 Nov; on 7 Dec 16 days overdue. The handled case is not listed.
    assert "- 2026-11-01 · Tố giác · Phường Cẩm Thành: hạn 21/11/2026, quá hạn 16 ngày" in body
    assert "2026-11-02" not in body
    assert body.index("Kính gửi") < body.index("As of 07/12/2026")
    assert "can.bo" not in body
    assert "so.y.te" not in body


def test_reminders__no_mail_server__nothing_sent__dashboard_list(
    settings: Settings, engine: Engine, data: None, inbox: tuple[Inbox, int]
) -> None:
    box, _port = inbox
    result = send_reminders(settings, engine, dt.date(2026, 12, 3))
    assert result.no_mail_server
    assert box.mails == []
    with engine.connect() as conn:
        communes = [COMMUNE, OTHER_COMMUNE]
        assert missing_reports(conn, communes, dt.date(2026, 12, 3)) == [COMMUNE]
        assert missing_reports(conn, communes, dt.date(2026, 12, 2)) == []  # not before the 3rd


def test_scheduler__reminders_job_each_morning__holder_sends(
    settings: Settings,
    engine: Engine,
    data: None,
    inbox: tuple[Inbox, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    box, port = inbox
    smtp = dataclasses.replace(settings, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False)
    monkeypatch.setattr(sched, "vietnam_today", lambda: dt.date(2026, 12, 3))
    scheduler = SyncScheduler(smtp, engine, holder="A", lease_seconds=5.0, heartbeat_seconds=0.2)
    scheduler.start()
    try:
        job = scheduler.scheduler.get_job("reminders")
        assert job is not None
        assert (str(job.trigger.fields[5]), str(job.trigger.fields[6])) == ("7", "0")  # 07:00
        assert job.trigger.timezone.utcoffset(None) == dt.timedelta(hours=7)  # Vietnam
        deadline = time.monotonic() + 10
        while not scheduler.leader and time.monotonic() < deadline:
            time.sleep(0.05)
        scheduler.run_reminders()  # what the 07:00 trigger calls
    finally:
        scheduler.shutdown()
    assert [to for to, _mail in box.mails] == [["camthanh@xa.example"]]
