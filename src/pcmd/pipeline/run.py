"""`pcmd pipeline run`: validate what changed, normalise it, and bring the indicators up to date.

One write transaction does everything, the cursor included, so a run is all or nothing:

1. What changed: submissions whose `updated_at` moved since the last run (the cursor, kept in
   sync_state "pipeline", is a high-water mark plus the ids seen at it). Anything that changes
   whether or how a submission counts — an edit, a review decision, a deletion, an accepted
   validation issue — must move `submissions.updated_at`.
2. Validation of those submissions (pipeline/validate.py, when present), then normalisation of
   them and of those whose issues changed into the fact tables (normalise.py).
3. The monthly cube rows of the commune-months they touched (cube.py).
4. The stored indicator values of those communes, their province and the country, for the
   periods of those months (indicators.py) — for every active programme.

Changes that are not submissions are caught by fingerprints kept in the cursor: the org-unit
list (everything is normalised again), the programmes or their measures (the cube is rebuilt
and their values recomputed), the month (new periods begin, TT2's months grow), reference data
(the indicators using that key), targets (that indicator), the register (indicators that read
it).

Stored values (`indicator_values`): for each programme, every month, quarter and year from the
first year of its period up to today, and its period itself, for the country and its provinces
(or the plan's province); for the communes, their years and the programme period — and only
the cells that have at least one counted record. A cell without any has every numerator 0 and
its values follow from the denominators and targets alone: query.py computes it on reading, as
it computes any period that is not stored (a commune's month or quarter, `2022-2024`), from the
same cube with the same engine. (All cells of all common periods would be 3,321 communes × 103
periods × 15 indicators, 5 million rows for the country, nine tenths of them communes' months
and quarters; SQLite writes about 250,000 rows a second.)

`full=True` re-validates and re-normalises every submission, rebuilds the cube and recomputes
every stored value; `reaggregate()` only rebuilds the cube and the values from the fact tables
(the "full recompute" of bench/pipeline.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from sqlalchemy import Connection, Engine, delete, func, select, update
from sqlalchemy.dialects import postgresql

from pcmd.db.engine import write_connection
from pcmd.db.facts import FACT_FIELDS
from pcmd.db.models import (
    utcnow,
)
from pcmd.db.tables import EST, IV, ORG, REF, STATE, SUB, TGT
from pcmd.errors import PipelineError
from pcmd.masterdata.periods import Period, months_between, parse_period
from pcmd.masterdata.tree import OrgTree, load_tree
from pcmd.pipeline import normalise
from pcmd.pipeline.indicators import cube
from pcmd.pipeline.indicators import engine as indicators
from pcmd.pipeline.indicators.engine import Context, Reference
from pcmd.pipeline.indicators.programme import (
    Indicator,
    Measure,
    Part,
    Programme,
)
from pcmd.pipeline.programmes import active_programmes

log = logging.getLogger(__name__)

STATE_SOURCE = "pipeline"  # the sync_state row of the pipeline's cursor (a reserved name)
STATE_VERSION = 2  # 2: the cube stored by month (migration 0005) must be rebuilt
# PostgreSQL commits concurrent transactions out of `updated_at` order: rows stamped up to this
# many seconds before the newest one seen are read again next run (and skipped if unchanged).
# SQLite has one writer at a time, which stamps inside its write transaction: no lag needed.
LAG = {"sqlite": dt.timedelta(0), "postgresql": dt.timedelta(seconds=30)}
VIETNAM = dt.timezone(dt.timedelta(hours=7), "ICT")
SQLITE_CACHE_KIB = 131072  # 128 MB of page cache for the pipeline's connection

IV_COLUMNS = (
    "programme",
    "indicator",
    "org_code",
    "period",
    "numerator",
    "denominator",
    "value",
    "target",
    "status",
    "computed_at",
)


def vietnam_today() -> dt.date:
    """Today in Vietnam (one time zone, no daylight saving), whatever zone the server is in."""
    return dt.datetime.now(VIETNAM).date()


@dataclass
class PipelineSummary:
    """What a run did."""

    full: bool = False
    reasons: list[str] = field(default_factory=list)  # why parts were recomputed in full
    changed: int = 0  # submissions whose updated_at moved
    validation: str = "unavailable"  # ran | unavailable
    validated: int = 0
    facts_written: int = 0
    facts_removed: int = 0
    unplaced: int = 0  # counted, but without a known commune or an activity date
    cells: int = 0  # commune-months recomputed in the cube
    values_written: int = 0
    programmes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        mode = "toàn bộ (full)" if self.full else "phần thay đổi (incremental)"
        validation = (
            f"kiểm tra {self.validated} phiếu (validated)"
            if self.validation == "ran"
            else "chưa có bước kiểm tra (validation not available)"
        )
        lines = [
            f"Pipeline {mode}: {self.changed} phiếu thay đổi (changed submissions), {validation}",
            f"  bảng hoạt động (facts): +{self.facts_written} dòng ghi (written), "
            f"-{self.facts_removed} bỏ (removed), {self.unplaced} không xác định được xã/ngày "
            "(unplaced)",
            f"  chỉ tiêu (indicator values): {self.values_written} giá trị ghi (written) cho "
            f"{', '.join(self.programmes)}; {self.cells} xã-tháng (commune-months) tính lại",
        ]
        if self.reasons:
            lines.append(
                f"  tính lại toàn bộ vì (recomputed in full because): {'; '.join(self.reasons)}"
            )
        lines.append(f"  thời gian (time): {self.seconds:.2f} s")
        return "\n".join(lines)


# --- inputs ------------------------------------------------------------------------------------

# Inputs read again by every run of a long-lived process (the scheduler, the web server), kept
# while their fingerprint — computed by every run anyway — says they have not changed.
_CACHE: dict[tuple[Any, ...], Any] = {}
_CACHE_LIMIT = 64


def _cached(key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
    hit = _CACHE.get(key)
    if hit is None:
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        hit = _CACHE[key] = make()
    return hit


def load_context(
    conn: Connection,
    tree: OrgTree,
    today: dt.date,
    prints: Mapping[str, Any] | None = None,
) -> Context:
    """The reference data, register counts and imported targets; with the run's
    fingerprints, taken from this process's cache when they have not changed."""
    fetch = cube.fetch
    database = conn.engine.url.render_as_string(hide_password=True)

    def reference() -> Reference:
        return Reference(
            fetch(conn, select(REF.c.org_code, REF.c.year, REF.c.key, REF.c.value)), tree
        )

    def register() -> dict[str, dict[str, int]]:
        rows = fetch(
            conn,
            select(EST.c.commune_code, EST.c.status, func.count()).group_by(
                EST.c.commune_code, EST.c.status
            ),
        )
        return indicators.register_counts(rows, tree)

    def targets() -> dict[tuple[str, str, str], float]:
        return indicators.imported_targets(
            fetch(conn, select(TGT.c.indicator, TGT.c.org_code, TGT.c.period, TGT.c.target))
        )

    if prints is None:
        return Context(tree, reference(), register(), targets(), today)
    units = prints["org_units"]
    return Context(
        tree=tree,
        reference=_cached(("reference", database, units, repr(prints["reference"])), reference),
        establishments=_cached(("register", database, units, prints["register"]), register),
        targets=_cached(("targets", database, repr(prints["targets"])), targets),
        today=today,
    )


