"""SQLAlchemy models: the whole schema of pcmd.

Conventions: integer surrogate keys; codes that come from outside (org unit codes, form ids,
instance ids) are kept as they are and indexed; timestamps are timezone-aware UTC; JSON columns
hold data whose shape belongs to the form, not to the schema. The Alembic migrations under
db/migrations must match.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints so migrations can alter them on SQLite and PostgreSQL alike.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

UtcDateTime = DateTime(timezone=True)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        dt.datetime: UtcDateTime,
    }


# --- org units -------------------------------------------------------------------------------


class OrgUnit(Base):
    """Country → province → commune. A code is unique only within its era (valid_from)."""

    __tablename__ = "org_units"
    __table_args__ = (UniqueConstraint("code", "valid_from", name="uq_org_units_code_era"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))  # country | province | commune
    parent_code: Mapped[str | None] = mapped_column(String(16), index=True)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)  # exclusive; None = still in force
    latitude: Mapped[float | None] = mapped_column(Float)  # centroid, when known
    longitude: Mapped[float | None] = mapped_column(Float)


# --- projects and forms ----------------------------------------------------------------------


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Form(Base):
    __tablename__ = "forms"
    __table_args__ = (UniqueConstraint("project_id", "form_id", name="uq_forms_project_form"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    form_id: Mapped[str] = mapped_column(String(100))  # the XForm id, e.g. pcmd_outreach
    title: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | closing | closed
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("form_versions.id", use_alter=True, name="fk_forms_current_version")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class FormVersion(Base):
    __tablename__ = "form_versions"
    __table_args__ = (UniqueConstraint("form_pk", "version", name="uq_form_versions_form_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    form_pk: Mapped[int] = mapped_column(ForeignKey("forms.id"))
    version: Mapped[str] = mapped_column(String(100))
    xform: Mapped[str] = mapped_column(Text)
    xform_md5: Mapped[str] = mapped_column(String(32))
    # {"reach/n_students": {"type": "int", "control": "input"}, ...} from the XForm binds
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    media_files: Mapped[list[Any]] = mapped_column(JSON)  # file names the XForm refers to
    xlsform: Mapped[bytes] = mapped_column(LargeBinary)
    xlsform_filename: Mapped[str] = mapped_column(String(255))
    xlsform_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class FormMedia(Base):
    """A media file served in a form's manifest (provinces.csv, …), generated from the database."""

    __tablename__ = "form_media"
    __table_args__ = (UniqueConstraint("form_pk", "filename", name="uq_form_media_form_file"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    form_pk: Mapped[int] = mapped_column(ForeignKey("forms.id"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    md5: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# --- people ----------------------------------------------------------------------------------


class AppUser(Base):
    """A device identity for ODK Collect (Central's "app user"). Only the token's hash is kept."""

    __tablename__ = "app_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # The token is HMAC(secret key, nonce): it can be shown again (QR code) by whoever holds the
    # key, while the database alone reveals nothing. Lookups go by the token's sha256.
    token_nonce: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    commune_codes: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [] = all communes
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]


class WebUser(Base):
    __tablename__ = "web_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    # national_admin | province_admin | province_reviewer | commune_officer | viewer
    role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[dt.datetime | None]
    # a temporary password an administrator gave: the user chooses its own at the next page
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class WebSession(Base):
    """A signed-in browser. Its cookie holds a random token; only the token's sha256 is kept.

    A session ends at sign-out (`ended_at`), after `session_idle_hours` without a request, and
    when its user is disabled or given a new password (`password_marker` no longer matches).
    """

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id", ondelete="CASCADE"), index=True)
    # sha256 of the user's password hash at sign-in: a new password ends every older session.
    password_marker: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(100), default="")  # address it signed in from
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None]


class WebUserScope(Base):
    """An org unit (and its subtree) a web user may see."""

    __tablename__ = "web_user_scopes"
    __table_args__ = (UniqueConstraint("user_id", "org_code", name="uq_web_user_scopes_user_org"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id", ondelete="CASCADE"))
    org_code: Mapped[str] = mapped_column(String(16))


# --- submissions -----------------------------------------------------------------------------


class Submission(Base):
    """One submission, identified by its root instanceID; its versions hold the XML and values."""

    __tablename__ = "submissions"
    __table_args__ = (
        Index("ix_submissions_form_commune_date", "form_pk", "commune_code", "activity_date"),
        # The pipeline's cursor: what changed since its last run (pipeline/run.py).
        Index("ix_submissions_updated_at", "updated_at"),
        # Central's order, newest first, of a form's submissions: OData pages and whole tables
        # read a chunk at a time by this, not by sorting every submission of the form each time.
        Index("ix_submissions_form_submitted", "form_pk", "submitted_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(100), unique=True)  # root instanceID
    form_pk: Mapped[int] = mapped_column(ForeignKey("forms.id"))
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("submission_versions.id", use_alter=True, name="fk_submissions_current_version")
    )
    source: Mapped[str] = mapped_column(String(32))  # openrosa | kobo | central | import
    # received | has_issues | approved | rejected | edited
    review_state: Mapped[str] = mapped_column(String(16), default="received")
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[dt.datetime | None]
    # Copied from the current version so the pipeline can filter without parsing JSON.
    commune_code: Mapped[str | None] = mapped_column(String(16))
    activity_date: Mapped[dt.date | None] = mapped_column(Date)
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SubmissionVersion(Base):
    __tablename__ = "submission_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    instance_id: Mapped[str] = mapped_column(String(100), unique=True)
    deprecated_id: Mapped[str | None] = mapped_column(String(100))
    form_version: Mapped[str] = mapped_column(String(100))
    xml: Mapped[str] = mapped_column(Text)
    xml_sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)  # values typed by the form version's binds
    # File names the XML refers to (binary fields); fewer attachments = an upload still in parts.
    attachments_expected: Mapped[list[Any]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(32))
    source_ref: Mapped[str | None] = mapped_column(String(100))  # e.g. Kobo _id
    submitter: Mapped[str | None] = mapped_column(String(100))
    device_id: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Attachment(Base):
    """A file of a submission version, stored content-addressed under <data_dir>/attachments."""

    __tablename__ = "attachments"
    __table_args__ = (
        UniqueConstraint("version_id", "filename", name="uq_attachments_version_file"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("submission_versions.id"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ValidationIssue(Base):
    __tablename__ = "validation_issues"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("submission_versions.id"))
    rule: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))  # error | warning
    field_path: Mapped[str | None] = mapped_column(String(200))
    message_vi: Mapped[str] = mapped_column(Text)
    message_en: Mapped[str] = mapped_column(Text)
    # open | overridden (a reviewer accepted it); issues of older versions are deleted
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# --- reference data --------------------------------------------------------------------------


class Establishment(Base):
    """The register of at-risk service establishments."""

    __tablename__ = "establishments"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    type: Mapped[str] = mapped_column(String(32))
    commune_code: Mapped[str] = mapped_column(String(16), index=True)
    address: Mapped[str] = mapped_column(String(500), default="")
    license_no: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | closed
    proposed_by_submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ReferenceValue(Base):
    """Denominators: workers, students, officials … per org unit and year."""

    __tablename__ = "reference_values"
    __table_args__ = (
        UniqueConstraint("org_code", "year", "key", name="uq_reference_values_org_year_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_code: Mapped[str] = mapped_column(String(16))
    year: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)


class Target(Base):
    __tablename__ = "targets"
    __table_args__ = (
        UniqueConstraint("indicator", "org_code", "period", name="uq_targets_ind_org_period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator: Mapped[str] = mapped_column(String(32))
    org_code: Mapped[str] = mapped_column(String(16))
    period: Mapped[str] = mapped_column(String(16))
    target: Mapped[float] = mapped_column(Float)


class InputChange(Base):
    """A counter per input of the indicator pipeline besides submissions — "org_units",
    "register", "reference:<key>", "targets:<indicator>" — moved by database triggers on every
    insert, update or delete of those rows (migration 0012), so a run learns what changed by
    reading these few rows instead of hashing the tables (pipeline/inputs.py). A counter
    starts at a random number: a database made again under the same URL does not repeat the
    values a long-lived process cached its inputs under."""

    __tablename__ = "input_changes"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class IndicatorValue(Base):
    """A stored indicator value (pipeline/run.py): one indicator × org unit × period.

    The submissions behind a numerator are not stored with it (at a million submissions one
    country-level value would list most of them); pipeline.query.submission_ids() reads them
    from the fact tables, which the same pipeline run keeps in step with these rows.
    """

    __tablename__ = "indicator_values"
    __table_args__ = (
        # Period before org and indicator: pages and exports read one period at a time.
        UniqueConstraint(
            "programme", "period", "org_code", "indicator", name="uq_indicator_values_key"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme: Mapped[str] = mapped_column(String(64))
    indicator: Mapped[str] = mapped_column(String(32))
    org_code: Mapped[str] = mapped_column(String(16))
    period: Mapped[str] = mapped_column(String(16))
    numerator: Mapped[float | None] = mapped_column(Float)
    denominator: Mapped[float | None] = mapped_column(Float)
    value: Mapped[float | None] = mapped_column(Float)
    target: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))  # met | not_met | no_target | no_data
    computed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ProgrammeFile(Base):
    """A programme file switched on with `pcmd programmes add` (a province plan, the next
    programme); the shipped Programme 1629 is always on and is not stored here."""

    __tablename__ = "programme_files"

    programme: Mapped[str] = mapped_column(String(64), primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# --- operations ------------------------------------------------------------------------------


class SyncState(Base):
    """Cursor and health of one external source (KoboToolbox asset, Central form)."""

    __tablename__ = "sync_state"

    source: Mapped[str] = mapped_column(String(100), primary_key=True)
    cursor: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_success_at: Mapped[dt.datetime | None]
    last_error_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Source(Base):
    """An external server pcmd pulls one form from: a KoboToolbox asset or an ODK Central form.

    Secrets are never stored: only the names of the environment variables that hold them.
    """

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # kobo | central
    url: Mapped[str] = mapped_column(String(500))
    asset_uid: Mapped[str | None] = mapped_column(String(100))  # kobo
    project_id: Mapped[int | None] = mapped_column(Integer)  # central
    form_id: Mapped[str] = mapped_column(String(100))  # remote form, = the pcmd form id
    token_env: Mapped[str | None] = mapped_column(String(100))  # kobo
    user_env: Mapped[str | None] = mapped_column(String(100))  # central
    password_env: Mapped[str | None] = mapped_column(String(100))  # central
    webhook_secret_env: Mapped[str | None] = mapped_column(String(100))  # kobo REST Service
    interval_minutes: Mapped[int] = mapped_column(Integer, default=15)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SourceRecord(Base):
    """What pcmd last saw of one remote record (Kobo `_id`, Central `__id`) and where it went.

    The light scan diffs these against the remote list to find edits, review changes and
    deletions; a record seen again unchanged costs no ingest.
    """

    __tablename__ = "source_records"
    __table_args__ = (
        UniqueConstraint("source_id", "remote_id", name="uq_source_records_source_remote"),
        Index("ix_source_records_source_seq", "source_id", "remote_seq"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    remote_id: Mapped[str] = mapped_column(String(100))
    # Kobo's integer _id, so a keyset page (_id in (a, b]) can be compared with what pcmd holds
    # in the same range: an _id pcmd has there that the page lacks was deleted upstream.
    remote_seq: Mapped[int | None] = mapped_column(BigInteger)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    instance_id: Mapped[str] = mapped_column(String(100))  # the remote's current instanceID
    review: Mapped[str | None] = mapped_column(String(100))  # remote review marker last seen
    complete: Mapped[bool] = mapped_column(Boolean, default=True)  # every attachment stored
    deleted_at: Mapped[dt.datetime | None]  # when the remote deleted it (pcmd keeps the rows)


class SchedulerLock(Base):
    """Which process runs the scheduled jobs: a lease renewed by heartbeat, taken when expired."""

    __tablename__ = "scheduler_lock"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[dt.datetime]
    acquired_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))  # "cli", "user:hoa", "appuser:xa-1"
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # the province an entry concerns (its audit page); None: national, or a record's (resolved)
    province_code: Mapped[str | None] = mapped_column(String(16), index=True)
