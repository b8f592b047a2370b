"""Recomputing stored indicator values: every value of a programme, only the cells that
changed submissions touched, and the indicators whose other inputs changed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from sqlalchemy import Connection, delete, func, select

from pcmd.db.models import utcnow
from pcmd.db.tables import IV
from pcmd.masterdata.periods import Period, parse_period
from pcmd.masterdata.tree import OrgTree
from pcmd.pipeline import normalise
from pcmd.pipeline.cells import (
    PRESENCE,
    cell_quantities,
    compute_cells,
    is_stored,
    levels_of,
    to_records,
    write_values,
)
from pcmd.pipeline.cells_changed import moved
from pcmd.pipeline.cells_replace import complete_cells, replace_cells
from pcmd.pipeline.indicators import cube
from pcmd.pipeline.indicators.cube_changes import Changes
from pcmd.pipeline.indicators.cube_memory import Loaded
from pcmd.pipeline.indicators.digest import only_periods, period_digests
from pcmd.pipeline.indicators.engine import Context, compute_values
from pcmd.pipeline.indicators.model import Indicator, Programme
from pcmd.pipeline.indicators.part_periods import months_read


def recompute_all(
    conn: Connection,
    programme: Programme,
    slots: cube.SlotMap,
    tree: OrgTree,
    ctx: Context,
    periods: Sequence[Period],
    chosen: Sequence[Indicator] | None = None,
    *,
    cleared: bool = False,
    digests: dict[str, Any] | None = None,
    loaded: Loaded | None = None,
) -> int:
    """Every stored value of the programme (or of `chosen` indicators), from the cube held in
    memory (`loaded`, else read now); `cleared` when the caller has already emptied
    indicator_values. With `digests` (the programme's period fingerprints from the last run,
    updated in place), only the periods whose values differ from the stored ones are
    written again."""
    inds = list(chosen if chosen is not None else programme.indicators)
    if loaded is None:
        loaded = Loaded(conn, [PRESENCE, *(p for i in inds for p in i.parts())], slots)
    computed = []
    for level in levels_of(programme, tree):
        level_periods = [p for p in periods if is_stored(level, p)]
        values = compute_cells(
            conn,
            programme,
            slots,
            tree,
            ctx,
            level,
            level_periods,
            None,
            chosen,
            with_data_only=True,
            loaded=loaded,
        )
        computed.append((level, values))
    del loaded
    now = utcnow()
    if digests is not None and chosen is None:
        new: dict[str, Any] = {}
        for level, values in computed:
            new.update(period_digests(values, level))
        stale = None if cleared else _stale_periods(conn, programme.id, digests, new)
        digests.clear()
        digests.update(new)
        if stale is not None:
            _delete_periods(conn, programme.id, stale)
            computed = [(level, only_periods(values, stale)) for level, values in computed]
    else:
        if digests is not None:
            digests.clear()  # some indicators only: the fingerprints no longer hold
        if not cleared:
            cond = [IV.c.programme == programme.id]
            if chosen is not None:
                cond.append(IV.c.indicator.in_([i.id for i in chosen]))
            conn.execute(delete(IV).where(*cond))
    written = 0
    for _level, values in computed:
        written += write_values(conn, to_records(values, programme.id, now))
    return written


def _stale_periods(
    conn: Connection, programme: str, old: Mapping[str, Any], new: Mapping[str, Any]
) -> set[str]:
    """Periods to write again: a level's fingerprint differs, or the stored rows are not as
    many as the fingerprints say (rows written or deleted by anything else)."""
    stored = {
        str(period): int(count)
        for period, count in cube.fetch(
            conn,
            select(IV.c.period, func.count())
            .where(IV.c.programme == programme)
            .group_by(IV.c.period),
        )
    }
    expected: dict[str, int] = {}
    stale: set[str] = set()
    for key in set(old) | set(new):
        period = key.split(":", 1)[1]
        if key in new:
            expected[period] = expected.get(period, 0) + int(new[key][1])
        if key not in old or key not in new or list(old[key]) != list(new[key]):
            stale.add(period)
    for period in set(stored) | set(expected):
        if stored.get(period, 0) != expected.get(period, 0):
            stale.add(period)
    return stale


def _delete_periods(conn: Connection, programme: str, periods: Iterable[str]) -> None:
    chosen = sorted(periods)
    for start in range(0, len(chosen), 900):
        conn.execute(
            delete(IV).where(
                IV.c.programme == programme, IV.c.period.in_(chosen[start : start + 900])
            )
        )


def touched_cells(
    programme: Programme,
    tree: OrgTree,
    cells: Iterable[normalise.Cell],
    stored: Sequence[Period],
) -> dict[str, dict[str, set[str]]]:
    """level → period → org units whose stored values the changed commune-months affect."""
    by_month: dict[int, list[Period]] = {}
    shifts = {part.period for ind in programme.indicators for part in ind.parts() if part.period}
    for p in stored:
        for m in months_read(p, shifts):
            by_month.setdefault(m, []).append(p)
    levels = levels_of(programme, tree)
    covered = {lvl: set(units) for lvl, units in levels.items()}
    # the org units of each level per month, then each month's periods: a thousand new
    # records fall in two or three months
    orgs_of: dict[int, dict[str, set[str]]] = {}
    for commune, month, province in cells:
        units = orgs_of.setdefault(month, {"commune": set(), "province": set(), "country": set()})
        units["commune"].add(commune)
        units["province"].update((province, tree.parent.get(commune) or province))
        units["country"].add(tree.root)
    out: dict[str, dict[str, set[str]]] = {}
    for month, units in orgs_of.items():
        for level, orgs in units.items():
            chosen = orgs & covered.get(level, set())
            codes = [p.code for p in by_month.get(month, []) if is_stored(level, p)]
            if not chosen or not codes:
                continue
            by_period = out.setdefault(level, {})
            for code in codes:
                by_period.setdefault(code, set()).update(chosen)
    return out


def recompute_cells(
    conn: Connection,
    programme: Programme,
    slots: cube.SlotMap,
    tree: OrgTree,
    ctx: Context,
    touched: Mapping[str, Mapping[str, set[str]]],
    digests: dict[str, Any] | None = None,
    loaded: Loaded | None = None,
    changes: Changes | None = None,
) -> int:
    """Recompute and replace the stored values of the touched (level, period, org) cells:
    one reduction per level over the touched units and periods, then only the touched cells
    are kept, and of those only the rows that changed are written (cells_replace.py) — with
    what moved in the kept cube (`changes`), only the values that can have moved are sent
    (cells_changed.py); from the cube in memory when given (`loaded`), else from SQL. The
    touched periods' fingerprints (`digests`) are forgotten: the next full recompute writes
    those periods again."""
    written = 0
    now = utcnow()
    memo: dict[Any, Any] = {}  # lets the country reuse the provinces' commune counts
    for level in ("commune", "province", "country"):
        by_period = touched.get(level, {})
        cells = sorted((org, code) for code, orgs in by_period.items() for org in orgs)
        if not cells:
            continue
        periods = [parse_period(code) for code in sorted(by_period)]
        orgs = sorted({org for org, _code in cells})
        inds = list(programme.indicators)
        found, quantities = cell_quantities(
            conn,
            programme,
            slots,
            tree,
            ctx,
            level,
            periods,
            orgs,
            inds,
            cells=cells,
            with_data_only=True,
            memo=memo,
            loaded=loaded,
        )
        if digests is not None:
            for code in by_period:
                for key in [k for k in digests if k.endswith(f":{code}")]:
                    del digests[key]
        keep = None
        if changes is not None:
            # of the cells whose rows are all stored, only the values that can have moved —
            # the others are not computed at all
            keep = moved(found, inds, level, tree, slots, changes)
            complete = complete_cells(conn, programme.id, cells, len(inds))
            whole = np.asarray([c not in complete for c in found], dtype=bool)
            keep |= whole[None, :]
            some_ind, some_cell = keep.any(axis=1), keep.any(axis=0)
            keep = keep[np.ix_(some_ind, some_cell)]
            inds = [inds[i] for i in np.flatnonzero(some_ind)]
            computed = [found[j] for j in np.flatnonzero(some_cell)]
        else:
            computed = found
        values = compute_values(programme, computed, quantities, ctx, inds)
        present = set(found)
        records = to_records(values, programme.id, now, keep)
        written += replace_cells(conn, programme.id, cells, records, present)
    return written


def dependents(
    programme: Programme, old: Mapping[str, Any], new: Mapping[str, Any]
) -> tuple[list[Indicator], list[str]]:
    """Indicators whose inputs other than submissions changed, and why."""
    reasons: list[str] = []
    keys = {
        k
        for k in set(old["reference"]) | set(new["reference"])
        if old["reference"].get(k) != new["reference"].get(k)
    }
    targets = {
        k
        for k in set(old["targets"]) | set(new["targets"])
        if old["targets"].get(k) != new["targets"].get(k)
    }
    register = old["register"] != new["register"]
    chosen = []
    for ind in programme.indicators:
        parts = ind.parts()
        uses_keys = {p.key for p in parts if p.kind == "reference"} & keys
        uses_register = register and any(
            p.kind == "establishments" or (p.kind == "distinct" and p.status) for p in parts
        )
        if uses_keys or uses_register or ind.id in targets:
            chosen.append(ind)
    if keys:
        reasons.append(f"số liệu tham chiếu (reference data: {', '.join(sorted(keys))})")
    if targets:
        reasons.append(f"chỉ tiêu được giao (targets: {', '.join(sorted(targets))})")
    if register:
        reasons.append("danh sách cơ sở (the register)")
    return chosen, reasons
