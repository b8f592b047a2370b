"""A fake ODK Central, spoken to over real HTTP.

What pcmd's client relies on, as shared/reference/odk-openrosa-central.md §2.2 describes the
real one: `POST /v1/sessions` (bearer token), the OData feed
`/v1/projects/{p}/forms/{f}.svc/Submissions` with `$top`, `$count`, `$filter` on
`__system/submissionDate|updatedAt|deletedAt` (`gt ge lt le eq ne`, joined by `or`/`and`;
deleted rows only when the filter names `__system/deletedAt`), pages newest → oldest reached
through `@odata.nextLink` with a `$skiptoken` of "01" + base64 JSON `{"instanceId": …}`,
attachment downloads, and injected faults. Rows are nested by group, numbers are numbers and a
geopoint is GeoJSON; an edit keeps `__id`, gives `meta/instanceID` a new value and bumps
`__system/updatedAt`, as does a review; an edit may replace a photo under the same name (the
new version's attachment is the new bytes, unchanged files are carried over by name). A restore
moves none of submissionDate/updatedAt/deletedAt (only deletedAt goes back to null), so
only a listing of ids sees it. `$select` keeps the named fields (`__id`, `__system/x`, a
group), as with a paged listing of identities. `attachment_delay` slows attachment downloads
and `max_in_flight` records how many were served at once.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import datetime as dt
import json
import threading
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.pipeline.instances import instance_xml
from tests.sync.fakes.faults import Faults, apply

PROJECT, FORM = 3, "pcmd_outreach"
EMAIL, PASSWORD = "sync@tinh-qn.example.vn", "Mk-Central-2026!"


def now_text() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def outreach_row(
    instance_id: str, *, commune: str = "21025", students: int = 40, photo: str | None = None
) -> dict[str, Any]:
    """The answers of tests.server.collect.outreach_xml as Central's OData gives them."""
    return {
        "start": "2026-11-20T08:00:00.000+07:00",
        "end": "2026-11-20T08:20:00.000+07:00",
        "today": "2026-11-20",
        "deviceid": "collect:AbCdEfGh12345678",
        "username": "can_bo_xa",
        "where": {"province": "51", "commune": commune},
        "reporter_org": "phu_nu",
        "activity_date": "2026-11-20",
        "channel": "hoi_nghi",
        "setting": "truong_hoc",
        "topics": "phap_luat hiv_sti",
        "integrated": "khong",
        "reach": {
            "n_establishment_workers": 0,
            "n_industrial_workers": 0,
            "n_students": students,
            "n_general": 5,
            "n_female": 20,
            "n_total": str(students + 5),
        },
        "media_items": None,
        "materials": 30,
        "photo": photo,
        "location": {
            "type": "Point",
            "coordinates": [108.8, 15.12, 12],
            "properties": {"accuracy": 5},
        },
        "notes": None,
        "meta": {"instanceID": instance_id, "instanceName": "2026-11-20 - Phường Cẩm Thành"},
    }


