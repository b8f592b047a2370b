"""The case page (Vụ việc) on a live server: the cases of the user's units, status, deadline and
days left, overdue in red, the steps as a timeline; nothing of another province's user."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from pcmd.masterdata.periods import vietnam_today
from tests.server.collect import new_id
from tests.server.openrosa.test_cases import case_xml, step_xml
from tests.server.web.conftest import Site, signed_in


def add_cases(engine: Engine, store: FileStore) -> dict[str, str]:
    """Three cases of Phường Cẩm Thành, dated from today: one overdue by 10 days (received 30
    days ago, nothing done), one handled, one extended and open. Returns their labels."""
    today = vietnam_today()

    def day(days_ago: int) -> str:
        return (today - dt.timedelta(days=days_ago)).isoformat()

    def send(xml: bytes) -> None:
        ingest_with_retry(engine, store, Incoming(xml=xml, source="openrosa"))

    overdue, handled, extended = new_id(), new_id(), new_id()
    send(case_xml(overdue, "11111111-1111-4111-8111-111111111111", received=day(30)))
    send(case_xml(handled, "22222222-2222-4222-8222-222222222222", received=day(12)))
    send(step_xml(new_id(), handled.removeprefix("uuid:"), "xu_ly_xong", day(2)))
    send(step_xml(new_id(), handled.removeprefix("uuid:"), "xac_minh", day(10)))  # sent late
    send(case_xml(extended, "33333333-3333-4333-8333-333333333333", received=day(15)))
    send(step_xml(new_id(), extended.removeprefix("uuid:"), "gia_han", day(14)))
    return {
        "overdue": f"{day(30)} · Tố giác · Phường Cẩm Thành",
        "handled": f"{day(12)} · Tố giác · Phường Cẩm Thành",
        "extended": f"{day(15)} · Tố giác · Phường Cẩm Thành",
    }


def vi_date(value: dt.date) -> str:
    return value.strftime("%d/%m/%Y")


def test_cases_page__status_deadline_days_left_overdue_timeline(site: Site) -> None:
    store = FileStore(site.server.settings.attachments_dir)
    labels = add_cases(site.server.engine, store)
    today = vietnam_today()
    with signed_in(site, "hoa.qng") as client:
        page = client.get("/cases")
    assert page.status_code == 200
    html = page.text
    assert 'href="/cases" aria-current="page"' in html
    assert "Đang xử lý: <strong>2</strong>" in html
    assert "Quá hạn: <strong>1</strong>" in html
    # overdue first, in red; then the open one; the handled one last
    rows = html.split("<tr class=")[1:]
    assert [r.split("</td>")[0].split(">")[-1] for r in rows] == [
        labels["overdue"],
        labels["extended"],
        labels["handled"],
    ]
    assert rows[0].startswith('"overdue"')
    assert "Quá hạn 10 ngày" in rows[0]  # received 30 days ago: 20 days to handle
    assert vi_date(today - dt.timedelta(days=10)) in rows[0]
    # extended within its 20 days: 2 calendar months from receipt
    received = today - dt.timedelta(days=15)
    month = received.month + 1  # 0-based index of received month + 2
    deadline = dt.date(received.year + month // 12, month % 12 + 1, 1)
    last = (deadline.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    deadline = deadline.replace(day=min(received.day, last.day))
    assert vi_date(deadline) in rows[1]
    assert f"Còn {(deadline - today).days} ngày" in rows[1]
    assert "Đã gia hạn" in rows[1]
    # handled: the timeline in date order although the verification arrived last
    handled = rows[2]
    assert "Đã xử lý xong" in handled
    assert f"Xử lý ngày {vi_date(today - dt.timedelta(days=2))}" in handled
    timeline = handled.split('<ol class="timeline">')[1].split("</ol>")[0]
    assert timeline.index("Tiếp nhận") < timeline.index("Xác minh") < timeline.index("Xử lý xong")
    with signed_in(site, "minh.dng") as client:  # Đà Nẵng: none of Quảng Ngãi's cases
        other = client.get("/cases").text
    assert "Chưa có vụ việc nào trong địa bàn của bạn." in other
    assert labels["overdue"] not in other
