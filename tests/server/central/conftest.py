"""A running pcmd with six outreach submissions whose dates, communes and review states are
chosen by hand, and web users of several roles and provinces, for the Central reading API.

| key | submitted (UTC)   | commune          | n_students | review state          |
|-----|-------------------|------------------|------------|-----------------------|
| A   | 2026-01-10 10:00  | 21025 (QNg, 51)  | 10         | approved              |
| B   | 2026-02-15 09:00  | 21025            | 20 → 25    | edited (one edit)     |
| C   | 2026-03-05 08:00  | 21028 (QNg)      | 30         | rejected              |
| D   | 2026-03-20 12:00  | 21025            | 40         | has_issues            |
| E   | 2026-04-02 07:00  | 20194 (ĐN, 48)   | 50         | approved              |
| F   | 2026-04-03 07:00  | 21025            | 60         | deleted: never shown  |

A carries a photo. Newest first (Central's order): E D C B A.

`reading` is one server per test module and database (the feed tests only read); tests that
sign in and out or fail passwords take `fresh_reading`, a server of their own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from pcmd.db.engine import make_engine, transaction
from pcmd.db.migrate import upgrade
from pcmd.db.models import Submission
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming, IncomingFile
from pcmd.ingest.submit import ingest_with_retry
from pcmd.server.accounts import create_user
from pcmd.settings import Settings, load_settings
from tests.conftest import PG_URL, _pg_schema
from tests.server.collect import JPEG, Server, new_id, outreach_xml, running_server

PASSWORD = "mật-khẩu-đủ-dài-2026"
DA_NANG_COMMUNE = "20194"


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@dataclass
class Reading:
    server: Server
    ids: dict[str, str]  # key → root instanceID
    edit_id: str  # B's current version

    @property
    def base(self) -> str:
        return f"{self.server.url}/v1/projects/1/forms/pcmd_outreach.svc"


@contextmanager
def serve_reading(settings: Settings, engine: Engine) -> Iterator[Reading]:
    with running_server(settings, engine) as server:
        store = FileStore(settings.data_dir / "attachments")
        sha, _ = store.put_bytes(JPEG)
        plan = [
            ("A", "2026-01-10T10:00:00", "21025", 10, "approved"),
            ("B", "2026-02-15T09:00:00", "21025", 20, None),
            ("C", "2026-03-05T08:00:00", "21028", 30, "rejected"),
            ("D", "2026-03-20T12:00:00", "21025", 40, "has_issues"),
            ("E", "2026-04-02T07:00:00", DA_NANG_COMMUNE, 50, "approved"),
            ("F", "2026-04-03T07:00:00", "21025", 60, None),
        ]
        ids: dict[str, str] = {}
        for key, when, commune, students, _state in plan:
            ids[key] = new_id()
            photo = "p.jpg" if key == "A" else ""
            files = (IncomingFile("p.jpg", "image/jpeg", sha, len(JPEG)),) if photo else ()
            ingest_with_retry(
                engine,
                store,
                Incoming(
                    xml=outreach_xml(ids[key], commune=commune, students=students, photo=photo),
                    source="openrosa",
                    files=files,
                    submitter="appuser:xa-cam-thanh-all",
                    device_id="collect:AbCdEfGh12345678",
                    submitted_at=utc(when),
                ),
            )
        edit_id = new_id()
        ingest_with_retry(
            engine,
            store,
            Incoming(
                xml=outreach_xml(edit_id, students=25, deprecated_id=ids["B"]),
                source="openrosa",
                submitter="appuser:xa-cam-thanh-all",
            ),
        )
        with transaction(engine) as s:
            for key, _when, _commune, _students, state in plan:
                if state:
                    s.execute(
                        update(Submission)
                        .where(Submission.instance_id == ids[key])
                        .values(review_state=state, updated_at=utc("2026-05-01T00:00:00"))
                    )
            s.execute(
                update(Submission).where(Submission.instance_id == ids["F"]).values(deleted=True)
            )
            s.execute(
                update(Submission)
                .where(Submission.instance_id == ids["B"])
                .values(updated_at=utc("2026-05-02T00:00:00"))
            )
            create_user(s, "admin", PASSWORD, "admin", ["VN"])
            create_user(s, "hoa.qng", PASSWORD, "province_reviewer", ["51"])
            create_user(s, "minh.dng", PASSWORD, "province_reviewer", ["48"])
            create_user(s, "xa.21028", PASSWORD, "commune_officer", ["21028"])
        yield Reading(server, ids, edit_id)


@contextmanager
def _database(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'var' / 'pcmd.db'}"
        return
    with _pg_schema() as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite"] + (["postgresql"] if PG_URL else []))
def reading(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Reading]:
    tmp = tmp_path_factory.mktemp("central")
    with _database(request.param, tmp) as url:
        settings = load_settings(
            {"database_url": url, "data_dir": str(tmp / "var"), "scheduler": False}, environ={}
        )
        engine = make_engine(url)
        upgrade(engine)
        try:
            with serve_reading(settings, engine) as found:
                yield found
        finally:
            engine.dispose()


@pytest.fixture
def fresh_reading(settings: Settings, engine: Engine) -> Iterator[Reading]:
    with serve_reading(settings, engine) as found:
        yield found
