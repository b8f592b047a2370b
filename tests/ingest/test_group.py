"""Group commit through a real server: submissions held until they wait together, then written
as one group — each answered only after the shared commit, a bad one failing alone, a failed
commit answering no 201 for anything it did not keep."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, Engine, event, select
from sqlalchemy.exc import OperationalError

from pcmd.db.engine import WRITE_OPTION, transaction
from pcmd.db.models import Submission, SubmissionVersion
from pcmd.ingest.files import FileStore
from pcmd.ingest.group import GroupCommitter
from pcmd.ingest.incoming import Incoming
from pcmd.server.app import create_app
from pcmd.settings import Settings
from tests.live_server import expect_5xx, free_port, serve_in_thread
from tests.server.collect import (
    COMMUNE,
    OTHER_COMMUNE,
    Server,
    load_forms,
    new_id,
    outreach_xml,
    post,
    prepare,
)
from tests.server.openrosa.conftest import counts, message


class Gate:
    """Holds the committer's first group until `release`, and notes every group's size."""

    def __init__(self, committer: GroupCommitter) -> None:
        self.committer = committer
        committer.writers = 1  # PostgreSQL has two writer threads: one, so the groups are ours
        self.groups: list[int] = []
        self.opened = threading.Event()
        real = committer._outcomes

        def outcomes(jobs: list[Any]) -> list[Any]:
            self.groups.append(len(jobs))
            if len(self.groups) == 1:
                self.opened.wait(30)
            return real(jobs)

        committer._outcomes = outcomes  # type: ignore[method-assign]

    def wait_queued(self, n: int) -> None:
        self.wait_for(lambda: self.committer._queue.qsize() == n)

    def wait_for(self, condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 30
        while not condition():
            assert time.monotonic() < deadline, "the submissions never queued"
            time.sleep(0.01)


@dataclass
class Rig:
    server: Server
    gate: Gate
    engine: Engine  # the served app's engine
    pool: ThreadPoolExecutor

    def send(self, xml: bytes, token: str | None = None) -> Future[httpx.Response]:
        def one() -> httpx.Response:
            with httpx.Client(timeout=60) as client:
                return post(client, self.server, xml, token=token)

        return self.pool.submit(one)

    def grouped(
        self, blocker: bytes, xmls: list[bytes], token: str | None = None
    ) -> tuple[httpx.Response, list[Any]]:
        """The blocker held alone in the writer, then `xmls` queued behind it in this order, then
        all let go: the blocker commits alone and `xmls` as one group."""
        first = self.send(blocker, token)
        self.gate.wait_for(lambda: self.gate.groups == [1])
        sent = []
        for xml in xmls:
            sent.append(self.send(xml, token))
            self.gate.wait_queued(len(sent))
        self.gate.opened.set()
        return first.result(60), [f.result(60) for f in sent]


@pytest.fixture
def rig(settings: Settings, engine: Engine) -> Iterator[Rig]:
    tokens = prepare(settings, engine)
    port = free_port()
    settings = replace(settings, base_url=f"http://127.0.0.1:{port}")
    app = create_app(settings)
    gate = Gate(app.state.ingest)
    with serve_in_thread(app, port) as url, ThreadPoolExecutor(12) as pool:
        yield Rig(Server(url, engine, settings, *tokens), gate, app.state.engine, pool)


@contextmanager
def failing_commits(engine: Engine, which: Callable[[int], bool]) -> Iterator[list[int]]:
    """Write transactions' commits numbered from 1; those `which` picks raise a disk I/O error
    (as SQLite reports one) instead of committing."""
    seen: list[int] = []

    def commit(conn: Connection) -> None:
        if not conn.get_execution_options().get(WRITE_OPTION):
            return
        seen.append(len(seen) + 1)
        if which(seen[-1]):
            raise OperationalError("COMMIT", {}, sqlite3.OperationalError("disk I/O error"))

    event.listen(engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(engine, "commit", commit)


def stored(engine: Engine) -> dict[str, int]:
    """Each stored submission's root instanceID → its number of versions."""
    with transaction(engine) as s:
        rows = s.execute(
            select(Submission.instance_id, SubmissionVersion.id).join(
                SubmissionVersion, SubmissionVersion.submission_id == Submission.id
            )
        ).all()
    found: dict[str, int] = {}
    for root, _version in rows:
        found[root] = found.get(root, 0) + 1
    return found


