"""Where reminders go and what was sent (jobs/reminders.py): a web user's e-mail address, and
one row per reminder sent, so a restarted scheduler does not send it twice."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pcmd.db.models import Base, utcnow


class WebUserEmail(Base):
    __tablename__ = "web_user_emails"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("web_users.id", ondelete="CASCADE"), primary_key=True
    )
    email: Mapped[str] = mapped_column(String(254))


class ReminderSent(Base):
    __tablename__ = "reminders_sent"
    __table_args__ = (UniqueConstraint("kind", "key", name="uq_reminders_sent_kind_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # monthly | overdue
    key: Mapped[str] = mapped_column(String(100))  # e.g. "21025:202611", "51:2026-12-07"
    sent_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
