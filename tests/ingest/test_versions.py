"""The ingest rules a pull source adds (root identity, the server as the record) and the
typed-content duplicate, through the one ingest function."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from pcmd.errors import IngestError
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming, IngestResult
from pcmd.ingest.submit import ingest_with_retry
from tests.server.collect import new_id, outreach_xml
from tests.sync.fixtures import submissions


def collect(engine: Engine, store: FileStore, xml: bytes) -> IngestResult:
    return ingest_with_retry(engine, store, Incoming(xml=xml, source="openrosa"))


def pull(engine: Engine, store: FileStore, xml: bytes, root: str) -> IngestResult:
    return ingest_with_retry(
        engine, store, Incoming(xml=xml, source="kobo", source_ref="17", root_instance_id=root)
    )


def test_ingest__collect_resend_reserialised__duplicate_not_conflict(
    engine: Engine, store: FileStore
) -> None:
    """Same answers, other bytes (another XML writer): a duplicate, not a 409."""
    iid = new_id()
    xml = outreach_xml(iid)
    assert collect(engine, store, xml).status == "created"
    other_bytes = xml.replace(b"<notes/>", b"<notes></notes>").replace(
        b'<?xml version="1.0"?>', b"<?xml version='1.0' encoding='UTF-8'?>\n"
    )
    assert other_bytes != xml
    assert collect(engine, store, other_bytes).status == "duplicate"
    with pytest.raises(IngestError, match="different content") as err:
        collect(engine, store, outreach_xml(iid, students=41))
    assert err.value.status == 409
    assert submissions(engine)[iid]["versions"] == [iid]


def test_ingest__pulled_edit_over_unseen_versions__replaces_current(
    engine: Engine, store: FileStore
) -> None:
    root, seen_never, latest = new_id(), new_id(), new_id()
    assert pull(engine, store, outreach_xml(root), root).status == "created"
    # two edits on the server between syncs: the record names the one pcmd never saw
    result = pull(engine, store, outreach_xml(latest, students=9, deprecated_id=seen_never), root)
    assert (result.status, result.instance_id, result.version_instance_id) == (
        "edited",
        root,
        latest,
    )
    subs = submissions(engine)
    assert subs[root]["versions"] == [root, latest]
    assert subs[root]["review_state"] == "edited"
    # Collect may not do that: its edit must name a version pcmd has
    with pytest.raises(IngestError, match="does not have") as err:
        collect(engine, store, outreach_xml(new_id(), deprecated_id=new_id()))
    assert err.value.status == 404


def test_ingest__first_seen_already_edited__keyed_by_root_then_original_from_collect_409(
    engine: Engine, store: FileStore
) -> None:
    root, current = new_id(), new_id()
    assert pull(engine, store, outreach_xml(current, deprecated_id=root), root).status == "created"
    subs = submissions(engine)
    assert (list(subs), subs[root]["versions"]) == ([root], [current])
    with pytest.raises(IngestError, match="later version") as err:
        collect(engine, store, outreach_xml(root))
    assert err.value.status == 409
    assert submissions(engine)[root]["versions"] == [current]
