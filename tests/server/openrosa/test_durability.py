"""A 201 is a promise: the submission and its files are on stable storage before Collect hears
it, and a full disk is a 503 Collect retries, with nothing stored, until space returns."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event, text

from pcmd.db.engine import make_engine
from pcmd.db.migrate import upgrade
from pcmd.ingest import files
from pcmd.server.app import create_app
from pcmd.settings import Settings
from tests.live_server import expect_5xx, free_port, serve_in_thread
from tests.server.collect import (
    JPEG,
    Server,
    new_id,
    outreach_xml,
    post,
    prepare,
    running_server,
)
from tests.server.openrosa.conftest import counts, message


class Journal:
    """The order of file syncs, database commits and answers, as they happen."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def app(self, inner: Any) -> Any:
        async def recorded(scope: Any, receive: Any, send: Any) -> None:
            async def noting(message: Any) -> None:
                if message["type"] == "http.response.start" and scope["method"] == "POST":
                    self.events.append(("answer", str(message["status"])))
                await send(message)

            await inner(scope, receive, noting)

        return recorded


def test_submission__201_only_after_file_folder_and_commit_synced(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = Journal()
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        real_fsync(fd)
        target = Path(os.readlink(f"/proc/self/fd/{fd}"))
        journal.events.append(("fsync-dir" if target.is_dir() else "fsync-file", target.name))

    monkeypatch.setattr(os, "fsync", fsync)
    tokens = prepare(settings, engine)
    port = free_port()
    settings = replace(settings, base_url=f"http://127.0.0.1:{port}")
    app = create_app(settings)
    served: Engine = app.state.engine
    event.listen(served, "commit", lambda _conn: journal.events.append(("commit", "")))
    with serve_in_thread(journal.app(app), port) as url, httpx.Client() as client:
        server = Server(url, engine, settings, *tokens)
        journal.events.clear()
        answer = post(client, server, outreach_xml(new_id(), photo="p.jpg"), files={"p.jpg": JPEG})
        assert answer.status_code == 201
        with served.connect() as conn:
            if served.dialect.name == "sqlite":
                assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
            else:
                assert conn.execute(text("SHOW synchronous_commit")).scalar() == "on"
    kinds = [kind for kind, _name in journal.events]
    # the photo's bytes, the folder that holds its name, then the commit, and only then 201
    assert "fsync-file" in kinds
    stored = len(kinds) - 1 - kinds[::-1].index("commit")  # the ingest's (the first: auth)
    assert kinds.index("fsync-file") < kinds.index("fsync-dir") < stored
    assert kinds[stored:] == ["commit", "answer"]


def test_submission__disk_full_while_writing_photo__503_nothing_stored_then_201(
    server: Server, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC injected where the upload's bytes are written."""
    real = files.FileStore.temp_file
    full = [True]

    class FullDisk:
        def __init__(self, handle: Any) -> None:
            self.handle = handle

        def write(self, data: bytes) -> int:
            if full[0]:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return int(self.handle.write(data))

        def close(self) -> None:
            self.handle.close()

    def temp_file(self: files.FileStore) -> tuple[Any, Path]:
        handle, path = real(self)
        return FullDisk(handle), path

    monkeypatch.setattr(files.FileStore, "temp_file", temp_file)
    xml = outreach_xml(new_id(), photo="p.jpg")
    expect_5xx(503)
    refused = post(client, server, xml, files={"p.jpg": JPEG})
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "120"
    assert "send again later" in message(refused)
    assert counts(server.engine) == (0, 0, 0)
    assert list((server.settings.attachments_dir / "tmp").glob("*")) == []
    full[0] = False
    assert post(client, server, xml, files={"p.jpg": JPEG}).status_code == 201
    assert counts(server.engine) == (1, 1, 1)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 MB filesystem of its own (tmpfs), when this machine lets the tests mount one."""
    where = tmp_path / "small"
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {done.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(path: Path) -> None:
    """Write zeros until the filesystem holding `path` is full."""
    with path.open("wb", buffering=0) as out:
        while True:
            try:
                out.write(b"\0" * (1 << 16))
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                return


def test_submission__filesystem_really_full__503_nothing_stored_then_201(
    settings: Settings, small_disk: Path
) -> None:
    """The data folder (SQLite database and attachments) on a small filesystem filled up."""
    data = small_disk / "var"
    url = settings.database_url
    if url.startswith("sqlite"):
        url = f"sqlite:///{data / 'pcmd.db'}"
    small = replace(settings, data_dir=data, database_url=url)
    engine = make_engine(url)
    upgrade(engine)
    filler = small_disk / "filler"
    try:
        with running_server(small, engine) as server, httpx.Client(timeout=30) as client:
            fill(filler)
            xml = outreach_xml(new_id(), photo="p.jpg")
            expect_5xx(503)
            refused = post(client, server, xml, files={"p.jpg": JPEG * 200})
            assert refused.status_code == 503, refused.text
            assert counts(engine) == (0, 0, 0)
            filler.unlink()  # space returns
            again = post(client, server, xml, files={"p.jpg": JPEG * 200})
            assert again.status_code == 201, again.text
            assert counts(engine) == (1, 1, 1)
    finally:
        engine.dispose()
