"""ODK Central pull against the fake server over HTTP: OData pages through nextLink, the
updatedAt/deletedAt watermark, edits, review states, deletions, attachments and faults."""

from __future__ import annotations

import base64
import hashlib
import json

from sqlalchemy import Engine

from pcmd.db.engine import transaction
from pcmd.db.models import SyncState
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from pcmd.settings import Settings
from pcmd.sync import central_sync
from pcmd.sync.http import HttpPolicy
from pcmd.sync.report import SyncReport
from tests.server.collect import JPEG, new_id, outreach_xml
from tests.sync.fakes.central import outreach_row
from tests.sync.fakes.faults import Fault
from tests.sync.fixtures import (
    CentralEnv,
    Waits,
    age_last_scan,
    counts,
    run,
    submissions,
    version_files,
)


def cursor(engine: Engine) -> dict[str, object]:
    with transaction(engine) as session:
        state = session.get(SyncState, "central-qn")
        assert state is not None
        return dict(state.cursor)


def test_central_sync__pages_through_next_link__typed_like_collect(
    engine: Engine,
    store: FileStore,
    settings: Settings,
    central: CentralEnv,
    policy: HttpPolicy,
) -> None:
    roots = [new_id() for _ in range(5)]
    for i, root in enumerate(roots):
        photo = "1700000000001.jpg" if i == 0 else None
        central.fake.add(
            outreach_row(root, students=10 + i, photo=photo), photo=JPEG if photo else None
        )
    client = central_sync.central_client(central.source, policy=policy)
    client.page_size = 2
    report = SyncReport("central-qn")
    central_sync.sync_central(engine, store, central.source, client, report, None, full=False)
    assert counts(report) == (5, 0, 0, 0, 0)
    # three pages of 2, 2, 1, newest first; the 2nd and 3rd by $skiptoken
    assert [r.get("$top") for r in central.fake.requests] == ["2", "2", "2"]
    token = central.fake.requests[1]["$skiptoken"]
    assert json.loads(base64.b64decode(token[2:])) == {"instanceId": roots[3]}
    subs = submissions(engine)
    assert set(subs) == set(roots)
    first = subs[roots[0]]
    assert (first["source"], first["files"], first["source_ref"]) == (
        "central",
        ["1700000000001.jpg"],
        roots[0],
    )
    data = first["data"]
    assert data["reach/n_students"] == 10
    assert data["location"] == [15.12, 108.8, 12.0, 5.0]
    assert data["topics"] == ["phap_luat", "hiv_sti"]
    assert data["media_items"] is None
    assert cursor(engine)["next"] is None


def test_central_sync__edit_review_delete__by_watermark(
    engine: Engine, store: FileStore, settings: Settings, central: CentralEnv, policy: HttpPolicy
) -> None:
    a, b, c = new_id(), new_id(), new_id()
    for root in (a, b, c):
        central.fake.add(outreach_row(root))
    assert counts(run(engine, store, central.source, settings, policy)) == (3, 0, 0, 0, 0)
    since = cursor(engine)["since"]
    assert isinstance(since, str)
    assert since.endswith("Z")
    a2 = central.fake.edit(a, {"reach": {"n_students": 41, "n_total": "46"}})
    central.fake.review(b, "approved")
    central.fake.delete(c)
    report = run(engine, store, central.source, settings, policy)
    # every row is newer than since (a minute before the first pass began): a and b changed,
    # c deleted
    assert counts(report) == (0, 2, 1, 0, 0)
    flt = central.fake.requests[-1]["$filter"]
    assert flt == (
        f"__system/submissionDate ge {since} or __system/updatedAt ge {since} or "
        f"__system/deletedAt ge {since}"
    )
    subs = submissions(engine)
    assert (subs[a]["versions"], subs[a]["current"]) == ([a, a2], a2)
    assert subs[a]["data"]["reach/n_students"] == 41
    assert subs[a]["review_state"] == "edited"
    assert subs[b]["review_state"] == "approved"
    assert subs[c]["deleted"] is True
    central.fake.review(a, "rejected")
    report = run(engine, store, central.source, settings, policy)
    assert report.updated == 1
    subs = submissions(engine)
    assert (subs[c]["deleted"], subs[a]["review_state"]) == (True, "rejected")


