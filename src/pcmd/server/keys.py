"""The server's secret key: it derives app-user tokens (and signs web sessions).

`PCMD_SECRET_KEY` wins when set. Otherwise the key lives in `<data_dir>/secret_key`, created on
first use (32 random bytes as 64 hex characters, mode 0600), so a single machine needs no setup.

Several servers sharing one PostgreSQL database must share one key: set the same
`PCMD_SECRET_KEY` on each (or copy the file's content into it — the two give the same key).
With different keys, tokens still authenticate everywhere (lookups use the token's hash) but
`pcmd appuser qr` on the other machine cannot rebuild the QR code of an existing app user.

The key is never logged or printed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from pcmd.errors import SettingsError
from pcmd.settings import Settings


def key_file(settings: Settings) -> Path:
    return settings.secret_key_file


def secret_key(settings: Settings) -> bytes:
    """The key as bytes: `settings.secret_key`, else the key file's content (created if absent)."""
    if settings.secret_key is not None:
        return settings.secret_key.encode("utf-8")
    path = key_file(settings)
    if not path.exists():
        _create_key_file(path)
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(
            f"Không đọc được tệp khoá bí mật {path} (cannot read the secret key file): "
            f"{exc.__class__.__name__}. Fix: make it readable by the user running pcmd, "
            "or set PCMD_SECRET_KEY."
        ) from None
    if not text:
        raise SettingsError(
            f"Tệp khoá bí mật {path} rỗng (the secret key file is empty). Fix: restore it from "
            "a backup, or delete it to make a new one — existing QR codes then cannot be "
            "rebuilt (app users keep working)."
        )
    return text.encode("ascii")


def _create_key_file(path: Path) -> None:
    """Write a new key so that a reader sees either no file or the whole key, never a part.

    Several `pcmd serve` workers may start at once: the temp file is hard-linked into place,
    which fails when another process got there first, so every process ends up with the one
    key on disk rather than each with its own.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(secrets.token_hex(32) + "\n")
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o600)  # the umask may not be trusted to leave 0600 alone
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process created it first: use theirs
            except OSError:
                # No hard links on this filesystem: replace is atomic too, only not exclusive.
                if not path.exists():
                    os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    except OSError as exc:
        raise SettingsError(
            f"Không tạo được tệp khoá bí mật {path} (cannot create the secret key file): "
            f"{exc.__class__.__name__}: {exc.strerror}. Fix: make data_dir ({path.parent}) "
            "writable, or set PCMD_SECRET_KEY."
        ) from None
