"""The ingest's side of the cases entity list: what it refuses before writing anything."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from pcmd.db.engine import transaction
from pcmd.db.models import Submission
from pcmd.db.tables import CASE_STEPS, CASES
from pcmd.errors import IngestError
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from pcmd.settings import Settings
from tests.server.collect import OTHER_COMMUNE, load_forms, new_id
from tests.server.openrosa.test_cases import case_xml, step_xml


@pytest.fixture
def store(settings: Settings, engine: Engine) -> FileStore:
    load_forms(engine)
    return FileStore(settings.attachments_dir)


def rows(engine: Engine) -> tuple[int, int, int]:
    with transaction(engine) as session:
        return (
            session.scalar(select(func.count()).select_from(Submission)) or 0,
            session.scalar(select(func.count()).select_from(CASES)) or 0,
            session.scalar(select(func.count()).select_from(CASE_STEPS)) or 0,
        )


def send(engine: Engine, store: FileStore, xml: bytes) -> None:
    ingest_with_retry(engine, store, Incoming(xml=xml, source="openrosa"))


def test_step__case_id_longer_than_any__400_nothing_kept(engine: Engine, store: FileStore) -> None:
    with pytest.raises(IngestError) as caught:
        send(engine, store, step_xml(new_id(), "x" * 101, "xac_minh", "2026-11-05"))
    assert caught.value.status == 400
    assert "chọn lại vụ việc" in caught.value.message
    assert rows(engine) == (0, 0, 0)


def test_step__other_commune_than_its_case__403_nothing_kept(
    engine: Engine, store: FileStore
) -> None:
    reg = new_id()
    send(engine, store, case_xml(reg, "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"))
    with pytest.raises(IngestError) as caught:
        send(
            engine,
            store,
            step_xml(
                new_id(), reg.removeprefix("uuid:"), "chuyen", "2026-11-05", commune=OTHER_COMMUNE
            ),
        )
    assert caught.value.status == 403
    assert "21025 (Phường Cẩm Thành)" in caught.value.message
    assert "21028 (Phường Nghĩa Lộ)" in caught.value.message
    assert rows(engine) == (1, 1, 0)


def test_case__kind_not_of_the_list__kept_without_it(engine: Engine, store: FileStore) -> None:
    """A value no form offers (a hand-made upload) is not stored in the list; validation
    reports it on the record."""
    send(engine, store, case_xml(new_id(), "7b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e", kind="k" * 40))
    with transaction(engine) as session:
        assert session.execute(select(CASES.c.kind)).scalar_one() is None