def _hash(value: object) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()


def _sums(conn: Connection, table: Any, group: Any, value: Any) -> dict[str, str]:
    """Per group, a hash of aggregates that any import changes: how many rows, the newest id,
    and sums of the values weighted by row id and year/period length. Cheap to read on every
    run, unlike the rows themselves (tens of thousands of reference values)."""
    rows = cube.fetch(
        conn,
        select(
            group,
            func.count(),
            func.max(table.c.id),
            func.sum(value),
            func.sum(value * table.c.id),
        ).group_by(group),
    )
    return {
        str(r[0]): _hash([r[1], r[2], round(float(r[3] or 0), 6), round(float(r[4] or 0), 6)])
        for r in rows
    }


def fingerprints(conn: Connection) -> dict[str, Any]:
    """What the stored values depend on besides submissions, each as a hash."""
    org_units = _hash(
        cube.fetch(
            conn,
            select(
                ORG.c.code, ORG.c.level, ORG.c.parent_code, ORG.c.valid_from, ORG.c.valid_to
            ).order_by(ORG.c.code, ORG.c.valid_from),
        )
    )
    # The register can be large too: its count, statuses and latest change (every import and
    # acceptance stamps updated_at) stand for it.
    register = cube.fetch(
        conn,
        select(
            func.count(),
            func.count().filter(EST.c.status == "active"),
            func.max(EST.c.updated_at),
        ),
    )
    return {
        "org_units": org_units,
        "reference": _sums(conn, REF, REF.c.key, REF.c.value * (REF.c.year - 1900)),
        "targets": _sums(conn, TGT, TGT.c.indicator, TGT.c.target),
        "register": _hash([str(x) for x in register[0]]),
    }


