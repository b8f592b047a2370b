"""The dashboard, the indicators API and the reports page over real HTTP: scope and provenance."""

from __future__ import annotations

import re

from sqlalchemy import Engine

from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from pcmd.pipeline.run import run_pipeline
from pcmd.settings import Settings
from tests.server.collect import new_id, outreach_xml
from tests.server.web.conftest import Site, signed_in


def test_dashboard_api_reports__other_province__404(site: Site) -> None:
    with signed_in(site, "minh.dng") as client:
        assert client.get("/dashboard", params={"org": "51", "period": "2026"}).status_code == 404
        api = client.get("/api/v1/indicators", params={"org": "51", "period": "2026"})
        assert api.status_code == 404
        report = client.get(
            "/reports/download", params={"org": "51", "period": "2026", "format": "xlsx"}
        )
        assert report.status_code == 404
        provenance = client.get(
            "/submissions", params={"indicator": "HD1", "org": "51", "period": "2026"}
        )
        assert provenance.status_code == 404
        own = client.get("/api/v1/indicators", params={"org": "48", "period": "2026"})
        assert own.status_code == 200
        assert {r["org_unit"] for r in own.json()} == {"48"}


def test_dashboard__own_province__indicators_and_provenance(site: Site) -> None:
    with signed_in(site, "hoa.qng") as client:
        page = client.get("/dashboard", params={"org": "51", "period": "2026"})
        assert page.status_code == 200
        assert 'data-indicator="HD1"' in page.text
        api = client.get("/api/v1/indicators", params={"org": "51", "period": "2026"}).json()
        hd1 = next(r for r in api if r["indicator"] == "HD1")
        assert hd1 == {
            "indicator": "HD1",
            "org_unit": "51",
            "period": "2026",
            "numerator": 1,
            "denominator": None,
            "value": 1,
            "unit": "count",
            "target": None,
            "status": "no_target",
        }
        listed = client.get(
            "/submissions", params={"indicator": "HD1", "org": "51", "period": "2026"}
        )
        assert f'href="/submissions/{site.sub_id}"' in listed.text
        report = client.get(
            "/reports/download", params={"org": "51", "period": "2026Q4", "format": "xlsx"}
        )
        assert report.status_code == 200
        assert report.content[:2] == b"PK"


def test_dashboard__quarter__year_to_date_against_the_years_target(
    site: Site, settings: Settings, engine: Engine
) -> None:
    """2026Q4 of 51 with the site's outreach of 20 November (42 contacts) and one of 10 March
    (25): the quarter's HD2 is 42, its year to date 67; TT1 has no quarter target (Chưa giao
    chỉ tiêu) but its year to date is judged against the annual 70: one commune of Quảng
    Ngãi's many is not met. A year shows no year-to-date columns (it is its own total)."""
    march = outreach_xml(new_id(), students=20).replace(
        b"<activity_date>2026-11-20</activity_date>", b"<activity_date>2026-03-10</activity_date>"
    )
    ingest_with_retry(
        engine, FileStore(settings.data_dir / "attachments"), Incoming(march, "openrosa")
    )
    run_pipeline(engine)
    with signed_in(site, "hoa.qng") as client:
        page = client.get("/dashboard", params={"org": "51", "period": "2026Q4"}).text
        year = client.get("/dashboard", params={"org": "51", "period": "2026"}).text
    rows = dict(re.findall(r'<tr data-indicator="(\w+)">(.*?)</tr>', page, re.S))
    hd2 = re.sub(r"<[^>]+>", " ", rows["HD2"])
    assert re.search(r'class="num value"[^>]*>42<', rows["HD2"])
    assert re.search(r'class="num ytd"[^>]*>67<', rows["HD2"]), hd2
    assert 'status-no_target">Chưa giao chỉ tiêu' in rows["TT1"]
    assert re.search(r'class="ytd-status".*status-not_met">Chưa đạt', rows["TT1"], re.S)
    assert "Lũy kế từ đầu năm" in page
    assert "Lũy kế từ đầu năm" not in year
