"""The submissions list and a submission's page over real HTTP: scope on every route, filters."""

from __future__ import annotations

from sqlalchemy import select

from pcmd.db.engine import transaction
from pcmd.db.models import Submission
from tests.server.collect import JPEG
from tests.server.web.conftest import Site, csrf_of, signed_in


def test_reviewer__own_province__list_detail_photo(site: Site) -> None:
    with signed_in(site, "hoa.qng") as client:
        listing = client.get("/submissions")
        assert f'href="/submissions/{site.sub_id}"' in listing.text
        assert "Phường Cẩm Thành" in listing.text
        detail = client.get(f"/submissions/{site.sub_id}")
        assert detail.status_code == 200
        assert "Học sinh, sinh viên" in detail.text  # the question's Vietnamese label
        # choices shown by their labels, not their names
        assert "Hội nghị, tọa đàm, nói chuyện chuyên đề" in detail.text
        assert "HIV/AIDS" in detail.text
        assert "37" in detail.text
        photo = client.get(f"/attachments/{site.attachment_id}")
        assert photo.status_code == 200
        assert photo.content == JPEG


def test_reviewer__other_province__404_everywhere(site: Site) -> None:
    with signed_in(site, "minh.dng") as client:
        listing = client.get("/submissions")
        assert f"/submissions/{site.sub_id}" not in listing.text
        assert client.get(f"/submissions/{site.sub_id}").status_code == 404
        assert client.get(f"/attachments/{site.attachment_id}").status_code == 404
        page = client.get("/submissions")
        review = client.post(
            f"/submissions/{site.sub_id}/review",
            data={"csrf": csrf_of(page.text), "action": "rejected"},
        )
        assert review.status_code == 404
    with transaction(site.server.engine) as s:
        assert s.scalar(select(Submission.review_state)) == "received"


def test_filters__period_state_and_bad_period(site: Site) -> None:
    with signed_in(site, "admin") as client:
        hit = client.get("/submissions", params={"period": "2026Q4", "state": "received"})
        assert f"/submissions/{site.sub_id}" in hit.text
        miss = client.get("/submissions", params={"period": "2025"})
        assert f"/submissions/{site.sub_id}" not in miss.text
        bad = client.get("/submissions", params={"period": "2026Q5"})
        assert "không hợp lệ" in bad.text
