"""OData benchmark: the Central-compatible feed a province reads into Excel, Power BI or pyodk,
over a form with a repeat (households and their people), at n households.

    .venv/bin/python bench/odata.py [-n 20000] [--people 3] [--workdir /tmp/pcmd-bench-odata]
                                    [--baseline 5f4727f --rounds 2]

The data is made once in --workdir (`odata-<n>-<people>.db`, SQLite, kept and copied for each
run): `pcmd init --skip-forms`, the household form, and n households sent through the ingest,
one a minute, each with --people people. Then `pcmd serve --workers 1` starts on a copy, and
an administrator reads, with a session's bearer token as pyodk does:

- the Submissions table's first page (`$top=250`), and the people table's first page;
- five more pages of the people table, following `@odata.nextLink` as a client does;
- each whole table without `$top` (as pyodk's get_table and a first Power Query load read it).

Printed: the median time of each (ms), the rows and bytes of each whole table, and the server
process's peak memory (VmHWM, MB) at the end. Every answer must be a 200 and every whole table
must hold exactly n (or n × people) rows.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baseline import load, run_pcmd, side_by_side  # bench/ is not a package

PASSWORD = "bench-password-1629"
FORM = """
| survey |
| | type | name | label |
| | begin_group | where | Địa bàn |
| | select_one_from_file communes.csv | commune | Xã |
| | end_group | | |
| | begin_group | hh | Hộ |
| | integer | size | Số người |
| | begin_repeat | people | Người |
| | integer | age | Tuổi |
| | text | role | Vai trò |
| | end_repeat | | |
| | end_group | | |
| settings |
| | form_id | version |
| | hh_visit | 1 |
"""
PAGES = 5  # pages of the people table followed by nextLink
TIMES = 5  # first pages fetched, for a median


def household(n: int, people: int) -> bytes:
    rows = "".join(
        f"<people><age>{20 + (n + i) % 60}</age><role>thành viên {i}</role></people>"
        for i in range(people)
    )
    return (
        '<?xml version="1.0"?><hh_visit id="hh_visit" version="1">'
        f"<where><commune>21025</commune></where><hh><size>{people}</size>{rows}</hh>"
        f"<meta><instanceID>uuid:00000000-0000-4000-8000-{n:012d}</instanceID></meta>"
        "</hh_visit>"
    ).encode()


def make_data(path: Path, n: int, people: int) -> None:
    """n households through the ingest, into a new SQLite database at `path`."""
    import datetime as dt

    from pcmd.db.engine import make_engine, transaction
    from pcmd.forms.convert import convert_workbook
    from pcmd.forms.registry import refresh_media, store_build
    from pcmd.ingest.files import FileStore
    from pcmd.ingest.incoming import Incoming
    from pcmd.ingest.submit import ingest_with_retry

    work = path.with_suffix(".making")
    shutil.rmtree(work, ignore_errors=True)
    env = {"PCMD_DATABASE_URL": f"sqlite:///{work / 'pcmd.db'}", "PCMD_DATA_DIR": str(work)}
    run_pcmd(env, "init", "--skip-forms")
    engine = make_engine(env["PCMD_DATABASE_URL"])
    made = convert_workbook(FORM.encode(), "hh_visit.md", validate=False)
    with transaction(engine, write=True) as s:
        store_build(s, made)
        refresh_media(s)
    store = FileStore(work / "attachments")
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for i in range(n):
        sent = start + dt.timedelta(minutes=i)
        incoming = Incoming(household(i, people), source="openrosa", submitted_at=sent)
        ingest_with_retry(engine, store, incoming)
        if i and i % 5000 == 0:
            print(f"  made {i:,} households", flush=True)
    engine.dispose()
    shutil.copyfile(work / "pcmd.db", path)
    shutil.rmtree(work)


def peak_mb(pid: int) -> float:
    """The largest VmHWM among the server process and its children (the worker)."""
    peaks = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(entry.name) == pid or fields.get("PPid", "").strip() == str(pid):
            peaks.append(int(fields.get("VmHWM", "0 kB").split()[0]) / 1024)
    return max(peaks, default=0.0)


def timed(client: httpx.Client, url: str, **params: str) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    answer = client.get(url, params=params) if params else client.get(url)  # params= drops a query
    took = (time.perf_counter() - started) * 1000
    if answer.status_code != 200:
        raise SystemExit(f"{url} {params}: {answer.status_code} {answer.text[:300]}")
    return took, answer


def measure(args: argparse.Namespace, data: Path) -> None:
    run = Path(args.workdir) / "run"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    shutil.copyfile(data, run / "pcmd.db")
    env = {
        "PCMD_DATABASE_URL": f"sqlite:///{run / 'pcmd.db'}",
        "PCMD_DATA_DIR": str(run),
        "PCMD_BASE_URL": f"http://127.0.0.1:{args.port}",
        "PCMD_LOG_LEVEL": "WARNING",
        "PCMD_SCHEDULER": "false",
        "BENCH_PASSWORD": PASSWORD,
    }
    run_pcmd(env, "init", "--skip-forms")  # the schema of this checkout (the data may be older)
    run_pcmd(env, "user", "create", "bench", "--role", "admin", "--org", "VN",
             "--password-env", "BENCH_PASSWORD")  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "pcmd", "serve", "--port", str(args.port), "--workers", "1"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=(run / "server.log").open("w"),
    )
    base = f"http://127.0.0.1:{args.port}/v1/projects/1/forms/hh_visit.svc"
    try:
        root = f"http://127.0.0.1:{args.port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                session = httpx.post(
                    f"{root}/v1/sessions", json={"email": "bench", "password": PASSWORD}
                )
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    log = (run / "server.log").read_text()[-2000:]
                    raise SystemExit(f"server did not start:\n{log}") from None
                time.sleep(0.5)
        # a session's bearer token, as pyodk reads (Basic costs a password check a request)
        token = session.json()["token"]
        client = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=600)
        client.get(f"{base}/Submissions", params={"$top": "1"})  # a warm connection pool
        for table in ("Submissions", "Submissions.hh.people"):
            firsts = [timed(client, f"{base}/{table}", **{"$top": "250"})[0] for _ in range(TIMES)]
            print(f"first page of {table}: {statistics.median(firsts):.1f} ms", flush=True)
        link: str | None = timed(client, f"{base}/Submissions.hh.people", **{"$top": "250"})[
            1
        ].json()["@odata.nextLink"]
        nexts = []
        for _ in range(PAGES):
            assert link is not None
            took, answer = timed(client, link)
            nexts.append(took)
            link = answer.json().get("@odata.nextLink")
        print(f"next pages of the people table: {statistics.median(nexts):.1f} ms", flush=True)
        for table, rows in (
            ("Submissions", args.n),
            ("Submissions.hh.people", args.n * args.people),
        ):
            took, answer = timed(client, f"{base}/{table}")
            got = len(answer.json()["value"])
            if got != rows:
                raise SystemExit(f"{table}: {got:,} rows, not {rows:,}")
            print(
                f"whole {table}: {took:.0f} ms, {got:,} rows, {len(answer.content) / 1e6:.1f} MB",
                flush=True,
            )
        # ordered by a field with no index: sorted once, then read by id (odata_feed.by_ids)
        took, answer = timed(
            client, f"{base}/Submissions", **{"$orderby": "__system/updatedAt desc"}
        )
        got = len(answer.json()["value"])
        if got != args.n:
            raise SystemExit(f"Submissions by updatedAt: {got:,} rows, not {args.n:,}")
        print(f"whole Submissions by updatedAt: {took:.0f} ms, {got:,} rows", flush=True)
        print(f"server peak memory: {peak_mb(server.pid):.0f} MB; {load()}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=60)


FIGURES = [
    ("first page of Submissions (ms)", r"first page of Submissions: ([\d.]+) ms", False),
    ("first page of people (ms)", r"first page of Submissions\.hh\.people: ([\d.]+) ms", False),
    ("next pages of people (ms)", r"next pages of the people table: ([\d.]+) ms", False),
    ("whole Submissions (ms)", r"whole Submissions: ([\d.]+) ms", False),
    ("whole people (ms)", r"whole Submissions\.hh\.people: ([\d.]+) ms", False),
    ("whole Submissions by updatedAt (ms)", r"by updatedAt: ([\d.]+) ms", False),
    ("server peak memory (MB)", r"server peak memory: ([\d.]+) MB", False),
]


def main() -> None:
    if side_by_side("odata.py", FIGURES, own_script=False):  # newer than the baselines
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=20_000, help="households")
    parser.add_argument("--people", type=int, default=3, help="people in each household")
    parser.add_argument("--workdir", default="/tmp/pcmd-bench-odata")
    parser.add_argument("--port", type=int, default=0, help="default: a free one")
    args = parser.parse_args()
    if not args.port:
        with socket.socket() as free:
            free.bind(("127.0.0.1", 0))
            args.port = free.getsockname()[1]
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    data = Path(args.workdir) / f"odata-{args.n}-{args.people}.db"
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    if not data.exists():
        print(f"making {args.n:,} households of {args.people} (kept in {data})", flush=True)
        make_data(data, args.n, args.people)
    print(f"{args.n:,} households, {args.n * args.people:,} people; {load()}", flush=True)
    measure(args, data)


if __name__ == "__main__":
    main()
