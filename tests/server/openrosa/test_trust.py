"""Hostile phones against a running server: edits and resends of another commune's record, and
numbers no form can produce. Each attack is refused and the database is as it was."""

from __future__ import annotations

import time
from typing import Any

import httpx
from sqlalchemy import select, text

from pcmd.db.engine import transaction
from pcmd.db.models import Submission, SubmissionVersion, ValidationIssue
from pcmd.pipeline.run import run_pipeline
from pcmd.pipeline.validate.store import override_issue
from tests.cli.test_main import pcmd
from tests.server.collect import COMMUNE, JPEG, OTHER_COMMUNE, Server, new_id, outreach_xml, post
from tests.server.openrosa.conftest import counts, message


def _state(server: Server) -> list[tuple[Any, ...]]:
    """Every submission's commune, current version and state, and every version's answers."""
    with transaction(server.engine) as s:
        subs = s.execute(
            select(
                Submission.instance_id,
                Submission.commune_code,
                Submission.current_version_id,
                Submission.review_state,
            ).order_by(Submission.id)
        ).all()
        versions = s.execute(
            select(SubmissionVersion.instance_id, SubmissionVersion.data).order_by(
                SubmissionVersion.id
            )
        ).all()
    return [tuple(r) for r in [*subs, *versions]]


def test_edit__of_other_commune_record__403_names_commune_nothing_changes(
    server: Server, client: httpx.Client
) -> None:
    theirs = new_id()
    assert post(client, server, outreach_xml(theirs, commune=OTHER_COMMUNE)).status_code == 201
    before = _state(server)
    # The phone of Cẩm Thành (21025) sends an "edit" of a Nghĩa Lộ (21028) record: once keeping
    # the commune, once moving the record into its own commune.
    for commune in (OTHER_COMMUNE, COMMUNE):
        edit = outreach_xml(new_id(), commune=commune, students=1, deprecated_id=theirs)
        refused = post(client, server, edit, token=server.scoped_token)
        assert refused.status_code == 403
        assert "21028 (Phường Nghĩa Lộ)" in message(refused)
    assert _state(server) == before
    assert counts(server.engine) == (1, 1, 0)


def test_resend__of_other_commune_record_with_files__403_no_file_added(
    server: Server, client: httpx.Client
) -> None:
    theirs = new_id()
    xml = outreach_xml(theirs, commune=OTHER_COMMUNE, photo="p.jpg")
    assert post(client, server, xml).status_code == 201  # the photo is still to come
    refused = post(client, server, xml, files={"p.jpg": JPEG}, token=server.scoped_token)
    assert refused.status_code == 403
    assert counts(server.engine) == (1, 1, 0)


def test_edit__own_commune_record__201_and_resent_edit__201_one_current_version(
    server: Server, client: httpx.Client
) -> None:
    mine = new_id()
    assert post(client, server, outreach_xml(mine), token=server.scoped_token).status_code == 201
    edit = outreach_xml(new_id(), students=12, deprecated_id=mine)
    assert post(client, server, edit, token=server.scoped_token).status_code == 201
    # Collect lost the reply and sends the same edit again, byte for byte.
    again = post(client, server, edit, token=server.scoped_token)
    assert again.status_code == 201, again.text
    assert counts(server.engine) == (1, 2, 0)
    with transaction(server.engine) as s:
        sub = s.scalars(select(Submission)).one()
        current = s.get(SubmissionVersion, sub.current_version_id)
        assert current is not None
        assert current.data["reach/n_students"] == 12


def test_submission__integer_beyond_64_bits__400_nothing_stored(
    server: Server, client: httpx.Client
) -> None:
    for students in (2**63, -(2**63) - 1):
        refused = post(client, server, outreach_xml(new_id(), students=students))
        assert refused.status_code == 400
        assert "reach/n_students" in message(refused)
        assert "64 bits" in message(refused)
    assert counts(server.engine) == (0, 0, 0)


def test_pipeline__huge_count__error_on_record_other_records_count(
    server: Server, client: httpx.Client
) -> None:
    """2^62 fits in 64 bits, so it is stored; two of them would overflow any sum. The pipeline
    marks the record and goes on, and the ordinary record next to it counts."""
    huge = [new_id(), new_id()]
    for iid in huge:
        assert post(client, server, outreach_xml(iid, students=2**62)).status_code == 201
    assert post(client, server, outreach_xml(new_id(), students=40)).status_code == 201
    summary = run_pipeline(server.engine, full=True)
    assert summary.facts_written == 1  # only the ordinary record counts
    with transaction(server.engine) as s:
        rules = {
            (r.rule, r.field_path)
            for r in s.execute(select(ValidationIssue.rule, ValidationIssue.field_path))
        }
    assert ("PIPE_001", "reach/n_students") in rules
    assert ("RANGE_004", "reach/n_students") in rules

    # A reviewer accepts every error of both: they count, with the unusable number left empty,
    # and the incremental run that follows still finishes.
    with transaction(server.engine, write=True) as s:
        for issue_id in s.scalars(select(ValidationIssue.id)):
            override_issue(s.connection(), issue_id, "user:test")
    summary = run_pipeline(server.engine)
    assert summary.facts_written == 2
    with transaction(server.engine) as s:
        students = s.execute(text("SELECT reach_n_students FROM fact_outreach ORDER BY 1")).all()
    assert sorted((r[0] for r in students), key=repr) == [40, None, None]


def test_submission__xml_nested_fifty_thousand_deep__400_nothing_stored(
    server: Server, client: httpx.Client
) -> None:
    depth = 50_000
    xml = (
        b'<pcmd_outreach id="pcmd_outreach" version="2026112301">'
        + b"<g>" * depth
        + b"1"
        + b"</g>" * depth
        + b"</pcmd_outreach>"
    )
    refused = post(client, server, xml)
    assert refused.status_code == 400
    assert "64" in message(refused)
    assert counts(server.engine) == (0, 0, 0)


def test_submission__app_user_revoked_by_another_process__refused_within_a_second(
    server: Server, client: httpx.Client
) -> None:
    assert post(client, server, outreach_xml(new_id())).status_code == 201  # token now cached
    env = {
        "PCMD_DATABASE_URL": server.settings.database_url,
        "PCMD_DATA_DIR": str(server.settings.data_dir),
    }
    revoked = pcmd("appuser", "revoke", "xa-cam-thanh-all", env=env)
    assert revoked.returncode == 0, revoked.stderr
    time.sleep(1.0)
    refused = post(client, server, outreach_xml(new_id()))
    assert refused.status_code == 403
    assert client.head(f"{server.key_url()}/submission").status_code == 403
    assert counts(server.engine) == (1, 1, 0)
