"""Figures kept per data version (server/web/figures.py): computed once, and computed anew in
every server process when new data arrives, a review decision is made or the pipeline runs."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

import pcmd.server.web.figures as figures_module
from pcmd.db.engine import transaction
from pcmd.db.models import Submission
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from pcmd.pipeline.run import run_pipeline
from pcmd.server.web.figures import Figures, data_version
from pcmd.server.web.review import set_review_state
from tests.serve_process import pcmd_serve
from tests.server.collect import new_id, outreach_xml
from tests.server.web.conftest import Site, csrf_of, signed_in


def _api(client: httpx.Client) -> dict[str, Any]:
    answer = client.get("/api/v1/indicators", params={"org": "51", "period": "2026"})
    assert answer.status_code == 200
    return {r["indicator"]: r["numerator"] for r in answer.json()}


def _dashboard_hd1(client: httpx.Client) -> str:
    page = client.get("/dashboard", params={"org": "51", "period": "2026", "focus": "HD1"})
    assert page.status_code == 200
    return page.text


def test_figures__new_data_then_rejection__every_worker_shows_the_new_numbers(
    site: Site,
) -> None:
    settings = site.server.settings
    env = {
        "PCMD_DATABASE_URL": settings.database_url,
        "PCMD_DATA_DIR": str(settings.data_dir),
        "PCMD_SCHEDULER": "false",
        "PCMD_LOG_LEVEL": "WARNING",
    }
    log = settings.data_dir.parent / "serve.log"
    with (
        pcmd_serve(env, log, workers=2) as url,
        signed_in(replace(site, server=replace(site.server, url=url)), "hoa.qng") as client,
    ):
        for _ in range(4):  # both workers compute and keep the figures of one record
            assert (_api(client)["HD1"], _api(client)["TT3C"]) == (1, 37)
            assert 'data-indicator="HD1"' in _dashboard_hd1(client)
        quality = client.get("/quality", params={"year": "2026"}).text
        assert 'title="Phường Cẩm Thành 202611">1<' in quality
        ingest_with_retry(
            site.server.engine,
            FileStore(settings.data_dir / "attachments"),
            Incoming(xml=outreach_xml(new_id(), students=40), source="openrosa"),
        )
        for _ in range(4):  # a new record: the grid counts it at once, in either worker
            quality = client.get("/quality", params={"year": "2026"}).text
            assert 'title="Phường Cẩm Thành 202611">2<' in quality
        run_pipeline(site.server.engine)
        for _ in range(4):  # the indicators after the run: 1 + 1 activities, 37 + 40 students
            assert (_api(client)["HD1"], _api(client)["TT3C"]) == (2, 77)
        page = client.get(f"/submissions/{site.sub_id}")
        rejected = client.post(
            f"/submissions/{site.sub_id}/review",
            data={
                "csrf": csrf_of(page.text),
                "action": "rejected",
                "comment": "Trùng với phiếu khác",
                "confirmed": "1",
            },
        )
        assert rejected.status_code == 200
        run_pipeline(site.server.engine)
        for _ in range(4):  # the rejected record no longer counts: 40 students, one activity
            assert (_api(client)["HD1"], _api(client)["TT3C"]) == (1, 40)


def test_data_version__review_decision_and_new_record__change_it(site: Site) -> None:
    engine: Engine = site.server.engine
    with engine.connect() as conn:
        before = data_version(conn)
        assert data_version(conn) == before  # nothing changed: the same version
    with transaction(engine) as s:
        sub = s.get(Submission, site.sub_id)
        assert sub is not None
        set_review_state(s, "hoa.qng", [sub], "approved", "")
    with engine.connect() as conn:
        reviewed = data_version(conn)
    ingest_with_retry(
        engine,
        FileStore(site.server.settings.data_dir / "attachments"),
        Incoming(xml=outreach_xml(new_id()), source="openrosa"),
    )
    with engine.connect() as conn:
        received = data_version(conn)
    assert len({before, reviewed, received}) == 3


def test_figures__same_version__computed_once_then_again_when_it_changes() -> None:
    kept = Figures()
    assert kept.get("k", (1,), lambda: "first") == "first"
    assert kept.get("k", (1,), lambda: "again") == "first"
    assert kept.get("other", (1,), lambda: "other") == "other"
    assert kept.get("k", (2,), lambda: "second") == "second"
    assert kept.computed == 3


def test_figures__older_than_max_age__computed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    kept = Figures()
    kept.get("k", (1,), lambda: "first")
    monkeypatch.setattr(figures_module, "MAX_AGE_SECONDS", 0.0)
    assert kept.get("k", (1,), lambda: "again") == "again"


def test_figures__eight_users_at_once__computed_once() -> None:
    kept = Figures()
    started = threading.Event()

    def slow() -> int:
        started.set()
        time.sleep(0.2)  # long enough for the others to ask meanwhile
        return 42

    answers: list[int] = []
    users = [
        threading.Thread(target=lambda: answers.append(kept.get("k", (1,), slow))) for _ in range(8)
    ]
    for user in users:
        user.start()
    for user in users:
        user.join()
    assert answers == [42] * 8
    assert kept.computed == 1
