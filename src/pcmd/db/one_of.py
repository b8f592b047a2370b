"""`column IN (…)` for a long list bound as one parameter: a JSON array read with json_each
on SQLite, an array with `= ANY(…)` on PostgreSQL. SQLAlchemy expands a plain `in_()` into one
parameter per value on every execution; for the pipeline's lists of 900 communes or 1,000
submission ids that costs more than the query (an incremental run has a few dozen of them).
Both forms use the column's index as `IN (…)` does."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, String, any_, bindparam, select
from sqlalchemy import func as sql_func
from sqlalchemy.dialects.postgresql import ARRAY


def one_of(dialect: str, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """`column IN values` for the dialect named (`conn.dialect.name`)."""
    items = list(values)
    if dialect == "postgresql":
        param = bindparam(None, items, type_=ARRAY(column.type), unique=True)
        return column == any_(param)  # type: ignore[no-any-return]
    if dialect == "sqlite":
        listed = sql_func.json_each(bindparam(None, json.dumps(items), type_=String, unique=True))
        return column.in_(select(listed.table_valued("value").c.value))  # type: ignore[no-any-return]
    return column.in_(items)  # type: ignore[no-any-return]
