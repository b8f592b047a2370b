"""Reference values and register counts rolled up the org tree: what the `reference` and
`establishments` denominators of the engine divide by."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from pcmd.masterdata.tree import OrgTree


class Reference:
    """Reference values (DESIGN §7) and the year and roll-up rules of DESIGN §8."""

    def __init__(self, rows: Iterable[tuple[str, int, str, float]], tree: OrgTree) -> None:
        frame = pd.DataFrame(list(rows), columns=["org", "year", "key", "value"])
        # One frame per key, by year: a table is then a filter and a "last per unit".
        self.frames: dict[str, pd.DataFrame] = {
            str(key): group.sort_values("year", kind="stable")
            for key, group in frame.astype({"year": "int64", "value": "float64"}).groupby("key")
        }
        self.tree = tree
        self._cache: dict[tuple[str, int], dict[str, float]] = {}

    def own_values(self, key: str, year: int) -> dict[str, float]:
        """Each unit's own value for the most recent year not after `year`."""
        frame = self.frames.get(key)
        if frame is None:
            return {}
        upto = frame[frame["year"] <= year]
        last = upto.groupby("org")["value"].last()
        orgs = np.asarray(last.index, dtype=object).tolist()
        return dict(zip(map(str, orgs), last.to_numpy(dtype=float).tolist(), strict=True))

    def own(self, key: str, org: str, year: int) -> float | None:
        return self.own_values(key, year).get(org)

    def table(self, key: str, year: int) -> dict[str, float]:
        """Every unit's value for `year` (units without one are absent): its own value, else
        the sum of its children that have one — communes up to provinces, then provinces up
        to the country."""
        cached = self._cache.get((key, year))
        if cached is not None:
            return cached
        own = self.own_values(key, year)
        out = dict(own)
        for level in ("commune", "province"):
            sums: dict[str, float] = {}
            for code, value in out.items():
                if self.tree.level.get(code) == level:
                    parent = self.tree.parent.get(code)
                    if parent is not None:
                        sums[parent] = sums.get(parent, 0.0) + value
            for parent, total in sums.items():
                if parent not in own:
                    out[parent] = total
        self._cache[(key, year)] = out
        return out

    def value(self, key: str, org: str, year: int) -> float | None:
        return self.table(key, year).get(org)


def register_counts(
    rows: Iterable[tuple[str, str, int]], tree: OrgTree
) -> dict[str, dict[str, int]]:
    """(commune, status, count) of the register → status → org → count up the tree."""
    out: dict[str, dict[str, int]] = {}
    for commune, status, count in rows:
        if tree.level.get(commune) != "commune":
            continue  # a commune no longer in force belongs to no unit of the tree
        by_org = out.setdefault(status, {})
        for org in (commune, *tree.ancestors(commune)):
            by_org[org] = by_org.get(org, 0) + int(count)
    return out
