"""The demo province's records of DESIGN §6b, generated: denunciations in every state with their
steps (handled in time, extended, transferred, handled late, overdue, just received), each
commune's monthly reports (most on time, some late, some with nothing to report, a few missing
or corrected), support records with the same persons coming back, and annual plans (with and
without integration). Seeded by the caller's generator; every record is instance XML as ODK
Collect sends it, with the time the server received it. No person is named: a support record
holds only the four code answers, which ingest replaces by their key.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator, Mapping, Sequence

VN = dt.timezone(dt.timedelta(hours=7))
KINDS = ("to_giac", "tin_bao", "khieu_nai", "kien_nghi")
SOURCES = ("nguoi_dan", "co_quan", "duong_day_nong", "bao_chi", "mang_xa_hoi")
SUMMARIES = (
    "Phản ánh nghi có hoạt động mua bán dâm tại cơ sở lưu trú",
    "Tin báo về quảng cáo dịch vụ mại dâm trên mạng xã hội",
    "Khiếu nại về việc cơ sở karaoke hoạt động quá giờ",
    "Kiến nghị tăng cường kiểm tra khu vực bến xe",
)
# A case's course: (steps as (name, days after receipt)), weight. gia_han within 20 days
# extends the deadline by two months; xu_ly_xong or chuyen settles it.
COURSES: tuple[tuple[tuple[tuple[str, int], ...], int], ...] = (
    ((("xac_minh", 3), ("xu_ly_xong", 14)), 40),
    ((("phan_loai", 2), ("chuyen", 6)), 10),
    ((("xac_minh", 4), ("gia_han", 15), ("xu_ly_xong", 45)), 15),
    ((("xac_minh", 5), ("xu_ly_xong", 29)), 10),
    ((("xac_minh", 6),), 15),
    ((), 10),
)
OUTCOMES = ("xu_phat_hanh_chinh", "khoi_to", "khong_vi_pham", "chuyen_co_quan_khac")
SERVICES = ("y_te", "xet_nghiem", "tam_ly", "phap_ly", "hoc_nghe", "viec_lam", "tro_cap")
PROVIDERS = ("co_so_tro_giup", "nhom_dong_dang", "y_te", "to_chuc_xa_hoi")
INTEGRATIONS = ("kt_xh", "an_sinh", "ma_tuy", "hiv")
LETTERS = "ABCDĐGHKLMNPQSTVXY"

Record = tuple[bytes, dt.datetime | None]  # the XML and when the server received it (UTC)


def _iid(rng: random.Random) -> str:
    return f"uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}"


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=VN).astimezone(dt.UTC)


def _head(form: str, versions: Mapping[str, str], iid: str, day: dt.date) -> str:
    return (
        f'<?xml version="1.0"?><{form} id="{form}" version="{versions[form]}">'
        f"<start>{day.isoformat()}T09:00:00.000+07:00</start>"
        f"<end>{day.isoformat()}T09:20:00.000+07:00</end><today>{day.isoformat()}</today>"
        "<deviceid>collect:demo2001</deviceid><username>demo</username>"
    )


def _where(province: str, commune: str, org: str) -> str:
    return (
        f"<where><province>{province}</province><commune>{commune}</commune></where>"
        f"<reporter_org>{org}</reporter_org>"
    )


def _month_after(month: dt.date) -> dt.date:
    return dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def cases(
    province: str,
    commune: str,
    received: dt.date,
    today: dt.date,
    versions: Mapping[str, str],
    rng: random.Random,
) -> Iterator[Record]:
    """One case and the steps of its course that have happened by `today`."""
    iid = _iid(rng)
    key = iid.removeprefix("uuid:")
    kind = rng.choice(KINDS)
    deadline = received + dt.timedelta(days=20)
    label = f"{received.isoformat()} · {kind}"
    yield (
        (
            _head("pcmd_case", versions, iid, received)
            + _where(province, commune, "cong_an")
            + f"<received_date>{received.isoformat()}</received_date><kind>{kind}</kind>"
            f"<source>{rng.choice(SOURCES)}</source><subject>truc_tuyen</subject>"
            f"<establishment><id/></establishment><summary>{rng.choice(SUMMARIES)}</summary>"
            f"<assigned_to>{rng.choice(('cong_an_xa', 'doi_178'))}</assigned_to>"
            f"<deadline>{deadline.isoformat()}</deadline><status>tiep_nhan</status><handled_date/>"
            f'<meta><instanceID>{iid}</instanceID><entity dataset="cases" id="{key}" create="1">'
            f"<label>{label}</label></entity></meta></pcmd_case>"
        ).encode(),
        None,
    )
    course = rng.choices([c for c, _w in COURSES], [w for _c, w in COURSES])[0]
    for version, (step, after) in enumerate(course, start=1):
        day = received + dt.timedelta(days=after)
        if day > today:
            break
        step_iid = _iid(rng)
        outcome = rng.choice(OUTCOMES) if step == "xu_ly_xong" else ""
        fine = rng.choice((2_000_000, 5_000_000)) if outcome == "xu_phat_hanh_chinh" else ""
        yield (
            (
                _head("pcmd_case_update", versions, step_iid, day)
                + _where(province, commune, "cong_an")
                + f"<case>{key}</case><step>{step}</step><step_date>{day.isoformat()}</step_date>"
                f"<outcome>{outcome}</outcome><fine_vnd>{fine}</fine_vnd>"
                f'<meta><instanceID>{step_iid}</instanceID><entity dataset="cases" id="{key}" '
                f'update="1" baseVersion="{version}"/></meta></pcmd_case_update>'
            ).encode(),
            None,
        )


def monthly(
    province: str,
    commune: str,
    month: dt.date,
    versions: Mapping[str, str],
    rng: random.Random,
    *,
    late: bool,
) -> Record:
    """A commune's report of `month`, received on time (by the 5th) or late."""
    iid = _iid(rng)
    due = _month_after(month)
    day = due + dt.timedelta(days=rng.randint(6, 24) if late else rng.randint(0, 4))
    nothing = rng.random() < 0.4
    if nothing:
        counts: list[object] = ["", "", "", "", ""]
    else:
        detected = rng.randint(0, 2)
        prosecuted = rng.randint(0, detected)
        violations = rng.randint(0, 4)
        counts = [detected, prosecuted, prosecuted * rng.randint(1, 2), violations]
        counts.append(rng.randint(0, violations))
    return (
        _head("pcmd_monthly", versions, iid, day)
        + _where(province, commune, "van_hoa_xa_hoi")
        + f"<month>{month.isoformat()}</month>"
        f"<nothing_to_report>{'yes' if nothing else 'no'}</nothing_to_report>"
        f"<crime><n_cases_detected>{counts[0]}</n_cases_detected>"
        f"<n_cases_prosecuted>{counts[1]}</n_cases_prosecuted>"
        f"<n_defendants>{counts[2]}</n_defendants></crime>"
        f"<admin><n_violations>{counts[3]}</n_violations>"
        f"<n_persons_fined>{counts[4]}</n_persons_fined></admin>"
        f"<meta><instanceID>{iid}</instanceID></meta></pcmd_monthly>"
    ).encode(), _at(day, rng.randint(8, 17))


