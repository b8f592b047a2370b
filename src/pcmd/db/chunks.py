"""Long lists cut into pieces: ids for `IN (...)` and rows for batched writes stay well under
SQLite's and PostgreSQL's limits on parameters in one statement."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

IN_LIMIT = 500  # values in one IN (...) unless a caller knows better


def chunks(items: Sequence[T], size: int = IN_LIMIT) -> Iterator[Sequence[T]]:
    """`items` in consecutive slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
