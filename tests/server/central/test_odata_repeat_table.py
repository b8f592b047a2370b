"""A repeat table read across many submissions, a few at a time (CHUNK made 2 here so that every
page crosses reads): five households sent one a day, with 2, 0, 3, 1 and 2 people, paged by
Central's `$skiptoken`, streamed whole without `$top`, counted, and cursors that are not the
table's refused — every row once, newest household first, people in the order they were
written (worked out by hand below)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import httpx
import pytest

from pcmd.db.engine import transaction
from pcmd.forms.registry import refresh_media, store_build
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from pcmd.server.central import odata_repeat_table
from pcmd.server.central.odata_repeats import repeat_rows, repetition_count
from pcmd.server.central.schema import form_fields
from tests.server.central.conftest import PASSWORD, Reading
from tests.server.central.test_odata_repeats import IID, XML, build
from tests.server.collect import new_id

AUTH = ("admin", PASSWORD)
# ages of each household's people, sent on 1, 2, 3, 4 and 5 March
HOUSEHOLDS = [[30, 31], [], [50, 51, 52], [60], [70, 71]]
# newest household first, each one's people in document order
EVERY_AGE = [70, 71, 60, 50, 51, 52, 30, 31]


def household_xml(instance_id: str, ages: list[int]) -> bytes:
    people = "".join(f"<people><age>{age}</age></people>" for age in ages)
    return (
        '<?xml version="1.0"?><hh_visit id="hh_visit" version="1">'
        f"<where><commune>21025</commune></where><hh><size>{len(ages)}</size>{people}</hh>"
        f"<meta><instanceID>{instance_id}</instanceID></meta></hh_visit>"
    ).encode()


@pytest.fixture(scope="module")
def households(reading: Reading) -> str:
    """The households stored; the repeat table's URL."""
    _xform, made = build()
    engine = reading.server.engine
    with transaction(engine) as s:
        store_build(s, made)
        refresh_media(s)
    store = FileStore(reading.server.settings.data_dir / "attachments")
    for day, ages in enumerate(HOUSEHOLDS, start=1):
        sent = dt.datetime(2026, 3, day, 9, tzinfo=dt.UTC)
        incoming = Incoming(household_xml(new_id(), ages), source="openrosa", submitted_at=sent)
        ingest_with_retry(engine, store, incoming)
    return f"{reading.server.url}/v1/projects/1/forms/hh_visit.svc/Submissions.hh.people"


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(odata_repeat_table, "CHUNK", 2)


def ages(body: dict[str, Any]) -> list[int]:
    return [row["age"] for row in body["value"]]


def token(cursor: dict[str, str]) -> str:
    return "01" + base64.b64encode(json.dumps(cursor).encode()).decode()


def test_repetition_count__as_many_as_the_rows() -> None:
    fields = form_fields(build()[0])
    assert repetition_count(XML, "hh/people") == len(repeat_rows(XML, IID, fields, "hh/people"))
    assert repetition_count(XML, "hh/people") == 2
    assert repetition_count(XML, "hh/people/visits") == 2
    assert repetition_count(household_xml(IID, []).decode(), "hh/people") == 0


def test_repeat_table__top_3__pages_by_skiptoken_every_row_once(households: str) -> None:
    pages: list[list[int]] = []
    body = httpx.get(households, params={"$top": "3", "$count": "true"}, auth=AUTH).json()
    while True:
        pages.append(ages(body))
        assert body["@odata.count"] == 8
        if "@odata.nextLink" not in body:
            break
        link = body["@odata.nextLink"]
        assert "%24skiptoken=01" in link
        assert "%24skip=" not in link
        body = httpx.get(link, auth=AUTH).json()
    assert pages == [[70, 71, 60], [50, 51, 52], [30, 31]]


def test_repeat_table__skip_then_pages__the_rest(households: str) -> None:
    first = httpx.get(households, params={"$top": "4", "$skip": "3"}, auth=AUTH).json()
    assert ages(first) == [50, 51, 52, 30]
    rest = httpx.get(first["@odata.nextLink"], auth=AUTH).json()
    assert ages(rest) == [31]
    assert "@odata.nextLink" not in rest


def test_repeat_table__no_top__streamed_whole(households: str) -> None:
    whole = httpx.get(households, params={"$count": "true"}, auth=AUTH)
    assert whole.status_code == 200
    assert whole.headers["OData-Version"] == "4.0"
    body = whole.json()
    assert ages(body) == EVERY_AGE
    assert body["@odata.count"] == 8
    assert "@odata.nextLink" not in body
    assert body["@odata.context"].endswith("/$metadata#Submissions.hh.people")
    skipped = httpx.get(households, params={"$skip": "5", "$count": "true"}, auth=AUTH).json()
    assert (ages(skipped), skipped["@odata.count"]) == ([52, 30, 31], 8)
    assert "@odata.count" not in httpx.get(households, auth=AUTH).json()


def test_repeat_table__cursor_resumed_without_top__the_rest_counted_whole(
    households: str,
) -> None:
    first = httpx.get(households, params={"$top": "2"}, auth=AUTH).json()
    link = first["@odata.nextLink"].replace("%24top=2", "%24count=true")
    rest = httpx.get(link, auth=AUTH).json()
    assert (ages(rest), rest["@odata.count"]) == ([60, 50, 51, 52, 30, 31], 8)


def test_repeat_table__cursors_not_of_this_table__central_problems(
    reading: Reading, households: str
) -> None:
    first = httpx.get(households, params={"$top": "1"}, auth=AUTH).json()
    assert ages(first) == [70]
    newest = first["value"][0]["__Submissions-id"]
    gone = token({"repeatId": "0" * 40, "instanceId": newest})
    answer = httpx.get(households, params={"$top": "2", "$skiptoken": gone}, auth=AUTH)
    assert (answer.status_code, answer.json()["code"]) == (400, 400.34)
    root_cursor = token({"instanceId": newest})
    answer = httpx.get(households, params={"$top": "2", "$skiptoken": root_cursor}, auth=AUTH)
    assert (answer.status_code, answer.json()["code"]) == (400, 400.35)
    row_cursor = token({"repeatId": first["value"][0]["__id"], "instanceId": newest})
    submissions = households.rsplit("/", 1)[0] + "/Submissions"
    answer = httpx.get(submissions, params={"$top": "2", "$skiptoken": row_cursor}, auth=AUTH)
    assert (answer.status_code, answer.json()["code"]) == (400, 400.35)
    # Central's own cursor names the row only: it is looked for from the newest household
    central = token({"repeatId": first["value"][0]["__id"]})
    answer = httpx.get(households, params={"$top": "2", "$skiptoken": central}, auth=AUTH)
    assert ages(answer.json()) == [71, 60]
