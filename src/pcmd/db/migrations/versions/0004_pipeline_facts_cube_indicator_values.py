"""pipeline: fact tables, monthly cube, indicator values keyed by period, updated_at index

The pipeline (issue 5) keeps one typed row per counted activity in a fact table per form, the
programmes' measures per commune and month in `activity_cube`, and its results in
`indicator_values`. Their provenance moves out of a JSON list per value (at a million
submissions one country value would list most of them) to the fact tables, read on demand; the
values' unique key starts with the period, the way pages and exports read them. The pipeline's
cursor reads submissions by `updated_at`, which gets an index. `programme_files` holds the
programme files switched on with `pcmd programmes add`. The other tables are derived: the next
`pcmd pipeline run` fills them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 14:23:35.016771
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

CUBE_SLOTS = 40

FACTS: dict[str, list[tuple[str, sa.types.TypeEngine[Any]]]] = {
    "fact_outreach": [
        ("channel", sa.String(length=32)),
        ("setting", sa.String(length=32)),
        ("topics", sa.String(length=400)),
        ("integrated", sa.String(length=400)),
        ("reach_n_establishment_workers", sa.Integer()),
        ("reach_n_industrial_workers", sa.Integer()),
        ("reach_n_students", sa.Integer()),
        ("reach_n_general", sa.Integer()),
        ("reach_n_female", sa.Integer()),
        ("reach_n_total", sa.Integer()),
        ("media_items", sa.Integer()),
        ("materials", sa.Integer()),
    ],
    "fact_training": [
        ("days", sa.Float()),
        ("organizer_level", sa.String(length=32)),
        ("topics", sa.String(length=400)),
        ("participants_n_province_staff", sa.Integer()),
        ("participants_n_commune_staff", sa.Integer()),
        ("participants_n_police", sa.Integer()),
        ("participants_n_collaborators", sa.Integer()),
        ("participants_n_other", sa.Integer()),
        ("participants_new_province_staff", sa.Integer()),
        ("participants_new_commune_staff", sa.Integer()),
        ("participants_n_female", sa.Integer()),
        ("participants_n_total", sa.Integer()),
    ],
    "fact_inspection": [
        ("team", sa.String(length=32)),
        ("establishment_known", sa.String(length=32)),
        ("establishment_id", sa.String(length=64)),
        ("establishment_type", sa.String(length=32)),
        ("findings_n_workers", sa.Integer()),
        ("findings_n_female_workers", sa.Integer()),
        ("findings_license_valid", sa.String(length=32)),
        ("findings_violation", sa.String(length=32)),
        ("findings_violation_types", sa.String(length=400)),
        ("findings_action", sa.String(length=32)),
        ("findings_fine_vnd", sa.BigInteger()),
        ("findings_n_workers_informed", sa.Integer()),
        ("findings_commitment_signed", sa.String(length=32)),
    ],
}


def upgrade() -> None:
    op.create_table(
        "activity_cube",
        sa.Column("commune_code", sa.String(length=16), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("province_code", sa.String(length=16), nullable=False),
        *(sa.Column(f"v{n:02d}", sa.Float(), nullable=True) for n in range(1, CUBE_SLOTS + 1)),
        sa.PrimaryKeyConstraint("commune_code", "month", name="pk_activity_cube"),
    )
    op.create_index("ix_activity_cube_province_month", "activity_cube", ["province_code", "month"])

    for table, columns in FACTS.items():
        op.create_table(
            table,
            sa.Column("submission_id", sa.Integer(), autoincrement=False, nullable=False),
            sa.Column("version_id", sa.Integer(), nullable=False),
            sa.Column("commune_code", sa.String(length=16), nullable=False),
            sa.Column("province_code", sa.String(length=16), nullable=False),
            sa.Column("activity_date", sa.Date(), nullable=False),
            sa.Column("month", sa.Integer(), nullable=False),
            sa.Column("reporter_org", sa.String(length=32), nullable=True),
            *(sa.Column(name, kind, nullable=True) for name, kind in columns),
            sa.ForeignKeyConstraint(
                ["submission_id"],
                ["submissions.id"],
                name=op.f(f"fk_{table}_submission_id_submissions"),
            ),
            sa.ForeignKeyConstraint(
                ["version_id"],
                ["submission_versions.id"],
                name=op.f(f"fk_{table}_version_id_submission_versions"),
            ),
            sa.PrimaryKeyConstraint("submission_id", name=op.f(f"pk_{table}")),
        )
        op.create_index(f"ix_{table}_commune_month", table, ["commune_code", "month"])
        op.create_index(f"ix_{table}_month", table, ["month"])
    op.create_index(
        "ix_fact_inspection_establishment_month", "fact_inspection", ["establishment_id", "month"]
    )

    # Stored values are derived: drop them rather than carry provenance lists across.
    op.execute(sa.text("DELETE FROM indicator_values"))
    with op.batch_alter_table("indicator_values", schema=None) as batch_op:
        batch_op.drop_constraint("uq_indicator_values_key", type_="unique")
        batch_op.drop_column("submission_ids")
        batch_op.create_unique_constraint(
            "uq_indicator_values_key", ["programme", "period", "org_code", "indicator"]
        )

    op.create_index("ix_submissions_updated_at", "submissions", ["updated_at"])

    op.create_table(
        "programme_files",
        sa.Column("programme", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("programme", name=op.f("pk_programme_files")),
    )


def downgrade() -> None:
    op.drop_table("programme_files")
    op.drop_index("ix_submissions_updated_at", table_name="submissions")
    op.execute(sa.text("DELETE FROM indicator_values"))
    with op.batch_alter_table("indicator_values", schema=None) as batch_op:
        batch_op.drop_constraint("uq_indicator_values_key", type_="unique")
        batch_op.add_column(
            sa.Column("submission_ids", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.create_unique_constraint(
            "uq_indicator_values_key", ["programme", "indicator", "org_code", "period"]
        )
    op.drop_index("ix_fact_inspection_establishment_month", table_name="fact_inspection")
    for table in reversed(FACTS):
        op.drop_index(f"ix_{table}_month", table_name=table)
        op.drop_index(f"ix_{table}_commune_month", table_name=table)
        op.drop_table(table)
    op.drop_index("ix_activity_cube_province_month", table_name="activity_cube")
    op.drop_table("activity_cube")
