"""`pcmd source …`, `pcmd sync …` as a user runs them (real processes), and a sync killed
mid-way and run again, which must end with the same database as one uninterrupted run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from pcmd.db.engine import make_engine, transaction
from pcmd.db.migrate import upgrade
from pcmd.db.models import SyncState
from pcmd.settings import Settings
from pcmd.sync.sources import add_source
from tests.cli.test_main import pcmd
from tests.server.collect import JPEG, load_forms, new_id
from tests.sync.fakes import kobo as fk
from tests.sync.fakes.kobo import outreach_answers
from tests.sync.fixtures import TOKEN_ENV, KoboEnv, dump, submissions


@pytest.fixture
def cli_env(settings: Settings, kobo: KoboEnv) -> dict[str, str]:
    return {
        "PCMD_DATABASE_URL": settings.database_url,
        "PCMD_DATA_DIR": str(settings.data_dir),
        TOKEN_ENV: fk.TOKEN,
    }


def test_source_add_list_remove__secrets_only_by_name(
    cli_env: dict[str, str], kobo: KoboEnv
) -> None:
    env = {**cli_env, "CENTRAL_PW": "mat-khau-bi-mat"}
    added = pcmd(
        "source", "add", "central", "central-hn", "--url", "https://central.hanoi.example.vn/",
        "--project", "4", "--form", "pcmd_training", "--user-env", "CENTRAL_USER",
        "--password-env", "CENTRAL_PW", "--interval", "30", env=env,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert added.stdout.splitlines()[0] == (
        "Đã thêm nguồn (added source) central-hn: central https://central.hanoi.example.vn "
        "project 4, form pcmd_training → pcmd_training, mỗi (every) 30 phút (min)"
    )
    listed = pcmd("source", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        "central-hn           central  https://central.hanoi.example.vn project 4 → pcmd_training, "
        "30 min, user $CENTRAL_USER, password $CENTRAL_PW",
        f"kobo-qn              kobo     {kobo.url} asset "
        f"{fk.ASSET} → pcmd_outreach, 15 min, token $KOBO_QN_TOKEN, webhook $KOBO_QN_HOOK_SECRET",
    ]
    assert "mat-khau-bi-mat" not in listed.stdout + added.stdout
    again = pcmd(
        "source", "add", "kobo", "kobo-qn", "--url", "https://kf.kobotoolbox.org",
        "--token-env", "T", "--asset", "aX", "--form", "pcmd_outreach", env=env,
    )  # fmt: skip
    assert again.returncode == 1
    assert "a source named kobo-qn exists" in again.stderr
    unknown_form = pcmd(
        "source", "add", "kobo", "kobo-2", "--url", "https://kf.kobotoolbox.org",
        "--token-env", "T", "--asset", "aX", "--form", "pcmd_khac", env=env,
    )  # fmt: skip
    assert unknown_form.returncode == 1
    assert "no form 'pcmd_khac'" in unknown_form.stderr
    reserved = pcmd(
        "source", "add", "kobo", "pipeline", "--url", "https://kf.kobotoolbox.org",
        "--token-env", "T", "--asset", "aX", "--form", "pcmd_outreach", env=env,
    )  # fmt: skip
    assert reserved.returncode == 1
    assert "the name 'pipeline' is reserved" in reserved.stderr
    removed = pcmd("source", "remove", "central-hn", env=env)
    assert removed.returncode == 0, removed.stderr
    assert "central-hn" not in pcmd("source", "list", env=env).stdout


def test_sync_run_and_status__summary_line_then_error_shown(
    cli_env: dict[str, str], kobo: KoboEnv, engine: Engine
) -> None:
    kobo.fake.add(outreach_answers(new_id(), photo="1700000000000.jpg"), photo=JPEG)
    kobo.fake.add(outreach_answers(new_id()))
    result = pcmd("sync", "run", env=cli_env)
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert line.startswith(
        "kobo-qn: mới (new) 2, cập nhật (updated) 0, xoá (deleted) 0, không đổi (unchanged) 0, "
    )
    assert line.endswith(" s")
    status = pcmd("sync", "status", env=cli_env)
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0] == "kobo-qn (kobo)"
    assert lines[1].startswith('  con trỏ (cursor): {"last_id": 104, "last_scan_at": "')
    assert lines[2].startswith("  lần gần nhất (last run): thành công (succeeded), 20")
    assert lines[3].startswith("  thành công gần nhất (last success): 20")
    assert len(lines) == 4

    bad = pcmd("sync", "run", "kobo-qn", env={**cli_env, TOKEN_ENV: "sai-khoa-0000"})
    assert bad.returncode == 1
    assert "HTTP 401" in bad.stdout
    assert "KOBO_QN_TOKEN" in bad.stdout
    assert "sai-khoa-0000" not in bad.stdout + bad.stderr
    assert bad.stderr.startswith("Lỗi (error): 1 nguồn lỗi (source(s) failed): kobo-qn")
    status = pcmd("sync", "status", env=cli_env).stdout.splitlines()
    assert status[2].startswith("  lần gần nhất (last run): lỗi (failed), 20")
    assert status[3] == lines[3]  # the success before it
    assert "KoboToolbox refused the API key" in status[4]
    # a later success is the last outcome, and the old error is no longer shown
    assert pcmd("sync", "run", "kobo-qn", env=cli_env).returncode == 0
    status = pcmd("sync", "status", env=cli_env).stdout.splitlines()
    assert status[2].startswith("  lần gần nhất (last run): thành công (succeeded), 20")
    assert len(status) == 4
    assert "refused the API key" not in "\n".join(status)


# --- killed mid-sync -------------------------------------------------------------------------


def last_id(engine: Engine) -> int:
    with transaction(engine) as session:
        state = session.get(SyncState, "kobo-qn")
        return int(state.cursor.get("last_id", 0)) if state else 0


def test_sync_run__killed_at_random_moments_then_rerun__same_database_as_one_run(
    cli_env: dict[str, str],
    kobo: KoboEnv,
    engine: Engine,
    settings: Settings,
    reference_url: str,
    tmp_path: Path,
) -> None:
    rng = random.Random(1629)
    for i in range(900):
        photo = f"17000000{i:05d}.jpg" if i % 10 == 0 else ""
        kobo.fake.add(
            outreach_answers(new_id(), students=i % 90, photo=photo),
            photo=JPEG + i.to_bytes(2, "big") if photo else None,
        )
        if i % 7 == 0:
            kobo.fake.validate(kobo.fake.ids[-1], "validation_status_approved")
    kobo.fake.edit(kobo.fake.ids[3], {"reach/n_students": "77"})
    kobo.fake.max_limit = 30  # 30 pages
    kobo.fake.page_delay = 0.02

    # the reference: one uninterrupted run on another database
    reference = make_engine(reference_url)
    upgrade(reference)
    load_forms(reference)
    with transaction(reference, write=True) as session:
        add_source(
            session,
            name="kobo-qn",
            kind="kobo",
            url=kobo.url,
            form_id="pcmd_outreach",
            asset_uid=fk.ASSET,
            token_env=TOKEN_ENV,
            webhook_secret_env="KOBO_QN_HOOK_SECRET",
        )
    ref_env = {
        **cli_env,
        "PCMD_DATABASE_URL": reference_url,
        "PCMD_DATA_DIR": str(tmp_path / "reference"),
    }
    done = pcmd("sync", "run", env=ref_env)
    assert done.returncode == 0, done.stderr
    assert "mới (new) 900," in done.stdout
    expected = dump(reference)
    reference.dispose()

    # the victim: SIGKILLed three times, each once its cursor has passed a point (about 20 %,
    # 45 % and 70 % of the way) plus a random wait inside a page, then run to the end
    ids = kobo.fake.ids
    for share in (0.2, 0.45, 0.7):
        target = ids[int(len(ids) * share) + rng.randrange(30)]
        proc = subprocess.Popen(
            [sys.executable, "-m", "pcmd", "sync", "run"],
            env={**os.environ, **cli_env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while last_id(engine) < target and proc.poll() is None:
            assert time.monotonic() < deadline, "the sync made no progress"
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.03))  # a page takes ≥ 20 ms: land inside one
        assert proc.poll() is None, "the sync ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        assert proc.returncode == -signal.SIGKILL
    interrupted_at = last_id(engine)
    assert 0 < interrupted_at < ids[-1]  # it really stopped part-way
    final = pcmd("sync", "run", env=cli_env)
    assert final.returncode == 0, final.stderr
    assert dump(engine) == expected
    subs = submissions(engine)
    assert len(subs) == 900
    assert sum(1 for s in subs.values() if s["files"]) == 90
    assert (
        sum(1 for s in subs.values() if s["review_state"] == "approved") == 129
    )  # i = 0, 7, … 896


def test_sync_run__on_a_terminal__progress_bar_then_summary(
    cli_env: dict[str, str], kobo: KoboEnv
) -> None:
    import pty

    for i in range(30):
        kobo.fake.add(outreach_answers(new_id(), students=i))
    kobo.fake.max_limit = 10  # three pages: the bar moves 10, 20, 30 of 30
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pcmd", "sync", "run", "kobo-qn"],
        env={**os.environ, **cli_env, "COLUMNS": "120"},
        stdout=child,
        stderr=child,
        stdin=subprocess.DEVNULL,
    )
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 4096)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    assert proc.wait(timeout=60) == 0
    screen = b"".join(chunks).decode()
    assert "kobo-qn" in screen
    assert "kobo-qn  [####################################]  30/30" in screen  # at the end
    assert "10/30" in screen  # after the first page of three
    assert "kobo-qn: mới (new) 30, cập nhật (updated) 0" in screen


def test_scheduler_command__syncs_sources_then_stops_on_sigterm(
    cli_env: dict[str, str], kobo: KoboEnv, engine: Engine
) -> None:
    from pcmd.db.models import SchedulerLock

    for i in range(3):
        kobo.fake.add(outreach_answers(new_id(), students=i))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pcmd", "scheduler"],
        env={**os.environ, **cli_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(submissions(engine)) < 3:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the scheduler did not sync"
            time.sleep(0.2)
        with transaction(engine) as session:
            lock = session.get(SchedulerLock, "scheduler")
            assert lock is not None
            holder = lock.holder
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"as {holder}" in out
    with transaction(engine) as session:
        assert session.get(SchedulerLock, "scheduler") is None  # released on the way out
