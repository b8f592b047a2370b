"""GET /healthz: what a monitor pages someone for. 200 when all holds; 503 with the reason when
the database is unreachable or not migrated, free disk under the data folder is below
`healthz_min_free_mb`, or the scheduler's last heartbeat is older than three intervals (no
syncs, no pipeline runs, no backups). The body also says how current the indicators are."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

import pcmd
from pcmd.db.migrate import current_revision, head_revision
from pcmd.jobs.scheduler import STALE_HEARTBEAT_SECONDS, last_heartbeat
from pcmd.pipeline.pending import pipeline_status
from pcmd.settings import Settings


class Health:
    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.started = time.monotonic()

    def database(self) -> tuple[bool, str]:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            revision = current_revision(self.engine)
        except SQLAlchemyError as exc:
            return False, f"unreachable: {exc.__class__.__name__}"
        if revision != head_revision():
            return False, f"schema {revision or 'empty'}, expected {head_revision()}: run pcmd init"
        return True, "ok"

    def disk(self) -> tuple[bool, str]:
        folder = self.settings.data_dir
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent  # before the first write the data folder may not exist
        free_mb = shutil.disk_usage(folder).free // (1024 * 1024)
        if free_mb < self.settings.healthz_min_free_mb:
            return False, (
                f"{free_mb} MB free under {self.settings.data_dir}, below "
                f"{self.settings.healthz_min_free_mb} MB: free some space"
            )
        return True, f"{free_mb} MB free"

    def scheduler(self) -> tuple[bool, str]:
        with self.engine.connect() as conn:
            beat = last_heartbeat(conn)
        limit = STALE_HEARTBEAT_SECONDS
        if beat is None:
            if not self.settings.scheduler:
                return True, "not run by this server"
            if time.monotonic() - self.started < limit:
                return True, "starting"
            return False, "no scheduler holds the lease: syncs and indicator updates stopped"
        age = (dt.datetime.now(dt.UTC) - beat).total_seconds()
        if age > limit:
            return False, f"last heartbeat {age:.0f} s ago: the scheduler is stuck or stopped"
        return True, f"heartbeat {max(age, 0):.0f} s ago"

    def check(self) -> tuple[bool, dict[str, Any]]:
        ok, detail = self.database()
        body: dict[str, Any] = {"database": detail, "version": pcmd.__version__}
        disk_ok, body["disk"] = self.disk()
        ok = ok and disk_ok
        if ok:  # the rest reads the database
            scheduler_ok, body["scheduler"] = self.scheduler()
            ok = scheduler_ok
            with self.engine.connect() as conn:
                status = pipeline_status(conn, with_inputs=False)
            body["indicators"] = {
                "updated_at": status.updated_at.isoformat() if status.updated_at else None,
                "waiting": status.waiting,
                "error": status.error,
            }
        body["status"] = "ok" if ok else "error"
        return ok, body

    async def endpoint(self, _request: Request) -> JSONResponse:
        ok, body = await run_in_threadpool(self.check)
        return JSONResponse(body, status_code=200 if ok else 503)
