"""The cases entity list read from the database: counted steps only, and a version that moves
on when a step stops counting or counts again (a review decision the ingest never sees) —
never back, since a phone keeps a copy whose version it already has."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select

from pcmd.db.engine import transaction
from pcmd.db.models import Submission
from pcmd.forms.case_list import load_cases
from pcmd.forms.entities import CaseState
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from pcmd.server.web.review import set_review_state
from pcmd.settings import Settings
from tests.server.collect import COMMUNE, OTHER_COMMUNE, load_forms, new_id
from tests.server.openrosa.test_cases import case_xml, step_xml


def test_load_cases__rejected_step_stops_counting_restored_counts_version_moves_on(
    settings: Settings, engine: Engine
) -> None:
    load_forms(engine)
    store = FileStore(settings.attachments_dir)

    def send(xml: bytes) -> None:
        ingest_with_retry(engine, store, Incoming(xml=xml, source="openrosa"))

    reg, done = new_id(), new_id()
    name = reg.removeprefix("uuid:")
    send(case_xml(reg, "8c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f", received="2026-11-02"))
    send(step_xml(new_id(), name, "xac_minh", "2026-11-05"))
    send(step_xml(done, name, "xu_ly_xong", "2026-11-10"))
    with engine.connect() as conn:
        [view] = load_cases(conn, [COMMUNE])
        assert load_cases(conn, [OTHER_COMMUNE]) == []
    assert (view.row.version, view.row.state) == (
        3,
        CaseState("xu_ly_xong", dt.date(2026, 11, 22), dt.date(2026, 11, 10)),
    )

    def review(state: str) -> None:
        with transaction(engine, write=True) as session:
            sub = session.scalars(select(Submission).where(Submission.instance_id == done)).one()
            set_review_state(session, "hoa.qng", [sub], state, "")

    review("rejected")
    with engine.connect() as conn:
        [view] = load_cases(conn)
    assert (view.row.version, view.row.state) == (
        4,
        CaseState("xac_minh", dt.date(2026, 11, 22), None),
    )
    assert [s.step for s in view.steps] == ["xac_minh"]
    assert view.days_left(dt.date(2026, 11, 20)) == 2
    review("received")  # the rejection undone: handled again, and version 5, not 3
    with engine.connect() as conn:
        [view] = load_cases(conn)
    assert (view.row.version, view.row.state) == (
        5,
        CaseState("xu_ly_xong", dt.date(2026, 11, 22), dt.date(2026, 11, 10)),
    )
