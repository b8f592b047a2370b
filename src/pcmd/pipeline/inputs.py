"""The run's inputs besides submissions: reference data, register counts and targets, their
fingerprints, and a per-process cache of them keyed by those fingerprints."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection, func, select

from pcmd.db.tables import EST, ORG, REF, TGT
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
