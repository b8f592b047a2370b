"""Run the rule catalogue (rules.py) over submissions and keep their issues up to date.

`validate_submissions` (re)computes the issues of the *current* version of some submissions, or
of all, and reconciles them with the `validation_issues` table:
- issues of older versions that are still open are deleted (the edit replaced them);
- an issue of the current version that no longer fires is deleted;
- an issue a reviewer overrode stays overridden while the same rule fires on the same field of
  the same version; a new version starts afresh;
- new findings are inserted as open.

The counting contract the indicator engine relies on (DESIGN §4): a submission is counted when
it is current, not deleted, its review state is not `rejected`, and its current version has no
issue of severity `error` with status `open`. `counted_condition()` is that rule in SQL.

Everything happens in the caller's transaction, with lookups loaded once and queries batched:
a full run over 100,000 submissions takes about ten seconds on a 2-core machine, and an
incremental run (the submissions that changed) reads only those, the recent history of their
form and commune, and their same-day neighbours (bench/validate.py has the figures).

Edits change other records' duplicate warnings, so an incremental run also rechecks the
submissions that share a form, commune and date with the ones asked for, and those whose
duplicate warning names one of them. Outlier warnings of *other* records are not revisited when
their history changes; a full run (`submission_ids=None`) recomputes everything.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    Connection,
    Date,
    Integer,
    Row,
    String,
    and_,
    bindparam,
    column,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
    values,
)
from sqlalchemy.sql.elements import ColumnElement

from pcmd.db.models import (
    utcnow,
)
from pcmd.db.tables import AUDIT, EST, FORM, FVER, ISSUE, ORG, SUB, VER
from pcmd.errors import PipelineError
from pcmd.forms import contract as c
from pcmd.pipeline.validate.rules import (
    OUTLIER_MIN_EXCESS,
    OUTLIER_WINDOW,
    Issue,
    Lookups,
    OrgEra,
    RegisterEntry,
    RuleContext,
    check_record,
    duplicate_key,
    size_of,
)

# Vietnam has one time zone and no daylight saving: "today" for an activity date is today there,
# whatever zone the server runs in (a session at 06:00 in Hà Nội is still yesterday in UTC).
VIETNAM = dt.timezone(dt.timedelta(hours=7), "ICT")
CHUNK = 2000  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits
# Up to this many submissions, an incremental run reads each one's recent history (one small
# query per record); above it, reading whole (form, commune) histories once is cheaper.
WINDOW_QUERY_MAX = 5000

T = TypeVar("T")


def vietnam_today() -> dt.date:
    return dt.datetime.now(VIETNAM).date()


def counted_condition() -> ColumnElement[bool]:
    """SQL for "this submission counts in the indicators" (DESIGN §4), on the `submissions`
    table: current, not deleted, not rejected, no open error on its current version."""
    blocking = exists().where(
        ISSUE.c.submission_id == SUB.c.id,
        ISSUE.c.version_id == SUB.c.current_version_id,
        ISSUE.c.severity == "error",
        ISSUE.c.status == "open",
    )
    return and_(
        SUB.c.deleted.is_(False),
        SUB.c.review_state != "rejected",
        SUB.c.current_version_id.is_not(None),
        ~blocking,
    )


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


@dataclass
class _Record:
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
class _Point:
    """A counted record outside the batch, as history for OUT_001."""

    form_pk: int
    commune: str
    day: dt.date
    id: int
    size: float


@dataclass(frozen=True)
class _Other:
    """A counted record outside the batch with the same form, commune and date as one in it."""

    form_id: str
    order: tuple[dt.datetime, int]
    instance_id: str
    device: str | None
    data: dict[str, Any]


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _aware(moment: dt.datetime) -> dt.datetime:
    # SQLite hands back naive UTC, PostgreSQL aware datetimes: compare them as aware UTC.
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


# --- loading -----------------------------------------------------------------------------------


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
    return Lookups.build(eras, register)


def _binds(conn: Connection) -> dict[tuple[int, str], dict[str, Any]]:
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


def _record(row: Row[Any]) -> _Record:
    data = row.data if isinstance(row.data, dict) else {}
    device = data.get(c.DEVICE_ID) or row.device_id
    received = _aware(row.received_at).astimezone(VIETNAM).date() if row.received_at else None
    return _Record(
        id=row.id,
        instance_id=row.instance_id,
        form_pk=row.form_pk,
        form_id=row.form_id,
        commune=row.commune_code,
        day=row.activity_date,
        review_state=row.review_state,
        submitted_at=_aware(row.submitted_at),
        version_id=row.version_id,
        form_version=row.form_version,
        data=data,
        device=device if isinstance(device, str) else None,
        received_on=received,
    )


def _load_batch(conn: Connection, ids: Sequence[int] | None) -> list[_Record]:
    if ids is None:
        return [_record(r) for r in conn.execute(_BATCH.order_by(SUB.c.id))]
    records: list[_Record] = []
    for chunk in _chunks(sorted(set(ids))):
        records.extend(_record(r) for r in conn.execute(_BATCH.where(SUB.c.id.in_(chunk))))
    return records


def _expand(conn: Connection, ids: Sequence[int]) -> list[int]:
    """The ids asked for, plus the submissions whose duplicate warning may change with them:
    the same form, commune and date, and those whose DUP_001 names one of them."""
    wanted = set(ids)
    other = SUB.alias("other")
    roots: set[str] = set()
    for chunk in _chunks(sorted(wanted)):
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


def _history_points(conn: Connection, batch: Sequence[_Record]) -> list[_Point]:
    """The counted records outside the batch that OUT_001 may compare the batch with, with
    only their size counts read from the JSON: decoding whole documents in Python would cost
    more than all the rest of an incremental run."""
    in_batch = {r.id for r in batch}
    columns = (
        SUB.c.id,
        SUB.c.form_pk,
        FORM.c.form_id,
        SUB.c.commune_code,
        SUB.c.activity_date,
        _size_parts(conn),
    )
    query = (
        select(*columns)
        .join(VER, VER.c.id == SUB.c.current_version_id)
        .join(FORM, FORM.c.id == SUB.c.form_pk)
        .where(counted_condition())
    )
    rows: list[Row[Any]] = []
    if len(batch) > WINDOW_QUERY_MAX:
        # A large batch: whole (form, commune) histories, read once.
        pairs = {(r.form_pk, r.commune) for r in batch if r.commune is not None}
        query = query.where(SUB.c.form_pk.in_(sorted({form_pk for form_pk, _ in pairs})))
        for communes in _chunks(sorted({commune for _, commune in pairs})):
            rows.extend(
                r
                for r in conn.execute(query.where(SUB.c.commune_code.in_(communes)))
                if (r.form_pk, r.commune_code) in pairs
            )
    else:
        # Ids first, from the submissions index alone; then the sizes of those rows only (a
        # join to the versions inside the windowed query reads every row before the LIMIT).
        for ids in _chunks(sorted(_recent_ids(conn, batch) - in_batch)):
            rows.extend(conn.execute(query.where(SUB.c.id.in_(ids))))
    points = []
    for r in rows:
        size = _size(r.form_id, r.parts)
        if r.id not in in_batch and size is not None and r.activity_date is not None:
            points.append(_Point(r.form_pk, r.commune_code, r.activity_date, r.id, size))
    return points


def _window_params(batch: Sequence[_Record]) -> list[dict[str, Any]]:
    """One window per batch record whose size could be an outlier: the latest counted records
    of its form and commune before it, and after the batch record before it in that pair, at
    most OUTLIER_WINDOW of them plus the batch records skipped in between. With those, every
    record's window is known (what lies before the previous batch record is that one's window),
    each row is read once, and a batch record (dropped afterwards: its stored issues may be
    stale) never takes the place of a record behind it."""
    by_pair: dict[tuple[int, str], list[tuple[dt.date, int, bool]]] = {}
    for rec in batch:
        if rec.commune is not None and rec.day is not None:
            size = size_of(rec.form_id, rec.data)
            # Below the minimum excess OUT_001 cannot fire, whatever the history: skip it.
            wanted = size is not None and size >= OUTLIER_MIN_EXCESS
            by_pair.setdefault((rec.form_pk, rec.commune), []).append((rec.day, rec.id, wanted))
    windows: list[dict[str, Any]] = []
    for (form_pk, commune), keys in by_pair.items():
        previous = (dt.date.min, 0)
        skipped = 0  # batch records since `previous`: they may sit in the range, taking places
        for day, sid, wanted in sorted(keys):
            if not wanted:
                skipped += 1
                continue
            windows.append(
                {
                    "form_pk": form_pk,
                    "commune": commune,
                    "day": day,
                    "sid": sid,
                    "after_day": previous[0],
                    "after_sid": previous[1],
                    "window": OUTLIER_WINDOW + skipped,
                }
            )
            previous, skipped = (day, sid), 0
    return windows


def _in_window(p: Any) -> list[ColumnElement[bool]]:
    """The conditions of one window, `p` giving its bounds (bind parameters or columns)."""
    return [
        counted_condition(),
        SUB.c.form_pk == p.form_pk,
        SUB.c.commune_code == p.commune,
        or_(
            SUB.c.activity_date < p.day,
            and_(SUB.c.activity_date == p.day, SUB.c.id < p.sid),
        ),
        or_(
            SUB.c.activity_date > p.after_day,
            and_(SUB.c.activity_date == p.after_day, SUB.c.id > p.after_sid),
        ),
    ]


class _Binds:
    """Window bounds as bind parameters, for one query per window."""

    form_pk = bindparam("form_pk", type_=Integer)
    commune = bindparam("commune", type_=String)
    day = bindparam("day", type_=Date)
    sid = bindparam("sid", type_=Integer)
    after_day = bindparam("after_day", type_=Date)
    after_sid = bindparam("after_sid", type_=Integer)


_NEWEST_FIRST = (SUB.c.activity_date.desc(), SUB.c.id.desc())


def _recent_ids(conn: Connection, batch: Sequence[_Record]) -> set[int]:
    """The ids of every window's records (see _window_params). Each window walks the index on
    (form_pk, commune_code, activity_date) backwards and stops when full: on SQLite one small
    query each, on PostgreSQL all of a chunk in one query (a LATERAL join), since there every
    query is a round trip."""
    windows = _window_params(batch)
    found: set[int] = set()
    if conn.dialect.name != "postgresql":
        recent = (
            select(SUB.c.id)
            .where(*_in_window(_Binds))
            .order_by(*_NEWEST_FIRST)
            .limit(bindparam("window"))
        )
        for params in windows:
            found.update(conn.execute(recent, params).scalars())
        return found
    names = ("form_pk", "commune", "day", "sid", "after_day", "after_sid", "window")
    types = (Integer, String, Date, Integer, Date, Integer, Integer)
    for chunk in _chunks(windows, 1000):
        bounds = values(
            *(column(n, t) for n, t in zip(names, types, strict=True)), name="bounds"
        ).data([tuple(w[n] for n in names) for w in chunk])
        lateral = (
            select(SUB.c.id)
            .where(*_in_window(bounds.c))
            .order_by(*_NEWEST_FIRST)
            .limit(bounds.c.window)
            .lateral("recent")
        )
        query = select(lateral.c.id).select_from(bounds).join(lateral, true())
        found.update(conn.execute(query).scalars())
    return found


# Every path some form's size reads (contract.SIZE), in one fixed order.
SIZE_PATHS = tuple(sorted({p for paths in c.SIZE.values() for p in paths}))


def _size_parts(conn: Connection) -> ColumnElement[Any]:
    """What a version's size is computed from. On SQLite, the SIZE_PATHS values as one JSON
    list, picked out by the database in one parse of the document (3.40 parses it again for
    every single-path json_extract). On PostgreSQL the document itself: its `json` type is
    re-parsed by every `->`, and the driver's decoding is faster than ten of those."""
    if conn.dialect.name == "postgresql":
        return VER.c.data.label("parts")
    paths = [literal(f'$."{p}"') for p in SIZE_PATHS]
    return func.json_extract(VER.c.data, *paths, type_=JSON).label("parts")


