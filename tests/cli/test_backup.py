"""`pcmd backup` and `pcmd restore` as an operator runs them: a backup of a server that phones
keep posting to, restored into an empty installation, holds every acknowledged submission with
its files; a restore onto an installation in use is refused in one line."""

from __future__ import annotations

import hashlib
import stat
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import Engine, select

from pcmd.db.engine import make_engine, transaction
from pcmd.db.models import Attachment, Submission
from pcmd.ingest.files import FileStore
from pcmd.settings import Settings
from tests.cli.test_main import pcmd
from tests.server.collect import JPEG, Server, new_id, outreach_xml, post, running_server

PHONES = 2


@dataclass
class Phones:
    """Phones posting one new submission with a photo of its own after another until stopped."""

    server: Server
    acked: list[tuple[float, str, str]] = field(default_factory=list)  # (when, instanceID, sha)
    refused: list[int] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> None:
        with httpx.Client(timeout=60) as client:
            while not self.stop.is_set():
                photo = JPEG + uuid.uuid4().bytes
                iid = new_id()
                xml = outreach_xml(iid, photo="p.jpg")
                response = post(client, self.server, xml, files={"p.jpg": photo})
                with self.lock:
                    if response.status_code == 201:
                        entry = (time.monotonic(), iid, hashlib.sha256(photo).hexdigest())
                        self.acked.append(entry)
                    else:
                        self.refused.append(response.status_code)

    def count(self) -> int:
        with self.lock:
            return len(self.acked)

    def wait_for(self, n: int) -> None:
        deadline = time.monotonic() + 60
        while self.count() < n:
            assert time.monotonic() < deadline, "the phones' submissions are not acknowledged"
            time.sleep(0.02)


def env_for(database_url: str, data_dir: Path) -> dict[str, str]:
    return {"PCMD_DATABASE_URL": database_url, "PCMD_DATA_DIR": str(data_dir)}


def restored(engine: Engine) -> dict[str, set[str]]:
    """instanceID → sha256 of its attachment files."""
    found: dict[str, set[str]] = {}
    with transaction(engine) as s:
        rows = s.execute(
            select(Submission.instance_id, Attachment.sha256).outerjoin(
                Attachment, Attachment.submission_id == Submission.id
            )
        )
        for iid, sha in rows:
            found.setdefault(iid, set()).update([sha] if sha else [])
    return found


def test_backup__running_server_under_load__restore_holds_every_acknowledged_submission(
    settings: Settings, engine: Engine, reference_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "backups" / "pcmd.tar"
    with running_server(settings, engine) as server:
        phones = Phones(server)
        threads = [threading.Thread(target=phones.run) for _ in range(PHONES)]
        for thread in threads:
            thread.start()
        try:
            phones.wait_for(20)
            started = time.monotonic()
            backup = pcmd("backup", str(out), env=env_for(settings.database_url, settings.data_dir))
            finished = time.monotonic()
            phones.wait_for(phones.count() + 5)  # still posting after the backup
        finally:
            phones.stop.set()
            for thread in threads:
                thread.join()
    assert backup.returncode == 0, backup.stderr
    assert "Đã sao lưu (backed up)" in backup.stdout
    assert phones.refused == []
    during = [a for a in phones.acked if started < a[0] < finished]
    assert during, "no submission was acknowledged while the backup ran"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600

    new_dir = tmp_path / "new-machine"
    restore = pcmd("restore", str(out), env=env_for(reference_url, new_dir))
    assert restore.returncode == 0, restore.stderr
    assert "Đã khôi phục (restored)" in restore.stdout

    target = make_engine(reference_url)
    try:
        found = restored(target)
    finally:
        target.dispose()
    before = {iid: sha for when, iid, sha in phones.acked if when < started}
    assert len(before) >= 20
    assert {iid: found.get(iid) for iid in before} == {iid: {sha} for iid, sha in before.items()}
    store = FileStore(new_dir / "attachments")
    for shas in found.values():  # every restored submission has its files, byte for byte
        for sha in shas:
            assert hashlib.sha256(store.path_for(sha).read_bytes()).hexdigest() == sha
    assert (new_dir / "secret_key").read_bytes() == settings.secret_key_file.read_bytes()


def test_restore__installation_in_use__one_line_error_then_force(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    env = env_for(settings.database_url, settings.data_dir)
    with running_server(settings, engine) as server, httpx.Client(timeout=30) as client:
        assert post(client, server, outreach_xml(new_id())).status_code == 201
    out = tmp_path / "b.tar"
    assert pcmd("backup", str(out), env=env).returncode == 0

    refused = pcmd("restore", str(out), env=env)
    assert refused.returncode == 1
    assert refused.stderr.startswith("Lỗi (error): Cài đặt này không trống: 1 phiếu")
    assert "--force" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1

    forced = pcmd("restore", "--force", str(out), env=env)
    assert forced.returncode == 0, forced.stderr


def test_backup__existing_file__one_line_error(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    out = tmp_path / "b.tar"
    out.write_text("not mine to replace")
    result = pcmd("backup", str(out), env=env_for(settings.database_url, settings.data_dir))
    assert result.returncode == 1
    assert result.stderr.startswith("Lỗi (error): Tệp")
    assert "already exists" in result.stderr
    assert out.read_text() == "not mine to replace"
