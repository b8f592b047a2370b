"""bench/web.py --changes-per-second: records changing while the pages are measured, as when
reviewers and phones are at work — each change one submission's review state flipped between
received and approved with its `updated_at` moved (what a review decision writes), so every
figure kept per data version that reads the submissions is computed again after it."""

from __future__ import annotations

import datetime as dt
import random
import threading

from sqlalchemy import create_engine, text


class Changes:
    """A thread making `per_second` changes a second to random submissions of `url`."""

    def __init__(self, url: str, per_second: float) -> None:
        self.engine = create_engine(url)
        self.per_second = per_second
        self.made = 0
        self._stop = threading.Event()
        with self.engine.connect() as conn:
            self.low, self.high = conn.execute(
                text("SELECT min(id), max(id) FROM submissions")
            ).one()
        self._postgres = url.startswith("postgresql")
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._rng = random.Random(1629)

    def start(self) -> Changes:
        self._thread.start()
        return self

    def _run(self) -> None:
        flip = text(
            "UPDATE submissions SET review_state = CASE review_state WHEN 'received' "
            "THEN 'approved' ELSE 'received' END, updated_at = :now "
            "WHERE id = :id AND review_state IN ('received', 'approved')"
        )
        while not self._stop.wait(1 / self.per_second):
            now = dt.datetime.now(dt.UTC)
            # SQLite keeps pcmd's timestamps as naive UTC text
            stamp = now if self._postgres else now.replace(tzinfo=None)
            with self.engine.begin() as conn:
                conn.execute(flip, {"now": stamp, "id": self._rng.randint(self.low, self.high)})
            self.made += 1

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        self.engine.dispose()
        return self.made
