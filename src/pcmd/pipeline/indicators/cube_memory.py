"""The cube held in memory as arrays, for the full recompute: every measure of every
commune × month in one matrix, so that every level and period is reduced by a few numpy
operations instead of one group-by per level, period kind and part.

- A part's quantity per (commune, province) pair and month is the sum of its slots. Pairs,
  not communes: a commune-month's cube row carries the province of its fact rows, which may
  change over the years; communes and provinces are sums over pairs.
- Every period is a window of months [a, b]: its sums are differences of prefix sums over the
  months (direct sums when a value is not a whole number, so floats add up as they would);
  a part read for another period (`year_before`, `last_year`) reads that period's window.
- months_with counts the months of the window whose unit-month sum is above 0;
  communes_with the communes (pairs at the province level) whose window sum is above 0;
  distinct the distinct values per unit in the window's fact rows (np.unique).

The targeted path (cube_read.py, SQL) and this one are checked against each other
(tests/pipeline/test_run.py: incremental runs end where a full recompute does) and against
the row-by-row reference (tests/test_bench_pipeline.py, bench/pipeline.py --check).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Connection, func, select

from pcmd.db.facts import FACT_TABLES, fact_column
from pcmd.db.tables import EST
from pcmd.masterdata.periods import Period
from pcmd.pipeline.indicators.by_day import load_rows
from pcmd.pipeline.indicators.cube import CUBE, SlotMap, conditions, fetch
from pcmd.pipeline.indicators.cube_scope import Scope
from pcmd.pipeline.indicators.model import Part
from pcmd.pipeline.indicators.part_periods import shifted

_CHUNK = 20_000  # cube rows read at a time
DENSE_KINDS = ("records", "sum", "communes_with", "months_with", "distinct")


def month_index(months: np.ndarray, first_year: int) -> np.ndarray:
    return np.asarray((months // 100 - first_year) * 12 + months % 100 - 1, dtype=np.int64)


def among(codes: np.ndarray, wanted: Iterable[Any]) -> np.ndarray:
    """Which of the codes are in `wanted`, by hashing: np.isin compares object arrays element
    by element (3,321 pairs × 900 communes took 50 ms in an incremental run)."""
    chosen = set(wanted)
    return np.fromiter((c in chosen for c in codes.tolist()), dtype=bool, count=len(codes))


def _groups(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group number of each code, and the codes of the groups."""
    at, uniques = pd.factorize(codes)
    return np.asarray(at, dtype=np.int64), np.asarray(uniques, dtype=object)


