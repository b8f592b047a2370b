"""A form's OData service as ODK Central serves it: `GET /v1/projects/1/forms/{id}.svc`
(service document), `….svc/$metadata` (EDMX) and `….svc/Submissions` (rows, with `$top $skip
$count $filter $select $orderby $wkt $expand=*`, paged by `@odata.nextLink` with Central's
`$skiptoken`), and one row as `….svc/Submissions('uuid:…')`. Only current, not deleted
submissions inside the reader's communes.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from pcmd.db.engine import transaction
from pcmd.db.models import FormVersion, Submission, utcnow
from pcmd.server.accounts import Scope
from pcmd.server.central import problems
from pcmd.server.central.auth import Central
from pcmd.server.central.odata_filter import compile_filter, parse_filter
from pcmd.server.central.odata_metadata import edmx, service_document
from pcmd.server.central.odata_options import Options, read_options, skiptoken_for
from pcmd.server.central.odata_repeats import repeat_rows
from pcmd.server.central.odata_rows import check_select, select_row, submission_row
from pcmd.server.central.problems import Problem
from pcmd.server.central.records import FILTER_COLUMNS, after, records, visible
from pcmd.server.central.schema import Field, form_fields, repeat_tables, sanitize

JSON_TYPE = "application/json; odata.metadata=minimal"
HEADERS = {"OData-Version": "4.0"}
ORDERABLE = tuple(FILTER_COLUMNS)
ONE_ROW = re.compile(r"^Submissions\('((?:uuid:)?[A-Za-z0-9-]+)'\)$", re.IGNORECASE)


def expand(
    row: dict[str, Any], xml: str, instance_id: str, fields: tuple[Field, ...], wkt: bool
) -> None:
    """`$expand=*`: each outermost repeat's rows inlined beside its navigation link."""
    for f in fields:
        if f.kind != "repeat" or any(
            o.kind == "repeat" and f.path.startswith(o.path + "/") for o in fields
        ):
            continue
        parent = row
        for part in f.path.split("/")[:-1]:
            parent = parent.setdefault(sanitize(part), {})
        parent[sanitize(f.name)] = repeat_rows(xml, instance_id, fields, f.path, wkt=wkt)


