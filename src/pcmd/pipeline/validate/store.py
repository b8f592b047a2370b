"""Storing a run's issues: reconcile them with the `validation_issues` table (what a run did is
its `ValidationSummary`), and a reviewer's override of one issue."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, insert, select, update

from pcmd.db.chunks import chunks
from pcmd.db.models import utcnow
from pcmd.db.tables import AUDIT, ISSUE, SUB
from pcmd.errors import PipelineError
from pcmd.pipeline.validate.batch import CHUNK, Record


@dataclass
class ValidationSummary:
    """What a run did. `excluded` are the validated submissions an open error keeps out of the
    indicators; `changed` those whose issues changed (inserted, deleted or reworded)."""

    validated: int = 0
    inserted: int = 0
    deleted: int = 0
    kept: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)  # issues present now, by rule
    excluded: set[int] = field(default_factory=set)
    changed: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class _Stored:
    id: int
    submission_id: int
    version_id: int
    rule: str
    severity: str
    field_path: str | None
    status: str
    message_vi: str
    message_en: str


def existing_issues(
    conn: Connection, ids: Sequence[int], *, full: bool
) -> dict[int, list[_Stored]]:
    query = select(
        ISSUE.c.id,
        ISSUE.c.submission_id,
        ISSUE.c.version_id,
        ISSUE.c.rule,
        ISSUE.c.severity,
        ISSUE.c.field_path,
        ISSUE.c.status,
        ISSUE.c.message_vi,
        ISSUE.c.message_en,
    )
    rows: Iterable[Row[Any]]
    if full:
        rows = conn.execute(query)
    else:
        rows = (
            row
            for chunk in chunks(sorted(ids), CHUNK)
            for row in conn.execute(query.where(ISSUE.c.submission_id.in_(chunk)))
        )
    out: dict[int, list[_Stored]] = {}
    wanted = set(ids)
    for row in rows:
        if row.submission_id in wanted:
            out.setdefault(row.submission_id, []).append(_Stored(**row._asdict()))
    return out


_UPDATE = (
    update(ISSUE)
    .where(ISSUE.c.id == bindparam("issue_id"))
    .values(
        severity=bindparam("new_severity"),
        message_vi=bindparam("new_vi"),
        message_en=bindparam("new_en"),
    )
)


def store_issues(
    conn: Connection, batch: Sequence[Record], existing: dict[int, list[_Stored]]
) -> ValidationSummary:
    summary = ValidationSummary(validated=len(batch))
    deletes: list[int] = []
    updates: list[dict[str, Any]] = []
    inserts: list[dict[str, Any]] = []
    now = utcnow()
    for rec in batch:
        fired = {(i.rule, i.field_path): i for i in rec.issues}
        matched: dict[tuple[str, str | None], _Stored] = {}
        # Overridden first, so a stray open twin of an overridden issue is the one dropped.
        old = sorted(existing.get(rec.id, ()), key=lambda e: (e.status != "overridden", e.id))
        for e in old:
            key = (e.rule, e.field_path)
            if e.version_id != rec.version_id:
                if e.status == "open":
                    deletes.append(e.id)  # an older version's open issue: the edit replaced it
                    summary.changed.add(rec.id)
                continue
            issue = fired.get(key)
            if issue is None or key in matched:
                deletes.append(e.id)
                summary.changed.add(rec.id)
                continue
            matched[key] = e
            if (e.severity, e.message_vi, e.message_en) != (
                issue.severity,
                issue.message_vi,
                issue.message_en,
            ):
                updates.append(
                    {
                        "issue_id": e.id,
                        "new_severity": issue.severity,
                        "new_vi": issue.message_vi,
                        "new_en": issue.message_en,
                    }
                )
                summary.changed.add(rec.id)
        blocked = False
        for key, issue in fired.items():
            summary.by_rule[issue.rule] += 1
            kept = matched.get(key)
            status = kept.status if kept is not None else "open"
            if issue.severity == "error" and status == "open":
                blocked = True
            if kept is None:
                inserts.append(
                    {
                        "submission_id": rec.id,
                        "version_id": rec.version_id,
                        "rule": issue.rule,
                        "severity": issue.severity,
                        "field_path": issue.field_path,
                        "message_vi": issue.message_vi,
                        "message_en": issue.message_en,
                        "status": "open",
                        "created_at": now,
                    }
                )
                summary.changed.add(rec.id)
        if blocked:
            summary.excluded.add(rec.id)
        summary.kept += len(matched)
    for chunk in chunks(deletes, CHUNK):
        conn.execute(delete(ISSUE).where(ISSUE.c.id.in_(chunk)))
    if updates:
        conn.execute(_UPDATE, updates)
    if inserts:
        conn.execute(insert(ISSUE), inserts)
    summary.deleted, summary.inserted = len(deletes), len(inserts)
    return summary


# --- review ------------------------------------------------------------------------------------


def override_issue(conn: Connection, issue_id: int, actor: str) -> None:
    """A reviewer accepts an issue: it stops excluding the record (an error) and stays accepted
    until the submission is edited. Audited; the submission's updated_at moves so incremental
    pipeline runs pick the change up. Overriding an overridden issue does nothing."""
    row = conn.execute(
        select(
            ISSUE.c.id,
            ISSUE.c.submission_id,
            ISSUE.c.version_id,
            ISSUE.c.rule,
            ISSUE.c.severity,
            ISSUE.c.field_path,
            ISSUE.c.status,
            SUB.c.instance_id,
            SUB.c.current_version_id,
        )
        .join(SUB, SUB.c.id == ISSUE.c.submission_id)
        .where(ISSUE.c.id == issue_id)
    ).first()
    if row is None:
        raise PipelineError(
            f"Không có vấn đề số {issue_id} (no validation issue {issue_id}): it may have been "
            "fixed by an edit; reload the submission."
        )
    if row.version_id != row.current_version_id:
        raise PipelineError(
            f"Vấn đề {issue_id} thuộc một phiên bản cũ của phiếu {row.instance_id} (issue "
            f"{issue_id} belongs to an older version of {row.instance_id}): review the current "
            "version's issues instead."
        )
    if row.status == "overridden":
        return
    now = utcnow()
    conn.execute(update(ISSUE).where(ISSUE.c.id == issue_id).values(status="overridden"))
    conn.execute(update(SUB).where(SUB.c.id == row.submission_id).values(updated_at=now))
    conn.execute(
        insert(AUDIT).values(
            at=now,
            actor=actor,
            action="issue.override",
            target=f"submission:{row.instance_id}",
            details={
                "issue_id": issue_id,
                "rule": row.rule,
                "severity": row.severity,
                "field_path": row.field_path,
                "version_id": row.version_id,
            },
        )
    )
