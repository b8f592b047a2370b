"""The OData feed over real HTTP, checked against the six submissions of conftest.py (expected
rows worked out by hand from its table): paging, $count, $filter, $select, $orderby, $wkt,
the rows' fields and __system, the readers' scopes, and Central-style errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pcmd.server.central import odata_feed
from tests.server.central.conftest import PASSWORD, Reading

ADMIN = ("admin", PASSWORD)


def feed(reading: Reading, auth: Any = ADMIN, **params: str) -> httpx.Response:
    return httpx.get(f"{reading.base}/Submissions", params=params, auth=auth, timeout=30)


def keys(reading: Reading, body: dict[str, Any]) -> list[str]:
    by_id = {v: k for k, v in reading.ids.items()}
    return [by_id[row["__id"]] for row in body["value"]]


def all_pages(reading: Reading, auth: Any = ADMIN, **params: str) -> list[list[str]]:
    pages = []
    response = feed(reading, auth, **params)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(keys(reading, body))
        if "@odata.nextLink" not in body:
            return pages
        response = httpx.get(body["@odata.nextLink"], auth=auth, timeout=30)


def test_feed__top_2__three_pages_by_next_links_newest_first_with_count(reading: Reading) -> None:
    first = feed(reading, **{"$top": "2", "$count": "true"})
    assert first.headers["OData-Version"] == "4.0"
    assert first.headers["content-type"].startswith("application/json")
    body = first.json()
    assert body["@odata.count"] == 5  # F is deleted
    assert body["@odata.context"] == f"{reading.base}/$metadata#Submissions"
    assert body["@odata.nextLink"].startswith(f"{reading.base}/Submissions?")
    assert "%24skiptoken=01" in body["@odata.nextLink"]
    assert all_pages(reading, **{"$top": "2", "$count": "true"}) == [
        ["E", "D"],
        ["C", "B"],
        ["A"],
    ]


def test_feed__no_top__every_current_row_and_no_next_link(reading: Reading) -> None:
    body = feed(reading).json()
    assert keys(reading, body) == ["E", "D", "C", "B", "A"]
    assert "@odata.nextLink" not in body
    assert "@odata.count" not in body


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["E", "D", "C", "B", "A"]),
        ({"$skip": "1"}, ["D", "C", "B", "A"]),
        ({"$orderby": "__system/submissionDate asc"}, ["A", "B", "C", "D", "E"]),
        ({"$orderby": "__system/submissionDate asc", "$skip": "2"}, ["C", "D", "E"]),
        ({"$filter": "__system/reviewState ne 'rejected'"}, ["E", "D", "B", "A"]),
    ],
)
def test_feed__no_top__streamed_two_rows_a_read(
    reading: Reading, monkeypatch: pytest.MonkeyPatch, params: dict[str, str], expected: list[str]
) -> None:
    """Read two rows at a time, the whole table comes in one body, each row once, in order,
    counted as $count counts it (F is deleted)."""
    monkeypatch.setattr(odata_feed, "CHUNK", 2)
    body = feed(reading, **params, **{"$count": "true"}).json()
    assert keys(reading, body) == expected
    assert body["@odata.count"] == len(expected) + int(params.get("$skip", "0"))
    assert "@odata.nextLink" not in body


def test_feed__no_top_ordered__sorted_once_then_read_by_id(
    reading: Reading, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole table ordered by updatedAt (B's edit made it 05-02, the four reviewed rows are
    05-01, newest first among equals) is sorted once: every read of its rows, two at a time,
    finds them by id, none by skipping the rows before it."""
    monkeypatch.setattr(odata_feed, "CHUNK", 2)
    reads: list[Any] = []
    real = odata_feed.ODataFeed.fetch

    def fetch(self: odata_feed.ODataFeed, *args: Any, **kwargs: Any) -> odata_feed.Fetched:
        reads.append(kwargs.get("ids"))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(odata_feed.ODataFeed, "fetch", fetch)
    body = feed(reading, **{"$orderby": "__system/updatedAt desc", "$count": "true"}).json()
    assert keys(reading, body) == ["B", "E", "D", "C", "A"]
    assert body["@odata.count"] == 5
    assert [len(ids) for ids in reads] == [2, 2, 1]


