"""Replacing a few cells' stored values (cells_replace.py): only the rows that changed are
written, a row that did not change keeps its computed_at, and a cell without values loses
its rows — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, select

from pcmd.db.engine import write_connection
from pcmd.db.tables import IV
from pcmd.pipeline.cells import IV_COLUMNS
from pcmd.pipeline.cells_replace import replace_cells

BEFORE = dt.datetime(2026, 1, 1, 8, 0, tzinfo=dt.UTC)
AFTER = dt.datetime(2026, 1, 2, 8, 0, tzinfo=dt.UTC)


def _row(
    ind: str,
    org: str,
    period: str,
    num: float | None,
    value: float | None,
    status: str,
    when: dt.datetime,
) -> tuple[Any, ...]:
    # (programme, indicator, org, period, numerator, denominator, value, target, status, time)
    return ("p1", ind, org, period, num, None, value, None, status, when)


def _utc(moment: dt.datetime) -> dt.datetime:
    # SQLite gives the stored UTC time back without a zone
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _stored(engine: Engine) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(select(IV)).all()
    return {
        (r.period, r.org_code, r.indicator): (
            r.numerator,
            r.value,
            r.status,
            _utc(r.computed_at).date(),
        )
        for r in rows
    }


def test_replace_cells__writes_only_what_changed(engine: Engine) -> None:
    """Should, for cells (A, 2026) and (B, 2026): keep A's unchanged HD1 (with its old time),
    update A's HD2 (3 → 4), insert A's new KT1, delete B's rows (B has no values now), leave
    C's cell alone (not among the cells), and count 2 rows written."""
    with write_connection(engine) as conn:
        conn.execute(
            IV.insert(),
            [
                dict(zip(IV_COLUMNS, r, strict=True))
                for r in (
                    _row("HD1", "A", "2026", 5.0, 5.0, "no_target", BEFORE),
                    _row("HD2", "A", "2026", 3.0, 3.0, "no_target", BEFORE),
                    _row("HD1", "B", "2026", 1.0, 1.0, "no_target", BEFORE),
                    _row("HD1", "C", "2026", 7.0, None, "no_data", BEFORE),
                )
            ],
        )
    with write_connection(engine) as conn:
        written = replace_cells(
            conn,
            "p1",
            [("A", "2026"), ("B", "2026")],
            [
                _row("HD1", "A", "2026", 5.0, 5.0, "no_target", AFTER),
                _row("HD2", "A", "2026", 4.0, 4.0, "no_target", AFTER),
                _row("KT1", "A", "2026", None, None, "no_data", AFTER),
            ],
        )
    assert written == 2
    assert _stored(engine) == {
        ("2026", "A", "HD1"): (5.0, 5.0, "no_target", BEFORE.date()),
        ("2026", "A", "HD2"): (4.0, 4.0, "no_target", AFTER.date()),
        ("2026", "A", "KT1"): (None, None, "no_data", AFTER.date()),
        ("2026", "C", "HD1"): (7.0, None, "no_data", BEFORE.date()),
    }


def test_replace_cells__null_and_value_differ(engine: Engine) -> None:
    """Should see a value becoming NULL (5 → no value) and NULL becoming 0 as changes: the
    comparison is NULL-safe, so both rows are written (2), and an equal NULL is not (0)."""
    with write_connection(engine) as conn:
        replace_cells(
            conn,
            "p1",
            [("A", "2026")],
            [
                _row("HD1", "A", "2026", 5.0, 5.0, "no_target", BEFORE),
                _row("HD2", "A", "2026", None, None, "no_data", BEFORE),
            ],
        )
    rows = [
        _row("HD1", "A", "2026", 5.0, None, "no_data", AFTER),
        _row("HD2", "A", "2026", 0.0, None, "no_data", AFTER),
    ]
    with write_connection(engine) as conn:
        assert replace_cells(conn, "p1", [("A", "2026")], rows) == 2
    with write_connection(engine) as conn:
        assert replace_cells(conn, "p1", [("A", "2026")], rows) == 0
    assert _stored(engine)[("2026", "A", "HD2")] == (0.0, None, "no_data", AFTER.date())