# --- which cells are stored ----------------------------------------------------------------


def stored_periods(programme: Programme, today: dt.date) -> list[Period]:
    """Months, quarters and years from the first year of the programme period up to today,
    and the programme period itself once it has begun."""
    period = parse_period(programme.period)
    start = dt.date(period.start.year, 1, 1)
    if today < start:
        return []
    months = [parse_period(m) for m in months_between(start, today)]
    quarters = sorted(
        {parse_period(f"{m.code[:4]}Q{(int(m.code[4:]) - 1) // 3 + 1}").code for m in months}
    )
    years = sorted({m.code[:4] for m in months})
    out = [*months, *(parse_period(q) for q in quarters), *(parse_period(y) for y in years)]
    if period.start <= today and period.kind == "years":
        out.append(period)
    return out


def levels_of(programme: Programme, tree: OrgTree) -> dict[str, list[str]]:
    """The org units of each level the programme covers."""
    root = programme.org
    root_level = tree.level.get(root, "country")
    out: dict[str, list[str]] = {}
    if root_level == "country":
        out["country"] = [root]
    out["province"] = tree.under(root, "province") if root_level != "commune" else []
    out["commune"] = tree.under(root, "commune")
    return {k: v for k, v in out.items() if v}


def is_stored(level: str, period: Period) -> bool:
    """Communes keep their years and the programme period; their months and quarters, like
    any period not stored, are computed on reading (query.py)."""
    return level != "commune" or period.kind in ("year", "years")


# --- computing and writing values -----------------------------------------------------------


# Any counted record at all: a cell without one has every numerator 0, so it is not stored
# and query.py computes it from denominators and targets alone.
PRESENCE = Part("records", forms=tuple(FACT_FIELDS))


def compute_cells(
    conn: Connection,
    programme: Programme,
    slots: cube.SlotMap,
    tree: OrgTree,
    ctx: Context,
    level: str,
    periods: Sequence[Period],
    orgs: Sequence[str] | None,
    chosen: Sequence[Indicator] | None = None,
    *,
    with_data_only: bool = False,
    cells: Sequence[tuple[str, str]] | None = None,
    loaded: cube.Loaded | None = None,
    memo: dict[Any, Any] | None = None,
) -> indicators.Values:
    """The values of the programme (or `chosen` indicators) for `orgs` of `level` (None: all
    the programme covers) × `periods` — or only the `cells` (org, period) among them; with
    `with_data_only`, only the cells that have at least one counted record."""
    units = levels_of(programme, tree).get(level, [])
    if orgs is not None:
        wanted = set(orgs)
        units = [u for u in units if u in wanted]
    if not units or not periods:
        return indicators.compute_values(programme, [], indicators.no_quantities(), ctx, chosen)
    inds = list(chosen if chosen is not None else programme.indicators)
    parts = [PRESENCE, *(p for ind in inds for p in ind.parts())]
    root_level = tree.level.get(programme.org, "country")
    scope = cube.Scope(level, programme.org, root_level, None if orgs is None else units)
    quantities = (
        cube.reduce(conn, parts, slots, scope, periods, memo)
        if loaded is None
        else cube.reduce_loaded(loaded, parts, scope, periods)
    )
    if cells is None:
        cells = [(u, p.code) for u in units for p in periods]
    if with_data_only:
        present = set(quantities.index[quantities[PRESENCE.id] > 0])
        cells = [c for c in cells if c in present]
    return indicators.compute_values(programme, cells, quantities, ctx, inds)


