"""The review list's query (server/web/listing.py): a drill-down's ids walked in slices give
the page, the keyset and the capped count that one statement over all of them gave."""

from __future__ import annotations

import pytest
from sqlalchemy import update

import pcmd.server.web.listing as listing
from pcmd.db.engine import transaction
from pcmd.db.models import Submission
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from pcmd.server.web.listing import Filters, build_query, load_page_among
from tests.server.collect import new_id, outreach_xml
from tests.server.web.conftest import Site


def test_load_page_among__slices_of_two__pages_keyset_and_count(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileStore(site.server.settings.data_dir / "attachments")
    sent = [
        ingest_with_retry(
            site.server.engine, store, Incoming(xml=outreach_xml(new_id()), source="openrosa")
        ).submission_id
        for _ in range(5)
    ]
    a, b, c, d, e, f = sorted([site.sub_id, *sent])
    with transaction(site.server.engine, write=True) as s:
        s.execute(update(Submission).where(Submission.id == e).values(deleted=True))
    monkeypatch.setattr(listing, "SLICE", 2)
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    among = [a, b, c, d, e, f]  # a drill-down's ids, ascending; e is deleted
    query = build_query(Filters(), None)
    with transaction(site.server.engine) as s:
        first = load_page_among(s, query, among, None)
        second = load_page_among(s, query, among, first.next_after)
        last = load_page_among(s, query, among, second.next_after)
        without_b = load_page_among(s, query, [a, c], None)
        monkeypatch.setattr(listing, "COUNT_CAP", 3)
        capped = load_page_among(s, query, among, None)
    assert [r["id"] for r in first.rows] == [f, d]  # newest first, the deleted one left out
    assert (first.total, first.capped, first.next_after) == (5, False, d)
    assert [r["id"] for r in second.rows] == [c, b]
    assert second.next_after == b
    assert ([r["id"] for r in last.rows], last.next_after) == ([a], None)
    assert ([r["id"] for r in without_b.rows], without_b.total) == ([c, a], 2)
    assert (capped.total, capped.capped) == (3, True)
