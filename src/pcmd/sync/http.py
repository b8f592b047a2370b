"""HTTP for the pull clients: timeouts, retries with backoff, and errors a person can act on.

Both KoboToolbox and ODK Central sit behind proxies with time budgets (Kobo: 120 s per request)
and answer 429/502/503/504 when busy. A request is retried on those, on connection errors,
time-outs and a 200 whose JSON is cut off, waiting `backoff × 2^attempt` seconds or what
Retry-After says. Anything else (401, 403, 404, 400) is not retried: it needs a person, and the
SyncError says what to check. Secrets (tokens, passwords) never appear in a message: every
message goes through `mask`.

Attachments are fetched DOWNLOAD_WORKERS at a time (`fetch_all`), each worker on a clone of the
client: a requests.Session is not shared between threads, and each clone keeps its connections
to the source's server (the only one its credentials go to) for the files after its first.
"""

from __future__ import annotations

import email.utils
import json
import logging
import queue
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar
from urllib.parse import urljoin, urlsplit

import orjson
import requests

import pcmd
from pcmd.errors import SyncError

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
GATEWAY_STATUSES = frozenset({502, 504})  # the proxy gave up on a slow page: ask for less
MAX_RETRY_AFTER = 300.0
MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DOWNLOAD_WORKERS = 4  # attachments fetched at once from one source

Kept = TypeVar("Kept")


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL, the port made explicit: what "the same server" means."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        port = -1  # a malformed port matches no server
    return scheme, (parts.hostname or "").lower(), port


