"""A commune officer sees and reviews its own commune only, on every page: dashboard, list,
drill-down, record, photo, quality, reports, the indicator API and review — over real HTTP.

Two submissions of Quảng Ngãi: the site's own in Phường Cẩm Thành (with a photo) and one added
here in Phường Nghĩa Lộ; the officer is Cẩm Thành's."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from pcmd.db.engine import transaction
from pcmd.db.models import Submission
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from pcmd.pipeline.run import run_pipeline
from pcmd.server.accounts import create_user
from tests.server.collect import new_id, outreach_xml
from tests.server.web.conftest import PASSWORD, Site, csrf_of
from tests.server.web.test_users import signed_in_at

CAM_THANH, NGHIA_LO = "21025", "21028"


@pytest.fixture
def officer_site(site: Site) -> tuple[Site, int]:
    engine = site.server.engine
    settings = site.server.settings
    result = ingest_with_retry(
        engine,
        FileStore(settings.attachments_dir),
        Incoming(xml=outreach_xml(new_id(), commune=NGHIA_LO, students=12), source="openrosa"),
    )
    with transaction(engine) as s:
        create_user(s, "can.bo.camthanh", PASSWORD, "commune_officer", [CAM_THANH])
    run_pipeline(engine, full=True)
    return site, result.submission_id


def test_commune_officer__every_page__own_commune_only(officer_site: tuple[Site, int]) -> None:
    site, other = officer_site  # Phường Nghĩa Lộ's
    own = site.sub_id  # Phường Cẩm Thành's, with a photo
    with signed_in_at(site, "can.bo.camthanh", "/dashboard") as officer:
        dashboard = officer.get("/dashboard")
        assert dashboard.status_code == 200
        assert "Phường Cẩm Thành" in dashboard.text
        assert 'href="/users"' not in dashboard.text  # no accounts pages in its navigation
        assert 'href="/audit"' not in dashboard.text
        assert officer.get("/dashboard", params={"org": "51"}).status_code == 404
        listing = officer.get("/submissions")
        assert f'href="/submissions/{own}"' in listing.text
        assert f'href="/submissions/{other}"' not in listing.text
        drill = officer.get(
            "/submissions", params={"indicator": "HD1", "org": CAM_THANH, "period": "2026"}
        )
        assert f'href="/submissions/{own}"' in drill.text
        assert f'href="/submissions/{other}"' not in drill.text
        assert (
            officer.get(
                "/submissions", params={"indicator": "HD1", "org": "51", "period": "2026"}
            ).status_code
            == 404
        )
        assert officer.get(f"/submissions/{own}").status_code == 200
        assert officer.get(f"/submissions/{other}").status_code == 404
        assert officer.get(f"/attachments/{site.attachment_id}").status_code == 200
        quality = officer.get("/quality")
        assert quality.status_code == 200
        assert "Phường Cẩm Thành" in quality.text
        assert "Phường Nghĩa Lộ" not in quality.text
        report = officer.get(
            "/reports/download", params={"org": "51", "period": "2026", "format": "csv"}
        )
        assert report.status_code == 404
        api = officer.get("/api/v1/indicators", params={"org": CAM_THANH, "period": "2026"})
        assert api.status_code == 200
        assert {row["org_unit"] for row in api.json()} == {CAM_THANH}
        hd1 = next(row for row in api.json() if row["indicator"] == "HD1")
        assert hd1["value"] == 1  # its one outreach
        assert (
            officer.get(
                "/api/v1/indicators", params={"org": NGHIA_LO, "period": "2026"}
            ).status_code
            == 404
        )
        assert (
            officer.get("/api/v1/indicators", params={"org": "51", "period": "2026"}).status_code
            == 404
        )
        # reviews its own commune's record, not another's
        page = officer.get(f"/submissions/{own}")
        approved = officer.post(
            f"/submissions/{own}/review", data={"csrf": csrf_of(page.text), "action": "approved"}
        )
        assert approved.status_code == 200
        refused = officer.post(
            f"/submissions/{other}/review", data={"csrf": csrf_of(page.text), "action": "approved"}
        )
        assert refused.status_code == 404
    with transaction(site.server.engine) as s:
        states = dict(s.execute(select(Submission.id, Submission.review_state)).all())
    assert states == {own: "approved", other: "received"}
