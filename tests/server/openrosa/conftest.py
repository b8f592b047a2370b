"""ODK Collect against a real pcmd server: the server, a client speaking as Collect does
(reference odk-openrosa-central.md §1), and what is stored."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from defusedxml import ElementTree as SafeET
from sqlalchemy import Engine, func, select

from pcmd.db.engine import transaction
from pcmd.db.models import Attachment, Submission, SubmissionVersion
from pcmd.settings import Settings
from tests.server.collect import Server, running_server


@pytest.fixture
def server(settings: Settings, engine: Engine) -> Iterator[Server]:
    with running_server(settings, engine) as srv:
        yield srv


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    headers = {"X-OpenRosa-Version": "1.0", "User-Agent": "org.odk.collect.android/v2026.2.1"}
    with httpx.Client(headers=headers, timeout=30) as c:
        yield c


def counts(engine: Engine) -> tuple[int, int, int]:
    with transaction(engine) as s:
        return (
            s.scalar(select(func.count()).select_from(Submission)) or 0,
            s.scalar(select(func.count()).select_from(SubmissionVersion)) or 0,
            s.scalar(select(func.count()).select_from(Attachment)) or 0,
        )


def message(response: httpx.Response) -> str:
    root = SafeET.fromstring(response.content)
    assert root.tag == "{http://openrosa.org/http/response}OpenRosaResponse"
    return root.findtext("{http://openrosa.org/http/response}message") or ""
