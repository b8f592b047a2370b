"""bench/pipeline.py's bulk path writes exactly the rows the real ingest writes."""

from __future__ import annotations

import importlib.util
import random
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select, update

from pcmd.db.engine import write_connection
from pcmd.db.models import Submission, SubmissionVersion
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from pcmd.settings import Settings

BENCH = Path(__file__).resolve().parents[1] / "bench" / "pipeline.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_pipeline", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_pipeline"] = module
    spec.loader.exec_module(module)
    return module


SUB_COLUMNS = (
    "instance_id",
    "form_pk",
    "source",
    "review_state",
    "deleted",
    "deleted_at",
    "commune_code",
    "activity_date",
)
VER_COLUMNS = (
    "instance_id",
    "deprecated_id",
    "form_version",
    "xml",
    "xml_sha256",
    "data",
    "attachments_expected",
    "source",
    "source_ref",
    "submitter",
    "device_id",
)


def snapshot(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                *(Submission.__table__.c[c] for c in SUB_COLUMNS),
                *(SubmissionVersion.__table__.c[c].label(f"v_{c}") for c in VER_COLUMNS),
            ).join(SubmissionVersion, SubmissionVersion.id == Submission.current_version_id)
        ).all()
        versions = conn.execute(select(SubmissionVersion.id)).all()
    assert len(versions) == len(rows)  # one version each, and it is the current one
    return sorted(tuple(r) for r in rows)


def test_bulk_ingest__same_rows_as_ingest(
    bench: ModuleType, settings: Settings, engine: Engine
) -> None:
    """Should write, for the same instance XML, the very rows `ingest` writes (ids and
    timestamps aside): both forms of every kind the benchmark generates."""
    rng = random.Random(5)
    world = bench.prepare(engine, "province", rng)
    xmls = [bench.xml_of(world, rng, bench.random_day(rng)) for _ in range(60)]
    forms = {m.group(1) for x in xmls if (m := re.search(rb' id="(\w+)"', x))}
    assert forms == {b"pcmd_outreach", b"pcmd_training", b"pcmd_inspection"}
    with write_connection(engine) as conn:
        bench.bulk_ingest(conn, xmls)
    bulk = snapshot(engine)
    with write_connection(engine) as conn:
        conn.execute(update(Submission).values(current_version_id=None))
        conn.execute(delete(SubmissionVersion))
        conn.execute(delete(Submission))
    store = FileStore(settings.data_dir / "attachments")
    for xml in xmls:
        ingest_with_retry(engine, store, Incoming(xml=xml, source="openrosa"))
    assert snapshot(engine) == bulk
    assert len(bulk) == 60


def test_reference__agrees_with_pipeline_on_8b_dataset(
    bench: ModuleType, settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should have bench/pipeline.py's row-by-row reference (bench/reference_8b.py for TG1 …
    BC2) give every stored value of the hand-made §8b dataset exactly — cases, their steps, a
    rejected case, monthly reports replaced by later ones, persons seen twice, plans — then
    again after an extension step is rejected."""
    from pcmd.pipeline import run
    from pcmd.pipeline.run import run_pipeline
    from tests.pipeline.handmade_8b import TODAY, build_world_8b

    monkeypatch.setattr(run, "_validate", lambda *_a: set())
    world = build_world_8b(engine, FileStore(settings.data_dir / "attachments"))
    run_pipeline(engine, today=TODAY)
    assert bench.compare(engine, bench.reference_rows(engine, TODAY)) == []
    world.reject("K2a")
    world.reject("M3")
    run_pipeline(engine, today=TODAY)
    assert bench.compare(engine, bench.reference_rows(engine, TODAY)) == []