def support(
    province: str,
    commune: str,
    day: dt.date,
    person: tuple[str, str, int, str],
    versions: Mapping[str, str],
    rng: random.Random,
) -> Record:
    iid = _iid(rng)
    mother, father, born, sex = person
    services = " ".join(sorted(rng.sample(SERVICES, rng.randint(1, 3))))
    return (
        _head("pcmd_support", versions, iid, day)
        + _where(province, commune, "phu_nu")
        + f"<service_date>{day.isoformat()}</service_date>"
        f"<uic><mother_initial>{mother}</mother_initial><father_initial>{father}"
        f"</father_initial><birth_year>{born}</birth_year><sex>{sex}</sex></uic>"
        f"<in_need_eligible>{'yes' if rng.random() < 0.85 else 'no'}</in_need_eligible>"
        f"<services>{services}</services><provider>{rng.choice(PROVIDERS)}</provider>"
        f"<meta><instanceID>{iid}</instanceID></meta></pcmd_support>"
    ).encode(), None


def plan(
    province: str,
    commune: str,
    year: int,
    versions: Mapping[str, str],
    rng: random.Random,
    *,
    issued: bool,
) -> Record:
    iid = _iid(rng)
    day = dt.date(year, 1, rng.randint(10, 28))
    chosen = [x for x in INTEGRATIONS if rng.random() < 0.35]
    integrated = " ".join(chosen) or "khong"
    body = (
        f"<plan_number>{rng.randint(10, 99)}/KH-UBND</plan_number>"
        f"<plan_date>{day.isoformat()}</plan_date><integrated_with>{integrated}</integrated_with>"
        if issued
        else "<plan_number/><plan_date/><integrated_with/>"
    )
    return (
        _head("pcmd_plan", versions, iid, day)
        + _where(province, commune, "van_hoa_xa_hoi")
        + f"<year>{year}</year><plan_issued>{'yes' if issued else 'no'}</plan_issued>{body}"
        f"<meta><instanceID>{iid}</instanceID></meta></pcmd_plan>"
    ).encode(), _at(day, 10)


