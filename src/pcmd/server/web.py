"""The province staff's web pages: sign-in, submissions with review, attachments.

Every page checks the signed-in user's scope: a record outside it is answered 404 (not 403),
so a reviewer cannot even learn that another province's submission exists. Every form carries
the session's CSRF token; sessions are signed cookies (Starlette's SessionMiddleware).
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Engine, case, func, select, update
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from pcmd.db.engine import transaction
from pcmd.db.models import (
    Attachment,
    AuditLog,
    Establishment,
    Form,
    FormVersion,
    OrgUnit,
    Submission,
    SubmissionVersion,
    ValidationIssue,
    utcnow,
)
from pcmd.errors import AuthError, PcmdError
from pcmd.forms.xform import Labels, read_labels
from pcmd.ingest.files import FileStore
from pcmd.masterdata.periods import PeriodError, parse_period
from pcmd.server import i18n
from pcmd.server.accounts import Scope, load_scope, login
from pcmd.settings import Settings

HERE = Path(__file__).parent
PAGE_SIZE = 50


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
    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.store = FileStore(settings.data_dir / "attachments")
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self._labels: dict[int, Labels] = {}

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
        return dict(form)

    def user(self, request: Request) -> Scope | None:
        uid = request.session.get("uid")
        if not isinstance(uid, int):
            return None
        with transaction(self.engine) as session:
            return load_scope(session, uid)

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
            try:
                response: Response = await handler(request, user)
                return response
            except NotVisible:
                return self.error_page(request, user, 404, "not_found")
            except AuthError as exc:
                return self.error_page(request, user, exc.status, "forbidden")

        return endpoint

    # --- sign-in --------------------------------------------------------------------------
    async def login_page(self, request: Request) -> Response:
        nxt = request.query_params.get("next", "/")
        return self.render(request, "login.html", {"user": None, "next": nxt, "username": ""})

    async def login_submit(self, request: Request) -> Response:
        try:
            form = await self.check_csrf(request)
        except AuthError as exc:
            return self.render(
                request,
                "login.html",
                {"user": None, "next": "/", "username": "", "error": exc.message},
                403,
            )
        username = str(form.get("username", ""))
        nxt = str(form.get("next", "/"))
        if not nxt.startswith("/") or nxt.startswith("//"):
            nxt = "/"  # never redirect off-site after sign-in
        client = request.client.host if request.client else ""

        def check() -> Scope | None:
            with transaction(self.engine, write=True) as session:
                return login(session, username, str(form.get("password", "")), client=client)

        try:
            scope = await run_in_threadpool(check)
        except AuthError as exc:
            return self.render(
                request,
                "login.html",
                {"user": None, "next": nxt, "username": username, "error": exc.message},
                exc.status,
            )
        if scope is None:
            message = "Sai tên đăng nhập hoặc mật khẩu (wrong username or password)."
            return self.render(
                request,
                "login.html",
                {"user": None, "next": nxt, "username": username, "error": message},
                401,
            )
        lang = self.lang(request)
        request.session.clear()
        request.session.update(
            {"uid": scope.user_id, "lang": lang, "csrf": secrets.token_urlsafe(32)}
        )
        return RedirectResponse(nxt, status_code=303)

    async def logout(self, request: Request) -> Response:
        try:
            await self.check_csrf(request)
        except AuthError:
            return RedirectResponse("/", status_code=303)
        lang = self.lang(request)
        request.session.clear()
        request.session["lang"] = lang
        return RedirectResponse("/login", status_code=303)

    async def set_lang(self, request: Request) -> Response:
        to = request.query_params.get("to", "vi")
        request.session["lang"] = to if to in i18n.LANGS else "vi"
        nxt = request.query_params.get("next", "/")
        return RedirectResponse(
            nxt if nxt.startswith("/") and not nxt.startswith("//") else "/", status_code=303
        )

    async def home(self, request: Request) -> Response:
        user = await run_in_threadpool(self.user, request)
        return RedirectResponse("/dashboard" if user else "/login", status_code=303)

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

    # --- submissions ----------------------------------------------------------------------
    async def submissions(self, request: Request, user: Scope) -> Response:
        q = request.query_params
        filters = {
            "form": q.get("form", ""),
            "commune": q.get("commune", ""),
            "period": q.get("period", ""),
            "state": q.get("state", ""),
            "issues": q.get("issues", "") == "1",
            "ids": q.get("ids", ""),
            # provenance: the submissions an indicator's numerator is made of (DESIGN §8)
            "indicator": q.get("indicator", ""),
            "org": q.get("org", ""),
        }
        try:
            page = max(1, int(q.get("page", "1")))
        except ValueError:
            page = 1
        lang = self.lang(request)

        def load() -> dict[str, Any]:
            with transaction(self.engine) as session:
                return self._list(session, user, filters, page, lang)

        data = await run_in_threadpool(load)

        def page_url(n: int) -> str:
            params = {k: v for k, v in q.items() if k != "page"}
            return "/submissions?" + urlencode({**params, "page": n})

        return self.render(
            request,
            "submissions.html",
            {
                "user": user,
                "nav": "submissions",
                "filters": filters,
                "page": page,
                "page_url": page_url,
                "states": i18n.REVIEW_STATES,
                **data,
            },
        )

    def _list(
        self, session: Session, user: Scope, filters: dict[str, Any], page: int, lang: str
    ) -> dict[str, Any]:
        communes = self.scoped_communes(session, user)
        errors = func.sum(case((ValidationIssue.severity == "error", 1), else_=0))
        warnings = func.sum(case((ValidationIssue.severity == "warning", 1), else_=0))
        issue_counts = (
            select(
                ValidationIssue.submission_id.label("sid"),
                errors.label("errors"),
                warnings.label("warnings"),
            )
            .join(Submission, Submission.id == ValidationIssue.submission_id)
            .where(
                ValidationIssue.version_id == Submission.current_version_id,
                ValidationIssue.status == "open",
            )
            .group_by(ValidationIssue.submission_id)
            .subquery()
        )
        query = (
            select(
                Submission.id,
                Submission.activity_date,
                Submission.commune_code,
                Submission.review_state,
                Submission.submitted_at,
                Form.title.label("form_title"),
                OrgUnit.name.label("commune_name"),
                func.coalesce(issue_counts.c.errors, 0).label("errors"),
                func.coalesce(issue_counts.c.warnings, 0).label("warnings"),
            )
            .join(Form, Form.id == Submission.form_pk)
            .outerjoin(
                OrgUnit, (OrgUnit.code == Submission.commune_code) & OrgUnit.valid_to.is_(None)
            )
            .outerjoin(issue_counts, issue_counts.c.sid == Submission.id)
            .where(Submission.deleted.is_(False))
        )
        error = None
        if communes is not None:
            query = query.where(Submission.commune_code.in_(communes))
        if filters["form"]:
            query = query.where(Form.form_id == filters["form"])
        if filters["commune"]:
            query = query.where(Submission.commune_code == filters["commune"])
        if filters["state"] in i18n.REVIEW_STATES:
            query = query.where(Submission.review_state == filters["state"])
        if filters["issues"]:
            query = query.where(issue_counts.c.sid.is_not(None))
        if filters["ids"]:
            ids = [int(i) for i in filters["ids"].split(",") if i.strip().isdigit()]
            query = query.where(Submission.id.in_(ids))
        if filters["indicator"] and filters["org"] and filters["period"]:
            query = query.where(Submission.id.in_(self._provenance(session, user, filters)))
        if filters["period"]:
            try:
                period = parse_period(filters["period"])
                query = query.where(
                    Submission.activity_date >= period.start,
                    Submission.activity_date <= period.end,
                )
            except PeriodError:
                error = (
                    f"Kỳ {filters['period']!r} không hợp lệ; ví dụ 2026, 2026Q3, 202609, "
                    "2021-2025 (invalid period)."
                )
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.execute(
            query.order_by(Submission.activity_date.desc(), Submission.id.desc())
            .limit(PAGE_SIZE + 1)
            .offset((page - 1) * PAGE_SIZE)
        ).all()
        commune_choices = session.execute(
            select(OrgUnit.code, OrgUnit.name)
            .where(
                OrgUnit.level == "commune",
                OrgUnit.valid_to.is_(None),
                OrgUnit.code.in_(select(Submission.commune_code).distinct()),
            )
            .order_by(OrgUnit.name)
        ).all()
        if communes is not None:
            allowed = set(communes)
            commune_choices = [c for c in commune_choices if c.code in allowed]
        forms = session.execute(select(Form.form_id, Form.title).order_by(Form.title)).all()
        return {
            "rows": rows[:PAGE_SIZE],
            "more": len(rows) > PAGE_SIZE,
            "total": total,
            "communes": commune_choices,
            "forms": forms,
            "error": error,
        }

    def _provenance(self, session: Session, user: Scope, filters: dict[str, Any]) -> list[int]:
        """Ids behind an indicator's numerator for a unit the user may see (else a 404)."""
        from pcmd.pipeline.indicators.query import submission_ids

        org = filters["org"]
        unit = session.execute(
            select(OrgUnit.level, OrgUnit.parent_code).where(
                OrgUnit.code == org, OrgUnit.valid_to.is_(None)
            )
        ).first()
        if unit is None:
            raise NotVisible
        ancestors = [unit.parent_code] if unit.parent_code else []
        if unit.level == "commune" and unit.parent_code:
            ancestors.append("VN")
        if not user.sees_unit(org, ancestors):
            raise NotVisible
        try:
            return submission_ids(
                session.connection(),
                indicator=filters["indicator"],
                period=filters["period"],
                org=org,
            )
        except (PeriodError, PcmdError):
            return []

    async def submission(self, request: Request, user: Scope) -> Response:
        sid = int(request.path_params["sid"])
        lang = self.lang(request)

        def load() -> dict[str, Any]:
            with transaction(self.engine) as session:
                return self._detail(session, user, sid, lang)

        data = await run_in_threadpool(load)
        return self.render(request, "submission.html", {"user": user, "nav": "submissions", **data})

    def _detail(self, session: Session, user: Scope, sid: int, lang: str) -> dict[str, Any]:
        sub = self.visible_submission(session, user, sid)
        version = session.get(SubmissionVersion, sub.current_version_id)
        assert version is not None
        form = session.get(Form, sub.form_pk)
        form_version_id = session.scalar(
            select(FormVersion.id).where(
                FormVersion.form_pk == sub.form_pk, FormVersion.version == version.form_version
            )
        )
        labels = self.labels(session, form_version_id) if form_version_id else None
        answers = []
        for path, value in version.data.items():
            if path.startswith("meta/") or path in ("start", "end", "today", "deviceid"):
                continue
            answers.append(
                {
                    "label": labels.question(path, lang) if labels else path,
                    "value": self._show(labels, path, value, lang),
                }
            )
        issues = session.scalars(
            select(ValidationIssue)
            .where(ValidationIssue.version_id == version.id)
            .order_by(ValidationIssue.severity, ValidationIssue.rule)
        ).all()
        versions = session.scalars(
            select(SubmissionVersion)
            .where(SubmissionVersion.submission_id == sub.id)
            .order_by(SubmissionVersion.id)
        ).all()
        history = []
        previous: dict[str, Any] | None = None
        for v in versions:
            changes = ""
            if previous is not None:
                changed = [
                    p
                    for p in v.data
                    if v.data.get(p) != previous.get(p)
                    and not p.startswith("meta/")
                    and p not in ("start", "end")
                ]
                shown = [labels.question(p, lang) if labels else p for p in changed[:6]]
                changes = ", ".join(shown)
            history.append(
                {
                    "id": v.id,
                    "instance_id": v.instance_id,
                    "received_at": v.received_at,
                    "changes": changes,
                }
            )
            previous = v.data
        photos = session.scalars(
            select(Attachment)
            .where(Attachment.version_id == version.id)
            .order_by(Attachment.filename)
        ).all()
        reviews = session.scalars(
            select(AuditLog)
            .where(AuditLog.action == "submission.review", AuditLog.target == str(sub.id))
            .order_by(AuditLog.at)
        ).all()
        location = version.data.get("location")
        commune_name = session.scalar(
            select(OrgUnit.name).where(OrgUnit.code == sub.commune_code, OrgUnit.valid_to.is_(None))
        )
        proposed = None
        if version.data.get("establishment/known") == "no" and version.data.get(
            "establishment/name"
        ):
            exists = session.scalar(
                select(Establishment.id).where(Establishment.proposed_by_submission_id == sub.id)
            )
            if exists is None:
                proposed = version.data["establishment/name"]
        return {
            "sub": sub,
            "form_title": form.title if form else "",
            "answers": answers,
            "issues": issues,
            "versions": history,
            "photos": photos,
            "reviews": reviews,
            "location": (
                f"{location[0]:.5f}, {location[1]:.5f}"
                if isinstance(location, list) and len(location) >= 2
                else None
            ),
            "commune_name": commune_name,
            "proposed_establishment": proposed,
        }

    @staticmethod
    def _show(labels: Labels | None, path: str, value: Any, lang: str) -> str:
        if value is None:
            return "—"
        if labels and path in labels.choices:
            names = value if isinstance(value, list) else [value]
            return ", ".join(labels.choice(path, str(n), lang) for n in names)
        if isinstance(value, list):
            return " ".join(str(v) for v in value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return i18n.number(value, lang)
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return i18n.date(value)
        return str(value)

    async def review(self, request: Request, user: Scope) -> Response:
        form = await self.check_csrf(request)
        if not user.can_review:
            raise AuthError("forbidden", status=403)
        sid = int(request.path_params["sid"])
        action = str(form.get("action", ""))
        if action not in ("approved", "has_issues", "rejected"):
            raise AuthError("forbidden", status=400)
        comment = str(form.get("comment", ""))[:500]

        def apply() -> None:
            with transaction(self.engine, write=True) as session:
                sub = self.visible_submission(session, user, sid)
                session.execute(
                    update(Submission)
                    .where(Submission.id == sub.id)
                    # updated_at moves so the incremental pipeline run picks the change up
                    .values(review_state=action, updated_at=utcnow())
                )
                session.add(
                    AuditLog(
                        actor=f"user:{user.username}",
                        action="submission.review",
                        target=str(sub.id),
                        details={"state": action, "comment": comment},
                    )
                )
            refresh_indicators(self.engine)

        await run_in_threadpool(apply)
        request.session["flash"] = i18n.text("saved", self.lang(request))
        return RedirectResponse(f"/submissions/{sid}", status_code=303)

    async def override(self, request: Request, user: Scope) -> Response:
        """A reviewer accepts a validation issue: an error then no longer excludes the record."""
        await self.check_csrf(request)
        if not user.can_review:
            raise AuthError("forbidden", status=403)
        sid = int(request.path_params["sid"])
        issue_id = int(request.path_params["iid"])

        def apply() -> None:
            from pcmd.pipeline.validate.runner import override_issue

            with transaction(self.engine, write=True) as session:
                self.visible_submission(session, user, sid)
                owner = session.scalar(
                    select(ValidationIssue.submission_id).where(ValidationIssue.id == issue_id)
                )
                if owner != sid:
                    raise NotVisible
                override_issue(session.connection(), issue_id, f"user:{user.username}")
            refresh_indicators(self.engine)

        try:
            await run_in_threadpool(apply)
        except PcmdError as exc:
            request.session["flash_error"] = exc.message
        else:
            request.session["flash"] = i18n.text("saved", self.lang(request))
        return RedirectResponse(f"/submissions/{sid}", status_code=303)

    async def accept_establishment(self, request: Request, user: Scope) -> Response:
        await self.check_csrf(request)
        if not user.can_review:
            raise AuthError("forbidden", status=403)
        sid = int(request.path_params["sid"])

        def apply() -> None:
            with transaction(self.engine, write=True) as session:
                sub = self.visible_submission(session, user, sid)
                version = session.get(SubmissionVersion, sub.current_version_id)
                assert version is not None
                data = version.data
                if data.get("establishment/known") != "no" or not data.get("establishment/name"):
                    raise NotVisible
                new_id = f"{sub.commune_code}-{sub.id:06d}"
                if session.get(Establishment, new_id) is None:
                    session.add(
                        Establishment(
                            id=new_id,
                            name=str(data["establishment/name"]),
                            type=str(data.get("establishment/type") or "khac"),
                            commune_code=sub.commune_code or "",
                            address=str(data.get("establishment/address") or ""),
                            license_no=str(data.get("establishment/license_no") or ""),
                            status="active",
                            proposed_by_submission_id=sub.id,
                        )
                    )
                    session.add(
                        AuditLog(
                            actor=f"user:{user.username}",
                            action="establishment.accept",
                            target=new_id,
                            details={"submission": sub.id},
                        )
                    )
                    from pcmd.forms.registry import refresh_media

                    refresh_media(session)
            refresh_indicators(self.engine)

        await run_in_threadpool(apply)
        request.session["flash"] = i18n.text("saved", self.lang(request))
        return RedirectResponse(f"/submissions/{sid}", status_code=303)

    async def attachment(self, request: Request, user: Scope) -> Response:
        aid = int(request.path_params["aid"])

        def find() -> Attachment:
            with transaction(self.engine) as session:
                att = session.get(Attachment, aid)
                if att is None:
                    raise NotVisible
                self.visible_submission(session, user, att.submission_id)
                return att

        att = await run_in_threadpool(find)
        path = self.store.path_for(att.sha256)
        if not path.exists():
            raise NotVisible
        return FileResponse(
            path, media_type=att.content_type, headers={"Cache-Control": "private, max-age=86400"}
        )

    def routes(self, extra: Sequence[BaseRoute] = ()) -> list[BaseRoute]:
        g = self.guarded
        return [
            Route("/", self.home),
            Route("/login", self.login_page, methods=["GET"]),
            Route("/login", self.login_submit, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/lang", self.set_lang),
            Route("/submissions", g(self.submissions)),
            Route("/submissions/{sid:int}", g(self.submission)),
            Route("/submissions/{sid:int}/review", g(self.review), methods=["POST"]),
            Route(
                "/submissions/{sid:int}/issues/{iid:int}/accept",
                g(self.override),
                methods=["POST"],
            ),
            Route(
                "/submissions/{sid:int}/establishment",
                g(self.accept_establishment),
                methods=["POST"],
            ),
            Route("/attachments/{aid:int}", g(self.attachment)),
            *extra,
            Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
        ]


def refresh_indicators(engine: Engine) -> None:
    """Bring the indicators up to date after a review action (incremental pipeline run)."""
    try:
        from pcmd.pipeline.run import run_pipeline  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # the pipeline module is not there yet
        return
    run_pipeline(engine)
