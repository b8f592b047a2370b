"""Fault injection shared by the fake servers: what a busy KoboToolbox or Central answers."""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from dataclasses import dataclass

from starlette.responses import JSONResponse, Response


@dataclass(frozen=True)
class Fault:
    """One bad answer: `status` 429/502/504 (with Retry-After), `sleep` seconds before a normal
    answer (a client with a shorter read timeout gives up), or `truncate`: a 200 whose JSON is
    cut in half."""

    status: int | None = None
    retry_after: str | None = None
    sleep: float = 0.0
    truncate: bool = False


class Faults:
    def __init__(self) -> None:
        self._queue: deque[Fault] = deque()
        self._lock = threading.Lock()
        self.served: list[Fault] = []

    def add(self, *faults: Fault) -> None:
        with self._lock:
            self._queue.extend(faults)

    def take(self) -> Fault | None:
        with self._lock:
            fault = self._queue.popleft() if self._queue else None
            if fault is not None:
                self.served.append(fault)
            return fault

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)


async def apply(fault: Fault | None, body: bytes) -> Response | None:
    """The faulty response for `fault` (None = answer normally with `body`)."""
    if fault is None:
        return None
    if fault.sleep:
        await asyncio.sleep(fault.sleep)
    if fault.status is not None:
        headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
        return JSONResponse({"detail": "busy"}, status_code=fault.status, headers=headers)
    if fault.truncate:
        return Response(body[: len(body) // 2], media_type="application/json")
    return None
