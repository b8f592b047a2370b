"""The run's inputs besides submissions: reference data, register counts and targets, their
fingerprints, and a per-process cache of them keyed by those fingerprints."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection, func, select

from pcmd.db.tables import CHANGES, EST, REF, TGT
from pcmd.masterdata.tree import OrgTree
from pcmd.pipeline.indicators import cube
from pcmd.pipeline.indicators import engine as indicators
from pcmd.pipeline.indicators.engine import Context
from pcmd.pipeline.indicators.reference import Reference, register_counts

# Inputs read again by every run of a long-lived process (the scheduler, the web server), kept
# while their fingerprint — computed by every run anyway — says they have not changed.
_CACHE: dict[tuple[Any, ...], Any] = {}
_CACHE_LIMIT = 64


def cached(key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
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
        return register_counts(rows, tree)

    def targets() -> dict[tuple[str, str, str], float]:
        return indicators.imported_targets(
            fetch(conn, select(TGT.c.indicator, TGT.c.org_code, TGT.c.period, TGT.c.target))
        )

    if prints is None:
        return Context(tree, reference(), register(), targets(), today)
    units = prints["org_units"]
    return Context(
        tree=tree,
        reference=cached(("reference", database, units, repr(prints["reference"])), reference),
        establishments=cached(("register", database, units, prints["register"]), register),
        targets=cached(("targets", database, repr(prints["targets"])), targets),
        today=today,
    )


def fingerprints(conn: Connection) -> dict[str, Any]:
    """What the stored values depend on besides submissions: the counters that the database's
    triggers move on every write of the org units, the register, each reference key and each
    indicator's targets (migration 0012) — a few rows, where hashing the tables took 67 ms of
    an incremental run at 100,000 submissions. An input never written has no counter (None)."""
    rows = conn.execute(select(CHANGES.c.name, CHANGES.c.n))
    counters = {str(r.name): int(r.n) for r in rows}
    reference: dict[str, int] = {}
    targets: dict[str, int] = {}
    for name, n in counters.items():
        kind, _, key = name.partition(":")
        if kind == "reference":
            reference[key] = n
        elif kind == "targets":
            targets[key] = n
    return {
        "org_units": counters.get("org_units"),
        "reference": reference,
        "targets": targets,
        "register": counters.get("register"),
    }
