"""counted_condition: the counting contract (DESIGN §4) the indicator engine relies on."""

from __future__ import annotations

from sqlalchemy import Engine, update

from pcmd.db.engine import transaction
from pcmd.db.models import Submission
from pcmd.ingest.files import FileStore
from tests.pipeline.instances import answers, send
from tests.pipeline.validate.runs import (
    TRA,
    counted,
    validate,
)


def test_counted_condition__rejected_deleted_and_errors_out(
    engine: Engine, store: FileStore
) -> None:
    ok, rejected, deleted, wrong = (
        send(engine, store, TRA, answers(TRA, **change)).submission_id
        for change in ({}, {}, {}, {"participants__new_commune_staff": "21"})
    )
    with transaction(engine) as s:
        s.execute(
            update(Submission).where(Submission.id == rejected).values(review_state="rejected")
        )
        s.execute(update(Submission).where(Submission.id == deleted).values(deleted=True))
    summary = validate(engine)
    assert summary.validated == 3  # the deleted one is not looked at
    assert summary.excluded == {wrong}
    assert counted(engine) == {ok}
