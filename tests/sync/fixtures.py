"""Fixtures for sync tests: the shipped forms, a fake KoboToolbox / Central on localhost, a
source pointing at it, and a database dump by natural keys to compare two databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from pcmd.db.engine import transaction
from pcmd.db.models import (
    Attachment,
    Source,
    SourceRecord,
    Submission,
    SubmissionVersion,
    SyncState,
)
from pcmd.ingest.files import FileStore
from pcmd.settings import Settings
from pcmd.sync.http import HttpPolicy
from pcmd.sync.report import SyncReport
from pcmd.sync.runner import sync_source
from pcmd.sync.sources import SourceConfig, add_source, get_source
from tests.live_server import serve_in_thread
from tests.server.collect import load_forms
from tests.sync.fakes import central as fc
from tests.sync.fakes import kobo as fk

TOKEN_ENV, USER_ENV, PASSWORD_ENV, HOOK_ENV = (
    "KOBO_QN_TOKEN",
    "CENTRAL_QN_USER",
    "CENTRAL_QN_PASSWORD",
    "KOBO_QN_HOOK_SECRET",
)
HOOK_SECRET = "hook-secret-7d1f0a2b9c"


@dataclass
class Waits:
    """The sleeps the client asked for (tests do not wait for real)."""

    seconds: list[float]

    def __call__(self, value: float) -> None:
        self.seconds.append(value)


@pytest.fixture
def waits() -> Waits:
    return Waits([])


@pytest.fixture
def policy(waits: Waits) -> HttpPolicy:
    return HttpPolicy(connect_timeout=2.0, read_timeout=1.0, retries=4, backoff=0.5, sleep=waits)


@pytest.fixture
def store(settings: Settings, engine: Engine) -> FileStore:
    load_forms(engine)
    return FileStore(settings.data_dir / "attachments")


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, fk.TOKEN)
    monkeypatch.setenv(USER_ENV, fc.EMAIL)
    monkeypatch.setenv(PASSWORD_ENV, fc.PASSWORD)
    monkeypatch.setenv(HOOK_ENV, HOOK_SECRET)


@dataclass
class KoboEnv:
    fake: fk.FakeKobo
    url: str
    source: SourceConfig


@pytest.fixture
def kobo(engine: Engine, store: FileStore, secrets_env: None) -> Iterator[KoboEnv]:
    fake = fk.FakeKobo()
    with serve_in_thread(fake.app(), allow_5xx=True) as url:
        with transaction(engine, write=True) as session:
            add_source(
                session,
                name="kobo-qn",
                kind="kobo",
                url=url,
                form_id="pcmd_outreach",
                asset_uid=fk.ASSET,
                token_env=TOKEN_ENV,
                webhook_secret_env=HOOK_ENV,
            )
        with transaction(engine) as session:
            source = get_source(session, "kobo-qn")
        yield KoboEnv(fake, url, source)


@dataclass
class CentralEnv:
    fake: fc.FakeCentral
    url: str
    source: SourceConfig


@pytest.fixture
def central(engine: Engine, store: FileStore, secrets_env: None) -> Iterator[CentralEnv]:
    fake = fc.FakeCentral()
    with serve_in_thread(fake.app(), allow_5xx=True) as url:
        with transaction(engine, write=True) as session:
            add_source(
                session,
                name="central-qn",
                kind="central",
                url=url,
                form_id="pcmd_outreach",
                project_id=fc.PROJECT,
                user_env=USER_ENV,
                password_env=PASSWORD_ENV,
            )
        with transaction(engine) as session:
            source = get_source(session, "central-qn")
        yield CentralEnv(fake, url, source)


def run(
    engine: Engine,
    store: FileStore,
    source: SourceConfig,
    settings: Settings,
    policy: HttpPolicy,
    **kwargs: Any,
) -> SyncReport:
    return sync_source(engine, store, source, settings, policy=policy, **kwargs)


def counts(report: SyncReport) -> tuple[int, int, int, int, int]:
    return (report.new, report.updated, report.deleted, report.unchanged, report.failed)


def age_last_scan(engine: Engine, name: str, minutes: int = 600) -> None:
    """Make the source's last light scan look `minutes` old, so the next sync scans."""
    with transaction(engine, write=True) as session:
        state = session.get(SyncState, name)
        assert state is not None
        cursor = dict(state.cursor)
        moment = dt.datetime.fromisoformat(cursor["last_scan_at"]) - dt.timedelta(minutes=minutes)
        cursor["last_scan_at"] = moment.isoformat()
        session.execute(update(SyncState).where(SyncState.source == name).values(cursor=cursor))


