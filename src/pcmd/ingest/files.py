"""Content-addressed file store for attachments: <data_dir>/attachments/ab/cdef… (sha256).

A file is moved into place before the database row that names it is committed; a crash between
the two leaves an unreferenced file (harmless, same bytes next time), never a row without a file.

Durable: a file's bytes are synced before it is renamed into place, and its folder after, so a
file a committed row names survives a power cut (ODK Collect deletes its copy once it hears
201). The store and its files are for pcmd's user only (folders 0700, files 0600): they hold
photos of people. A full or failing disk raises StorageError (a 503: send again later), with
nothing half-written left in place.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import BinaryIO

from pcmd.errors import IngestError, StorageError

log = logging.getLogger(__name__)

CHUNK = 1 << 16
# What a file name from a phone may contain: Collect names files like 1700000000000.jpg.
SAFE_NAME_RE = re.compile(r"^[\w][\w .()+-]{0,254}$")


def safe_filename(name: str) -> str:
    """The name as given if it is a plain file name; IngestError(400) for anything else.

    Refuses separators, "..", control characters and absolute paths rather than rewriting them,
    so a crafted name cannot point two different files at one stored name.
    """
    normal = unicodedata.normalize("NFC", name)
    if (
        not normal
        or "/" in normal
        or "\\" in normal
        or normal in (".", "..")
        or normal.startswith(".")
        or ".." in normal
        or not SAFE_NAME_RE.match(normal)
    ):
        raise IngestError(
            f"Tên tệp đính kèm không hợp lệ: {name!r} (invalid attachment file name: only a plain "
            "file name without folders is accepted).",
            status=400,
        )
    return normal


# Errors of the disk, not of the request: the same upload can succeed once space returns.
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EFBIG})
# A temporary upload file untouched this long belongs to no upload still running (a crashed
# process left it); younger ones may be another server process's upload in progress.
STALE_TEMP_SECONDS = 3600.0


def storage_error(exc: OSError) -> StorageError | None:
    """The StorageError for a disk failure; None when the OSError is something else."""
    if exc.errno not in STORAGE_ERRNOS:
        return None
    return StorageError(
        "Máy chủ hết chỗ lưu hoặc lỗi ổ đĩa, chưa lưu gì; hãy gửi lại sau (the server's disk is "
        f"full or failing; nothing was stored, send again later): {os.strerror(exc.errno or 0)}."
    )


def sync_path(path: Path) -> None:
    """fsync a file or a folder (a folder's sync makes a rename in it durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:]

    def prepare(self, *, now: float | None = None) -> int:
        """At start: the store's folders made private, and the temporary files a crash left
        behind removed (those older than STALE_TEMP_SECONDS); returns how many were removed."""
        for folder in (self.root, self.tmp):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            if folder.stat().st_uid == os.getuid():
                folder.chmod(0o700)
        cutoff = (now if now is not None else time.time()) - STALE_TEMP_SECONDS
        removed = 0
        for leftover in self.tmp.glob("up-*"):
            try:
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
                    removed += 1
            except FileNotFoundError:
                continue  # its upload finished meanwhile
        if removed:
            log.info("removed %d temporary upload file(s) left by an earlier crash", removed)
        return removed

    def temp_file(self) -> tuple[BinaryIO, Path]:
        """An open temporary file (0600) on the same filesystem as the store (for os.replace)."""
        try:
            self.tmp.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=self.tmp, prefix="up-")
        except OSError as exc:
            raise storage_error(exc) or exc from exc
        return os.fdopen(fd, "wb"), Path(name)

    def put_temp(self, temp: Path, sha256: str) -> Path:
        """Move a fully written temporary file into place under its hash, durably: the bytes
        are synced, then the rename, then the folder that holds the new name."""
        final = self.path_for(sha256)
        if final.exists():
            temp.unlink(missing_ok=True)
            return final
        try:
            sync_path(temp)
            made = not final.parent.exists()
            final.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.replace(temp, final)
            sync_path(final.parent)
            if made:
                sync_path(self.root)
        except OSError as exc:
            raise storage_error(exc) or exc from exc
        return final

    def put_bytes(self, content: bytes) -> tuple[str, Path]:
        sha = hashlib.sha256(content).hexdigest()
        final = self.path_for(sha)
        if not final.exists():
            handle, temp = self.temp_file()
            try:
                with handle:
                    handle.write(content)
            except OSError as exc:
                temp.unlink(missing_ok=True)
                raise storage_error(exc) or exc from exc
            self.put_temp(temp, sha)
        return sha, final

    def open(self, sha256: str) -> BinaryIO:
        return self.path_for(sha256).open("rb")
