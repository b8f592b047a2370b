"""KoboToolbox (KPI API v2): a thin requests client, and the mapping of a record onto a form.

Facts this relies on (shared/reference/kobotoolbox-api.md):
- `GET /api/v2/assets/{uid}/data/?format=json&query=…&sort=…&limit=…&start=…&fields=…` answers
  `{count, next, previous, results}`; default page 100, at most 1,000 since 2026 (a bigger
  `limit` is silently capped), so pages are read by keyset on `_id` (`{"_id": {"$gt": last}}`,
  sorted by `_id`) and `next` says whether more match;
- a record is flat: `group/question` keys, every value a string, unanswered questions absent;
  `_id` is stable across edits, `_uuid`/`meta/instanceID` change on every edit (which also sets
  `meta/deprecatedID`), `meta/rootUuid` is the stable identity (absent on older servers: then
  `uuid:` + `_uuid`); `_tags`/`_notes` exist only on older servers;
- `_validation_status` is `{}` or `{"uid": "validation_status_…", "timestamp": …, …}`;
- deletions are hard: an `_id` that is no longer listed.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests

from pcmd.errors import SyncError
from pcmd.sync.http import ApiClient, HttpPolicy, Transient
from pcmd.sync.rebuild import FormSpec, rebuild
from pcmd.sync.records import FileRef, RemoteRecord, parse_utc

log = logging.getLogger(__name__)

MAX_PAGE = 1000  # Kobo's cap since 2026; asking for more returns this many
MIN_PAGE = 10
IN_CHUNK = 200  # ids per `$in` query: keeps the URL under common 8 KB proxy limits
# What the light scan asks for: enough to see an edit (_uuid), a review change and a deletion.
LIGHT_FIELDS = ["_id", "_uuid", "meta/rootUuid", "meta/instanceID", "_validation_status"]
VALIDATION_STATES = {
    "validation_status_approved": "approved",
    "validation_status_not_approved": "rejected",
    "validation_status_on_hold": "has_issues",
}
# Kobo's own version nodes (__version__, and _version_ / _version__001 on legacy records) are
# part of the instance XML; every other key starting with "_" is server metadata.
VERSION_KEY_RE = re.compile(r"^__?version__?(\d{3})?$")


# --- mapping (pure) --------------------------------------------------------------------------


def instance_id(record: Mapping[str, Any]) -> str:
    """The current instanceID of a record (`meta/instanceID`, else `uuid:` + `_uuid`)."""
    value = record.get("meta/instanceID")
    if isinstance(value, str) and value:
        return value
    return f"uuid:{record.get('_uuid', '')}"


def root_uuid(record: Mapping[str, Any]) -> str:
    """The stable identity: `meta/rootUuid`, else (older servers) `uuid:` + `_uuid`."""
    value = record.get("meta/rootUuid")
    if isinstance(value, str) and value:
        return value if value.startswith("uuid:") else f"uuid:{value}"
    return instance_id(record) if not record.get("_uuid") else f"uuid:{record['_uuid']}"


def review(record: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(marker, pcmd review state) from `_validation_status`; (None, None) when it has none.

    The marker carries the timestamp so that setting the same status again is seen as a new
    decision (it overrides a different decision taken in pcmd meanwhile).
    """
    status = record.get("_validation_status")
    if not isinstance(status, Mapping) or not status.get("uid"):
        return None, None
    uid = str(status["uid"])
    stamp = status.get("timestamp")
    marker = f"{uid}@{stamp}" if stamp is not None else uid
    return marker[:100], VALIDATION_STATES.get(uid)


def record_id(record: Mapping[str, Any]) -> int:
    value = record.get("_id")
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise SyncError(
            f"Bản ghi KoboToolbox thiếu _id (a KoboToolbox record has no _id): {value!r}"
        )
    try:
        return int(value)
    except ValueError:
        raise SyncError(f"_id không phải số nguyên (_id is not an integer): {value!r}") from None


_OWN: dict[str, bool] = {}


def _own(key: str) -> bool:
    """Whether a key is one of the instance's own nodes; remembered (the same few dozen keys
    come in every record of a project)."""
    own = _OWN.get(key)
    if own is None:
        if len(_OWN) > 50_000:  # keys are the remote's: bound what it can make us keep
            _OWN.clear()
        own = _OWN[key] = not key.startswith("_") or VERSION_KEY_RE.match(key) is not None
    return own


def answers(record: Mapping[str, Any]) -> dict[str, Any]:
    """The instance's own nodes: every key but Kobo's `_…` metadata (version nodes kept)."""
    own = _OWN.get
    out = {k: v for k, v in record.items() if (o := own(k)) or (o is None and _own(k))}
    out["meta/instanceID"] = instance_id(record)
    return out


