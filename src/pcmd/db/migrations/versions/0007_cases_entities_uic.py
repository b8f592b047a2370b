"""the case, monthly, support and plan records: case entities, reminders, fact tables

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 01:30:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


# --- fact tables of the five new forms (issue 15, pipeline side; DESIGN §6b, §8b) -------------
NEW_FACTS: dict[str, list[tuple[str, sa.types.TypeEngine[Any]]]] = {
    "fact_case": [
        ("kind", sa.String(length=32)),
        ("source", sa.String(length=32)),
        ("subject", sa.String(length=32)),
        ("establishment_id", sa.String(length=64)),
        ("assigned_to", sa.String(length=32)),
        ("case_id", sa.String(length=100)),
        ("deadline", sa.Date()),
        ("handled_date", sa.Date()),
        ("extended", sa.String(length=32)),
    ],
    "fact_case_update": [
        ("case_ref", sa.String(length=100)),
        ("step", sa.String(length=32)),
        ("outcome", sa.String(length=32)),
        ("fine_vnd", sa.BigInteger()),
    ],
    "fact_monthly": [
        ("nothing_to_report", sa.String(length=32)),
        ("crime_n_cases_detected", sa.Integer()),
        ("crime_n_cases_prosecuted", sa.Integer()),
        ("crime_n_defendants", sa.Integer()),
        ("admin_n_violations", sa.Integer()),
        ("admin_n_persons_fined", sa.Integer()),
        ("first_received", sa.Date()),
        ("on_time", sa.String(length=32)),
    ],
    "fact_support": [
        ("uic_key", sa.String(length=64)),
        ("in_need_eligible", sa.String(length=32)),
        ("services", sa.String(length=400)),
        ("provider", sa.String(length=32)),
    ],
    "fact_plan": [
        ("year", sa.Integer()),
        ("plan_issued", sa.String(length=32)),
        ("plan_date", sa.Date()),
        ("integrated_with", sa.String(length=400)),
    ],
}


def _create_new_facts() -> None:
    """Derived tables: the next `pcmd pipeline run` fills them."""
    for table, columns in NEW_FACTS.items():
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
    op.create_index("ix_fact_case_update_case_ref", "fact_case_update", ["case_ref"])
    # The pipeline's cursor forgets itself (its state version), so the next run fills them.


def _drop_new_facts() -> None:
    for table in reversed(list(NEW_FACTS)):
        op.drop_table(table)


# --- end of the fact tables ------------------------------------------------------------------


# --- the `cases` entity list (issue 15, forms and storage side; db/cases.py) ------------------


def _create_case_entities() -> None:
    op.create_table(
        "case_entities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.String(length=100), nullable=False),
        sa.Column("alias", sa.String(length=100), nullable=True),
        sa.Column("commune_code", sa.String(length=16), nullable=True),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("received_date", sa.Date(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_case_entities_submission_id_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_entities")),
        sa.UniqueConstraint("submission_id", name=op.f("uq_case_entities_submission_id")),
        sa.UniqueConstraint("entity_id", name=op.f("uq_case_entities_entity_id")),
    )
    op.create_index("ix_case_entities_alias", "case_entities", ["alias"])
    op.create_index("ix_case_entities_commune_code", "case_entities", ["commune_code"])
    op.create_table(
        "case_steps",
        sa.Column("submission_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("entity_ref", sa.String(length=100), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=True),
        sa.Column("step_date", sa.Date(), nullable=True),
        sa.Column("commune_code", sa.String(length=16), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_case_steps_submission_id_submissions"),
        ),
        sa.PrimaryKeyConstraint("submission_id", name=op.f("pk_case_steps")),
    )
    op.create_index("ix_case_steps_entity_ref", "case_steps", ["entity_ref"])


def _drop_case_entities() -> None:
    op.drop_table("case_steps")
    op.drop_table("case_entities")


def _create_reminders() -> None:
    """Where reminders go and what was sent (db/reminders.py)."""
    op.create_table(
        "web_user_emails",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["web_users.id"],
            name=op.f("fk_web_user_emails_user_id_web_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_web_user_emails")),
    )
    op.create_table(
        "reminders_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders_sent")),
        sa.UniqueConstraint("kind", "key", name="uq_reminders_sent_kind_key"),
    )


# --- end of the entity list ------------------------------------------------------------------


def upgrade() -> None:
    _create_new_facts()
    _create_case_entities()
    _create_reminders()


def downgrade() -> None:
    op.drop_table("reminders_sent")
    op.drop_table("web_user_emails")
    _drop_case_entities()
    _drop_new_facts()
