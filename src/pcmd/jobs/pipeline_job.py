"""The pipeline as a scheduled job: whatever arrived — from phones, web forms, pulls, webhooks,
review decisions or imports of master data and targets — reaches the indicators by itself.

The scheduler that holds the lease asks every `pipeline_delay_seconds` whether the data moved
past the indicators (pipeline/pending.py) and, if so, runs the pipeline for what changed: a
burst of uploads waits at most that long and makes one run. Runs never overlap (one scheduler
runs jobs, APScheduler runs a job once at a time, and the pipeline locks its cursor). A failed
run is retried with backoff (1, 2, 4 … minutes, at most an hour); its error stays on the
pipeline's state row, shown to administrators, until a run succeeds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy import Connection, Engine

from pcmd.db.engine import with_retry
from pcmd.masterdata.periods import vietnam_today
from pcmd.pipeline.pending import pipeline_status, record_failure
from pcmd.pipeline.run import run_pipeline
from pcmd.pipeline.summary import PipelineSummary

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 3600.0

RunFn = Callable[[Engine], PipelineSummary]


def _run(engine: Engine) -> PipelineSummary:
    return run_pipeline(engine)


class PipelineJob:
    def __init__(
        self,
        engine: Engine,
        *,
        run: RunFn = _run,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.run = run
        self.clock = clock
        self.failures = 0
        self.next_try = 0.0

    def tick(self) -> PipelineSummary | None:
        """Run the pipeline if anything waits for it (and no backoff holds it back)."""
        if self.clock() < self.next_try:
            return None
        with self.engine.connect() as conn:
            status = pipeline_status(conn, today=vietnam_today())
        if not status.pending:
            return None
        try:
            summary = self.run(self.engine)
        except Exception as exc:  # a failed run must not stop the scheduler: retried later
            self.failures += 1
            wait = min(60.0 * 2 ** (self.failures - 1), MAX_BACKOFF_SECONDS)
            self.next_try = self.clock() + wait
            message = f"{exc.__class__.__name__}: {exc}"
            log.exception(
                "pipeline run failed (%d in a row); next try in %.0f s", self.failures, wait
            )

            def keep(conn: Connection) -> None:
                record_failure(conn, message)

            try:
                with_retry(self.engine, keep)
            except Exception:  # the database itself may be what failed
                log.exception("could not record the pipeline failure")
            return None
        self.failures = 0
        self.next_try = 0.0
        return summary
