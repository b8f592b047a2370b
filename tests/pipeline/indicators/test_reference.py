"""Reference values and register counts rolled up the org tree."""

from __future__ import annotations

from pcmd.masterdata.tree import OrgTree
from pcmd.pipeline.indicators.reference import Reference, register_counts

TREE = OrgTree.from_rows(
    [
        ("VN", "country", None),
        ("51", "province", "VN"),
        ("79", "province", "VN"),
        ("21025", "commune", "51"),
        ("21028", "commune", "51"),
        ("26734", "commune", "79"),
    ]
)


def test_reference__year_rule_and_own_value_wins() -> None:
    """Should take each unit's most recent value not after the year; a province's own value
    over its communes; otherwise the sum of the communes that have one."""
    ref = Reference(
        [
            ("21025", 2023, "students", 100),
            ("21025", 2026, "students", 999),  # after 2025: not used for 2025
            ("21028", 2025, "students", 50),
            ("26734", 2025, "students", 30),
            ("79", 2024, "students", 70),  # own value wins over 26734's
        ],
        TREE,
    )
    assert ref.table("students", 2025) == {
        "21025": 100,
        "21028": 50,
        "51": 150,
        "26734": 30,
        "79": 70,
        "VN": 220,
    }
    assert ref.value("students", "21025", 2026) == 999
    assert ref.value("students", "VN", 2022) is None
    assert ref.value("industrial_workers", "51", 2025) is None


def test_register_counts__roll_up() -> None:
    got = register_counts(
        [
            ("21025", "active", 2),
            ("21028", "active", 1),
            ("21028", "closed", 4),
            ("99999", "active", 5),
        ],
        TREE,
    )
    assert got["active"] == {"21025": 2, "51": 3, "VN": 3, "21028": 1}
    assert got["closed"] == {"21028": 4, "51": 4, "VN": 4}
