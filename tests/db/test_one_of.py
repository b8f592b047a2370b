"""`column IN (…)` bound as one parameter (db/one_of.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Engine, select

from pcmd.db.engine import write_connection
from pcmd.db.one_of import one_of
from pcmd.db.tables import REF


def test_one_of__strings_numbers_and_nothing(engine: Engine) -> None:
    """Should pick the rows whose code is A or C (2 of 3), whose year is 2025 (2), and none
    for an empty list; a value of no row (Z) changes nothing."""
    with write_connection(engine) as conn:
        conn.execute(
            REF.insert(),
            [
                {"org_code": "A", "year": 2025, "key": "k", "value": 1.0},
                {"org_code": "B", "year": 2025, "key": "k", "value": 2.0},
                {"org_code": "C", "year": 2026, "key": "k", "value": 3.0},
            ],
        )
    with engine.connect() as conn:
        dialect = conn.dialect.name

        def codes(cond: ColumnElement[bool]) -> list[str]:
            rows = conn.execute(select(REF.c.org_code).where(cond).order_by(REF.c.org_code))
            return [r[0] for r in rows]

        assert codes(one_of(dialect, REF.c.org_code, ["A", "C", "Z"])) == ["A", "C"]
        assert codes(one_of(dialect, REF.c.year, [2025])) == ["A", "B"]
        assert codes(one_of(dialect, REF.c.org_code, [])) == []