def _add_by(groups: np.ndarray, n: int, matrix: np.ndarray) -> np.ndarray:
    """Rows of `matrix` added up by group (every group 0 … n-1 has a row)."""
    if n == len(groups) and np.array_equal(groups, np.arange(n)):
        return matrix
    order = np.argsort(groups, kind="stable")
    ordered = groups[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return np.add.reduceat(matrix[order], starts, axis=0)


class Loaded:
    """The cube's commune rows as a matrix (slot, pair, month), and the fact rows that
    distinct counts and by-day parts read."""

    def __init__(self, conn: Connection, parts: Sequence[Part], slots: SlotMap) -> None:
        used = sorted(set(slots.values()))
        commune_rows = CUBE.c.level == "commune"
        self.slots = slots
        self.slot_row = {col: i for i, col in enumerate(used)}
        pairs = fetch(
            conn, select(CUBE.c.org_code, CUBE.c.province_code).distinct().where(commune_rows)
        )
        self.pair_commune = np.array([p[0] for p in pairs], dtype=object)
        self.pair_province = np.array([p[1] for p in pairs], dtype=object)
        pair_of = {(p[0], p[1]): i for i, p in enumerate(pairs)}
        lo, hi = fetch(
            conn, select(func.min(CUBE.c.month), func.max(CUBE.c.month)).where(commune_rows)
        )[0]
        self.first_year = int(lo) // 100 if lo is not None else 2000
        self.n_months = (int(hi) // 100 - self.first_year) * 12 + int(hi) % 100 if hi else 0
        self.values = np.zeros((len(used), len(pairs), self.n_months))
        # Rows in chunks straight into the matrix: a million submissions' cube as Python
        # tuples would take more memory than the matrix.
        result = conn.execute(
            select(CUBE.c.org_code, CUBE.c.province_code, CUBE.c.month, *CUBE.c[tuple(used)]).where(
                commune_rows
            )
        )
        try:
            while chunk := result.cursor.fetchmany(_CHUNK):
                at = np.fromiter((pair_of[(r[0], r[1])] for r in chunk), np.int64, len(chunk))
                months = np.fromiter((r[2] for r in chunk), np.int64, len(chunk))
                block = np.array([r[3:] for r in chunk], dtype=float).T  # NULL → NaN
                self.values[:, at, month_index(months, self.first_year)] = np.nan_to_num(block)
        finally:
            result.close()
        self.whole = bool(
            np.array_equal(self.values, np.trunc(self.values))
            and float(np.abs(self.values).sum()) < 2.0**52
        )
        self._pair_of = {
            (c, p): i
            for i, (c, p) in enumerate(zip(self.pair_commune, self.pair_province, strict=True))
        }
        self._series: dict[str, np.ndarray] = {}
        self._series_rows: dict[str, list[int]] = {}  # the slot rows each series adds up
        self._register: dict[str, set[Any]] = {}
        self.parts: dict[str, Part] = {}  # what keys and rows hold, by part id
        self.keys: dict[str, pd.DataFrame] = {}
        self.rows: dict[str, pd.DataFrame] = {}  # by-day parts' fact rows (quantities.py)
        for part in parts:
            part = replace(part, period=None)  # a shifted part reads the same rows
            if part.kind == "distinct" and part.id not in self.keys:
                self.parts[part.id] = part
                self.keys[part.id] = self._keys(conn, part)
            if part.by_day and part.id not in self.rows:
                self.parts[part.id] = part
                self.rows[part.id] = load_rows(conn, part)

    def covers(self, parts: Sequence[Part]) -> bool:
        """Whether this holds everything the parts read."""
        for part in parts:
            base = replace(part, period=None)
            if base.kind == "distinct" and base.id not in self.keys:
                return False
            if base.by_day and base.id not in self.rows:
                return False
            if any(m.key not in self.slots for m in base.measures()):
                return False
        return True

    def register(self, conn: Connection, status: str) -> set[Any]:
        """Register ids with this status (read once)."""
        if status not in self._register:
            rows = fetch(conn, select(EST.c.id).where(EST.c.status == status))
            self._register[status] = {r[0] for r in rows}
        return self._register[status]

    def forget_series(self) -> None:
        self._series.clear()

    def pair(self, commune: str, province: str) -> int:
        """The pair's row in the matrix, added (zero) when new."""
        at = self._pair_of.get((commune, province))
        if at is None:
            at = self._pair_of[(commune, province)] = len(self.pair_commune)
            self.pair_commune = np.append(self.pair_commune, np.array([commune], dtype=object))
            self.pair_province = np.append(self.pair_province, np.array([province], dtype=object))
            extra = np.zeros((self.values.shape[0], 1, self.values.shape[2]))
            self.values = np.concatenate([self.values, extra], axis=1)
        return at

    def grow(self, lo: int, hi: int) -> None:
        """Months lo … hi (YYYYMM) made part of the matrix."""
        if self.n_months == 0:
            self.first_year = lo // 100
        before = max(self.first_year - lo // 100, 0) * 12
        self.first_year -= before // 12
        last = (hi // 100 - self.first_year) * 12 + hi % 100 - 1
        after = max(last + 1 - (self.n_months + before), 0)
        if before or after:
            self.values = np.pad(self.values, ((0, 0), (0, 0), (before, after)))
            self.n_months += before + after

    def series(self, part: Part) -> np.ndarray:
        """The part's quantity per pair and month (the sum of its slots)."""
        base = replace(part, period=None)
        got = self._series.get(base.id)
        if got is None:
            rows = [self.slot_row[c] for c in sorted({self.slots[m.key] for m in base.measures()})]
            got = np.zeros(self.values.shape[1:])
            for row in rows:
                got = got + self.values[row]
            self._series[base.id] = got
            self._series_rows[base.id] = rows
        return got

    def refresh_series(self, pairs: np.ndarray, months: np.ndarray) -> None:
        """The parts' series brought up to date after the matrix's pairs × months (indices)
        were set, added the same way as series() adds them; forgotten if the matrix grew."""
        at = (pairs[:, None], months[None, :])
        for part_id, got in self._series.items():
            if got.shape != self.values.shape[1:]:
                self.forget_series()
                return
            block = np.zeros((len(pairs), len(months)))
            for row in self._series_rows[part_id]:
                block = block + self.values[row][at]
            got[at] = block

    def window(self, period: Period | None) -> tuple[int, int]:
        """The period's months as indices [a, b] into the matrix, clipped; a > b if none."""
        if period is None or self.n_months == 0:
            return 0, -1
        a = (period.start.year - self.first_year) * 12 + period.start.month - 1
        b = (period.end.year - self.first_year) * 12 + period.end.month - 1
        return max(a, 0), min(b, self.n_months - 1)

    def _keys(self, conn: Connection, part: Part) -> pd.DataFrame:
        frame = key_rows(conn, part, self.register)
        return frame.sort_values("month", kind="stable").reset_index(drop=True)


def _window_sums(matrix: np.ndarray, windows: np.ndarray, whole: bool) -> np.ndarray:
    """(units, months) → (units, windows): each window's sum over its months."""
    out = np.zeros((matrix.shape[0], len(windows)))
    if matrix.shape[1] == 0 or not len(windows):
        return out
    if whole:
        prefix = np.zeros((matrix.shape[0], matrix.shape[1] + 1))
        np.cumsum(matrix, axis=1, out=prefix[:, 1:])
        a, b = windows[:, 0], windows[:, 1]
        empty = a > b
        out = prefix[:, np.where(empty, 0, b + 1)] - prefix[:, np.where(empty, 0, a)]
        return np.asarray(out)
    for i, (a, b) in enumerate(windows.tolist()):
        if a <= b:
            out[:, i] = matrix[:, a : b + 1].sum(axis=1)
    return out


class _Level:
    """The pairs in scope and how they add up into the level's units (and into communes)."""

    def __init__(self, loaded: Loaded, scope: Scope) -> None:
        mask = np.ones(len(loaded.pair_commune), dtype=bool)
        if scope.root_level == "province":
            mask &= loaded.pair_province == scope.root
        elif scope.root_level == "commune":
            mask &= loaded.pair_commune == scope.root
        if scope.orgs is not None and scope.level == "commune":
            mask &= among(loaded.pair_commune, scope.orgs)
        self.mask = mask
        communes = loaded.pair_commune[mask]
        self.commune_at, self.communes = _groups(communes)
        if scope.level == "commune":
            self.unit_at, self.units = self.commune_at, self.communes
        elif scope.level == "province":
            self.unit_at, self.units = _groups(loaded.pair_province[mask])
        else:
            self.unit_at = np.zeros(len(communes), dtype=np.int64)
            self.units = np.array([scope.root] * (1 if len(communes) else 0), dtype=object)

    def to_units(self, matrix: np.ndarray) -> np.ndarray:
        return _add_by(self.unit_at, len(self.units), matrix)

    def to_communes(self, matrix: np.ndarray) -> np.ndarray:
        return _add_by(self.commune_at, len(self.communes), matrix)


def _cube_part(
    loaded: Loaded, level: _Level, part: Part, scope: Scope, windows: np.ndarray
) -> np.ndarray:
    """(units, windows) for a part read from the cube matrix — only the months the windows
    span (an incremental run's periods are a few of the matrix's months)."""
    used = windows[windows[:, 0] <= windows[:, 1]]
    lo, hi = (int(used[:, 0].min()), int(used[:, 1].max())) if len(used) else (0, -1)
    pairs = loaded.series(part)[level.mask, lo : hi + 1]
    windows = windows - lo
    whole = loaded.whole
    if part.kind in ("records", "sum"):
        return _window_sums(level.to_units(pairs), windows, whole)
    if part.kind == "months_with":
        return _window_sums((level.to_units(pairs) > 0).astype(float), windows, True)
    # communes_with: the communes whose sums over the window are above 0; at the province
    # level the commune's rows under that province (its pair), as the SQL reduction groups
    sums = _window_sums(pairs, windows, whole)
    if scope.level == "province":
        return level.to_units((sums > 0).astype(float))
    present = (level.to_communes(sums) > 0).astype(float)
    if scope.level == "commune":
        return present
    return present.sum(axis=0, keepdims=True) if len(level.units) else present[:0]


def _distinct_part(
    loaded: Loaded, part: Part, scope: Scope, windows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(unit codes, (units, windows)): distinct values per unit and window."""
    keys = loaded.keys[replace(part, period=None).id]
    # only the rows of the months the windows span (the frame is sorted by month): an
    # incremental run's periods are a few of them; a unit without any row in them would
    # have only zeros, which reduce_loaded leaves out anyway
    used = windows[windows[:, 0] <= windows[:, 1]]
    if len(used) and len(keys):
        t = month_index(keys["month"].to_numpy(dtype=np.int64), loaded.first_year)
        lo = int(np.searchsorted(t, int(used[:, 0].min()), "left"))
        hi = int(np.searchsorted(t, int(used[:, 1].max()), "right"))
        if lo > 0 or hi < len(keys):
            keys = keys.iloc[lo:hi]
    if scope.root_level == "province":
        keys = keys[keys["province_code"] == scope.root]
    elif scope.root_level == "commune":
        keys = keys[keys["commune_code"] == scope.root]
    if scope.orgs is not None and scope.level == "commune":
        keys = keys[keys["commune_code"].isin(list(scope.orgs))]
    if scope.level == "commune":
        unit_at, units = _groups(keys["commune_code"].to_numpy(dtype=object))
    elif scope.level == "province":
        unit_at, units = _groups(keys["province_code"].to_numpy(dtype=object))
    else:
        unit_at = np.zeros(len(keys), dtype=np.int64)
        units = np.array([scope.root] * (1 if len(keys) else 0), dtype=object)
    out = np.zeros((len(units), len(windows)))
    if not len(keys):
        return units, out
    key_at, key_codes = _groups(keys["key"].to_numpy(dtype=object))
    combined = unit_at * len(key_codes) + key_at
    t = month_index(keys["month"].to_numpy(dtype=np.int64), loaded.first_year)  # sorted
    for i, (a, b) in enumerate(windows.tolist()):
        if a > b:
            continue
        lo, hi = np.searchsorted(t, a, "left"), np.searchsorted(t, b, "right")
        if lo < hi:
            seen = np.unique(combined[lo:hi]) // len(key_codes)
            out[:, i] = np.bincount(seen, minlength=len(units))
    return units, out


def reduce_loaded(
    loaded: Loaded, parts: Sequence[Part], scope: Scope, periods: Sequence[Period]
) -> pd.DataFrame:
    """Every part's quantity (parts read for another period included) for the scope's units ×
    `periods`, from the matrix: a frame indexed by (org, period), one column per part id; rows
    whose quantities are all 0 are left out (absent means 0)."""
    unique: dict[str, Part] = {}
    for p in parts:
        if p.kind in DENSE_KINDS:
            unique.setdefault(p.id, p)
    level = _Level(loaded, scope)
    results: list[tuple[np.ndarray, np.ndarray]] = []
    for part in unique.values():
        windows = np.array(
            [loaded.window(p if part.period is None else shifted(p, part.period)) for p in periods],
            dtype=np.int64,
        ).reshape(-1, 2)
        if part.kind == "distinct":
            results.append(_distinct_part(loaded, part, scope, windows))
        else:
            results.append((level.units, _cube_part(loaded, level, part, scope, windows)))
    units = pd.Index(level.units)
    for codes, _matrix in results:
        if codes is not level.units:
            units = units.append(pd.Index(codes)).unique()
    table = np.zeros((len(units), len(periods), len(unique)))
    for j, (codes, matrix) in enumerate(results):
        rows = np.arange(len(codes)) if codes is level.units else units.get_indexer(codes)
        table[rows, :, j] = matrix
    flat = table.reshape(len(units) * len(periods), len(unique))
    keep = np.flatnonzero((flat != 0).any(axis=1))
    index = pd.MultiIndex.from_arrays(
        [
            np.asarray(units, dtype=object)[keep // max(len(periods), 1)].astype(str),
            np.array([p.code for p in periods], dtype=object)[keep % max(len(periods), 1)],
        ],
        names=["org", "period"],
    )
    return pd.DataFrame(flat[keep], index=index, columns=list(unique))


def key_rows(
    conn: Connection,
    part: Part,
    register: Callable[[Connection, str], set[Any]],
    *limits: ColumnElement[bool],
) -> pd.DataFrame:
    """The fact rows of a distinct part (key, commune_code, province_code, month), within
    `limits` if given; when the part names a status, only register ids with that status now
    (KT1: active establishments)."""
    assert part.field is not None
    table = FACT_TABLES[part.forms[0]]
    col = table.c[fact_column(part.field)]
    conds: list[ColumnElement[bool]] = [col.is_not(None), *limits]
    where = conditions(table, part.where)
    if where is not None:
        conds.append(where)
    rows = fetch(
        conn,
        select(col, table.c.commune_code, table.c.province_code, table.c.month).where(*conds),
    )
    frame = pd.DataFrame(rows, columns=["key", "commune_code", "province_code", "month"])
    if part.status is not None:
        frame = frame[frame["key"].isin(register(conn, part.status))]
    return frame.astype({"month": "int64"})
