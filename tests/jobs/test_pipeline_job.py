"""The pipeline job: it runs only when data waits, a failed run is kept for administrators and
retried after a backoff, and a run that succeeds clears the error."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from pcmd.jobs.pipeline_job import PipelineJob
from pcmd.pipeline.pending import pipeline_status
from pcmd.pipeline.run import run_pipeline
from pcmd.pipeline.summary import PipelineSummary
from tests.server.collect import new_id, outreach_xml


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def submit(engine: Engine, store: FileStore) -> None:
    ingest_with_retry(engine, store, Incoming(xml=outreach_xml(new_id()), source="openrosa"))


def test_pipeline_job__nothing_waiting__no_run(engine: Engine, store: FileStore) -> None:
    runs: list[Engine] = []

    def run(eng: Engine) -> PipelineSummary:
        runs.append(eng)
        return run_pipeline(eng)

    job = PipelineJob(engine, run=run)
    assert job.tick() is None  # an empty installation: nothing to do
    submit(engine, store)
    summary = job.tick()
    assert summary is not None
    assert summary.changed == 1
    assert job.tick() is None  # done: nothing waits any more
    assert len(runs) == 1


def test_pipeline_job__failure__kept_retried_after_backoff_cleared_on_success(
    engine: Engine, store: FileStore
) -> None:
    clock = Clock()
    broken = [True]

    def run(eng: Engine) -> PipelineSummary:
        if broken[0]:
            raise RuntimeError("integer overflow")
        return run_pipeline(eng)

    job = PipelineJob(engine, run=run, clock=clock)
    submit(engine, store)
    assert job.tick() is None
    with engine.connect() as conn:
        status = pipeline_status(conn)
    assert status.error == "RuntimeError: integer overflow"
    assert status.waiting == 1
    assert status.failed_at is not None
    broken[0] = False
    clock.now += 59  # 1 minute of backoff after the first failure
    assert job.tick() is None
    clock.now += 1
    assert job.tick() is not None
    with engine.connect() as conn:
        status = pipeline_status(conn)
    assert (status.error, status.waiting) == (None, 0)
    assert status.updated_at is not None


def test_pipeline_job__second_failure__two_minutes(engine: Engine, store: FileStore) -> None:
    clock = Clock()

    def run(_eng: Engine) -> PipelineSummary:
        raise RuntimeError("still broken")

    job = PipelineJob(engine, run=run, clock=clock)
    submit(engine, store)
    job.tick()
    clock.now += 60
    job.tick()
    assert job.failures == 2
    assert job.next_try == pytest.approx(clock.now + 120)
