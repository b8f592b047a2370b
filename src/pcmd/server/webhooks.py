"""KoboToolbox REST Service receiver: `POST /hooks/kobo/{source}`.

Kobo POSTs the new record's JSON (the same shape as the data API) once, on creation only, and
retries only on 502/503/504 and time-outs (30 s). It signs nothing, so the REST Service is set
up with a custom header `X-Pcmd-Secret: <value>`, the value held in the environment variable
the source names (`--webhook-secret-env`); it is compared in constant time.

The record is applied by pcmd.sync.webhook. The answer comes as soon as the record is stored;
its attachments are fetched after the response, and if that fails the next pull fetches them
(the record stays marked incomplete).
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pcmd.errors import PcmdError
from pcmd.ingest.files import FileStore
from pcmd.settings import Settings
from pcmd.sync.report import SyncReport
from pcmd.sync.sources import SourceConfig
from pcmd.sync.webhook import apply_webhook, webhook_source

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Pcmd-Secret"  # noqa: S105 - a header name, not a secret
MAX_BODY = 5_000_000  # one record; Kobo records are a few kB


def _answer(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"message": message, **extra}, status_code=status)


class KoboHooks:
    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.engine = engine
        self.store = FileStore(settings.attachments_dir)

    def routes(self) -> list[Route]:
        return [Route("/hooks/kobo/{source}", self.receive, methods=["POST"])]

    async def receive(self, request: Request) -> JSONResponse:
        started = time.monotonic()
        name = request.path_params["source"]
        source = await run_in_threadpool(webhook_source, self.engine, name)
        if source is None or not source.webhook_secret_env:
            return _answer(
                404,
                f"Không có nguồn KoboToolbox {name!r} nhận webhook (no KoboToolbox source "
                f"{name!r} with a webhook secret): add it with `pcmd source add kobo … "
                "--webhook-secret-env VAR`.",
            )
        expected = os.environ.get(source.webhook_secret_env, "")
        if not expected:
            # 503: Kobo retries it, so nothing is lost once the variable is set
            log.error(
                "hook %s: environment variable %s is not set", name, source.webhook_secret_env
            )
            return _answer(
                503,
                f"Máy chủ chưa đặt biến {source.webhook_secret_env} (the server has no webhook "
                "secret configured yet).",
            )
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return _answer(
                403,
                f"Sai hoặc thiếu header {SECRET_HEADER} (wrong or missing {SECRET_HEADER}): set "
                "it as a custom header of the REST Service.",
            )
        body = await _read_limited(request, MAX_BODY)
        if body is None:
            return _answer(413, "Bản ghi quá lớn (record too large).")
        try:
            record = json.loads(body)
        except (ValueError, RecursionError):
            return _answer(400, "Nội dung không phải JSON (the body is not JSON).")
        if not isinstance(record, dict) or not _valid_id(record.get("_id")):
            return _answer(
                400,
                "Thiếu _id hoặc _id không hợp lệ: cần bản ghi KoboToolbox dạng JSON (a "
                "KoboToolbox record with a numeric _id is expected; keep the REST Service's "
                "payload template empty).",
            )
        try:
            report = await run_in_threadpool(
                apply_webhook, self.engine, self.store, source, record, False
            )
        except PcmdError as exc:
            log.warning("hook %s: %s", name, exc.message)
            return _answer(503, exc.message)
        outcome, status = _outcome(report)
        log.info(
            "hook %s _id=%s %s %.0f ms",
            name,
            record.get("_id"),
            outcome,
            (time.monotonic() - started) * 1000,
        )
        if report.failed:
            problem = report.problems[0] if report.problems else "refused"
            log.warning("hook %s _id=%s refused: %s", name, record.get("_id"), problem)
            status = 409 if report.refused_status == 409 else 422
            return _answer(status, problem)
        task = None
        if record.get("_attachments"):
            task = BackgroundTask(self._fetch_files, source, record)
        return JSONResponse({"status": outcome}, status_code=status, background=task)

    def _fetch_files(self, source: SourceConfig, record: Mapping[str, Any]) -> None:
        try:
            apply_webhook(self.engine, self.store, source, record, True)
        except PcmdError as exc:  # the next pull fetches them
            log.warning("hook %s: attachments of _id=%s: %s", source.name, record.get("_id"), exc)


async def _read_limited(request: Request, limit: int) -> bytes | None:
    """The body, or None once it passes `limit` bytes (read no further: a hostile sender
    may stream without end)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _valid_id(value: object) -> bool:
    """Kobo's `_id` is a positive database id (JSON number); a digit string is taken too."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def _outcome(report: SyncReport) -> tuple[str, int]:
    if report.new:
        return "created", 201
    if report.updated:
        return "updated", 200
    if report.failed:
        return "refused", 422
    return "duplicate", 200
