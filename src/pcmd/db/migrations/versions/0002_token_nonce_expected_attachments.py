"""app user token nonce, expected attachments

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 13:43:40.182926
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("token_nonce", sa.String(length=64), nullable=False, server_default="")
        )

    with op.batch_alter_table("submission_versions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("attachments_expected", sa.JSON(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("submission_versions", schema=None) as batch_op:
        batch_op.drop_column("attachments_expected")

    with op.batch_alter_table("app_users", schema=None) as batch_op:
        batch_op.drop_column("token_nonce")
