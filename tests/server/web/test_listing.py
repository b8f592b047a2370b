"""The review list's query (server/web/listing.py): a page looked for among the newest records
first, and a drill-down's ids walked in slices, give the pages, keyset and capped count that
one statement over everything gives; the kept count follows new records and reviews."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

import pcmd.server.web.listing as listing
from pcmd.db.engine import transaction
from pcmd.db.models import Submission
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from pcmd.server.web.listing import Filters, build_query, load_page, load_page_among
from tests.server.collect import COMMUNE, OTHER_COMMUNE, new_id, outreach_xml
from tests.server.web.conftest import Site, csrf_of, signed_in


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


def test_load_page__newest_walked_first__same_pages_as_over_everything(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileStore(site.server.settings.data_dir / "attachments")
    communes = [OTHER_COMMUNE, OTHER_COMMUNE, COMMUNE, COMMUNE, COMMUNE]
    for commune in communes:
        xml = outreach_xml(new_id(), commune=commune)
        ingest_with_retry(site.server.engine, store, Incoming(xml=xml, source="openrosa"))
    with transaction(site.server.engine) as s:
        _a, b, c, d, e, f = sorted(s.scalars(select(Submission.id)))
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    monkeypatch.setattr(listing, "WALK", 3)  # the newest three looked at first
    everything = build_query(Filters(), None)
    rare = build_query(Filters(commune=OTHER_COMMUNE), None)  # b and c: none among the newest
    with transaction(site.server.engine) as s:
        first = load_page(s, everything, None)
        below_d = load_page(s, everything, d)
        rare_first = load_page(s, rare, None)
        rare_below_b = load_page(s, rare, b, total=2)  # the count given: not counted again
    assert ([r["id"] for r in first.rows], first.next_after, first.total) == ([f, e], e, 6)
    assert ([r["id"] for r in below_d.rows], below_d.next_after) == ([c, b], b)
    assert ([r["id"] for r in rare_first.rows], rare_first.next_after) == ([c, b], None)
    assert (rare_first.total, rare_below_b.rows, rare_below_b.total) == (2, [], 2)


def test_submissions_page__kept_count__new_record_and_review_counted_at_once(site: Site) -> None:
    store = FileStore(site.server.settings.data_dir / "attachments")
    with signed_in(site, "admin") as client:
        params = {"province": "51", "state": "received"}
        assert "Số phiếu: <strong>1</strong>" in client.get("/submissions", params=params).text
        xml = outreach_xml(new_id())
        ingest_with_retry(site.server.engine, store, Incoming(xml=xml, source="openrosa"))
        assert "Số phiếu: <strong>2</strong>" in client.get("/submissions", params=params).text
        page = client.get(f"/submissions/{site.sub_id}")
        client.post(
            f"/submissions/{site.sub_id}/review",
            data={"csrf": csrf_of(page.text), "action": "approved"},
        )
        assert "Số phiếu: <strong>1</strong>" in client.get("/submissions", params=params).text
