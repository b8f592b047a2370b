"""The SQLite writer lock (db/engine.py): re-entrant in the thread that holds it (the group
committer gathers and writes a group under it, and writes take it again inside), and held
against other threads and other processes until the outermost release."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from pcmd.db.engine import WriterLock

# Another process takes the same file lock and says when it has it.
OTHER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print(time.monotonic(), flush=True)
"""


def test_writer_lock__reentrant_held_until_outermost_exit(tmp_path: Path) -> None:
    path = tmp_path / "pcmd.db.writelock"
    lock = WriterLock(path)
    other_thread_at: list[float] = []

    def other_thread() -> None:
        with lock:
            other_thread_at.append(time.monotonic())

    with lock:
        with lock:  # the same thread again: no deadlock
            pass
        thread = threading.Thread(target=other_thread)
        thread.start()
        process = subprocess.Popen(
            [sys.executable, "-c", OTHER, str(path)], stdout=subprocess.PIPE, text=True
        )
        time.sleep(0.5)
        assert other_thread_at == []  # still held after the inner exit
        assert process.poll() is None  # the other process waits on the flock
        released = time.monotonic()
    thread.join(10)
    out, _ = process.communicate(timeout=10)
    assert len(other_thread_at) == 1
    assert other_thread_at[0] >= released
    assert float(out) >= released  # CLOCK_MONOTONIC is the machine's, shared by processes