def _nodes(record: Mapping[str, Any], form: FormSpec) -> tuple[Mapping[str, Any], tuple[str, ...]]:
    """(values, keys) for rebuild: what answers(record) gives and its keys that are not form
    fields. The record itself serves as the values when it equals answers(record) wherever
    rebuild looks, i.e. on the form's fields and the record's own non-field nodes: every form
    field is a node answers keeps, and meta/instanceID is there as text. Which keys are nodes
    is worked out once per record shape (the keys in order), nearly one per source."""
    shapes = form.shapes
    shape = tuple(record)
    keys = shapes.get(shape, ())
    if keys == ():
        if len(shapes) > 1000:  # shapes come from the remote: bound them
            shapes.clear()
        fields = form.fields
        plain = all(_own(path) for path in fields)
        keys = shapes[shape] = (
            tuple(k for k in shape if _own(k) and k not in fields) if plain else None
        )
    iid = record.get("meta/instanceID")
    if keys is None or not isinstance(iid, str) or not iid:
        values = answers(record)
        return values, tuple([k for k in values if k not in form.fields])
    return record, keys


def files(record: Mapping[str, Any], form: FormSpec) -> tuple[FileRef, ...]:
    """Attachments the record's binary fields name, not deleted, with their download URLs."""
    named = {record[p] for p in form.binary_paths if isinstance(record.get(p), str) and record[p]}
    out: list[FileRef] = []
    seen: set[str] = set()
    for item in record.get("_attachments") or ():
        if not isinstance(item, Mapping) or item.get("is_deleted"):
            continue
        base = item.get("media_file_basename") or str(item.get("filename", "")).rsplit("/", 1)[-1]
        url = item.get("download_url")
        if base in named and base not in seen and isinstance(url, str) and url:
            seen.add(base)
            out.append(FileRef(base, url, str(item.get("mimetype") or "application/octet-stream")))
    return tuple(out)


def to_remote(record: Mapping[str, Any], form: FormSpec) -> RemoteRecord:
    """A Kobo data record (API or REST Service payload) as a record for ingest."""
    marker, state = review(record)
    submitter = record.get("_submitted_by")
    device = record.get("deviceid")
    time_text = record.get("_submission_time")
    xml, parsed = rebuild(form, *_nodes(record, form))
    return RemoteRecord(
        remote_id=str(record_id(record)),
        instance_id=instance_id(record),
        root_instance_id=root_uuid(record),
        xml=xml,
        instance=parsed,
        review=marker,
        review_state=state,
        submitted_at=parse_utc(time_text) if isinstance(time_text, str) else None,
        submitter=submitter[:100] if isinstance(submitter, str) else None,
        device_id=device[:100] if isinstance(device, str) else None,
        files=files(record, form),
    )


# --- client ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    records: list[dict[str, Any]]
    count: int | None  # how many match the query (Kobo's `count`)
    more: bool  # Kobo's `next` is set


