"""Readers of typed answers: a count, a number, a date or a text, None when the answer is not
one; and a record's activity date."""

from __future__ import annotations

import datetime as dt
import functools

from pcmd.forms import contract as c
from pcmd.forms.contract import Data


def as_count(value: object) -> int | None:
    """An integer answer (bool is not one, though Python says so)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    return float(value) if isinstance(value, int | float) else None


def as_date(value: object) -> dt.date | None:
    return _iso_date(value) if isinstance(value, str) else None


@functools.lru_cache(maxsize=8192)
def _iso_date(text: str) -> dt.date | None:
    # Cached: a run reads the same few thousand dates for 100,000 records, several times each.
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def activity_date(form_id: str, data: Data) -> dt.date | None:
    name = c.DATE_FIELD.get(form_id)
    return as_date(data.get(name)) if name else None


def as_text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