def test_group__all_new__one_commit_no_savepoint(rig: Rig) -> None:
    ids = [new_id() for _ in range(5)]
    savepoints: list[str] = []
    event.listen(rig.engine, "savepoint", lambda _conn, name: savepoints.append(name))
    with failing_commits(rig.engine, lambda _n: False) as commits:
        first, answers = rig.grouped(outreach_xml(ids[0]), [outreach_xml(i) for i in ids[1:]])
    assert rig.gate.groups == [1, 4]
    assert [first.status_code, *(a.status_code for a in answers)] == [201] * 5
    if rig.engine.dialect.name == "postgresql":
        assert commits == []  # each group one statement, its own transaction (one_trip.py)
    else:
        assert commits == [1, 2]  # the blocker's, then the group's
    assert savepoints == []
    assert stored(rig.engine) == dict.fromkeys(ids, 1)


def test_group__app_user_of_one_commune__out_of_scope_refused_alone(rig: Rig) -> None:
    # the group's new submissions go in a few multi-row statements; scope is checked there too
    ids = [new_id() for _ in range(4)]
    xmls = [outreach_xml(ids[1]), outreach_xml(ids[2], commune=OTHER_COMMUNE)]
    xmls += [outreach_xml(ids[3])]
    first, answers = rig.grouped(outreach_xml(ids[0]), xmls, rig.server.scoped_token)
    assert rig.gate.groups == [1, 3]
    assert [first.status_code, *(a.status_code for a in answers)] == [201, 201, 403, 201]
    assert OTHER_COMMUNE in message(answers[1])
    assert stored(rig.engine) == {ids[0]: 1, ids[1]: 1, ids[3]: 1}
    with transaction(rig.engine) as s:
        versions = s.scalars(select(SubmissionVersion)).all()
        assert {v.submitter for v in versions} == {"appuser:xa-cam-thanh"}
        assert {v.data["where/commune"] for v in versions} == {COMMUNE}


def test_group__one_bad_and_one_conflict__others_stored(rig: Rig) -> None:
    blocker = new_id()
    good = [new_id() for _ in range(4)]
    xmls = [outreach_xml(good[0]), outreach_xml(good[1])]
    xmls += [b"<not-xml", outreach_xml(blocker, students=7)]  # broken; blocker's id, new content
    xmls += [outreach_xml(good[2]), outreach_xml(good[3])]
    first, answers = rig.grouped(outreach_xml(blocker), xmls)
    assert rig.gate.groups == [1, 6]
    assert first.status_code == 201
    assert [a.status_code for a in answers] == [201, 201, 400, 409, 201, 201]
    assert "different content" in message(answers[3])
    assert stored(rig.engine) == {blocker: 1, **dict.fromkeys(good, 1)}


def test_group__resend_in_the_same_group__one_submission(rig: Rig) -> None:
    twice, other = new_id(), new_id()
    xmls = [outreach_xml(twice), outreach_xml(other), outreach_xml(twice)]
    first, answers = rig.grouped(outreach_xml(new_id()), xmls)
    assert rig.gate.groups == [1, 3]
    assert [first.status_code, *(a.status_code for a in answers)] == [201] * 4
    assert "submission received" in message(answers[0])
    assert "already received" in message(answers[2])
    assert counts(rig.engine) == (3, 3, 0)


def test_group__edit_of_an_unknown_version__404_as_alone(rig: Rig) -> None:
    # Collect's edit is never taken as plainly new, even in a group: ingest answers 404
    ids = [new_id() for _ in range(3)]
    xmls = [outreach_xml(ids[1]), outreach_xml(ids[2], deprecated_id=new_id())]
    first, answers = rig.grouped(outreach_xml(ids[0]), xmls)
    assert rig.gate.groups == [1, 2]
    assert [first.status_code, *(a.status_code for a in answers)] == [201, 201, 404]
    assert "does not have" in message(answers[1])
    assert stored(rig.engine) == {ids[0]: 1, ids[1]: 1}


def test_group__edit_behind_its_original__both_kept_edit_current(rig: Rig) -> None:
    original, edit = new_id(), new_id()
    xmls = [outreach_xml(original), outreach_xml(edit, students=9, deprecated_id=original)]
    first, answers = rig.grouped(outreach_xml(new_id()), xmls)
    assert rig.gate.groups == [1, 2]
    assert [first.status_code, *(a.status_code for a in answers)] == [201] * 3
    assert "edited submission received" in message(answers[1])
    with transaction(rig.engine) as s:
        sub = s.scalars(select(Submission).where(Submission.instance_id == original)).one()
        current = s.get(SubmissionVersion, sub.current_version_id)
        assert current is not None
        assert (current.instance_id, current.data["reach/n_students"]) == (edit, 9)
        assert sub.review_state == "edited"
    assert stored(rig.engine)[original] == 2


