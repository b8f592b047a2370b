"""The scheduler: every enabled source synced at its interval, the pipeline run whenever data
waits for it, and the nightly backup — in one process at a time.

APScheduler 3 (a BackgroundScheduler) runs inside `pcmd serve` and as `pcmd scheduler`. With
several server processes (uvicorn workers, a second machine on the same PostgreSQL) each starts
a scheduler, and a lease in the database decides which one runs jobs: a row of
`scheduler_lock` holding the holder's name and an expiry, renewed every heartbeat. Another
process takes it over only once it has expired (the holder died or hung), so at most one
scheduler runs jobs at a time, on SQLite and PostgreSQL alike, whatever the process layout.
The lease row's expiry is also the heartbeat /healthz reads.

A source that fails is tried again sooner, with backoff (1, 2, 4 … minutes, never later than
its interval); its error is in sync_state for `pcmd sync status`; the other sources run on.
The pipeline job (pipeline_job.py) sees what any sync, upload, review or import changed.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Connection, Engine, delete, insert, select, update

from pcmd.db.engine import transaction, with_retry
from pcmd.db.models import utcnow
from pcmd.db.tables import LOCK
from pcmd.errors import PcmdError
from pcmd.ingest.files import FileStore
from pcmd.jobs.backup import nightly_backup
from pcmd.jobs.pipeline_job import PipelineJob
from pcmd.jobs.reminders import send_reminders
from pcmd.masterdata.periods import VIETNAM, vietnam_today
from pcmd.settings import Settings
from pcmd.sync.report import SyncReport
from pcmd.sync.runner import sync_source
from pcmd.sync.sources import SourceConfig, get_source, list_sources

log = logging.getLogger(__name__)

LOCK_NAME = "scheduler"
JOB_PREFIX = "sync:"
REMINDER_HOUR = 7  # Vietnam time: reminders (jobs/reminders.py) go out at the start of the day
LEASE_SECONDS = 60.0
HEARTBEAT_SECONDS = 15.0
SHUTDOWN_WAIT_SECONDS = 300.0  # a sync or pipeline run in progress finishes before the lease goes
# A heartbeat older than three intervals: the scheduler is stuck or gone (/healthz, pages).
STALE_HEARTBEAT_SECONDS = 3 * HEARTBEAT_SECONDS


class SyncFn(Protocol):
    def __call__(
        self, engine: Engine, store: FileStore, source: SourceConfig, settings: Settings
    ) -> SyncReport: ...


def last_heartbeat(conn: Connection) -> dt.datetime | None:
    """When the lease holder last renewed its lease (None: no scheduler holds it)."""
    row = conn.execute(select(LOCK.c.expires_at).where(LOCK.c.name == LOCK_NAME)).first()
    if row is None or row.expires_at is None:
        return None
    expires: dt.datetime = row.expires_at
    if expires.tzinfo is None:  # SQLite hands back naive UTC
        expires = expires.replace(tzinfo=dt.UTC)
    return expires - dt.timedelta(seconds=LEASE_SECONDS)


class Lease:
    """The scheduler lock: held while renewed before `seconds` pass."""

    def __init__(self, engine: Engine, holder: str, seconds: float) -> None:
        self.engine = engine
        self.holder = holder
        self.seconds = seconds

    def acquire(self) -> bool:
        """Take or renew the lease; False when another live holder has it."""
        now = utcnow()
        until = now + dt.timedelta(seconds=self.seconds)

        def work(conn: Connection) -> bool:
            renewed = conn.execute(
                update(LOCK)
                .where(LOCK.c.name == LOCK_NAME, LOCK.c.holder == self.holder)
                .values(expires_at=until)
            )
            if renewed.rowcount:
                return True
            taken = conn.execute(
                update(LOCK)
                .where(LOCK.c.name == LOCK_NAME, LOCK.c.expires_at < now)
                .values(holder=self.holder, expires_at=until, acquired_at=now)
            )
            if taken.rowcount:
                return True
            if conn.execute(select(LOCK.c.name).where(LOCK.c.name == LOCK_NAME)).first():
                return False
            # two first schedulers race here: the unique key lets one in, with_retry makes the
            # other look again and find the row
            conn.execute(
                insert(LOCK).values(
                    name=LOCK_NAME, holder=self.holder, expires_at=until, acquired_at=now
                )
            )
            return True

        return with_retry(self.engine, work)

    def release(self) -> None:
        def work(conn: Connection) -> None:
            conn.execute(delete(LOCK).where(LOCK.c.name == LOCK_NAME, LOCK.c.holder == self.holder))

        with_retry(self.engine, work)


def _default_sync(
    engine: Engine, store: FileStore, source: SourceConfig, settings: Settings
) -> SyncReport:
    return sync_source(engine, store, source, settings)


class SyncScheduler:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        holder: str | None = None,
        lease_seconds: float = LEASE_SECONDS,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        sync: SyncFn = _default_sync,
        pipeline: PipelineJob | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.store = FileStore(settings.attachments_dir)
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease = Lease(engine, self.holder, lease_seconds)
        self.heartbeat_seconds = heartbeat_seconds
        self.sync = sync
        self.pipeline = pipeline or PipelineJob(engine)
        self.failures: dict[str, int] = {}
        self.leader = False
        self._lock = threading.Lock()
        self._lease_error: str | None = None
        self._stopping = threading.Event()
        self._idle = threading.Condition()
        self._running = 0
        self.scheduler = BackgroundScheduler(
            timezone=dt.UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        )

    def start(self) -> None:
        self.scheduler.add_job(
            self.heartbeat,
            "interval",
            seconds=self.heartbeat_seconds,
            id="lease",
            next_run_time=dt.datetime.now(dt.UTC),
        )
        self.scheduler.add_job(
            self.run_pipeline,
            "interval",
            seconds=self.settings.pipeline_delay_seconds,
            id="pipeline",
        )
        self.scheduler.add_job(
            self.run_backup,
            "cron",
            hour=self.settings.backup_hour,
            minute=0,
            timezone=VIETNAM,
            id="backup",
        )
        self.scheduler.add_job(
            self.run_reminders,
            "cron",
            hour=REMINDER_HOUR,
            minute=0,
            timezone=VIETNAM,
            id="reminders",
        )
        self.scheduler.start()
        log.info("scheduler %s started", self.holder)

    def shutdown(self) -> None:
        self._stopping.set()
        if self.scheduler.running:
            # Not wait=True: APScheduler then holds its job-store lock while jobs finish, and a
            # job that looks at the jobs (the heartbeat) waits for that lock forever. Running
            # jobs are waited for here instead, outside that lock.
            self.scheduler.shutdown(wait=False)
        with self._idle:
            self._idle.wait_for(lambda: self._running == 0, timeout=SHUTDOWN_WAIT_SECONDS)
        if self.leader:
            self.lease.release()
            self.leader = False
        log.info("scheduler %s stopped", self.holder)

    @contextmanager
    def _job(self) -> Iterator[bool]:
        """Around every job's work: False once shutting down (do nothing), and counted so
        shutdown waits for it."""
        with self._idle:
            if self._stopping.is_set():
                yield False
                return
            self._running += 1
        try:
            yield True
        finally:
            with self._idle:
                self._running -= 1
                self._idle.notify_all()

    def heartbeat(self) -> None:
        with self._job() as go:
            if go:
                self._heartbeat()

    def _heartbeat(self) -> None:
        try:
            held = self.lease.acquire()
            self._lease_error = None
        except Exception as exc:  # a database hiccup: keep the scheduler alive, try next beat
            message = f"{exc.__class__.__name__}: {exc}"
            if message != self._lease_error:  # once per new problem, not every beat
                log.error("scheduler lease check failed (run `pcmd init`?): %s", message)
            self._lease_error = message
            held = False
        with self._lock:
            if held and not self.leader:
                log.info("scheduler %s now runs the sync jobs", self.holder)
            if not held and self.leader:
                log.warning(
                    "scheduler %s lost the lease; another process runs the jobs", self.holder
                )
            self.leader = held
            if held:
                self.refresh_jobs()
            else:
                for job in self.scheduler.get_jobs():
                    if job.id.startswith(JOB_PREFIX):
                        job.remove()

    def refresh_jobs(self) -> None:
        """One job per enabled source; sources added, removed or re-timed since are followed."""
        with transaction(self.engine) as session:
            sources = {s.name: s for s in list_sources(session, enabled_only=True)}
        jobs = {j.id: j for j in self.scheduler.get_jobs() if j.id.startswith(JOB_PREFIX)}
        for job_id, job in jobs.items():
            source = sources.get(job_id.removeprefix(JOB_PREFIX))
            if source is None:
                job.remove()
            elif job.trigger.interval != dt.timedelta(minutes=source.interval_minutes):
                job.reschedule("interval", minutes=source.interval_minutes)
        for name, source in sources.items():
            if JOB_PREFIX + name not in jobs:
                self.scheduler.add_job(
                    self.run_source,
                    "interval",
                    minutes=source.interval_minutes,
                    id=JOB_PREFIX + name,
                    args=[name],
                    next_run_time=dt.datetime.now(dt.UTC),
                )

    def run_source(self, name: str) -> SyncReport | None:
        with self._job() as go:
            return self._run_source(name) if go else None

    def _run_source(self, name: str) -> SyncReport | None:
        # The lease is checked again right before the work: a process that lost it while the
        # job was queued must not sync alongside the new holder.
        if not self.lease.acquire():
            self.leader = False
            return None
        try:
            with transaction(self.engine) as session:
                source = get_source(session, name)
        except PcmdError:
            return None  # removed meanwhile
        try:
            report = self.sync(self.engine, self.store, source, self.settings)
        except Exception as exc:  # one source's bug must not stop the others
            log.exception("sync %s crashed", name)
            report = SyncReport(name, error=f"{exc.__class__.__name__}: {exc}")
        if report.error:
            failures = self.failures.get(name, 0) + 1
            self.failures[name] = failures
            wait = min(2 ** (failures - 1), source.interval_minutes)
            job = self.scheduler.get_job(JOB_PREFIX + name)
            if job is not None:
                job.modify(next_run_time=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=wait))
            log.warning("sync %s failed (%d in a row), next try in %d min", name, failures, wait)
        else:
            self.failures.pop(name, None)
        if report.changed:  # the indicators follow without waiting for the next poll
            self.pipeline_soon()
        return report

    def pipeline_soon(self) -> None:
        job = self.scheduler.get_job("pipeline")
        if job is not None:
            job.modify(next_run_time=dt.datetime.now(dt.UTC))

    def _holds_lease(self) -> bool:
        """Checked right before any job's work: a process that lost the lease while the job
        was queued must not run it alongside the new holder."""
        if not self.leader:
            return False
        try:
            held = self.lease.acquire()
        except Exception:  # the database is down: the next beat tries again
            log.exception("scheduler lease check failed")
            return False
        self.leader = held
        return held

    def run_pipeline(self) -> None:
        with self._job() as go:
            if go and self._holds_lease():
                self.pipeline.tick()

    def run_backup(self) -> None:
        with self._job() as go:
            if go:
                self._backup()

    def run_reminders(self) -> None:
        """Each morning: the reminders due today (jobs/reminders.py), by the lease holder."""
        with self._job() as go:
            if go and self._holds_lease():
                try:
                    send_reminders(self.settings, self.engine, vietnam_today())
                except Exception:  # logged for the operator; tomorrow's run sends what is due
                    log.exception("reminders failed")

    def _backup(self) -> None:
        if not self._holds_lease():
            return
        try:
            result = nightly_backup(self.settings, self.engine)
        except Exception:  # logged for the operator; tomorrow's backup tries again
            log.exception("nightly backup failed")
            return
        log.info("nightly backup written: %s (%d bytes)", result.path, result.size)
