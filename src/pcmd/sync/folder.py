"""Import instance folders as ODK Collect and Briefcase store them.

Collect: `instances/<name>/<name>.xml` + its files; Briefcase: `…/instances/<uuid…>/submission.xml`
+ its files. Every instance goes through the same ingest as a phone's upload, each in its own
transaction, so one bad folder is reported and the others still come in.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from pcmd.db.engine import transaction
from pcmd.db.models import AuditLog
from pcmd.errors import IngestError
from pcmd.ingest.files import FileStore, safe_filename
from pcmd.ingest.incoming import Incoming, IncomingFile
from pcmd.ingest.submit import ingest_with_retry


@dataclass(frozen=True)
class FolderResult:
    folder: Path
    status: str  # created | edited | duplicate | attachments_added | error
    detail: str


def instance_folders(root: Path) -> Iterator[tuple[Path, Path]]:
    """(folder, its instance XML) for every instance folder under root, in name order."""
    for folder in sorted(p for p in [root, *root.rglob("*")] if p.is_dir()):
        for candidate in (folder / f"{folder.name}.xml", folder / "submission.xml"):
            if candidate.is_file():
                yield folder, candidate
                break


def _files(folder: Path, xml_path: Path) -> tuple[IncomingFile, ...]:
    out = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path == xml_path or path.name.startswith("."):
            continue
        content = path.read_bytes()
        out.append(
            IncomingFile(
                filename=safe_filename(path.name),
                content_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
                sha256=hashlib.sha256(content).hexdigest(),
                size=len(content),
            )
        )
    return tuple(out)


def import_folder(
    engine: Engine, store: FileStore, root: Path, *, project_id: int = 1
) -> Iterator[FolderResult]:
    for folder, xml_path in instance_folders(root):
        try:
            files = _files(folder, xml_path)
            for item in files:  # content-addressed: storing first is idempotent
                store.put_bytes((folder / item.filename).read_bytes())
            incoming = Incoming(
                xml=xml_path.read_bytes(),
                source="import",
                files=files,
                source_ref=folder.name,
                project_id=project_id,
            )
            result = ingest_with_retry(engine, store, incoming)
        except IngestError as exc:
            yield FolderResult(folder, "error", str(exc))
            continue
        detail = result.version_instance_id
        if result.attachments_missing:
            detail += f" (thiếu tệp / missing: {', '.join(result.attachments_missing)})"
        yield FolderResult(folder, result.status, detail)


def audit_folder_import(
    engine: Engine, root: Path, counts: dict[str, int], *, actor: str = "cli"
) -> None:
    """One audit entry for an import: the folder's name and how many came in, by outcome."""
    with transaction(engine, write=True) as session:
        session.add(
            AuditLog(
                actor=actor, action="submissions.import", target=root.name, details=dict(counts)
            )
        )
