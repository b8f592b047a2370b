"""Kobo REST Service receiver on a live pcmd: secret header, idempotence with the pull."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine

from pcmd.ingest.files import FileStore
from pcmd.server.app import create_app
from pcmd.settings import Settings
from pcmd.sync.http import HttpPolicy
from tests.live_server import expect_5xx, serve_in_thread
from tests.server.collect import JPEG, new_id
from tests.sync.fakes.kobo import outreach_answers
from tests.sync.fixtures import HOOK_SECRET, KoboEnv, counts, dump, run, submissions


@pytest.fixture
def pcmd_url(settings: Settings, kobo: KoboEnv) -> Iterator[str]:
    with serve_in_thread(create_app(settings)) as url:
        yield url


def post(url: str, payload: object, secret: str | None = HOOK_SECRET) -> httpx.Response:
    headers = {"X-Pcmd-Secret": secret} if secret is not None else {}
    headers["User-Agent"] = "KoboToolbox external service kf.kobotoolbox.org #hZ3kx"
    return httpx.post(f"{url}/hooks/kobo/kobo-qn", json=payload, headers=headers, timeout=10)


def wait_for_files(engine: Engine, root: str, seconds: float = 10.0) -> list[str]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        files = submissions(engine)[root]["files"]
        if files:
            return list(files)
        time.sleep(0.05)
    return []


def test_webhook__then_pull__one_submission_with_its_photo(
    engine: Engine,
    store: FileStore,
    settings: Settings,
    kobo: KoboEnv,
    policy: HttpPolicy,
    pcmd_url: str,
) -> None:
    root = new_id()
    kobo.fake.add(outreach_answers(root, photo="1700000000000.jpg"), photo=JPEG)
    payload = kobo.fake.payload(101, kobo.url)
    first = post(pcmd_url, payload)
    assert (first.status_code, first.json()) == (201, {"status": "created"})
    # the photo is fetched after the answer
    assert wait_for_files(engine, root) == ["1700000000000.jpg"]
    again = post(pcmd_url, payload)  # Kobo retries after a time-out
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    report = run(engine, store, kobo.source, settings, policy)
    assert counts(report) == (0, 0, 0, 1, 0)
    subs = submissions(engine)
    assert list(subs) == [root]
    assert (subs[root]["source"], subs[root]["versions"]) == ("kobo", [root])
    assert dump(engine)["source_records"] == [
        ("kobo-qn", "101", 101, root, root, None, True, False)
    ]


def test_webhook__after_pull__duplicate(
    engine: Engine,
    store: FileStore,
    settings: Settings,
    kobo: KoboEnv,
    policy: HttpPolicy,
    pcmd_url: str,
) -> None:
    root = new_id()
    kobo.fake.add(outreach_answers(root))
    assert counts(run(engine, store, kobo.source, settings, policy)) == (1, 0, 0, 0, 0)
    before = dump(engine)
    response = post(pcmd_url, kobo.fake.payload(101, kobo.url))
    assert (response.status_code, response.json()) == (200, {"status": "duplicate"})
    assert dump(engine) == before


def test_webhook__bad_requests__refused_and_nothing_stored(
    engine: Engine,
    kobo: KoboEnv,
    pcmd_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kobo.fake.add(outreach_answers(new_id()))
    payload = kobo.fake.payload(101, kobo.url)
    assert post(pcmd_url, payload, secret="hook-secret-7d1f0a2b9X").status_code == 403
    refused = post(pcmd_url, payload, secret=None)
    assert refused.status_code == 403
    assert "X-Pcmd-Secret" in refused.json()["message"]
    unknown = httpx.post(
        f"{pcmd_url}/hooks/kobo/khong-co", json=payload, headers={"X-Pcmd-Secret": HOOK_SECRET}
    )
    assert unknown.status_code == 404
    not_json = httpx.post(
        f"{pcmd_url}/hooks/kobo/kobo-qn",
        content=b"{not json",
        headers={"X-Pcmd-Secret": HOOK_SECRET},
    )
    assert not_json.status_code == 400
    assert post(pcmd_url, {"hello": "world"}).status_code == 400
    monkeypatch.delenv("KOBO_QN_HOOK_SECRET")
    expect_5xx(503)
    unset = post(pcmd_url, payload)
    assert unset.status_code == 503  # Kobo retries 503: nothing lost once it is set
    assert "KOBO_QN_HOOK_SECRET" in unset.json()["message"]
    assert submissions(engine) == {}
