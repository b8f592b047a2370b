"""override_issue: a reviewer accepts an issue; it stays accepted while it fires on the same
version, audited once, and an issue of an older version or none at all is refused."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, select, update

from pcmd.db.engine import transaction
from pcmd.db.models import AuditLog, Submission
from pcmd.errors import PipelineError
from pcmd.ingest.files import FileStore
from pcmd.pipeline.validate.store import override_issue
from tests.pipeline.instances import answers, send
from tests.pipeline.validate.runs import (
    INS,
    OUT,
    counted,
    current_version,
    issue_id,
    stored,
    validate,
)
from tests.server.collect import new_id


def test_override_issue__kept_while_it_fires_and_counted(engine: Engine, store: FileStore) -> None:
    root = new_id()
    sid = send(engine, store, INS, answers(INS, findings__fine_vnd="0"), instance_id=root)
    validate(engine)
    assert counted(engine) == set()
    issue = issue_id(engine, sid.submission_id, "RANGE_003")
    with transaction(engine) as s:
        s.execute(update(Submission).values(updated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
    with engine.begin() as conn:
        override_issue(conn, issue, "user:hoa")
    version = current_version(engine, sid.submission_id)
    assert stored(engine, sid.submission_id) == [
        ("RANGE_003", "findings/fine_vnd", "error", "overridden", version)
    ]
    assert counted(engine) == {sid.submission_id}
    with transaction(engine) as s:
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "issue.override")).one()
        sub = s.get(Submission, sid.submission_id)
        assert sub is not None
        bumped = (
            sub.updated_at.replace(tzinfo=dt.UTC)
            if sub.updated_at.tzinfo is None
            else sub.updated_at
        )
    assert (audit.actor, audit.target) == ("user:hoa", f"submission:{root}")
    assert audit.details["rule"] == "RANGE_003"
    assert bumped > dt.datetime(2026, 1, 2, tzinfo=dt.UTC)

    summary = validate(engine)
    assert (summary.inserted, summary.deleted, summary.kept, summary.excluded) == (0, 0, 1, set())
    assert counted(engine) == {sid.submission_id}

    # The same problem in a new version must be looked at again.
    send(engine, store, INS, answers(INS, findings__fine_vnd="0"), deprecated_id=root)
    validate(engine, [sid.submission_id])
    newer = current_version(engine, sid.submission_id)
    assert stored(engine, sid.submission_id) == [
        ("RANGE_003", "findings/fine_vnd", "error", "overridden", version),  # history
        ("RANGE_003", "findings/fine_vnd", "error", "open", newer),
    ]
    assert counted(engine) == set()


def test_override_issue__twice__one_audit_row(engine: Engine, store: FileStore) -> None:
    sid = send(engine, store, OUT, answers(OUT, topics="")).submission_id
    validate(engine)
    issue = issue_id(engine, sid, "REQ_002")
    for _ in range(2):
        with engine.begin() as conn:
            override_issue(conn, issue, "user:hoa")
    with transaction(engine) as s:
        assert (
            len(s.scalars(select(AuditLog).where(AuditLog.action == "issue.override")).all()) == 1
        )


def test_override_issue__unknown_or_older_version__refused(
    engine: Engine, store: FileStore
) -> None:
    root = new_id()
    sid = send(engine, store, OUT, answers(OUT, topics=""), instance_id=root).submission_id
    validate(engine)
    old_issue = issue_id(engine, sid, "REQ_002")
    with engine.begin() as conn, pytest.raises(PipelineError, match="no validation issue 999999"):
        override_issue(conn, 999999, "user:hoa")
    # An edit arrives but the pipeline has not run yet: the issue is of an older version.
    send(engine, store, OUT, answers(OUT, topics=""), deprecated_id=root)
    with engine.begin() as conn, pytest.raises(PipelineError, match="older version"):
        override_issue(conn, old_issue, "user:hoa")