def _size(form_id: str, parts: object) -> float | None:
    if isinstance(parts, dict):
        return size_of(form_id, parts)
    if not isinstance(parts, list) or len(parts) != len(SIZE_PATHS):
        return None
    return size_of(form_id, dict(zip(SIZE_PATHS, parts, strict=True)))


def _same_day_others(conn: Connection, batch: Sequence[_Record]) -> list[_Other]:
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
    others: dict[int, _Other] = {}
    for chunk in _chunks(sorted(in_batch)):
        for row in conn.execute(query.where(this.c.id.in_(chunk))):
            if row.id in in_batch or row.id in others:
                continue
            data = row.data if isinstance(row.data, dict) else {}
            device = data.get(c.DEVICE_ID) or row.device_id
            others[row.id] = _Other(
                row.form_id,
                (_aware(row.submitted_at), row.id),
                row.instance_id,
                device if isinstance(device, str) else None,
                data,
            )
    return list(others.values())


# --- the run -----------------------------------------------------------------------------------


def validate_submissions(
    conn: Connection,
    submission_ids: Sequence[int] | None = None,
    *,
    today: dt.date | None = None,
) -> ValidationSummary:
    """Recompute the issues of the current version of `submission_ids` (None: every current,
    non-deleted submission) and store them, in the caller's transaction.

    `today` is the latest possible activity date (default: today in Vietnam); a version received
    earlier than that is held to the day it arrived.
    """
    today = today or vietnam_today()
    lookups = load_lookups(conn)
    binds = _binds(conn)
    ids = None if submission_ids is None else _expand(conn, submission_ids)
    batch = _load_batch(conn, ids)
    existing = _existing_issues(conn, [r.id for r in batch], full=ids is None)

    # 1. Each record's own rules; then which records count, which history and duplicates read.
    for rec in batch:
        ctx = _context(rec, lookups, binds, today)
        rec.issues = check_record(rec.data, ctx, cross=False)
        overridden = {
            (e.rule, e.field_path)
            for e in existing.get(rec.id, ())
            if e.version_id == rec.version_id and e.status == "overridden"
        }
        rec.counted = rec.review_state != "rejected" and not any(
            i.severity == "error" and (i.rule, i.field_path) not in overridden for i in rec.issues
        )
    # A full run has every record in the batch; otherwise read what the batch is compared with.
    points = [] if ids is None else _history_points(conn, batch)
    others = [] if ids is None else _same_day_others(conn, batch)
    histories = _histories(batch, points)
    duplicates = _duplicates(batch, others)

    # 2. The rules that read other records.
    for rec in batch:
        ctx = replace(
            _context(rec, lookups, binds, today),
            history=_history_before(histories, rec),
            duplicate_of=duplicates.get(rec.id),
        )
        rec.issues.extend(check_record(rec.data, ctx, cross=True))

    return _store(conn, batch, existing)


