"""The submission endpoint: HEAD for the size limit, POST of the instance and its files, handed
to the group committer (submissions arriving together share one transaction and one sync);
answered 201 only once the commit that holds it is durable."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pcmd.db.engine import transaction
from pcmd.errors import AuthError, IngestError, StorageError
from pcmd.ingest.files import FileStore
from pcmd.ingest.form_lookup import FormLookup
from pcmd.ingest.group import GATHER_WINDOW_S, GroupCommitter
from pcmd.ingest.incoming import Incoming, IngestResult
from pcmd.ingest.instance import Instance, parse_instance
from pcmd.server.openrosa.endpoint import AUTH_TTL, PREFIX, Caller, OpenRosa, openrosa_message
from pcmd.server.openrosa.multipart import Upload, read_upload, split_small
from pcmd.settings import Settings

log = logging.getLogger("pcmd.submissions")

RETRY_AFTER_SECONDS = 120  # a full disk is not cleared in seconds
# A body this small is read whole (an XML-only upload is a few kB); larger ones are streamed.
SMALL_BODY_BYTES = 256 * 1024

MESSAGES = {
    "created": "Đã nhận phiếu (submission received).",
    "edited": "Đã nhận bản sửa của phiếu (edited submission received).",
    "duplicate": "Phiếu này đã được nhận trước đó (this submission was already received).",
    "attachments_added": "Đã nhận thêm tệp đính kèm (attachments received).",
}


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    yield body


def _parsed(xml: bytes | None) -> Instance | None:
    try:
        return parse_instance(xml) if xml else None
    except IngestError:
        return None


class SubmissionEndpoints(OpenRosa):
    def __init__(self, settings: Settings, engine: Engine) -> None:
        super().__init__(settings, engine)
        self.store = FileStore(settings.attachments_dir)
        self.forms = FormLookup()
        # Ingest runs on writer threads of its own, a group of waiting submissions per
        # transaction. SQLite takes one writer at a time anyway, and its writer gathers while it
        # holds the file's lock, so it never waits for more. PostgreSQL gets two, each waiting
        # briefly for more while phones send at once: with four writers and no wait, groups
        # were mostly of one, and each group's statements and commit cost as much again.
        sqlite = engine.dialect.name == "sqlite"
        self.writers = GroupCommitter(
            engine,
            self.store,
            self.forms,
            writers=1 if sqlite else 2,
            window=0.0 if sqlite else GATHER_WINDOW_S,
        )
        # token → (when checked, caller): phones send HEAD + POST per submission, and a revoked
        # token is refused again within AUTH_TTL seconds.
        self._callers: dict[str, tuple[float, Caller]] = {}

    async def submission_head(self, request: Request) -> Response:
        try:
            await self._authorise(request.path_params["token"], request.path_params["project"])
        except AuthError as exc:
            return self.error(exc, exc.status)
        return Response(status_code=204, headers=self.headers)

    async def _authorise(self, token: str, project: int) -> Caller:
        """The caller for a token: from the cache without leaving the event loop, else the DB."""
        hit = self._callers.get(token)
        if (
            hit is not None
            and time.monotonic() - hit[0] < AUTH_TTL
            and hit[1].project_id == project
        ):
            return hit[1]
        return await run_in_threadpool(self._auth_only, token, project)

    async def submission(self, request: Request) -> Response:
        started = time.perf_counter()
        token = request.path_params["token"]
        project = request.path_params["project"]
        who, outcome, instance, form_id = "?", "error", "-", "-"
        try:
            caller = await self._authorise(token, project)
            who = caller.name
            length = request.headers.get("content-length")
            if length and length.isdigit() and int(length) > self.settings.max_submission_bytes:
                raise IngestError(
                    f"Phiếu quá lớn: hơn {self.settings.max_submission_bytes:,} byte (submission "
                    f"larger than {self.settings.max_submission_bytes:,} bytes).",
                    status=413,
                )
            upload = await self._upload(request, length)
            incoming = Incoming(
                xml=upload.xml or b"",
                # parsed here, outside the writer's lock (a refusal is left to the ingest)
                parsed=_parsed(upload.xml),
                source="openrosa",
                files=tuple(upload.files),
                submitter=f"appuser:{caller.name}",
                device_id=request.query_params.get("deviceID"),
                project_id=project,
                communes=caller.communes or None,
            )
            try:
                result: IngestResult = await asyncio.wrap_future(self.writers.submit(incoming))
            finally:
                upload.cleanup()
            outcome, instance, form_id = result.status, result.version_instance_id, result.form_id
            return self.xml(openrosa_message(MESSAGES[result.status], error=False), 201)
        except (AuthError, IngestError) as exc:
            outcome = f"{exc.status} {exc.message[:80]}"
            return self.error(exc, exc.status)
        except StorageError as exc:
            # Collect keeps the form and sends it again; nothing was kept here.
            outcome = f"503 {exc.message[:80]}"
            log.error("submission refused, storage: %s", exc.message)
            response = self.error(exc, 503)
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        finally:
            log.info(
                "submission who=%s form=%s instance=%s result=%s ms=%.1f",
                who,
                form_id,
                instance,
                outcome,
                (time.perf_counter() - started) * 1000,
            )

    async def _upload(self, request: Request, length: str | None) -> Upload:
        """The multipart body: a small one read whole and split at its boundaries when it is the
        XML alone (the common upload), else streamed part by part to temporary files."""
        content_type = request.headers.get("content-type", "")
        limit = self.settings.max_submission_bytes
        if length and length.isdigit() and int(length) <= SMALL_BODY_BYTES:
            body = await request.body()
            upload = split_small(content_type, body)
            if upload is not None:
                return upload
            return await read_upload(content_type, _chunks(body), self.store, limit)
        return await read_upload(content_type, request.stream(), self.store, limit)

    def _auth_only(self, token: str, project: int) -> Caller:
        with transaction(self.engine) as session:
            caller = self.caller(session, token, project)
        if len(self._callers) > 10_000:
            self._callers.clear()
        self._callers[token] = (time.monotonic(), caller)
        return caller

    def routes(self) -> list[Route]:
        return [
            # the routes phones hit most come first
            Route(f"{PREFIX}/submission", self.submission_head, methods=["HEAD", "GET"]),
            Route(f"{PREFIX}/submission", self.submission, methods=["POST"]),
        ]