class ODataFeed:
    def __init__(self, central: Central) -> None:
        self.central = central

    def service_url(self, request: Request) -> str:
        p = request.path_params
        return f"{self.central.settings.base_url}/v1/projects/{p['pid']}/forms/{p['form_id']}.svc"

    def fields(self, session: Session, request: Request) -> tuple[int, tuple[Field, ...]]:
        form = self.central.form(
            session, request.path_params["pid"], request.path_params["form_id"]
        )
        xform = session.scalar(
            select(FormVersion.xform).where(FormVersion.id == form.current_version_id)
        )
        return form.id, form_fields(xform or "<h:html xmlns:h='http://www.w3.org/1999/xhtml'/>")

    async def service(self, request: Request, _scope: Scope) -> Response:
        def load() -> tuple[Field, ...]:
            with transaction(self.central.engine) as session:
                return self.fields(session, request)[1]

        fields = await run_in_threadpool(load)
        body = service_document(f"{self.service_url(request)}/$metadata", fields)
        return JSONResponse(body, media_type=JSON_TYPE, headers=HEADERS)

    async def metadata(self, request: Request, _scope: Scope) -> Response:
        def load() -> tuple[Field, ...]:
            with transaction(self.central.engine) as session:
                return self.fields(session, request)[1]

        fields = await run_in_threadpool(load)
        text = edmx(request.path_params["form_id"], fields)
        return Response(text, media_type="application/xml", headers=HEADERS)

    def next_link(self, request: Request, options: Options, last_id: str) -> str:
        pairs = [
            (k, v)
            for k, v in request.query_params.multi_items()
            if k not in ("$skip", "$skiptoken")
        ]
        if options.orderby:  # an ordered table pages by position
            pairs.append(("$skip", str(options.skip + (options.top or 0))))
        else:
            pairs.append(("$skiptoken", skiptoken_for(last_id)))
        return f"{self.service_url(request)}/Submissions?{urlencode(pairs)}"

    def page(
        self, request: Request, scope: Scope, options: Options, only: str | None = None
    ) -> dict[str, Any]:
        now = utcnow()
        with transaction(self.central.engine) as session:
            form_pk, fields = self.fields(session, request)
            wanted = check_select(options.select, fields) if options.select else []
            query = visible(form_pk, self.central.communes(session, scope))
            if options.filter:
                node = parse_filter(options.filter)
                query = query.where(compile_filter(node, FILTER_COLUMNS, options.filter, now))
            total = (
                session.scalar(select(func.count()).select_from(query.subquery()))
                if options.count
                else None
            )
            if only is not None:  # Submissions('uuid:…'): one row
                query = query.where(Submission.instance_id == only)
            if options.skiptoken is not None:
                start = session.scalar(
                    select(Submission).where(Submission.instance_id == options.skiptoken)
                )
                if start is None:
                    query = query.where(Submission.id.is_(None))  # Central: an empty page
                else:
                    query = query.where(after(start))
            if options.orderby:
                order = [
                    FILTER_COLUMNS[name].expression.desc()
                    if desc
                    else FILTER_COLUMNS[name].expression.asc()
                    for name, desc in options.orderby
                ]
                query = query.order_by(*order, Submission.id.desc())
            else:
                query = query.order_by(Submission.submitted_at.desc(), Submission.id.desc())
            if options.skip:
                query = query.offset(options.skip)
            if options.top is not None:
                query = query.limit(options.top + 1)
            rows = [(s, v) for s, v in session.execute(query)]
            more = options.top is not None and len(rows) > options.top
            rows = rows[: options.top] if options.top is not None else rows
            found = records(session, rows)
        value = [
            select_row(
                submission_row(
                    r.submission.instance_id, r.system, fields, r.version.data, wkt=options.wkt
                ),
                wanted,
            )
            for r in found
        ]
        if options.expand:
            for row, r in zip(value, found, strict=True):
                expand(row, r.version.xml, r.submission.instance_id, fields, options.wkt)
        body: dict[str, Any] = {
            "@odata.context": f"{self.service_url(request)}/$metadata#Submissions",
            "value": value,
        }
        if more and found:
            body["@odata.nextLink"] = self.next_link(
                request, options, found[-1].submission.instance_id
            )
        if total is not None:
            body["@odata.count"] = total
        return body

    async def submissions(
        self, request: Request, scope: Scope, only: str | None = None
    ) -> Response:
        options = read_options(request.query_params, ORDERABLE)
        body = await run_in_threadpool(self.page, request, scope, options, only)
        if only is not None and not body["value"]:
            raise problems.not_found()
        return JSONResponse(body, media_type=JSON_TYPE, headers=HEADERS)

    def repeat_page(
        self, request: Request, scope: Scope, options: Options, table: str
    ) -> dict[str, Any]:
        with transaction(self.central.engine) as session:
            form_pk, fields = self.fields(session, request)
            path = dict(repeat_tables(fields)).get(table)
            if path is None:
                raise problems.not_found()
            query = visible(form_pk, self.central.communes(session, scope)).order_by(
                Submission.submitted_at.desc(), Submission.id.desc()
            )
            stored = [(s.instance_id, v.xml) for s, v in session.execute(query)]
        rows = [
            row
            for iid, xml in stored
            for row in repeat_rows(xml, iid, fields, path, wkt=options.wkt)
        ]
        end = None if options.top is None else options.skip + options.top
        body: dict[str, Any] = {
            "@odata.context": f"{self.service_url(request)}/$metadata#{table}",
            "value": rows[options.skip : end],
        }
        if end is not None and end < len(rows):
            pairs = [(k, v) for k, v in request.query_params.multi_items() if k != "$skip"]
            pairs.append(("$skip", str(end)))
            body["@odata.nextLink"] = f"{self.service_url(request)}/{table}?{urlencode(pairs)}"
        if options.count:
            body["@odata.count"] = len(rows)
        return body

    def linked_rows(
        self, request: Request, scope: Scope, options: Options, instance_id: str, link: str
    ) -> dict[str, Any]:
        """What a row's navigation link names: one submission's repetitions of a repeat."""
        with transaction(self.central.engine) as session:
            form_pk, fields = self.fields(session, request)
            path = {"/".join(map(sanitize, p.split("/"))): p for _t, p in repeat_tables(fields)}
            repeat = path.get(link)
            query = visible(form_pk, self.central.communes(session, scope)).where(
                Submission.instance_id == instance_id
            )
            found = session.execute(query).first()
        if repeat is None or found is None:
            raise problems.not_found()
        table = "Submissions." + link.replace("/", ".")
        rows = repeat_rows(found[1].xml, instance_id, fields, repeat, wkt=options.wkt)
        return {"@odata.context": f"{self.service_url(request)}/$metadata#{table}", "value": rows}

    async def link(self, request: Request, scope: Scope) -> Response:
        one = ONE_ROW.match(request.path_params["row"])
        if one is None:
            raise problems.not_found()
        options = read_options(request.query_params, ())
        if (
            options.filter
            or options.skiptoken
            or options.select
            or options.top is not None
            or options.skip
        ):
            raise Problem(
                501.1,
                "Liên kết tới bảng lặp không nhận tham số lọc hay phân trang (a repeat's link "
                "takes no filter or paging here): read the repeat's own table for that.",
            )
        body = await run_in_threadpool(
            self.linked_rows, request, scope, options, one.group(1), request.path_params["link"]
        )
        return JSONResponse(body, media_type=JSON_TYPE, headers=HEADERS)

    async def table(self, request: Request, scope: Scope) -> Response:
        table = request.path_params["table"]
        if table == "Submissions":
            return await self.submissions(request, scope)
        one = ONE_ROW.match(table)
        if one is not None:
            return await self.submissions(request, scope, one.group(1))
        if not table.startswith("Submissions."):
            raise problems.not_found()
        options = read_options(request.query_params, ())
        if options.filter or options.skiptoken or options.select:
            raise Problem(
                501.1,
                "Bảng lặp chỉ hỗ trợ $top, $skip, $count, $wkt (a repeat table takes only $top, "
                "$skip, $count and $wkt here): filter the Submissions table instead.",
            )
        body = await run_in_threadpool(self.repeat_page, request, scope, options, table)
        return JSONResponse(body, media_type=JSON_TYPE, headers=HEADERS)

    def routes(self) -> list[BaseRoute]:
        base = "/v1/projects/{pid:int}/forms/{form_id}.svc"
        ep = self.central.endpoint
        return [
            Route(base, ep(self.service), methods=["GET"]),
            Route(f"{base}/", ep(self.service), methods=["GET"]),
            Route(f"{base}/$metadata", ep(self.metadata), methods=["GET"]),
            Route(f"{base}/{{table}}", ep(self.table), methods=["GET"]),
            # a row's navigation link to its repeat: Submissions('uuid:…')/hh/people
            Route(f"{base}/{{row}}/{{link:path}}", ep(self.link), methods=["GET"]),
        ]
