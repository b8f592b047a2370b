"""Many phones at once: nothing lost, nothing doubled, no 500 from a busy SQLite."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import Engine, func, select

from pcmd.db.engine import transaction
from pcmd.db.models import Submission, SubmissionVersion
from pcmd.settings import Settings
from tests.server.collect import Server, new_id, outreach_xml, post, running_server

CLIENTS = 8
PER_CLIENT = 200


def _phone(server: Server, ids: list[str]) -> list[int]:
    statuses = []
    with httpx.Client(timeout=60) as client:
        for i, iid in enumerate(ids):
            statuses.append(post(client, server, outreach_xml(iid, students=i)).status_code)
            if i % 50 == 0:  # a retry after a lost response: must not double
                statuses.append(post(client, server, outreach_xml(iid, students=i)).status_code)
    return statuses


def test_submissions__8_clients_x_200__exactly_1600(settings: Settings, engine: Engine) -> None:
    batches = [[new_id() for _ in range(PER_CLIENT)] for _ in range(CLIENTS)]
    with running_server(settings, engine) as server, ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(lambda ids: _phone(server, ids), batches))
    statuses = [s for r in results for s in r]
    assert set(statuses) == {201}
    assert len(statuses) == CLIENTS * (PER_CLIENT + 4)
    with transaction(engine) as s:
        stored = set(s.scalars(select(Submission.instance_id)))
        versions = s.scalar(select(func.count()).select_from(SubmissionVersion))
    assert stored == {iid for ids in batches for iid in ids}
    assert len(stored) == 1600
    assert versions == 1600


def test_submissions__same_instance_from_8_clients_at_once__one(
    settings: Settings, engine: Engine
) -> None:
    iid = new_id()
    xml = outreach_xml(iid)

    def send(_: int) -> int:
        with httpx.Client(timeout=60) as client:
            return post(client, server, xml).status_code

    with running_server(settings, engine) as server, ThreadPoolExecutor(CLIENTS) as pool:
        statuses = list(pool.map(send, range(CLIENTS * 4)))
    assert statuses == [201] * (CLIENTS * 4)
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Submission)) == 1
        assert s.scalar(select(func.count()).select_from(SubmissionVersion)) == 1
