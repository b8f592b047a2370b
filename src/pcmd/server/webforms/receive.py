"""A web-form submission received: the multipart the browser's outbox sends (the instance XML as
`xml_submission_file`, then its files, as Collect sends them), handed to the one ingest with
source `web`, answered in JSON the page shows — 201 only once stored, 4xx with a message that
says what is wrong, 503 (retried by the browser) when the disk is full."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pcmd.errors import AuthError, IngestError, StorageError
from pcmd.ingest.files import FileStore
from pcmd.ingest.form_lookup import FormLookup
from pcmd.ingest.incoming import Incoming, IngestResult
from pcmd.ingest.submit import ingest_with_retry
from pcmd.server.openrosa.multipart import read_upload
from pcmd.settings import Settings

log = logging.getLogger("pcmd.submissions")

SOURCE = "web"
RETRY_AFTER_SECONDS = 120
MESSAGES = {
    "created": "Đã nhận phiếu (submission received).",
    "edited": "Đã nhận bản sửa của phiếu (edited submission received).",
    "duplicate": "Phiếu này đã được nhận trước đó (this submission was already received).",
    "attachments_added": "Đã nhận thêm tệp đính kèm (attachments received).",
}


class WebReceiver:
    """Receives web-form submissions for one app: its store, form cache and writer threads."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.store = FileStore(settings.attachments_dir)
        self.forms = FormLookup()
        self.writers = ThreadPoolExecutor(
            max_workers=1 if engine.dialect.name == "sqlite" else 2, thread_name_prefix="web-ingest"
        )

    async def receive(
        self,
        request: Request,
        *,
        submitter: str,
        project: int,
        communes: frozenset[str] | None,
    ) -> tuple[Response, IngestResult | None]:
        """Store one submission; the response for the browser, and the result when stored."""
        limit = self.settings.max_submission_bytes
        try:
            length = request.headers.get("content-length")
            if length and length.isdigit() and int(length) > limit:
                raise IngestError(
                    f"Phiếu quá lớn: hơn {limit:,} byte (submission larger than {limit:,} "
                    "bytes): choose smaller photos.",
                    status=413,
                )
            upload = await read_upload(
                request.headers.get("content-type", ""), request.stream(), self.store, limit
            )
            incoming = Incoming(
                xml=upload.xml or b"",
                source=SOURCE,
                files=tuple(upload.files),
                submitter=submitter,
                device_id=None,
                project_id=project,
                communes=communes or None,
            )
            try:
                result: IngestResult = await asyncio.get_running_loop().run_in_executor(
                    self.writers, ingest_with_retry, self.engine, self.store, incoming, self.forms
                )
            finally:
                upload.cleanup()
        except (AuthError, IngestError) as exc:
            log.info("web submission who=%s result=%s %s", submitter, exc.status, exc.message[:80])
            return JSONResponse({"message": exc.message}, status_code=exc.status), None
        except StorageError as exc:
            log.error("web submission refused, storage: %s", exc.message)
            response = JSONResponse({"message": exc.message}, status_code=503)
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response, None
        log.info(
            "web submission who=%s form=%s instance=%s result=%s",
            submitter,
            result.form_id,
            result.version_instance_id,
            result.status,
        )
        body = {
            "message": MESSAGES[result.status],
            "status": result.status,
            "instance_id": result.version_instance_id,
        }
        return JSONResponse(body, status_code=201), result

    def close(self) -> None:
        self.writers.shutdown(wait=True)
