"""Review at scale over real HTTP: who sent a record, filters, keyset paging, approving many at
once, a rejection confirmed with a reason (thread and audit log), comments, a missing photo, and
crafted POSTs outside the reviewer's province refused with the database unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from pcmd.db.engine import transaction
from pcmd.db.models import AuditLog, Submission, SubmissionVersion
from pcmd.db.review import SubmissionComment
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from pcmd.server.web import listing
from tests.db.issues import add_open_issue
from tests.server.collect import OTHER_COMMUNE, new_id, outreach_xml
from tests.server.web.conftest import Site, csrf_of, signed_in

DA_NANG_COMMUNE = "20194"  # a commune of province 48 (Đà Nẵng), outside hoa.qng's province


def _send(site: Site, *, commune: str = OTHER_COMMUNE, photo: str = "", who: str = "") -> int:
    store = FileStore(site.server.settings.data_dir / "attachments")
    result = ingest_with_retry(
        site.server.engine,
        store,
        Incoming(
            xml=outreach_xml(new_id(), commune=commune, photo=photo),
            source="openrosa",
            submitter=who or None,
            device_id="collect:Xy98765" if who else None,
        ),
    )
    return result.submission_id


def _states(site: Site) -> dict[int, str]:
    with transaction(site.server.engine) as s:
        return dict(s.execute(select(Submission.id, Submission.review_state)).all())


def _audit(site: Site) -> list[tuple[str, str | None, dict[str, Any]]]:
    with transaction(site.server.engine) as s:
        rows: list[Any] = list(
            s.execute(
                select(AuditLog.actor, AuditLog.target, AuditLog.details)
                .where(AuditLog.action == "submission.review")
                .order_by(AuditLog.id)
            ).all()
        )
    return [(str(a), t, dict(d)) for a, t, d in rows]


def test_list__who_sent_it_and_a_missing_photo(site: Site) -> None:
    """Should show the app user and device a record came from, and flag a photo the record
    names that never arrived."""
    sid = _send(site, photo="anh-hoat-dong.jpg", who="xa-nghia-lo")
    with signed_in(site, "hoa.qng") as client:
        page = client.get("/submissions")
        row = page.text.split(f'data-id="{sid}"')[1].split("</tr>")[0]
        assert "xa-nghia-lo" in row
        assert "collect:Xy98765" in row
        assert "Thiếu ảnh/tệp: 1" in row
        detail = client.get(f"/submissions/{sid}")
        assert 'id="missing-files"' in detail.text
        assert "anh-hoat-dong.jpg" in detail.text
        # the record of the site fixture has its photo: not flagged
        first = page.text.split(f'data-id="{site.sub_id}"')[1].split("</tr>")[0]
        assert "Thiếu ảnh" not in first


def test_bulk_approve__two_records__approved_and_audited(site: Site) -> None:
    second = _send(site)
    with signed_in(site, "hoa.qng") as client:
        page = client.get("/submissions")
        response = client.post(
            "/submissions/review",
            data={
                "csrf": csrf_of(page.text),
                "action": "approved",
                "ids": [str(site.sub_id), str(second)],
                "back": "/submissions?state=received",
            },
        )
        assert response.status_code == 200
        assert response.url.path == "/submissions"
        assert "Đã cập nhật 2 phiếu." in response.text
    assert _states(site) == {site.sub_id: "approved", second: "approved"}
    audit = _audit(site)
    assert sorted(t for _, t, _ in audit if t) == sorted([str(site.sub_id), str(second)])
    assert {a for a, _, _ in audit} == {"user:hoa.qng"}


def test_bulk_approve__one_id_of_another_province__nothing_changes(site: Site) -> None:
    """Should refuse a crafted POST that slips in another province's record: none changes."""
    theirs = _send(site, commune=DA_NANG_COMMUNE)
    with signed_in(site, "hoa.qng") as client:
        page = client.get("/submissions")
        assert f"/submissions/{theirs}" not in page.text
        response = client.post(
            "/submissions/review",
            data={
                "csrf": csrf_of(page.text),
                "action": "approved",
                "ids": [str(site.sub_id), str(theirs)],
            },
        )
        assert response.status_code == 200
        assert "không thuộc địa bàn của bạn" in response.text
        assert "chưa phiếu nào bị thay đổi" in response.text
    assert _states(site) == {site.sub_id: "received", theirs: "received"}
    assert _audit(site) == []


