"""Every page with numbers says how current they are, and only what is true: the records still
waiting, whether a scheduler will count them by itself, and the last failure to administrators."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Connection

from pcmd.db.engine import transaction, with_retry
from pcmd.db.models import SchedulerLock
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from pcmd.pipeline.pending import record_failure
from pcmd.pipeline.run import run_pipeline
from pcmd.server.web import freshness
from tests.server.collect import new_id, outreach_xml
from tests.server.web.conftest import Site, signed_in


@pytest.fixture(autouse=True)
def no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(freshness, "TTL_SECONDS", 0.0)


def submit(site: Site) -> None:
    store = FileStore(site.server.settings.attachments_dir)
    xml = outreach_xml(new_id(), students=12)
    ingest_with_retry(site.server.engine, store, Incoming(xml=xml, source="openrosa"))


def line(html: str, marker: str = 'id="freshness"') -> str:
    start = html.index(marker)
    return " ".join(html[start : html.index("</p>", start)].split())


def test_freshness__waiting_record_and_no_scheduler__said_plainly(site: Site) -> None:
    submit(site)
    with signed_in(site, "hoa.qng") as client:
        for path in ("/dashboard", "/submissions", "/quality", "/reports"):
            text = line(client.get(path).text)
            assert "Số liệu cập nhật lúc" in text, path
            assert "Còn 1 phiếu chưa được tính." in text, path
            assert "Bộ lập lịch không chạy" in text, path
        run_pipeline(site.server.engine)  # what an administrator's `pcmd pipeline run` does
        assert "Không còn phiếu nào chờ tính." in line(client.get("/dashboard").text)


def test_freshness__scheduler_alive__promises_its_delay(site: Site) -> None:
    with transaction(site.server.engine, write=True) as session:
        session.add(
            SchedulerLock(
                name="scheduler",
                holder="here:1:abc",
                expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60),
            )
        )
    submit(site)
    with signed_in(site, "hoa.qng") as client:
        text = line(client.get("/dashboard").text)
    assert "sẽ tự cập nhật trong khoảng 20 giây" in text
    assert "Bộ lập lịch không chạy" not in text


def test_freshness__failed_run__error_to_administrators_only(site: Site) -> None:
    def fail(conn: Connection) -> None:
        record_failure(conn, "RuntimeError: integer overflow")

    with_retry(site.server.engine, fail)
    with signed_in(site, "admin") as client:
        shown = client.get("/dashboard").text
        assert "integer overflow" in line(shown, 'id="freshness-error"')
    with signed_in(site, "hoa.qng") as client:
        assert 'id="freshness-error"' not in client.get("/dashboard").text