def test_central_sync__full__purged_submission_marked_deleted(
    engine: Engine, store: FileStore, settings: Settings, central: CentralEnv, policy: HttpPolicy
) -> None:
    a, b = new_id(), new_id()
    central.fake.add(outreach_row(a))
    central.fake.add(outreach_row(b))
    run(engine, store, central.source, settings, policy)
    central.fake.purge(b)  # gone without a deletedAt (purged after 30 days)
    report = run(engine, store, central.source, settings, policy, full=True)
    assert counts(report) == (0, 0, 1, 1, 0)
    assert submissions(engine)[b]["deleted"] is True


def test_central_sync__collect_duplicate_and_faults(
    engine: Engine,
    store: FileStore,
    settings: Settings,
    central: CentralEnv,
    policy: HttpPolicy,
    waits: Waits,
) -> None:
    iid = new_id()
    ingest_with_retry(engine, store, Incoming(xml=outreach_xml(iid), source="openrosa"))
    central.fake.add(outreach_row(iid))
    central.fake.faults.add(Fault(status=429, retry_after="2"), Fault(truncate=True))
    report = run(engine, store, central.source, settings, policy)
    assert report.error is None
    assert counts(report) == (0, 0, 0, 1, 0)
    assert waits.seconds == [2.0, 1.0]
    subs = submissions(engine)
    assert (list(subs), subs[iid]["source"], subs[iid]["versions"]) == ([iid], "openrosa", [iid])


def test_central_sync__wrong_password__message_names_variables_not_value(
    engine: Engine,
    store: FileStore,
    settings: Settings,
    central: CentralEnv,
    policy: HttpPolicy,
    monkeypatch,
) -> None:
    monkeypatch.setenv("CENTRAL_QN_PASSWORD", "sai-mat-khau-123")
    report = run(engine, store, central.source, settings, policy)
    assert report.error is not None
    assert "CENTRAL_QN_USER" in report.error
    assert "CENTRAL_QN_PASSWORD" in report.error
    assert "sai-mat-khau-123" not in report.error


def test_central_sync__edit_replaces_photo_same_name__new_version_has_new_bytes(
    engine: Engine, store: FileStore, settings: Settings, central: CentralEnv, policy: HttpPolicy
) -> None:
    root, name = new_id(), "1700000000001.jpg"
    new_photo = JPEG + b"-edited"
    central.fake.add(outreach_row(root, photo=name), photo=JPEG)
    run(engine, store, central.source, settings, policy)
    v2 = central.fake.edit(root, {"reach": {"n_students": 41, "n_total": "46"}}, photo=new_photo)
    assert counts(run(engine, store, central.source, settings, policy)) == (0, 1, 0, 0, 0)
    v3 = central.fake.edit(root, {"reach": {"n_students": 42, "n_total": "47"}})
    assert counts(run(engine, store, central.source, settings, policy)) == (0, 1, 0, 0, 0)
    old, new = hashlib.sha256(JPEG).hexdigest(), hashlib.sha256(new_photo).hexdigest()
    # each version holds what Central holds for it: the edit's own photo, then the same
    # photo carried over by Central to the next edit
    assert version_files(engine) == {root: {name: old}, v2: {name: new}, v3: {name: new}}
    assert submissions(engine)[root]["current"] == v3
    assert (store.path_for(new).read_bytes(), store.path_for(old).read_bytes()) == (new_photo, JPEG)


