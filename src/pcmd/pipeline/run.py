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
list (everything is normalised again), the programmes or their measures (the cube is rebuilt and
their values recomputed), the month (new periods begin, TT2's months grow), the day for
programmes with by-day parts (TG1/TG3's deadlines, BC2's ended months: by_day.py), reference
data (the indicators using that key), targets (that indicator), the register (indicators that
read it, and the inspections validated against it are validated again).

The parts live next door: the cursor in state.py, the inputs and their fingerprints in
inputs.py, which cells are stored and writing them in cells.py, recomputing them in recompute.py.

`full=True` re-validates and re-normalises every submission, rebuilds the cube and recomputes
every stored value; `reaggregate()` recomputes every stored value from the cube, rebuilding the
cube from the fact tables first when they or it moved since the full run or recompute that
left them (the "full recompute" of bench/pipeline.py). Values are computed from the cube held
in memory (indicators/cube_memory.py), which a long-lived process keeps between runs
(indicators/cube_kept.py); a process without it reads an incremental run's cells from SQL.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select

from pcmd.db.engine import write_connection
from pcmd.db.models import utcnow
from pcmd.db.tables import IV, SUB
from pcmd.errors import PipelineError
from pcmd.masterdata.periods import vietnam_today
from pcmd.masterdata.tree import load_tree
from pcmd.pipeline import normalise
from pcmd.pipeline.cells import PRESENCE, stored_periods
from pcmd.pipeline.indicators import cube, cube_kept
from pcmd.pipeline.indicators.cube_changes import Changes
from pcmd.pipeline.indicators.cube_memory import Loaded
from pcmd.pipeline.indicators.model import Measure
from pcmd.pipeline.inputs import cached, fingerprints, load_context
from pcmd.pipeline.programmes import active_programmes
from pcmd.pipeline.recompute import dependents, recompute_all, recompute_cells, touched_cells
from pcmd.pipeline.state import (
    STATE_VERSION,
    case_step_readers,
    changed_submissions,
    load_state,
    lock_state,
    register_readers,
    save_state,
)
from pcmd.pipeline.summary import PipelineSummary

log = logging.getLogger(__name__)

CUBE_REBUILT = "khối dữ liệu dựng lại từ bảng hoạt động (the cube rebuilt from the facts)"
SQLITE_CACHE_KIB = 131072  # 128 MB of page cache for the pipeline's connection


def _validate(
    conn: Connection, ids: Sequence[int] | None, today: dt.date, summary: PipelineSummary
) -> set[int]:
    """Run the validation rules when that module is present; the ids whose issues changed."""
    try:
        from pcmd.pipeline.validate.run import validate_submissions
    except ImportError:  # validation lands with its own issue; the pipeline works without it
        summary.validation = "unavailable"
        return set()
    result = validate_submissions(conn, ids, today=today)
    summary.validation = "ran"
    summary.validated = int(getattr(result, "validated", 0))
    return set(getattr(result, "changed", set()))


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
    """Rebuild the cube from the fact tables (when they moved: see the module's docstring) and
    recompute every stored value, validating and normalising nothing (submissions changed
    since the last run wait for the next one): what bench/pipeline.py times as the full
    recompute."""
    return _run(engine, full=False, today=today, reaggregate=True)


def _run(
    engine: Engine, *, full: bool, today: dt.date | None, reaggregate: bool
) -> PipelineSummary:
    started = time.perf_counter()
    today = today or vietnam_today()
    summary = PipelineSummary(full=full or reaggregate)
    with write_connection(engine) as conn:
        lock_state(conn)
        started_at = utcnow()  # after the lock: see changed_submissions
        if conn.dialect.name == "sqlite":
            # The pipeline reads a period's cube and fact index pages again and again; SQLite's
            # default 2 MB page cache makes it re-read them from the OS on every query (at a
            # million submissions an incremental run takes twice as long). The setting stays
            # with this pooled connection; memory is taken only as pages are read.
            conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        state = load_state(conn)
        token = uuid.uuid4().hex  # this run's: what a cube kept in memory is valid for
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
        tree = cached(("tree", database, prints["org_units"]), lambda: load_tree(conn))
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
            changed, cursor = changed_submissions(
                conn, state, everything=everything, started=started_at
            )
            summary.changed = len(changed)
            if everything:  # every submission is looked at again
                summary.changed = int(
                    conn.execute(select(func.count()).select_from(SUB)).scalar_one()
                )
            done()

            done = _timed(summary, "validate")
            checked = changed
            if not everything and state is not None and state.get("register") != prints["register"]:
                # records checked against the register (an unknown or closed establishment)
                # are checked again against the new one
                checked = sorted(set(changed) | set(register_readers(conn)))
                summary.reasons.append("danh sách cơ sở (the establishment register)")
            if not everything:
                # an edited case (its received date) is a new yardstick for its steps
                checked = sorted(set(checked) | set(case_step_readers(conn, changed)))
            extra = _validate(conn, None if everything else checked, today, summary)
            done()

            done = _timed(summary, "normalise")
            ids = None if everything else sorted(set(changed) | extra)
            # the communes' provinces, read again only when the org-unit list changed
            places = cached(
                ("places", database, prints["org_units"]), lambda: normalise.Places(conn)
            )
            result = normalise.normalise(conn, ids, places)
            summary.facts_written, summary.facts_removed = result.written, result.removed
            summary.unplaced = result.unplaced
            done()

        done = _timed(summary, "cube")
        rebuild = everything or state is None or state.get("slots") != slots
        facts: list[Any] | None = None
        if reaggregate and state is not None and state.get("slots") == slots:
            # The cube is kept in step with the facts by every run; rebuild it only when
            # they or it moved since the full run or recompute that last left them.
            facts = cube.facts_print(conn, slots)
            rebuild = state.get("facts") != facts
            if rebuild:
                summary.reasons.append(CUBE_REBUILT)
        if rebuild:
            if not everything:
                summary.reasons.append("đại lượng của các chương trình (the programmes' measures)")
            cube.rebuild_cube(conn, measures, slots, tree.root)
        else:
            cube.update_cube(conn, measures, slots, result.cells, tree.root)
            summary.cells = len({(c, m) for c, m, _p in result.cells})

        # The cube in memory, kept by this process from its last run when still valid
        # (cube_kept.py): brought up to date with the cells just rewritten, or read when
        # first needed.
        kept = cube_kept.take(database, ((state or {}).get("run"), prints["register"]))
        changes: Changes | None = None  # what moved in the kept cube
        if kept is not None and not rebuild:
            changes = cube_kept.patch(conn, kept, result.cells)
        else:
            kept = None
        parts = [
            PRESENCE,
            *(p for prog in programmes.values() for ind in prog.indicators for p in ind.parts()),
        ]
        loaded: list[Loaded] = []
        by_sql = False

        def in_memory() -> Loaded:
            if not loaded:
                loaded.append(cube_kept.load(conn, parts, slots, kept))
            return loaded[0]

        done()

        done = _timed(summary, "indicators")
        ctx = load_context(conn, tree, today, prints)
        # The period fingerprints of each programme's stored values (recompute.py): with
        # them, recomputing everything writes only the periods whose values changed.
        known = (state or {}).get("digests")
        digests: dict[str, dict[str, Any]] = {
            pid: dict((known or {}).get(pid, {})) for pid in programmes
        }
        cleared = rebuild and known is None
        if cleared:
            # Nothing to compare with: empty the table at once (SQLite truncates a DELETE
            # without WHERE, far faster than deleting a million rows by programme).
            conn.execute(delete(IV))
        old_digests: dict[str, str] = (state or {}).get("programmes", {})
        for programme in programmes.values():
            periods = stored_periods(programme, today)
            summary.programmes.append(programme.id)
            by_day = any(p.by_day for ind in programme.indicators for p in ind.parts())
            if (
                rebuild
                or reaggregate
                or old_digests.get(programme.id) != programme.digest
                or (state or {}).get("month") != month
                or (by_day and (state or {}).get("today") != today.isoformat())
            ):
                if not rebuild:
                    summary.reasons.append(
                        f"{programme.id}: "
                        + (
                            (
                                "tháng mới (a new month)"
                                if (state or {}).get("month") != month
                                else "ngày mới: hạn xử lý (a new day: deadlines)"
                            )
                            if old_digests.get(programme.id) == programme.digest
                            else "chương trình mới hoặc đã sửa (new or changed programme)"
                        )
                    )
                summary.values_written += recompute_all(
                    conn,
                    programme,
                    slots,
                    tree,
                    ctx,
                    periods,
                    cleared=cleared,
                    digests=digests[programme.id],
                    loaded=in_memory(),
                )
                continue
            assert state is not None
            chosen, why = dependents(programme, state, prints)
            if chosen:
                summary.reasons.extend(f"{programme.id}: {w}" for w in why)
                summary.values_written += recompute_all(
                    conn,
                    programme,
                    slots,
                    tree,
                    ctx,
                    periods,
                    chosen,
                    digests=digests[programme.id],
                    loaded=in_memory(),
                )
            touched = touched_cells(programme, tree, result.cells, periods)
            if touched:
                summary.values_written += recompute_cells(
                    conn,
                    programme,
                    slots,
                    tree,
                    ctx,
                    touched,
                    digests[programme.id],
                    # a process without the cube in memory reads the touched cells from SQL:
                    # cheaper than reading the whole cube for one run
                    loaded=in_memory() if kept is not None or loaded else None,
                    changes=changes,
                )
                by_sql = by_sql or not loaded
        if rebuild or reaggregate or set(old_digests) != set(programmes):
            # values of programmes no longer active (a scan of every stored value: not on
            # every incremental run, only when the programmes changed or all is recomputed)
            conn.execute(delete(IV).where(IV.c.programme.not_in(list(programmes))))
        done()
        if kept is None and not loaded and not by_sql:
            # Read once per process, in a run that had nothing else to do, so that the next
            # runs (a long-lived process runs every few seconds) read only what changed.
            done = _timed(summary, "cube_memory")
            in_memory()
            tree.commune_counts()  # what the values' denominators read, once per process
            done()
        # Incremental runs move the facts: the next full recompute rebuilds the cube.
        if everything and (facts is None or rebuild):
            facts = cube.facts_print(conn, slots)

        save_state(
            conn,
            {
                "version": STATE_VERSION,
                **cursor,
                **prints,
                "run": token,
                "slots": slots,
                "facts": facts,
                "month": month,
                "today": today.isoformat(),
                "programmes": {p.id: p.digest for p in programmes.values()},
                "digests": digests,
                "periods": {
                    p.id: [x.code for x in stored_periods(p, today)] for p in programmes.values()
                },
            },
        )
    # Committed: the cube in memory is what the database holds under the new token.
    memory = loaded[0] if loaded else kept
    if memory is not None:
        cube_kept.keep(database, (token, prints["register"]), memory)
    summary.seconds = time.perf_counter() - started
    log.info("pipeline: %s", summary.describe().replace("\n", " |"))
    return summary