def _nullable(values: Any) -> list[Any]:
    """Floats with NaN as None, as Python objects (vectorised: this runs on every row)."""
    array = np.asarray(values, dtype=float)
    out = array.astype(object)
    out[np.isnan(array)] = None
    return list(out.tolist())


def _records(values: indicators.Values, programme: str, now: dt.datetime) -> list[tuple[Any, ...]]:
    """Rows for indicator_values in key order (period, org, indicator): inserting in the
    order of the unique index keeps SQLite's b-tree appends sequential."""
    n, k = len(values.orgs), len(values.indicators)
    if n == 0 or k == 0:
        return []
    cells = np.lexsort((values.orgs.astype(str), values.periods.astype(str)))
    inds = np.argsort(np.array(values.indicators))

    def block(array: np.ndarray) -> np.ndarray:
        # (indicators, cells) → cell by cell, the indicators of each cell in a row
        return np.asarray(array[np.ix_(inds, cells)].T.ravel())

    total = n * k
    return list(
        zip(
            [programme] * total,
            np.tile(np.array(values.indicators, dtype=object)[inds], n).tolist(),
            np.repeat(values.orgs[cells], k).tolist(),
            np.repeat(values.periods[cells], k).tolist(),
            _nullable(block(values.numerator)),
            _nullable(block(values.denominator)),
            _nullable(block(values.value)),
            _nullable(block(values.target)),
            block(values.status).tolist(),
            [now] * total,
            strict=True,
        )
    )


