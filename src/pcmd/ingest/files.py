"""Content-addressed file store for attachments: <data_dir>/attachments/ab/cdef… (sha256).

A file is moved into place before the database row that names it is committed; a crash between
the two leaves an unreferenced file (harmless, same bytes next time), never a row without a file.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import BinaryIO

from pcmd.errors import IngestError

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


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:]

    def temp_file(self) -> tuple[BinaryIO, Path]:
        """An open temporary file on the same filesystem as the store (for os.replace)."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.tmp, prefix="up-")
        return os.fdopen(fd, "wb"), Path(name)

    def put_temp(self, temp: Path, sha256: str) -> Path:
        """Move a fully written temporary file into place under its hash."""
        final = self.path_for(sha256)
        if final.exists():
            temp.unlink(missing_ok=True)
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, final)
        return final

    def put_bytes(self, content: bytes) -> tuple[str, Path]:
        sha = hashlib.sha256(content).hexdigest()
        final = self.path_for(sha)
        if not final.exists():
            handle, temp = self.temp_file()
            with handle:
                handle.write(content)
            self.put_temp(temp, sha)
        return sha, final

    def open(self, sha256: str) -> BinaryIO:
        return self.path_for(sha256).open("rb")
