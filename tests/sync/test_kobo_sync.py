"""KoboToolbox pull against the fake server over HTTP: full, incremental, edits, reviews,
deletions, both record shapes, cross-route duplicates and faults."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import Engine, select

from pcmd.db.engine import transaction
from pcmd.db.models import SyncState
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming, IncomingFile
from pcmd.ingest.submit import ingest_with_retry
from pcmd.settings import Settings
from pcmd.sync import kobo_sync
from pcmd.sync.cursor import save_cursor
from pcmd.sync.http import HttpPolicy
from pcmd.sync.report import SyncReport
from tests.server.collect import JPEG, new_id, outreach_xml
from tests.sync.fakes.faults import Fault
from tests.sync.fakes.kobo import outreach_answers
from tests.sync.fixtures import (
    KoboEnv,
    Waits,
    age_last_scan,
    counts,
    dump,
    run,
    submissions,
    version_files,
)


def four_records(kobo: KoboEnv) -> tuple[str, str, str, str, str]:
    """r1 with a photo, approved; r2 legacy and anonymous; r3 edited on Kobo before pcmd saw
    it; r4 on hold. Returns their roots and r3's current instanceID."""
    r1, r2, r3, r4 = new_id(), new_id(), new_id(), new_id()
    kobo.fake.add(outreach_answers(r1, photo="1700000000000.jpg"), photo=JPEG)
    kobo.fake.add(outreach_answers(r2, students=12), legacy=True, submitted_by=None)
    kobo.fake.add(outreach_answers(r3, students=30))
    r3_now = kobo.fake.edit(107, {"reach/n_students": "55", "reach/n_total": "60"})
    kobo.fake.add(outreach_answers(r4, commune="21028"))
    kobo.fake.validate(101, "validation_status_approved")
    kobo.fake.validate(110, "validation_status_on_hold")
    return r1, r2, r3, r4, r3_now


def test_kobo_sync__full__every_record_typed_with_files_reviews_and_shapes(
    engine: Engine, store: FileStore, settings: Settings, kobo: KoboEnv, policy: HttpPolicy
) -> None:
    r1, r2, r3, r4, r3_now = four_records(kobo)
    report = run(engine, store, kobo.source, settings, policy)
    assert report.error is None
    assert counts(report) == (4, 0, 0, 0, 0)
    subs = submissions(engine)
    assert set(subs) == {r1, r2, r3, r4}
    one = subs[r1]
    assert (one["source"], one["review_state"], one["files"]) == (
        "kobo",
        "approved",
        ["1700000000000.jpg"],
    )
    # _submission_time is naive UTC: the first record came in at 01:21:03 + 7 s
    assert one["submitted_at"].replace(tzinfo=dt.UTC) == dt.datetime(
        2026, 11, 20, 1, 21, 10, tzinfo=dt.UTC
    )
    assert one["source_ref"] == "101"
    data = one["data"]
    assert data["reach/n_students"] == 40
    assert data["reach/n_total"] == "45"  # a calculate of type string stays text
    assert data["topics"] == ["phap_luat", "hiv_sti"]
    assert data["location"] == [15.12, 108.8, 12.0, 5.0]
    assert data["where/commune"] == "21025"
    assert data["media_items"] is None
    assert data["notes"] is None
    assert data["meta/rootUuid"] == r1
    assert data["formhub/uuid"] == "57e6fd0b4065443280c9641be5670e89"
    # legacy shape: no meta/rootUuid (identity falls back to uuid: + _uuid), _tags/_notes
    assert subs[r2]["review_state"] == "received"
    assert subs[r2]["data"]["reach/n_students"] == 12
    assert "meta/rootUuid" not in subs[r2]["data"]
    # edited before pcmd saw it: one submission keyed by the root, its current version only
    assert (subs[r3]["current"], subs[r3]["versions"]) == (r3_now, [r3_now])
    assert subs[r3]["data"]["reach/n_students"] == 55
    assert subs[r4]["review_state"] == "has_issues"
    assert subs[r4]["data"]["where/commune"] == "21028"
    # one keyset page: _id > 0 in _id order, the largest page Kobo serves
    assert kobo.fake.requests[0]["query"] == '{"_id":{"$gt":0}}'
    assert kobo.fake.requests[0]["sort"] == '{"_id":1}'
    assert kobo.fake.requests[0]["limit"] == "1000"
    with transaction(engine) as session:
        state = session.get(SyncState, "kobo-qn")
        assert state is not None
        assert state.last_error is None
        assert state.cursor["last_id"] == 110
        assert state.last_success_at is not None


