"""The in-memory cube (cube_memory.Loaded) kept by a long-lived process between pipeline runs
(the scheduler, the web server), so that an incremental run reads from SQL only the cube rows
and fact rows of the commune-months that changed.

It is valid only for the database state the run that kept it saved: each run saves a new
token in the pipeline's cursor and keeps the cube under that token once its transaction has
committed. A run that finds another token (another process ran, a run failed and rolled back,
the register changed the distinct counts' filter) builds the cube again from the database."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select

from pcmd.db.chunks import chunks
from pcmd.db.facts import FACT_TABLES
from pcmd.db.one_of import one_of
from pcmd.pipeline.indicators.by_day import load_rows
from pcmd.pipeline.indicators.cube import CUBE, ORG_CHUNK, SlotMap, fetch
from pcmd.pipeline.indicators.cube_changes import Changes
from pcmd.pipeline.indicators.cube_memory import Loaded, among, key_rows, month_index
from pcmd.pipeline.indicators.cube_scope import Scope
from pcmd.pipeline.indicators.model import Part

_KEPT: dict[str, tuple[Any, Loaded]] = {}  # database → (what it is valid for, the cube)


def take(database: str, valid_for: Any) -> Loaded | None:
    """The kept cube if it is valid for this state; it is removed either way (a run that
    fails part-way must not leave a cube it has changed)."""
    found = _KEPT.pop(database, None)
    if found is None or found[0] != valid_for:
        return None
    return found[1]


def keep(database: str, valid_for: Any, loaded: Loaded) -> None:
    _KEPT.clear()  # one database per process in practice; never hold two cubes
    _KEPT[database] = (valid_for, loaded)


def load(conn: Connection, parts: Sequence[Part], slots: SlotMap, kept: Loaded | None) -> Loaded:
    """The kept cube when it holds what these parts read, else the cube from the database."""
    if kept is not None and kept.slots == slots and kept.covers(parts):
        return kept
    return Loaded(conn, parts, slots)


def patch(conn: Connection, loaded: Loaded, cells: Iterable[tuple[str, int, str]]) -> Changes:
    """Bring the kept cube in line with the database after update_cube rewrote these
    (commune, month, province) cells: their cube rows and the fact rows of distinct and
    by-day parts are read again, in the batches update_cube used. Returns what moved."""
    changes = Changes()
    by_commune: dict[str, set[int]] = {}
    for commune, month, _province in cells:
        by_commune.setdefault(commune, set()).add(month)
    if not by_commune:
        return changes
    used = sorted(loaded.slot_row, key=loaded.slot_row.__getitem__)
    for batch in chunks(sorted(by_commune), ORG_CHUNK):
        months = sorted(set().union(*(by_commune[c] for c in batch)))
        rows = fetch(
            conn,
            select(CUBE.c.org_code, CUBE.c.province_code, CUBE.c.month, *CUBE.c[tuple(used)]).where(
                CUBE.c.level == "commune",
                one_of(conn.dialect.name, CUBE.c.org_code, batch),
                one_of(conn.dialect.name, CUBE.c.month, months),
            ),
        )
        _set_rows(loaded, batch, months, rows, used, changes)
        for part_id, frame in list(loaded.keys.items()):
            fresh = _key_rows(conn, loaded.parts[part_id], batch, months, loaded)
            loaded.keys[part_id] = _replace_sorted(part_id, frame, batch, months, fresh, changes)
        read: dict[Any, pd.DataFrame] = {}  # parts that differ only in what they count
        for part_id, frame in list(loaded.rows.items()):
            part = loaded.parts[part_id]
            same = (part.forms[0], part.where, part.kind == "deadline")
            if same not in read:
                got = load_rows(
                    conn, part, Scope("commune", "", "country", batch), (min(months), max(months))
                )
                read[same] = got[got["month"].isin(months)]
            fresh = read[same]
            stale = _among(frame, batch, months)
            changes.rows(part_id, frame[stale], fresh, list(frame.columns[3:]))
            loaded.rows[part_id] = _replace(frame, stale, fresh)
    return changes


def _set_rows(
    loaded: Loaded,
    communes: Sequence[str],
    months: Sequence[int],
    rows: list[tuple[Any, ...]],
    columns: Sequence[str],
    changes: Changes,
) -> None:
    """The matrix's cells of communes × months set to the rows read (zero where none); the
    slots that moved noted in `changes`."""
    all_months = np.asarray([*months, *(r[2] for r in rows)], dtype=np.int64)
    loaded.grow(int(all_months.min()), int(all_months.max()))
    t = month_index(np.asarray(months, dtype=np.int64), loaded.first_year)
    before = np.flatnonzero(among(loaded.pair_commune, communes))
    old = loaded.values[:, before[:, None], t[None, :]]  # a copy (fancy indexing)
    if len(before):
        loaded.values[:, before[:, None], t[None, :]] = 0.0
    if rows:
        at = np.asarray([loaded.pair(str(r[0]), str(r[1])) for r in rows], dtype=np.int64)
        rt = month_index(np.asarray([r[2] for r in rows], dtype=np.int64), loaded.first_year)
        block = np.nan_to_num(np.asarray([r[3:] for r in rows], dtype=float)).T
        loaded.values[:, at, rt] = block
        if loaded.whole and not np.array_equal(block, np.trunc(block)):
            loaded.whole = False
    # pairs added for new rows come after every existing one: `before` leads `after`
    after = np.flatnonzero(among(loaded.pair_commune, communes))
    new = loaded.values[:, after[:, None], t[None, :]]
    was = np.zeros_like(new)
    was[:, : len(before)] = old
    pairs = list(zip(loaded.pair_commune[after], loaded.pair_province[after], strict=True))
    changes.slots(was, new, columns, pairs, months)
    loaded.refresh_series(after, t)


def _key_rows(
    conn: Connection, part: Part, communes: Sequence[str], months: Sequence[int], loaded: Loaded
) -> pd.DataFrame:
    table = FACT_TABLES[part.forms[0]]
    return key_rows(
        conn,
        part,
        loaded.register,
        one_of(conn.dialect.name, table.c.commune_code, communes),
        one_of(conn.dialect.name, table.c.month, months),
    )


def _among(frame: pd.DataFrame, communes: Sequence[str], months: Sequence[int]) -> Any:
    """Which rows of `frame` are of communes × months."""
    return frame["commune_code"].isin(list(communes)) & frame["month"].isin(list(months))


def _replace(frame: pd.DataFrame, stale: Any, fresh: pd.DataFrame) -> pd.DataFrame:
    """The `stale` rows of `frame` replaced by `fresh`."""
    out = pd.concat([frame[~stale], fresh], ignore_index=True) if len(fresh) else frame[~stale]
    return out.reset_index(drop=True)


def _replace_sorted(
    part_id: str,
    frame: pd.DataFrame,
    communes: Sequence[str],
    months: Sequence[int],
    fresh: pd.DataFrame,
    changes: Changes,
) -> pd.DataFrame:
    """The rows of communes × months in a frame sorted by month replaced by `fresh` (noted
    in `changes`), the frame still sorted: only the slice of those months is looked at and
    sorted again (the frame holds every inspection of the register, 278,000 at a million)."""
    at = frame["month"].to_numpy()
    lo = int(np.searchsorted(at, min(months), "left"))
    hi = int(np.searchsorted(at, max(months), "right"))
    middle = frame.iloc[lo:hi]
    stale = _among(middle, communes, months)
    changes.rows(part_id, middle[stale], fresh, ["key"])
    kept = middle[~stale]
    if len(fresh):
        kept = pd.concat([kept, fresh], ignore_index=True).sort_values("month", kind="stable")
    return pd.concat([frame.iloc[:lo], kept, frame.iloc[hi:]], ignore_index=True)
