"""What an incremental run moved in the kept cube (cube_kept.patch): per commune-month (with
the province its rows carry), the cube slots whose value changed and the distinct and by-day
parts whose fact rows changed. An incremental run then writes, of each touched cell, only the
values of indicators that read something that moved (pipeline/cells_changed.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

Where = tuple[str, str, int]  # (commune, province, month YYYYMM)


def part_tag(part_id: str) -> str:
    """The tag of a distinct or by-day part whose fact rows moved (slots are tagged by their
    column name, vNN)."""
    return f"part:{part_id}"


@dataclass
class Changes:
    moved: dict[Where, set[str]] = field(default_factory=dict)  # slot columns, part tags
    tracked: set[str] = field(default_factory=set)  # part ids whose fact rows were compared

    def add(self, where: Where, tag: str) -> None:
        self.moved.setdefault(where, set()).add(tag)

    def slots(
        self,
        old: np.ndarray,
        new: np.ndarray,
        columns: Sequence[str],
        pairs: Sequence[tuple[str, str]],
        months: Sequence[int],
    ) -> None:
        """Note the slots whose value differs between two (slots, pairs, months) blocks."""
        for s, p, t in zip(*np.nonzero(old != new), strict=True):
            commune, province = pairs[int(p)]
            self.add((commune, province, months[int(t)]), columns[int(s)])

    def rows(
        self, part_id: str, old: pd.DataFrame, new: pd.DataFrame, columns: Sequence[str]
    ) -> None:
        """Note the commune-months whose fact rows of a part differ (as multisets)."""
        self.tracked.add(part_id)
        before, after = _grouped(old, columns), _grouped(new, columns)
        for where in set(before) | set(after):
            if before.get(where) != after.get(where):
                self.add(where, part_tag(part_id))


def _grouped(frame: pd.DataFrame, columns: Sequence[str]) -> dict[Where, list[str]]:
    out: dict[Where, list[str]] = {}
    keys = ["commune_code", "province_code", "month"]
    for rec in zip(*(frame[c].tolist() for c in (*keys, *columns)), strict=True):
        out.setdefault((str(rec[0]), str(rec[1]), int(rec[2])), []).append(repr(rec[3:]))
    for values in out.values():
        values.sort()
    return out
