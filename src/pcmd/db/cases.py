"""The `cases` entity list's state (DESIGN §6b): one row per case registered by `pcmd_case`, one
per step sent by `pcmd_case_update`.

Kept by the ingest in the same transaction as the submission, so `cases.csv` is current at each
request. A case's status, deadline and handled date are not stored: they are folded from its
counted steps in `step_date` order when read (forms/entities.py), so a step sent late lands in
its place and a rejected step stops counting at once.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pcmd.db.models import Base, utcnow


class CaseEntity(Base):
    """A case: the entity its registration created."""

    __tablename__ = "case_entities"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), unique=True)
    # The entity id: the registration's root instance uuid, bare and lower-case.
    entity_id: Mapped[str] = mapped_column(String(100), unique=True)
    # The id Collect gave the entity on the phone (meta/entity/@id), when it sent one: a step
    # picked from a case the phone created offline names this one.
    alias: Mapped[str | None] = mapped_column(String(100), index=True)
    commune_code: Mapped[str | None] = mapped_column(String(16), index=True)
    label: Mapped[str] = mapped_column(String(300))
    received_date: Mapped[dt.date | None] = mapped_column(Date)
    kind: Mapped[str | None] = mapped_column(String(32))
    # __version of the list: 1 at registration, +1 at every change the ingest sees.
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CaseStep(Base):
    """One step of a case (the current version of a `pcmd_case_update` submission)."""

    __tablename__ = "case_steps"

    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), primary_key=True)
    # The `case` answer, bare and lower-case: a case's entity_id (or its alias).
    entity_ref: Mapped[str] = mapped_column(String(100), index=True)
    step: Mapped[str | None] = mapped_column(String(32))
    step_date: Mapped[dt.date | None] = mapped_column(Date)
    commune_code: Mapped[str | None] = mapped_column(String(16))
    # Order received: the id of the version that last set this step (ties of step_date).
    seq: Mapped[int] = mapped_column(Integer)