class FakeCentral:
    def __init__(self, form: str = FORM) -> None:
        self.form = form  # the one form this fake serves
        self.rows: dict[str, dict[str, Any]] = {}  # __id → row
        self.order: list[str] = []  # creation order (oldest first)
        self.files: dict[tuple[str, str], bytes] = {}
        self.tokens: set[str] = set()
        self.faults = Faults()
        self.requests: list[dict[str, str]] = []
        self.logins = 0
        self.lock = threading.RLock()
        self.attachment_delay = 0.0
        self.in_flight = 0
        self.max_in_flight = 0
        self.attachment_requests = 0
        # root → every version, oldest first: (instanceId, createdAt, the XML Central keeps)
        self.versions: dict[str, list[tuple[str, str, bytes]]] = {}
        self.version_requests = 0

    # --- data ------------------------------------------------------------------------------

    def add(self, answers: Mapping[str, Any], *, photo: bytes | None = None) -> str:
        with self.lock:
            root: str = answers["meta"]["instanceID"]
            row = copy.deepcopy(dict(answers))
            row["__id"] = root
            row["__system"] = {
                "submissionDate": now_text(),
                "updatedAt": None,
                "submitterId": "17",
                "submitterName": "xa-cam-thanh",
                "attachmentsPresent": 1 if photo is not None else 0,
                "attachmentsExpected": 1 if answers.get("photo") else 0,
                "status": None,
                "reviewState": None,
                "deviceId": "collect:AbCdEfGh12345678",
                "edits": 0,
                "formVersion": "2026112301",
                "deletedAt": None,
            }
            if photo is not None:
                self.files[(root, answers["photo"])] = photo
            self.rows[root] = row
            self.order.append(root)
            self.versions[root] = [(root, now_text(), version_xml(row, None, self.form))]
            return root

    def edit(
        self,
        root: str,
        changes: Mapping[str, Any],
        *,
        photo: bytes | None = None,
        instance_id: str | None = None,
    ) -> str:
        """A new version (Collect or Enketo): new meta/instanceID, updatedAt bumped; `photo`
        replaces the bytes of the record's photo under its (same) name."""
        with self.lock:
            row = self.rows[root]
            previous = row["meta"]["instanceID"]
            new_id = instance_id or f"uuid:{uuid.uuid4()}"
            for key, value in changes.items():
                if isinstance(value, Mapping):
                    row[key] = {**row.get(key, {}), **value}
                else:
                    row[key] = value
            row["meta"]["instanceID"] = new_id
            row["__system"]["edits"] += 1
            row["__system"]["updatedAt"] = now_text()
            row["__system"]["reviewState"] = "edited"
            if photo is not None:
                self.files[(root, row["photo"])] = photo
            self.versions[root].append((new_id, now_text(), version_xml(row, previous, self.form)))
            return new_id

    def review(self, root: str, state: str) -> None:
        with self.lock:
            self.rows[root]["__system"]["reviewState"] = state
            self.rows[root]["__system"]["updatedAt"] = now_text()

    def delete(self, root: str) -> None:
        with self.lock:
            self.rows[root]["__system"]["deletedAt"] = now_text()

    def restore(self, root: str) -> None:  # Central keeps deleted submissions 30 days
        with self.lock:
            self.rows[root]["__system"]["deletedAt"] = None  # no timestamp moves

    def age(self, hours: float = 2.0) -> None:
        """Move every timestamp back (records received and changed a while ago)."""
        with self.lock:
            for row in self.rows.values():
                system = row["__system"]
                for key in ("submissionDate", "updatedAt", "deletedAt"):
                    if system[key] is not None:
                        moment = dt.datetime.fromisoformat(system[key].replace("Z", "+00:00"))
                        moment -= dt.timedelta(hours=hours)
                        system[key] = moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    def purge(self, root: str) -> None:
        with self.lock:
            del self.rows[root]
            self.order.remove(root)

    # --- HTTP ------------------------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        return header.startswith("Bearer ") and header[7:] in self.tokens

    async def sessions(self, request: Request) -> Response:
        body = await request.json()
        if body.get("email") != EMAIL or body.get("password") != PASSWORD:
            return JSONResponse(
                {"code": 401.2, "message": "Could not authenticate with the provided credentials."},
                status_code=401,
            )
        token = uuid.uuid4().hex + uuid.uuid4().hex
        self.tokens.add(token)
        self.logins += 1
        return JSONResponse({"token": token, "csrf": "x", "expiresAt": "2026-11-24T00:00:00Z"})

    @staticmethod
    def _matches(row: Mapping[str, Any], expression: str) -> bool:
        connector = " and " if " and " in expression else " or "
        results = []
        for term in expression.strip("()").split(connector):
            name, op, value = term.strip().split(" ", 2)
            field = name.removeprefix("__system/")
            have = row["__system"].get(field)
            want = None if value == "null" else value
            if op in ("eq", "ne"):
                result = (have == want) if op == "eq" else (have != want)
            elif have is None or want is None:
                result = False
            else:
                result = {
                    "gt": have > want,
                    "ge": have >= want,
                    "lt": have < want,
                    "le": have <= want,
                }[op]
            results.append(result)
        return all(results) if connector == " and " else any(results)

    @staticmethod
    def _select(row: Mapping[str, Any], names: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in names:
            head, _, tail = name.strip().partition("/")
            if head in row:
                value = row[head]
                if tail and isinstance(value, Mapping):
                    out.setdefault(head, {})[tail] = value.get(tail)
                else:
                    out[head] = value
        return out

    async def odata(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse({"code": 401.2, "message": "Unauthorized"}, status_code=401)
        if (
            int(request.path_params["project"]) != PROJECT
            or request.path_params["form"] != self.form
        ):
            return JSONResponse({"code": 404.1, "message": "Not found"}, status_code=404)
        params = request.query_params
        self.requests.append(dict(params))
        expression = params.get("$filter")
        with self.lock:
            rows = [self.rows[i] for i in reversed(self.order)]  # newest first
            if not expression or "__system/deletedAt" not in expression:
                rows = [r for r in rows if r["__system"]["deletedAt"] is None]
            if expression:
                rows = [r for r in rows if self._matches(r, expression)]
            total = len(rows)
            if "$skiptoken" in params:
                token = json.loads(base64.b64decode(params["$skiptoken"][2:]))
                ids = [r["__id"] for r in rows]
                rows = (
                    rows[ids.index(token["instanceId"]) + 1 :] if token["instanceId"] in ids else []
                )
            top = int(params["$top"]) if "$top" in params else len(rows)
            chosen = copy.deepcopy(rows[:top])
        if "$select" in params:
            chosen = [self._select(row, params["$select"].split(",")) for row in chosen]
        body: dict[str, Any] = {
            "@odata.context": (
                f"{request.base_url}v1/projects/{PROJECT}/forms/{self.form}.svc/$metadata#Submissions"
            ),
            "value": chosen,
        }
        if params.get("$count") == "true":
            body["@odata.count"] = total
        if "$top" in params and len(rows) > top:
            skip = (
                "01"
                + base64.b64encode(json.dumps({"instanceId": chosen[-1]["__id"]}).encode()).decode()
            )
            kept = {k: v for k, v in params.items() if k != "$skiptoken"}
            body["@odata.nextLink"] = (
                f"{str(request.url).split('?')[0]}?{urlencode({**kept, '$skiptoken': skip})}"
            )
        raw = json.dumps(body, ensure_ascii=False).encode()
        faulty = await apply(self.faults.take(), raw)
        return faulty or Response(raw, media_type="application/json")

    async def attachment(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse({"code": 401.2, "message": "Unauthorized"}, status_code=401)
        with self.lock:
            self.attachment_requests += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.attachment_delay:
                await asyncio.sleep(self.attachment_delay)
            content = self.files.get((request.path_params["iid"], request.path_params["name"]))
        finally:
            with self.lock:
                self.in_flight -= 1
        if content is None:
            return JSONResponse({"code": 404.1, "message": "Not found"}, status_code=404)
        return Response(content, media_type="image/jpeg")

    async def attachments(self, request: Request) -> Response:
        """`GET …/submissions/{iid}/attachments`: the files the current version expects."""
        if not self._authorised(request):
            return JSONResponse({"code": 401.2, "message": "Unauthorized"}, status_code=401)
        root = request.path_params["iid"]
        with self.lock:
            row = self.rows.get(root)
            if row is None:
                return JSONResponse({"code": 404.1, "message": "Not found"}, status_code=404)
            names = [row["photo"]] if row.get("photo") else []
            listing = [{"name": n, "exists": (root, n) in self.files} for n in names]
        return JSONResponse(listing)

    async def version_list(self, request: Request) -> Response:
        """`GET …/submissions/{root}/versions`: every version, newest first, `current` marked."""
        self.version_requests += 1
        if not self._authorised(request):
            return JSONResponse({"code": 401.2, "message": "Unauthorized"}, status_code=401)
        with self.lock:
            versions = self.versions.get(request.path_params["iid"])
            if versions is None:
                return JSONResponse({"code": 404.1, "message": "Not found"}, status_code=404)
            listing = [
                {
                    "instanceId": iid,
                    "createdAt": at,
                    "submitterId": 17,
                    "deviceId": "collect:AbCdEfGh12345678",
                    "instanceName": "2026-11-20 - Phường Cẩm Thành",
                    "current": i == len(versions) - 1,
                }
                for i, (iid, at, _xml) in enumerate(versions)
            ]
        return JSONResponse(list(reversed(listing)))

    async def version_document(self, request: Request) -> Response:
        """`GET …/submissions/{root}/versions/{instanceId}.xml`: that version as submitted."""
        if not self._authorised(request):
            return JSONResponse({"code": 401.2, "message": "Unauthorized"}, status_code=401)
        wanted = request.path_params["vid"]
        with self.lock:
            for iid, _at, xml in self.versions.get(request.path_params["iid"], []):
                if iid == wanted:
                    return Response(xml, media_type="application/xml")
        return JSONResponse({"code": 404.1, "message": "Not found"}, status_code=404)

    def app(self) -> Starlette:
        base = "/v1/projects/{project:int}/forms/{form}"
        return Starlette(
            routes=[
                Route("/v1/sessions", self.sessions, methods=["POST"]),
                Route(base + ".svc/Submissions", self.odata),
                Route(base + "/submissions/{iid}/attachments", self.attachments),
                Route(base + "/submissions/{iid}/attachments/{name}", self.attachment),
                Route(base + "/submissions/{iid}/versions", self.version_list),
                Route(base + "/submissions/{iid}/versions/{vid}.xml", self.version_document),
            ]
        )


def attachment_path(root: str, name: str) -> str:
    return (
        f"/v1/projects/{PROJECT}/forms/{FORM}/submissions/{quote(root, safe='')}/attachments/{name}"
    )


def version_xml(row: Mapping[str, Any], deprecated_id: str | None, form: str = FORM) -> bytes:
    """The instance XML of a row's current answers, as Collect sent it (Central keeps each
    version's XML; `deprecatedID` names the version it replaced)."""

    def flat(node: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in node.items():
            if key.startswith("__") or key == "meta":
                continue
            if isinstance(value, Mapping) and value.get("type") == "Point":
                lon, lat, alt = value["coordinates"]
                out[prefix + key] = f"{lat} {lon} {alt} {value['properties']['accuracy']}"
            elif isinstance(value, Mapping):
                out.update(flat(value, f"{prefix}{key}/"))
            else:
                out[prefix + key] = "" if value is None else str(value)
        return out

    return instance_xml(form, flat(row), row["meta"]["instanceID"], deprecated_id=deprecated_id)
