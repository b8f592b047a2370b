"""How current the numbers on a page are: when the indicators were last updated, how many
records still wait for them, whether a scheduler is running to update them by itself, and —
for administrators — the last update's error. Shown on every page with numbers, and only what
is true: "updates by itself" only while a scheduler's heartbeat is fresh."""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass

from sqlalchemy import Engine

from pcmd.jobs.scheduler import STALE_HEARTBEAT_SECONDS, last_heartbeat
from pcmd.pipeline.pending import pipeline_status
from pcmd.settings import Settings

# Pages are opened often; the answer is read again at most this often per server process.
TTL_SECONDS = 3.0
PAGES_WITH_NUMBERS = frozenset({"dashboard", "submissions", "quality", "reports"})


@dataclass(frozen=True)
class Freshness:
    updated_at: dt.datetime | None
    waiting: int
    automatic: bool  # a scheduler is alive and will run the pipeline within `delay` seconds
    delay: int
    error: str | None
    failed_at: dt.datetime | None


class FreshnessCache:
    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self._lock = threading.Lock()
        self._kept: tuple[float, Freshness] | None = None

    def get(self) -> Freshness:
        with self._lock:
            kept = self._kept
            if kept is not None and time.monotonic() - kept[0] < TTL_SECONDS:
                return kept[1]
        with self.engine.connect() as conn:
            status = pipeline_status(conn, with_inputs=False)
            beat = last_heartbeat(conn)
        alive = (
            beat is not None
            and (dt.datetime.now(dt.UTC) - beat).total_seconds() <= STALE_HEARTBEAT_SECONDS
        )
        fresh = Freshness(
            updated_at=status.updated_at,
            waiting=status.waiting,
            automatic=alive,
            delay=self.settings.pipeline_delay_seconds,
            error=status.error,
            failed_at=status.failed_at,
        )
        with self._lock:
            self._kept = (time.monotonic(), fresh)
        return fresh
