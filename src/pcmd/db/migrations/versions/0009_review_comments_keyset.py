"""review at scale: a record's comment thread, and indexes for keyset paging of the list

`submission_comments` holds the thread of a record (comments, rejection reasons); the list of
submissions is paged by (commune, id) and (review state, id) without scanning the table.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 01:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # --- issue 13 (review at scale): the comment thread, keyset paging of the list ---
    op.create_table(
        "submission_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_submission_comments_submission_id_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission_comments")),
    )
    with op.batch_alter_table("submission_comments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_submission_comments_submission_id"), ["submission_id"], unique=False
        )
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.create_index("ix_submissions_commune_id", ["commune_code", "id"], unique=False)
        batch_op.create_index(
            "ix_submissions_review_state_id", ["review_state", "id"], unique=False
        )
    # --- end issue 13 ---


def downgrade() -> None:
    # --- issue 13 ---
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index("ix_submissions_review_state_id")
        batch_op.drop_index("ix_submissions_commune_id")
    with op.batch_alter_table("submission_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submission_comments_submission_id"))
    op.drop_table("submission_comments")
    # --- end issue 13 ---
