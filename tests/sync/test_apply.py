"""What a pull does to a record besides ingesting it — marking it deleted, restoring it,
taking its review state from the source — moves the case list's version on when the record is a
case or a step (phones replace their copy only when the version moves)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select

from pcmd.db.engine import write_connection
from pcmd.db.models import utcnow
from pcmd.db.tables import SUB
from pcmd.forms.case_list import load_cases
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from pcmd.settings import Settings
from pcmd.sync.apply import mark_deleted, restore
from tests.server.collect import load_forms, new_id
from tests.server.openrosa.test_cases import case_xml, step_xml


def test_mark_deleted_then_restore__step_of_a_case__version_moves_on_each_time(
    settings: Settings, engine: Engine
) -> None:
    load_forms(engine)
    store = FileStore(settings.attachments_dir)

    def send(xml: bytes) -> int:
        return ingest_with_retry(engine, store, Incoming(xml=xml, source="kobo")).submission_id

    reg, done = new_id(), new_id()
    name = reg.removeprefix("uuid:")
    send(case_xml(reg, "5e4d3c2b-1a09-4f8e-8d7c-6b5a4f3e2d1c", received="2026-11-02"))
    send(step_xml(new_id(), name, "xac_minh", "2026-11-05"))
    step = send(step_xml(done, name, "xu_ly_xong", "2026-11-10"))

    def seen() -> tuple[int, str, dt.date | None]:
        with engine.connect() as conn:
            [view] = load_cases(conn)
        return view.row.version, view.row.state.status, view.row.state.handled_date

    assert seen() == (3, "xu_ly_xong", dt.date(2026, 11, 10))
    with write_connection(engine) as conn:
        mark_deleted(conn, 0, step, utcnow())  # no record-map row: the submission alone
    assert seen() == (4, "xac_minh", None)
    with write_connection(engine) as conn:
        restore(conn, 0, step, utcnow())
        assert conn.execute(select(SUB.c.deleted).where(SUB.c.id == step)).scalar() is False
    assert seen() == (5, "xu_ly_xong", dt.date(2026, 11, 10))
