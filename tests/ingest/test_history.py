"""A submission's versions in the order their links give, however they were stored."""

from __future__ import annotations

from pcmd.ingest.history import chain_order


def test_chain_order__history_stored_after_current__oldest_first() -> None:
    # pulled: v3 (current, its link unknown at first), then v1 and v2 from the versions API,
    # then v3's link filled in
    stored = [("v3", "v2"), ("v1", None), ("v2", "v1")]
    assert chain_order(stored) == ["v1", "v2", "v3"]


def test_chain_order__no_links__stored_order() -> None:
    assert chain_order([("a", None), ("b", None)]) == ["a", "b"]


def test_chain_order__link_to_a_version_not_held__starts_a_chain() -> None:
    # Kobo: an edit whose replaced version pcmd never saw
    assert chain_order([("v2", "v1"), ("v3", "v2")]) == ["v2", "v3"]


def test_chain_order__loop_of_links__every_version_once() -> None:
    assert sorted(chain_order([("a", "b"), ("b", "a")])) == ["a", "b"]