def test_feed__no_top__a_bad_filter_is_a_problem_not_a_cut_body(reading: Reading) -> None:
    answer = feed(reading, **{"$filter": "__system/submissionDate gt"})
    assert answer.status_code == 400
    assert answer.json()["code"] == 400.18


def test_feed__top_0_with_count__only_the_count(reading: Reading) -> None:
    body = feed(reading, **{"$top": "0", "$count": "true"}).json()
    assert body["value"] == []
    assert body["@odata.count"] == 5


def test_feed__skip__skips_newest(reading: Reading) -> None:
    assert keys(reading, feed(reading, **{"$skip": "3"}).json()) == ["B", "A"]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("__system/submissionDate ge 2026-03-01", ["E", "D", "C"]),
        ("__system/submissionDate lt 2026-02-15T09:00:00.000Z", ["A"]),
        ("__system/submissionDate le 2026-02-15T09:00:00Z", ["B", "A"]),
        ("__system/submissionDate gt 2026-03-20T19:00:00+07:00", ["E"]),  # = 12:00Z
        ("__system/reviewState eq 'approved'", ["E", "A"]),
        ("__system/reviewState eq 'edited'", ["B"]),
        ("__system/reviewState ne 'approved'", ["D", "C", "B"]),
        ("__system/reviewState eq null", []),
        ("__system/reviewState eq 'hasIssues' or __system/reviewState eq 'rejected'", ["D", "C"]),
        (
            "year(__system/submissionDate) eq 2026 and month(__system/submissionDate) eq 3",
            ["D", "C"],
        ),
        ("day(__system/submissionDate) eq 10", ["A"]),
        ("not (__system/submissionDate ge 2026-03-01)", ["B", "A"]),
        (
            "__system/submissionDate ge 2026-02-01 and __system/reviewState ne 'rejected'",
            ["E", "D", "B"],
        ),
        ("__system/updatedAt eq null", []),
        ("__system/updatedAt gt 2026-05-01T12:00:00Z", ["B"]),  # B's edit moved it to 05-02
        ("__system/submissionDate lt now()", ["E", "D", "C", "B", "A"]),
    ],
)
def test_feed__filter__rows_as_worked_out_by_hand(
    reading: Reading, expression: str, expected: list[str]
) -> None:
    response = feed(reading, **{"$filter": expression, "$count": "true"})
    assert response.status_code == 200, response.text
    assert keys(reading, response.json()) == expected
    assert response.json()["@odata.count"] == len(expected)


def test_feed__filter_with_paging__next_links_keep_the_filter(reading: Reading) -> None:
    pages = all_pages(reading, **{"$top": "1", "$filter": "__system/reviewState eq 'approved'"})
    assert pages == [["E"], ["A"]]


