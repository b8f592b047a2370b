"""Ingest benchmark: N distinct submissions sent as ODK Collect sends them, at concurrency 1 and 8.

    .venv/bin/python bench/ingest.py [-n 4000] [--workers 2] [--database-url URL]
                                     [--photo-kb K] [--scheduler] [--baseline 828ff81 --rounds 2]

It starts `pcmd serve` on a fresh database (SQLite in a temporary folder unless --database-url
is given; a PostgreSQL database is emptied first), creates an app user, then for each
submission does what Collect does: HEAD …/submission (expects 204), then a multipart POST
with the instance XML (expects 201); ten instances share a connection, like an upload session.
The client is a small asyncio HTTP/1.1 client with pre-built request bytes, so the load
generator takes as little of the 2 cores as possible. It prints submissions/s and p50/p95/p99
latency (HEAD + POST), then checks that the database holds exactly the submissions sent: none
lost, none doubled.

`--photo-kb K` adds a photo of K kB (different bytes each time) to every submission, so each one
also writes, syncs and renames a file. The server runs without its scheduler unless
`--scheduler` is given (then the indicators are updated while the phones send, as in production).
`--baseline COMMIT` runs the same on that commit's checkout (a git worktree) too, alternating
with this one `--rounds` times, and prints the ratios of the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from pcmd.db.models import Submission

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baseline import env_for, load, ratio, run_pcmd, trees  # bench/ is not a package

ROOT = Path(__file__).resolve().parents[1]
BOUNDARY = "pcmdbenchboundary7MA4YWxkTrZu0gW"
SESSION = 10  # instances a phone sends per upload session (one connection)
XML_TEMPLATE = (
    '<?xml version="1.0"?><pcmd_outreach xmlns:jr="http://openrosa.org/javarosa" '
    'id="pcmd_outreach" version="2026112301"><start>2026-11-20T08:00:00.000+07:00</start>'
    "<end>2026-11-20T08:20:00.000+07:00</end><today>2026-11-20</today>"
    "<deviceid>collect:bench{client:08d}</deviceid><username>bench</username>"
    "<where><province>51</province><commune>21025</commune></where>"
    "<reporter_org>phu_nu</reporter_org><activity_date>2026-11-{day:02d}</activity_date>"
    "<channel>hoi_nghi</channel><setting>truong_hoc</setting><topics>phap_luat hiv_sti</topics>"
    "<integrated>khong</integrated><reach><n_establishment_workers>0</n_establishment_workers>"
    "<n_industrial_workers>0</n_industrial_workers><n_students>{students}</n_students>"
    "<n_general>5</n_general><n_female>20</n_female><n_total>{total}</n_total></reach>"
    "<media_items/><materials>30</materials>{photo}<location>15.12 108.8 12.0 5.0</location>"
    "<notes/><meta><instanceID>uuid:{uuid}</instanceID>"
    "<instanceName>2026-11-20 - Phường Cẩm Thành</instanceName></meta></pcmd_outreach>"
)


def build_post(path: str, host: str, client: int, i: int, photo_kb: int = 0) -> bytes:
    xml = XML_TEMPLATE.format(
        client=client,
        day=1 + i % 20,
        students=i % 90,
        total=i % 90 + 5,
        uuid=uuid.uuid4(),
        photo="<photo>p.jpg</photo>" if photo_kb else "<photo/>",
    ).encode()
    body = (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="xml_submission_file"; '
        'filename="instance.xml"\r\nContent-Type: text/xml\r\n\r\n'
    ).encode() + xml
    if photo_kb:
        body += (
            f"\r\n--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="p.jpg"; filename="p.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode() + os.urandom(photo_kb * 1024)
    body += f"\r\n--{BOUNDARY}--\r\n".encode()
    head = (
        f"POST {path}?deviceID=collect:bench{client:08d} HTTP/1.1\r\nHost: {host}\r\n"
        "X-OpenRosa-Version: 1.0\r\nUser-Agent: org.odk.collect.android/bench\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


async def read_response(reader: asyncio.StreamReader) -> int:
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def connect(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(host, port)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as OkHttp does
    return reader, writer


async def phone(
    host: str,
    port: int,
    path: str,
    client: int,
    count: int,
    latencies: list[float],
    photo_kb: int = 0,
) -> None:
    """One phone: sends its queue in upload sessions of SESSION instances, each session on a
    new keep-alive connection (as Collect's OkHttp client does when the officer presses Send)."""
    reader, writer = await connect(host, port)
    head = (
        f"HEAD {path}?deviceID=collect:bench{client:08d} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "X-OpenRosa-Version: 1.0\r\n\r\n"
    ).encode()
    posts = [build_post(path, f"{host}:{port}", client, i, photo_kb) for i in range(count)]
    for i, request in enumerate(posts):
        if i and i % SESSION == 0:
            writer.close()
            await writer.wait_closed()
            reader, writer = await connect(host, port)
        started = time.perf_counter()
        writer.write(head)
        await writer.drain()
        # a HEAD response has headers only
        status_line = await reader.readline()
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        assert int(status_line.split()[1]) == 204, status_line
        writer.write(request)
        await writer.drain()
        status = await read_response(reader)
        assert status == 201, f"POST answered {status}"
        latencies.append(time.perf_counter() - started)
    writer.close()
    await writer.wait_closed()


async def run(
    host: str, port: int, path: str, n: int, concurrency: int, photo_kb: int = 0
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    share = [n // concurrency + (1 if c < n % concurrency else 0) for c in range(concurrency)]
    started = time.perf_counter()
    await asyncio.gather(
        *(
            phone(host, port, path, c + 1000 * concurrency, k, latencies, photo_kb)
            for c, k in enumerate(share)
        )
    )
    return time.perf_counter() - started, latencies


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and all its descendants (Linux /proc): the
    server's work, which moves far less with the machine's load than wall time does."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                kids = (task / "children").read_text().split()
                todo.extend(int(k) for k in kids)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def measure(args: argparse.Namespace, tree: Path) -> dict[int, tuple[float, float, float, float]]:
    """One run of pcmd serve from checkout `tree` on a fresh database: per concurrency level,
    (submissions/s, p50 ms, p99 ms, server CPU µs a submission). Exits if the database does not
    hold exactly what was sent."""
    tmp = Path(tempfile.mkdtemp(prefix="pcmd-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'pcmd.db'}"
    if url.startswith("postgresql"):
        with create_engine(url).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    env = {
        **env_for(tree),
        "PCMD_DATABASE_URL": url,
        "PCMD_DATA_DIR": str(tmp),
        "PCMD_BASE_URL": f"http://127.0.0.1:{args.port}",
        "PCMD_LOG_LEVEL": "WARNING",
        "PCMD_SCHEDULER": "true" if args.scheduler else "false",
    }
    run_pcmd(env, "init")
    user = json.loads(run_pcmd(env, "appuser", "create", "bench", "--json"))
    path = f"/v1/key/{user['token']}/projects/1/submission"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pcmd",
            "serve",
            "--port",
            str(args.port),
            "--workers",
            str(args.workers),
        ],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    figures: dict[int, tuple[float, float, float, float]] = {}
    try:
        deadline = time.monotonic() + 300  # a loaded machine starts it slowly
        while True:
            try:
                asyncio.run(run("127.0.0.1", args.port, path, 1, 1))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("server did not start") from None
                time.sleep(0.3)
        sent = 1
        for concurrency in (1, 8):
            cpu_before = tree_cpu_seconds(server.pid)
            seconds, lat = asyncio.run(
                run("127.0.0.1", args.port, path, args.n, concurrency, args.photo_kb)
            )
            cpu_us = (tree_cpu_seconds(server.pid) - cpu_before) / args.n * 1e6
            sent += args.n
            figures[concurrency] = (args.n / seconds, pct(lat, 0.5), pct(lat, 0.99), cpu_us)
            print(
                f"  concurrency {concurrency}: {args.n} submissions in {seconds:.2f} s = "
                f"{args.n / seconds:,.0f}/s; latency p50 {pct(lat, 0.5):.1f} ms, "
                f"p95 {pct(lat, 0.95):.1f} ms, p99 {pct(lat, 0.99):.1f} ms "
                f"(mean {statistics.mean(lat) * 1000:.1f} ms); server CPU "
                f"{cpu_us:,.0f} µs a submission; {load()}"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    engine = create_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(Submission)).scalar()
        distinct = conn.execute(select(func.count(func.distinct(Submission.instance_id)))).scalar()
    engine.dispose()
    verdict = "OK" if stored == sent == distinct else "MISMATCH"
    print(f"  database: {stored} submissions stored, {distinct} distinct, {sent} sent: {verdict}")
    if verdict != "OK":
        raise SystemExit(1)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=4000, help="submissions per concurrency level")
    parser.add_argument("--workers", type=int, default=2, help="pcmd serve --workers")
    parser.add_argument("--database-url", help="default: SQLite in a temporary folder")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--photo-kb", type=int, default=0, help="a photo of K kB with each")
    parser.add_argument("--scheduler", action="store_true", help="run the server's scheduler")
    parser.add_argument("--baseline", help="also run this commit (a git worktree), alternating")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each checkout")
    args = parser.parse_args()

    url = args.database_url or "sqlite"
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; database: {url.split(':')[0]}; "
        f"pcmd serve --workers {args.workers}; photo {args.photo_kb} kB; scheduler "
        f"{'on' if args.scheduler else 'off'}; {load()}"
    )
    results: dict[str, list[dict[int, tuple[float, float, float, float]]]] = {}
    for _round in range(args.rounds):
        for label, tree in trees(args.baseline):
            print(f"{label} ({tree}):")
            results.setdefault(label, []).append(measure(args, tree))
    if args.baseline:
        base, new = (results[label] for label, _tree in trees(args.baseline))
        for c in (1, 8):
            b = statistics.median(r[c][0] for r in base)
            w = statistics.median(r[c][0] for r in new)
            print(ratio(f"concurrency {c}, submissions/s (median of {args.rounds})", b, w))
        for c in (1, 8):
            b = statistics.median(r[c][3] for r in base)
            w = statistics.median(r[c][3] for r in new)
            label = f"concurrency {c}, server CPU µs a submission"
            print(ratio(label, b, w, higher_is_better=False))
        b99 = statistics.median(r[8][2] for r in base)
        w99 = statistics.median(r[8][2] for r in new)
        print(ratio("concurrency 8, p99 ms", b99, w99, higher_is_better=False))


if __name__ == "__main__":
    main()
