"""Normalisation of the forms whose fact rows depend on other records (DESIGN §6b, §8b):

- `pcmd_monthly` and `pcmd_plan`: of several counted reports of one commune and month (plans:
  year), the one received last counts — one fact row per commune and month, the others stay
  submissions. A monthly row also keeps the Vietnam date the *first* counted report of its
  commune-month reached the server (`submitted_at`: the receipt, or for Kobo/Central the source
  server's own submission time) and whether that was by the 5th of the next month (BC2).
- `pcmd_case` and `pcmd_case_update`: a case's steps count only while the case counts, and only
  in the case's commune; the case's row keeps its deadline D (received + 20 days, or + 2
  calendar months clamped to the month's end when a counted `gia_han` step is dated within
  those 20 days) and its handled date H (the earliest counted `xu_ly_xong` or `chuyen` step).

Whatever changed, the whole group (a commune-month, a case with its steps) is worked out again,
so the rows never depend on the order records arrived in.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, or_, select

from pcmd.db.chunks import chunks
from pcmd.db.facts import FACT_TABLES
from pcmd.db.one_of import one_of
from pcmd.db.tables import CASES, FORM, SUB, VER
from pcmd.forms import contract as c
from pcmd.forms.entities import add_months, case_key
from pcmd.masterdata.periods import VIETNAM
from pcmd.pipeline.normalise import SHAPES, NormaliseResult, Places, _insert, _text, month_number
from pcmd.pipeline.validate.counted import counted_condition
from pcmd.pipeline.validate.values import as_date

LATEST = (c.MONTHLY, c.PLAN)  # the last received of a commune and month counts
CASE_FORMS = (c.CASE, c.CASE_UPDATE)
GROUPED = (*LATEST, *CASE_FORMS)
CASE_DAYS = 20  # time limit for settling a denunciation or crime report
EXTENSION_MONTHS = 2
REPORT_DUE_DAY = 5  # a monthly report is on time by the end of the 5th of the next month
CHUNK = 900


def deadline_of(received: dt.date, extensions: Iterable[dt.date]) -> tuple[dt.date, bool]:
    """The case's deadline, and whether a `gia_han` step extended it."""
    normal = received + dt.timedelta(days=CASE_DAYS)
    if any(day <= normal for day in extensions):
        return add_months(received, EXTENSION_MONTHS), True
    return normal, False


def vietnam_date(moment: dt.datetime) -> dt.date:
    if moment.tzinfo is None:  # stored in UTC (SQLite gives it back without a zone)
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(VIETNAM).date()


def report_due(month_start: dt.date) -> dt.date:
    """The last day a monthly report of that month is on time: the 5th of the next month."""
    return add_months(month_start.replace(day=1), 1).replace(day=REPORT_DUE_DAY)


def _counted(conn: Connection, form_ids: Sequence[str], *conds: Any) -> list[Any]:
    query = (
        select(
            SUB.c.id,
            SUB.c.current_version_id,
            SUB.c.commune_code,
            SUB.c.activity_date,
            SUB.c.submitted_at,
            SUB.c.instance_id,
            FORM.c.form_id,
            VER.c.data,
        )
        .join(FORM, FORM.c.id == SUB.c.form_pk)
        .join(VER, VER.c.id == SUB.c.current_version_id)
        .where(counted_condition(), FORM.c.form_id.in_(list(form_ids)), *conds)
        .order_by(SUB.c.id)
    )
    return list(conn.execute(query).all())


def _row(places: Places, sub: Any, result: NormaliseResult) -> list[Any] | None:
    """A fact row of the submission (derived columns still empty), or None if unplaced."""
    day = sub.activity_date
    province = places.province(sub.commune_code, day) if sub.commune_code and day else None
    if province is None:
        result.unplaced += 1
        return None
    data = sub.data if isinstance(sub.data, dict) else {}
    return [
        sub.id,
        sub.current_version_id,
        sub.commune_code,
        province,
        day,
        month_number(day),
        _text(data.get("reporter_org"), 32),
        *SHAPES[sub.form_id].values(data),
    ]


def _set(form_id: str, row: list[Any], column: str, value: Any) -> None:
    row[SHAPES[form_id].columns.index(column)] = value


