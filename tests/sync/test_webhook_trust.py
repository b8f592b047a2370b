"""A hostile KoboToolbox REST Service caller against a live pcmd: taking over another route's
submission, naming files on other servers, oversized, malformed and deeply nested bodies.
Each is refused with a 4xx, never a 5xx, and the database is as it was."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from pcmd.server.app import create_app
from pcmd.settings import Settings
from tests.live_server import serve_in_thread
from tests.server.collect import JPEG, new_id, outreach_xml
from tests.sync.fakes.kobo import outreach_answers
from tests.sync.fixtures import HOOK_SECRET, KoboEnv, dump, submissions


@pytest.fixture
def pcmd_url(settings: Settings, kobo: KoboEnv) -> Iterator[str]:
    with serve_in_thread(create_app(settings)) as url:
        yield url


class Elsewhere:
    """Another server: it notes every request and the credentials it carried."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    async def anything(self, request: Request) -> Response:
        self.seen.append((request.url.path, request.headers.get("authorization", "")))
        return Response(JPEG, media_type="image/jpeg")

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self.anything)])


@pytest.fixture
def elsewhere() -> Iterator[tuple[Elsewhere, str]]:
    other = Elsewhere()
    with serve_in_thread(other.app(), allow_5xx=True) as url:
        yield other, url


def post(url: str, body: bytes | Any, **headers: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(
        f"{url}/hooks/kobo/kobo-qn",
        content=content,
        headers={"X-Pcmd-Secret": HOOK_SECRET, "Content-Type": "application/json", **headers},
        timeout=30,
    )


def test_webhook__root_of_openrosa_submission__409_logged_nothing_changes(
    engine: Engine,
    store: FileStore,
    kobo: KoboEnv,
    pcmd_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    phone = new_id()  # a submission ODK Collect sent straight to pcmd
    ingest_with_retry(engine, store, Incoming(xml=outreach_xml(phone), source="openrosa"))
    before = dump(engine)
    # A Kobo record that says its root is that submission, with other answers.
    record = kobo.fake.add(outreach_answers(new_id(), students=1))
    record["meta/rootUuid"] = phone
    with caplog.at_level(logging.WARNING, logger="pcmd.server.webhooks"):
        refused = post(pcmd_url, kobo.fake.payload(record["_id"], kobo.url))
    assert refused.status_code == 409
    assert "another route" in refused.json()["message"]
    assert any("refused" in r.getMessage() for r in caplog.records)
    assert dump(engine) == before
    assert submissions(engine)[phone]["data"]["reach/n_students"] == 40


def test_webhook__attachment_on_another_server__token_never_sent_record_incomplete(
    engine: Engine,
    kobo: KoboEnv,
    pcmd_url: str,
    elsewhere: tuple[Elsewhere, str],
) -> None:
    other, other_url = elsewhere
    root = new_id()
    kobo.fake.add(outreach_answers(root, photo="1700000000000.jpg"), photo=JPEG)
    payload = kobo.fake.payload(101, kobo.url)
    for key in ("download_url", "download_large_url", "download_medium_url"):
        payload["_attachments"][0][key] = f"{other_url}/steal/photo.jpg"
    created = post(pcmd_url, payload)
    assert created.status_code == 201
    time.sleep(1.0)  # files are fetched after the answer: give it the time it would take
    assert other.seen == []
    assert submissions(engine)[root]["files"] == []
    assert dump(engine)["source_records"][0][6] is False  # incomplete: the pull tries again


def test_webhook__attachment_redirects_off_host__not_followed(
    engine: Engine,
    kobo: KoboEnv,
    pcmd_url: str,
    elsewhere: tuple[Elsewhere, str],
) -> None:
    other, other_url = elsewhere
    root = new_id()
    kobo.fake.add(outreach_answers(root, photo="1700000000000.jpg"), photo=JPEG)
    kobo.fake.attachment_redirect = f"{other_url}/steal/photo.jpg"
    assert post(pcmd_url, kobo.fake.payload(101, kobo.url)).status_code == 201
    deadline = time.monotonic() + 10
    while kobo.fake.attachment_requests == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert kobo.fake.attachment_requests >= 1  # pcmd asked its own server, and got a 302
    time.sleep(0.5)  # time to follow it, were it to
    assert other.seen == []
    assert submissions(engine)[root]["files"] == []


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("id_text", 400),
        ("id_negative", 400),
        ("id_huge", 400),
        ("id_list", 400),
        ("id_bool", 400),
        ("nested_json", 400),
        ("oversized", 413),
        ("oversized_no_length", 413),
    ],
)
def test_webhook__malformed_body__4xx_nothing_stored(
    engine: Engine, kobo: KoboEnv, pcmd_url: str, case: str, status: int
) -> None:
    kobo.fake.add(outreach_answers(new_id()))
    payload = kobo.fake.payload(101, kobo.url)
    body: bytes | dict[str, Any] = payload
    headers: dict[str, str] = {}
    if case == "id_text":
        payload["_id"] = "101; DROP TABLE submissions"
    elif case == "id_negative":
        payload["_id"] = -5
    elif case == "id_huge":
        payload["_id"] = 10**30
    elif case == "id_list":
        payload["_id"] = [101]
    elif case == "id_bool":
        payload["_id"] = True
    elif case == "nested_json":
        body = b'{"_id": 101, "x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    elif case == "oversized":
        body = b'{"_id": 101, "x": "' + b"a" * 6_000_000 + b'"}'
    else:  # the same, streamed without a Content-Length

        def chunks() -> Iterator[bytes]:
            yield b'{"_id": 101, "x": "'
            for _ in range(700):
                yield b"a" * 10_000
            yield b'"}'

        response = httpx.post(
            f"{pcmd_url}/hooks/kobo/kobo-qn",
            content=chunks(),
            headers={"X-Pcmd-Secret": HOOK_SECRET},
            timeout=30,
        )
        assert response.status_code == status
        assert submissions(engine) == {}
        return
    response = post(pcmd_url, body, **headers)
    assert response.status_code == status, response.text
    assert response.json()["message"]
    assert submissions(engine) == {}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("_attachments", "not a list"),
        ("_attachments", [{"download_url": 5, "filename": None}]),
        ("_submission_time", 12),
        ("where/commune", {"nested": ["x"]}),
        ("meta/instanceID", None),
        ("_validation_status", "approved"),
    ],
)
def test_webhook__fields_of_the_wrong_shape__kept_or_refused_never_5xx(
    engine: Engine, kobo: KoboEnv, pcmd_url: str, field: str, value: object
) -> None:
    """Kobo's own fields of an odd shape are read leniently (what cannot be read is left out,
    and validation reports what the indicators need); nothing makes the receiver fail. The
    live server fails this test on any 5xx."""
    record = kobo.fake.add(outreach_answers(new_id()))
    payload = kobo.fake.payload(record["_id"], kobo.url)
    payload[field] = value
    response = post(pcmd_url, payload)
    assert response.status_code in (201, 400, 422), response.text
    assert len(submissions(engine)) == (1 if response.status_code == 201 else 0)


def test_webhook__number_beyond_64_bits__422_nothing_stored(
    engine: Engine, kobo: KoboEnv, pcmd_url: str
) -> None:
    record = kobo.fake.add(outreach_answers(new_id()))
    payload = kobo.fake.payload(record["_id"], kobo.url)
    payload["reach/n_students"] = str(2**64)
    response = post(pcmd_url, payload)
    assert response.status_code == 422
    assert "64 bits" in response.json()["message"]
    assert submissions(engine) == {}
