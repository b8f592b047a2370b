"""ingest_new (the bulk path of a pull) writes exactly the rows `ingest` writes, and hands back
every incoming it must not decide."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, Row, select, text

from pcmd.db.engine import make_engine, transaction, write_connection
from pcmd.db.migrate import upgrade
from pcmd.db.models import Submission, SubmissionVersion
from pcmd.errors import IngestError
from pcmd.ingest import bulk as bulk_module
from pcmd.ingest.bulk import ingest_new
from pcmd.ingest.fast_typed import fast_typed
from pcmd.ingest.files import FileStore
from pcmd.ingest.form_lookup import FormLookup
from pcmd.ingest.incoming import Incoming, IngestResult
from pcmd.ingest.instance import typed_values
from pcmd.ingest.submit import ingest
from pcmd.settings import Settings
from tests.server.collect import load_forms, new_id, outreach_xml
from tests.sync.fixtures import dump

AT = dt.datetime(2026, 11, 20, 1, 21, 10, tzinfo=dt.UTC)


def pulled(xml: bytes, root: str, ref: str, *, submitter: str | None = "qn_enum01") -> Incoming:
    return Incoming(
        xml=xml,
        source="kobo",
        submitter=submitter,
        device_id="collect:AbCdEfGh12345678",
        source_ref=ref,
        root_instance_id=root,
        submitted_at=AT,
    )


def batch() -> list[Incoming]:
    """New records as a pull meets them: plain, anonymous, other commune, and one first seen
    already edited (its deprecatedID names a version nobody sent here)."""
    a, b, c, d_root, d_now, e = (new_id() for _ in range(6))
    return [
        pulled(outreach_xml(a, students=11), a, "101"),
        pulled(outreach_xml(b, students=12), b, "104", submitter=None),
        pulled(outreach_xml(c, commune="21028"), c, "107"),
        pulled(outreach_xml(d_now, students=55, deprecated_id=d_root), d_root, "110"),
        pulled(outreach_xml(e, students=0), e, "113"),
    ]


def columns(engine: Engine) -> list[tuple[object, ...]]:
    """Every column of submissions and versions but surrogate keys and pcmd's own clock."""
    with transaction(engine) as session:
        subs: list[Row[tuple[object, ...]]] = list(
            session.execute(
                select(
                    Submission.instance_id,
                    Submission.form_pk,
                    Submission.source,
                    Submission.review_state,
                    Submission.deleted,
                    Submission.deleted_at,
                    Submission.commune_code,
                    Submission.activity_date,
                    Submission.submitted_at,
                    SubmissionVersion.instance_id,
                    SubmissionVersion.deprecated_id,
                    SubmissionVersion.form_version,
                    SubmissionVersion.xml,
                    SubmissionVersion.xml_sha256,
                    SubmissionVersion.data,
                    SubmissionVersion.attachments_expected,
                    SubmissionVersion.source,
                    SubmissionVersion.source_ref,
                    SubmissionVersion.submitter,
                    SubmissionVersion.device_id,
                )
                .join(SubmissionVersion, SubmissionVersion.id == Submission.current_version_id)
                .order_by(Submission.instance_id)
            )
        )
    return [tuple(repr(v) for v in row) for row in subs]