def test_group__commit_fails_once__each_retried_alone_and_stored_once(rig: Rig) -> None:
    rig.gate.committer.one_trip = False  # the transaction's commit fails (test_one_trip: its own)
    ids = [new_id() for _ in range(5)]
    # commit 1 is the blocker's (alone), commit 2 the group's
    with failing_commits(rig.engine, lambda n: n == 2) as seen:
        first, answers = rig.grouped(outreach_xml(ids[0]), [outreach_xml(i) for i in ids[1:]])
    assert rig.gate.groups == [1, 4]
    assert first.status_code == 201
    assert [a.status_code for a in answers] == [201] * 4
    assert seen == [1, 2, 3, 4, 5, 6]  # the group's failed commit, then one per submission
    assert stored(rig.engine) == dict.fromkeys(ids, 1)


def test_group__commits_keep_failing__no_201_nothing_stored(rig: Rig) -> None:
    rig.gate.committer.one_trip = False  # the transaction's commit fails (test_one_trip: its own)
    expect_5xx(503)
    with failing_commits(rig.engine, lambda _n: True):
        first, answers = rig.grouped(
            outreach_xml(new_id()), [outreach_xml(new_id()) for _ in range(3)]
        )
    assert rig.gate.groups == [1, 3]
    assert [first.status_code, *(a.status_code for a in answers)] == [503] * 4
    assert "nothing was stored" in message(answers[0])
    assert counts(rig.engine) == (0, 0, 0)


@contextmanager
def _committer(
    settings: Settings, engine: Engine, window: float
) -> Iterator[tuple[GroupCommitter, list[int]]]:
    """A group committer of its own with the given window, and the sizes of the groups it
    writes, in order."""
    load_forms(engine)
    committer = GroupCommitter(engine, FileStore(settings.attachments_dir), window=window)
    sizes: list[int] = []
    real = committer._outcomes

    def outcomes(jobs: list[Any]) -> list[Any]:
        sizes.append(len(jobs))
        return real(jobs)

    committer._outcomes = outcomes  # type: ignore[method-assign]
    try:
        yield committer, sizes
    finally:
        committer.close()


def _new(committer: GroupCommitter) -> Future[Any]:
    return committer.submit(Incoming(xml=outreach_xml(new_id()), source="openrosa"))


def _later(committer: GroupCommitter, seconds: float) -> Future[Any]:
    """A new submission handed to the committer `seconds` from now; its outcome's future."""
    done: Future[Any] = Future()

    def send() -> None:
        time.sleep(seconds)
        _new(committer).add_done_callback(lambda f: done.set_result(f.result()))

    threading.Thread(target=send, daemon=True).start()
    return done


def test_group__waits_for_more_only_while_they_come_together(
    settings: Settings, engine: Engine
) -> None:
    with _committer(settings, engine, window=2.0) as (committer, sizes):
        # A quiet hour (the last group held one): the first is written at once, not held for
        # the window; the one 0.3 s later is a group of its own.
        first, second = _new(committer), _later(committer, 0.3)
        assert [f.result(10).status for f in (first, second)] == ["created"] * 2
        assert sizes == [1, 1]
        # While submissions come together (the last group held more than one; set here, as
        # two phones at once would leave it): one arriving 0.3 s after the first joins it.
        committer._last_size = 2
        third, fourth = _new(committer), _later(committer, 0.3)
        assert [f.result(10).status for f in (third, fourth)] == ["created"] * 2
        assert sizes == [1, 1, 2]
    with transaction(engine) as session:
        assert len(session.scalars(select(Submission.id)).all()) == 4


def test_group__window_is_a_deadline_not_a_wait_per_arrival(
    settings: Settings, engine: Engine
) -> None:
    with _committer(settings, engine, window=0.6) as (committer, sizes):
        committer._last_size = 2
        # the second and third (0.2 and 0.4 s) arrive inside the first's 0.6 s, the fourth
        # (0.9 s) outside it, though it is only 0.5 s after the third
        futures = [_new(committer)]
        futures += [_later(committer, seconds) for seconds in (0.2, 0.4, 0.9)]
        assert [f.result(10).status for f in futures] == ["created"] * 4
    assert sizes == [3, 1]