def _forget(conn: Connection, form_id: str, cond: Any, result: NormaliseResult) -> None:
    table = FACT_TABLES[form_id]
    old = conn.execute(
        select(table.c.commune_code, table.c.month, table.c.province_code).where(cond)
    ).all()
    result.cells.update((r.commune_code, r.month, r.province_code) for r in old)
    conn.execute(delete(table).where(cond))


def _write(conn: Connection, by_form: dict[str, list[list[Any]]], result: NormaliseResult) -> None:
    for rows in by_form.values():
        result.cells.update((r[2], r[5], r[3]) for r in rows)
    result.written += _insert(conn, by_form)


# --- the last received of a commune and month -------------------------------------------------


def _latest(
    conn: Connection, ids: Sequence[int] | None, places: Places, result: NormaliseResult
) -> None:
    for form_id in LATEST:
        table = FACT_TABLES[form_id]
        if ids is None:
            _forget(conn, form_id, table.c.submission_id.is_not(None), result)
            _latest_groups(conn, form_id, _counted(conn, [form_id]), None, places, result)
            continue
        groups: set[tuple[str, int]] = set()
        for chunk in chunks(ids, CHUNK):
            old = conn.execute(
                select(table.c.commune_code, table.c.month).where(
                    one_of(conn.dialect.name, table.c.submission_id, chunk)
                )
            ).all()
            groups.update((r.commune_code, r.month) for r in old)
            new = conn.execute(
                select(SUB.c.commune_code, SUB.c.activity_date)
                .join(FORM, FORM.c.id == SUB.c.form_pk)
                .where(one_of(conn.dialect.name, SUB.c.id, chunk), FORM.c.form_id == form_id)
            ).all()
            groups.update(
                (r.commune_code, month_number(r.activity_date))
                for r in new
                if r.commune_code and r.activity_date
            )
        for batch in chunks(sorted(groups), CHUNK):
            cond = or_(*(and_(table.c.commune_code == g, table.c.month == m) for g, m in batch))
            _forget(conn, form_id, cond, result)
            communes = sorted({g for g, _m in batch})
            days = [dt.date(m // 100, m % 100, 1) for _g, m in batch]
            subs = _counted(
                conn,
                [form_id],
                SUB.c.commune_code.in_(communes),
                SUB.c.activity_date.between(min(days), _month_end(max(days))),
            )
            _latest_groups(conn, form_id, subs, set(batch), places, result)


def _month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _latest_groups(
    conn: Connection,
    form_id: str,
    subs: Sequence[Any],
    wanted: set[tuple[str, int]] | None,
    places: Places,
    result: NormaliseResult,
) -> None:
    groups: dict[tuple[str, int], list[Any]] = {}
    for sub in subs:
        if not sub.commune_code or sub.activity_date is None:
            result.unplaced += 1
            continue
        key = (sub.commune_code, month_number(sub.activity_date))
        if wanted is None or key in wanted:
            groups.setdefault(key, []).append(sub)
    rows: list[list[Any]] = []
    for members in groups.values():
        last = max(members, key=lambda s: (_utc(s.submitted_at), s.id))
        row = _row(places, last, result)
        if row is None:
            continue
        if form_id == c.MONTHLY:
            first = vietnam_date(min(_utc(s.submitted_at) for s in members))
            _set(form_id, row, "first_received", first)
            on_time = first <= report_due(last.activity_date)
            _set(form_id, row, "on_time", "yes" if on_time else "no")
        rows.append(row)
    _write(conn, {form_id: rows}, result)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


# --- cases and their steps --------------------------------------------------------------------


def _cases(
    conn: Connection, ids: Sequence[int] | None, places: Places, result: NormaliseResult
) -> None:
    cases_t, steps_t = FACT_TABLES[c.CASE], FACT_TABLES[c.CASE_UPDATE]
    if ids is None:
        _forget(conn, c.CASE, cases_t.c.submission_id.is_not(None), result)
        _forget(conn, c.CASE_UPDATE, steps_t.c.submission_id.is_not(None), result)
        _case_groups(
            conn, _counted(conn, [c.CASE]), _counted(conn, [c.CASE_UPDATE]), places, result
        )
        return
    keys: set[str] = set()
    for chunk in chunks(ids, CHUNK):
        keys.update(
            r[0]
            for r in conn.execute(
                select(steps_t.c.case_ref).where(
                    one_of(conn.dialect.name, steps_t.c.submission_id, chunk)
                )
            ).all()
            if r[0]
        )
        rows = conn.execute(
            select(SUB.c.instance_id, FORM.c.form_id, VER.c.data)
            .join(FORM, FORM.c.id == SUB.c.form_pk)
            .outerjoin(VER, VER.c.id == SUB.c.current_version_id)
            .where(one_of(conn.dialect.name, SUB.c.id, chunk), FORM.c.form_id.in_(list(CASE_FORMS)))
        ).all()
        for r in rows:
            if r.form_id == c.CASE:
                keys.add(case_key(r.instance_id))
            elif isinstance(r.data, dict) and isinstance(r.data.get(c.CASE_REF), str):
                keys.add(case_key(r.data[c.CASE_REF]))
    aliases = _resolve(conn, keys)
    keys = {aliases.get(k, k) for k in keys}
    for batch in chunks(sorted(keys), CHUNK):
        _forget(conn, c.CASE, cases_t.c.case_id.in_(batch), result)
        _forget(conn, c.CASE_UPDATE, steps_t.c.case_ref.in_(batch), result)
        instance_ids = [*batch, *(f"uuid:{k}" for k in batch)]
        cases = _counted(conn, [c.CASE], SUB.c.instance_id.in_(instance_ids))
        communes = sorted({s.commune_code for s in cases if s.commune_code})
        steps = (
            _counted(conn, [c.CASE_UPDATE], SUB.c.commune_code.in_(communes)) if communes else []
        )
        _case_groups(conn, cases, steps, places, result)


def _resolve(conn: Connection, refs: Iterable[str]) -> dict[str, str]:
    """Step references that are a phone's own id for a case (the entity list's alias) → the
    case's entity id; a reference that is already an entity id is not in the result."""
    out: dict[str, str] = {}
    for chunk in chunks(sorted(set(refs)), CHUNK):
        rows = conn.execute(
            select(CASES.c.alias, CASES.c.entity_id).where(CASES.c.alias.in_(chunk))
        )
        out.update({r.alias: r.entity_id for r in rows})
    return out


def _case_groups(
    conn: Connection,
    cases: Sequence[Any],
    steps: Sequence[Any],
    places: Places,
    result: NormaliseResult,
) -> None:
    refs: dict[int, str] = {}
    for step in steps:
        ref = step.data.get(c.CASE_REF) if isinstance(step.data, dict) else None
        if isinstance(ref, str) and ref.strip():
            refs[step.id] = case_key(ref)
    aliases = _resolve(conn, refs.values())
    steps_of: dict[str, list[Any]] = {}
    for step in steps:
        if step.id in refs:
            steps_of.setdefault(aliases.get(refs[step.id], refs[step.id]), []).append(step)
    by_form: dict[str, list[list[Any]]] = {c.CASE: [], c.CASE_UPDATE: []}
    for case in cases:
        key = case_key(case.instance_id)
        row = _row(places, case, result)
        if row is None:
            continue
        # a step counts only in its case's commune, and only while the case counts
        own = [s for s in steps_of.get(key, []) if s.commune_code == case.commune_code]
        extensions, handled = [], []
        for step in own:
            day = as_date(step.data.get(c.STEP_DATE))
            chosen = step.data.get(c.STEP)
            if day is None:
                continue
            if chosen == c.STEP_EXTEND:
                extensions.append(day)
            elif chosen in c.HANDLED_STEPS:
                handled.append(day)
        deadline, extended = deadline_of(case.activity_date, extensions)
        _set(c.CASE, row, "case_id", key)
        _set(c.CASE, row, "deadline", deadline)
        _set(c.CASE, row, "handled_date", min(handled) if handled else None)
        _set(c.CASE, row, "extended", "yes" if extended else "no")
        by_form[c.CASE].append(row)
        for step in own:
            step_row = _row(places, step, result)
            if step_row is not None:
                _set(c.CASE_UPDATE, step_row, "case_ref", key)
                by_form[c.CASE_UPDATE].append(step_row)
    _write(conn, by_form, result)


def normalise_groups(
    conn: Connection, ids: Sequence[int] | None, places: Places, result: NormaliseResult
) -> None:
    """Bring the grouped forms' fact rows in line with what counts now: every group any of
    `ids` (None: every submission) belonged to before or belongs to now."""
    _latest(conn, ids, places, result)
    _cases(conn, ids, places, result)
