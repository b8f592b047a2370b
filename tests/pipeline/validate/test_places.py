"""GEO_001–GEO_006: the commune and the recorded location."""

from __future__ import annotations

import pytest

from pcmd.pipeline.validate.places import haversine_km
from tests.pipeline.validate.records import OUT, fired, issues, record


def test_geo_001__unknown_commune__error() -> None:
    assert fired(OUT, record(OUT, where__commune="99999")) == {("GEO_001", "where/commune")}
    assert fired(OUT, record(OUT, where__commune="51")) == {
        ("GEO_001", "where/commune")
    }  # a province


def test_geo_002__commune_of_another_province__error() -> None:
    data = record(OUT, where__commune="00004")
    assert fired(OUT, data) == {("GEO_002", "where/commune")}
    assert "belongs to province 01, not to the chosen province 51" in (
        issues(OUT, data, "GEO_002")[0].message_en
    )
    assert fired(OUT, record(OUT, where__commune="21028")) == set()


def test_geo_003__commune_closed_before_activity__error() -> None:
    data = record(OUT, where__commune="21999", activity_date="2026-03-01", location="")
    assert fired(OUT, data) == {("GEO_003", "where/commune")}
    assert "ceased to exist on 2026-01-01" in issues(OUT, data, "GEO_003")[0].message_en
    still_open = record(OUT, where__commune="21999", activity_date="2025-12-31", location="")
    assert fired(OUT, still_open) == set()


def test_geo_004__commune_created_after_activity__warning() -> None:
    data = record(OUT, where__commune="21888", activity_date="2026-08-31", location="")
    assert fired(OUT, data) == {("GEO_004", "where/commune")}
    assert fired(OUT, record(OUT, where__commune="21888", location="")) == set()  # 2026-11-20


def test_geo_004__before_the_list_begins__quiet() -> None:
    """The 2025 list says nothing about 2024: a past activity under today's commune is fine."""
    assert fired(OUT, record(OUT, activity_date="2024-05-01")) == set()


def test_geo_005__location_far_from_centroid__warning() -> None:
    # 0.38° of latitude is 0.38 × 111.195 = 42.3 km from 15.12 N 108.80 E
    data = record(OUT, location="15.50 108.80 10 5")
    assert fired(OUT, data) == {("GEO_005", "location")}
    assert (
        "about 42 km from the centre of commune 21025" in issues(OUT, data, "GEO_005")[0].message_en
    )
    # 0.25° is 27.8 km: inside 30 km
    assert fired(OUT, record(OUT, location="15.37 108.80 10 5")) == set()


def test_geo_005__commune_without_centroid__skipped() -> None:
    assert fired(OUT, record(OUT, where__commune="21028", location="10.0 106.0 0 5")) == set()


def test_geo_006__invalid_location__warning() -> None:
    assert fired(OUT, record(OUT, location="0 0 0 0")) == {("GEO_006", "location")}
    assert fired(OUT, record(OUT, location="95 108 0 0")) == {("GEO_006", "location")}
    assert fired(OUT, record(OUT, location="gần chợ")) == {("GEO_006", "location")}
    assert fired(OUT, record(OUT, location="")) == set()


def test_haversine_km__one_degree_of_latitude() -> None:
    assert haversine_km(15.0, 108.0, 16.0, 108.0) == pytest.approx(111.195, abs=0.001)
