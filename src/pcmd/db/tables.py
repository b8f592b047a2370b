"""The one catalogue of pcmd's tables, as SQLAlchemy Core `Table` objects.

The ORM models (db/models.py) and the fact tables and cube (db/facts.py) define the schema;
this module names each table once for set-based SQL, so no other module looks tables up by
name. Importing it loads the whole schema into `METADATA` (what Alembic compares against).
"""

from __future__ import annotations

from sqlalchemy import MetaData, Table

from pcmd.db import cases, facts, models, reminders, review

METADATA: MetaData = models.Base.metadata


def _table(model: type[models.Base]) -> Table:
    return METADATA.tables[model.__tablename__]


ORG = _table(models.OrgUnit)
FORM = _table(models.Form)
FVER = _table(models.FormVersion)  # form versions
SUB = _table(models.Submission)
VER = _table(models.SubmissionVersion)  # submission versions
ATT = _table(models.Attachment)
ISSUE = _table(models.ValidationIssue)
EST = _table(models.Establishment)
REF = _table(models.ReferenceValue)
TGT = _table(models.Target)
CHANGES = _table(models.InputChange)  # the pipeline's input counters (migration 0012)
IV = _table(models.IndicatorValue)
PFILES = _table(models.ProgrammeFile)
STATE = _table(models.SyncState)  # sync and pipeline cursors
SR = _table(models.SourceRecord)
LOCK = _table(models.SchedulerLock)
AUDIT = _table(models.AuditLog)
WEB_SESSIONS = _table(models.WebSession)
COMMENTS = _table(review.SubmissionComment)  # a submission's comment thread
CASES = _table(cases.CaseEntity)  # the `cases` entity list (issue 15)
CASE_STEPS = _table(cases.CaseStep)
EMAILS = _table(reminders.WebUserEmail)  # where a web user's reminders go
REMINDERS_SENT = _table(reminders.ReminderSent)

FACT_TABLES = facts.FACT_TABLES
ACTIVITY_CUBE = facts.ACTIVITY_CUBE
