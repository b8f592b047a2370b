"""The submission lane (server/openrosa/lane.py) answers exactly what the middleware stack below
it answers — status, every header, body — for the requests it takes, and leaves every other
request to that stack."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.types import ASGIApp, Message

from pcmd.server.app import create_app
from pcmd.server.openrosa.lane import SubmissionLane
from pcmd.settings import Settings
from tests.server.collect import new_id, outreach_xml, prepare

BOUNDARY = "lanetestboundary"

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


def body_of(xml: bytes) -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="xml_submission_file"; '
            'filename="instance.xml"\r\nContent-Type: text/xml\r\n\r\n'
        ).encode()
        + xml
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def call(app: ASGIApp, method: str, path: str, query: bytes = b"", body: bytes = b"") -> Answer:
    """One request straight into an ASGI app, as uvicorn would make it; (status, headers, body)."""
    headers = [(b"host", b"testserver"), (b"x-openrosa-version", b"1.0")]
    if method == "POST":
        headers += [
            (b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode()),
            (b"content-length", str(len(body)).encode()),
        ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent: list[Message] = []
    given = False

    async def receive() -> Message:
        nonlocal given
        if given:
            await asyncio.sleep(3600)  # the client stays connected
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    async def run() -> None:
        await app(scope, receive, send)

    asyncio.run(run())
    start = sent[0]
    return start["status"], list(start["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


@pytest.fixture
def apps(settings: Settings, engine: Engine) -> Iterator[tuple[SubmissionLane, ASGIApp, str]]:
    """The lane as the app builds it, the stack below it, and a valid submission path."""
    token, _scoped, _revoked = prepare(settings, engine)
    app: Starlette = create_app(settings)
    lane = app.build_middleware_stack().app  # type: ignore[attr-defined]
    assert isinstance(lane, SubmissionLane)
    yield lane, lane.app, f"/v1/key/{token}/projects/1/submission"
    app.state.ingest.close()  # what the lifespan would do at the end
    app.state.engine.dispose()


def test_lane__head_and_posts__same_answer_as_the_stack(
    apps: tuple[SubmissionLane, ASGIApp, str],
) -> None:
    lane, below, path = apps
    bad = path.replace("/key/", "/key/x")
    query = b"deviceID=collect:AbCdEfGh12345678"
    for method, where, body in [
        ("HEAD", path, b""),
        ("GET", path, b""),
        ("HEAD", bad, b""),  # an unknown token
        ("POST", path, b"new"),
        ("POST", path, body_of(b"<not-xml")),
        ("POST", bad, body_of(outreach_xml(new_id()))),
        ("POST", path.replace("/projects/1/", "/projects/2/"), b"new"),  # not its project
    ]:
        if body == b"new":  # each a new submission: both stored, both answered 201 alike
            mine = call(lane, method, where, query, body_of(outreach_xml(new_id())))
            theirs = call(below, method, where, query, body_of(outreach_xml(new_id())))
        else:
            mine = call(lane, method, where, query, body)
            theirs = call(below, method, where, query, body)
        assert mine == theirs, (method, where)
        assert (b"x-frame-options", b"DENY") in mine[1]
    statuses = [call(lane, "HEAD", path)[0], call(lane, "HEAD", bad)[0]]
    assert statuses == [204, 401]


def test_lane__busy_database__503_as_the_stack(
    apps: tuple[SubmissionLane, ASGIApp, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lane, below, path = apps
    submissions: Any = lane.handlers["POST"].__self__  # type: ignore[attr-defined]

    def busy(_incoming: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_exception(OperationalError("BEGIN", {}, Exception("database is locked")))
        return future

    monkeypatch.setattr(submissions.writers, "submit", busy)
    body = body_of(outreach_xml(new_id()))
    mine, theirs = call(lane, "POST", path, body=body), call(below, "POST", path, body=body)
    assert mine == theirs
    assert mine[0] == 503
    assert (b"retry-after", b"30") in mine[1]


def test_lane__other_requests__left_to_the_stack(
    apps: tuple[SubmissionLane, ASGIApp, str],
) -> None:
    lane, below, path = apps
    # a NUL in the query (hygiene.py's 400), another method, another path: the stack answers
    for method, where, query in [
        ("HEAD", path, b"deviceID=%00"),
        ("PUT", path, b""),
        ("GET", path.replace("/submission", "/formList"), b""),
    ]:
        mine, theirs = call(lane, method, where, query), call(below, method, where, query)
        assert mine == theirs, (method, where, query)
    assert call(lane, "HEAD", path, b"deviceID=%00")[0] == 400
    assert call(lane, "PUT", path)[0] == 405