def test_feed__rows__fields_groups_geo_and_system_as_central(reading: Reading) -> None:
    body = feed(reading).json()
    rows = dict(zip(keys(reading, body), body["value"], strict=True))
    a, b = rows["A"], rows["B"]
    assert a["reach"] == {
        "n_establishment_workers": 0,
        "n_industrial_workers": 0,
        "n_students": 10,
        "n_general": 5,
        "n_female": 20,
        "n_total": "15",  # a calculate is a string, in Central as here
    }
    assert a["where"] == {"province": "51", "commune": "21025"}
    assert a["topics"] == "phap_luat hiv_sti"
    assert a["media_items"] is None
    assert a["photo"] == "p.jpg"
    assert a["activity_date"] == "2026-11-20"
    assert a["location"] == {
        "type": "Point",
        "coordinates": [108.8, 15.12, 12.0],
        "properties": {"accuracy": 5.0},
    }
    assert a["meta"]["instanceID"] == reading.ids["A"]
    assert a["__system"] == {
        "submissionDate": "2026-01-10T10:00:00.000Z",
        "updatedAt": "2026-05-01T00:00:00.000Z",
        "deletedAt": None,
        "submitterId": a["__system"]["submitterId"],
        "submitterName": "xa-cam-thanh-all",
        "attachmentsPresent": 1,
        "attachmentsExpected": 1,
        "status": None,
        "reviewState": "approved",
        "deviceId": "collect:AbCdEfGh12345678",
        "edits": 0,
        "formVersion": "2026112301",
    }
    assert a["__system"]["submitterId"].isdigit()  # the app user's id, as a string
    assert a["__system"]["submitterId"] != "0"
    # B: the root id stays, the current version's answers and instanceID show, one edit
    assert b["__id"] == reading.ids["B"]
    assert b["meta"]["instanceID"] == reading.edit_id
    assert b["reach"]["n_students"] == 25
    assert b["__system"]["edits"] == 1
    assert b["__system"]["reviewState"] == "edited"
    assert b["__system"]["attachmentsPresent"] == 0
    assert b["__system"]["attachmentsExpected"] == 0


def test_feed__wkt__points_as_text(reading: Reading) -> None:
    row = feed(reading, **{"$wkt": "True", "$top": "1"}).json()["value"][0]
    assert row["location"] == "POINT (108.8 15.12 12)"


def test_feed__select__only_the_named_paths(reading: Reading) -> None:
    body = feed(reading, **{"$select": "__id,reach/n_students,__system/reviewState"}).json()
    assert body["value"][0] == {
        "__id": reading.ids["E"],
        "reach": {"n_students": 50},
        "__system": {"reviewState": "approved"},
    }


def test_feed__orderby__oldest_first_paged_by_skip(reading: Reading) -> None:
    params = {"$orderby": "__system/submissionDate asc", "$top": "3"}
    assert all_pages(reading, **params) == [["A", "B", "C"], ["D", "E"]]


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("hoa.qng", ["D", "C", "B", "A"]),  # Quảng Ngãi only
        ("minh.dng", ["E"]),  # Đà Nẵng only
        ("xa.21028", ["C"]),  # one commune
    ],
)
def test_feed__scoped_reader__sees_only_their_units(
    reading: Reading, user: str, expected: list[str]
) -> None:
    body = feed(reading, (user, PASSWORD), **{"$count": "true"}).json()
    assert keys(reading, body) == expected
    assert body["@odata.count"] == len(expected)


def test_feed__no_or_wrong_credentials__401_central_problem(reading: Reading) -> None:
    for auth in (None, ("admin", "not-the-password"), ("nobody", PASSWORD)):
        response = feed(reading, auth)
        assert response.status_code == 401
        assert response.json()["code"] == 401.2
    bearer = httpx.get(
        f"{reading.base}/Submissions", headers={"Authorization": "Bearer forged"}, timeout=30
    )
    assert bearer.status_code == 401


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"$filter": "__system/submissionDate ge"}, 400, 400.18),
        ({"$filter": "(__system/reviewState eq 'approved'"}, 400, 400.18),
        ({"$filter": "__system/reviewState eq 'approved' xor true"}, 400, 400.18),
        ({"$filter": "reach/n_students gt 3"}, 400, 501.5),
        ({"$filter": "substringof('a', __id)"}, 400, 501.4),
        ({"$filter": "__system/submissionDate ge 2026-13-45"}, 400, 400.18),
        ({"$filter": "__system/submissionDate ge 'yesterday'"}, 400, 501.4),
        ({"$filter": "__system/reviewState lt 'approved'"}, 400, 501.4),
        ({"$filter": "(" * 200 + "true" + ")" * 200}, 400, 400.18),
        ({"$filter": "x" * 3000}, 400, 400.18),
        ({"$top": "abc"}, 400, 400.8),
        ({"$top": "-1"}, 400, 400.8),
        ({"$top": "9" * 40}, 400, 400.8),
        ({"$skip": "1.5"}, 400, 400.8),
        ({"$count": "maybe"}, 400, 400.8),
        ({"$skiptoken": "01notbase64!"}, 400, 400.35),
        ({"$select": "no_such_field"}, 400, 400.23),
        ({"$orderby": "reach/n_students"}, 400, 501.5),
        ({"$expand": "photos"}, 400, 501.6),
        ({"$apply": "groupby"}, 400, 501.1),
        ({"$format": "xml"}, 406, 406.1),
    ],
)
def test_feed__bad_options__central_problem_never_500(
    reading: Reading, params: dict[str, str], status: int, code: float
) -> None:
    response = feed(reading, **params)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert "(" in body["message"]  # Vietnamese, then English in brackets


