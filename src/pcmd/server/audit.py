"""Writing an audit entry with the province it concerns.

The audit page of a province administrator lists the entries of its province
(server/audit_read.py); an entry about a web user or an app user carries the province of that
account's units, found here from its org codes. An entry never holds a secret: passwords,
tokens and set-up codes are not details.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pcmd.db.models import AuditLog, OrgUnit


def provinces_of(session: Session, codes: Iterable[str]) -> set[str]:
    """The provinces of org codes in force: a province is itself, a commune its parent, VN none."""
    wanted = [c for c in codes if c != "VN"]
    if not wanted:
        return set()
    rows = session.execute(
        select(OrgUnit.code, OrgUnit.level, OrgUnit.parent_code).where(
            OrgUnit.code.in_(wanted), OrgUnit.valid_to.is_(None)
        )
    ).all()
    return {code if level == "province" else str(parent) for code, level, parent in rows if parent}


def province_of(session: Session, codes: Iterable[str]) -> str | None:
    """The one province all these units lie in; None for VN, no units or several provinces."""
    listed = list(codes)
    if "VN" in listed:
        return None
    found = provinces_of(session, listed)
    return found.pop() if len(found) == 1 else None


def record(
    session: Session,
    actor: str,
    action: str,
    target: str | None,
    *,
    province: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add one entry (committed with the change it records)."""
    session.add(
        AuditLog(
            actor=actor,
            action=action,
            target=target,
            details=details or {},
            province_code=province,
        )
    )
