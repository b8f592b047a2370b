"""What pcmd keeps on disk is for its own user only, and a crash's leftovers go at the next
start: the database (and its WAL), the data folder, the attachment store and its files, the
secret key, temporary uploads."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from pcmd.server.app import create_app
from pcmd.settings import Settings
from tests.live_server import serve_in_thread
from tests.server.collect import JPEG, new_id, outreach_xml, post, running_server


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files__sqlite_store_key_and_uploads__private_to_pcmd(
    settings: Settings, engine: Engine
) -> None:
    old = os.umask(0o022)  # the usual umask: 0644 files unless pcmd asks for less
    try:
        with running_server(settings, engine) as server, httpx.Client() as client:
            xml = outreach_xml(new_id(), photo="p.jpg")
            assert post(client, server, xml, files={"p.jpg": JPEG}).status_code == 201
    finally:
        os.umask(old)
    store = settings.attachments_dir
    photo = next(p for p in store.rglob("*") if p.is_file())
    assert mode(photo) == 0o600
    assert mode(photo.parent) == 0o700
    assert mode(store) == 0o700
    assert mode(store / "tmp") == 0o700
    assert mode(settings.secret_key_file) == 0o600
    if settings.sqlite_path is not None:
        assert mode(settings.sqlite_path.parent) == 0o700
        assert mode(settings.sqlite_path) == 0o600
        wal = Path(f"{settings.sqlite_path}-wal")
        if wal.exists():
            assert mode(wal) == 0o600


def test_start__stale_temporary_uploads_removed_recent_ones_kept(
    settings: Settings, engine: Engine
) -> None:
    tmp = settings.attachments_dir / "tmp"
    tmp.mkdir(parents=True)
    stale, recent = tmp / "up-crashed", tmp / "up-in-progress"
    stale.write_bytes(b"half a photo")
    recent.write_bytes(b"another server's upload, still arriving")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    with serve_in_thread(create_app(settings)) as url:
        assert httpx.get(f"{url}/healthz").status_code == 200
    assert not stale.exists()
    assert recent.exists()


@pytest.mark.parametrize("folder_mode", [0o755, 0o777])
def test_start__store_made_private_again(
    settings: Settings, engine: Engine, folder_mode: int
) -> None:
    store = settings.attachments_dir
    store.mkdir(parents=True)
    store.chmod(folder_mode)
    with serve_in_thread(create_app(settings)):
        pass
    assert mode(store) == 0o700
