"""Every province side by side over real HTTP, for a national user: records, awaiting review,
with an open error, last received — worked out by hand; a province user is refused."""

from __future__ import annotations

from sqlalchemy import update

from pcmd.db.engine import transaction
from pcmd.db.models import Submission
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from tests.db.issues import add_open_issue
from tests.server.collect import OTHER_COMMUNE, new_id, outreach_xml
from tests.server.web.conftest import Site, csrf_of, signed_in

DA_NANG_COMMUNE = "20194"  # Phường Hải Vân, Đà Nẵng (48)


def _send(site: Site, commune: str) -> int:
    store = FileStore(site.server.settings.data_dir / "attachments")
    xml = outreach_xml(new_id(), commune=commune)
    return ingest_with_retry(
        site.server.engine, store, Incoming(xml=xml, source="openrosa")
    ).submission_id


def _row(html: str, code: str) -> str:
    return html.split(f'data-province="{code}"')[1].split("</tr>")[0]


def test_provinces__side_by_side_for_a_national_user(site: Site) -> None:
    """Quảng Ngãi (51): the site's record and one more, one approved, one with an open error;
    Đà Nẵng (48): one record awaiting review; Hà Nội (01): none."""
    second = _send(site, OTHER_COMMUNE)
    _send(site, DA_NANG_COMMUNE)
    with transaction(site.server.engine, write=True) as s:
        s.execute(
            update(Submission).where(Submission.id == site.sub_id).values(review_state="approved")
        )
        add_open_issue(s, second)
    with signed_in(site, "admin") as client:
        page = client.get("/provinces")
        assert page.status_code == 200
        assert 'href="/provinces"' in page.text  # in the navigation
        qng = _row(page.text, "51")
        assert "Tỉnh Quảng Ngãi" in qng
        assert '<a href="/submissions?province=51">2</a>' in qng
        assert '<a href="/submissions?province=51&amp;state=received">1</a>' in qng
        assert '<a href="/submissions?province=51&amp;issues=1">1</a>' in qng
        dng = _row(page.text, "48")
        assert '<a href="/submissions?province=48">1</a>' in dng
        assert '<a href="/submissions?province=48&amp;state=received">1</a>' in dng
        hn = _row(page.text, "01")
        assert hn.count(">0<") == 3
        assert "—" in hn  # nothing received yet
        total = _row(page.text, "VN")
        assert total.count("<strong>3</strong>") == 1
        assert total.count("<strong>2</strong>") == 1
        assert total.count("<strong>1</strong>") == 1
        # a province's number leads to its records: the national user's province picker
        listing = client.get("/submissions", params={"province": "48"})
        assert "Số phiếu: <strong>1</strong>" in listing.text
    with signed_in(site, "hoa.qng") as client:
        assert client.get("/provinces").status_code == 403
        assert 'href="/provinces"' not in client.get("/submissions").text


def test_provinces__kept_summary__new_record_and_review_seen_at_once(site: Site) -> None:
    with signed_in(site, "admin") as client:
        qng = _row(client.get("/provinces").text, "51")
        assert '<a href="/submissions?province=51">1</a>' in qng
        assert '<a href="/submissions?province=51&amp;state=received">1</a>' in qng
        _send(site, OTHER_COMMUNE)  # a second record: counted, awaiting review
        qng = _row(client.get("/provinces").text, "51")
        assert '<a href="/submissions?province=51">2</a>' in qng
        assert '<a href="/submissions?province=51&amp;state=received">2</a>' in qng
        page = client.get(f"/submissions/{site.sub_id}")
        approved = client.post(
            f"/submissions/{site.sub_id}/review",
            data={"csrf": csrf_of(page.text), "action": "approved"},
        )
        assert approved.status_code == 200
        qng = _row(client.get("/provinces").text, "51")  # one approved: one left to review
        assert '<a href="/submissions?province=51">2</a>' in qng
        assert '<a href="/submissions?province=51&amp;state=received">1</a>' in qng
