"""OData `$filter` as ODK Central accepts it: `eq ne lt le gt ge`, `and or not`, parentheses,
`null`, `true`/`false`, numbers, 'strings', dates and timestamps, and the functions `now()`,
`year() month() day() hour() minute() second()`. Parsed by hand into a small tree, then compiled
to a SQLAlchemy condition over the columns a caller names. Pure: no database, no I/O.

Errors follow Central: text that does not parse is 400.18; a construct or a field pcmd does not
filter on is 501.4 / 501.5 — each message says what was not understood and where.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, extract, false, literal, not_, or_, true
from sqlalchemy.orm import InstrumentedAttribute

from pcmd.server.central.problems import Problem

COMPARE = ("eq", "ne", "lt", "le", "gt", "ge")
PARTS = ("year", "month", "day", "hour", "minute", "second")
MAX_LENGTH = 2000
MAX_DEPTH = 50
MAX_NUMBER = 10**15
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<ts>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))
    | (?P<date>\d{4}-\d{2}-\d{2})
    | (?P<num>-?\d+(?:\.\d+)?)
    | (?P<str>'(?:[^']|'')*')
    | (?P<name>[$A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<punct>[(),])
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Name:
    path: str


@dataclass(frozen=True)
class Value:
    value: Any  # None, bool, int, float, str, date, aware datetime


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Compare:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Logic:
    op: str  # and | or
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node


Node = Name | Value | Call | Compare | Logic | Not


def unparseable(text: str, why: str) -> Problem:
    return Problem(
        400.18,
        f"Không đọc được biểu thức $filter {text!r}: {why} (the OData filter expression you "
        f"provided could not be parsed: {why}). Example: "
        "__system/submissionDate ge 2026-01-01 and __system/reviewState eq 'approved'.",
    )


def unsupported(text: str, what: str) -> Problem:
    return Problem(
        501.4,
        f"Biểu thức $filter dùng {what}, máy chủ chưa hỗ trợ (the OData filter expression uses "
        f"{what}, which this server does not support): use eq ne lt le gt ge, and or not, "
        "and now() year() month() day() hour() minute() second().",
        {"filter": text},
    )


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            raise unparseable(text, f"unexpected character at position {pos + 1}")
        out.append((match.lastgroup, match.group(match.lastgroup), match.start(match.lastgroup)))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.at = 0
        self.depth = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def word(self, *words: str) -> str | None:
        token = self.peek()
        if token and token[0] == "name" and token[1] in words:
            self.at += 1
            return token[1]
        return None

    def punct(self, char: str) -> None:
        token = self.peek()
        if token is None or token[1] != char:
            where = f"position {token[2] + 1}" if token else "the end"
            raise unparseable(self.text, f"expected {char!r} at {where}")
        self.at += 1

    def expression(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise unparseable(self.text, "too deeply nested")
        node = self.conjunction()
        while self.word("or"):
            node = Logic("or", node, self.conjunction())
        self.depth -= 1
        return node

    def conjunction(self) -> Node:
        node = self.negation()
        while self.word("and"):
            node = Logic("and", node, self.negation())
        return node

    def negation(self) -> Node:
        if self.word("not"):
            return Not(self.negation())
        left = self.primary()
        token = self.peek()
        if token and token[0] == "name" and token[1] in COMPARE:
            self.at += 1
            return Compare(token[1], left, self.primary())
        if token and token[0] == "name" and token[1] not in ("and", "or"):
            raise unsupported(self.text, f"the operator {token[1]!r}")
        return left

    def primary(self) -> Node:
        token = self.peek()
        if token is None:
            raise unparseable(self.text, "it ends too early")
        kind, text, pos = token
        self.at += 1
        if text == "(":
            node = self.expression()
            self.punct(")")
            return node
        if kind == "ts":
            try:
                stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
                return Value(stamp.astimezone(dt.UTC))
            except (ValueError, OverflowError):
                raise unparseable(self.text, f"{text!r} is no date and time") from None
        if kind == "date":
            try:
                return Value(dt.date.fromisoformat(text))
            except ValueError:
                raise unparseable(self.text, f"{text!r} is no date") from None
        if kind == "num":
            number = float(text) if "." in text else int(text)
            if abs(number) > MAX_NUMBER:
                raise unparseable(self.text, f"the number {text} is too large")
            return Value(number)
        if kind == "str":
            return Value(text[1:-1].replace("''", "'"))
        if kind == "name":
            if text in ("null", "true", "false"):
                return Value({"null": None, "true": True, "false": False}[text])
            nxt = self.peek()
            if nxt and nxt[1] == "(":
                self.at += 1
                args: list[Node] = []
                if self.peek() and self.peek()[1] != ")":  # type: ignore[index]
                    args.append(self.expression())
                    while self.peek() and self.peek()[1] == ",":  # type: ignore[index]
                        self.at += 1
                        args.append(self.expression())
                self.punct(")")
                return Call(text, tuple(args))
            return Name(text)
        raise unparseable(self.text, f"unexpected {text!r} at position {pos + 1}")


def parse_filter(text: str) -> Node:
    """The tree of a `$filter` expression, or a Problem saying what is wrong with it."""
    if len(text) > MAX_LENGTH:
        raise unparseable(text[:40] + "…", f"longer than {MAX_LENGTH} characters")
    parser = _Parser(text)
    if not parser.tokens:
        raise unparseable(text, "it is empty")
    node = parser.expression()
    token = parser.peek()
    if token is not None:
        raise unparseable(text, f"unexpected {token[1]!r} at position {token[2] + 1}")
    return node


@dataclass(frozen=True)
class Column:
    """A filterable field: its SQL expression, its kind (`timestamp`, `text`) and how a
    literal compared with it becomes a stored value (e.g. Central's review states)."""

    expression: ColumnElement[Any] | InstrumentedAttribute[Any]
    kind: str
    convert: Callable[[Any], Any] = lambda value: value


def _unknown_field(text: str, name: str, columns: Mapping[str, Column]) -> Problem:
    return Problem(
        501.5,
        f"Biểu thức $filter dùng trường {name!r}, không lọc được theo trường này (the OData "
        f"filter expression references the field {name!r}, which cannot be filtered on): "
        f"filter on {', '.join(columns)}.",
        {"filter": text, "field": name},
    )


def _operand(node: Node, columns: Mapping[str, Column], text: str, now: dt.datetime) -> Any:
    if isinstance(node, Name):
        if node.path not in columns:
            raise _unknown_field(text, node.path, columns)
        return columns[node.path]
    if isinstance(node, Value):
        return node
    if isinstance(node, Call):
        if node.function == "now" and not node.args:
            return Value(now)
        if node.function in PARTS and len(node.args) == 1:
            inner = _operand(node.args[0], columns, text, now)
            if isinstance(inner, Column) and inner.kind == "timestamp":
                return Column(extract(node.function, inner.expression), "number")
            if isinstance(inner, Value) and isinstance(inner.value, dt.datetime | dt.date):
                return Value(getattr(inner.value, node.function, 0))
            raise unsupported(text, f"{node.function}() of something other than a date")
        raise unsupported(text, f"the function {node.function}()")
    raise unsupported(text, "a comparison inside a comparison")


def _literal(value: Any, column: Column, text: str) -> Any:
    if (
        column.kind == "timestamp"
        and isinstance(value, dt.date)
        and not isinstance(value, dt.datetime)
    ):
        return dt.datetime.combine(value, dt.time(), dt.UTC)
    if column.kind == "timestamp" and value is not None and not isinstance(value, dt.datetime):
        raise unsupported(text, f"a comparison of a date with {value!r}")
    if column.kind in ("text", "enum") and value is not None and not isinstance(value, str):
        raise unsupported(text, f"a comparison of a text field with {value!r}")
    if column.kind == "number" and (
        value is None or isinstance(value, bool) or not isinstance(value, int | float)
    ):
        raise unsupported(text, f"a comparison of a number with {value!r}")
    return column.convert(value)


def _compare(node: Compare, columns: Mapping[str, Column], text: str, now: dt.datetime) -> Any:
    left = _operand(node.left, columns, text, now)
    right = _operand(node.right, columns, text, now)
    op = node.op
    if isinstance(left, Value) and isinstance(right, Column):  # 2026 lt year(…)
        left, right = right, left
        op = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}.get(op, op)
    if isinstance(left, Value) and isinstance(right, Value):
        a, b = left.value, right.value
        try:
            result = {
                "eq": a == b,
                "ne": a != b,
                "lt": a < b,
                "le": a <= b,
                "gt": a > b,
                "ge": a >= b,
            }[op]
        except TypeError:
            raise unsupported(text, f"a comparison of {a!r} with {b!r}") from None
        return true() if result else false()
    if not isinstance(left, Column) or not isinstance(right, Value):
        raise unsupported(text, "a comparison of two fields")
    value = _literal(right.value, left, text)
    col = left.expression
    if value is None:
        if op == "eq":
            return col.is_(None)
        if op == "ne":
            return col.is_not(None)
        raise unsupported(text, f"{op} null")
    if op in ("lt", "le", "gt", "ge") and left.kind == "enum":
        raise unsupported(text, f"{op} on a review state")
    bound = literal(value, col.type) if left.kind == "timestamp" else value
    return {
        "eq": col == bound,
        "ne": col != bound,
        "lt": col < bound,
        "le": col <= bound,
        "gt": col > bound,
        "ge": col >= bound,
    }[op]


def compile_filter(
    node: Node, columns: Mapping[str, Column], text: str, now: dt.datetime
) -> ColumnElement[bool]:
    """The SQL condition of a parsed `$filter` over `columns` (field path → Column)."""
    if isinstance(node, Logic):
        parts = (
            compile_filter(node.left, columns, text, now),
            compile_filter(node.right, columns, text, now),
        )
        return and_(*parts) if node.op == "and" else or_(*parts)
    if isinstance(node, Not):
        return not_(compile_filter(node.operand, columns, text, now))
    if isinstance(node, Compare):
        result: ColumnElement[bool] = _compare(node, columns, text, now)
        return result
    if isinstance(node, Value) and isinstance(node.value, bool):
        return true() if node.value else false()
    raise unsupported(text, "a value that is not a condition")