def _context(
    rec: _Record,
    lookups: Lookups,
    binds: dict[tuple[int, str], dict[str, Any]],
    today: dt.date,
) -> RuleContext:
    limit = min(today, rec.received_on) if rec.received_on else today
    return RuleContext(rec.form_id, lookups, limit, binds.get((rec.form_pk, rec.form_version), {}))


# (form_pk, commune) → [(date, id), …] and the sizes in the same order, counted records only.
_History = dict[tuple[int, str], tuple[list[tuple[dt.date, int]], list[float]]]


def _histories(batch: Sequence[_Record], points: Sequence[_Point]) -> _History:
    by_pair: dict[tuple[int, str], list[tuple[dt.date, int, float]]] = {}
    for rec in batch:
        size = size_of(rec.form_id, rec.data)
        if rec.counted and rec.commune and rec.day and size is not None:
            by_pair.setdefault((rec.form_pk, rec.commune), []).append((rec.day, rec.id, size))
    for p in points:
        by_pair.setdefault((p.form_pk, p.commune), []).append((p.day, p.id, p.size))
    out: _History = {}
    for key, items in by_pair.items():
        items.sort()
        out[key] = ([(d, i) for d, i, _ in items], [s for _, _, s in items])
    return out


def _history_before(histories: _History, rec: _Record) -> Sequence[float]:
    if rec.commune is None or rec.day is None:
        return ()
    found = histories.get((rec.form_pk, rec.commune))
    if found is None:
        return ()
    keys, sizes = found
    end = bisect.bisect_left(keys, (rec.day, rec.id))
    return sizes[max(0, end - OUTLIER_WINDOW) : end]


