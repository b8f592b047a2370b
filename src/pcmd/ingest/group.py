"""Group commit: submissions that arrive together are written in one transaction and share one
sync to disk; each sender hears its outcome only once that commit is durable.

A writer thread takes the first submission waiting, then every other one already waiting (up
to `max_group`), and ingests them in one write transaction — first plainly, since nearly every
group is new submissions all accepted (those are written in a few multi-row statements,
`ingest_new`); if one is refused or races, the transaction is rolled back and the group
written again with a savepoint each: a submission refused (a 4xx
`IngestError`, a 503 `StorageError`) rolls back its own savepoint only, and a unique-key race is
tried again with the lookup, as `ingest_with_retry` does. Nobody waits for a group to
fill at a quiet hour: while one group commits, the next gathers by itself, and only when the
last group held more than one submission (phones are sending at once) does the writer wait up
to GATHER_WINDOW_S for more before writing: on PostgreSQL, where each of several writers would
otherwise mostly write groups of one, a group's statements and commit cost about as much as its
submissions' own work. If the transaction itself fails (the
database raising mid-way or at commit), nothing of the group is kept and each submission is
ingested again on its own, so one failure never loses or fails the others, and no submission is
reported stored before a commit that holds it has returned.

On PostgreSQL a group's plainly new submissions go first in one statement that is its own
transaction (`ingest_new_one_trip`, one round trip instead of six), and only the others — an
edit, a resend, a refusal — take the transaction above, after it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from pcmd.db.engine import (
    IDLE_CHECK_SECONDS,
    autocommit_engine,
    writer_engine,
    writer_lock,
)
from pcmd.errors import PcmdError
from pcmd.ingest.bulk import ingest_new
from pcmd.ingest.files import FileStore
from pcmd.ingest.form_lookup import FormLookup
from pcmd.ingest.incoming import Incoming, IngestResult
from pcmd.ingest.one_trip import ingest_new_one_trip
from pcmd.ingest.submit import ingest, ingest_with_retry

log = logging.getLogger(__name__)

MAX_GROUP = 64
# How long a writer waits for more after what is queued, when submissions are arriving together.
# Measured on PostgreSQL at concurrency 8: groups of 1.5 on average became 2.4, and the server's
# CPU a submission fell by a fifth (bench/README.md, issue 16).
GATHER_WINDOW_S = 0.0005


@dataclass
class _Job:
    incoming: Incoming
    future: Future[IngestResult] = field(default_factory=Future)


class _Again(Exception):
    """A group written without savepoints met a refusal or a race: roll it back, go again."""


class _Alone(Exception):
    """This submission is better ingested on its own, after the group (a repeated race)."""


class _Kept:
    """The connections a writer thread keeps from one group to the next: taking one from the
    pool and giving it back (its events, its reset) cost a group about as much again as an
    empty transaction. One idle longer than IDLE_CHECK_SECONDS goes back to the pool, whose
    check-out tests it before its next use; one whose work failed is closed."""

    def __init__(self) -> None:
        self._conns: dict[int, tuple[Connection, float]] = {}

    @contextmanager
    def connection(self, engine: Engine) -> Iterator[Connection]:
        kept = self._conns.pop(id(engine), None)
        if kept is not None and time.monotonic() - kept[1] > IDLE_CHECK_SECONDS:
            kept[0].close()
            kept = None
        conn = kept[0] if kept is not None else engine.connect()
        try:
            yield conn
        except BaseException:
            conn.close()
            raise
        self._conns[id(engine)] = (conn, time.monotonic())

    def close(self) -> None:
        for conn, _used in self._conns.values():
            conn.close()
        self._conns.clear()


class GroupCommitter:
    """Writer threads that ingest queued submissions a group per transaction."""

    def __init__(
        self,
        engine: Engine,
        store: FileStore,
        forms: FormLookup | None = None,
        *,
        writers: int = 1,
        max_group: int = MAX_GROUP,
        window: float = GATHER_WINDOW_S,
    ) -> None:
        self.engine = engine
        self.store = store
        self.forms = forms or FormLookup()
        self.max_group = max_group
        self.window = window
        self._last_size = 1  # the size of the group written last (by any writer thread)
        self.writers = writers
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._start_lock = threading.Lock()
        self._local = threading.local()  # .kept: the writer thread's _Kept
        # PostgreSQL: a group's plainly new submissions in one statement, its own transaction
        self.one_trip = engine.dialect.name == "postgresql"

    def submit(self, incoming: Incoming) -> Future[IngestResult]:
        """Queue one submission; its future is resolved once it is durably stored or refused."""
        if not self._threads:
            self._start()
        job = _Job(incoming)
        self._queue.put(job)
        return job.future

    def _start(self) -> None:
        # on the first submission, not when an app is built (tests build many)
        with self._start_lock:
            if self._threads:
                return
            threads = [
                threading.Thread(target=self._loop, name=f"ingest-group-{i}", daemon=True)
                for i in range(self.writers)
            ]
            for thread in threads:
                thread.start()
            self._threads = threads

    def close(self) -> None:
        """Finish what is queued, then stop the writer threads."""
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()

    # --- the writer thread ------------------------------------------------------------------
    def _loop(self) -> None:
        # On SQLite the group is gathered once this thread holds the file's writer lock: what
        # arrives while another process writes joins the group instead of waiting for the next.
        # Its senders are answered after the lock is let go: waking them wakes this process's
        # event loop, which would compete for the GIL with this thread while the other process
        # waits for the lock.
        lock = writer_lock(self.engine)
        self._local.kept = kept = _Kept()
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                with lock if lock is not None else nullcontext():
                    jobs, stop = self._gather(first)
                    outcomes = self._outcomes(jobs)
                _settle(outcomes)
                if stop:
                    return
        finally:
            kept.close()

    def _gather(self, first: _Job) -> tuple[list[_Job], bool]:
        """`first` and every job already waiting (up to max_group); True if told to stop."""
        jobs = [first]
        # wait for more only while they come together: never at a quiet hour (a group of one)
        deadline = time.monotonic() + self.window if self._last_size > 1 else 0.0
        stop = False
        while len(jobs) < self.max_group:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                wait = deadline - time.monotonic()
                if wait <= 0:
                    break
                try:
                    more = self._queue.get(timeout=wait)
                except queue.Empty:
                    break
            if more is None:
                stop = True
                break
            jobs.append(more)
        self._last_size = len(jobs)
        return jobs, stop

    def write(self, jobs: list[_Job]) -> None:
        """Ingest `jobs` in one transaction and resolve their futures after its commit."""
        self._local.kept = kept = _Kept()
        try:
            outcomes = self._outcomes(jobs)
        finally:
            kept.close()
        _settle(outcomes)

    def _outcomes(self, jobs: list[_Job]) -> list[tuple[_Job, _Outcome]]:
        """Each of `jobs` with its outcome, every one committed (or refused) when this returns.
        A group of one takes the same path: `ingest_new`'s few statements cost less than
        `ingest`'s, and whatever it does not take goes to `ingest` as in any group."""
        done: list[tuple[_Job, _Outcome]] = []
        if self.one_trip:
            jobs = self._new_in_one_trip(jobs, done)
            if not jobs:
                return done
        kept: _Kept = self._local.kept
        lock = writer_lock(self.engine)  # held already by _loop's thread (it is re-entrant)
        outcomes: list[IngestResult | PcmdError | _Alone] = []
        for careful in (False, True):
            try:
                with (
                    kept.connection(writer_engine(self.engine)) as conn,
                    lock if lock is not None else nullcontext(),
                    conn.begin(),
                ):
                    if careful:
                        outcomes = [self._one(conn, job.incoming) for job in jobs]
                    else:
                        outcomes = self._plain_group(conn, jobs)
                break
            except _Again:  # one of them was refused or raced: again, a savepoint each
                continue
            except Exception as exc:  # the transaction failed: nothing of the group is stored
                log.warning("group of %d not committed (%s); each ingested alone", len(jobs), exc)
                return done + [(job, self._alone(job)) for job in jobs]
        for job, outcome in zip(jobs, outcomes, strict=True):
            done.append((job, self._alone(job) if isinstance(outcome, _Alone) else outcome))
        return done

    def _new_in_one_trip(self, jobs: list[_Job], done: list[tuple[_Job, _Outcome]]) -> list[_Job]:
        """The plainly new of `jobs` written by one statement (`ingest_new_one_trip`), their
        outcomes added to `done`; the others returned, for the transaction that follows, in
        their order."""
        try:
            with self._local.kept.connection(autocommit_engine(self.engine)) as conn:
                results = ingest_new_one_trip(conn, [job.incoming for job in jobs], self.forms)
        except Exception as exc:  # one statement: nothing of it was kept
            # (had it been, and the answer lost, the careful path finds each as a resend)
            log.info("one-statement write of %d failed (%s); written carefully", len(jobs), exc)
            return jobs
        rest = []
        for job, result in zip(jobs, results, strict=True):
            if result is None:
                rest.append(job)
            else:
                done.append((job, result))
        return rest

    def _plain_group(
        self, conn: Connection, jobs: list[_Job]
    ) -> list[IngestResult | PcmdError | _Alone]:
        """The group without savepoints: its plainly new submissions in a few multi-row
        statements (`ingest_new`, the rows `ingest` writes), the others one by one."""
        try:
            quick = ingest_new(conn, [job.incoming for job in jobs], self.forms)
        except (IntegrityError, PcmdError) as exc:
            raise _Again from exc
        return [
            done if done is not None else self._plain(conn, job.incoming)
            for done, job in zip(quick, jobs, strict=True)
        ]

    def _plain(self, conn: Connection, incoming: Incoming) -> IngestResult:
        """One submission without a savepoint (the common group: all new, all accepted); any
        refusal or race sends the whole group round again, carefully."""
        try:
            return ingest(conn, self.store, incoming, self.forms, look_first=False)
        except (IntegrityError, PcmdError) as exc:
            raise _Again from exc

    def _one(self, conn: Connection, incoming: Incoming) -> IngestResult | PcmdError | _Alone:
        """One submission in a savepoint: its result, its refusal, or a request to go alone.
        Any other error leaves the savepoint and fails the whole transaction."""
        for look_first in (False, True):
            savepoint = conn.begin_nested()
            try:
                result = ingest(conn, self.store, incoming, self.forms, look_first=look_first)
            except IntegrityError:
                savepoint.rollback()
                continue
            except PcmdError as exc:
                savepoint.rollback()
                return exc
            savepoint.commit()
            return result
        return _Alone()

    def _alone(self, job: _Job) -> _Outcome:
        try:
            return ingest_with_retry(self.engine, self.store, job.incoming, self.forms)
        except BaseException as exc:  # handed to the request that waits for it
            return exc


# a submission's result, or what its sender is to be answered with (a refusal, a failure)
_Outcome = IngestResult | BaseException


def _settle(outcomes: list[tuple[_Job, _Outcome]]) -> None:
    for job, outcome in outcomes:
        if isinstance(outcome, BaseException):
            job.future.set_exception(outcome)
        else:
            job.future.set_result(outcome)
