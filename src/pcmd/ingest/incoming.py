"""What a source hands to ingest (a submission's XML and its files) and what ingest answers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pcmd.ingest.instance import Instance

Status = Literal["created", "edited", "duplicate", "attachments_added"]


@dataclass(frozen=True)
class IncomingFile:
    """An attachment already on disk (streamed there), with its hash and size."""

    filename: str  # checked with db.files.safe_filename
    content_type: str
    sha256: str
    size: int
    temp_path: Path | None = None  # moved into the store on ingest; None = already stored


@dataclass(frozen=True)
class Incoming:
    xml: bytes
    source: str  # openrosa | kobo | central | import
    files: tuple[IncomingFile, ...] = ()
    submitter: str | None = None
    device_id: str | None = None
    source_ref: str | None = None
    project_id: int = 1
    # Communes the sender may report for; None = any (a province user, a pull source).
    communes: frozenset[str] | None = None
    # Pull sources: the remote's stable identity of the submission (see the module docstring),
    # and when the remote first received it (Kobo _submission_time, Central submissionDate).
    root_instance_id: str | None = None
    submitted_at: dt.datetime | None = None
    # Pull sources: this source already links the record to its submission (it brought it
    # before), so it may edit it. An unlinked record may not edit another route's submission.
    linked: bool = False
    # parse_instance(xml) when the sender already knows it (a pull builds the XML from the
    # record's values, and tests check the two agree); None = parse the XML here.
    parsed: Instance | None = None


@dataclass
class IngestResult:
    status: Status
    submission_id: int
    instance_id: str  # root instanceID
    version_instance_id: str
    form_id: str
    attachments_added: int = 0
    attachments_missing: list[str] = field(default_factory=list)
