"""The one ingest function: identity, versions, and all-or-nothing writes (DESIGN §4)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select, update

from pcmd.db.engine import transaction
from pcmd.db.models import Attachment, Form, Submission, SubmissionVersion
from pcmd.errors import IngestError
from pcmd.ingest import submit as submit_module
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming, IncomingFile
from pcmd.ingest.submit import ingest_with_retry
from pcmd.settings import Settings
from tests.server.collect import JPEG, load_forms, new_id, outreach_xml


@pytest.fixture
def store(settings: Settings, engine: Engine) -> FileStore:
    load_forms(engine)
    return FileStore(settings.data_dir / "attachments")


def send(engine: Engine, store: FileStore, xml: bytes, files: tuple[IncomingFile, ...] = ()):
    return ingest_with_retry(engine, store, Incoming(xml=xml, source="openrosa", files=files))


def counts(engine: Engine) -> tuple[int, int, int]:
    with transaction(engine) as s:
        return tuple(  # type: ignore[return-value]
            s.scalar(select(func.count()).select_from(m)) or 0
            for m in (Submission, SubmissionVersion, Attachment)
        )


def photo(store: FileStore, name: str = "p.jpg") -> IncomingFile:
    sha, _path = store.put_bytes(JPEG)
    return IncomingFile(name, "image/jpeg", sha, len(JPEG))


def test_ingest__failure_after_inserts__nothing_kept(
    engine: Engine, store: FileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash between the rows and the attachments leaves the database as it was."""

    def boom(*_args: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(submit_module, "store_files", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        send(engine, store, outreach_xml(new_id(), photo="p.jpg"), (photo(store),))
    assert counts(engine) == (0, 0, 0)


def test_ingest__edit_chain__second_edit_of_old_version_409(
    engine: Engine, store: FileStore
) -> None:
    root, v2, v3 = new_id(), new_id(), new_id()
    assert send(engine, store, outreach_xml(root)).status == "created"
    assert send(engine, store, outreach_xml(v2, deprecated_id=root)).status == "edited"
    with pytest.raises(IngestError, match="already replaced") as err:
        send(engine, store, outreach_xml(v3, deprecated_id=root))
    assert err.value.status == 409
    result = send(engine, store, outreach_xml(v3, students=50, deprecated_id=v2))
    assert (result.status, result.instance_id, result.version_instance_id) == ("edited", root, v3)
    assert counts(engine) == (1, 3, 0)


def test_ingest__deleted_submission__resend_and_edit_refused(
    engine: Engine, store: FileStore
) -> None:
    root = new_id()
    xml = outreach_xml(root)
    send(engine, store, xml)
    with transaction(engine) as s:
        s.execute(update(Submission).values(deleted=True))
    with pytest.raises(IngestError, match="deleted") as err:
        send(engine, store, xml)
    assert err.value.status == 409
    with pytest.raises(IngestError, match="deleted"):
        send(engine, store, outreach_xml(new_id(), deprecated_id=root))
    assert counts(engine) == (1, 1, 0)


def test_ingest__closed_form__409(engine: Engine, store: FileStore) -> None:
    with transaction(engine) as s:
        s.execute(update(Form).where(Form.form_id == "pcmd_outreach").values(state="closed"))
    with pytest.raises(IngestError, match="closed") as err:
        send(engine, store, outreach_xml(new_id()))
    assert err.value.status == 409


def test_ingest__edit_keeps_photo_unless_resent(engine: Engine, store: FileStore) -> None:
    root, edit = new_id(), new_id()
    send(engine, store, outreach_xml(root, photo="p.jpg"), (photo(store),))
    result = send(engine, store, outreach_xml(edit, photo="p.jpg", deprecated_id=root))
    assert result.attachments_missing == []
    assert counts(engine) == (1, 2, 2)


def test_ingest__resend_with_file_not_named__ignored(engine: Engine, store: FileStore) -> None:
    iid = new_id()
    send(engine, store, outreach_xml(iid))
    again = send(engine, store, outreach_xml(iid), (photo(store, "extra.jpg"),))
    assert again.status == "duplicate"
    assert counts(engine) == (1, 1, 0)


def test_ingest__typed_values_and_denormalised_columns(engine: Engine, store: FileStore) -> None:
    iid = new_id()
    send(engine, store, outreach_xml(iid, students=12, commune="21028"))
    with transaction(engine) as s:
        sub = s.scalar(select(Submission))
        assert sub is not None
        version = s.get(SubmissionVersion, sub.current_version_id)
        assert version is not None
    assert sub.commune_code == "21028"
    assert str(sub.activity_date) == "2026-11-20"
    assert version.data["reach/n_students"] == 12
    assert version.data["location"] == [15.12, 108.8, 12.0, 5.0]
    assert version.data["integrated"] == ["khong"]
    assert version.data["notes"] is None