def mask(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every secret value replaced by ***."""
    for secret in secrets:
        if secret and len(secret) >= 3:
            text = text.replace(secret, "***")
    return text


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delay-seconds or an HTTP date); None if absent."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max(when.timestamp() - time.time(), 0.0), MAX_RETRY_AFTER)


@dataclass
class HttpPolicy:
    """How a client waits and retries. Tests shorten the numbers; the defaults suit Kobo."""

    connect_timeout: float = 10.0
    read_timeout: float = 130.0  # Kobo's request budget is 120 s: wait a little longer
    retries: int = 6
    backoff: float = 1.0
    max_backoff: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep)


class Transient(Exception):
    """A failure worth another attempt; carries the wait the server asked for, if any."""

    def __init__(self, message: str, *, wait: float | None = None, gateway: bool = False) -> None:
        super().__init__(message)
        self.wait = wait
        self.gateway = gateway


class ApiClient:
    """A requests.Session with the policy above. Subclasses add auth and endpoints."""

    service = "máy chủ (server)"

    def __init__(
        self,
        base_url: str,
        *,
        session: requests.Session | None = None,
        policy: HttpPolicy | None = None,
        secrets: Iterable[str | None] = (),
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.origin = origin(self.base_url)
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", f"pcmd/{pcmd.__version__}")
        self.session.headers["Accept"] = "application/json"
        self.policy = policy or HttpPolicy()
        self.secrets = [s for s in secrets if s]
        self.requests_made = 0
        self.retried = 0
        self.last_response: requests.Response | None = None  # for headers after a parsed call

    def close(self) -> None:
        self.session.close()

    def clone(self) -> Self:
        """The same client on a new session, for another thread."""
        raise NotImplementedError

    def download(self, url: str) -> bytes | None:
        """A file's bytes; None when the server does not have it."""
        raise NotImplementedError

    def fetch_all(
        self,
        urls: Sequence[str],
        keep: Callable[[bytes], Kept],
        workers: int = DOWNLOAD_WORKERS,
    ) -> list[Kept | None]:
        """`download` each URL, at most `workers` at once, handing each file's bytes to `keep`
        in the worker (so at most `workers` files are held in memory); the results in the
        order of `urls`, None where the server does not have the file. Each worker uses a
        clone of this client made here (its own Session and connections)."""
        if len(urls) <= 1 or workers <= 1:
            out: list[Kept | None] = []
            for url in urls:
                content = self.download(url)
                out.append(None if content is None else keep(content))
            return out
        twins = [self.clone() for _ in range(min(workers, len(urls)))]
        idle: queue.SimpleQueue[ApiClient] = queue.SimpleQueue()
        for twin in twins:
            idle.put(twin)

        def one(url: str) -> Kept | None:
            twin = idle.get()
            try:
                content = twin.download(url)
            finally:
                idle.put(twin)
            return None if content is None else keep(content)

        pool = ThreadPoolExecutor(max_workers=len(twins), thread_name_prefix="pcmd-files")
        try:
            return list(pool.map(one, urls))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            for twin in twins:
                self.requests_made += twin.requests_made
                self.retried += twin.retried
                twin.close()

    def _mask(self, text: str) -> str:
        return mask(text, self.secrets)

    def same_server(self, url: str) -> bool:
        return origin(url) == self.origin

    def _same_server(self, url: str) -> None:
        if not self.same_server(url):
            raise _same_server_error(self.service, self._mask(url), self.base_url)

    def refused(self, response: requests.Response) -> SyncError:
        """The error for a status that retrying will not fix; subclasses say what to check."""
        return SyncError(
            self._mask(
                f"{self.service} trả lời HTTP {response.status_code} cho {response.url} "
                f"({self.service} answered HTTP {response.status_code}): {_body(response)}"
            )
        )

    def before_retry(self, error: Transient, attempt: int) -> None:
        """A hook run before the next attempt (Kobo shrinks its page size on 502/504)."""

    def on_unauthorized(self, response: requests.Response) -> bool:
        """Called on 401; return True to try again (Central logs in anew). Default: no."""
        return False

    def send(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
        json_body: Any = None,
        parse: bool = True,
        ok: Iterable[int] = (200,),
    ) -> Any:
        """Do one request with retries; returns the parsed JSON, or the Response if not `parse`.

        `params` may be a function, so a retry after a 502 asks with the page size the
        `before_retry` hook just lowered.
        """
        ok_statuses = set(ok)
        attempt = 0
        relogged = False
        while True:
            try:
                response = self._once(method, url, params, json_body)
                if response.status_code == 401 and not relogged and self.on_unauthorized(response):
                    relogged = True
                    continue
                if response.status_code in RETRY_STATUSES:
                    raise Transient(
                        f"HTTP {response.status_code}",
                        wait=retry_after(response.headers.get("Retry-After")),
                        gateway=response.status_code in GATEWAY_STATUSES,
                    )
                if response.status_code not in ok_statuses:
                    raise self.refused(response)
                self.last_response = response
                if not parse:
                    return response
                return _json(response.content)
            except Transient as exc:
                attempt += 1
                if attempt > self.policy.retries:
                    raise SyncError(
                        self._mask(
                            f"{self.service} không trả lời được sau {attempt} lần thử "
                            f"({self.service} still failing after {attempt} attempts): "
                            f"{method} {url}: {exc}. pcmd thử lại ở lần đồng bộ sau (the next "
                            "sync retries from the last saved page)."
                        ),
                        transient=True,
                    ) from exc
                wait = exc.wait
                if wait is None:
                    wait = min(self.policy.backoff * 2 ** (attempt - 1), self.policy.max_backoff)
                log.warning(
                    "%s: %s %s failed (%s); retry %d in %.1f s",
                    self.service,
                    method,
                    self._mask(url),
                    exc,
                    attempt,
                    wait,
                )
                self.retried += 1
                self.before_retry(exc, attempt)
                self.policy.sleep(wait)

    def _once(
        self,
        method: str,
        url: str,
        params: dict[str, Any] | Callable[[], dict[str, Any]] | None,
        json_body: Any,
    ) -> requests.Response:
        self.requests_made += 1
        try:
            # The session carries the source's token: it goes to the source's own server only.
            # A URL a record names elsewhere is refused, and redirects are followed by hand,
            # on the same server only.
            for _hop in range(MAX_REDIRECTS + 1):
                self._same_server(url)
                response = self.session.request(
                    method,
                    url,
                    params=params() if callable(params) else params,
                    json=json_body,
                    timeout=(self.policy.connect_timeout, self.policy.read_timeout),
                    allow_redirects=False,
                )
                location = response.headers.get("Location")
                if response.status_code not in REDIRECT_STATUSES or not location:
                    return response
                url, params = urljoin(url, location), None
                if response.status_code == 303:
                    method, json_body = "GET", None
            raise SyncError(
                self._mask(f"{self.service}: quá nhiều chuyển hướng (too many redirects): {url}")
            )
        except requests.Timeout as exc:
            raise Transient(f"hết thời gian chờ (timed out): {exc}", gateway=True) from exc
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise Transient(f"lỗi kết nối (connection error): {exc}") from exc
        except requests.RequestException as exc:
            raise SyncError(
                self._mask(f"{self.service}: yêu cầu không hợp lệ (bad request to {url}): {exc}")
            ) from exc


def _same_server_error(service: str, url: str, base: str) -> SyncError:
    return SyncError(
        f"{service}: từ chối gửi yêu cầu (kèm khoá) tới máy chủ khác {url} — chỉ gửi tới {base} "
        f"(refused to send a request, with its credentials, to another server than {base}). "
        "Check the source's --url; a record naming files elsewhere is left incomplete."
    )


def _json(content: bytes) -> Any:
    """The JSON of a body: orjson (a page of 1,000 records is decoded in a quarter of the
    time), and the standard library for what orjson refuses but JSON allows (a lone surrogate
    escape, a huge integer)."""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(content)
    except RecursionError as exc:  # no server's records nest like this: do not retry it
        raise SyncError(
            "Dữ liệu JSON lồng nhau quá sâu (the JSON is nested too deeply to be a record)."
        ) from exc
    except ValueError as exc:  # cut off mid-body: the next attempt may be whole
        raise Transient(f"JSON không trọn vẹn (truncated JSON): {exc}") from exc


def _body(response: requests.Response, limit: int = 300) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:limit] + ("…" if len(text) > limit else "")
