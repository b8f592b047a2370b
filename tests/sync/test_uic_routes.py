"""Support records through every route keep no raw UIC answer anywhere (DESIGN §6b).

Collect (OpenRosa on a live server), a KoboToolbox pull, the Kobo REST-service webhook, an
ODK Central pull (fakes of both on localhost) and a folder import each bring a pcmd_support
record. Afterwards the database (every row; for SQLite the file's bytes too), the attachment
store, the exports and the log hold no answer, and one person seen by three routes has one
key: the HMAC of the code worked out by hand (`DX1979NU`) under the installation's secret.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import Engine, MetaData, select

from pcmd.db.engine import transaction
from pcmd.db.models import Form, Submission, SubmissionVersion
from pcmd.ingest.files import FileStore
from pcmd.reports.submissions import submissions_table, write_csv, write_json
from pcmd.server.app import create_app
from pcmd.server.keys import secret_key
from pcmd.server.openrosa.appusers import create_app_user
from pcmd.settings import Settings
from pcmd.sync.folder import import_folder
from pcmd.sync.http import HttpPolicy
from pcmd.sync.sources import add_source, get_source
from tests.ingest.support_records import support_answers, support_row, support_xml
from tests.live_server import serve_in_thread
from tests.server.collect import multipart, new_id
from tests.sync.fakes import central as fc
from tests.sync.fakes import kobo as fk
from tests.sync.fixtures import HOOK_ENV, HOOK_SECRET, PASSWORD_ENV, TOKEN_ENV, USER_ENV, run

# What a raw answer would look like wherever it could be kept: XML element, JSON value, code.
RAW = ("mother_initial", "father_initial", "birth_year")
RAW_VALUES = (">1979<", '"1979"', ": 1979", "DX1979", "MN1979", "HK1979")
FORM_TABLES = {"forms", "form_versions", "form_media"}  # the form itself names the questions


def key_of(settings: Settings, code: str) -> str:
    secret = settings.uic_key_file.read_text(encoding="ascii").strip().encode()
    return hmac.new(secret, code.encode(), hashlib.sha256).hexdigest()


def all_rows(engine: Engine) -> dict[str, str]:
    """Every table's rows as text, by table."""
    meta = MetaData()
    meta.reflect(engine)
    out = {}
    with engine.connect() as conn:
        for name, table in meta.tables.items():
            out[name] = "\n".join(repr(tuple(row)) for row in conn.execute(select(table)))
    return out


def test_support__every_route__no_raw_answer_one_key_per_person(
    settings: Settings,
    engine: Engine,
    store: FileStore,
    secrets_env: None,
    policy: HttpPolicy,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    kobo, central = fk.FakeKobo(), fc.FakeCentral(form="pcmd_support")
    with transaction(engine, write=True) as session:
        _user, token = create_app_user(session, "ctxh-cam-thanh", [], secret_key(settings))
    a, b, c, d, e = (new_id() for _ in range(5))
    with (
        serve_in_thread(kobo.app(), allow_5xx=True) as kobo_url,
        serve_in_thread(central.app(), allow_5xx=True) as central_url,
        serve_in_thread(create_app(settings)) as pcmd_url,
    ):
        with transaction(engine, write=True) as session:
            add_source(
                session,
                name="kobo-ht",
                kind="kobo",
                url=kobo_url,
                form_id="pcmd_support",
                asset_uid=fk.ASSET,
                token_env=TOKEN_ENV,
                webhook_secret_env=HOOK_ENV,
            )
            add_source(
                session,
                name="central-ht",
                kind="central",
                url=central_url,
                form_id="pcmd_support",
                project_id=fc.PROJECT,
                user_env=USER_ENV,
                password_env=PASSWORD_ENV,
            )
        with transaction(engine) as session:
            kobo_source = get_source(session, "kobo-ht")
            central_source = get_source(session, "central-ht")
        submit_url = f"{pcmd_url}/v1/key/{token}/projects/1/submission"

        # Collect: the person P, as the officer typed it.
        sent = httpx.post(submit_url, **multipart(support_xml(a, mother="Đ", father="x")))  # type: ignore[arg-type]
        assert sent.status_code == 201, sent.text
        # A malformed code: a clear 400, nothing kept.
        bad = httpx.post(submit_url, **multipart(support_xml(new_id(), mother="")))  # type: ignore[arg-type]
        assert bad.status_code == 400
        assert "chữ cái đầu tên của mẹ" in bad.text
        # Kobo pull: P again, typed another way (đ, X).
        kobo.add(support_answers(b, mother="d", father="X"))
        assert run(engine, store, kobo_source, settings, policy).new == 1
        # The Kobo webhook: P a third time.
        rid = kobo.add(support_answers(d, mother="D", father="X"))["_id"]
        hook = httpx.post(
            f"{pcmd_url}/hooks/kobo/kobo-ht",
            json=kobo.payload(rid, kobo_url),
            headers={"X-Pcmd-Secret": HOOK_SECRET},
            timeout=10,
        )
        assert hook.status_code == 201, hook.text
        # Central pull: another person.
        central.add(support_row(c, mother="M", father="n", sex="nam"))
        assert run(engine, store, central_source, settings, policy).new == 1
    # A folder of Collect instances: a third person.
    folder = tmp_path / "instances" / "pcmd_support_2026-11-20_09-00-00"
    folder.mkdir(parents=True)
    (folder / f"{folder.name}.xml").write_bytes(support_xml(e, mother="H", father="K", sex="khac"))
    assert [r.status for r in import_folder(engine, store, folder.parent)] == ["created"]

    with transaction(engine) as session:
        keys = {
            root: cast(dict[str, Any], data)["uic/key"]
            for root, data in session.execute(
                select(Submission.instance_id, SubmissionVersion.data).join(
                    SubmissionVersion, SubmissionVersion.id == Submission.current_version_id
                )
            )
        }
        table = submissions_table(session, "pcmd_support")
        csv_out, json_out = io.StringIO(), io.StringIO()
        write_csv(table, csv_out)
        table = submissions_table(session, "pcmd_support")
        write_json(table, json_out)
        assert session.scalar(select(Form.form_id).where(Form.form_id == "pcmd_support"))
    person_p = key_of(settings, "DX1979NU")
    assert keys == {
        a: person_p,
        b: person_p,
        d: person_p,
        c: key_of(settings, "MN1979NAM"),
        e: key_of(settings, "HK1979KHAC"),
    }

    # Nowhere: database rows, the SQLite file, the attachment store, exports, the log.
    for name, text in all_rows(engine).items():
        for raw in RAW_VALUES + (() if name in FORM_TABLES else RAW):
            assert raw not in text, f"{raw!r} in table {name}"
    if settings.sqlite_path is not None:
        for path in settings.sqlite_path.parent.glob(settings.sqlite_path.name + "*"):
            content = path.read_bytes()
            for raw in RAW_VALUES:
                assert raw.encode() not in content, f"{raw!r} in {path.name}"
    stored = [p for p in settings.attachments_dir.rglob("*") if p.is_file()]
    for path in stored:
        for raw in RAW_VALUES + RAW:
            assert raw.encode() not in path.read_bytes(), f"{raw!r} in {path}"
    for export in (csv_out.getvalue(), json_out.getvalue()):
        assert "uic/key" in export
        assert person_p in export
        for raw in RAW_VALUES + RAW:
            assert raw not in export, raw
    assert caplog.records, "the routes log something: the check below must read real lines"
    for raw in RAW_VALUES + RAW:
        assert raw not in caplog.text, f"{raw!r} in the log"