def submissions(engine: Engine) -> dict[str, dict[str, Any]]:
    """Every submission by root instanceID: its state and current version."""
    out: dict[str, dict[str, Any]] = {}
    with transaction(engine) as session:
        for sub in session.scalars(select(Submission)):
            current = session.get(SubmissionVersion, sub.current_version_id)
            assert current is not None
            versions = session.scalars(
                select(SubmissionVersion.instance_id)
                .where(SubmissionVersion.submission_id == sub.id)
                .order_by(SubmissionVersion.id)
            ).all()
            files = session.scalars(
                select(Attachment.filename).where(Attachment.version_id == current.id)
            ).all()
            out[sub.instance_id] = {
                "source": sub.source,
                "review_state": sub.review_state,
                "deleted": sub.deleted,
                "deleted_at": sub.deleted_at,
                "submitted_at": sub.submitted_at,
                "current": current.instance_id,
                "versions": list(versions),
                "data": current.data,
                "files": sorted(files),
                "source_ref": current.source_ref,
            }
    return out


def version_files(engine: Engine) -> dict[str, dict[str, str]]:
    """The files of every version, by version instanceID: file name → sha256."""
    out: dict[str, dict[str, str]] = {}
    with transaction(engine) as session:
        rows = session.execute(
            select(SubmissionVersion.instance_id, Attachment.filename, Attachment.sha256).join(
                Attachment, Attachment.version_id == SubmissionVersion.id
            )
        )
        for instance_id, filename, sha in rows:
            out.setdefault(instance_id, {})[filename] = sha
    return out


def _utc(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    return value


def dump(engine: Engine) -> dict[str, Any]:
    """The synced content of a database by natural keys, for comparing two databases.

    Surrogate ids (a PostgreSQL sequence moves on in a rolled-back transaction) and the times
    pcmd did things (received_at, updated_at, deleted_at, last_success_at) differ between two
    runs by nature; everything the sources said, and every link, is compared.
    """
    with transaction(engine) as session:
        subs = {s.id: s for s in session.scalars(select(Submission))}
        versions = {v.id: v for v in session.scalars(select(SubmissionVersion))}
        sources = {s.id: s.name for s in session.scalars(select(Source))}
        out: dict[str, Any] = {
            "submissions": sorted(
                (
                    s.instance_id,
                    s.source,
                    s.review_state,
                    s.deleted,
                    s.deleted_at is not None,
                    _utc(s.submitted_at),
                    versions[s.current_version_id].instance_id if s.current_version_id else None,
                    s.commune_code,
                    str(s.activity_date),
                )
                for s in subs.values()
            ),
            "versions": sorted(
                (
                    subs[v.submission_id].instance_id,
                    v.instance_id,
                    v.deprecated_id,
                    v.form_version,
                    v.xml_sha256,
                    repr(sorted(v.data.items())),
                    tuple(v.attachments_expected),
                    v.source,
                    v.source_ref,
                    v.submitter,
                    v.device_id,
                )
                for v in versions.values()
            ),
            "attachments": sorted(
                (versions[a.version_id].instance_id, a.filename, a.sha256, a.size, a.content_type)
                for a in session.scalars(select(Attachment))
            ),
            "source_records": sorted(
                (
                    sources[r.source_id],
                    r.remote_id,
                    r.remote_seq,
                    subs[r.submission_id].instance_id,
                    r.instance_id,
                    r.review,
                    r.complete,
                    r.deleted_at is not None,
                )
                for r in session.scalars(select(SourceRecord))
            ),
            "cursors": sorted(
                (s.source, repr(sorted((k, v) for k, v in s.cursor.items() if k == "last_id")))
                for s in session.scalars(select(SyncState))
            ),
        }
    return out
