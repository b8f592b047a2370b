"""ingest_new_one_trip (PostgreSQL: a group's plainly new submissions in one statement, its own
transaction) writes exactly the rows `ingest` writes, leaves to `ingest` what is not plainly
new, and through the group committer loses and doubles nothing when that statement fails —
before it ran, or after it committed with its answer lost."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError

from pcmd.db.engine import autocommit_engine, make_engine, write_connection
from pcmd.db.migrate import upgrade
from pcmd.ingest.files import FileStore
from pcmd.ingest.form_lookup import FormLookup
from pcmd.ingest.group import GroupCommitter, _Job
from pcmd.ingest.incoming import Incoming, IngestResult
from pcmd.ingest.instance import parse_instance
from pcmd.ingest.one_trip import ingest_new_one_trip
from pcmd.ingest.submit import ingest
from pcmd.settings import Settings
from tests.ingest.test_bulk import batch, columns, pulled
from tests.server.collect import load_forms, new_id, outreach_xml
from tests.sync.fixtures import dump


@pytest.fixture
def pg(engine: Engine) -> Engine:
    if engine.dialect.name != "postgresql":
        pytest.skip("one statement with data-modifying WITH: PostgreSQL only")
    load_forms(engine)
    return engine


def raw_rows(engine: Engine) -> list[tuple[Any, ...]]:
    """The JSON columns as stored text (json keeps it as sent), and each submission's current
    version being its one version, by instanceID."""
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                text(
                    "SELECT v.instance_id, v.data::text, v.attachments_expected::text, "
                    "s.current_version_id = v.id, s.updated_at = v.received_at "
                    "FROM submission_versions v JOIN submissions s ON s.id = v.submission_id "
                    "ORDER BY v.instance_id"
                )
            )
        ]


def test_ingest_new_one_trip__same_rows_as_ingest_one_by_one(
    pg: Engine, settings: Settings, reference_url: str
) -> None:
    incomings = batch()
    store = FileStore(settings.data_dir / "attachments")
    one_by_one = ingest_reference(reference_url, store, incomings)
    with autocommit_engine(pg).connect() as conn:
        results = ingest_new_one_trip(conn, incomings, FormLookup())
    assert all(isinstance(r, IngestResult) for r in results)
    # each keyed by its root; the 4th, first seen already edited, has a version id of its own
    assert [(r.status, r.instance_id, r.version_instance_id) for r in results if r] == [
        ("created", i.root_instance_id, parse_instance(i.xml).instance_id) for i in incomings
    ]
    assert incomings[3].root_instance_id != parse_instance(incomings[3].xml).instance_id
    assert columns(pg) == columns(one_by_one)
    assert dump(pg) == dump(one_by_one)
    mine, theirs = raw_rows(pg), raw_rows(one_by_one)
    assert [r[:4] for r in mine] == [r[:4] for r in theirs]
    assert all(r[3] and r[4] for r in mine)  # points at its version; one clock, as ingest's
    one_by_one.dispose()


def ingest_reference(url: str, store: FileStore, incomings: list[Incoming]) -> Engine:
    """A second database holding `incomings` as `ingest` writes them, one by one."""
    reference = make_engine(url)
    upgrade(reference)
    load_forms(reference)
    forms = FormLookup()
    with write_connection(reference) as conn:
        for incoming in incomings:
            ingest(conn, store, incoming, forms)
    return reference


def test_ingest_new_one_trip__leaves_to_ingest_what_is_not_plainly_new(
    pg: Engine, settings: Settings
) -> None:
    store = FileStore(settings.data_dir / "attachments")
    known, edited_root, edit = new_id(), new_id(), new_id()
    with write_connection(pg) as conn:
        ingest(conn, store, Incoming(xml=outreach_xml(known), source="openrosa"))
        ingest(conn, store, Incoming(xml=outreach_xml(edited_root), source="openrosa"))
        ingest(
            conn,
            store,
            Incoming(xml=outreach_xml(edit, deprecated_id=edited_root), source="openrosa"),
        )
    twice, plain = new_id(), new_id()
    incomings = [
        pulled(outreach_xml(known), known, "1"),  # its root is stored: ON CONFLICT
        pulled(outreach_xml(new_id(), deprecated_id=edit), edited_root, "2"),  # edits a version
        Incoming(xml=outreach_xml(edit), source="openrosa"),  # a stored edit's id, as new
        Incoming(xml=outreach_xml(new_id(), deprecated_id=new_id()), source="openrosa"),  # 404
        pulled(outreach_xml(new_id(), photo="p.jpg"), new_id(), "3"),  # names a file
        pulled(b"<pcmd_outreach id='pcmd_outreach'><broken>", new_id(), "4"),  # bad XML
        pulled(outreach_xml(twice), twice, "6"),
        pulled(outreach_xml(twice), twice, "7"),  # the same one again in the group
        Incoming(xml=outreach_xml(plain), source="openrosa"),
    ]
    with autocommit_engine(pg).connect() as conn:
        results = ingest_new_one_trip(conn, incomings, FormLookup())
    assert [r is not None for r in results] == [False] * 6 + [True, False, True]
    with pg.connect() as conn:
        roots: set[str] = set(conn.execute(text("SELECT instance_id FROM submissions")).scalars())
        versions = conn.execute(text("SELECT count(*) FROM submission_versions")).scalar()
    assert roots == {known, edited_root, twice, plain}
    assert versions == 5  # 3 before, 2 now


@pytest.fixture
def committer(pg: Engine, settings: Settings) -> Iterator[GroupCommitter]:
    writer = GroupCommitter(pg, FileStore(settings.attachments_dir), writers=1)
    yield writer
    writer.close()


def statement_fails(engine: Engine, *, after: bool) -> list[int]:
    """The one-trip statement raises as a lost connection would: before it reaches the server
    (`after=False`: nothing kept), or after it committed (its answer lost). Returns a list that
    counts the statements so failed."""
    failed: list[int] = []
    name = "after_cursor_execute" if after else "before_cursor_execute"

    def fail(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.startswith("WITH r ("):
            failed.append(1)
            raise OperationalError(statement[:20], {}, Exception("server closed the connection"))

    event.listen(engine, name, fail)
    return failed


@pytest.mark.parametrize("after", [False, True], ids=["before", "after commit"])
def test_group__one_trip_fails__each_stored_once_and_answered(
    committer: GroupCommitter, pg: Engine, after: bool
) -> None:
    ids = [new_id() for _ in range(3)]
    failed = statement_fails(pg, after=after)
    jobs = [_Job(Incoming(xml=outreach_xml(i), source="openrosa")) for i in ids]
    committer.write(jobs)
    results = [job.future.result(10) for job in jobs]
    assert failed == [1]
    # written again by the group's transaction: created, or found as resends of what the
    # failed statement had committed (Collect hears 201 either way, and deletes its copy)
    expected = "duplicate" if after else "created"
    assert [r.status for r in results] == [expected] * 3
    with pg.connect() as conn:
        rows: list[str] = list(conn.execute(text("SELECT instance_id FROM submissions")).scalars())
        versions = conn.execute(text("SELECT count(*) FROM submission_versions")).scalar()
    assert sorted(rows) == sorted(ids)
    assert versions == 3


def test_group__one_trip_then_the_rest__edit_and_resend_after_their_originals(
    committer: GroupCommitter, pg: Engine
) -> None:
    original, edit, other = new_id(), new_id(), new_id()
    jobs = [
        _Job(Incoming(xml=outreach_xml(original), source="openrosa")),
        _Job(Incoming(xml=outreach_xml(edit, deprecated_id=original), source="openrosa")),
        _Job(Incoming(xml=outreach_xml(other), source="openrosa")),
        _Job(Incoming(xml=outreach_xml(other), source="openrosa")),
    ]
    committer.write(jobs)
    assert [job.future.result(10).status for job in jobs] == [
        "created",
        "edited",
        "created",
        "duplicate",
    ]
    with pg.connect() as conn:
        current = conn.execute(
            text(
                "SELECT v.instance_id, s.review_state FROM submissions s JOIN "
                "submission_versions v ON v.id = s.current_version_id WHERE s.instance_id = :i"
            ),
            {"i": original},
        ).one()
    assert tuple(current) == (edit, "edited")
