"""What a pull source hands the runner: one remote record, its files, and the pcmd form
version it is rebuilt against (sync/rebuild.py rebuilds its instance XML)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from pcmd.db.models import Form, FormVersion
from pcmd.errors import SyncError
from pcmd.ingest.instance import Instance
from pcmd.sync.rebuild import FormSpec


@dataclass(frozen=True)
class FileRef:
    """An attachment of a remote record: its file name in the instance and where to get it."""

    filename: str
    url: str
    content_type: str


@dataclass(slots=True)
class RemoteRecord:
    """One remote record, ready for ingest. Read-only by convention: not frozen, because a
    frozen dataclass sets each of these fields through object.__setattr__, which cost a pull
    6 µs a record."""

    remote_id: str  # Kobo _id, Central __id
    instance_id: str  # the current version's instanceID
    root_instance_id: str  # the stable identity: Kobo meta/rootUuid, Central __id
    xml: bytes
    # parse_instance(xml), known without parsing (see rebuild); None: ingest parses the XML
    instance: Instance | None = None
    # The remote's review marker as it says it (for change detection), and what it means in
    # pcmd's review states; None = the remote has no status for it.
    review: str | None = None
    review_state: str | None = None
    submitted_at: dt.datetime | None = None
    submitter: str | None = None
    device_id: str | None = None
    files: tuple[FileRef, ...] = ()
    deleted: bool = False  # Central __system/deletedAt is set
    extra: Mapping[str, Any] = field(default_factory=dict)


def load_form_spec(conn: Connection, form_id: str, project_id: int = 1) -> FormSpec:
    """The current pcmd version of `form_id`; SyncError when pcmd does not have the form."""
    row = conn.execute(
        select(FormVersion.version, FormVersion.fields)
        .join(Form, Form.current_version_id == FormVersion.id)
        .where(Form.project_id == project_id, Form.form_id == form_id)
    ).first()
    if row is None:
        raise SyncError(
            f"Máy chủ pcmd chưa có biểu mẫu {form_id!r} (pcmd has no form {form_id!r}), nên "
            "không đọc được phiếu của nguồn này. Fix: run `pcmd forms build`, or give the "
            "source the id of one of `pcmd forms list`."
        )
    return FormSpec(form_id, row.version, dict(row.fields))


def parse_utc(text: str | None) -> dt.datetime | None:
    """An ISO timestamp as aware UTC; a naive one is UTC (Kobo's _submission_time is)."""
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)
