"""The ASGI app factory. Everything it needs comes from the Settings passed in."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Route

import pcmd
from pcmd.db.engine import engine_from_settings
from pcmd.ingest.files import FileStore
from pcmd.server import convertors
from pcmd.server.api.indicators import IndicatorsApi
from pcmd.server.busy import BUSY_ERRORS, busy_database
from pcmd.server.central.routes import central_routes
from pcmd.server.headers import SecurityHeaders
from pcmd.server.health import Health
from pcmd.server.hygiene import RefuseNul
from pcmd.server.keys import secret_key
from pcmd.server.openrosa.forms import FormEndpoints
from pcmd.server.openrosa.lane import SubmissionLane
from pcmd.server.openrosa.submission import SubmissionEndpoints
from pcmd.server.web.appusers import AppUserPages
from pcmd.server.web.attachments import AttachmentPages
from pcmd.server.web.audit import AuditPages
from pcmd.server.web.base import Web, static_mount
from pcmd.server.web.cases import CasePages
from pcmd.server.web.dashboard import DashboardPages
from pcmd.server.web.firstrun import FirstRunPages
from pcmd.server.web.login import LoginPages
from pcmd.server.web.password import PasswordPage
from pcmd.server.web.provinces import ProvincePages
from pcmd.server.web.quality import QualityPages
from pcmd.server.web.quality_ledger import ledger_of
from pcmd.server.web.reports import ReportPages
from pcmd.server.web.review import ReviewActions
from pcmd.server.web.setup import SetupPages
from pcmd.server.web.submission import SubmissionPage
from pcmd.server.web.submissions import SubmissionPages
from pcmd.server.web.users import UserPages
from pcmd.server.webforms.receive import WebReceiver
from pcmd.server.webforms.staff import StaffForms
from pcmd.server.webforms.volunteer import VolunteerForms
from pcmd.server.webhooks import KoboHooks
from pcmd.settings import Settings

log = logging.getLogger(__name__)


def _warm_ledger(engine: Engine) -> None:
    try:
        ledger_of(engine).warm(engine)
    except Exception:  # the first page that needs it reads it instead
        log.exception("reading the ledger of submissions as the server starts failed")


def create_app(settings: Settings, *, lead: bool = True, warm: bool = False) -> Starlette:
    """The app. `lead`: this process prepares the file store and announces the first run's
    set-up code as it starts; the worker processes `pcmd serve` starts leave that to it.
    `warm`: as it starts, read the ledger of submissions the quality, provinces and dashboard
    pages count from, on a thread of its own (`pcmd serve` does; tests leave it to the first
    page)."""
    convertors.register()  # before the routes are compiled
    engine = engine_from_settings(settings)

    health = Health(settings, engine)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        log.info("pcmd %s serving %s", pcmd.__version__, settings.base_url)
        if lead:
            # the store private, and upload files a crash left behind removed
            await run_in_threadpool(FileStore(settings.attachments_dir).prepare)
            await run_in_threadpool(first_run.announce)  # no web user yet: a one-time code
        if warm:
            threading.Thread(
                target=_warm_ledger, args=(engine,), name="ledger-warm", daemon=True
            ).start()
        scheduler = None
        if settings.scheduler:
            # every server process starts one; the database lease lets one of them run jobs
            from pcmd.jobs.scheduler import SyncScheduler

            scheduler = SyncScheduler(settings, engine)
            scheduler.start()
        yield
        if scheduler is not None:
            await run_in_threadpool(scheduler.shutdown)
        await run_in_threadpool(submissions.writers.close)
        await run_in_threadpool(web_forms.close)
        engine.dispose()

    submissions = SubmissionEndpoints(settings, engine)
    hooks = KoboHooks(settings, engine)
    web = Web(settings, engine)
    web_forms = WebReceiver(settings, engine)
    dashboard = DashboardPages(web)
    first_run = FirstRunPages(web)
    https = settings.base_url.startswith("https://")
    app = Starlette(
        routes=[
            Route("/healthz", health.endpoint),
            # OpenRosa, for ODK Collect
            *submissions.routes(),
            *FormEndpoints(settings, engine).routes(),
            *hooks.routes(),
            # ODK Web Forms: a volunteer's link, officers' and reviewers' pages
            *VolunteerForms(web, web_forms).routes(),
            *StaffForms(web, web_forms).routes(),
            # ODK Central's reading API: OData and pyodk (Excel, Power BI, ruODK)
            *central_routes(settings, engine),
            # the web pages
            *LoginPages(web).routes(),
            *first_run.routes(),
            *SubmissionPages(web).routes(),
            *SubmissionPage(web).routes(),
            *ProvincePages(web).routes(),
            *ReviewActions(web).routes(),
            *AttachmentPages(web).routes(),
            *dashboard.routes(),
            *IndicatorsApi(web, dashboard).routes(),
            *ReportPages(web, dashboard).routes(),
            *SetupPages(web).routes(),
            *QualityPages(web).routes(),
            *CasePages(web).routes(),
            *UserPages(web).routes(),
            *AppUserPages(web).routes(),
            *AuditPages(web).routes(),
            *PasswordPage(web).routes(),
            static_mount(),
        ],
        middleware=[
            # phones' HEAD and POST of a submission, past the layers below (openrosa/lane.py)
            Middleware(SubmissionLane, submissions=submissions, https=https),
            Middleware(SecurityHeaders, https=https),
            Middleware(RefuseNul),
            Middleware(
                SessionMiddleware,
                secret_key=secret_key(settings).decode(),
                session_cookie="pcmd_session",
                max_age=12 * 3600,  # a working day; sign in again tomorrow
                same_site="lax",  # and HttpOnly, always
                https_only=https,
            ),
        ],
        exception_handlers=dict.fromkeys(BUSY_ERRORS, busy_database),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.ingest = submissions.writers  # the group committer (tests hold it to group)
    return app