@pytest.mark.parametrize("pieces", ["whole", "in pieces"])
def test_ingest_new__same_rows_as_ingest_one_by_one(
    engine: Engine,
    settings: Settings,
    reference_url: str,
    pieces: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if pieces == "in pieces":  # lookups one table at a time, inserts two rows a statement
        monkeypatch.setattr(bulk_module, "IN_LIMIT", 3)
        monkeypatch.setattr(bulk_module, "RETURNING_ROWS", 2)
    incomings = batch()
    store = FileStore(settings.data_dir / "attachments")
    load_forms(engine)
    one_by_one = make_engine(reference_url)
    upgrade(one_by_one)
    load_forms(one_by_one)
    forms = FormLookup()
    with write_connection(one_by_one) as conn:
        expected = [ingest(conn, store, incoming, forms) for incoming in incomings]
    with write_connection(engine) as conn:
        bulk = ingest_new(conn, incomings, FormLookup())
    assert all(isinstance(r, IngestResult) for r in bulk)
    assert [(r.status, r.instance_id, r.version_instance_id) for r in bulk if r] == [
        (r.status, r.instance_id, r.version_instance_id) for r in expected
    ]
    assert columns(engine) == columns(one_by_one)
    assert dump(engine) == dump(one_by_one)
    # spot-check against hand-worked values: the pre-edited record is keyed by its root
    root = incomings[3].root_instance_id
    with transaction(engine) as session:
        sub = session.scalar(select(Submission).where(Submission.instance_id == root))
        assert sub is not None
        version = session.get(SubmissionVersion, sub.current_version_id)
        assert version is not None
    assert (sub.commune_code, str(sub.activity_date), sub.review_state) == (
        "21025",
        "2026-11-20",
        "received",
    )
    assert version.deprecated_id == root
    assert version.data["reach/n_students"] == 55
    with one_by_one.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM submission_versions")).scalar() == 5
    one_by_one.dispose()


@pytest.mark.parametrize("pieces", ["whole", "in pieces"])
def test_ingest_new__leaves_to_ingest_what_is_not_plainly_new(
    engine: Engine, settings: Settings, pieces: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if pieces == "in pieces":
        monkeypatch.setattr(bulk_module, "IN_LIMIT", 3)
        monkeypatch.setattr(bulk_module, "RETURNING_ROWS", 2)
    load_forms(engine)
    store = FileStore(settings.data_dir / "attachments")
    known, edited_root = new_id(), new_id()
    with write_connection(engine) as conn:
        ingest(conn, store, Incoming(xml=outreach_xml(known), source="openrosa"))
        ingest(conn, store, Incoming(xml=outreach_xml(edited_root), source="openrosa"))
    twice = new_id()
    incomings = [
        pulled(outreach_xml(known), known, "1"),  # a version pcmd has
        pulled(outreach_xml(new_id(), deprecated_id=edited_root), edited_root, "2"),  # an edit
        pulled(outreach_xml(new_id(), photo="p.jpg"), new_id(), "3"),  # names a file
        pulled(b"<pcmd_outreach id='pcmd_outreach'><broken>", new_id(), "4"),  # bad XML
        pulled(outreach_xml(new_id(), version="1999"), new_id(), "5"),  # unknown version
        pulled(outreach_xml(twice), twice, "6"),
        pulled(outreach_xml(twice), twice, "7"),  # the same one again in the batch
        pulled(outreach_xml(new_id(), form_id="pcmd_khac"), new_id(), "8"),  # unknown form
    ]
    with write_connection(engine) as conn:
        results = ingest_new(conn, incomings, FormLookup())
    assert [r is not None for r in results] == [
        False,
        False,
        False,
        False,
        False,
        True,
        False,
        False,
    ]
    with transaction(engine) as session:
        roots = set(session.scalars(select(Submission.instance_id)))
    assert roots == {known, edited_root, twice}


FAST_FIELDS = {
    "n": {"type": "int", "control": "input"},
    "days": {"type": "decimal", "control": "input"},
    "on": {"type": "date", "control": "input"},
    "where": {"type": "geopoint", "control": "input"},
    "topics": {"type": "string", "control": "select"},
    "one": {"type": "string", "control": "select1"},
    "note": {"type": "string", "control": "input"},
}


def test_fast_typed__each_kind__typed_as_typed_values() -> None:
    values = {
        "n": "40",
        "days": "2.5",
        "on": "2026-11-20T08:00:00.000+07:00",
        "where": "15.12 108.8 12.0 5.0",
        "topics": "phap_luat  hiv_sti",
        "one": "a",
        "note": "",
        "meta/instanceID": "uuid:1",
        "formhub/uuid": "",
    }
    expected = {
        "n": 40,
        "days": 2.5,
        "on": "2026-11-20",
        "where": [15.12, 108.8, 12.0, 5.0],
        "topics": ["phap_luat", "hiv_sti"],
        "one": "a",
        "note": None,
        "meta/instanceID": "uuid:1",
        "formhub/uuid": None,
    }
    assert fast_typed(values, FAST_FIELDS) == expected
    assert typed_values(values, FAST_FIELDS) == expected
    # what does not parse is kept as sent, by both
    odd = {"n": "bốn", "days": "x", "on": "20/11/2026", "where": "15 north"}
    assert fast_typed(odd, FAST_FIELDS) == odd == typed_values(odd, FAST_FIELDS)


def test_fast_typed__number_out_of_bounds__refused_as_typed_values_refuses() -> None:
    for values in ({"n": str(2**63)}, {"days": "inf"}, {"where": "nan 1 0 0"}):
        with pytest.raises(IngestError) as fast:
            fast_typed(values, FAST_FIELDS)
        with pytest.raises(IngestError) as plain:
            typed_values(values, FAST_FIELDS)
        assert fast.value.message == plain.value.message
    assert fast_typed({"n": str(2**63 - 1)}, FAST_FIELDS) == {"n": 9223372036854775807}
