"""Without a mail server the dashboard reminds: the communes of the user's units whose monthly
report for last month is missing, from the 3rd of the month; gone once the report arrives."""

from __future__ import annotations

import datetime as dt

import pytest

from pcmd.db.engine import transaction
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from pcmd.server.accounts import create_user
from pcmd.server.web import reminder_notice
from tests.jobs.test_reminders import monthly_xml
from tests.server.collect import COMMUNE, new_id
from tests.server.web.conftest import PASSWORD, Site, signed_in

NOTICE = "Chưa nhận báo cáo tháng 11/2026 của: Phường Cẩm Thành."


def test_dashboard__no_mail_server__missing_report_notice_until_sent(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reminder_notice, "vietnam_today", lambda: dt.date(2026, 12, 3))
    with transaction(site.server.engine, write=True) as session:
        create_user(session, "can.bo.camthanh", PASSWORD, "commune_officer", [COMMUNE])
    with signed_in(site, "can.bo.camthanh") as client:
        assert NOTICE in client.get("/dashboard").text
        ingest_with_retry(
            site.server.engine,
            FileStore(site.server.settings.attachments_dir),
            Incoming(xml=monthly_xml(new_id(), COMMUNE, "2026-11-01"), source="openrosa"),
        )
        assert "Chưa nhận báo cáo tháng" not in client.get("/dashboard").text
