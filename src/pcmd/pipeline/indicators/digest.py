"""Fingerprints of computed values, period by period: a full recompute rewrites only the periods
whose values differ from what the last run stored (writing is most of its time otherwise).

A period's fingerprint covers every row the pipeline stores for it at one level — the org units,
the indicators, every numerator, denominator, value, target and status — so two equal
fingerprints mean the same rows. The pipeline keeps them in its cursor, forgets those of the
periods an incremental run rewrote cell by cell, and checks them against the stored row counts
before trusting them (a row deleted behind its back is written again).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
import pandas as pd
from pandas.util import hash_array

from pcmd.pipeline.indicators.engine import Values

_NULL = -1.0e300  # stands for NaN (null) in the bytes hashed: NaN's bit patterns vary


def _bytes(array: np.ndarray) -> bytes:
    block = np.asarray(array, dtype=np.float64)
    return np.ascontiguousarray(np.where(np.isnan(block), _NULL, block)).tobytes()


def period_digests(values: Values, level: str) -> dict[str, tuple[str, int]]:
    """`level:period` → (fingerprint, rows) for every period in `values`."""
    n = len(values.orgs)
    if n == 0 or not values.indicators:
        return {}
    # Cells keep the order compute_cells gives them (units, then periods, both sorted).
    codes, uniques = pd.factorize(values.periods)
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(len(uniques)))
    ends = [*starts[1:].tolist(), n]
    head = "\x1f".join(values.indicators).encode()
    # Codes and statuses as 64-bit hashes, computed at once (pandas' fixed-key SipHash).
    orgs = hash_array(np.asarray(values.orgs, dtype=object))
    status = hash_array(np.asarray(values.status, dtype=object).ravel()).reshape(
        values.status.shape
    )
    out: dict[str, tuple[str, int]] = {}
    for code, start, end in zip(uniques.tolist(), starts.tolist(), ends, strict=True):
        cells = order[start:end]
        h = hashlib.blake2b(head, digest_size=16)
        h.update(orgs[cells].tobytes())
        for array in (values.numerator, values.denominator, values.value, values.target):
            h.update(_bytes(array[:, cells]))
        h.update(np.ascontiguousarray(status[:, cells]).tobytes())
        out[f"{level}:{code}"] = (h.hexdigest(), len(cells) * len(values.indicators))
    return out


def only_periods(values: Values, periods: Iterable[str]) -> Values:
    """The cells of `values` in these periods."""
    keep = np.asarray(pd.Index(values.periods).isin(list(set(periods))))
    return Values(
        orgs=values.orgs[keep],
        periods=values.periods[keep],
        indicators=values.indicators,
        numerator=values.numerator[:, keep],
        denominator=values.denominator[:, keep],
        value=values.value[:, keep],
        target=values.target[:, keep],
        status=values.status[:, keep],
    )