def test_bulk__viewer_or_no_csrf__refused(site: Site) -> None:
    with signed_in(site, "xem.qng") as client:
        page = client.get("/submissions")
        assert 'name="ids"' not in page.text  # no tick boxes for a viewer
        response = client.post(
            "/submissions/review",
            data={"csrf": csrf_of(page.text), "action": "approved", "ids": str(site.sub_id)},
        )
        assert response.status_code == 403
    with signed_in(site, "hoa.qng") as client:
        response = client.post(
            "/submissions/review", data={"action": "approved", "ids": str(site.sub_id)}
        )
        assert response.status_code == 403
    assert _states(site) == {site.sub_id: "received"}


def test_reject__asks_for_confirmation_and_a_reason(site: Site) -> None:
    """Should ask to confirm a rejection with a reason, refuse an empty reason with nothing
    changed, then store the reason in the record's thread and the audit log."""
    with signed_in(site, "hoa.qng") as client:
        page = client.get("/submissions")
        token = csrf_of(page.text)
        ask = client.post(
            "/submissions/review",
            data={"csrf": token, "action": "rejected", "ids": str(site.sub_id)},
        )
        assert ask.status_code == 200
        assert "Bạn sắp không chấp nhận 1 phiếu" in ask.text
        assert 'name="confirmed" value="1"' in ask.text
        assert _states(site) == {site.sub_id: "received"}
        empty = client.post(
            "/submissions/review",
            data={
                "csrf": token,
                "action": "rejected",
                "confirmed": "1",
                "comment": "   ",
                "ids": str(site.sub_id),
            },
        )
        assert empty.status_code == 400
        assert "Cần ghi lý do không chấp nhận" in empty.text
        assert _states(site) == {site.sub_id: "received"}
        done = client.post(
            "/submissions/review",
            data={
                "csrf": token,
                "action": "rejected",
                "confirmed": "1",
                "comment": "Số học sinh ghi nhầm, đề nghị sửa lại",
                "ids": str(site.sub_id),
                "back": f"/submissions/{site.sub_id}",
            },
        )
        assert done.status_code == 200
        assert done.url.path == f"/submissions/{site.sub_id}"
        thread = done.text.split('id="thread"')[1]
        assert "Số học sinh ghi nhầm, đề nghị sửa lại" in thread
        assert "Không chấp nhận — lý do" in thread
        assert "hoa.qng" in thread
    assert _states(site) == {site.sub_id: "rejected"}
    assert _audit(site) == [
        (
            "user:hoa.qng",
            str(site.sub_id),
            {"state": "rejected", "reason": "Số học sinh ghi nhầm, đề nghị sửa lại"},
        )
    ]


def test_comment__shown_in_thread_and_counted_in_list(site: Site) -> None:
    with signed_in(site, "hoa.qng") as client:
        page = client.get(f"/submissions/{site.sub_id}")
        assert "Chưa có trao đổi nào." in page.text
        token = csrf_of(page.text)
        empty = client.post(f"/submissions/{site.sub_id}/comments", data={"csrf": token})
        assert "Nội dung trao đổi đang trống" in empty.text
        for text in ("Đã gọi điện cho cán bộ xã", "Xã hẹn gửi lại trong tuần"):
            client.post(
                f"/submissions/{site.sub_id}/comments", data={"csrf": token, "comment": text}
            )
        page = client.get(f"/submissions/{site.sub_id}")
        thread = page.text.split('id="thread"')[1]
        assert thread.index("Đã gọi điện") < thread.index("Xã hẹn gửi lại")
        assert "Trao đổi về phiếu (2)" in page.text
        listing_page = client.get("/submissions")
        row = listing_page.text.split(f'data-id="{site.sub_id}"')[1].split("</tr>")[0]
        assert '<td data-label="Trao đổi" class="comments">2</td>' in row
    with signed_in(site, "minh.dng") as client:  # another province: not even a comment
        page = client.get("/submissions")
        response = client.post(
            f"/submissions/{site.sub_id}/comments",
            data={"csrf": csrf_of(page.text), "comment": "xin chào"},
        )
        assert response.status_code == 404
    with transaction(site.server.engine) as s:
        assert (
            s.scalar(select(SubmissionComment.id).where(SubmissionComment.body == "xin chào"))
            is None
        )


