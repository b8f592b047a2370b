"""Central's projects and forms, for readers: `GET /v1/projects`, `/v1/projects/1`,
`/v1/projects/1/forms`, `…/forms/{id}`, `…/forms/{id}.xml` and `…/forms/{id}/fields` (the
schema ruODK reads; `?odata=true` gives OData-safe names), with the keys pyodk's models
require (`id`, `name`, `createdAt`; `projectId`, `xmlFormId`, `version`, `hash`, `state`, …).
pcmd has one project, 1, which every signed-in reader may list.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from pcmd.db.engine import transaction
from pcmd.db.models import Form, FormVersion, Project
from pcmd.server.accounts import Scope
from pcmd.server.central import problems
from pcmd.server.central.auth import PROJECT_ID, Central
from pcmd.server.central.odata_rows import central_time
from pcmd.server.central.schema import form_fields, sanitize


def project_json(session: Session, project: Project) -> dict[str, Any]:
    forms = session.scalar(
        select(func.count())
        .select_from(Form)
        .where(Form.project_id == project.id, Form.current_version_id.is_not(None))
    )
    return {
        "id": project.id,
        "name": project.name,
        "description": None,
        "archived": False,
        "keyId": None,
        "forms": forms or 0,
        "createdAt": central_time(project.created_at),
        "updatedAt": None,
        "deletedAt": None,
    }


def form_json(form: Form, version: FormVersion) -> dict[str, Any]:
    return {
        "projectId": form.project_id,
        "xmlFormId": form.form_id,
        "name": form.title or None,
        "version": version.version or "",
        "enketoId": None,
        "hash": version.xform_md5,
        "keyId": None,
        "state": form.state,
        "createdAt": central_time(form.created_at),
        "updatedAt": None,
        "publishedAt": central_time(version.created_at),
    }


class ProjectEndpoints:
    def __init__(self, central: Central) -> None:
        self.central = central

    async def projects(self, _request: Request, _scope: Scope) -> Response:
        def load() -> list[dict[str, Any]]:
            with transaction(self.central.engine) as session:
                found = session.scalars(select(Project).where(Project.id == PROJECT_ID))
                return [project_json(session, p) for p in found]

        return JSONResponse(await run_in_threadpool(load))

    async def project(self, request: Request, _scope: Scope) -> Response:
        def load() -> dict[str, Any]:
            self.central.project(request.path_params["pid"])
            with transaction(self.central.engine) as session:
                found = session.get(Project, PROJECT_ID)
                if found is None:
                    raise problems.not_found()
                return project_json(session, found)

        return JSONResponse(await run_in_threadpool(load))

    async def forms(self, request: Request, _scope: Scope) -> Response:
        def load() -> list[dict[str, Any]]:
            self.central.project(request.path_params["pid"])
            with transaction(self.central.engine) as session:
                rows = session.execute(
                    select(Form, FormVersion)
                    .join(FormVersion, FormVersion.id == Form.current_version_id)
                    .where(Form.project_id == PROJECT_ID)
                    .order_by(Form.form_id)
                )
                return [form_json(f, v) for f, v in rows]

        return JSONResponse(await run_in_threadpool(load))

    def _version(self, request: Request) -> tuple[Form, FormVersion]:
        with transaction(self.central.engine) as session:
            form = self.central.form(
                session, request.path_params["pid"], request.path_params["form_id"]
            )
            version = session.get(FormVersion, form.current_version_id)
            if version is None:
                raise problems.not_found()
            session.expunge_all()
            return form, version

    async def form(self, request: Request, _scope: Scope) -> Response:
        form, version = await run_in_threadpool(self._version, request)
        return JSONResponse(form_json(form, version))

    async def xml(self, request: Request, _scope: Scope) -> Response:
        _form, version = await run_in_threadpool(self._version, request)
        return Response(version.xform, media_type="application/xml")

    async def fields(self, request: Request, _scope: Scope) -> Response:
        _form, version = await run_in_threadpool(self._version, request)
        odata = request.query_params.get("odata", "false").lower() == "true"
        out = []
        for f in form_fields(version.xform):
            name = sanitize(f.name) if odata else f.name
            parts = [sanitize(p) if odata else p for p in f.path.split("/")]
            control = (version.fields or {}).get(f.path, {}).get("control")
            out.append(
                {
                    "name": name,
                    "path": "/" + "/".join(parts),
                    "type": f.kind,
                    "binary": True if f.kind == "binary" else None,
                    "selectMultiple": True if control == "select" else None,
                }
            )
        return JSONResponse(out)

    def routes(self) -> list[BaseRoute]:
        ep = self.central.endpoint
        return [
            Route("/v1/projects", ep(self.projects), methods=["GET"]),
            Route("/v1/projects/{pid:int}", ep(self.project), methods=["GET"]),
            Route("/v1/projects/{pid:int}/forms", ep(self.forms), methods=["GET"]),
            Route("/v1/projects/{pid:int}/forms/{form_id}.xml", ep(self.xml), methods=["GET"]),
            Route(
                "/v1/projects/{pid:int}/forms/{form_id}/fields", ep(self.fields), methods=["GET"]
            ),
            Route("/v1/projects/{pid:int}/forms/{form_id}", ep(self.form), methods=["GET"]),
        ]
