"""The `$filter` parser and its SQL: trees of hand-written expressions, Central's problem codes
for what it refuses, and the conditions compiled for both databases' dialects."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from pcmd.server.central.odata_filter import (
    Call,
    Compare,
    Logic,
    Name,
    Not,
    Value,
    compile_filter,
    parse_filter,
)
from pcmd.server.central.problems import Problem
from pcmd.server.central.records import FILTER_COLUMNS

NOW = dt.datetime(2026, 12, 7, 1, 0, tzinfo=dt.UTC)


def test_parse__precedence__and_binds_tighter_than_or() -> None:
    tree = parse_filter("__id eq 'a' or __id eq 'b' and not (__id eq 'c')")
    a = Compare("eq", Name("__id"), Value("a"))
    b = Compare("eq", Name("__id"), Value("b"))
    c = Compare("eq", Name("__id"), Value("c"))
    assert tree == Logic("or", a, Logic("and", b, Not(c)))


def test_parse__literals__dates_timestamps_strings_numbers_null() -> None:
    assert parse_filter("__system/submissionDate ge 2026-03-01") == Compare(
        "ge", Name("__system/submissionDate"), Value(dt.date(2026, 3, 1))
    )
    stamp = parse_filter("__system/updatedAt lt 2026-03-01T07:00:00+07:00")
    assert stamp == Compare(
        "lt", Name("__system/updatedAt"), Value(dt.datetime(2026, 3, 1, 0, 0, tzinfo=dt.UTC))
    )
    assert parse_filter("__id eq 'it''s'") == Compare("eq", Name("__id"), Value("it's"))
    assert parse_filter("__system/reviewState eq null") == Compare(
        "eq", Name("__system/reviewState"), Value(None)
    )
    assert parse_filter("year(__system/submissionDate) le 2025") == Compare(
        "le", Call("year", (Name("__system/submissionDate"),)), Value(2025)
    )


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", 400.18),
        ("__id eq", 400.18),
        ("__id eq 'open", 400.18),
        ("(__id eq 'a'", 400.18),
        ("__id eq 'a')", 400.18),
        ("__id @ 'a'", 400.18),
        ("__id has 'a'", 501.4),
    ],
)
def test_parse__bad_text__central_codes(text: str, code: float) -> None:
    with pytest.raises(Problem) as caught:
        parse_filter(text)
    assert caught.value.code == code
    assert "(" in caught.value.message  # Vietnamese, then English


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("reach/n_students gt 3", 501.5),
        ("__system/submitterId eq '5'", 501.5),
        ("tolower(__id) eq 'a'", 501.4),
        ("__id eq __id", 501.4),
        ("__system/reviewState gt 'approved'", 501.4),
        ("__system/submissionDate gt 5", 501.4),
        ("__id", 501.4),
        ("year(__id) eq 2026", 501.4),
    ],
)
def test_compile__unsupported__central_codes(text: str, code: float) -> None:
    with pytest.raises(Problem) as caught:
        compile_filter(parse_filter(text), FILTER_COLUMNS, text, NOW)
    assert caught.value.code == code


def sql(text: str, dialect: Dialect) -> str:
    condition = compile_filter(parse_filter(text), FILTER_COLUMNS, text, NOW)
    return str(condition.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def test_compile__review_state_names__pcmd_states() -> None:
    assert sql("__system/reviewState eq 'hasIssues'", sqlite.dialect()) == (
        "submissions.review_state = 'has_issues'"
    )
    # Central's null (not reviewed) is pcmd's `received`
    assert sql("__system/reviewState eq null", sqlite.dialect()) == (
        "submissions.review_state = 'received'"
    )


def test_compile__year_function__extract_on_both_databases() -> None:
    assert "STRFTIME('%Y', submissions.submitted_at)" in sql(
        "year(__system/submissionDate) eq 2026", sqlite.dialect()
    )
    assert "EXTRACT(year FROM submissions.submitted_at)" in sql(
        "year(__system/submissionDate) eq 2026",
        postgresql.dialect(),  # type: ignore[no-untyped-call]
    )


def test_compile__constant_comparisons__folded() -> None:
    assert sql("2026 eq 2026", sqlite.dialect()) == "1"
    assert sql("year(now()) eq 2025", sqlite.dialect()) == "0"  # now() is in 2026


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("__system/submissionDate ge 2026-13-01T00:00:00Z", 400.18),
        ("__system/submissionDate ge 0001-01-01T00:00:00+07:00", 400.18),
        ("year(__system/submissionDate) eq 99999999999999999999", 400.18),
        ("__id eq 5", 501.4),
        ("__system/reviewState eq true", 501.4),
        ("year(__system/submissionDate) eq 'abc'", 501.4),
        ("year(__system/submissionDate) eq null", 501.4),
    ],
)
def test_filter__values_a_database_would_choke_on__refused_first(text: str, code: float) -> None:
    with pytest.raises(Problem) as caught:
        compile_filter(parse_filter(text), FILTER_COLUMNS, text, NOW)
    assert caught.value.code == code
