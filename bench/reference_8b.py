"""The row-by-row reference for the indicators of DESIGN §8b (TG1 … BC2), written apart from
pcmd's normalisation and engine, for bench/pipeline.py's `reference_rows`.

It reads the counted records of the five forms of §6b one by one and works out, for any org
unit and period: cases received, due, handled in time and overdue on the period's reference
day; criminal cases prosecuted (the last received monthly report of a commune-month) and their
change on the same period a year earlier; distinct persons in need supported; communes with a
plan of the period's last year and with one integrated; monthly reports received by the 5th of
the next month. It also says which commune-periods the records of §6b put in BC1 and which
stored cells only shifted quantities (a year earlier, the last year's plans) make present.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

NEW_FORMS = ("pcmd_case", "pcmd_case_update", "pcmd_monthly", "pcmd_support", "pcmd_plan")
ORDER_8B = ("TG1", "TG2", "TG3", "TP1", "TP2", "HT1", "HT2", "KH1", "KH2", "BC2")
PERCENT_8B = ("TG1", "TP2", "HT1", "KH1", "KH2", "BC2")
TARGETS_8B = {"TG1": 100, "TP2": 3, "HT1": 60, "KH1": 100, "KH2": 50, "BC2": 100}
VN = dt.timezone(dt.timedelta(hours=7))
BC2_FROM = 202507


def key_of(text: str) -> str:
    return text.strip().removeprefix("uuid:").lower()


def plus_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _date(value: Any) -> dt.date | None:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def bounds(period: str) -> tuple[dt.date, dt.date]:
    """First and last day of a period code."""
    if "-" in period:
        return dt.date(int(period[:4]), 1, 1), dt.date(int(period[5:]), 12, 31)
    if "Q" in period:
        year, q = int(period[:4]), int(period[-1])
        last = 3 * q
        return dt.date(year, last - 2, 1), dt.date(year, last, calendar.monthrange(year, last)[1])
    if len(period) == 6:
        year, month = int(period[:4]), int(period[4:])
        return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])
    return dt.date(int(period), 1, 1), dt.date(int(period), 12, 31)


def year_before(period: str) -> str | None:
    if "-" in period:
        return None
    return f"{int(period[:4]) - 1}{period[4:]}"


@dataclass
class Facts:
    """The records of §6b as they count, one Python object per case, report, plan."""

    cases: list[tuple[str, str, dt.date, dt.date, dt.date | None]] = field(default_factory=list)
    steps: list[tuple[str, str, dt.date]] = field(default_factory=list)  # commune, prov, day
    monthly: dict[tuple[str, dt.date], tuple[str, int, bool]] = field(default_factory=dict)
    plans: dict[tuple[str, int], tuple[str, bool, bool]] = field(default_factory=dict)
    support: list[tuple[str, str, dt.date, str | None, bool]] = field(default_factory=list)


def facts(rows: Iterable[Any], parent: dict[str, str], aliases: dict[str, str]) -> Facts:
    """Counted records of §6b (id, form_id, commune_code, activity_date, data, submitted_at,
    instance_id) → what counts of them."""
    out = Facts()
    cases: dict[str, tuple[str, str, dt.date]] = {}
    steps: list[tuple[str, str, str, dt.date, Any]] = []
    reports: dict[tuple[str, dt.date], list[Any]] = defaultdict(list)
    plans: dict[tuple[str, int], list[Any]] = defaultdict(list)
    for r in rows:
        province = parent.get(r.commune_code)
        if province is None or r.activity_date is None:
            continue
        data = r.data if isinstance(r.data, dict) else {}
        if r.form_id == "pcmd_case":
            cases[key_of(r.instance_id)] = (r.commune_code, province, r.activity_date)
        elif r.form_id == "pcmd_case_update":
            ref = data.get("case")
            if isinstance(ref, str) and ref.strip():
                ref = aliases.get(key_of(ref), key_of(ref))
                steps.append((ref, r.commune_code, province, r.activity_date, data.get("step")))
        elif r.form_id == "pcmd_monthly":
            reports[(r.commune_code, r.activity_date)].append(r)
        elif r.form_id == "pcmd_plan":
            plans[(r.commune_code, r.activity_date.year)].append(r)
        elif r.form_id == "pcmd_support":
            key = data.get("uic/key")
            need = data.get("in_need_eligible") == "yes"
            out.support.append((r.commune_code, province, r.activity_date, key, need))
    by_case: dict[str, list[tuple[dt.date, str]]] = defaultdict(list)
    for ref, commune, province, day, step in steps:
        if ref in cases and cases[ref][0] == commune:
            by_case[ref].append((day, step))
            out.steps.append((commune, province, day))
    for key, (commune, province, received) in cases.items():
        normal = received + dt.timedelta(days=20)
        extended = any(d <= normal for d, s in by_case[key] if s == "gia_han")
        deadline = plus_months(received, 2) if extended else normal
        handled = [d for d, s in by_case[key] if s in ("xu_ly_xong", "chuyen")]
        out.cases.append((commune, province, received, deadline, min(handled, default=None)))
    for (commune, month), group in reports.items():
        last = max(group, key=lambda r: (_utc(r.submitted_at), r.id))
        first = min(_utc(r.submitted_at) for r in group).astimezone(VN).date()
        due = plus_months(month.replace(day=1), 1).replace(day=5)
        prosecuted = _int(last.data.get("crime/n_cases_prosecuted"))
        out.monthly[(commune, month.replace(day=1))] = (parent[commune], prosecuted, first <= due)
    for (commune, year), group in plans.items():
        last = max(group, key=lambda r: (_utc(r.submitted_at), r.id))
        issued = last.data.get("plan_issued") == "yes"
        chosen = last.data.get("integrated_with") or []
        chosen = chosen.split() if isinstance(chosen, str) else list(chosen)
        integrated = issued and any(x != "khong" for x in chosen)
        out.plans[(commune, year)] = (parent[commune], issued, integrated)
    return out


def in_org(org: str, commune: str, province: str) -> bool:
    return org in (commune, province, "VN")


def presence(f: Facts) -> list[tuple[str, str, dt.date]]:
    """(commune, province, day) of every record of §6b that counts (for BC1 and the cells)."""
    out = [(c, p, d) for c, p, d, _dl, _h in f.cases]
    out += f.steps
    out += [(c, p, m) for (c, m), (p, _n, _t) in f.monthly.items()]
    out += [(c, p, dt.date(y, 1, 1)) for (c, y), (p, _i, _g) in f.plans.items()]
    out += [(c, p, d) for c, p, d, _k, _n in f.support]
    return out


def shifted_present(f: Facts, org: str, period: str, today: dt.date) -> bool:
    """Whether only a shifted quantity (TP2's year earlier, KH's last-year plans) is > 0."""
    before = year_before(period)
    if before is not None and tp1(f, org, before) > 0:
        return True
    last = bounds(period)[1].year
    return any(
        issued and in_org(org, c, p) for (c, y), (p, issued, _g) in f.plans.items() if y == last
    )


def tp1(f: Facts, org: str, period: str) -> int:
    lo, hi = bounds(period)
    return sum(n for (c, m), (p, n, _t) in f.monthly.items() if lo <= m <= hi and in_org(org, c, p))


def numbers(
    f: Facts,
    org: str,
    period: str,
    today: dt.date,
    communes: int,
    reference: Callable[[str, str, int], float | None],
) -> dict[str, tuple[float, float | None]]:
    """indicator → (numerator, denominator) of §8b for one cell."""
    lo, hi = bounds(period)
    r_day = min(hi, today)
    due = in_time = overdue = received = 0
    for c, p, got, deadline, handled in f.cases:
        if not (lo <= got <= hi and in_org(org, c, p)):
            continue
        received += 1
        by_r = handled is not None and handled <= r_day
        due += r_day > deadline or by_r
        in_time += by_r and handled is not None and handled <= deadline
        overdue += r_day > deadline and not by_r
    before = year_before(period)
    keys = {
        k for c, p, d, k, need in f.support if need and k and lo <= d <= hi and in_org(org, c, p)
    }
    visits = sum(1 for c, p, d, _k, _n in f.support if lo <= d <= hi and in_org(org, c, p))
    year = hi.year
    plans = [(i, g) for (c, y), (p, i, g) in f.plans.items() if y == year and in_org(org, c, p)]
    previous = today.replace(day=1) - dt.timedelta(days=1)
    last_ended = previous.year * 100 + previous.month
    ended = []
    month = lo
    while month <= hi:
        code = month.year * 100 + month.month
        if BC2_FROM <= code <= last_ended:
            ended.append(month)
        month = plus_months(month, 1)
    on_time = sum(
        1 for (c, m), (p, _n, t) in f.monthly.items() if t and m in ended and in_org(org, c, p)
    )
    return {
        "TG1": (float(in_time), float(due)),
        "TG2": (float(received), None),
        "TG3": (float(overdue), None),
        "TP1": (float(tp1(f, org, period)), None),
        "TP2": (
            float(tp1(f, org, period)),
            None if before is None else float(tp1(f, org, before)),
        ),
        "HT1": (float(len(keys)), reference("sex_workers_in_need", org, year)),
        "HT2": (float(visits), None),
        "KH1": (float(sum(1 for i, _g in plans if i)), float(communes)),
        "KH2": (float(sum(1 for _i, g in plans if g)), float(communes)),
        "BC2": (float(on_time), float(communes * len(ended))),
    }
