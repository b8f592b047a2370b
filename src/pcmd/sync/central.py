"""ODK Central: a requests client for the OData submissions feed, and the record mapping.

Facts this relies on (shared/reference/odk-openrosa-central.md §2.2):
- `GET /v1/projects/{p}/forms/{f}.svc/Submissions?$top=N&$filter=…&$count=true` answers
  `{"value": [...], "@odata.nextLink": …, "@odata.count": …}`; pages run newest → oldest and
  the next one is reached only through `@odata.nextLink` (a `$skiptoken`), never `$skip`;
- `$filter` works on `__system/submissionDate`, `__system/updatedAt` (bumped by edits and by
  review changes) and `__system/deletedAt`; deleted submissions are left out unless the filter
  names `__system/deletedAt`;
- every row has `__id` (the submission's first instanceID, which never changes) and `__system`
  (`submissionDate, updatedAt, submitterName, deviceId, reviewState, deletedAt, …`); answers
  are nested by group, numbers are JSON numbers, a geopoint is GeoJSON;
- `POST /v1/sessions {"email", "password"}` gives a bearer token;
- `$select=__id` lists identities only, paged the same way (a restore moves none of the
  timestamps, so only such a listing sees it).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests

from pcmd.errors import SyncError
from pcmd.sync.http import ApiClient, HttpPolicy
from pcmd.sync.rebuild import FormSpec, rebuild
from pcmd.sync.records import FileRef, RemoteRecord, parse_utc

log = logging.getLogger(__name__)

PAGE_SIZE = 500
ID_PAGE_SIZE = 5000  # a listing of `__id`s only: a row is some 50 bytes
REVIEW_STATES = {
    "approved": "approved",
    "hasIssues": "has_issues",
    "rejected": "rejected",
    "edited": "edited",
}
SYSTEM_TIMES = ("__system/submissionDate", "__system/updatedAt", "__system/deletedAt")


# --- mapping (pure) --------------------------------------------------------------------------


def _text(value: Any) -> Any:
    """A Central JSON value as the text the instance XML held."""
    if isinstance(value, Mapping) and value.get("type") == "Point":
        coords = list(value.get("coordinates") or [])
        if len(coords) < 2:
            return ""
        lon, lat = coords[0], coords[1]
        parts = [lat, lon, coords[2] if len(coords) > 2 else 0]
        accuracy = (value.get("properties") or {}).get("accuracy")
        parts.append(accuracy if accuracy is not None else 0)
        return " ".join(_number(p) for p in parts)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number(value)
    return value


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(value)  # 12.0 stays 12.0: either reads back as the same number
    return str(value)


def flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested groups → `group/question` keys. OData annotations, `__id`, `__system` and repeat
    navigation links (repeats live in their own tables) are left out."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key.startswith("__") or "@odata" in key:
            continue
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value.get("type") != "Point":
            out.update(flatten(value, path + "/"))
        elif isinstance(value, list):
            continue
        else:
            out[path] = "" if value is None else _text(value)
    return out


def to_remote(row: Mapping[str, Any], form: FormSpec, attachments_url: str) -> RemoteRecord:
    """One OData row as a record for ingest. `attachments_url` is
    `{base}/v1/projects/{p}/forms/{f}/submissions`."""
    root = row.get("__id")
    if not isinstance(root, str) or not root:
        raise SyncError(
            f"Bản ghi ODK Central thiếu __id (an ODK Central row has no __id): {root!r}"
        )
    system = row.get("__system") if isinstance(row.get("__system"), Mapping) else {}
    assert isinstance(system, Mapping)
    values = flatten(row)
    current = values.get("meta/instanceID") or root
    values["meta/instanceID"] = current
    state = system.get("reviewState")
    files = tuple(
        FileRef(
            name,
            f"{attachments_url}/{quote(root, safe='')}/attachments/{quote(name, safe='')}",
            "application/octet-stream",
        )
        for name in sorted(
            {values[p] for p in form.binary_paths if isinstance(values.get(p), str)} - {""}
        )
    )
    submitter = system.get("submitterName")
    device = system.get("deviceId")
    xml, parsed = rebuild(form, values)
    return RemoteRecord(
        remote_id=root,
        instance_id=str(current),
        root_instance_id=root,
        xml=xml,
        instance=parsed,
        review=str(state) if state else None,
        review_state=REVIEW_STATES.get(str(state)) if state else None,
        submitted_at=parse_utc(system.get("submissionDate")),
        submitter=submitter[:100] if isinstance(submitter, str) else None,
        device_id=device[:100] if isinstance(device, str) else None,
        files=files,
        deleted=system.get("deletedAt") is not None,
    )


def odata_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def since_filter(since: str) -> str:
    """Rows submitted, changed or deleted at or after `since`. `ge`, not `gt`: timestamps tie
    at the boundary, and a row read twice is recognised as unchanged."""
    return " or ".join(f"{name} ge {since}" for name in SYSTEM_TIMES)


# --- client ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    next_link: str | None
    count: int | None
    server_time: dt.datetime | None  # the response's Date header


class CentralClient(ApiClient):
    service = "ODK Central"

    def __init__(
        self,
        url: str,
        project_id: int,
        form_id: str,
        user: str,
        password: str,
        *,
        user_env: str = "",
        password_env: str = "",
        page_size: int = PAGE_SIZE,
        session: requests.Session | None = None,
        policy: HttpPolicy | None = None,
    ) -> None:
        super().__init__(url, session=session, policy=policy, secrets=[password])
        self.project_id = project_id
        self.form_id = form_id
        self.user = user
        self.password = password
        self.user_env = user_env
        self.password_env = password_env
        self.page_size = page_size
        self.id_page_size = ID_PAGE_SIZE
        form_url = f"{self.base_url}/v1/projects/{project_id}/forms/{quote(form_id, safe='')}"
        self.odata_url = f"{form_url}.svc/Submissions"
        self.attachments_url = f"{form_url}/submissions"
        self._token: str | None = None

    def refused(self, response: requests.Response) -> SyncError:
        status = response.status_code
        where = f"{self.base_url}, project {self.project_id}, form {self.form_id}"
        if status in (401, 403):
            return SyncError(
                self._mask(
                    f"ODK Central từ chối đăng nhập (ODK Central refused the login): HTTP {status} "
                    f"at {where}. Fix: check that {self.user_env or 'the user variable'} and "
                    f"{self.password_env or 'the password variable'} hold the e-mail and password "
                    "of a web user who may read this form's submissions."
                )
            )
        if status == 404:
            return SyncError(
                f"ODK Central không có biểu mẫu này (no such project or form): HTTP 404 at "
                f"{where}. Fix: check --url, --project and --form."
            )
        return super().refused(response)

    def login(self) -> None:
        body = self.send(
            "POST",
            f"{self.base_url}/v1/sessions",
            json_body={"email": self.user, "password": self.password},
        )
        token = body.get("token") if isinstance(body, Mapping) else None
        if not isinstance(token, str):
            raise SyncError(
                f"ODK Central không cấp phiên đăng nhập (no session token) at {self.base_url}."
            )
        self._token = token
        self.secrets.append(token)
        self.session.headers["Authorization"] = f"Bearer {token}"

    def on_unauthorized(self, response: requests.Response) -> bool:
        # A session expires after 24 h: log in again once, then a 401 is a real refusal.
        if response.request.url and response.request.url.endswith("/v1/sessions"):
            return False
        self.login()
        return True

    def clone(self) -> CentralClient:
        """The same client on a new session (for another thread), logged in with this one's
        token; its secrets are this one's list, so a token either gets is masked by both."""
        self._ensure_login()
        twin = CentralClient(
            self.base_url,
            self.project_id,
            self.form_id,
            self.user,
            self.password,
            user_env=self.user_env,
            password_env=self.password_env,
            page_size=self.page_size,
            policy=self.policy,
        )
        twin.secrets = self.secrets
        twin._token = self._token
        twin.session.headers["Authorization"] = f"Bearer {self._token}"
        return twin

    def _ensure_login(self) -> None:
        if self._token is None:
            self.login()

    def page(self, link: str | None, since: str | None, *, ids_only: bool = False) -> Page:
        self._ensure_login()
        if link:
            body = self.send("GET", link)
        else:
            params: dict[str, Any] = {"$top": self.page_size, "$count": "true"}
            if since:
                params["$filter"] = since_filter(since)
            if ids_only:
                params["$top"] = self.id_page_size
                params["$select"] = "__id"
            body = self.send("GET", self.odata_url, params=params)
        if not isinstance(body, Mapping) or not isinstance(body.get("value"), list):
            raise SyncError(
                f"ODK Central trả về dữ liệu không đúng dạng (unexpected OData answer, no `value` "
                f"list) from {self.odata_url}."
            )
        server_time = None
        date = self.last_response.headers.get("Date") if self.last_response else None
        if date:
            try:
                server_time = email.utils.parsedate_to_datetime(date).astimezone(dt.UTC)
            except (TypeError, ValueError):
                server_time = None
        count = body.get("@odata.count")
        next_link = body.get("@odata.nextLink")
        if isinstance(next_link, str) and next_link and not self.same_server(next_link):
            # Central writes its own public address (its DOMAIN), which may not be the one
            # pcmd reaches it by: keep the path and query, on the source's server.
            base, named = urlsplit(self.base_url), urlsplit(next_link)
            next_link = urlunsplit((base.scheme, base.netloc, named.path, named.query, ""))
        return Page(
            rows=[r for r in body["value"] if isinstance(r, dict)],
            next_link=next_link if isinstance(next_link, str) and next_link else None,
            count=count if isinstance(count, int) else None,
            server_time=server_time,
        )

    def pages(
        self, link: str | None, since: str | None, *, ids_only: bool = False
    ) -> Iterator[Page]:
        """Pages from `link` (a saved nextLink) or from the start of the `since` query;
        `ids_only`: rows with `__id` alone, every submission not deleted."""
        while True:
            page = self.page(link, since, ids_only=ids_only)
            yield page
            if not page.next_link:
                return
            link = page.next_link

    def download(self, url: str) -> bytes | None:
        """An attachment's bytes; None when Central does not have it (yet) or it is named on
        another server than the source's (the session is never sent there)."""
        if not self.same_server(url):
            log.warning("%s: attachment URL on another server refused: %s", self.service, url)
            return None
        self._ensure_login()
        response = self.send("GET", url, parse=False, ok=(200, 404))
        if response.status_code == 404:
            return None
        content: bytes = response.content
        return content

    def versions(self, root: str) -> list[str]:
        """The instanceIDs of a submission's versions (`…/submissions/{root}/versions`), as
        Central lists them; [] when it no longer has the submission."""
        self._ensure_login()
        url = f"{self.attachments_url}/{quote(root, safe='')}/versions"
        body = self.send("GET", url, ok=(200, 404))
        if self.last_response is not None and self.last_response.status_code == 404:
            return []
        if not isinstance(body, list):
            raise SyncError(
                f"ODK Central trả về danh sách phiên bản không đúng dạng (unexpected answer for "
                f"the versions of {root}) from {url}."
            )
        return [v["instanceId"] for v in body if isinstance(v, dict) and v.get("instanceId")]

    def version_xml(self, root: str, instance_id: str) -> bytes | None:
        """One version's XML as it was submitted (it carries deprecatedID); None if gone."""
        self._ensure_login()
        url = (
            f"{self.attachments_url}/{quote(root, safe='')}/versions/"
            f"{quote(instance_id, safe='')}.xml"
        )
        response = self.send("GET", url, parse=False, ok=(200, 404))
        if response.status_code == 404:
            return None
        content: bytes = response.content
        return content
