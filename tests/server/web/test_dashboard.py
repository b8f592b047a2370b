"""The dashboard, the indicators API and the reports page over real HTTP: scope and provenance."""

from __future__ import annotations

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
