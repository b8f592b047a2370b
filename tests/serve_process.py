"""`pcmd serve` as a user starts it: a separate process, waited for until /healthz answers, its
output kept in a log that fails the test if the server logged a 500."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.live_server import free_port


@contextmanager
def pcmd_serve(
    env: dict[str, str], log: Path, *, port: int | None = None, workers: int = 1
) -> Iterator[str]:
    """Start `pcmd serve --port P --workers N` with `env` on top of this environment; yields
    its URL once /healthz answers (any status: the caller checks it), and stops it after."""
    port = port or free_port()
    command = [sys.executable, "-m", "pcmd", "serve", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*command, "--workers", str(workers)],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, f"pcmd serve did not answer:\n{log.read_text()}"
                assert proc.poll() is None, f"pcmd serve stopped:\n{log.read_text()}"
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert " 500 " not in log.read_text(), log.read_text()
