"""A fake KoboToolbox (KPI API v2) server, spoken to over real HTTP.

It implements what pcmd's client relies on, as shared/reference/kobotoolbox-api.md describes
the real one: `/api/v2/assets/{uid}/data/` with `start`/`limit` paging (default 100, capped at
1,000, 0 or garbage → 400), `query` (Mongo operators on `_id` and `_submission_time`), `sort`,
`fields` (projection that always keeps `_id`, `_uuid`, `meta/rootUuid`), `count`/`next`/
`previous`, Token auth (401), unknown asset (404), attachment downloads, and injected faults.
Records have the real shape: group paths as keys, every answer a string, unanswered questions
absent, `_attachments`, `_validation_status`, `_submission_time`, and (on a "legacy" record)
no `meta/rootUuid` but `_tags`/`_notes`/`_bamboo_dataset_id`. Edits keep `_id`, change
`_uuid`/`meta/instanceID` and set `meta/deprecatedID`; deletes are hard.

    python -m tests.sync.fakes.kobo --records 100000 --port 8765   # for bench/sync.py
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import datetime as dt
import hashlib
import json
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.sync.fakes.faults import Fault, Faults, apply

ASSET = "aQnYr7kLzP3dW2mVb9TfXe"
TOKEN = "3f9a1c0d5e7b2a4c6d8e0f1a2b3c4d5e6f7a8b9c"
FORMHUB = "57e6fd0b4065443280c9641be5670e89"
KOBO_VERSION = "vHNo5vFh3KoB7LWhucUkFy"
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
ALWAYS_FIELDS = ("_id", "_uuid", "meta/rootUuid")


def outreach_answers(
    instance_id: str,
    *,
    commune: str = "21025",
    students: int = 40,
    photo: str = "",
    day: int = 20,
) -> dict[str, str]:
    """The answers of tests.server.collect.outreach_xml as Kobo stores them: the same values,
    group paths as keys, unanswered questions (media_items, notes, an empty photo) absent."""
    answers = {
        "start": f"2026-11-{day:02d}T08:00:00.000+07:00",
        "end": f"2026-11-{day:02d}T08:20:00.000+07:00",
        "today": f"2026-11-{day:02d}",
        "deviceid": "collect:AbCdEfGh12345678",
        "username": "can_bo_xa",
        "where/province": "51",
        "where/commune": commune,
        "reporter_org": "phu_nu",
        "activity_date": f"2026-11-{day:02d}",
        "channel": "hoi_nghi",
        "setting": "truong_hoc",
        "topics": "phap_luat hiv_sti",
        "integrated": "khong",
        "reach/n_establishment_workers": "0",
        "reach/n_industrial_workers": "0",
        "reach/n_students": str(students),
        "reach/n_general": "5",
        "reach/n_female": "20",
        "reach/n_total": str(students + 5),
        "materials": "30",
        "location": "15.12 108.8 12.0 5.0",
        "meta/instanceID": instance_id,
        "meta/instanceName": f"2026-11-{day:02d} - Phường Cẩm Thành",
    }
    if photo:
        answers["photo"] = photo
    return answers


class FakeKobo:
    """The data of one asset and the HTTP app serving it."""

    def __init__(self, asset: str = ASSET, token: str = TOKEN) -> None:
        self.asset = asset
        self.token = token
        self.records: dict[int, dict[str, Any]] = {}
        self.ids: list[int] = []  # sorted
        self.next_id = 101
        self.files: dict[str, tuple[bytes, str]] = {}  # attachment uid → (bytes, mimetype)
        self.faults = Faults()
        self.attachment_faults = Faults()
        self.attachment_redirect: str | None = None  # answer attachments with a 302 there
        self.attachment_requests = 0
        # A server with kpi PR #7260: records carry `_date_modified`, moved by every change.
        self.date_modified = False
        self.page_delay = 0.0
        self.max_limit = MAX_LIMIT  # a self-hosted server can set MAX_API_PAGE_SIZE lower
        self.requests: list[dict[str, str]] = []
        self.lock = threading.RLock()
        self.clock = dt.datetime(2026, 11, 20, 1, 21, 3)

    # --- changing the data, as people do on the real server ----------------------------------

    def _tick(self) -> str:
        self.clock += dt.timedelta(seconds=7)
        return self.clock.strftime("%Y-%m-%dT%H:%M:%S")

    def add(
        self,
        answers: Mapping[str, str],
        *,
        photo: bytes | None = None,
        legacy: bool = False,
        submitted_by: str | None = "qn_enum01",
    ) -> dict[str, Any]:
        """Receive a submission (answers include meta/instanceID)."""
        with self.lock:
            rid = self.next_id
            self.next_id += 1 + rid % 3  # _ids are increasing, not contiguous
            instance = answers["meta/instanceID"]
            record: dict[str, Any] = {
                "_id": rid,
                "formhub/uuid": FORMHUB,
                **answers,
                "__version__": KOBO_VERSION,
                "_xform_id_string": self.asset,
                "_uuid": instance.removeprefix("uuid:"),
                "_attachments": [],
                "_status": "submitted_via_web",
                "_geolocation": [15.12, 108.8],
                "_submission_time": self._tick(),
                "_validation_status": {},
                "_submitted_by": submitted_by,
            }
            if legacy:
                record.update({"_tags": [], "_notes": [], "_bamboo_dataset_id": ""})
                record["_version_"] = KOBO_VERSION
            else:
                record["meta/rootUuid"] = instance
            if photo is not None:
                self._attach(record, photo)
            if self.date_modified:
                record["_date_modified"] = record["_submission_time"]
            self.records[rid] = record
            bisect.insort(self.ids, rid)
            return record

    def _attach(self, record: dict[str, Any], content: bytes) -> None:
        name = record["photo"]
        uid = (
            "att"
            + hashlib.sha1(f"{record['_id']}/{name}/{len(self.files)}".encode()).hexdigest()[:19]
        )
        self.files[uid] = (content, "image/jpeg")
        root = record.get("meta/rootUuid", "uuid:" + record["_uuid"]).removeprefix("uuid:")
        path = f"/api/v2/assets/{self.asset}/data/{record['_id']}/attachments/{uid}/"
        record["_attachments"] = [
            {
                "download_url": path,
                "download_large_url": path + "large/",
                "download_medium_url": path + "medium/",
                "download_small_url": path + "small/",
                "mimetype": "image/jpeg",
                "filename": f"qn_owner/attachments/{FORMHUB}/{root}/{name}",
                "media_file_basename": name,
                "uid": uid,
                "question_xpath": "photo",
                "is_deleted": False,
            }
        ]

    def edit(
        self,
        rid: int,
        changes: Mapping[str, str],
        *,
        photo: bytes | None = None,
        instance_id: str | None = None,
    ) -> str:
        """An edit (Enketo or bulk update): same _id, new instanceID, deprecatedID set."""
        with self.lock:
            record = self.records[rid]
            new_id = instance_id or f"uuid:{uuid.uuid4()}"
            record["meta/deprecatedID"] = record["meta/instanceID"]
            record["meta/instanceID"] = new_id
            record["_uuid"] = new_id.removeprefix("uuid:")
            record.update(changes)
            if photo is not None:
                self._attach(record, photo)
            self._modified(record)
            return new_id

    def validate(self, rid: int, uid: str, *, by: str = "qn_reviewer") -> None:
        with self.lock:
            self.clock += dt.timedelta(minutes=1)
            label = {
                "validation_status_approved": "Approved",
                "validation_status_not_approved": "Not Approved",
                "validation_status_on_hold": "On Hold",
            }[uid]
            stamp = int(self.clock.replace(tzinfo=dt.UTC).timestamp())
            self.records[rid]["_validation_status"] = {
                "timestamp": stamp,
                "uid": uid,
                "by_whom": by,
                "label": label,
            }
            self._modified(self.records[rid])

    def _modified(self, record: dict[str, Any]) -> None:
        if self.date_modified:
            record["_date_modified"] = self._tick()

    def delete(self, rid: int) -> None:
        with self.lock:
            del self.records[rid]
            self.ids.remove(rid)

    def payload(self, rid: int, base_url: str) -> dict[str, Any]:
        """What a REST Service POSTs: the same JSON as the data endpoint (no _tags/_notes)."""
        with self.lock:
            record = self._render(self.records[rid], base_url)
        record.pop("_tags", None)
        record.pop("_notes", None)
        return record

    # --- the HTTP side ----------------------------------------------------------------------

    def _render(self, record: Mapping[str, Any], base_url: str) -> dict[str, Any]:
        out = dict(record)  # answers are strings: a shallow copy is a snapshot
        out["_validation_status"] = dict(record["_validation_status"])
        out["_attachments"] = [
            {
                **item,
                **{
                    key: base_url + item[key]
                    for key in (
                        "download_url",
                        "download_large_url",
                        "download_medium_url",
                        "download_small_url",
                    )
                },
            }
            for item in record["_attachments"]
        ]
        return out

    def _select(self, query: Mapping[str, Any]) -> list[int]:
        ids: list[int] = list(self.ids)
        for key, condition in query.items():
            if key == "_id" and isinstance(condition, Mapping):
                if "$gt" in condition:
                    ids = ids[bisect.bisect_right(ids, condition["$gt"]) :]
                if "$gte" in condition:
                    ids = ids[bisect.bisect_left(ids, condition["$gte"]) :]
                if "$lt" in condition:
                    ids = ids[: bisect.bisect_left(ids, condition["$lt"])]
                if "$lte" in condition:
                    ids = ids[: bisect.bisect_right(ids, condition["$lte"])]
                if "$in" in condition:
                    wanted = set(condition["$in"])
                    ids = [i for i in ids if i in wanted]
            elif key == "_id":
                ids = [i for i in ids if i == condition]
            elif isinstance(condition, Mapping):
                for op, value in condition.items():
                    cmp = {"$gt": "__gt__", "$gte": "__ge__", "$lt": "__lt__", "$lte": "__le__"}[op]
                    ids = [i for i in ids if getattr(str(self.records[i].get(key, "")), cmp)(value)]
            else:
                ids = [i for i in ids if self.records[i].get(key) == condition]
        return ids

    async def data(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Token {self.token}":
            return JSONResponse(
                {"detail": "Authentication credentials were not provided."}, status_code=401
            )
        if request.path_params["uid"] != self.asset:
            return JSONResponse({"detail": "Not found."}, status_code=404)
        params = request.query_params
        self.requests.append(dict(params))
        try:
            query = json.loads(params.get("query", "{}"))
        except ValueError:
            return JSONResponse({"query": "Value must be valid JSON."}, status_code=400)
        try:
            sort = json.loads(params.get("sort", '{"_id": 1}'))
            fields = json.loads(params["fields"]) if "fields" in params else None
        except ValueError:
            return JSONResponse({"detail": "Value must be valid JSON."}, status_code=400)
        limit = DEFAULT_LIMIT
        if "limit" in params:
            if not params["limit"].isdigit() or int(params["limit"]) == 0:
                return JSONResponse({"limit": "A positive integer is required"}, status_code=400)
            limit = min(int(params["limit"]), self.max_limit)
        start_text = params.get("start", "0")
        if not start_text.isdigit():
            return JSONResponse({"start": "A positive integer is required"}, status_code=400)
        start = int(start_text)
        base = str(request.base_url).rstrip("/")
        with self.lock:
            ids = self._select(query)
            if sort.get("_id", 1) == -1:
                ids.reverse()
            chosen = ids[start : start + limit]
            results = [self._render(self.records[i], base) for i in chosen]
        if fields is not None:
            keep = set(fields) | set(ALWAYS_FIELDS)
            results = [{k: v for k, v in r.items() if k in keep} for r in results]

        def link(at: int) -> str:
            kept = {k: v for k, v in params.items() if k not in ("start", "limit")}
            return f"{base}{request.url.path}?{urlencode({**kept, 'limit': limit, 'start': at})}"

        body = {
            "count": len(ids),
            "next": link(start + limit) if start + limit < len(ids) else None,
            "previous": link(max(start - limit, 0)) if start > 0 else None,
            "results": results,
        }
        # orjson: the fake stands for a remote server, so it should take little of the cores
        # the benchmark measures pcmd on
        raw = orjson.dumps(body)
        if self.page_delay:
            await asyncio.sleep(self.page_delay)
        faulty = await apply(self.faults.take(), raw)
        return faulty or Response(raw, media_type="application/json")

    async def attachment(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Token {self.token}":
            return JSONResponse(
                {"detail": "Authentication credentials were not provided."}, status_code=401
            )
        item = self.files.get(request.path_params["att"])
        record = self.records.get(int(request.path_params["rid"]))
        if item is None or record is None:
            return JSONResponse({"detail": "Not found."}, status_code=404)
        self.attachment_requests += 1
        if self.attachment_redirect:
            return RedirectResponse(self.attachment_redirect, status_code=302)
        faulty = await apply(self.attachment_faults.take(), item[0])
        return faulty or Response(item[0], media_type=item[1])

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/v2/assets/{uid}/data/", self.data),
                Route("/api/v2/assets/{uid}/data.json", self.data),
                Route(
                    "/api/v2/assets/{uid}/data/{rid:int}/attachments/{att}/{size:path}",
                    self.attachment,
                ),
            ]
        )


@contextmanager
def running(fake: FakeKobo) -> Iterator[str]:
    from tests.live_server import serve_in_thread

    with serve_in_thread(fake.app(), allow_5xx=True) as url:
        yield url


def generated(n: int, *, photo_every: int = 0) -> FakeKobo:
    """A fake holding `n` outreach records (for the benchmark)."""
    fake = FakeKobo()
    for i in range(n):
        answers = outreach_answers(f"uuid:{uuid.UUID(int=i + 1)}", students=i % 90, day=1 + i % 20)
        fake.add(answers)
    return fake


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    fake = generated(args.records)
    print(f"ready {len(fake.ids)}", flush=True)
    uvicorn.run(fake.app(), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()


__all__ = ["ASSET", "TOKEN", "FakeKobo", "Fault", "outreach_answers", "running"]
