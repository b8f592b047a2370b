"""Sync benchmark: N records pulled from the fake KoboToolbox over HTTP on localhost.

    .venv/bin/python bench/sync.py [--records 20000 100000] [--database-url URL]
    .venv/bin/python bench/sync.py --records 20000 --baseline 828ff81 --rounds 3   # paired

For each N, the fake server (tests/sync/fakes/kobo.py, the one the tests use: keyset paging,
1,000 records a page) runs in a process of its own holding N outreach records, and a fresh
process runs `pcmd`'s real sync (sync_source: mapping, instance XML, the one ingest, the record
map, a cursor per page) into an empty database (SQLite in a temporary folder unless
--database-url is given; a PostgreSQL database is emptied first). The worker prints records/s
and its peak memory: the resident set (ru_maxrss) before and after the sync, so the sync's own
growth shows apart from the interpreter and its imports. Then it checks that the database holds
exactly N submissions, and that a second sync finds all N unchanged.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the fake server and the form loader live under tests/


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def worker(records: int, url: str, database_url: str, data_dir: str) -> None:
    from sqlalchemy import func, select, text
    from tests.server.collect import load_forms
    from tests.sync.fakes.kobo import ASSET, TOKEN

    from pcmd.db.engine import make_engine, transaction
    from pcmd.db.migrate import upgrade
    from pcmd.db.models import Submission
    from pcmd.ingest.files import FileStore
    from pcmd.settings import load_settings
    from pcmd.sync.runner import sync_source
    from pcmd.sync.sources import add_source

    settings = load_settings(
        {"database_url": database_url, "data_dir": data_dir, "scheduler": False}, environ={}
    )
    engine = make_engine(database_url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade(engine)
    load_forms(engine)
    with transaction(engine, write=True) as session:
        source = add_source(
            session,
            name="bench-kobo",
            kind="kobo",
            url=url,
            form_id="pcmd_outreach",
            asset_uid=ASSET,
            token_env="BENCH_KOBO_TOKEN",
        )
    store = FileStore(settings.data_dir / "attachments")
    environ = {"BENCH_KOBO_TOKEN": TOKEN}
    before = maxrss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    report = sync_source(engine, store, source, settings, environ=environ)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    after = maxrss_mb()
    if report.error:
        raise SystemExit(f"sync failed: {report.error}")
    with transaction(engine) as session:
        stored = session.scalar(select(func.count()).select_from(Submission))
    again = sync_source(engine, store, source, settings, environ=environ)
    print(
        json.dumps(
            {
                "records": records,
                "new": report.new,
                "stored": stored,
                "seconds": round(seconds, 2),
                "per_second": round(records / seconds),
                "cpu_seconds": round(cpu, 2),
                "rss_before_mb": round(before, 1),
                "rss_peak_mb": round(after, 1),
                "second_run_new": again.new + again.updated + again.deleted,
                "second_run_unchanged": again.unchanged,
                "second_run_seconds": round(again.seconds, 2),
                "database": engine.dialect.name,
            }
        ),
        flush=True,
    )
    engine.dispose()


# The worker of any checkout (its bench/sync.py `worker`, importing its own pcmd): a baseline's
# own script cannot be trusted to start it (before 1a6eb98 it let the working tree's pcmd in).
BOOT = (
    "import sys; tree = sys.argv[1]; sys.path[:0] = [tree + '/src', tree, tree + '/bench']; "
    "import sync; sync.worker(int(sys.argv[2]), *sys.argv[3:])"
)


def run_size(records: int, database_url: str | None, tree: Path = ROOT) -> dict[str, object]:
    port = free_port()
    fake = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.sync.fakes.kobo",
            "--records",
            str(records),
            "--port",
            str(port),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert fake.stdout is not None
        line = fake.stdout.readline()
        if not line.startswith("ready"):
            raise SystemExit(f"fake server did not start: {line!r}")
        deadline = time.monotonic() + 30
        while True:  # uvicorn binds after "ready"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        with tempfile.TemporaryDirectory(prefix="pcmd-bench-sync-") as tmp:
            url = database_url or f"sqlite:///{tmp}/pcmd.db"
            done = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    BOOT,
                    str(tree),
                    str(records),
                    f"http://127.0.0.1:{port}",
                    url,
                    tmp,
                ],
                cwd=tree,
                capture_output=True,
                text=True,
                check=False,
                env={**os.environ, "PYTHONPATH": os.pathsep.join((str(tree / "src"), str(tree)))},
            )
            if done.returncode:
                raise SystemExit(f"worker failed:\n{done.stderr}")
            result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
            return result
    finally:
        fake.terminate()
        fake.wait(timeout=10)


def paired(baseline: str, rounds: int, records: int, database_url: str | None) -> None:
    """The baseline's worker and this checkout's, alternating, each on its own pcmd, against
    this checkout's fake server; CPU µs a record and records/s, then the medians' ratio."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from baseline import load, ratio, trees  # bench/ is not a package

    found: dict[str, list[tuple[float, float]]] = {}
    for _round in range(rounds):
        for label, tree in trees(baseline):
            r = run_size(records, database_url, tree)
            cpu_us = float(str(r["cpu_seconds"])) / records * 1e6
            found.setdefault(label, []).append((cpu_us, float(str(r["per_second"]))))
            print(
                f"{label:>22}: {r['database']} {records} records, {cpu_us:.0f} µs CPU a record, "
                f"{r['per_second']} records/s, RSS {r['rss_before_mb']} → {r['rss_peak_mb']} MB;"
                f" {load()}",
                flush=True,
            )
    base, new = found.values()
    print(f"ratios (medians of {rounds} run(s) each; {load()}):")
    for i, name, better in ((0, "CPU µs a record", False), (1, "records/s", True)):
        b, w = (statistics.median(run[i] for run in side) for side in (base, new))
        print("  " + ratio(name, b, w, higher_is_better=better))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--database-url", help="default: SQLite in a temporary folder")
    parser.add_argument("--baseline", help="a commit to run side by side (first size only)")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    if args.baseline:
        paired(args.baseline, args.rounds, args.records[0], args.database_url)
        return
    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    )
    print(
        f"{'records':>8} {'db':>10} {'seconds':>8} {'records/s':>10} {'CPU s':>6} "
        f"{'RSS before':>11} {'RSS peak':>9} {'rerun (unchanged, s)':>21}"
    )
    for n in args.records:
        r = run_size(n, args.database_url)
        if r["stored"] != n or r["new"] != n or r["second_run_new"] != 0:
            raise SystemExit(f"wrong counts: {r}")
        print(
            f"{n:>8} {r['database']:>10} {r['seconds']:>8} {r['per_second']:>10} "
            f"{r['cpu_seconds']:>6} "
            f"{r['rss_before_mb']:>9} MB {r['rss_peak_mb']:>6} MB "
            f"{r['second_run_unchanged']:>10}, {r['second_run_seconds']} s"
        )


if __name__ == "__main__":
    main()
