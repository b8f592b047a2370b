"""The data-quality page over real HTTP: the grid within the user's units only."""

from __future__ import annotations

from tests.server.web.conftest import Site, signed_in


def test_quality__grid_in_scope_only(site: Site) -> None:
    with signed_in(site, "hoa.qng") as client:
        page = client.get("/quality", params={"year": "2026"})
        assert page.status_code == 200
        assert "Phường Cẩm Thành" in page.text
        assert 'title="Phường Cẩm Thành 202611">1<' in page.text
        other = client.get("/quality", params={"org": "48"})
        assert other.status_code == 404
    with signed_in(site, "minh.dng") as client:
        page = client.get("/quality", params={"year": "2026"})
        assert "Phường Cẩm Thành" not in page.text