def test_filters__issue_family_dates_commune(site: Site) -> None:
    """Should narrow the list by an issue family in words, by dates and by a commune picked
    from a list; an invalid date is said, not a traceback."""
    other = _send(site)
    with transaction(site.server.engine, write=True) as s:
        add_open_issue(
            s,
            other,
            "GEO_005",
            "warning",
            "location",
            "[location] Vị trí cách xã quá xa. Cách sửa: kiểm tra lại vị trí.",
            "[location] Far from the commune. Fix: check the location.",
        )
    with signed_in(site, "hoa.qng") as client:
        page = client.get("/submissions")
        assert '<option value="GEO">Địa bàn, vị trí</option>' in page.text
        assert '<option value="21028">Phường Nghĩa Lộ</option>' in page.text  # picker by name
        geo = client.get("/submissions", params={"family": "GEO"})
        assert f'data-id="{other}"' in geo.text
        assert f'data-id="{site.sub_id}"' not in geo.text
        commune = client.get("/submissions", params={"commune": "21025"})
        assert f'data-id="{site.sub_id}"' in commune.text
        assert f'data-id="{other}"' not in commune.text
        early = client.get("/submissions", params={"from": "2026-11-21"})
        assert "Không có phiếu nào." in early.text  # both are of 20/11/2026
        day = client.get("/submissions", params={"from": "2026-11-20", "to": "2026-11-20"})
        assert "Số phiếu: <strong>2</strong>" in day.text
        bad = client.get("/submissions", params={"to": "20/11/2026"})
        assert bad.status_code == 200
        assert "Ngày &#39;20/11/2026&#39; không hợp lệ" in bad.text
        detail = client.get(f"/submissions/{other}")
        assert "Cảnh báo · Địa bàn, vị trí" in detail.text
        assert "Cách xử lý: kiểm tra lại vị trí." in detail.text
        assert "GEO_005" not in detail.text
        assert "[location]" not in detail.text


def test_paging__keyset_pages_cover_every_record_once(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should page newest first with no record missed or shown twice (two per page here)."""
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    ids = [site.sub_id] + [_send(site) for _ in range(4)]
    seen: list[int] = []
    with signed_in(site, "hoa.qng") as client:
        url = "/submissions"
        for _ in range(5):
            page = client.get(url)
            seen += [int(x.split('"')[0]) for x in page.text.split('data-id="')[1:]]
            if 'rel="next"' not in page.text:
                break
            url = page.text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
            url = url.replace("&amp;", "&")
        assert "Số phiếu: <strong>5</strong>" in page.text
    assert seen == sorted(ids, reverse=True)


def test_count__capped_beyond_the_cap(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """Should say 'more than' rather than count every row past the cap."""
    monkeypatch.setattr(listing, "COUNT_CAP", 1)
    _send(site)
    with signed_in(site, "hoa.qng") as client:
        page = client.get("/submissions")
        assert "Số phiếu: <strong>hơn 1</strong>" in page.text
    with transaction(site.server.engine) as s:
        assert len(s.scalars(select(SubmissionVersion.id)).all()) == 2


def test_commune_officer__approves_own_commune_only(site: Site) -> None:
    """Should let a commune officer approve its commune's record, and refuse a crafted POST
    for a record of another commune of the same province, nothing changed."""
    from pcmd.server.accounts import create_user
    from tests.server.web.conftest import PASSWORD

    with transaction(site.server.engine) as s:
        create_user(s, "xa.camthanh", PASSWORD, "commune_officer", ["21025"])
    neighbour = _send(site)  # Phường Nghĩa Lộ (21028), the same province
    with signed_in(site, "xa.camthanh") as client:
        page = client.get("/submissions")
        assert f'data-id="{site.sub_id}"' in page.text
        assert f'data-id="{neighbour}"' not in page.text
        token = csrf_of(page.text)
        refused = client.post(
            "/submissions/review",
            data={"csrf": token, "action": "approved", "ids": [str(neighbour)]},
        )
        assert "không thuộc địa bàn của bạn" in refused.text
        assert (
            client.post(
                f"/submissions/{neighbour}/review", data={"csrf": token, "action": "approved"}
            ).status_code
            == 404
        )
        assert _states(site) == {site.sub_id: "received", neighbour: "received"}
        done = client.post(
            "/submissions/review",
            data={"csrf": token, "action": "approved", "ids": [str(site.sub_id)]},
        )
        assert "Đã lưu." in done.text
    assert _states(site) == {site.sub_id: "approved", neighbour: "received"}