def test_kobo_sync__incremental__keyset_after_cursor_with_overlap(
    engine: Engine,
    store: FileStore,
    settings: Settings,
    kobo: KoboEnv,
    policy: HttpPolicy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    four_records(kobo)
    run(engine, store, kobo.source, settings, policy)
    a, b = new_id(), new_id()
    kobo.fake.add(outreach_answers(a, students=7))  # _id 113
    kobo.fake.add(outreach_answers(b, students=8))  # _id 116
    monkeypatch.setattr(kobo_sync, "OVERLAP_IDS", 3)  # re-read _id > 110 - 3: only 110 again
    report = run(engine, store, kobo.source, settings, policy)
    assert counts(report) == (2, 0, 0, 1, 0)
    assert kobo.fake.requests[-1]["query"] == '{"_id":{"$gt":107}}'
    subs = submissions(engine)
    assert (subs[a]["data"]["reach/n_students"], subs[b]["data"]["reach/n_students"]) == (7, 8)
    assert subs[b]["source_ref"] == "116"
    # nothing new: the overlap only
    report = run(engine, store, kobo.source, settings, policy)
    assert counts(report) == (0, 0, 0, 1, 0)
    assert kobo.fake.requests[-1]["query"] == '{"_id":{"$gt":113}}'


def test_kobo_sync__light_scan__edit_review_and_deletion(
    engine: Engine,
    store: FileStore,
    settings: Settings,
    kobo: KoboEnv,
    policy: HttpPolicy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    r1, r2, r3, r4, _ = four_records(kobo)
    run(engine, store, kobo.source, settings, policy)
    monkeypatch.setattr(kobo_sync, "OVERLAP_IDS", 0)
    r1_v2 = kobo.fake.edit(101, {"reach/n_students": "70", "reach/n_total": "75"})
    kobo.fake.validate(104, "validation_status_not_approved")
    kobo.fake.delete(110)
    # before the scan is due, the keyset pass (_id > 110) sees nothing and changes nothing
    assert counts(run(engine, store, kobo.source, settings, policy)) == (0, 0, 0, 0, 0)
    age_last_scan(engine, "kobo-qn")
    before = len(kobo.fake.requests)
    report = run(engine, store, kobo.source, settings, policy)
    # the scan lists 101, 104, 107: pcmd holds _id 110 past the last one, and Kobo no longer
    # has it when asked by id
    assert counts(report) == (0, 2, 1, 1, 0)
    light = kobo.fake.requests[before + 1]  # after the (empty) keyset pass from _id 110
    assert (
        light["fields"] == '["_id","_uuid","meta/rootUuid","meta/instanceID","_validation_status"]'
    )
    fetched = kobo.fake.requests[before + 2]
    assert fetched["query"] == '{"_id":{"$in":[101,104]}}'
    subs = submissions(engine)
    assert (subs[r1]["current"], subs[r1]["versions"]) == (r1_v2, [r1, r1_v2])
    assert subs[r1]["data"]["reach/n_students"] == 70
    assert subs[r1]["review_state"] == "edited"  # still approved on Kobo, but a new version
    assert subs[r1]["files"] == ["1700000000000.jpg"]  # carried over to the edit
    assert subs[r2]["review_state"] == "rejected"
    assert subs[r3]["deleted"] is False
    assert subs[r4]["deleted"] is True
    assert subs[r4]["deleted_at"] is not None
    assert len(subs[r4]["versions"]) == 1  # kept, only marked
    # a review decided in pcmd stands while Kobo's status does not change
    report = run(engine, store, kobo.source, settings, policy)
    assert counts(report) == (0, 0, 0, 0, 0)


def test_kobo_sync__deleted_inside_a_page_range__marked(
    engine: Engine,
    store: FileStore,
    settings: Settings,
    kobo: KoboEnv,
    policy: HttpPolicy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    r1, r2, r3, r4, _ = four_records(kobo)
    run(engine, store, kobo.source, settings, policy)
    kobo.fake.delete(104)
    kobo.fake.delete(101)
    monkeypatch.setattr(kobo_sync, "OVERLAP_IDS", 1000)  # the keyset pass covers every _id
    report = run(engine, store, kobo.source, settings, policy)
    assert counts(report) == (0, 0, 2, 2, 0)
    subs = submissions(engine)
    assert [subs[r]["deleted"] for r in (r1, r2, r3, r4)] == [True, True, False, False]


def test_kobo_sync__legacy_record_edited_twice_between_syncs__one_submission(
    engine: Engine,
    store: FileStore,
    settings: Settings,
    kobo: KoboEnv,
    policy: HttpPolicy,
) -> None:
    """An old server has no meta/rootUuid, so the record's fallback identity is its current
    instanceID, and its deprecatedID names a version pcmd never saw: the `_id` pcmd already
    holds keeps it one submission."""
    root = new_id()
    kobo.fake.add(outreach_answers(root, students=3), legacy=True)
    run(engine, store, kobo.source, settings, policy)
    kobo.fake.edit(101, {"reach/n_students": "4"})
    latest = kobo.fake.edit(101, {"reach/n_students": "5"})
    report = run(engine, store, kobo.source, settings, policy)  # inside the overlap window
    assert counts(report) == (0, 1, 0, 0, 0)
    subs = submissions(engine)
    assert list(subs) == [root]
    assert subs[root]["versions"] == [root, latest]
    assert subs[root]["data"]["reach/n_students"] == 5


def test_kobo_sync__collect_first_then_kobo__one_submission(
    engine: Engine, store: FileStore, settings: Settings, kobo: KoboEnv, policy: HttpPolicy
) -> None:
    iid = new_id()
    sha, _ = store.put_bytes(JPEG)
    photo = IncomingFile("p.jpg", "image/jpeg", sha, len(JPEG))
    sent = ingest_with_retry(
        engine,
        store,
        Incoming(xml=outreach_xml(iid, photo="p.jpg"), source="openrosa", files=(photo,)),
    )
    assert sent.status == "created"
    kobo.fake.add(outreach_answers(iid, photo="p.jpg"), photo=JPEG)
    report = run(engine, store, kobo.source, settings, policy)
    assert counts(report) == (0, 0, 0, 1, 0)
    subs = submissions(engine)
    assert list(subs) == [iid]
    assert (subs[iid]["source"], subs[iid]["versions"], subs[iid]["files"]) == (
        "openrosa",
        [iid],
        ["p.jpg"],
    )
    assert dump(engine)["source_records"] == [("kobo-qn", "101", 101, iid, iid, None, True, False)]
    # the link is kept: the next sync sees it unchanged without ingesting
    assert counts(run(engine, store, kobo.source, settings, policy)) == (0, 0, 0, 1, 0)


def test_kobo_sync__kobo_first_then_collect__collect_gets_duplicate(
    engine: Engine, store: FileStore, settings: Settings, kobo: KoboEnv, policy: HttpPolicy
) -> None:
    iid = new_id()
    kobo.fake.add(outreach_answers(iid))
    assert counts(run(engine, store, kobo.source, settings, policy)) == (1, 0, 0, 0, 0)
    again = ingest_with_retry(engine, store, Incoming(xml=outreach_xml(iid), source="openrosa"))
    assert again.status == "duplicate"
    subs = submissions(engine)
    assert (list(subs), subs[iid]["source"], subs[iid]["versions"]) == ([iid], "kobo", [iid])


def test_kobo_sync__same_instance_different_answers__refused_and_reported(
    engine: Engine, store: FileStore, settings: Settings, kobo: KoboEnv, policy: HttpPolicy
) -> None:
    iid = new_id()
    ingest_with_retry(engine, store, Incoming(xml=outreach_xml(iid), source="openrosa"))
    kobo.fake.add(outreach_answers(iid, students=41))
    report = run(engine, store, kobo.source, settings, policy)
    assert counts(report) == (0, 0, 0, 0, 1)
    assert report.problems[0].startswith("101: ")
    assert "different content" in report.problems[0]
    assert submissions(engine)[iid]["data"]["reach/n_students"] == 40
    with transaction(engine) as session:
        state = session.get(SyncState, "kobo-qn")
        assert state is not None
        assert state.last_success_at is not None
        assert state.last_error is not None
        assert "1 bản ghi bị từ chối" in state.last_error


def test_kobo_sync__429_502_timeout_truncated__retried_page_shrunk(
    engine: Engine,
    store: FileStore,
    settings: Settings,
    kobo: KoboEnv,
    policy: HttpPolicy,
    waits: Waits,
) -> None:
    r1, r2, r3, r4, _ = four_records(kobo)
    kobo.fake.faults.add(
        Fault(status=429, retry_after="3"),
        Fault(status=502),
        Fault(sleep=1.5),  # the client reads for 1 s
        Fault(truncate=True),
    )
    report = run(engine, store, kobo.source, settings, policy)
    assert report.error is None
    assert counts(report) == (4, 0, 0, 0, 0)
    # Retry-After honoured, then backoff 0.5 × 2^(n-1)
    assert waits.seconds == [3.0, 1.0, 2.0, 4.0]
    # 502 and the time-out each halve the page size
    assert [r["limit"] for r in kobo.fake.requests] == ["1000", "1000", "500", "250", "250"]
    assert set(submissions(engine)) == {r1, r2, r3, r4}


def test_kobo_sync__server_keeps_failing__error_recorded_then_next_run_recovers(
    engine: Engine, store: FileStore, settings: Settings, kobo: KoboEnv, policy: HttpPolicy
) -> None:
    four_records(kobo)
    kobo.fake.faults.add(*[Fault(status=503)] * 5)
    report = run(engine, store, kobo.source, settings, policy)
    assert report.error is not None
    assert "after 5 attempts" in report.error
    assert submissions(engine) == {}
    with transaction(engine) as session:
        state = session.get(SyncState, "kobo-qn")
        assert state is not None
        assert state.last_success_at is None
        assert state.last_error is not None
        assert "HTTP 503" in state.last_error
    report = run(engine, store, kobo.source, settings, policy)
    assert counts(report) == (4, 0, 0, 0, 0)


def test_kobo_sync__wrong_token__says_which_variable_and_hides_it(
    engine: Engine,
    store: FileStore,
    settings: Settings,
    kobo: KoboEnv,
    policy: HttpPolicy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KOBO_QN_TOKEN", "wrong-token-0000")
    report = run(engine, store, kobo.source, settings, policy)
    assert report.error is not None
    assert "HTTP 401" in report.error
    assert "KOBO_QN_TOKEN" in report.error
    assert "wrong-token-0000" not in report.error
    monkeypatch.delenv("KOBO_QN_TOKEN")
    report = run(engine, store, kobo.source, settings, policy)
    assert report.error is not None
    assert "KOBO_QN_TOKEN" in report.error
    assert "not set" in report.error


def test_kobo_sync__paging_over_many_pages__each_page_commits_cursor(
    engine: Engine,
    store: FileStore,
    settings: Settings,
    kobo: KoboEnv,
    policy: HttpPolicy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = [new_id() for _ in range(25)]
    for i, iid in enumerate(ids):
        kobo.fake.add(outreach_answers(iid, students=i))
    seen_cursors: list[int] = []
    original = save_cursor

    def spy(conn, name, cursor):
        seen_cursors.append(cursor.get("last_id", -1))
        original(conn, name, cursor)

    monkeypatch.setattr(kobo_sync, "save_cursor", spy)
    monkeypatch.setattr("pcmd.sync.kobo.MAX_PAGE", 10)
    from pcmd.sync.kobo import KoboClient

    monkeypatch.setattr(KoboClient, "page_size", 10, raising=False)
    source = kobo.source
    client = kobo_sync.kobo_client(source, policy=policy)
    client.page_size = 10
    report = SyncReport(source.name)
    kobo_sync.KoboSync(engine, store, source, client, report, None).run(full=False, scan_minutes=60)
    assert counts(report) == (25, 0, 0, 0, 0)
    # ids 101, 104, 107, … : pages end at the 10th, 20th and 25th record
    assert seen_cursors[:3] == [101 + 3 * 9, 101 + 3 * 19, 101 + 3 * 24]
    with transaction(engine) as session:
        assert len(session.scalars(select(SyncState)).all()) == 1


def test_kobo_sync__server_offers_date_modified__edit_and_review_at_next_sync(
    engine: Engine,
    store: FileStore,
    settings: Settings,
    kobo: KoboEnv,
    policy: HttpPolicy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With `_date_modified` on its records, an edit and a review reach pcmd at the next sync,
    without waiting for the light scan (which is not due here)."""
    kobo.fake.date_modified = True
    r1, r2, _r3, _r4, _ = four_records(kobo)
    run(engine, store, kobo.source, settings, policy)
    monkeypatch.setattr(kobo_sync, "OVERLAP_IDS", 0)
    r1_v2 = kobo.fake.edit(101, {"reach/n_students": "70", "reach/n_total": "75"})
    kobo.fake.validate(104, "validation_status_not_approved")
    before = len(kobo.fake.requests)
    report = run(engine, store, kobo.source, settings, policy)
    # (new, updated, deleted, unchanged, failed): the two changed; the overlap window of five
    # minutes before the newest stamp seen also lists 107 and 110, which are unchanged
    assert counts(report) == (0, 2, 0, 2, 0)
    asked = [r["query"] for r in kobo.fake.requests[before:]]
    assert any("_date_modified" in q for q in asked)
    subs = submissions(engine)
    assert subs[r1]["current"] == r1_v2
    assert subs[r2]["review_state"] == "rejected"
    assert submissions(engine)[r1]["data"]["reach/n_students"] == 70


def test_kobo_sync__edit_replaces_photo_same_name__new_version_has_new_bytes(
    engine: Engine, store: FileStore, settings: Settings, kobo: KoboEnv, policy: HttpPolicy
) -> None:
    root, name = new_id(), "1700000000000.jpg"
    new_photo = JPEG + b"-edited"
    kobo.fake.add(outreach_answers(root, photo=name), photo=JPEG)
    run(engine, store, kobo.source, settings, policy)
    # a new attachment uid under the same file name: new bytes
    v2 = kobo.fake.edit(101, {"reach/n_students": "41", "reach/n_total": "46"}, photo=new_photo)
    assert counts(run(engine, store, kobo.source, settings, policy)) == (0, 1, 0, 0, 0)
    old, new = hashlib.sha256(JPEG).hexdigest(), hashlib.sha256(new_photo).hexdigest()
    assert version_files(engine) == {root: {name: old}, v2: {name: new}}
    assert submissions(engine)[root]["current"] == v2