def programme_records(
    province: str,
    communes: Sequence[str],
    start: dt.date,
    today: dt.date,
    versions: Mapping[str, str],
    rng: random.Random,
) -> Iterator[Record]:
    """Every §6b record of the demo province from `start` to `today`, in the order they
    would have arrived (near enough: each commune's in time order)."""
    diligence = {c: rng.choice((0.6, 0.85, 0.95, 1.0)) for c in communes}
    helped = {c: rng.random() < 0.35 for c in communes}
    persons = {
        c: [
            (
                rng.choice(LETTERS),
                rng.choice(LETTERS),
                rng.randint(1975, 2005),
                rng.choice(("nu", "nu", "nu", "nam", "khac")),
            )
            for _ in range(rng.randint(3, 8))
        ]
        for c in communes
    }
    for year in range(start.year, today.year + 1):
        if dt.date(year, 2, 1) > today:
            continue  # this year's plans are still being written
        for commune in communes:
            if rng.random() < 0.85 * diligence[commune]:
                issued = rng.random() < 0.9
                yield plan(province, commune, year, versions, rng, issued=issued)
                if not issued and rng.random() < 0.5:  # the plan came out later that year
                    yield plan(province, commune, year, versions, rng, issued=True)
    month = dt.date(start.year, start.month, 1)
    while month <= today:
        nxt = _month_after(month)
        days = (min(nxt, today + dt.timedelta(days=1)) - month).days
        for commune in communes:
            if rng.random() < 0.15:
                received = month + dt.timedelta(rng.randrange(days))
                yield from cases(province, commune, received, today, versions, rng)
            if helped[commune]:
                for _ in range(rng.randint(0, 3)):
                    day = month + dt.timedelta(rng.randrange(days))
                    person = rng.choice(persons[commune])
                    yield support(province, commune, day, person, versions, rng)
            if nxt <= today and rng.random() < diligence[commune]:
                late = rng.random() < 0.2
                reports = [monthly(province, commune, month, versions, rng, late=late)]
                if rng.random() < 0.03:  # a corrected report, sent again later
                    reports.append(monthly(province, commune, month, versions, rng, late=True))
                # only what has arrived by today (a month just ended is still coming in)
                yield from (r for r in reports if r[1] and r[1].astimezone(VN).date() <= today)
        month = nxt
