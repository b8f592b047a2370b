"""A small world for the indicators of DESIGN §8b, every value worked out by hand
(test_indicators_8b.py). Today is 2026-11-20 (Vietnam), so the ended months are those up to
October 2026.

The org units of handmade.py: VN ─ 51 ─ A 21025, B 21028, C 21031; VN ─ 79 ─ D 26734, E 26737.

Cases (`pcmd_case`, deadline D = received + 20 days unless extended) and their steps:
- K1 A received 2026-01-05 (D 01-25): xac_minh 01-10, xu_ly_xong 01-20 → handled in time
- K2 A received 2026-02-10: gia_han 02-25 (within 20 days: D = 04-10), xu_ly_xong 04-01
- K3 B received 2026-03-01 (D 03-21): xu_ly_xong 03-28 → handled late
- K4 B received 2026-03-15 (D 04-04): never handled → overdue from 04-05
- K5 D received 2026-01-20 (D 02-09): gia_han 02-20 (too late to extend), chuyen 02-05
- K6 E received 2026-11-10 (D 11-30): not handled, not yet due on 2026-11-20
- K7 C received 2026-02-01, xu_ly_xong 02-02 — the case is REJECTED: neither counts

Monthly reports (`pcmd_monthly`), received (Vietnam time) by the source server:
- M1 A 2026-01: received 02-03 (on time); prosecuted 2
- M2 A 2026-02: received 03-10 (late); prosecuted 1 — then
- M3 A 2026-02 again: received 03-12; prosecuted 4 (the last received counts: 4, not 5;
  timeliness goes by the first: late)
- M4 A 2026-03: nothing to report, received 04-02 (on time)
- M5 B 2026-03: received 04-05 23:30 (on time, the last minutes of the 5th); prosecuted 3
- M6 D 2026-03: received 04-06 00:30 (late, half an hour); prosecuted 5
- M7 C 2026-03: nothing to report, received 04-20 (late) — C's only counted record
- M8 A 2025-02: received 2025-03-01; prosecuted 2 (a year before, for TP2; before 2025-07)
- M9 B 2025-03: received 2025-04-01; prosecuted 4

Support (`pcmd_support`); persons by their code: P1 = QX1987NU, P2 = LT1990NU, P3 = HM1985NAM
- S1 A 2026-01-10 P1 in need; S2 A 2026-03-05 P1 in need (the same person again);
  S3 A 2026-03-20 P2 not in need; S4 B 2026-02-14 P1 in need; S5 D 2026-03-30 P3 in need
Reference `sex_workers_in_need` 2026: A 4, B 2, province 79 10.

Plans (`pcmd_plan`, activity date 1 January of the year):
- L1 A 2026 issued, integrated: khong (a plan without integration)
- L2 B 2026 not issued, then L3 B 2026 issued, integrated: an_sinh ma_tuy (L3 received last)
- L4 D 2026 issued, integrated: hiv
- L5 A 2025 issued, integrated: kt_xh (another year: not in 2026's KH1/KH2)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, update

from pcmd.db.engine import transaction
from pcmd.db.models import OrgUnit, ReferenceValue, Submission, utcnow
from pcmd.forms.registry import refresh_media, store_build
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from tests.pipeline import records
from tests.pipeline.handmade import PROVINCE, UNITS, A, B, C, D, E
from tests.server.collect import shipped_builds

TODAY = dt.date(2026, 11, 20)
VN_TIME = dt.timezone(dt.timedelta(hours=7))
CASE, STEP, MONTHLY, SUPPORT, PLAN = (
    "pcmd_case",
    "pcmd_case_update",
    "pcmd_monthly",
    "pcmd_support",
    "pcmd_plan",
)
P1 = {"uic__mother_initial": "Q", "uic__father_initial": "X", "uic__birth_year": 1987}
P2 = {"uic__mother_initial": "L", "uic__father_initial": "T", "uic__birth_year": 1990}
P3 = {"uic__mother_initial": "H", "uic__father_initial": "M", "uic__birth_year": 1985}
NOTHING = {
    "nothing_to_report": "yes",
    "crime__n_cases_detected": "",
    "crime__n_cases_prosecuted": "",
    "crime__n_defendants": "",
    "admin__n_violations": "",
    "admin__n_persons_fined": "",
}


def prosecuted(n: int) -> dict[str, Any]:
    return {"crime__n_cases_detected": n + 1, "crime__n_cases_prosecuted": n}


# name → (form, commune, date, received (Vietnam time) or None, answers); in sending order.
RECORDS: list[tuple[str, str, str, str, str | None, dict[str, Any]]] = [
    ("K1", CASE, A, "2026-01-05", None, {"kind": "to_giac"}),
    ("K2", CASE, A, "2026-02-10", None, {"kind": "tin_bao"}),
    ("K3", CASE, B, "2026-03-01", None, {"kind": "khieu_nai"}),
    ("K4", CASE, B, "2026-03-15", None, {"kind": "kien_nghi"}),
    ("K5", CASE, D, "2026-01-20", None, {"kind": "to_giac"}),
    ("K6", CASE, E, "2026-11-10", None, {"kind": "tin_bao"}),
    ("K7", CASE, C, "2026-02-01", None, {"kind": "to_giac"}),
    ("K1a", STEP, A, "2026-01-10", None, {"case": "K1", "step": "xac_minh"}),
    (
        "K1b",
        STEP,
        A,
        "2026-01-20",
        None,
        {"case": "K1", "step": "xu_ly_xong", "outcome": "khong_vi_pham"},
    ),
    ("K2a", STEP, A, "2026-02-25", None, {"case": "K2", "step": "gia_han"}),
    (
        "K2b",
        STEP,
        A,
        "2026-04-01",
        None,
        {"case": "K2", "step": "xu_ly_xong", "outcome": "khoi_to"},
    ),
    (
        "K3a",
        STEP,
        B,
        "2026-03-28",
        None,
        {"case": "K3", "step": "xu_ly_xong", "outcome": "khong_vi_pham"},
    ),
    ("K5a", STEP, D, "2026-02-20", None, {"case": "K5", "step": "gia_han"}),
    ("K5b", STEP, D, "2026-02-05", None, {"case": "K5", "step": "chuyen"}),
    (
        "K7a",
        STEP,
        C,
        "2026-02-02",
        None,
        {"case": "K7", "step": "xu_ly_xong", "outcome": "khoi_to"},
    ),
    ("M1", MONTHLY, A, "2026-01-01", "2026-02-03 09:00", prosecuted(2)),
    ("M2", MONTHLY, A, "2026-02-01", "2026-03-10 09:00", prosecuted(1)),
    ("M3", MONTHLY, A, "2026-02-01", "2026-03-12 09:00", prosecuted(4)),
    ("M4", MONTHLY, A, "2026-03-01", "2026-04-02 09:00", NOTHING),
    ("M5", MONTHLY, B, "2026-03-01", "2026-04-05 23:30", prosecuted(3)),
    ("M6", MONTHLY, D, "2026-03-01", "2026-04-06 00:30", prosecuted(5)),
    ("M7", MONTHLY, C, "2026-03-01", "2026-04-20 09:00", NOTHING),
    ("M8", MONTHLY, A, "2025-02-01", "2025-03-01 09:00", prosecuted(2)),
    ("M9", MONTHLY, B, "2025-03-01", "2025-04-01 09:00", prosecuted(4)),
    ("S1", SUPPORT, A, "2026-01-10", None, {**P1, "uic__sex": "nu"}),
    ("S2", SUPPORT, A, "2026-03-05", None, {**P1, "uic__sex": "nu"}),
    ("S3", SUPPORT, A, "2026-03-20", None, {**P2, "uic__sex": "nu", "in_need_eligible": "no"}),
    ("S4", SUPPORT, B, "2026-02-14", None, {**P1, "uic__sex": "nu"}),
    ("S5", SUPPORT, D, "2026-03-30", None, {**P3, "uic__sex": "nam"}),
    ("L1", PLAN, A, "2026", "2026-01-15 09:00", {"integrated_with": "khong"}),
    ("L2", PLAN, B, "2026", "2026-01-15 09:00", {"plan_issued": "no", "integrated_with": ""}),
    ("L3", PLAN, B, "2026", "2026-02-15 09:00", {"integrated_with": "an_sinh ma_tuy"}),
    ("L4", PLAN, D, "2026", "2026-01-15 09:00", {"integrated_with": "hiv"}),
    ("L5", PLAN, A, "2025", "2025-01-15 09:00", {"integrated_with": "kt_xh"}),
]
REFERENCE = [(A, 2026, 4), (B, 2026, 2), ("79", 2026, 10)]


@dataclass
class World8b:
    engine: Engine
    ids: dict[str, int]
    instance: dict[str, str]

    def reject(self, name: str) -> None:
        with transaction(self.engine, write=True) as s:
            s.execute(
                update(Submission)
                .where(Submission.id == self.ids[name])
                .values(review_state="rejected", updated_at=utcnow())
            )


def received(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    moment = dt.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=VN_TIME)
    return moment.astimezone(dt.UTC)


def build_world_8b(engine: Engine, store: FileStore) -> World8b:
    with transaction(engine, write=True) as s:
        s.execute(
            insert(OrgUnit),
            [
                {
                    "code": c,
                    "name": n,
                    "level": lvl,
                    "parent_code": p,
                    "valid_from": dt.date(2025, 7, 1),
                }
                for c, n, lvl, p in UNITS
            ],
        )
        for build in shipped_builds():
            store_build(s, build)
        refresh_media(s)
        s.execute(
            insert(ReferenceValue),
            [
                {"org_code": o, "year": y, "key": "sex_workers_in_need", "value": v}
                for o, y, v in REFERENCE
            ],
        )
    world = World8b(engine, {}, {})
    for name, form, commune, day, when, given in RECORDS:
        answers = dict(given)
        if form == STEP:
            answers["case"] = world.instance[answers["case"]].removeprefix("uuid:")
        iid = records.new_id()
        xml = records.xml(
            form, iid, commune=commune, province=PROVINCE[commune], day=day, **answers
        )
        # The receipt time matters for monthly reports and plans: sent as ODK Central would,
        # with the source server's own submission time.
        incoming = (
            Incoming(xml=xml, source="openrosa")
            if when is None
            else Incoming(xml=xml, source="central", submitted_at=received(when))
        )
        result = ingest_with_retry(engine, store, incoming)
        world.ids[name] = result.submission_id
        world.instance[name] = iid
    world.reject("K7")
    return world