def _duplicates(batch: Sequence[_Record], others: Sequence[_Other]) -> dict[int, str]:
    """Batch id → instanceID of the earliest counted record of the same activity that arrived
    before it from another device."""
    groups: dict[tuple[object, ...], list[tuple[tuple[dt.datetime, int], str, str | None]]] = {}
    for rec in batch:
        rec.duplicate_key = key = duplicate_key(rec.form_id, rec.data)
        if key is not None and rec.counted:
            groups.setdefault(key, []).append((rec.order, rec.instance_id, rec.device))
    for other in others:
        key = duplicate_key(other.form_id, other.data)
        if key is not None:
            groups.setdefault(key, []).append((other.order, other.instance_id, other.device))
    out: dict[int, str] = {}
    for rec in batch:
        key = rec.duplicate_key
        if key is None or key not in groups:
            continue
        earlier = [
            (order, iid)
            for order, iid, device in groups[key]
            if order < rec.order
            # A record from the same phone may be a second session; an unknown device may not.
            and (device is None or rec.device is None or device != rec.device)
        ]
        if earlier:
            out[rec.id] = min(earlier)[1]
    return out


# --- storing -----------------------------------------------------------------------------------


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


def _existing_issues(
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
            for chunk in _chunks(sorted(ids))
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


def _store(
    conn: Connection, batch: Sequence[_Record], existing: dict[int, list[_Stored]]
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
    for chunk in _chunks(deletes):
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
