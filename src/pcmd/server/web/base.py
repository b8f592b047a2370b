"""What every page shares: templates, language, CSRF, the signed-in user and the sign-in
requirement, and the user's scope.

Every page checks the signed-in user's scope: a record outside it is answered 404 (not 403),
so a reviewer cannot even learn that another province's submission exists. Every form carries
the session's CSRF token. The signed cookie (Starlette's SessionMiddleware) carries the page
language, the CSRF token and a session token that every request checks against the server's
`web_sessions` (server/sessions.py), so sign-out and a disabled user hold at once everywhere.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from pcmd.db.models import FormVersion, OrgUnit, Submission
from pcmd.errors import AuthError
from pcmd.forms.xform import Labels, read_labels
from pcmd.ingest.files import FileStore
from pcmd.server.accounts import Scope
from pcmd.server.signin import session_scope
from pcmd.server.web import i18n
from pcmd.server.web.figures import Figures
from pcmd.server.web.freshness import PAGES_WITH_NUMBERS, FreshnessCache
from pcmd.settings import Settings

# Templates and static files live beside the server package, not inside web/.
SERVER_DIR = Path(__file__).resolve().parent.parent


CREDENTIALS = frozenset({"username", "password", "password2", "code", "current"})
OWN_PASSWORD_PATH = "/password"  # noqa: S105 (a page's path: server/web/password.py)


class NotVisible(Exception):
    """A record that does not exist or lies outside the user's scope: both are a 404."""


@dataclass
class Page:
    """What every template gets besides its own data."""

    request: Request
    lang: str
    user: Scope | None
    csrf: str


class Web:
    """The shared plumbing the page classes are built on, bound to one app's settings and engine."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.store = FileStore(settings.attachments_dir)
        self.templates = Jinja2Templates(directory=str(SERVER_DIR / "templates"))
        self._labels: dict[int, Labels] = {}
        self.freshness = FreshnessCache(settings, engine)
        self.figures = Figures()  # the dashboard's, quality page's and API's, per data version
        self.idle = dt.timedelta(hours=settings.session_idle_hours)

    # --- plumbing -------------------------------------------------------------------------
    @staticmethod
    def lang(request: Request) -> str:
        chosen = request.session.get("lang", "vi")
        return chosen if chosen in i18n.LANGS else "vi"

    @staticmethod
    def csrf(request: Request) -> str:
        token = request.session.get("csrf")
        if not token:
            token = secrets.token_urlsafe(32)
            request.session["csrf"] = token
        return str(token)

    async def check_csrf(self, request: Request) -> dict[str, Any]:
        form = await request.form()
        sent = str(form.get("csrf", ""))
        if not sent or not hmac.compare_digest(sent, self.csrf(request)):
            raise AuthError(i18n.text("bad_csrf", self.lang(request)), status=403)
        # NUL is no character a person types, and a database cannot store it in text: it is
        # dropped from what is stored (comments, names of things). Credentials are left as
        # sent, so a name or password with a NUL is simply a wrong one.
        return {
            k: v.replace("\x00", "") if isinstance(v, str) and k not in CREDENTIALS else v
            for k, v in form.items()
        }

    def user(self, request: Request) -> Scope | None:
        """The signed-in user of a live server-side session (server/sessions.py), or None."""
        token = request.session.get("sid")
        if not isinstance(token, str):
            return None
        return session_scope(self.engine, token, self.idle)

    def render(
        self, request: Request, template: str, context: dict[str, Any], status: int = 200
    ) -> Response:
        lang = self.lang(request)
        base = {
            "request": request,
            "lang": lang,
            "t": lambda key: i18n.text(key, lang),
            "number": lambda value, decimals=None: i18n.number(value, lang, decimals),
            "date": i18n.date,
            "csrf": self.csrf(request),
            "flash": request.session.pop("flash", None),
            "flash_error": request.session.pop("flash_error", None),
            "freshness": (
                self.freshness.get()
                if context.get("user") and context.get("nav") in PAGES_WITH_NUMBERS
                else None
            ),
        }
        return self.templates.TemplateResponse(
            request, template, {**base, **context}, status_code=status
        )

    def error_page(self, request: Request, user: Scope | None, status: int, key: str) -> Response:
        lang = self.lang(request)
        return self.render(
            request,
            "error.html",
            {"user": user, "title": i18n.text(key, lang), "message": str(status)},
            status,
        )

    def guarded(self, handler: Callable[[Request, Scope], Any]) -> Callable[[Request], Any]:
        """Sign-in required; scope errors become 404 pages, CSRF/auth errors 403."""

        async def endpoint(request: Request) -> Response:
            user = await run_in_threadpool(self.user, request)
            if user is None:
                nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?{urlencode({'next': nxt})}", status_code=303)
            if user.must_change_password and request.url.path != OWN_PASSWORD_PATH:
                # signed in with a temporary password: its own password first
                return RedirectResponse(OWN_PASSWORD_PATH, status_code=303)
            try:
                response: Response = await handler(request, user)
                return response
            except NotVisible:
                return self.error_page(request, user, 404, "not_found")
            except AuthError as exc:
                return self.error_page(request, user, exc.status, "forbidden")

        return endpoint

    # --- scope helpers --------------------------------------------------------------------
    @staticmethod
    def province_of(session: Session, commune: str | None) -> str | None:
        if not commune:
            return None
        return session.scalar(
            select(OrgUnit.parent_code).where(
                OrgUnit.code == commune, OrgUnit.level == "commune", OrgUnit.valid_to.is_(None)
            )
        )

    @staticmethod
    def scoped_communes(session: Session, user: Scope) -> list[str] | None:
        """Commune codes the user may see; None = every commune."""
        if user.everywhere:
            return None
        rows = session.execute(
            select(OrgUnit.code).where(
                OrgUnit.level == "commune",
                (OrgUnit.code.in_(user.org_codes)) | (OrgUnit.parent_code.in_(user.org_codes)),
            )
        )
        return sorted({code for (code,) in rows})

    def visible_submission(self, session: Session, user: Scope, sid: int) -> Submission:
        sub = session.get(Submission, sid)
        if sub is None or sub.deleted:
            raise NotVisible
        province = self.province_of(session, sub.commune_code)
        if not user.sees(sub.commune_code, province):
            raise NotVisible
        return sub

    def labels(self, session: Session, version_id: int) -> Labels:
        if version_id not in self._labels:
            xform = session.scalar(select(FormVersion.xform).where(FormVersion.id == version_id))
            self._labels[version_id] = read_labels(xform or "<h:html/>")
        return self._labels[version_id]


def static_mount() -> Mount:
    """The pages' stylesheet and scripts, at /static."""
    return Mount("/static", StaticFiles(directory=str(SERVER_DIR / "static")), name="static")
