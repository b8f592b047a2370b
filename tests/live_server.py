"""A real uvicorn server in a thread, for tests that speak HTTP to pcmd.

pcmd must never answer 5xx by accident: the server records every 5xx it sends, and leaving the
`with` block fails the test when there was one the test did not declare with `expect_5xx`
(a 503 for a full disk, a Kobo hook whose secret is unset). Fakes of other servers, which send
5xx on purpose, pass `allow_5xx=True`.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def free_port() -> int:
    """A port free now; another process may take it before it is used (prefer bound_socket)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def bound_socket() -> socket.socket:
    """A localhost socket bound to a port the OS chose, held until the server listens on it:
    no other test (another pytest worker's server) can take the port in between."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class ServerErrors:
    """The 5xx answers a served app sent, and the statuses a test says it expects."""

    sent: list[tuple[int, str, str]] = field(default_factory=list)
    expected: set[int] = field(default_factory=set)

    def expect_5xx(self, *statuses: int) -> None:
        self.expected.update(statuses)

    def unexpected(self) -> list[tuple[int, str, str]]:
        return [s for s in self.sent if s[0] not in self.expected]


class RecordServerErrors:
    """ASGI middleware noting each 5xx response start (status, method, path)."""

    def __init__(self, app: ASGIApp, errors: ServerErrors) -> None:
        self.app = app
        self.errors = errors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 500:
                self.errors.sent.append((message["status"], scope["method"], scope["path"]))
            await send(message)

        try:
            await self.app(scope, receive, noting)
        except Exception:
            self.errors.sent.append((500, scope["method"], scope["path"]))
            raise


# The errors of the server most recently started by serve_in_thread, for tests that expect one.
CURRENT: list[ServerErrors] = []


def expect_5xx(*statuses: int) -> None:
    """Declare that the test's running pcmd server may answer these 5xx statuses."""
    if not CURRENT:
        raise RuntimeError("no server is running")
    CURRENT[-1].expect_5xx(*statuses)


@contextmanager
def serve_in_thread(
    app: ASGIApp,
    port: int | None = None,
    *,
    allow_5xx: bool = False,
    sock: socket.socket | None = None,
) -> Iterator[str]:
    """Serve `app` on `sock` (a bound_socket), or on `port`, or else on a port the OS chooses;
    yields its base URL."""
    if sock is None and port is None:
        sock = bound_socket()
    if sock is not None:
        port = int(sock.getsockname()[1])
    assert port is not None
    errors = ServerErrors()
    served = app if allow_5xx else RecordServerErrors(app, errors)
    config = uvicorn.Config(served, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    sockets = [sock] if sock is not None else None
    thread = threading.Thread(target=server.run, kwargs={"sockets": sockets}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    CURRENT.append(errors)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        CURRENT.remove(errors)
        server.should_exit = True
        thread.join(timeout=10)
        if sock is not None:
            sock.close()
    unexpected = errors.unexpected()
    assert not unexpected, f"the server answered 5xx: {unexpected}"
