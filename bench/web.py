"""Web benchmark: the pages a province office opens, at a million submissions, for 1 and 8 users.

    .venv/bin/python bench/web.py [-n 1000000] [--database-url URL] [--baseline 828ff81]
                                  [--requests 10] [--workdir /tmp/pcmd-bench-web]

The data is the pipeline benchmark's (bench/pipeline.py: the whole country, 2021–2026, its
register, reference data and targets), written by that checkout's own generator — on SQLite
--generate of them (50,000), copied under new ids until there are n, since the generator writes
only a few hundred a second on a busy machine — and followed by a first pipeline run, so every
indicator is stored. On SQLite the generated database is kept
in --workdir (`web-<tree>-<n>-<schema>.db`) and copied for each run, so reruns start in seconds; a
PostgreSQL database is emptied and filled each time.

Then `pcmd serve` starts as it does by default (its default workers unless --workers, its
scheduler on unless --no-scheduler), a national administrator signs in through the login form,
and each page is fetched by 1 user and then by 8 users at once (each user its own signed-in
session and connection), --requests times each: the dashboard, the review list (first page,
filtered by form and province, a deep page), a drill-down at country level (the first link from
the dashboard to an indicator's records), the quality page, the provinces side by side, one
record, and the indicator API. Printed: p50 and p95 per page and level of concurrency, the
server's CPU time per request (its processes' user + system time, which the machine's load moves
much less than the wall clock), the load. Before each page is measured, 8 unmeasured requests at
once warm every worker's kept figures; their slowest time and CPU are printed. Every answer must
be a 200; with --baseline the same runs on that commit's checkout too, and the ratios of the
p95s are printed.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
import web_pg
from baseline import env_for, load, ratio, run_pcmd, trees  # bench/ is not a package
from web_changes import Changes

PASSWORD = "bench-password-1629"
USERS = 8


# --- the data --------------------------------------------------------------------------------


def make_data(tree: Path, url: str, n: int, generated: int) -> None:
    """In this process (started with `tree` on the path): the pipeline benchmark's data, then
    a first pipeline run, with that checkout's own generator. Beyond `generated` submissions
    (the generator writes about 300 a second on a busy 2-core machine) the generated ones are
    copied, under new instanceIDs and ids, until there are `n` (SQLite only)."""
    gen = load_generator(tree)
    import random

    from pcmd.db.engine import make_engine
    from pcmd.db.migrate import upgrade

    rng = random.Random(1629)
    url = gen.fresh_database(url if url.startswith("postgresql") else None, Path(url[10:]).parent)
    engine = make_engine(url)
    upgrade(engine)
    world = gen.prepare(engine, "country", rng)
    gen.fill(engine, world, min(n, generated), rng)
    engine.dispose()
    if n > generated:
        copies = (
            web_pg.replicate(url, n // generated, COPIED, POINTERS)
            if url.startswith("postgresql")
            else replicate(url, n // generated)
        )
        print(f"  {generated:,} generated, copied to {copies * generated:,} submissions")
    first = gen.run_phase("first", url, False)
    print(f"  first pipeline run {first['seconds']:.0f} s, {first['values_written']:,} values")
    catch_up(gen, url)


def catch_up(gen: Any, url: str) -> None:
    """A pipeline run dated today: the generator dates its data and runs before today's month,
    and the server's scheduler would otherwise start that run (a long write) as the pages are
    measured. Validation is left out as in the pipeline benchmark (its issues are set by hand)."""
    from pcmd.db.engine import make_engine

    gen._no_validation()
    engine = make_engine(url)
    # tables a migration gained after the data was generated (a migration edited in place)
    import pcmd.db.facts  # noqa: F401  (its tables join the metadata)
    from pcmd.db.models import Base

    Base.metadata.create_all(engine)
    started = time.perf_counter()
    gen.pipeline_run.run_pipeline(engine)
    engine.dispose()
    print(f"  pipeline run dated today {time.perf_counter() - started:.0f} s")


def load_generator(tree: Path) -> Any:
    """bench/pipeline.py of checkout `tree`, as a module."""
    spec = importlib.util.spec_from_file_location("bench_pipeline", tree / "bench" / "pipeline.py")
    if spec is None or spec.loader is None:
        raise SystemExit(f"no generator in {tree}")
    gen: Any = importlib.util.module_from_spec(spec)
    sys.modules["bench_pipeline"] = gen  # its dataclasses look their module up
    spec.loader.exec_module(gen)
    return gen


COPIED = ("submissions", "submission_versions", "validation_issues")
# the columns that point at a copied table's id
POINTERS = {
    "submission_id": "submissions",
    "current_version_id": "submission_versions",
    "version_id": "submission_versions",
}


def replicate(url: str, copies: int) -> int:
    """Each submission, its versions and issues copied `copies - 1` times under new ids and
    instanceIDs (suffixed ~k), in one transaction; returns `copies`."""
    conn = sqlite3.connect(url[len("sqlite:///") :], isolation_level=None)
    conn.execute("PRAGMA foreign_keys=OFF")  # submissions and versions point at each other
    conn.execute("BEGIN")
    top = {t: conn.execute(f"SELECT max(id) FROM {t}").fetchone()[0] or 0 for t in COPIED}
    for k in range(1, copies):
        for table in COPIED:
            names = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
            values = []
            for name in names:
                if name == "id":
                    values.append(f"id + {k * top[table]}")
                elif name in POINTERS:
                    values.append(f"{name} + {k * top[POINTERS[name]]}")
                elif name == "instance_id":
                    values.append(f"instance_id || '~{k}'")
                else:
                    values.append(name)
            conn.execute(
                f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(values)} "
                f"FROM {table} WHERE id <= {top[table]}"
            )
    conn.execute("COMMIT")
    conn.close()
    return copies


def schema_fingerprint(tree: Path) -> str:
    """A short hash of the checkout's schema (models, fact tables, migrations): a kept database
    is reused only by code with the same schema (migrations are edited in place before release)."""
    digest = hashlib.sha256()
    db = tree / "src" / "pcmd" / "db"
    for path in [db / "models.py", db / "facts.py", *sorted(db.glob("migrations/versions/*.py"))]:
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def database_for(args: argparse.Namespace, label: str, tree: Path) -> tuple[str, Path]:
    """The database URL a run uses (filled), and the run's data folder."""
    run_dir = Path(tempfile.mkdtemp(prefix="pcmd-bench-web-run-"))
    Path(args.workdir).mkdir(parents=True, exist_ok=True)  # the server's log
    name = "baseline" if label.startswith("baseline") else "work"
    if args.database_url:
        return _postgres(args, name, tree), run_dir
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    cached = workdir / f"web-{name}-{args.n}-{schema_fingerprint(tree)}.db"
    if not cached.exists():
        building = workdir / "building"
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir()
        print(f"  generating {args.n:,} submissions into {cached} (once) …", flush=True)
        started = time.perf_counter()
        _generate(tree, f"sqlite:///{building / 'pcmd.db'}", args.n, args.generate)
        conn = sqlite3.connect(building / "pcmd.db")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        shutil.move(building / "pcmd.db", cached)
        print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)
    shutil.copy(cached, run_dir / "pcmd.db")
    return f"sqlite:///{run_dir / 'pcmd.db'}", run_dir


