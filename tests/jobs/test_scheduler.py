"""The scheduler: one lease holder runs jobs; failing sources back off; a changed sync runs the
pipeline at once."""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import replace

import pytest
from sqlalchemy import Engine

from pcmd.db.engine import transaction
from pcmd.db.models import SchedulerLock
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from pcmd.jobs import scheduler as sched
from pcmd.jobs.pipeline_job import PipelineJob
from pcmd.jobs.scheduler import Lease, SyncScheduler
from pcmd.pipeline.pending import pipeline_status
from pcmd.pipeline.run import run_pipeline
from pcmd.pipeline.summary import PipelineSummary
from pcmd.settings import Settings
from pcmd.sync.report import SyncReport
from pcmd.sync.sources import SourceConfig, add_source
from tests.server.collect import new_id, outreach_xml


def add_two_sources(engine: Engine) -> None:
    with transaction(engine, write=True) as session:
        for name in ("kobo-a", "kobo-b"):
            add_source(
                session,
                name=name,
                kind="kobo",
                url="http://127.0.0.1:9",
                form_id="pcmd_outreach",
                asset_uid="aQnYr7kLzP3dW2mVb9TfXe",
                token_env="KOBO_TOKEN",
                interval_minutes=30,
            )


class Recorder:
    """A sync function that records who ran what, and fails for the names it is told to."""

    def __init__(self, failing: frozenset[str] = frozenset(), changed: bool = False) -> None:
        self.calls: list[tuple[str, str]] = []
        self.failing = set(failing)
        self.changed = changed
        self.running = 0
        self.overlap = False
        self.lock = threading.Lock()

    def __call__(
        self, engine: Engine, store: FileStore, source: SourceConfig, settings: Settings
    ) -> SyncReport:
        with self.lock:
            self.running += 1
            self.overlap = self.overlap or self.running > 1
        time.sleep(0.05)
        with self.lock:
            self.running -= 1
        self.calls.append((source.name, threading.current_thread().name))
        if source.name in self.failing:
            return SyncReport(source.name, error="HTTP 503")
        return SyncReport(source.name, new=1 if self.changed else 0)


def wait_until(check, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_lease__one_holder_until_it_expires(engine: Engine) -> None:
    a = Lease(engine, "host-a:1", seconds=0.5)
    b = Lease(engine, "host-b:2", seconds=0.5)
    assert a.acquire() is True
    assert b.acquire() is False
    assert a.acquire() is True  # renewal
    time.sleep(0.6)
    assert b.acquire() is True  # a stopped renewing: b takes over
    assert a.acquire() is False
    b.release()
    assert a.acquire() is True
    with transaction(engine) as session:
        lock = session.get(SchedulerLock, "scheduler")
        assert lock is not None
        assert lock.holder == "host-a:1"


def test_scheduler__two_processes__only_the_holder_runs_jobs(
    engine: Engine, settings: Settings, store: FileStore
) -> None:
    add_two_sources(engine)
    one, two = Recorder(), Recorder()
    first = SyncScheduler(
        settings, engine, holder="A", lease_seconds=1.0, heartbeat_seconds=0.2, sync=one
    )
    second = SyncScheduler(
        settings, engine, holder="B", lease_seconds=1.0, heartbeat_seconds=0.2, sync=two
    )
    first.start()
    try:
        assert wait_until(lambda: len(one.calls) == 2)
        second.start()
        time.sleep(1.0)  # several heartbeats: B never gets the lease while A renews it
        assert (first.leader, second.leader) == (True, False)
        assert two.calls == []
        assert sorted(name for name, _ in one.calls) == ["kobo-a", "kobo-b"]
    finally:
        first.shutdown()  # releases the lease
    try:
        assert wait_until(lambda: len(two.calls) == 2)
        assert second.leader is True
        assert sorted(name for name, _ in two.calls) == ["kobo-a", "kobo-b"]
        assert len(one.calls) == 2  # A ran nothing more once stopped
    finally:
        second.shutdown()


def test_scheduler__failing_source_backs_off_others_run(
    engine: Engine, settings: Settings, store: FileStore
) -> None:
    add_two_sources(engine)
    recorder = Recorder(failing=frozenset({"kobo-a"}))
    scheduler = SyncScheduler(
        settings, engine, holder="A", lease_seconds=5, heartbeat_seconds=0.2, sync=recorder
    )
    scheduler.start()
    try:
        assert wait_until(lambda: len(recorder.calls) == 2)
        assert wait_until(lambda: scheduler.failures.get("kobo-a") == 1)
        job = scheduler.scheduler.get_job("sync:kobo-a")
        ok = scheduler.scheduler.get_job("sync:kobo-b")
        now = dt.datetime.now(dt.UTC)
        # first failure: again in 1 minute, not in its 30-minute interval
        assert dt.timedelta(seconds=50) < job.next_run_time - now < dt.timedelta(seconds=61)
        assert dt.timedelta(minutes=29) < ok.next_run_time - now <= dt.timedelta(minutes=30)
        assert "kobo-b" not in scheduler.failures
    finally:
        scheduler.shutdown()


def test_scheduler__changed_sync__pipeline_runs_without_waiting_for_its_poll(
    engine: Engine, settings: Settings, store: FileStore
) -> None:
    add_two_sources(engine)
    ingest_with_retry(engine, store, Incoming(xml=outreach_xml(new_id()), source="kobo"))
    runs: list[int] = []

    def run(eng: Engine) -> PipelineSummary:
        summary = run_pipeline(eng)
        runs.append(summary.changed)
        return summary

    scheduler = SyncScheduler(
        # the poll alone would wait an hour: the changed sync asks for the run
        replace(settings, pipeline_delay_seconds=3600),
        engine,
        holder="A",
        lease_seconds=5,
        heartbeat_seconds=0.2,
        sync=Recorder(changed=True),
        pipeline=PipelineJob(engine, run=run),
    )
    scheduler.start()
    try:
        assert wait_until(lambda: bool(runs))
    finally:
        scheduler.shutdown()
    assert runs[0] == 1  # the one submission
    with engine.connect() as conn:
        assert pipeline_status(conn).waiting == 0


def test_serve_lifespan__scheduler_setting_starts_and_stops_it(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.live_server import serve_in_thread

    started: list[str] = []
    stopped: list[str] = []
    monkeypatch.setattr(sched.SyncScheduler, "start", lambda self: started.append(self.holder))
    monkeypatch.setattr(sched.SyncScheduler, "shutdown", lambda self: stopped.append(self.holder))
    from pcmd.server.app import create_app

    with serve_in_thread(create_app(replace(settings, scheduler=True))):
        assert len(started) == 1
    assert stopped == started
    with serve_in_thread(create_app(settings)):  # tests run with scheduler = false
        pass
    assert len(started) == 1
