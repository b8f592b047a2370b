"""A phone resends, over OpenRosa, a version pcmd already holds from a pull (Central, Kobo):
identity comes first, so an identical version is "already received" (201) whatever its
deprecatedID says, as Central answers."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine

from pcmd.ingest.files import FileStore
from pcmd.settings import Settings
from pcmd.sync.http import HttpPolicy
from tests.server.collect import JPEG, Server, new_id, outreach_xml, post, running_server
from tests.sync.fakes.central import outreach_row
from tests.sync.fakes.kobo import outreach_answers
from tests.sync.fixtures import CentralEnv, KoboEnv, counts, run, submissions, version_files

PHOTO = "1700000000001.jpg"


@pytest.fixture
def server(settings: Settings, engine: Engine) -> Iterator[Server]:
    with running_server(settings, engine) as srv:
        yield srv


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    headers = {"X-OpenRosa-Version": "1.0", "User-Agent": "org.odk.collect.android/v2026.2.1"}
    with httpx.Client(headers=headers, timeout=30) as c:
        yield c


@pytest.mark.parametrize("seen_first", [True, False], ids=["both-versions", "edit-only"])
def test_resend_after_pull__central_edit_resent__201_nothing_added(
    engine: Engine,
    store: FileStore,
    settings: Settings,
    central: CentralEnv,
    policy: HttpPolicy,
    server: Server,
    client: httpx.Client,
    seen_first: bool,
) -> None:
    root, v2 = new_id(), new_id()
    central.fake.add(outreach_row(root, photo=PHOTO), photo=JPEG)
    if seen_first:
        assert counts(run(engine, store, central.source, settings, policy))[0] == 1
    central.fake.edit(root, {"reach": {"n_students": 41, "n_total": "46"}}, instance_id=v2)
    run(engine, store, central.source, settings, policy)
    held = submissions(engine)[root]
    # pulled as v1 then v2, or only as v2 with v1 read from Central's versions (stored after)
    assert held["versions"] == ([root, v2] if seen_first else [v2, root])
    edit = outreach_xml(v2, students=41, photo=PHOTO, deprecated_id=root)
    answer = post(client, server, edit, files={PHOTO: JPEG})
    assert answer.status_code == 201, answer.text
    if seen_first:  # the original, resent too
        answer = post(client, server, outreach_xml(root, photo=PHOTO), files={PHOTO: JPEG})
        assert answer.status_code == 201, answer.text
    after = submissions(engine)
    assert list(after) == [root]
    assert (after[root]["versions"], after[root]["source"]) == (held["versions"], "central")
    sha = hashlib.sha256(JPEG).hexdigest()
    assert version_files(engine)[v2] == {PHOTO: sha}


def test_resend_after_pull__kobo_edit_resent__201_nothing_added(
    engine: Engine,
    store: FileStore,
    settings: Settings,
    kobo: KoboEnv,
    policy: HttpPolicy,
    server: Server,
    client: httpx.Client,
) -> None:
    root, v2 = new_id(), new_id()
    kobo.fake.add(outreach_answers(root, photo=PHOTO), photo=JPEG)
    run(engine, store, kobo.source, settings, policy)
    kobo.fake.edit(101, {"reach/n_students": "41", "reach/n_total": "46"}, instance_id=v2)
    run(engine, store, kobo.source, settings, policy)
    assert submissions(engine)[root]["versions"] == [root, v2]
    edit = outreach_xml(v2, students=41, photo=PHOTO, deprecated_id=root)
    answer = post(client, server, edit, files={PHOTO: JPEG})
    assert answer.status_code == 201, answer.text
    after = submissions(engine)
    assert (list(after), after[root]["versions"]) == ([root], [root, v2])
