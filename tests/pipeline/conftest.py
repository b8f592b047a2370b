"""The hand-made dataset of tests/pipeline/handmade.py, run through the pipeline once."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from pcmd.ingest.files import FileStore
from pcmd.pipeline import run
from pcmd.pipeline.run import run_pipeline
from pcmd.settings import Settings
from tests.pipeline.handmade import TODAY, World, build_world


@pytest.fixture
def no_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    """The issues of this dataset are set by hand (O7's error), not by the rule catalogue."""

    def skip(*_args: object) -> set[int]:
        return set()

    monkeypatch.setattr(run, "_validate", skip)


@pytest.fixture
def world(settings: Settings, engine: Engine, no_validation: None) -> World:
    store = FileStore(settings.data_dir / "attachments")
    built = build_world(engine, store)
    run_pipeline(engine, today=TODAY)
    return built
