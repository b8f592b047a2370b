"""Periods over the cube's months (YYYYMM integers): the key that groups months into months,
quarters or years, the period codes those keys stand for, and the batches one query serves."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement

from pcmd.masterdata.periods import Period


def period_key(month: Any, kind: str) -> ColumnElement[Any]:
    if kind == "month":
        return month  # type: ignore[no-any-return]
    if kind == "quarter":
        return (month // 100) * 10 + (month % 100 + 2) // 3  # type: ignore[no-any-return]
    return month // 100  # type: ignore[no-any-return]


def period_code(key: Any, kind: str) -> str:
    k = int(key)
    if kind == "month":
        return f"{k:06d}"
    if kind == "quarter":
        return f"{k // 10:04d}Q{k % 10}"
    return f"{k:04d}"


def month_bounds(periods: Sequence[Period]) -> tuple[int, int]:
    lo = min(p.start for p in periods)
    hi = max(p.end for p in periods)
    return lo.year * 100 + lo.month, hi.year * 100 + hi.month


def month_span(periods: Sequence[Period]) -> int:
    lo, hi = month_bounds(periods)
    return (hi // 100 - lo // 100) * 12 + hi % 100 - lo % 100


def period_batches(periods: Sequence[Period]) -> Iterator[tuple[str, Sequence[Period]]]:
    """Periods grouped so one query serves each group: months, quarters, years share a key
    expression; a multi-year period is queried alone."""
    by_kind: dict[str, list[Period]] = {}
    for p in periods:
        by_kind.setdefault(p.kind, []).append(p)
    for kind, group in by_kind.items():
        if kind == "years":
            for p in group:
                yield kind, [p]
        else:
            yield kind, group


def key_series(month: pd.Series, kind: str, period: Period | None) -> pd.Series:
    if kind == "month":
        return month
    if kind == "quarter":
        return (month // 100) * 10 + (month % 100 + 2) // 3
    if kind == "year":
        return month // 100
    assert period is not None
    return pd.Series(period.code, index=month.index, dtype=object)


def coded(frame: pd.DataFrame, kind: str, wanted: set[str]) -> pd.DataFrame:
    """(org, pkey) index → (org, period code), keeping the periods asked for."""
    orgs = frame.index.get_level_values(0).astype(str)
    keys = frame.index.get_level_values(1)
    # each distinct key converted once
    at, uniques = pd.factorize(keys)
    names = [str(k) if kind == "years" else period_code(k, kind) for k in uniques.tolist()]
    codes = np.asarray(names, dtype=object)[at] if len(names) else np.array([], dtype=object)
    frame = frame.set_axis(pd.MultiIndex.from_arrays([orgs, codes], names=["org", "period"]))
    return frame[frame.index.get_level_values("period").isin(wanted)]