class KoboClient(ApiClient):
    service = "KoboToolbox"

    def __init__(
        self,
        url: str,
        asset_uid: str,
        token: str,
        *,
        token_env: str = "",
        page_size: int = MAX_PAGE,
        session: requests.Session | None = None,
        policy: HttpPolicy | None = None,
    ) -> None:
        super().__init__(url, session=session, policy=policy, secrets=[token])
        self.asset_uid = asset_uid
        self.token_env = token_env
        self.page_size = max(MIN_PAGE, min(page_size, MAX_PAGE))
        self.session.headers["Authorization"] = f"Token {token}"
        self.data_url = f"{self.base_url}/api/v2/assets/{asset_uid}/data/"

    def refused(self, response: requests.Response) -> SyncError:
        status = response.status_code
        where = f"{self.base_url}, asset {self.asset_uid}"
        if status in (401, 403):
            fix = (
                f"check that the environment variable {self.token_env or '(token)'} holds the "
                "API key (Account Settings → Security) of an account that may view this "
                "project's submissions"
            )
            what = "KoboToolbox từ chối khoá API (KoboToolbox refused the API key)"
        elif status == 404:
            fix = "check --url (e.g. https://kf.kobotoolbox.org) and --asset (after #/forms/)"
            what = "KoboToolbox không có dự án này (no such project)"
        elif status == 410:
            fix = "the server removed this API; use the KPI host (kf.…), not kc.…"
            what = "API đã bị gỡ (API gone)"
        else:
            return super().refused(response)
        return SyncError(self._mask(f"{what}: HTTP {status} at {where}. Fix: {fix}."))

    def before_retry(self, error: Transient, attempt: int) -> None:
        # A 502/504 or a time-out on a data page means the server could not build it within
        # its time budget: ask for half as many records from now on.
        if error.gateway and self.page_size > MIN_PAGE:
            self.page_size = max(MIN_PAGE, self.page_size // 2)

    def page(
        self,
        after_id: int,
        fields: Sequence[str] | None = None,
        limit: int | None = None,
        where: Mapping[str, Any] | None = None,
    ) -> Page:
        """The records with `_id` > after_id (and matching `where`), in `_id` order, one page."""
        query = {**(where or {}), "_id": {"$gt": after_id}}

        def params() -> dict[str, Any]:
            out: dict[str, Any] = {
                "format": "json",
                "query": json.dumps(query, separators=(",", ":")),
                "sort": json.dumps({"_id": 1}, separators=(",", ":")),
                "limit": min(limit or self.page_size, self.page_size),
                "start": 0,
            }
            if fields:
                out["fields"] = json.dumps(list(fields), separators=(",", ":"))
            return out

        body = self.send("GET", self.data_url, params=params)
        return _page(body, self.data_url)

    def pages(
        self,
        after_id: int,
        fields: Sequence[str] | None = None,
        where: Mapping[str, Any] | None = None,
    ) -> Iterator[Page]:
        """Keyset pages from after_id to the end. Robust to deletions while paging (offsets
        would skip records), and never assumes `_id`s are contiguous.

        The next page is asked for (on a session of its own) as soon as this one is here,
        so the server builds it while pcmd stores this one; at most one page waits ahead.
        """
        fetcher = self.clone()
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kobo-page")
        ahead = pool.submit(fetcher.page, after_id, fields, None, where)
        try:
            while True:
                page = ahead.result()
                if not page.records:
                    return
                after_id = max(record_id(r) for r in page.records)
                more = page.more
                if more:
                    ahead = pool.submit(fetcher.page, after_id, fields, None, where)
                yield page
                if not more:
                    return
        finally:
            # a consumer that stops early (an error) does not wait for the page ahead
            pool.shutdown(wait=False, cancel_futures=True)
            self.page_size = min(self.page_size, fetcher.page_size)
            self.requests_made += fetcher.requests_made
            self.retried += fetcher.retried
            if ahead.done():
                fetcher.close()

    def clone(self) -> KoboClient:
        """The same client on a new session (a Session is not shared between threads)."""
        token = self.secrets[0]
        twin = KoboClient(
            self.base_url,
            self.asset_uid,
            token,
            token_env=self.token_env,
            page_size=self.page_size,
            policy=self.policy,
        )
        return twin

    def by_ids(
        self, ids: Sequence[int], fields: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """The records among `ids` that exist (`query={"_id": {"$in": …}}`)."""
        out: list[dict[str, Any]] = []
        for at in range(0, len(ids), IN_CHUNK):
            chunk = sorted(ids[at : at + IN_CHUNK])
            start = 0
            while True:
                params: dict[str, Any] = {
                    "format": "json",
                    "query": json.dumps({"_id": {"$in": chunk}}, separators=(",", ":")),
                    "sort": json.dumps({"_id": 1}, separators=(",", ":")),
                    "limit": MAX_PAGE,
                    "start": start,
                }
                if fields:
                    params["fields"] = json.dumps(list(fields), separators=(",", ":"))
                page = _page(self.send("GET", self.data_url, params=params), self.data_url)
                out.extend(page.records)
                start += len(page.records)
                if not page.more or not page.records:
                    break
        return out

    def download(self, url: str) -> bytes | None:
        """An attachment's bytes; None when it is gone (404: deleted meanwhile) or named on
        another server than the source's (the token is never sent there: logged, and the
        record stays incomplete)."""
        if not self.same_server(url):
            log.warning("%s: attachment URL on another server refused: %s", self.service, url)
            return None
        response = self.send("GET", url, parse=False, ok=(200, 404))
        if response.status_code == 404:
            return None
        content: bytes = response.content
        return content


def _page(body: Any, url: str) -> Page:
    if not isinstance(body, Mapping) or not isinstance(body.get("results"), list):
        raise SyncError(
            f"KoboToolbox trả về dữ liệu không đúng dạng từ {url} (unexpected answer: no "
            "`results` list). Fix: check --url points at the KPI host (kf.…)."
        )
    count = body.get("count")
    return Page(
        records=[r for r in body["results"] if isinstance(r, dict)],
        count=count if isinstance(count, int) else None,
        more=bool(body.get("next")),
    )