def test_central_sync__restore_and_purge__seen_by_the_light_scan(
    engine: Engine, store: FileStore, settings: Settings, central: CentralEnv, policy: HttpPolicy
) -> None:
    a, b, c = new_id(), new_id(), new_id()
    for root in (a, b, c):
        central.fake.add(outreach_row(root))
    central.fake.age()  # received two hours ago: older than any watermark from now on
    assert counts(run(engine, store, central.source, settings, policy)) == (3, 0, 0, 0, 0)
    central.fake.delete(c)
    assert counts(run(engine, store, central.source, settings, policy)) == (0, 0, 1, 0, 0)
    central.fake.restore(c)  # no timestamp moves: the watermark cannot see it
    central.fake.purge(b)
    assert counts(run(engine, store, central.source, settings, policy)) == (0, 0, 0, 0, 0)
    assert submissions(engine)[c]["deleted"] is True
    age_last_scan(engine, "central-qn")
    client = central_sync.central_client(central.source, policy=policy)
    client.id_page_size = 1
    before = len(central.fake.requests)
    report = SyncReport("central-qn")
    central_sync.sync_central(
        engine, store, central.source, client, report, None, full=False, scan_minutes=15
    )
    # the watermark pass finds nothing; the scan lists a and c, one per page, newest first
    assert counts(report) == (0, 1, 1, 0, 0)
    scan = central.fake.requests[before + 1 :]
    assert [(r["$select"], r["$top"], "$skiptoken" in r) for r in scan] == [
        ("__id", "1", False),
        ("__id", "1", True),
    ]
    subs = submissions(engine)
    assert (subs[a]["deleted"], subs[b]["deleted"], subs[c]["deleted"]) == (False, True, False)
    # the scan is done for sync_scan_minutes
    assert counts(run(engine, store, central.source, settings, policy)) == (0, 0, 0, 0, 0)
    assert len(central.fake.requests) == before + 4


def test_central_sync__first_pull_with_photos__fetched_four_at_a_time(
    engine: Engine, store: FileStore, settings: Settings, central: CentralEnv, policy: HttpPolicy
) -> None:
    photos = {new_id(): JPEG + bytes([i]) for i in range(6)}
    for root, content in photos.items():
        central.fake.add(outreach_row(root, photo=f"{root[5:13]}.jpg"), photo=content)
    central.fake.attachment_delay = 0.3
    assert counts(run(engine, store, central.source, settings, policy)) == (6, 0, 0, 0, 0)
    # six downloads, never more than four at once, and four at once: concurrent and bounded
    assert (central.fake.attachment_requests, central.fake.max_in_flight) == (6, 4)
    assert central.fake.logins == 1  # the workers share the session's token
    files = version_files(engine)
    assert {root: files[root] for root in photos} == {
        root: {f"{root[5:13]}.jpg": hashlib.sha256(content).hexdigest()}
        for root, content in photos.items()
    }


def links(engine: Engine, root: str) -> dict[str, str | None]:
    """Each version pcmd holds of `root`, with the version it replaced."""
    from sqlalchemy import select

    from pcmd.db.models import Submission, SubmissionVersion

    with transaction(engine) as s:
        rows = s.execute(
            select(SubmissionVersion.instance_id, SubmissionVersion.deprecated_id)
            .join(Submission, Submission.id == SubmissionVersion.submission_id)
            .where(Submission.instance_id == root)
        ).all()
    return {r.instance_id: r.deprecated_id for r in rows}


def test_central_sync__edited_twice_before_first_pull__every_version_linked(
    engine: Engine, store: FileStore, settings: Settings, central: CentralEnv, policy: HttpPolicy
) -> None:
    """OData shows only the third version, without the one it replaced; Central's versions API
    gives all three: pcmd keeps them, linked, with the third current."""
    a = new_id()
    central.fake.add(outreach_row(a))
    a2 = central.fake.edit(a, {"reach": {"n_students": 41, "n_total": "46"}})
    a3 = central.fake.edit(a, {"reach": {"n_students": 42, "n_total": "47"}})
    report = run(engine, store, central.source, settings, policy)
    assert counts(report) == (1, 0, 0, 0, 0)
    assert links(engine, a) == {a: None, a2: a, a3: a2}
    subs = submissions(engine)
    assert subs[a]["current"] == a3
    assert subs[a]["data"]["reach/n_students"] == 42
    # a later edit pulled by the watermark is linked to the version before it too
    a4 = central.fake.edit(a, {"reach": {"n_students": 43, "n_total": "48"}})
    run(engine, store, central.source, settings, policy)
    assert links(engine, a) == {a: None, a2: a, a3: a2, a4: a3}
    assert submissions(engine)[a]["current"] == a4
    # nothing missing any more: no further version requests
    before = central.fake.version_requests
    run(engine, store, central.source, settings, policy, full=True)
    assert central.fake.version_requests == before