def test_feed__unknown_form_or_table_or_project__404(reading: Reading) -> None:
    for url in (
        f"{reading.server.url}/v1/projects/1/forms/no_such_form.svc/Submissions",
        f"{reading.server.url}/v1/projects/2/forms/pcmd_outreach.svc/Submissions",
        f"{reading.base}/Submissions.no_repeat",
    ):
        response = httpx.get(url, auth=ADMIN, timeout=30)
        assert response.status_code == 404, url
        assert response.json()["code"] == 404.1


HUGE = "9" * 30


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", f"/v1/projects/1/forms/{'x' * 5000}.svc/Submissions", None, 404),
        ("GET", f"/v1/projects/{HUGE}/forms/pcmd_outreach.svc", None, 404),
        ("GET", f"/v1/projects/1/forms/pcmd_outreach/submissions/{'u' * 5000}", None, 404),
        (
            "GET",
            "/v1/projects/1/forms/pcmd_outreach/submissions/uuid%3Ax/attachments/..%2fx",
            None,
            404,
        ),
        (
            "GET",
            "/v1/projects/1/forms/pcmd_outreach.svc/Submissions?%24skiptoken=01WzFd",
            None,
            400,
        ),
        (
            "GET",
            "/v1/projects/1/forms/pcmd_outreach.svc/Submissions?%24filter=__id%20eq%205",
            None,
            400,
        ),
        ("GET", "/v1/projects/1/indicators.svc/IndicatorValues?%24top=-3", None, 400),
        ("DELETE", f"/v1/sessions/{'x' * 5000}", None, 404),
        ("GET", "/v1/projects", {"Authorization": "Basic %%%not-base64"}, 401),
        ("GET", "/v1/projects", {"Authorization": "Basic " + "QUFB" * 3000}, 401),
        ("GET", "/v1/projects", {"Authorization": "Bearer two words"}, 401),
    ],
)
def test_central_api__hostile_requests__answer_below_500(
    reading: Reading, method: str, path: str, headers: dict[str, str] | None, status: int
) -> None:
    auth = None if headers else ADMIN
    response = httpx.request(
        method, f"{reading.server.url}{path}", headers=headers, auth=auth, timeout=30
    )
    assert response.status_code == status, (path, response.text)
    if response.headers["content-type"].startswith("application/json"):
        assert "code" in response.json()  # a Central problem; else no route matched at all


def test_sessions__huge_body__400(reading: Reading) -> None:
    big = httpx.post(f"{reading.server.url}/v1/sessions", content=b"{" * 20_000, timeout=30)
    assert big.status_code == 400
    assert big.json()["code"] == 400.1


def test_feed__one_row__by_key_and_only_in_scope(reading: Reading) -> None:
    key = f"Submissions('{reading.ids['C']}')"
    one = httpx.get(f"{reading.base}/{key}", auth=ADMIN, timeout=30)
    assert keys(reading, one.json()) == ["C"]
    assert one.json()["value"][0]["reach"]["n_students"] == 30
    outside = httpx.get(f"{reading.base}/{key}", auth=("minh.dng", PASSWORD), timeout=30)
    assert outside.status_code == 404
    deleted = httpx.get(f"{reading.base}/Submissions('{reading.ids['F']}')", auth=ADMIN, timeout=30)
    assert deleted.status_code == 404