def _postgres(args: argparse.Namespace, name: str, tree: Path) -> str:
    """The URL's database made afresh from the kept one (built once, under a name with the
    schema's hash, as on SQLite)."""
    kept = web_pg.kept_name(args.database_url, name, args.n, schema_fingerprint(tree))
    if not web_pg.exists(args.database_url, kept):
        building = web_pg.create_empty(args.database_url, f"{kept[:54]}_building")
        print(f"  generating {args.n:,} submissions into {kept} (once) …", flush=True)
        started = time.perf_counter()
        _generate(tree, building, args.n, args.generate)
        web_pg.vacuum(building)
        web_pg.rename(args.database_url, f"{kept[:54]}_building", kept)
        print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    url = web_pg.copy_of(args.database_url, kept)
    print(f"  {url} copied from {kept} in {time.perf_counter() - started:.0f} s", flush=True)
    return url


def _generate(tree: Path, url: str, n: int, generate: int) -> None:
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            "--make-data",
            str(tree),
            "--database-url",
            url,
            "-n",
            str(n),
            "--generate",
            str(generate),
        ],
        env={**os.environ, **env_for(tree)},
        check=False,
    )
    if done.returncode:
        raise SystemExit("generating the data failed")


# --- the server and its users ------------------------------------------------------------------


