"""Submissions export: one row per current submission, Central-like columns."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import Engine, update

from pcmd.db.engine import transaction, write_connection
from pcmd.db.models import Submission
from pcmd.errors import ReportError
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest
from pcmd.reports.submissions import submissions_table, write_csv, write_json
from pcmd.settings import Settings
from tests.server.collect import load_forms, new_id, outreach_xml


def _send(engine: Engine, store: FileStore, xml: bytes) -> None:
    with write_connection(engine) as conn:
        ingest(conn, store, Incoming(xml=xml, source="openrosa"))


def test_export__current_versions_only_deleted_excluded(settings: Settings, engine: Engine) -> None:
    load_forms(engine)
    store = FileStore(settings.data_dir / "attachments")
    first, edit, gone = new_id(), new_id(), new_id()
    _send(engine, store, outreach_xml(first, students=40))
    _send(engine, store, outreach_xml(edit, students=45, deprecated_id=first))
    _send(engine, store, outreach_xml(gone))
    with transaction(engine) as s:
        s.execute(update(Submission).where(Submission.instance_id == gone).values(deleted=True))

    with transaction(engine) as s:
        out = io.StringIO()
        assert write_csv(submissions_table(s, "pcmd_outreach"), out) == 1
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    header = out.getvalue().splitlines()[0].split(",")
    assert header[:7] == [
        "instance_id",
        "current_instance_id",
        "form_id",
        "version",
        "source",
        "review_state",
        "submitted_at",
    ]
    assert "reach/n_students" in header
    assert "meta/instanceID" not in header
    (row,) = rows
    assert row["instance_id"] == first
    assert row["current_instance_id"] == edit
    assert row["review_state"] == "edited"
    assert row["reach/n_students"] == "45"
    assert row["topics"] == "phap_luat hiv_sti"
    assert row["where/commune"] == "21025"
    assert row["media_items"] == ""

    with transaction(engine) as s:
        buf = io.StringIO()
        write_json(submissions_table(s, "pcmd_outreach"), buf)
    (obj,) = json.loads(buf.getvalue())
    assert obj["reach/n_students"] == 45
    assert obj["topics"] == "phap_luat hiv_sti"
    assert obj["media_items"] is None


def test_export__unknown_form__lists_known(engine: Engine) -> None:
    load_forms(engine)
    known = "Known forms: pcmd_case, pcmd_case_update, pcmd_inspection, pcmd_monthly"
    with pytest.raises(ReportError, match=known), transaction(engine) as s:
        submissions_table(s, "pcmd_khac")


def test_export_csv__formula_in_a_note__quote_prefixed_numbers_kept(
    settings: Settings, engine: Engine
) -> None:
    load_forms(engine)
    store = FileStore(settings.data_dir / "attachments")
    note = "=cmd|' /C calc'!A0"
    xml = outreach_xml(new_id(), students=9).replace(b"<notes/>", f"<notes>{note}</notes>".encode())
    _send(engine, store, xml)
    with transaction(engine) as s:
        out = io.StringIO()
        assert write_csv(submissions_table(s, "pcmd_outreach"), out) == 1
    (row,) = csv.DictReader(io.StringIO(out.getvalue()))
    assert row["notes"] == "'" + note
    assert row["reach/n_students"] == "9"
    assert row["where/commune"] == "21025"
