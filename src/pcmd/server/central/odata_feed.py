"""A form's OData service as ODK Central serves it: `GET /v1/projects/1/forms/{id}.svc`
(service document), `….svc/$metadata` (EDMX) and `….svc/Submissions` (rows, with `$top $skip
$count $filter $select $orderby $wkt $expand=*`, paged by `@odata.nextLink` with Central's
`$skiptoken`), one row as `….svc/Submissions('uuid:…')`, and the repeat tables
(`….svc/Submissions.hh.people`, odata_repeat_table.py). Only current, not deleted submissions
inside the reader's communes. A table asked for without `$top` is sent as it is read, CHUNK
rows at a time (odata_stream.py), as Central streams it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from pcmd.db.engine import transaction
from pcmd.db.models import FormVersion, Submission, SubmissionVersion, utcnow
from pcmd.db.one_of import one_of
from pcmd.server.accounts import Scope
from pcmd.server.central import problems
from pcmd.server.central.auth import Central
from pcmd.server.central.odata_filter import compile_filter, parse_filter
from pcmd.server.central.odata_metadata import edmx, service_document
from pcmd.server.central.odata_options import Options, read_options, skiptoken_for
from pcmd.server.central.odata_repeat_table import RepeatTable
from pcmd.server.central.odata_repeats import repeat_rows
from pcmd.server.central.odata_rows import check_select, select_row, submission_row
from pcmd.server.central.odata_stream import json_body
from pcmd.server.central.problems import Problem
from pcmd.server.central.records import FILTER_COLUMNS, after, records, visible
from pcmd.server.central.schema import Field, form_fields, repeat_tables, sanitize

JSON_TYPE = "application/json; odata.metadata=minimal"
HEADERS = {"OData-Version": "4.0"}
ORDERABLE = tuple(FILTER_COLUMNS)
ONE_ROW = re.compile(r"^Submissions\('((?:uuid:)?[A-Za-z0-9-]+)'\)$", re.IGNORECASE)
CHUNK = 500  # rows of the Submissions table read at a time when it is streamed
BAD_CURSOR = (
    "Giá trị $skiptoken không hợp lệ cho bảng này (the $skiptoken is not one of this table's): "
    "follow the @odata.nextLink of the previous page as it is."
)


def table_order(options: Options) -> list[ColumnElement[Any]]:
    """The table's order: `$orderby`'s fields then the newest first, else Central's (the
    newest submission first)."""
    if not options.orderby:
        return [Submission.submitted_at.desc(), Submission.id.desc()]
    order = [
        FILTER_COLUMNS[name].expression.desc() if desc else FILTER_COLUMNS[name].expression.asc()
        for name, desc in options.orderby
    ]
    return [*order, Submission.id.desc()]


@dataclass(frozen=True)
class Fetched:
    """Rows of the Submissions table: those of one read, whether more follow, and the total
    when `$count` asked for it."""

    value: list[dict[str, Any]]
    last: str | None  # the instanceId of the last row
    more: bool
    total: int | None


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

    def page_link(
        self, request: Request, table: str, skiptoken: str | None = None, skip: int = 0
    ) -> str:
        """The address of a table's next page: the request's options, its cursor replaced."""
        pairs = [
            (k, v)
            for k, v in request.query_params.multi_items()
            if k not in ("$skip", "$skiptoken")
        ]
        pairs.append(("$skiptoken", skiptoken) if skiptoken is not None else ("$skip", str(skip)))
        return f"{self.service_url(request)}/{table}?{urlencode(pairs)}"

    def next_link(self, request: Request, options: Options, last_id: str) -> str:
        if options.orderby:  # an ordered table pages by position
            return self.page_link(request, "Submissions", skip=options.skip + (options.top or 0))
        return self.page_link(request, "Submissions", skiptoken_for(last_id))

    def rows_query(
        self, session: Session, request: Request, scope: Scope, options: Options
    ) -> tuple[Select[Submission, SubmissionVersion], tuple[Field, ...], int | None]:
        """The table's visible rows as `$filter` narrows them, its fields, and the count of
        those rows when `$count` asks for it."""
        form_pk, fields = self.fields(session, request)
        query = visible(form_pk, self.central.communes(session, scope))
        if options.filter:
            node = parse_filter(options.filter)
            query = query.where(compile_filter(node, FILTER_COLUMNS, options.filter, utcnow()))
        total = (
            session.scalar(select(func.count()).select_from(query.subquery()))
            if options.count
            else None
        )
        return query, fields, total

    def fetch(
        self,
        request: Request,
        scope: Scope,
        options: Options,
        only: str | None = None,
        ids: Sequence[int] | None = None,
    ) -> Fetched:
        """A page of the table as `options` say; with `ids`, those rows in that order (the
        paging options then have been applied when the ids were read)."""
        with transaction(self.central.engine) as session:
            query, fields, total = self.rows_query(session, request, scope, options)
            wanted = check_select(options.select, fields) if options.select else []
            if ids is not None:
                dialect = session.get_bind().dialect.name
                position = {sid: i for i, sid in enumerate(ids)}
                chosen = session.execute(query.where(one_of(dialect, Submission.id, ids)))
                rows = sorted(((s, v) for s, v in chosen), key=lambda r: position[r[0].id])
                more = False
            else:
                if only is not None:  # Submissions('uuid:…'): one row
                    query = query.where(Submission.instance_id == only)
                if options.skiptoken is not None:
                    start = session.scalar(
                        select(Submission).where(Submission.instance_id == options.skiptoken)
                    )
                    if start is None:
                        query = query.where(Submission.id.is_(None))  # Central: an empty page
                    else:
                        query = query.where(after(start.submitted_at, start.id))
                query = query.order_by(*table_order(options))
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
        last = found[-1].submission.instance_id if found else None
        return Fetched(value, last, more, total)

    def page(
        self, request: Request, scope: Scope, options: Options, only: str | None = None
    ) -> dict[str, Any]:
        fetched = self.fetch(request, scope, options, only)
        body: dict[str, Any] = {
            "@odata.context": f"{self.service_url(request)}/$metadata#Submissions",
            "value": fetched.value,
        }
        if fetched.more and fetched.last is not None:
            body["@odata.nextLink"] = self.next_link(request, options, fetched.last)
        if fetched.total is not None:
            body["@odata.count"] = fetched.total
        return body

    def rest(
        self, request: Request, scope: Scope, options: Options, first: Fetched
    ) -> Iterator[dict[str, Any]]:
        """The whole table in Central's order, CHUNK rows a read, each read in a transaction
        of its own, from the cursor of the previous read (an index range)."""
        yield from first.value
        fetched, chunk = first, replace(options, top=CHUNK, count=False)
        while fetched.more:
            chunk = replace(chunk, skiptoken=fetched.last, skip=0)
            fetched = self.fetch(request, scope, chunk)
            yield from fetched.value

    def ordered_ids(
        self, request: Request, scope: Scope, options: Options
    ) -> tuple[list[int], int | None]:
        """A table ordered by `$orderby`: its row ids from `$skip` on, in order, and the count
        when asked. Read once, so that each later read finds its rows by id: an order by a
        field other than the submission date has no index, and reading by position would
        sort the form's submissions again for every chunk."""
        with transaction(self.central.engine) as session:
            query, _fields, total = self.rows_query(session, request, scope, options)
            query = query.order_by(*table_order(options)).offset(options.skip or None)
            ids = list(session.scalars(query.with_only_columns(Submission.id)))
        return ids, total

    def by_ids(
        self, request: Request, scope: Scope, options: Options, ids: list[int]
    ) -> Iterator[dict[str, Any]]:
        """The rows of `ids` in their order, CHUNK a read, each read in a transaction of its
        own; a row deleted since the ids were read is left out."""
        chunk = replace(options, top=None, skip=0, count=False)
        for start in range(0, len(ids), CHUNK):
            yield from self.fetch(request, scope, chunk, ids=ids[start : start + CHUNK]).value

    async def submissions(
        self, request: Request, scope: Scope, only: str | None = None
    ) -> Response:
        options = read_options(request.query_params, ORDERABLE)
        if options.repeat_id is not None:
            raise Problem(400.35, BAD_CURSOR)
        if options.top is None and only is None:
            # read before the status line goes, so that a bad form or filter is a problem
            rows: Iterator[dict[str, Any]]
            if options.orderby:
                ids, total = await run_in_threadpool(self.ordered_ids, request, scope, options)
                rows = self.by_ids(request, scope, options, ids)
            else:
                first = await run_in_threadpool(
                    self.fetch, request, scope, replace(options, top=CHUNK)
                )
                total, rows = first.total, self.rest(request, scope, options, first)
            context = f"{self.service_url(request)}/$metadata#Submissions"
            footer = {} if total is None else {"@odata.count": total}
            return StreamingResponse(
                json_body(context, rows, lambda: footer), media_type=JSON_TYPE, headers=HEADERS
            )
        body = await run_in_threadpool(self.page, request, scope, options, only)
        if only is not None and not body["value"]:
            raise problems.not_found()
        return JSONResponse(body, media_type=JSON_TYPE, headers=HEADERS)

    def repeat_table(
        self, request: Request, scope: Scope, options: Options, table: str
    ) -> RepeatTable:
        with transaction(self.central.engine) as session:
            form_pk, fields = self.fields(session, request)
            path = dict(repeat_tables(fields)).get(table)
            if path is None:
                raise problems.not_found()
            communes = self.central.communes(session, scope)
        return RepeatTable(self.central.engine, form_pk, communes, fields, path, options.wkt)

    def repeat_page(
        self, request: Request, scope: Scope, options: Options, table: str
    ) -> dict[str, Any]:
        """One page ($top) of a repeat table."""
        found = self.repeat_table(request, scope, options, table)
        context = f"{self.service_url(request)}/$metadata#{table}"
        return found.page(options, context, lambda token: self.page_link(request, table, token))

    def repeat_stream(
        self, request: Request, scope: Scope, options: Options, table: str
    ) -> StreamingResponse:
        """A whole repeat table (no $top), its first row read before the status line goes."""
        found = self.repeat_table(request, scope, options, table)
        body = found.whole(options, f"{self.service_url(request)}/$metadata#{table}")
        return StreamingResponse(body, media_type=JSON_TYPE, headers=HEADERS)

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
        if options.filter or options.select:
            raise Problem(
                501.1,
                "Bảng lặp chỉ hỗ trợ $top, $skip, $skiptoken, $count, $wkt (a repeat table takes "
                "only $top, $skip, $skiptoken, $count and $wkt here): filter the Submissions "
                "table instead.",
            )
        if options.skiptoken is not None and options.repeat_id is None:
            raise Problem(400.35, BAD_CURSOR)
        if options.top is None:
            return await run_in_threadpool(self.repeat_stream, request, scope, options, table)
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