def signed_in(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=True, timeout=120)
    page = client.get("/login")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    if not found:
        raise SystemExit("the login page has no CSRF token")
    answer = client.post(
        "/login",
        data={"csrf": found.group(1), "username": "bench", "password": PASSWORD, "next": "/"},
    )
    if answer.status_code != 200 or answer.url.path == "/login":
        raise SystemExit(f"sign-in failed: {answer.status_code}")
    return client


def pages(url: str, client: httpx.Client) -> dict[str, str]:
    """The pages measured, found in this database (a record, a deep page, a drill-down)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        low, high = conn.execute(text("SELECT min(id), max(id) FROM submissions")).one()
        total = conn.execute(select(func.count()).select_from(text("submissions"))).scalar()
    engine.dispose()
    dashboard = client.get("/dashboard").text
    drill = re.search(r'href="(/submissions\?indicator=[^"]+)"', dashboard)
    deep_after = low + (high - low) // 50  # near the end of the newest-first list
    return {
        "dashboard": "/dashboard",
        "review list": "/submissions",
        "review list, filtered": "/submissions?form=pcmd_outreach&province=51",
        "review list, deep page": f"/submissions?after={deep_after}&page={(total or 0) // 60}",
        "drill-down, country": (drill.group(1) if drill else "/submissions").replace("&amp;", "&"),
        "quality": "/quality",
        "provinces": "/provinces",
        "a record": f"/submissions/{(low + high) // 2}",
        "indicator API": "/api/v1/indicators?org=VN&period=2026",
    }


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by the server and its worker processes."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += used.get(current, 0.0)
        todo.extend(children.get(current, []))
    return total


def fetch(client: httpx.Client, path: str, times: list[float], errors: list[str]) -> None:
    started = time.perf_counter()
    try:
        answer = client.get(path)
    except httpx.HTTPError as exc:  # a timeout: counted at the time it took, and said
        errors.append(f"{path}: {exc.__class__.__name__}")
        times.append(time.perf_counter() - started)
        return
    times.append(time.perf_counter() - started)
    if answer.status_code != 200:
        errors.append(f"{path}: {answer.status_code}")


def measure_page(
    clients: list[httpx.Client], path: str, users: int, requests: int
) -> tuple[float, float]:
    times: list[float] = []
    errors: list[str] = []

    def user(client: httpx.Client) -> None:
        for _ in range(requests):
            fetch(client, path, times, errors)

    threads = [threading.Thread(target=user, args=(c,)) for c in clients[:users]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        print(f"    {len(errors)} of {len(times)} not answered 200: {errors[:2]}")
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def measure(args: argparse.Namespace, label: str, tree: Path) -> dict[tuple[str, int], float]:
    """One checkout: its data, its server, every page at 1 and 8 users; the p95s."""
    url, run_dir = database_for(args, label, tree)
    env = {
        "PCMD_DATABASE_URL": url,
        "PCMD_DATA_DIR": str(run_dir),
        "PCMD_BASE_URL": f"http://127.0.0.1:{args.port}",
        "PCMD_LOG_LEVEL": "WARNING",
        "BENCH_PASSWORD": PASSWORD,
        **({} if args.scheduler else {"PCMD_SCHEDULER": "false"}),
    }
    run_pcmd(env, "init", "--skip-forms", tree=tree)
    run_pcmd(env, "user", "create", "bench", "--role", "admin", "--org", "VN",
             "--password-env", "BENCH_PASSWORD", tree=tree)  # fmt: skip
    log = (
        Path(args.workdir) / f"server-{'baseline' if label.startswith('baseline') else 'work'}.log"
    )
    print(f"  server log: {log}")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pcmd",
            "serve",
            "--port",
            str(args.port),
            *(["--workers", str(args.workers)] if args.workers else []),
        ],
        env={**os.environ, **env_for(tree), **env},
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    base = f"http://127.0.0.1:{args.port}"
    database = url.rsplit("/", 1)[1] if url.startswith("postgresql") else ""
    sampler = web_pg.DatabaseCpu(database) if database else None

    def database_cpu() -> float:
        return sampler.total() if sampler else 0.0

    def database_says(before: float, requests: int) -> str:
        """PostgreSQL's own CPU a request (its backends are not the server's children)."""
        used = (database_cpu() - before) / max(requests, 1) * 1000
        each = "/request" if requests else ""  # 0: the total (the warm-up)
        return f", database CPU {used:5.1f} ms{each}" if database else ""

    p95s: dict[tuple[str, int], float] = {}
    clients: list[httpx.Client] = []
    changes: Changes | None = None
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"{base}/login", timeout=5)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise SystemExit("server did not start") from None
                time.sleep(0.5)
        clients = [signed_in(base) for _ in range(USERS)]
        if args.changes_per_second:
            changes = Changes(url, args.changes_per_second).start()
        for name, path in pages(url, clients[0]).items():
            if args.pages and name not in args.pages:
                continue
            cpu, db_cpu = server_cpu(server.pid), database_cpu()
            started = time.perf_counter()
            # unmeasured: the first reads warm the caches — 8 at once, so that every worker
            # process computes its kept figures (printed: the slowest and all their CPU)
            warm = [threading.Thread(target=c.get, args=(path,)) for c in clients]
            for thread in warm:
                thread.start()
            for thread in warm:
                thread.join()
            slowest = (time.perf_counter() - started) * 1000
            print(
                f"  {name:24} warm-up, {USERS} at once: {slowest:7.0f} ms, "
                f"server CPU {(server_cpu(server.pid) - cpu) * 1000:7.0f} ms"
                f"{database_says(db_cpu, 0)}  ({load()})"
            )
            for users in (1, USERS):
                cpu, db_cpu = server_cpu(server.pid), database_cpu()
                p50, p95 = measure_page(clients, path, users, args.requests)
                cpu_each = (server_cpu(server.pid) - cpu) / (users * args.requests) * 1000
                db_each = database_says(db_cpu, users * args.requests)
                p95s[(name, users)] = p95
                print(
                    f"  {name:24} {users} user{'s' if users > 1 else ' '}: p50 {p50:7.0f} ms, "
                    f"p95 {p95:7.0f} ms, server CPU {cpu_each:5.1f} ms/request{db_each}  "
                    f" {path[:60]}  "
                    f"({load()})",
                    flush=True,
                )
    finally:
        for client in clients:
            client.close()
        if sampler:
            sampler.stop()
        if changes:
            print(f"  {changes.stop():,} records changed while measured")
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(run_dir, ignore_errors=True)
    return p95s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=1_000_000, help="submissions (default 1,000,000)")
    parser.add_argument(
        "--database-url",
        help="PostgreSQL: this database is made afresh from a kept copy (default SQLite)",
    )
    parser.add_argument("--workdir", default="/tmp/pcmd-bench-web", help="SQLite data kept here")
    parser.add_argument("--requests", type=int, default=10, help="per user and page")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--baseline", help="also run this commit (a git worktree)")
    parser.add_argument("--workers", type=int, help="server processes (default: pcmd's own)")
    parser.add_argument(
        "--no-scheduler",
        dest="scheduler",
        action="store_false",
        help="serve without the scheduler (a database the pipeline has not caught up with)",
    )
    parser.add_argument(
        "--generate", type=int, default=50_000, help="generate this many, copy the rest"
    )
    parser.add_argument("--pages", nargs="*", help="only these pages (their printed names)")
    parser.add_argument(
        "--changes-per-second",
        type=float,
        default=0,
        help="records changed (a review decision each) while the pages are measured",
    )
    parser.add_argument("--make-data", help=argparse.SUPPRESS)
    parser.add_argument("--catch-up", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.catch_up:  # a pipeline run dated today on an already generated database
        catch_up(load_generator(Path(args.catch_up)), args.database_url)
        return
    if args.make_data:
        make_data(Path(args.make_data), args.database_url, args.n, args.generate)
        return
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; database: {(args.database_url or 'sqlite').split(':')[0]}; "
        f"{args.n:,} submissions; pcmd serve as it starts by default"
        f"{'' if args.scheduler else ' but without its scheduler'}; {load()}"
    )
    results = {}
    for label, tree in trees(args.baseline):
        print(f"{label} ({tree}):", flush=True)
        results[label] = measure(args, label, tree)
    if args.baseline:
        base, new = (results[label] for label, _tree in trees(args.baseline))
        for key in new:
            if key in base:
                print(ratio(f"{key[0]}, {key[1]} users, p95 ms", base[key], new[key],
                            higher_is_better=False))  # fmt: skip


if __name__ == "__main__":
    main()
