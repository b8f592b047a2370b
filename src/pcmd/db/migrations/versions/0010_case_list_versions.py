"""case list versions that only move on: a dropped step's count folded into its case's version

Until now a case's `__version` in `cases.csv` was its stored version plus the number of its steps
rejected or deleted since they arrived, counted at each request, so un-rejecting a step lowered
it again (and a phone keeps a copy whose version it already has). From now on every review
decision, deletion or its undoing moves the stored version of the cases concerned on
(ingest/cases.py `touch`); this adds the steps dropped so far to the stored version once, so no
case's version goes down at the upgrade.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# The steps of a case that do not count (their record rejected or deleted), in its commune, as
# forms/case_list.py counted them.
DROPPED = """
    SELECT count(*) FROM case_steps s JOIN submissions sub ON sub.id = s.submission_id
    WHERE (s.entity_ref = case_entities.entity_id OR s.entity_ref = case_entities.alias)
      AND (s.commune_code = case_entities.commune_code
           OR (s.commune_code IS NULL AND case_entities.commune_code IS NULL))
      AND (sub.deleted = :yes OR sub.review_state = 'rejected')
"""


def _shift(sign: str) -> None:
    statement = f"UPDATE case_entities SET version = version {sign} ({DROPPED})"  # noqa: S608 (constant text)
    op.execute(sa.text(statement).bindparams(yes=True))


def upgrade() -> None:
    _shift("+")


def downgrade() -> None:
    _shift("-")