def write_values(conn: Connection, records: list[tuple[Any, ...]]) -> int:
    """Insert indicator rows fast: executemany on SQLite, COPY on PostgreSQL. The programme
    and the time are the same for every row of one call (the last two fields)."""
    if not records:
        return 0
    programme, now = records[0][0], records[0][-1]
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    if conn.dialect.name == "postgresql":
        copy_sql = f"COPY indicator_values ({', '.join(IV_COLUMNS)}) FROM STDIN"
        with cast(Any, dbapi).cursor() as cur, cur.copy(copy_sql) as copy:
            for rec in records:
                copy.write_row(rec)
        return len(records)
    # SQLite keeps DateTime as text, written the way SQLAlchemy reads it back. Constants go in
    # the statement, so each row binds only its own eight values.
    stamp = now.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")
    sql = (
        f"INSERT INTO indicator_values ({', '.join(IV_COLUMNS)}) VALUES "  # noqa: S608 - quoted
        f"({_sql_text(programme)}, ?, ?, ?, ?, ?, ?, ?, ?, {_sql_text(stamp)})"
    )
    cur = cast(Any, dbapi).cursor()
    try:
        cur.executemany(sql, (rec[1:-1] for rec in records))
    finally:
        cur.close()
    return len(records)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _delete_cells(
    conn: Connection,
    programme: str,
    cells: Iterable[tuple[str, str]],
    chosen: Sequence[Indicator] | None,
) -> None:
    by_period: dict[str, list[str]] = {}
    for org, period in cells:
        by_period.setdefault(period, []).append(org)
    for period, orgs in by_period.items():
        for start in range(0, len(orgs), 900):
            cond = [
                IV.c.programme == programme,
                IV.c.period == period,
                IV.c.org_code.in_(orgs[start : start + 900]),
            ]
            if chosen is not None:
                cond.append(IV.c.indicator.in_([i.id for i in chosen]))
            conn.execute(delete(IV).where(*cond))


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
) -> int:
    """Every stored value of the programme (or of `chosen` indicators), from the cube held in
    memory; `cleared` when the caller has already emptied indicator_values."""
    inds = list(chosen if chosen is not None else programme.indicators)
    loaded = cube.Loaded(conn, [PRESENCE, *(p for i in inds for p in i.parts())], slots)
    computed = []
    for level in levels_of(programme, tree):
        level_periods = [p for p in periods if is_stored(level, p)]
        computed.append(
            compute_cells(
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
        )
    del loaded
    if not cleared:
        cond = [IV.c.programme == programme.id]
        if chosen is not None:
            cond.append(IV.c.indicator.in_([i.id for i in chosen]))
        conn.execute(delete(IV).where(*cond))
    now = utcnow()
    written = 0
    for values in computed:
        written += write_values(conn, _records(values, programme.id, now))
    return written


def touched_cells(
    programme: Programme,
    tree: OrgTree,
    cells: Iterable[normalise.Cell],
    stored: Sequence[Period],
) -> dict[str, dict[str, set[str]]]:
    """level → period → org units whose stored values the changed commune-months affect."""
    by_month: dict[int, list[Period]] = {}
    for p in stored:
        for m in p.months():
            by_month.setdefault(int(m), []).append(p)
    levels = levels_of(programme, tree)
    covered = {lvl: set(units) for lvl, units in levels.items()}
    out: dict[str, dict[str, set[str]]] = {}
    for commune, month, province in cells:
        units = {
            "commune": {commune},
            "province": {province, tree.parent.get(commune) or province},
            "country": {tree.root},
        }
        for period in by_month.get(month, []):
            for level, orgs in units.items():
                if not is_stored(level, period):
                    continue
                for org in orgs:
                    if org in covered.get(level, ()):
                        out.setdefault(level, {}).setdefault(period.code, set()).add(org)
    return out


def recompute_cells(
    conn: Connection,
    programme: Programme,
    slots: cube.SlotMap,
    tree: OrgTree,
    ctx: Context,
    touched: Mapping[str, Mapping[str, set[str]]],
) -> int:
    """Recompute and replace the stored values of the touched (level, period, org) cells:
    one reduction per level over the touched units and periods, then only the touched cells
    are kept."""
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
        values = compute_cells(
            conn,
            programme,
            slots,
            tree,
            ctx,
            level,
            periods,
            orgs,
            cells=cells,
            with_data_only=True,
            memo=memo,
        )
        _delete_cells(conn, programme.id, cells, None)
        written += write_values(conn, _records(values, programme.id, now))
    return written


# --- the run ---------------------------------------------------------------------------------


def _aware(moment: Any) -> dt.datetime:
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    assert isinstance(moment, dt.datetime)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _changed(
    conn: Connection, state: Mapping[str, Any] | None, *, everything: bool, started: dt.datetime
) -> tuple[list[int], dict[str, Any]]:
    """Ids of submissions whose updated_at moved since the cursor, and the new cursor part.

    SQLite has one writer at a time and this run holds the write lock since before `started`:
    every row stamped before then is committed and visible, every later one will be stamped
    later, so the cursor is simply `started`. PostgreSQL commits concurrent transactions out of
    stamp order: rows stamped within LAG before the run are read again next time, and the ids
    seen among them (with their stamps) skip those already processed.
    """
    if conn.dialect.name != "postgresql":
        hw = None if everything or not state or not state.get("hw") else _aware(state["hw"])
        ids: list[int] = []
        if hw is not None:
            ids = [r[0] for r in cube.fetch(conn, select(SUB.c.id).where(SUB.c.updated_at > hw))]
        return ids, {"hw": started.isoformat(), "seen": {}}
    lag = LAG.get(conn.dialect.name, dt.timedelta(seconds=30))
    window = started - lag
    hw = None if everything or not state or not state.get("hw") else _aware(state["hw"])
    seen: dict[str, str] = dict(state.get("seen", {})) if state and hw is not None else {}
    since = window if hw is None else min(hw, window)
    rows = [
        (i, _aware(at))
        for i, at in cube.fetch(
            conn, select(SUB.c.id, SUB.c.updated_at).where(SUB.c.updated_at >= since)
        )
    ]
    changed = [] if hw is None else [i for i, at in rows if seen.get(str(i)) != at.isoformat()]
    new_hw = window if hw is None else max(hw, window)
    keep = {str(i): at.isoformat() for i, at in rows if at >= new_hw}
    return changed, {"hw": new_hw.isoformat(), "seen": keep}


def _validate(
    conn: Connection, ids: Sequence[int] | None, today: dt.date, summary: PipelineSummary
) -> set[int]:
    """Run the validation rules when that module is present; the ids whose issues changed."""
    try:
        from pcmd.pipeline.validate.runner import validate_submissions
    except ImportError:  # validation lands with its own issue; the pipeline works without it
        summary.validation = "unavailable"
        return set()
    result = validate_submissions(conn, ids, today=today)
    summary.validation = "ran"
    summary.validated = int(getattr(result, "validated", 0))
    return set(getattr(result, "changed", set()))


def _load_state(conn: Connection) -> dict[str, Any] | None:
    row = conn.execute(select(STATE.c.cursor).where(STATE.c.source == STATE_SOURCE)).first()
    if row is None or not isinstance(row.cursor, dict):
        return None
    return row.cursor if row.cursor.get("version") == STATE_VERSION else None


def load_state(engine_or_conn: Engine | Connection) -> dict[str, Any] | None:
    """The pipeline's cursor (None before the first run)."""
    if isinstance(engine_or_conn, Connection):
        return _load_state(engine_or_conn)
    with engine_or_conn.connect() as conn:
        return _load_state(conn)


def _save_state(conn: Connection, cursor: dict[str, Any]) -> None:
    now = utcnow()
    values = {"cursor": cursor, "last_success_at": now, "updated_at": now, "last_error": None}
    done = conn.execute(update(STATE).where(STATE.c.source == STATE_SOURCE).values(**values))
    if done.rowcount == 0:
        conn.execute(STATE.insert().values(source=STATE_SOURCE, **values))


def _dependents(
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


def _timed(summary: PipelineSummary, name: str) -> Callable[[], None]:
    start = time.perf_counter()

    def done() -> None:
        summary.timings[name] = summary.timings.get(name, 0.0) + time.perf_counter() - start

    return done


def run_pipeline(
    engine: Engine, *, full: bool = False, today: dt.date | None = None
) -> PipelineSummary:
    """Validate, normalise and aggregate what changed since the last run (everything with
    `full`), in one transaction; returns what it did. Safe to call from several processes: on
    SQLite runs queue on the writer lock, on PostgreSQL on the cursor row."""
    return _run(engine, full=full, today=today, reaggregate=False)


def reaggregate(engine: Engine, *, today: dt.date | None = None) -> PipelineSummary:
    """Rebuild the cube from the fact tables and recompute every stored value, validating and
    normalising nothing (submissions changed since the last run wait for the next one): what
    bench/pipeline.py times as the full recompute."""
    return _run(engine, full=False, today=today, reaggregate=True)


def _run(
    engine: Engine, *, full: bool, today: dt.date | None, reaggregate: bool
) -> PipelineSummary:
    started = time.perf_counter()
    today = today or vietnam_today()
    summary = PipelineSummary(full=full or reaggregate)
    with write_connection(engine) as conn:
        _lock_state(conn)
        started_at = utcnow()  # after the lock: see _changed
        if conn.dialect.name == "sqlite":
            # The pipeline reads a period's cube and fact index pages again and again; SQLite's
            # default 2 MB page cache makes it re-read them from the OS on every query (at a
            # million submissions an incremental run takes twice as long). The setting stays
            # with this pooled connection; memory is taken only as pages are read.
            conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        state = _load_state(conn)
        programmes = active_programmes(conn)
        measures: list[Measure] = []
        seen_keys: set[str] = set()
        for m in [*PRESENCE.measures(), *(m for p in programmes.values() for m in p.measures())]:
            if m.key not in seen_keys:
                seen_keys.add(m.key)
                measures.append(m)
        slots = cube.assign_slots(measures)
        prints = fingerprints(conn)
        database = conn.engine.url.render_as_string(hide_password=True)
        tree = _cached(("tree", database, prints["org_units"]), lambda: load_tree(conn))
        month = today.year * 100 + today.month

        if reaggregate:
            if state is None:
                raise PipelineError(
                    "Chưa chạy pipeline lần nào (the pipeline has never run): run `pcmd "
                    "pipeline run` first."
                )
            summary.reasons.append("tính lại từ bảng hoạt động (re-aggregation)")
            changed: list[int] = []
            cursor = {"hw": state.get("hw"), "seen": state.get("seen", {})}
            result = normalise.NormaliseResult()
            everything = True
        else:
            everything = full or state is None
            if state is not None and state.get("org_units") != prints["org_units"]:
                everything = True
                summary.reasons.append("danh mục đơn vị hành chính (the org-unit list)")
            if state is None:
                summary.reasons.append("lần chạy đầu (first run)")
            summary.full = everything

            done = _timed(summary, "changes")
            changed, cursor = _changed(conn, state, everything=everything, started=started_at)
            summary.changed = len(changed)
            if everything:  # every submission is looked at again
                summary.changed = int(
                    conn.execute(select(func.count()).select_from(SUB)).scalar_one()
                )
            done()

            done = _timed(summary, "validate")
            extra = _validate(conn, None if everything else changed, today, summary)
            done()

            done = _timed(summary, "normalise")
            ids = None if everything else sorted(set(changed) | extra)
            result = normalise.normalise(conn, ids)
            summary.facts_written, summary.facts_removed = result.written, result.removed
            summary.unplaced = result.unplaced
            done()

        done = _timed(summary, "cube")
        rebuild = everything or state is None or state.get("slots") != slots
        if rebuild:
            if not everything:
                summary.reasons.append("đại lượng của các chương trình (the programmes' measures)")
            cube.rebuild_cube(conn, measures, slots, tree.root)
        else:
            cube.update_cube(conn, measures, slots, result.cells, tree.root)
            summary.cells = len({(c, m) for c, m, _p in result.cells})
        done()

        done = _timed(summary, "indicators")
        ctx = load_context(conn, tree, today, prints)
        if rebuild:
            # Every programme is recomputed: empty the table at once (SQLite truncates a
            # DELETE without WHERE, far faster than deleting a million rows by programme).
            conn.execute(delete(IV))
        old_digests: dict[str, str] = (state or {}).get("programmes", {})
        for programme in programmes.values():
            periods = stored_periods(programme, today)
            summary.programmes.append(programme.id)
            if (
                rebuild
                or old_digests.get(programme.id) != programme.digest
                or (state or {}).get("month") != month
            ):
                if not rebuild:
                    summary.reasons.append(
                        f"{programme.id}: "
                        + (
                            "tháng mới (a new month)"
                            if old_digests.get(programme.id) == programme.digest
                            else "chương trình mới hoặc đã sửa (new or changed programme)"
                        )
                    )
                summary.values_written += recompute_all(
                    conn, programme, slots, tree, ctx, periods, cleared=rebuild
                )
                continue
            assert state is not None
            chosen, why = _dependents(programme, state, prints)
            if chosen:
                summary.reasons.extend(f"{programme.id}: {w}" for w in why)
                summary.values_written += recompute_all(
                    conn, programme, slots, tree, ctx, periods, chosen
                )
            touched = touched_cells(programme, tree, result.cells, periods)
            summary.values_written += recompute_cells(conn, programme, slots, tree, ctx, touched)
        conn.execute(delete(IV).where(IV.c.programme.not_in(list(programmes))))
        done()

        _save_state(
            conn,
            {
                "version": STATE_VERSION,
                **cursor,
                **prints,
                "slots": slots,
                "month": month,
                "today": today.isoformat(),
                "programmes": {p.id: p.digest for p in programmes.values()},
                "periods": {
                    p.id: [x.code for x in stored_periods(p, today)] for p in programmes.values()
                },
            },
        )
    summary.seconds = time.perf_counter() - started
    log.info("pipeline: %s", summary.describe().replace("\n", " |"))
    return summary


def _lock_state(conn: Connection) -> None:
    """Serialise runs: on PostgreSQL, lock the cursor row (created if missing) for the
    transaction; SQLite's writer lock already does it."""
    if conn.dialect.name != "postgresql":
        return
    stmt = (
        postgresql.insert(STATE)
        .values(source=STATE_SOURCE, cursor={}, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["source"])
    )
    conn.execute(stmt)
    conn.execute(select(STATE.c.source).where(STATE.c.source == STATE_SOURCE).with_for_update())
