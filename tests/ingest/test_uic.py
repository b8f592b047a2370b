"""The support log's UIC (DESIGN §6b): normalised code, keyed hash, answers never stored."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from pcmd.db.engine import transaction
from pcmd.db.models import Submission, SubmissionVersion
from pcmd.errors import IngestError
from pcmd.ingest.files import FileStore
from pcmd.ingest.form_lookup import FormLookup
from pcmd.ingest.history import add_history
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.instance import parse_instance
from pcmd.ingest.submit import ingest_with_retry
from pcmd.ingest.uic import ensure_key, key_file_for, normalise_code, protect_xml
from pcmd.settings import Settings
from tests.ingest.support_records import support_xml
from tests.server.collect import load_forms, new_id

TODAY = dt.date(2026, 12, 7)


@pytest.fixture
def store(settings: Settings, engine: Engine) -> FileStore:
    load_forms(engine)
    return FileStore(settings.attachments_dir)


def expected_key(settings: Settings, code: str) -> str:
    secret = settings.uic_key_file.read_text(encoding="ascii").strip().encode()
    return hmac.new(secret, code.encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("answers", "code"),
    [
        (("Q", "X", "1987", "nu"), "QX1987NU"),  # DESIGN §6b's own example
        (("Đ", "x", "1979", "nu"), "DX1979NU"),  # Đ → D, lower case raised
        (("đ", "Ư", "2000", "nam"), "DU2000NAM"),
        (("\u0045\u0302", " ô ", "1940", "khac"), "EO1940KHAC"),  # decomposed Ê, spaces
    ],
)
def test_normalise_code__as_design_says(answers: tuple[str, str, str, str], code: str) -> None:
    assert normalise_code(*answers, TODAY) == code


@pytest.mark.parametrize(
    ("answers", "words"),
    [
        (("", "X", "1987", "nu"), "chữ cái đầu tên của mẹ"),
        (("Q", "XY", "1987", "nu"), "chữ cái đầu tên của cha"),
        (("Q", "7", "1987", "nu"), "chữ cái đầu tên của cha"),
        (("Q", "X", "87", "nu"), "năm sinh phải là bốn chữ số từ 1940 đến 2011"),
        (("Q", "X", "1939", "nu"), "từ 1940 đến 2011"),
        (("Q", "X", "2012", "nu"), "từ 1940 đến 2011"),  # 2026 − 15 = 2011
        (("Q", "X", "1987", ""), "chưa chọn giới tính"),
    ],
)
def test_normalise_code__malformed__clear_400(
    answers: tuple[str, str, str, str], words: str
) -> None:
    with pytest.raises(IngestError) as caught:
        normalise_code(*answers, TODAY)
    assert caught.value.status == 400
    assert words in caught.value.message
    assert "Cách sửa" in caught.value.message
    assert "(The identifier code is not valid" in caught.value.message


def test_ensure_key__0600_made_once(tmp_path: Path) -> None:
    path = tmp_path / "var" / "uic_key"
    assert ensure_key(path) is True
    first = path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first.strip()) == 64
    assert ensure_key(path) is False
    assert path.read_bytes() == first


def test_key_file__beside_the_attachment_store(settings: Settings) -> None:
    assert key_file_for(settings.attachments_dir) == settings.uic_key_file


def test_protect_xml__group_replaced_rest_byte_for_byte(settings: Settings) -> None:
    xml = support_xml(new_id())
    ensure_key(settings.uic_key_file)
    out = protect_xml(xml, parse_instance(xml), settings.uic_key_file, TODAY)
    start, end = xml.index(b"<uic>"), xml.index(b"</uic>") + len(b"</uic>")
    key = expected_key(settings, "DX1979NU")
    assert out == xml[:start] + f"<uic><key>{key}</key></uic>".encode() + xml[end:]


def test_ingest__support_record__key_stored_answers_not(
    settings: Settings, engine: Engine, store: FileStore
) -> None:
    iid = new_id()
    xml = support_xml(iid, mother="q", father="X", year="1987")
    first = ingest_with_retry(engine, store, Incoming(xml=xml, source="openrosa"))
    again = ingest_with_retry(engine, store, Incoming(xml=xml, source="openrosa"))
    assert (first.status, again.status) == ("created", "duplicate")
    with transaction(engine) as session:
        version = session.scalars(select(SubmissionVersion)).one()
        stored_xml, data = version.xml, version.data
    key = expected_key(settings, "QX1987NU")
    assert f"<uic><key>{key}</key></uic>" in stored_xml
    assert "mother_initial" not in stored_xml
    assert "1987" not in stored_xml
    assert data["uic/key"] == key
    assert not any(k.startswith("uic/") and k != "uic/key" for k in data)


def test_ingest__malformed_uic__400_nothing_stored(engine: Engine, store: FileStore) -> None:
    with pytest.raises(IngestError) as caught:
        ingest_with_retry(
            engine, store, Incoming(xml=support_xml(new_id(), year="87"), source="openrosa")
        )
    assert caught.value.status == 400
    assert "năm sinh" in caught.value.message
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 0


def test_add_history__support_version_protected__refused_without_secret(
    settings: Settings, engine: Engine, store: FileStore
) -> None:
    root, older = new_id(), new_id()
    ingest_with_retry(engine, store, Incoming(xml=support_xml(root), source="central"))
    history = support_xml(older, year="1980")
    with transaction(engine, write=True) as session:
        conn = session.connection()
        sid = conn.execute(select(Submission.id)).scalar_one()
        with pytest.raises(IngestError):
            add_history(conn, FormLookup(ttl=0), sid, history, source="central")
        assert add_history(
            conn,
            FormLookup(ttl=0),
            sid,
            history,
            source="central",
            uic_key_file=settings.uic_key_file,
        )
    with transaction(engine) as session:
        xmls = session.scalars(select(SubmissionVersion.xml)).all()
    assert len(xmls) == 2
    assert all("birth_year" not in x and "1980" not in x for x in xmls)
    assert any(expected_key(settings, "DX1980NU") in x for x in xmls)
