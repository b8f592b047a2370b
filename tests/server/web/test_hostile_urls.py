"""Hostile paths and query strings against every page an administrator can open: ids of 30
digits, negative and huge pages, years and periods out of any range, odd org units. Each gets
an ordinary page or a 4xx; the live server fails the test on any 5xx it sends."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from pcmd.db.engine import transaction
from pcmd.db.models import AuditLog
from tests.server.web.conftest import Site, csrf_of, signed_in

HUGE = "9" * 30

URLS = [
    f"/submissions/{HUGE}",
    "/submissions/-1",
    f"/attachments/{HUGE}",
    f"/setup/forms/versions/{HUGE}/workbook",
    f"/submissions?page={HUGE}",
    "/submissions?page=-5",
    "/submissions?page=1e9",
    f"/submissions?ids={HUGE},-1,x",
    f"/submissions?period={HUGE}&commune={HUGE}&form=%00&state=%ff",
    "/submissions?indicator=../../etc&org=VN",
    f"/submissions?after={HUGE}&from={HUGE}&to=%00&family=%00&province={HUGE}",
    "/submissions?after=-1&from=2026-02-30&to=9999-99-99&family=GEO%25",
    f"/quality?year={HUGE}",
    "/quality?year=-2026&org=%3Cscript%3E",
    f"/dashboard?period={HUGE}",
    "/dashboard?period=2026Q9&org=99&focus=%00",
    "/dashboard?period=0000&org=VN",
    f"/api/v1/indicators?period={HUGE}&org=VN",
    "/api/v1/indicators?period=2026&org=VN&level=%00",
    f"/reports/download?org=VN&period={HUGE}&format=csv",
    "/reports/download?org=51&period=2026Q5&format=xlsx",
    "/reports?period=-1",
    "/lang?to=xx&next=//evil.example",
    "/setup/appusers/%2e%2e%2f%2e%2e/qr.png",
]


@pytest.mark.parametrize("url", URLS)
def test_page__hostile_url__answer_below_500(site: Site, url: str) -> None:
    with signed_in(site, "admin") as client:
        response = client.get(url)
    assert response.status_code < 500, (url, response.status_code)
    if url.startswith(("/submissions/", "/attachments/", "/setup/forms/")):
        assert response.status_code == 404


def test_review__comment_with_nul__saved_without_it(site: Site) -> None:
    with signed_in(site, "hoa.qng") as client:
        page = client.get(f"/submissions/{site.sub_id}")
        done = client.post(
            f"/submissions/{site.sub_id}/review",
            data={"csrf": csrf_of(page.text), "action": "has_issues", "comment": "Trùng\x00 phiếu"},
        )
        assert done.status_code == 200
    with transaction(site.server.engine) as s:
        audit = s.scalar(select(AuditLog).where(AuditLog.action == "submission.review"))
        assert audit is not None
        assert audit.details["comment"] == "Trùng phiếu"
