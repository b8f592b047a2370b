"""The backup file: one uncompressed tar holding the database snapshot, the attachments, the
secret key and, last, a manifest that says what a complete backup holds.

    database/pcmd.sqlite3 | database/pcmd.pgdump   the snapshot (SQLite file or pg_dump -Fc)
    attachments/ab/cdef…                            content-addressed files, named by sha256
    keys/secret_key                                 when the key lives in <data_dir>/secret_key
    keys/uic_key                                    the UIC secret (<data_dir>/uic_key), if made
    manifest.json                                   versions, counts, sha256 of every file

The manifest comes last because it records the hash of every member written before it; a tar
cut short therefore has no manifest and is refused as incomplete. Members are never extracted by
their own names: restore asks for the names the manifest lists and writes them where it decides.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, BinaryIO, cast

from pcmd.errors import BackupError

FORMAT = "pcmd-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DB_MEMBER = {"sqlite": "database/pcmd.sqlite3", "postgresql": "database/pcmd.pgdump"}
KEY_MEMBER = "keys/secret_key"
UIC_KEY_MEMBER = "keys/uic_key"  # the support log's UIC secret (ingest/uic.py)
# Manifest.secret_key: where the installation's secret key is.
KEY_INCLUDED = "included"  # in the backup, as KEY_MEMBER
KEY_FROM_ENV = "PCMD_SECRET_KEY"  # set in the environment: the operator keeps it
KEY_NONE = "none"  # no key had been made yet
ATTACHMENT_PREFIX = "attachments/"
CHUNK = 1 << 20
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def attachment_member(sha256: str) -> str:
    return f"{ATTACHMENT_PREFIX}{sha256[:2]}/{sha256[2:]}"


@dataclass
class Manifest:
    """What a complete backup holds; `files` maps each member but the attachments to its sha256
    (an attachment's name is its sha256)."""

    pcmd_version: str
    created_at: str  # ISO 8601, UTC
    database_kind: str  # sqlite | postgresql
    schema_revision: str
    counts: dict[str, int]  # submissions, submission_versions, attachments (rows), attachment_files
    files: dict[str, str]
    attachments: list[str]  # sha256 of every attachment file in the backup
    # Files the snapshot names that the store did not have / whose bytes no longer match.
    missing_attachments: list[str] = field(default_factory=list)
    damaged_attachments: list[str] = field(default_factory=list)
    secret_key: str = KEY_INCLUDED  # KEY_INCLUDED | KEY_FROM_ENV | KEY_NONE
    database_info: dict[str, str] = field(default_factory=dict)  # pg_dump version, schema, …
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes, where: Path) -> Manifest:
        try:
            data = json.loads(raw)
            if data.get("format") != FORMAT:
                raise ValueError("format")
            if data.get("format_version") != FORMAT_VERSION:
                raise BackupError(
                    f"{where}: bản sao lưu có định dạng {data.get('format_version')}, pcmd này "
                    f"đọc được định dạng {FORMAT_VERSION} (backup format "
                    f"{data.get('format_version')} is not the format {FORMAT_VERSION} this pcmd "
                    "reads). Fix: restore it with the pcmd version that made it."
                )
            manifest = cls(**data)
            if not all(SHA256_RE.match(sha) for sha in manifest.attachments):
                raise ValueError("attachments")
            return manifest
        except (ValueError, TypeError, AttributeError):
            raise _not_a_backup(where, "its manifest is unreadable") from None


def _not_a_backup(where: Path, why: str) -> BackupError:
    return BackupError(
        f"{where} không phải là bản sao lưu pcmd hoàn chỉnh ({where} is not a complete pcmd "
        f"backup: {why}). Fix: give the .tar file `pcmd backup` wrote, copied in full."
    )


class _Hashing:
    """A reader that hashes what passes through it, for tarfile to copy from."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        chunk = self.raw.read(size)
        self.digest.update(chunk)
        return chunk


class ArchiveWriter:
    """Writes members into a new tar file; every member 0600, owned by nobody in particular."""

    def __init__(self, path: Path) -> None:
        self.tar = tarfile.open(path, "w", format=tarfile.PAX_FORMAT)  # noqa: SIM115

    def __enter__(self) -> ArchiveWriter:
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.tar.close()

    def _info(self, name: str, size: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.size = size
        info.mode = 0o600
        info.mtime = int(time.time())
        return info

    def add_file(self, name: str, path: Path) -> str:
        """Copy a file in; returns the sha256 of the bytes written."""
        with path.open("rb") as raw:
            size = path.stat().st_size
            reader = _Hashing(raw)
            self.tar.addfile(self._info(name, size), cast(IO[bytes], reader))
        return reader.digest.hexdigest()

    def add_bytes(self, name: str, content: bytes) -> str:
        self.tar.addfile(self._info(name, len(content)), io.BytesIO(content))
        return hashlib.sha256(content).hexdigest()


class ArchiveReader:
    """A backup opened for restore: its manifest, checked complete before anything is written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.is_file():
            raise BackupError(
                f"Không tìm thấy tệp sao lưu {path} (backup file {path} not found). "
                "Fix: give the path of a .tar file written by `pcmd backup`."
            )
        try:
            self.tar = tarfile.open(path, "r:")  # noqa: SIM115
        except (tarfile.TarError, OSError) as exc:
            raise _not_a_backup(path, f"not a readable tar file ({exc})") from None
        try:
            self.members = {m.name: m for m in self.tar.getmembers()}
        except (tarfile.TarError, OSError) as exc:
            self.tar.close()
            raise _not_a_backup(path, f"not a readable tar file ({exc})") from None

    def __enter__(self) -> ArchiveReader:
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.tar.close()

    def manifest(self) -> Manifest:
        if MANIFEST not in self.members:
            raise _not_a_backup(self.path, "it has no manifest; it may have been cut short")
        manifest = Manifest.from_json(self._read_all(MANIFEST), self.path)
        missing = [name for name in self.expected(manifest) if not self._is_file(name)]
        if missing:
            shown = ", ".join(missing[:3]) + (" …" if len(missing) > 3 else "")
            raise _not_a_backup(self.path, f"{len(missing)} file(s) missing: {shown}")
        return manifest

    def expected(self, manifest: Manifest) -> list[str]:
        return [*manifest.files, *(attachment_member(s) for s in manifest.attachments)]

    def _is_file(self, name: str) -> bool:
        member = self.members.get(name)
        return member is not None and member.isreg()

    def _read_all(self, name: str) -> bytes:
        handle = self.tar.extractfile(self.members[name])
        if handle is None:
            raise _not_a_backup(self.path, f"{name} is not a file")
        with handle:
            return handle.read()

    def copy_member(self, name: str, out: BinaryIO, expected_sha256: str) -> int:
        """Copy one member to `out`, checking its sha256; returns the byte count."""
        handle = self.tar.extractfile(self.members[name])
        if handle is None:
            raise _not_a_backup(self.path, f"{name} is not a file")
        digest, size = hashlib.sha256(), 0
        with handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        if digest.hexdigest() != expected_sha256:
            raise BackupError(
                f"{self.path}: tệp {name} trong bản sao lưu đã bị hỏng (the backup is damaged: "
                f"{name} does not match its checksum). Fix: restore from another copy of the "
                "backup, or an older backup."
            )
        return size
