"""The dashboard's reminder notice when no mail server is set (jobs/reminders.py): from the
3rd of a month, the communes of the user's units whose report for last month is missing."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from pcmd.db.models import Form, OrgUnit
from pcmd.forms import contract
from pcmd.jobs.reminders import last_month, missing_reports
from pcmd.masterdata.periods import vietnam_today
from pcmd.server.accounts import Scope
from pcmd.server.web.base import Web
from pcmd.server.web.figures import data_version
from pcmd.server.web.ledger_counts import reported_communes
from pcmd.server.web.quality_ledger import ledger_of

SHOWN = 10  # names listed; the rest counted


@dataclass(frozen=True)
class Notice:
    month: str  # 11/2026
    names: tuple[str, ...]
    more: int


def missing_notice(web: Web, user: Scope) -> Notice | None:
    """None when a mail server sends the reminders, or nothing is missing."""
    if web.settings.smtp_host:
        return None
    with web.engine.connect() as conn:
        version = data_version(conn)
    # kept per data version and scope; computed again from the ledger when records arrive
    return web.figures.get(("notice", user.org_codes), version, lambda: _missing_notice(web, user))


def _missing_notice(web: Web, user: Scope) -> Notice | None:
    today = vietnam_today()
    with web.engine.connect() as conn:
        communes = {
            code: name
            for code, name, parent in conn.execute(
                select(OrgUnit.code, OrgUnit.name, OrgUnit.parent_code).where(
                    OrgUnit.level == "commune", OrgUnit.valid_to.is_(None)
                )
            )
            if user.sees(code, parent)
        }
        monthly = list(conn.scalars(select(Form.id).where(Form.form_id == contract.MONTHLY)))
        ledger = ledger_of(web.engine)
        missing = missing_reports(
            conn,
            sorted(communes),
            today,
            lambda c, month: reported_communes(ledger, c, monthly, month),
        )
    if not missing:
        return None
    month = last_month(today)
    names = sorted(communes[c] for c in missing)
    return Notice(f"{month.month:02d}/{month.year}", tuple(names[:SHOWN]), len(names) - SHOWN)
