"""The province pages over real HTTP: a running server with one Quảng Ngãi submission (with a
photo) and web users of several roles and provinces, and signing in as one of them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import Engine, select

from pcmd.db.engine import transaction
from pcmd.db.models import Attachment
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming, IncomingFile
from pcmd.ingest.submit import ingest_with_retry
from pcmd.pipeline.run import run_pipeline
from pcmd.server.accounts import create_user
from pcmd.settings import Settings
from tests.server.collect import JPEG, Server, new_id, outreach_xml, running_server

PASSWORD = "mật-khẩu-đủ-dài-2026"


@dataclass
class Site:
    server: Server
    sub_id: int  # a Quảng Ngãi (51) submission with a photo
    attachment_id: int


@pytest.fixture
def site(settings: Settings, engine: Engine) -> Iterator[Site]:
    with running_server(settings, engine) as server:
        store = FileStore(settings.data_dir / "attachments")
        sha, _ = store.put_bytes(JPEG)
        result = ingest_with_retry(
            engine,
            store,
            Incoming(
                xml=outreach_xml(new_id(), students=37, photo="p.jpg"),
                source="openrosa",
                files=(IncomingFile("p.jpg", "image/jpeg", sha, len(JPEG)),),
            ),
        )
        with transaction(engine) as s:
            create_user(s, "admin", PASSWORD, "admin", ["VN"])
            create_user(s, "hoa.qng", PASSWORD, "province_reviewer", ["51"])
            create_user(s, "minh.dng", PASSWORD, "province_reviewer", ["48"])
            create_user(s, "xem.qng", PASSWORD, "viewer", ["51"])
            attachment = s.scalar(select(Attachment.id))
        assert attachment is not None
        run_pipeline(engine, full=True)
        yield Site(server, result.submission_id, attachment)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "page has no CSRF token"
    return found.group(1)


@contextmanager
def signed_in(site: Site, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site.server.url, follow_redirects=True, timeout=30) as client:
        page = client.get("/login")
        response = client.post(
            "/login",
            data={
                "csrf": csrf_of(page.text),
                "username": username,
                "password": PASSWORD,
                "next": "/submissions",
            },
        )
        assert response.status_code == 200, response.text
        assert response.url.path == "/submissions"
        yield client
