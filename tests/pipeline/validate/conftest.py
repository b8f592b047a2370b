"""Fixtures of the run, store and counted tests: a file store, with the shipped forms and a
one-entry register loaded."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from pcmd.db.engine import transaction
from pcmd.ingest.files import FileStore
from pcmd.masterdata.establishments import import_establishments
from pcmd.settings import Settings
from tests.server.collect import load_forms

REGISTER = (
    "id,name,type,commune,address,license_no,status\n"
    "QN-0001,Karaoke Hoa Mai,karaoke,21025,12 Lê Lợi,,active\n"
)


@pytest.fixture
def store(settings: Settings, engine: Engine) -> FileStore:
    load_forms(engine)
    with transaction(engine) as s:
        import_establishments(s, REGISTER, "register.csv")
    return FileStore(settings.data_dir / "attachments")
