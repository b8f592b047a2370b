"""A small world whose every indicator value is worked out by hand (test_indicators.py).

Two provinces, five communes:

    VN ─ 51 ─ 21025 (A), 21028 (B), 21031 (C)
       └ 79 ─ 26734 (D), 26737 (E)

Register: E-A1, E-A2 (A, active), E-A3 (A, closed), E-B1 (B), E-D1, E-D2 (D), E-E1 (E) —
active: A 2, B 1, C 0, D 2, E 1; province 51: 3, 79: 3; country 6.

Reference data (org, year, value):
- establishment_workers: A 2025 40, A 2026 80, B 2024 10, D 2025 20, 79 2025 100
  → for 2025: 51 = A + B = 50 (no own value), 79 = 100 (its own wins over D's 20), VN 150
- industrial_workers: A 2025 100, D 2025 150 → 51 100, 79 150, VN 250
- students: none (TT3C has no denominator anywhere: no_data)
- officials_province: 51 2025 20, 79 2025 50 → VN 70 (communes: none)
- officials_commune: A 10, B 20, C 30, D 40, E 16 (2025) → 51 60, 79 56, VN 116

Targets imported: TT1 for 51 in 2025 = 50 (default 70); HD1 for A in 2025Q1 = 2 (a quarter has
no default target).

Records (O outreach, T training, I inspection); `total` is reach/n_total:
- O1 A 2025-03-10 bao_chi: establishment workers 30, students 50, general 20 (total 100)
- O2 A 2025-03-25 hoi_nghi: industrial 40, general 10 (total 50)
- O3 B 2025-02-14 loa_dai: students 120 (total 120)
- O4 D 2025-03-05 mang_xa_hoi: industrial 200 (total 200)
- O5 A 2023-06-01 bao_chi: students 10 (total 10)
- O6 B 2025-03-20 bao_chi: students 999 — REJECTED by a reviewer
- O7 C 2025-03-12 hoi_nghi: general 77 — an open ERROR issue
- O8 E 2025-01-10 hoi_nghi, students 5 — then EDITED to bao_chi, students 15, general 5 (total 20)
- O9 A 2026-02-03 bao_chi (total 0)
- O10 B 2025-08-08 hoi_nghi: general 30 (total 30)
- T1 A 2025-03-18: new province staff 12, new commune staff 8
- T2 D 2025-01-20: new commune staff 30
- T3 B 2024-11-11: new commune staff 5
- T4 E 2025-05-05: new commune staff 1
- I1 A 2025-03-03 E-A1: violation, fine 5,000,000, workers informed 6
- I2 A 2025-03-28 E-A1: no violation, informed 4
- I3 A 2025-02-10 E-A3 (closed): violation (warning), informed 2
- I4 B 2025-03-15 a new establishment (known = no): no violation, informed 3
- I5 D 2025-03-09 E-D1: violation, fine 2,000,000, informed 10
- I6 D 2022-05-05 E-D2: no violation, informed 0
- I7 E 2025-10-10 E-E1: no violation, informed 1
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select, update

from pcmd.db.engine import transaction
from pcmd.db.models import (
    Establishment,
    OrgUnit,
    ReferenceValue,
    Submission,
    SubmissionVersion,
    Target,
    utcnow,
)
from pcmd.forms.registry import refresh_media, store_build
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from tests.db.issues import add_open_issue
from tests.pipeline import records
from tests.server.collect import shipped_builds

TODAY = dt.date(2026, 11, 20)
A, B, C, D, E = "21025", "21028", "21031", "26734", "26737"
PROVINCE = {A: "51", B: "51", C: "51", D: "79", E: "79"}
UNITS = [
    ("VN", "Việt Nam", "country", None),
    ("51", "Tỉnh Quảng Ngãi", "province", "VN"),
    ("79", "Thành phố Hồ Chí Minh", "province", "VN"),
    (A, "Phường Cẩm Thành", "commune", "51"),
    (B, "Phường Nghĩa Lộ", "commune", "51"),
    (C, "Xã Tịnh Khê", "commune", "51"),
    (D, "Phường Sài Gòn", "commune", "79"),
    (E, "Phường Bến Thành", "commune", "79"),
]
REGISTER = [
    ("E-A1", A, "active"),
    ("E-A2", A, "active"),
    ("E-A3", A, "closed"),
    ("E-B1", B, "active"),
    ("E-D1", D, "active"),
    ("E-D2", D, "active"),
    ("E-E1", E, "active"),
]
REFERENCE = [
    (A, 2025, "establishment_workers", 40),
    (A, 2026, "establishment_workers", 80),
    (B, 2024, "establishment_workers", 10),
    (D, 2025, "establishment_workers", 20),
    ("79", 2025, "establishment_workers", 100),
    (A, 2025, "industrial_workers", 100),
    (D, 2025, "industrial_workers", 150),
    ("51", 2025, "officials_province", 20),
    ("79", 2025, "officials_province", 50),
    (A, 2025, "officials_commune", 10),
    (B, 2025, "officials_commune", 20),
    (C, 2025, "officials_commune", 30),
    (D, 2025, "officials_commune", 40),
    (E, 2025, "officials_commune", 16),
]
TARGETS = [("TT1", "51", "2025", 50.0), ("HD1", A, "2025Q1", 2.0)]

OUT, TRA, INS = "pcmd_outreach", "pcmd_training", "pcmd_inspection"
RECORDS: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "O1": (
        OUT,
        A,
        "2025-03-10",
        {
            "channel": "bao_chi",
            "reach__n_establishment_workers": 30,
            "reach__n_students": 50,
            "reach__n_general": 20,
        },
    ),
    "O2": (OUT, A, "2025-03-25", {"reach__n_industrial_workers": 40, "reach__n_general": 10}),
    "O3": (
        OUT,
        B,
        "2025-02-14",
        {"channel": "loa_dai", "media_items": 2, "reach__n_students": 120},
    ),
    "O4": (
        OUT,
        D,
        "2025-03-05",
        {"channel": "mang_xa_hoi", "media_items": 1, "reach__n_industrial_workers": 200},
    ),
    "O5": (OUT, A, "2023-06-01", {"channel": "bao_chi", "media_items": 1, "reach__n_students": 10}),
    "O6": (
        OUT,
        B,
        "2025-03-20",
        {"channel": "bao_chi", "media_items": 1, "reach__n_students": 999},
    ),
    "O7": (OUT, C, "2025-03-12", {"reach__n_general": 77}),
    "O8": (OUT, E, "2025-01-10", {"reach__n_students": 5}),
    "O9": (OUT, A, "2026-02-03", {"channel": "bao_chi", "media_items": 1}),
    "O10": (OUT, B, "2025-08-08", {"reach__n_general": 30}),
    "T1": (
        TRA,
        A,
        "2025-03-18",
        {
            "participants__n_province_staff": 12,
            "participants__new_province_staff": 12,
            "participants__n_commune_staff": 10,
            "participants__new_commune_staff": 8,
        },
    ),
    "T2": (
        TRA,
        D,
        "2025-01-20",
        {"participants__n_commune_staff": 30, "participants__new_commune_staff": 30},
    ),
    "T3": (
        TRA,
        B,
        "2024-11-11",
        {"participants__n_commune_staff": 5, "participants__new_commune_staff": 5},
    ),
    "T4": (
        TRA,
        E,
        "2025-05-05",
        {"participants__n_commune_staff": 1, "participants__new_commune_staff": 1},
    ),
    "I1": (
        INS,
        A,
        "2025-03-03",
        {
            "establishment__id": "E-A1",
            "findings__n_workers": 8,
            "findings__violation": "yes",
            "findings__violation_types": "khong_phep",
            "findings__action": "phat_tien",
            "findings__fine_vnd": 5000000,
            "findings__n_workers_informed": 6,
        },
    ),
    "I2": (
        INS,
        A,
        "2025-03-28",
        {"establishment__id": "E-A1", "findings__n_workers": 5, "findings__n_workers_informed": 4},
    ),
    "I3": (
        INS,
        A,
        "2025-02-10",
        {
            "establishment__id": "E-A3",
            "findings__n_workers": 3,
            "findings__violation": "yes",
            "findings__violation_types": "gio_hoat_dong",
            "findings__action": "canh_cao",
            "findings__n_workers_informed": 2,
        },
    ),
    "I4": (
        INS,
        B,
        "2025-03-15",
        {
            "establishment__known": "no",
            "establishment__name": "Karaoke Mới",
            "establishment__address": "1 Lê Lợi",
            "findings__n_workers": 4,
            "findings__n_workers_informed": 3,
        },
    ),
    "I5": (
        INS,
        D,
        "2025-03-09",
        {
            "establishment__id": "E-D1",
            "findings__n_workers": 12,
            "findings__violation": "yes",
            "findings__violation_types": "mai_dam",
            "findings__action": "phat_tien",
            "findings__fine_vnd": 2000000,
            "findings__n_workers_informed": 10,
        },
    ),
    "I6": (INS, D, "2022-05-05", {"establishment__id": "E-D2", "findings__n_workers": 2}),
    "I7": (
        INS,
        E,
        "2025-10-10",
        {"establishment__id": "E-E1", "findings__n_workers": 1, "findings__n_workers_informed": 1},
    ),
}
EDIT_O8 = {"channel": "bao_chi", "media_items": 1, "reach__n_students": 15, "reach__n_general": 5}


@dataclass
class World:
    engine: Engine
    store: FileStore
    ids: dict[str, int]  # record name → submission id
    instance: dict[str, str]  # record name → current instanceID

    def send(self, name: str, *, deprecated: bool = False, **override: Any) -> int:
        form, commune, day, given = RECORDS[name]
        iid = records.new_id()
        xml = records.xml(
            form,
            iid,
            commune=commune,
            province=PROVINCE[commune],
            day=day,
            deprecated_id=self.instance[name] if deprecated else None,
            **{**given, **override},
        )
        result = ingest_with_retry(self.engine, self.store, Incoming(xml=xml, source="openrosa"))
        self.ids[name] = result.submission_id
        self.instance[name] = iid
        return result.submission_id

    def reject(self, name: str) -> None:
        with transaction(self.engine, write=True) as s:
            s.execute(
                update(Submission)
                .where(Submission.id == self.ids[name])
                .values(review_state="rejected", updated_at=utcnow())
            )

    def flag_error(self, name: str) -> None:
        with transaction(self.engine, write=True) as s:
            sid = self.ids[name]
            add_open_issue(s, sid, "test_error", field_path="reach/n_general")
            s.execute(update(Submission).where(Submission.id == sid).values(updated_at=utcnow()))


def build_world(engine: Engine, store: FileStore) -> World:
    """The org units, register, reference data, targets and every record above (O8 edited,
    O6 rejected, O7 with an open error)."""
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
            insert(Establishment),
            [
                {"id": i, "name": f"Cơ sở {i}", "type": "karaoke", "commune_code": c, "status": st}
                for i, c, st in REGISTER
            ],
        )
        s.execute(
            insert(ReferenceValue),
            [{"org_code": o, "year": y, "key": k, "value": v} for o, y, k, v in REFERENCE],
        )
        s.execute(
            insert(Target),
            [{"indicator": i, "org_code": o, "period": p, "target": t} for i, o, p, t in TARGETS],
        )
    world = World(engine, store, {}, {})
    for name in RECORDS:
        world.send(name)
    world.send("O8", deprecated=True, **EDIT_O8)
    world.reject("O6")
    world.flag_error("O7")
    return world


def current_versions(engine: Engine) -> int:
    with transaction(engine) as s:
        return len(s.scalars(select(SubmissionVersion.id)).all())
