"""Submissions to a real pcmd server: every bad input answered with a status and a message
Collect shows, nothing stored; the size limit; one log line per submission."""

from __future__ import annotations

import logging
from dataclasses import replace

import httpx
import pytest
from sqlalchemy import Engine

from pcmd.settings import Settings
from tests.server.collect import (
    JPEG,
    Server,
    attachments_dir,
    new_id,
    outreach_xml,
    post,
    running_server,
)
from tests.server.openrosa.conftest import counts, message

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<pcmd_outreach id="pcmd_outreach" version="2026112301"><notes>&lol3;</notes></pcmd_outreach>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<pcmd_outreach id="pcmd_outreach" version="2026112301"><notes>&xxe;</notes></pcmd_outreach>"""


@pytest.mark.parametrize(
    ("case", "status", "needle"),
    [
        ("malformed", 400, "malformed"),
        ("billion_laughs", 400, "DTD or entities"),
        ("external_entity", 400, "DTD or entities"),
        ("traversal", 400, "invalid attachment file name"),
        ("no_xml_part", 400, "xml_submission_file"),
        ("unknown_form", 404, "no form 'pcmd_khac'"),
        ("unknown_version", 404, "unknown version '1999010101'"),
        ("edit_of_unknown", 404, "does not have"),
        ("malformed_token", 401, None),
        ("unknown_token", 403, None),
        ("revoked_token", 403, None),
    ],
)
def test_submission__bad_input__status_message_database_unchanged(
    server: Server, client: httpx.Client, case: str, status: int, needle: str | None
) -> None:
    good = outreach_xml(new_id(), photo="x.jpg")
    url = f"{server.key_url()}/submission"
    if case == "malformed":
        response = post(client, server, b"<pcmd_outreach id='pcmd_outreach'><unclosed>")
    elif case == "billion_laughs":
        response = post(client, server, BILLION_LAUGHS)
    elif case == "external_entity":
        response = post(client, server, XXE)
    elif case == "traversal":
        response = post(client, server, good, files={"../../etc/x.jpg": JPEG})
    elif case == "no_xml_part":
        response = client.post(url, files={"x.jpg": ("x.jpg", JPEG, "image/jpeg")})
    elif case == "unknown_form":
        response = post(client, server, outreach_xml(new_id(), form_id="pcmd_khac"))
    elif case == "unknown_version":
        response = post(client, server, outreach_xml(new_id(), version="1999010101"))
    elif case == "edit_of_unknown":
        response = post(client, server, outreach_xml(new_id(), deprecated_id=new_id()))
    elif case == "malformed_token":
        response = post(client, server, good, token="short!")
    elif case == "unknown_token":
        response = post(client, server, good, token="A" * 43)
    else:
        response = post(client, server, good, token=server.revoked_token)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    text = message(response)
    assert text  # Collect shows it to the officer
    if needle:
        assert needle in text
    assert counts(server.engine) == (0, 0, 0)
    leftovers = list((attachments_dir(server.settings) / "tmp").glob("*"))
    assert leftovers == []


def test_submission__oversized_body__413(settings: Settings, engine: Engine) -> None:
    small = replace(settings, max_submission_bytes=50_000)
    with running_server(small, engine) as server, httpx.Client() as client:
        head = client.head(f"{server.key_url()}/submission")
        assert head.headers["x-openrosa-accept-content-length"] == "50000"
        xml = outreach_xml(new_id(), photo="big.jpg")
        response = post(client, server, xml, files={"big.jpg": b"\xff" * 60_000})
        assert response.status_code == 413
        assert "50,000" in message(response)
        assert counts(engine) == (0, 0, 0)


def test_submission__one_log_line_without_token(
    server: Server, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pcmd.submissions")
    iid = new_id()
    assert post(client, server, outreach_xml(iid)).status_code == 201
    assert post(client, server, outreach_xml(iid, students=1)).status_code == 409
    lines = [r.getMessage() for r in caplog.records if r.name == "pcmd.submissions"]
    assert len(lines) == 2
    assert lines[0].startswith(
        f"submission who=xa-cam-thanh-all form=pcmd_outreach instance={iid} result=created ms="
    )
    assert "result=409" in lines[1]
    assert all(server.token not in line for line in caplog.text.splitlines())
