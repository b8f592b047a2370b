"""Loading what a run validates: the lookups and form binds, the batch of current records (widened
by `expand` when incremental), and the counted records outside it that share a form, commune and
date with one in it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from sqlalchemy import Connection, Row, and_, select

from pcmd.db.chunks import chunks
from pcmd.db.tables import CASES, EST, FORM, FVER, ISSUE, ORG, SUB, VER
from pcmd.forms import contract as c
from pcmd.masterdata.periods import VIETNAM
from pcmd.pipeline.validate.context import Lookups, OrgEra, RegisterEntry
from pcmd.pipeline.validate.counted import counted_condition
from pcmd.pipeline.validate.registry import Issue

CHUNK = 2000  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits

T = TypeVar("T")


@dataclass
class Record:
    id: int
    instance_id: str
    form_pk: int
    form_id: str
    commune: str | None
    day: dt.date | None  # submissions.activity_date
    review_state: str
    submitted_at: dt.datetime
    version_id: int
    form_version: str
    data: dict[str, Any]
    device: str | None
    received_on: dt.date | None
    issues: list[Issue] = field(default_factory=list)
    counted: bool = True
    duplicate_key: tuple[object, ...] | None = None

    @property
    def order(self) -> tuple[dt.datetime, int]:
        return (self.submitted_at, self.id)


@dataclass(frozen=True)
class Other:
    """A counted record outside the batch with the same form, commune and date as one in it."""

    form_id: str
    order: tuple[dt.datetime, int]
    instance_id: str
    device: str | None
    data: dict[str, Any]


def aware(moment: dt.datetime) -> dt.datetime:
    # SQLite hands back naive UTC, PostgreSQL aware datetimes: compare them as aware UTC.
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def load_lookups(conn: Connection) -> Lookups:
    """Every org-unit era and the whole register, once per run."""
    eras = [
        OrgEra(r.code, r.level, r.parent_code, r.valid_from, r.valid_to, r.latitude, r.longitude)
        for r in conn.execute(
            select(
                ORG.c.code,
                ORG.c.level,
                ORG.c.parent_code,
                ORG.c.valid_from,
                ORG.c.valid_to,
                ORG.c.latitude,
                ORG.c.longitude,
            )
        )
    ]
    register = {
        r.id: RegisterEntry(r.status, r.commune_code)
        for r in conn.execute(select(EST.c.id, EST.c.status, EST.c.commune_code))
    }
    # a case by its entity id and by the id the phone gave it (a step may name either)
    cases: dict[str, dt.date] = {}
    for r in conn.execute(
        select(CASES.c.entity_id, CASES.c.alias, SUB.c.activity_date)
        .join(SUB, SUB.c.id == CASES.c.submission_id)
        .where(
            SUB.c.deleted.is_(False),
            SUB.c.review_state != "rejected",
            SUB.c.activity_date.is_not(None),
        )
    ):
        cases[r.entity_id] = r.activity_date
        if r.alias:
            cases.setdefault(r.alias, r.activity_date)
    return replace(Lookups.build(eras, register), cases=cases)


def load_binds(conn: Connection) -> dict[tuple[int, str], dict[str, Any]]:
    rows = conn.execute(select(FVER.c.form_pk, FVER.c.version, FVER.c.fields))
    return {(r.form_pk, r.version): r.fields or {} for r in rows}


_BATCH = (
    select(
        SUB.c.id,
        SUB.c.instance_id,
        SUB.c.form_pk,
        FORM.c.form_id,
        SUB.c.commune_code,
        SUB.c.activity_date,
        SUB.c.review_state,
        SUB.c.submitted_at,
        VER.c.id.label("version_id"),
        VER.c.form_version,
        VER.c.data,
        VER.c.device_id,
        VER.c.received_at,
    )
    .join(VER, VER.c.id == SUB.c.current_version_id)
    .join(FORM, FORM.c.id == SUB.c.form_pk)
    .where(SUB.c.deleted.is_(False))
)


def _record(row: Row[Any]) -> Record:
    data = row.data if isinstance(row.data, dict) else {}
    device = data.get(c.DEVICE_ID) or row.device_id
    received = aware(row.received_at).astimezone(VIETNAM).date() if row.received_at else None
    return Record(
        id=row.id,
        instance_id=row.instance_id,
        form_pk=row.form_pk,
        form_id=row.form_id,
        commune=row.commune_code,
        day=row.activity_date,
        review_state=row.review_state,
        submitted_at=aware(row.submitted_at),
        version_id=row.version_id,
        form_version=row.form_version,
        data=data,
        device=device if isinstance(device, str) else None,
        received_on=received,
    )


def load_batch(conn: Connection, ids: Sequence[int] | None) -> list[Record]:
    if ids is None:
        return [_record(r) for r in conn.execute(_BATCH.order_by(SUB.c.id))]
    records: list[Record] = []
    for chunk in chunks(sorted(set(ids)), CHUNK):
        records.extend(_record(r) for r in conn.execute(_BATCH.where(SUB.c.id.in_(chunk))))
    return records


def expand(conn: Connection, ids: Sequence[int]) -> list[int]:
    """The ids asked for, plus the submissions whose duplicate warning may change with them:
    the same form, commune and date, and those whose DUP_001 names one of them."""
    wanted = set(ids)
    other = SUB.alias("other")
    roots: set[str] = set()
    for chunk in chunks(sorted(wanted), CHUNK):
        same_day = (
            select(other.c.id)
            .join(
                SUB,
                and_(
                    other.c.form_pk == SUB.c.form_pk,
                    other.c.commune_code == SUB.c.commune_code,
                    other.c.activity_date == SUB.c.activity_date,
                ),
            )
            .where(SUB.c.id.in_(chunk), other.c.deleted.is_(False))
        )
        wanted.update(conn.execute(same_day).scalars())
        roots.update(conn.execute(select(SUB.c.instance_id).where(SUB.c.id.in_(chunk))).scalars())
    # Few submissions carry a duplicate warning: reading them all beats a LIKE per instance.
    dup_issues = conn.execute(
        select(ISSUE.c.submission_id, ISSUE.c.message_en).where(ISSUE.c.rule == "DUP_001")
    )
    for row in dup_issues:
        if not roots.isdisjoint(row.message_en.replace(",", " ").split()):
            wanted.add(row.submission_id)
    return sorted(wanted)


def same_day_others(conn: Connection, batch: Sequence[Record]) -> list[Other]:
    """Counted records outside the batch sharing a form, commune and date with one in it."""
    in_batch = {r.id for r in batch}
    this = SUB.alias("this")
    query = (
        select(
            SUB.c.id,
            SUB.c.instance_id,
            SUB.c.submitted_at,
            FORM.c.form_id,
            VER.c.data,
            VER.c.device_id,
        )
        .join(
            this,
            and_(
                SUB.c.form_pk == this.c.form_pk,
                SUB.c.commune_code == this.c.commune_code,
                SUB.c.activity_date == this.c.activity_date,
            ),
        )
        .join(VER, VER.c.id == SUB.c.current_version_id)
        .join(FORM, FORM.c.id == SUB.c.form_pk)
        .where(counted_condition())
    )  # no DISTINCT: PostgreSQL cannot compare json values; repeats are dropped below
    others: dict[int, Other] = {}
    for chunk in chunks(sorted(in_batch), CHUNK):
        for row in conn.execute(query.where(this.c.id.in_(chunk))):
            if row.id in in_batch or row.id in others:
                continue
            data = row.data if isinstance(row.data, dict) else {}
            device = data.get(c.DEVICE_ID) or row.device_id
            others[row.id] = Other(
                row.form_id,
                (aware(row.submitted_at), row.id),
                row.instance_id,
                device if isinstance(device, str) else None,
                data,
            )
    return list(others.values())
