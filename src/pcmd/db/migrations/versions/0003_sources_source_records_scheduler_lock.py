"""sources, source records, scheduler lock

External sources (KoboToolbox, ODK Central) as configuration, what each last saw of every
remote record, and the lease that lets one scheduler run jobs across processes. New tables
only: nothing to back-fill.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:18:01.939675
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduler_lock",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduler_lock")),
    )
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("asset_uid", sa.String(length=100), nullable=True),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("form_id", sa.String(length=100), nullable=False),
        sa.Column("token_env", sa.String(length=100), nullable=True),
        sa.Column("user_env", sa.String(length=100), nullable=True),
        sa.Column("password_env", sa.String(length=100), nullable=True),
        sa.Column("webhook_secret_env", sa.String(length=100), nullable=True),
        sa.Column("interval_minutes", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
        sa.UniqueConstraint("name", name=op.f("uq_sources_name")),
    )
    op.create_table(
        "source_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("remote_id", sa.String(length=100), nullable=False),
        sa.Column("remote_seq", sa.BigInteger(), nullable=True),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.String(length=100), nullable=False),
        sa.Column("review", sa.String(length=100), nullable=True),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_source_records_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_source_records_submission_id_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_records")),
        sa.UniqueConstraint("source_id", "remote_id", name="uq_source_records_source_remote"),
    )
    with op.batch_alter_table("source_records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_source_records_source_seq", ["source_id", "remote_seq"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_source_records_submission_id"), ["submission_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("source_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_source_records_submission_id"))
        batch_op.drop_index("ix_source_records_source_seq")

    op.drop_table("source_records")
    op.drop_table("sources")
    op.drop_table("scheduler_lock")
