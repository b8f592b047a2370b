"""pipeline: the monthly cube by month and level, a covering index for inspected register ids

The cube gets province and country rows beside the communes' (level, org_code), so a province's
or the country's month, quarter or year is a read of one row per month; its rows are stored by
month (SQLite WITHOUT ROWID, primary key month first), so a period's rows are contiguous.
Distinct register ids per period are read from one index. The cube is derived: it is recreated
empty, and the pipeline's cursor version moves on so the next `pcmd pipeline run` rebuilds it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 15:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

CUBE_SLOTS = 40


def _old_cube() -> None:
    op.create_table(
        "activity_cube",
        sa.Column("commune_code", sa.String(length=16), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("province_code", sa.String(length=16), nullable=False),
        *(sa.Column(f"v{n:02d}", sa.Float(), nullable=True) for n in range(1, CUBE_SLOTS + 1)),
        sa.PrimaryKeyConstraint("commune_code", "month", name="pk_activity_cube"),
    )
    op.create_index("ix_activity_cube_province_month", "activity_cube", ["province_code", "month"])


def upgrade() -> None:
    op.drop_index("ix_activity_cube_province_month", table_name="activity_cube")
    op.drop_table("activity_cube")
    op.create_table(
        "activity_cube",
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("org_code", sa.String(length=16), nullable=False),
        sa.Column("province_code", sa.String(length=16), nullable=False),
        *(sa.Column(f"v{n:02d}", sa.Float(), nullable=True) for n in range(1, CUBE_SLOTS + 1)),
        sa.PrimaryKeyConstraint("month", "level", "org_code", name="pk_activity_cube"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_activity_cube_org", "activity_cube", ["org_code", "level", "month"])
    op.create_index(
        "ix_activity_cube_province", "activity_cube", ["province_code", "level", "month"]
    )
    op.create_index(
        "ix_fact_inspection_month_establishment",
        "fact_inspection",
        ["month", "establishment_known", "establishment_id", "province_code", "commune_code"],
    )


def downgrade() -> None:
    op.drop_index("ix_fact_inspection_month_establishment", table_name="fact_inspection")
    op.drop_index("ix_activity_cube_province", table_name="activity_cube")
    op.drop_index("ix_activity_cube_org", table_name="activity_cube")
    op.drop_table("activity_cube")
    _old_cube()
