"""Fact tables (one row per counted activity, per form) and the monthly cube of measures.

Core tables rather than ORM models: the pipeline writes and reads them in bulk, set-based.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
)

from pcmd.db.models import Base

# The fields of each form kept in its fact table, by contract path (DESIGN §6), with their kind:
# int, bigint, float, choice (select_one, yes/no as "yes"/"no"), choices (select_multiple,
# space-separated), code (a register id). The column is the path with "/" → "_".
FACT_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "pcmd_outreach": (
        ("channel", "choice"),
        ("setting", "choice"),
        ("topics", "choices"),
        ("integrated", "choices"),
        ("reach/n_establishment_workers", "int"),
        ("reach/n_industrial_workers", "int"),
        ("reach/n_students", "int"),
        ("reach/n_general", "int"),
        ("reach/n_female", "int"),
        ("reach/n_total", "int"),
        ("media_items", "int"),
        ("materials", "int"),
    ),
    "pcmd_training": (
        ("days", "float"),
        ("organizer_level", "choice"),
        ("topics", "choices"),
        ("participants/n_province_staff", "int"),
        ("participants/n_commune_staff", "int"),
        ("participants/n_police", "int"),
        ("participants/n_collaborators", "int"),
        ("participants/n_other", "int"),
        ("participants/new_province_staff", "int"),
        ("participants/new_commune_staff", "int"),
        ("participants/n_female", "int"),
        ("participants/n_total", "int"),
    ),
    "pcmd_inspection": (
        ("team", "choice"),
        ("establishment/known", "choice"),
        ("establishment/id", "code"),
        ("establishment/type", "choice"),
        ("findings/n_workers", "int"),
        ("findings/n_female_workers", "int"),
        ("findings/license_valid", "choice"),
        ("findings/violation", "choice"),
        ("findings/violation_types", "choices"),
        ("findings/action", "choice"),
        ("findings/fine_vnd", "bigint"),
        ("findings/n_workers_informed", "int"),
        ("findings/commitment_signed", "choice"),
    ),
    # DESIGN §6b. Fields in DERIVED_FIELDS are not answers: normalisation works them out from
    # the record and the records it depends on (a case's steps, the other monthly reports).
    "pcmd_case": (
        ("kind", "choice"),
        ("source", "choice"),
        ("subject", "choice"),
        ("establishment/id", "code"),
        ("assigned_to", "choice"),
        ("case_id", "ref"),
        ("deadline", "date"),
        ("handled_date", "date"),
        ("extended", "choice"),
    ),
    "pcmd_case_update": (
        ("case", "ref"),
        ("step", "choice"),
        ("outcome", "choice"),
        ("fine_vnd", "bigint"),
    ),
    "pcmd_monthly": (
        ("nothing_to_report", "choice"),
        ("crime/n_cases_detected", "int"),
        ("crime/n_cases_prosecuted", "int"),
        ("crime/n_defendants", "int"),
        ("admin/n_violations", "int"),
        ("admin/n_persons_fined", "int"),
        ("first_received", "date"),
        ("on_time", "choice"),
    ),
    "pcmd_support": (
        ("uic/key", "code"),
        ("in_need_eligible", "choice"),
        ("services", "choices"),
        ("provider", "choice"),
    ),
    "pcmd_plan": (
        ("year", "int"),
        ("plan_issued", "choice"),
        ("plan_date", "date"),
        ("integrated_with", "choices"),
    ),
}
# Worked out by normalisation (pipeline/normalise_groups.py), not read from the answers:
# a case's entity id, deadline, handled date and whether it was extended (DESIGN §8b); the
# Vietnam date a commune-month's first counted monthly report reached the server and whether
# that was by the 5th of the next month.
DERIVED_FIELDS: dict[str, tuple[str, ...]] = {
    "pcmd_case": ("case_id", "deadline", "handled_date", "extended"),
    "pcmd_monthly": ("first_received", "on_time"),
}
FACT_TABLE_NAMES = {
    "pcmd_outreach": "fact_outreach",
    "pcmd_training": "fact_training",
    "pcmd_inspection": "fact_inspection",
    "pcmd_case": "fact_case",
    "pcmd_case_update": "fact_case_update",
    "pcmd_monthly": "fact_monthly",
    "pcmd_support": "fact_support",
    "pcmd_plan": "fact_plan",
}
_FACT_TYPES: dict[str, Any] = {
    "int": Integer,
    "bigint": BigInteger,
    "float": Float,
    "choice": String(32),
    "choices": String(400),
    "code": String(64),
    "ref": String(100),  # an entity id (a case's registration uuid)
    "date": Date,
}


# Columns whose plain name is an SQL keyword.
RENAMED = {"case": "case_ref"}


def fact_column(path: str) -> str:
    name = path.replace("/", "_")
    return RENAMED.get(name, name)


def _fact_table(form_id: str) -> Table:
    """One row per counted activity: the current version of a submission that counts (DESIGN
    §4), placed in its commune and province and in its month, with its typed values."""
    name = FACT_TABLE_NAMES[form_id]
    return Table(
        name,
        Base.metadata,
        Column(
            "submission_id", ForeignKey("submissions.id"), primary_key=True, autoincrement=False
        ),
        Column("version_id", ForeignKey("submission_versions.id"), nullable=False),
        Column("commune_code", String(16), nullable=False),
        Column("province_code", String(16), nullable=False),
        Column("activity_date", Date, nullable=False),
        Column("month", Integer, nullable=False),  # YYYYMM of activity_date
        Column("reporter_org", String(32)),
        *(Column(fact_column(p), _FACT_TYPES[kind]) for p, kind in FACT_FIELDS[form_id]),
        Index(f"ix_{name}_commune_month", "commune_code", "month"),
        Index(f"ix_{name}_month", "month"),
    )


FACT_TABLES: dict[str, Table] = {form_id: _fact_table(form_id) for form_id in FACT_FIELDS}
# Register ids inspected, for distinct counts (KT1) by id and month, and by month with every
# column such a count reads, so a period's count is read from the index alone.
_INSPECTION = FACT_TABLES["pcmd_inspection"]
Index("ix_fact_inspection_establishment_month", _INSPECTION.c.establishment_id, _INSPECTION.c.month)
# A case's steps, found by the case they belong to.
Index("ix_fact_case_update_case_ref", FACT_TABLES["pcmd_case_update"].c.case_ref)
Index(
    "ix_fact_inspection_month_establishment",
    _INSPECTION.c.month,
    _INSPECTION.c.establishment_known,
    _INSPECTION.c.establishment_id,
    _INSPECTION.c.province_code,
    _INSPECTION.c.commune_code,
)

# Measures of the programmes, summed per month for every commune with counted records, and for
# their provinces and the country (pipeline/indicators/cube.py). Column vNN holds the measure
# the pipeline's cursor (sync_state "pipeline") assigns to slot NN; the cube is rebuilt whenever
# that assignment changes, so a programme file can add measures without a migration. On SQLite
# the rows are stored in key order (WITHOUT ROWID), months first: a period's rows are contiguous.
# The secondary indexes do not start with `level`, so SQLite's planner never prefers them to that
# month range for a whole level.
CUBE_SLOTS = 40
ACTIVITY_CUBE = Table(
    "activity_cube",
    Base.metadata,
    Column("month", Integer, nullable=False),  # YYYYMM
    Column("level", String(8), nullable=False),  # commune | province | country
    Column("org_code", String(16), nullable=False),
    Column("province_code", String(16), nullable=False),  # a commune's; its own code above
    *(Column(f"v{n:02d}", Float) for n in range(1, CUBE_SLOTS + 1)),
    PrimaryKeyConstraint("month", "level", "org_code", name="pk_activity_cube"),
    Index("ix_activity_cube_org", "org_code", "level", "month"),
    Index("ix_activity_cube_province", "province_code", "level", "month"),
    sqlite_with_rowid=False,
)
