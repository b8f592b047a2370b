"""Time validate_submissions: a full run over N submissions, then an incremental run over 1,000.

    .venv/bin/python bench/validate.py -n 100000
    .venv/bin/python bench/validate.py -n 100000 \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test   # emptied first

The submissions are the three shipped forms, typed exactly as ingest types them, spread over the
communes of one province (51) and 2021–2026, from 300 phones; about 3 % break a rule (a part
larger than its whole, a negative count, an unknown register id, a fine typed in millions) and
a few are the same activity sent twice. They are written in bulk (rows identical to ingest's
but for the XML, which validation never reads), so the timing is validation's alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select, text

from pcmd.db.engine import make_engine, transaction
from pcmd.db.migrate import upgrade
from pcmd.db.models import Establishment, OrgUnit, utcnow
from pcmd.db.tables import SUB, VER
from pcmd.forms.convert import convert_workbook
from pcmd.forms.registry import get_form, shipped_workbooks_dir, store_build
from pcmd.ingest.instance import typed_values
from pcmd.masterdata.orgunits import load_shipped
from pcmd.pipeline.validate.run import validate_submissions

VERSION = "2026112301"


def setup(engine: Engine) -> tuple[dict[str, tuple[int, dict[str, Any]]], list[str], list[str]]:
    """Org units, forms and a register; (form id → (form pk, binds)), communes, register ids."""
    upgrade(engine)
    forms: dict[str, tuple[int, dict[str, Any]]] = {}
    with transaction(engine) as s:
        load_shipped(s)
        for path in sorted(shipped_workbooks_dir().glob("*.xlsx")):
            build = convert_workbook(path.read_bytes(), path.name, validate=False)
            store_build(s, build)
            form = get_form(s, build.form_id)
            assert form is not None
            forms[build.form_id] = (form.id, {p: f.as_dict() for p, f in build.info.fields.items()})
        communes = list(
            s.scalars(
                select(OrgUnit.code)
                .where(OrgUnit.parent_code == "51", OrgUnit.valid_to.is_(None))
                .order_by(OrgUnit.code)
            )
        )
        register = [f"QN-{i:05d}" for i in range(2000)]
        s.execute(
            insert(Establishment),
            [
                {
                    "id": est,
                    "name": f"Cơ sở {i}",
                    "type": "karaoke",
                    "commune_code": communes[i % len(communes)],
                    "status": "closed" if i % 25 == 0 else "active",
                }
                for i, est in enumerate(register)
            ],
        )
    return forms, communes, register


def answers(
    rng: random.Random,
    form_id: str,
    commune: str,
    day: dt.date,
    communes: list[str],
    register: list[str],
) -> dict[str, str]:
    base = {
        "today": day.isoformat(),
        "deviceid": f"collect:{rng.randrange(300):016d}",
        "where/province": "51",
        "where/commune": commune,
        "reporter_org": rng.choice(["phu_nu", "mttq", "cong_an", "doi_178"]),
    }
    broken = rng.random() < 0.03
    if form_id == "pcmd_outreach":
        counts = [
            rng.randrange(0, 30),
            rng.randrange(0, 60),
            rng.randrange(0, 80),
            rng.randrange(5, 60),
        ]
        total = sum(counts)
        return {
            **base,
            "activity_date": day.isoformat(),
            "channel": rng.choice(["hoi_nghi", "truc_tiep", "loa_dai", "mang_xa_hoi"]),
            "setting": "cong_dong",
            "topics": "phap_luat tac_hai",
            "integrated": "khong",
            "reach/n_establishment_workers": str(counts[0]),
            "reach/n_industrial_workers": str(counts[1]),
            "reach/n_students": str(counts[2]),
            "reach/n_general": str(counts[3]),
            "reach/n_female": str(total + 1 if broken else total // 2),
            "reach/n_total": str(total),
            "media_items": str(rng.randrange(1, 4)),
            "materials": str(rng.randrange(0, 100)),
            "location": f"{15 + rng.random() / 5} {108.7 + rng.random() / 5} 10 5",
        }
    if form_id == "pcmd_training":
        staff = [
            rng.randrange(0, 5),
            rng.randrange(5, 30),
            rng.randrange(0, 10),
            rng.randrange(0, 10),
            2,
        ]
        return {
            **base,
            "start_date": day.isoformat(),
            "days": rng.choice(["0.5", "1", "2"]),
            "organizer_level": "xa",
            "topics": "nghiep_vu",
            **{
                f"participants/{k}": str(v)
                for k, v in zip(
                    (
                        "n_province_staff",
                        "n_commune_staff",
                        "n_police",
                        "n_collaborators",
                        "n_other",
                    ),
                    staff,
                    strict=True,
                )
            },
            "participants/new_province_staff": str(staff[0]),
            "participants/new_commune_staff": str(-1 if broken else staff[1] // 2),
            "participants/n_female": str(sum(staff) // 2),
            "participants/n_total": str(sum(staff)),
        }
    workers = rng.randrange(0, 12)
    fined = rng.random() < 0.2
    return {
        **base,
        "inspection_date": day.isoformat(),
        "team": "doi_178_xa",
        "establishment/known": "yes",
        # the register holds establishment i in commune i mod len(communes)
        "establishment/id": "QN-99999"
        if broken
        else register[
            communes.index(commune) + len(communes) * rng.randrange(len(register) // len(communes))
        ],
        "establishment/type": "karaoke",
        "findings/n_workers": str(workers),
        "findings/n_female_workers": str(workers // 2),
        "findings/license_valid": "yes",
        "findings/violation": "yes" if fined else "no",
        "findings/violation_types": "gio_hoat_dong" if fined else "",
        "findings/action": "phat_tien" if fined else "nhac_nho",
        "findings/fine_vnd": rng.choice(["15"] + ["7500000"] * 9) if fined else "",
        "findings/n_workers_informed": str(workers),
        "findings/commitment_signed": "yes",
    }


def populate(
    engine: Engine,
    n: int,
    forms: dict[str, tuple[int, dict[str, Any]]],
    communes: list[str],
    register: list[str],
    seed: int,
    start_id: int,
    first: dt.date = dt.date(2021, 1, 1),
) -> list[int]:
    rng = random.Random(seed)
    form_ids = list(forms)
    days = (dt.date(2026, 11, 20) - first).days
    now = utcnow()
    ids: list[int] = []
    subs, versions = [], []
    previous: dict[str, Any] | None = None
    for i in range(n):
        sid = start_id + i
        form_id = form_ids[i % 3]
        form_pk, binds = forms[form_id]
        if previous is not None and rng.random() < 0.005:  # the same activity from another phone
            values = {**previous, "deviceid": f"collect:{rng.randrange(300, 400):016d}"}
            form_id = previous["_form"]
            form_pk, binds = forms[form_id]
        else:
            day = first + dt.timedelta(days=rng.randrange(days))
            values = answers(rng, form_id, rng.choice(communes), day, communes, register)
            values["_form"] = form_id
        previous = values
        data = typed_values({k: v for k, v in values.items() if k != "_form"}, binds)
        date_field = {"pcmd_outreach": "activity_date", "pcmd_training": "start_date"}.get(
            form_id, "inspection_date"
        )
        subs.append(
            {
                "id": sid,
                "instance_id": f"uuid:bench-{sid:08d}",
                "form_pk": form_pk,
                "source": "import",
                "review_state": "received",
                "deleted": False,
                "commune_code": data["where/commune"],
                "activity_date": dt.date.fromisoformat(data[date_field]),
                "submitted_at": now + dt.timedelta(seconds=i),
                "updated_at": now,
            }
        )
        versions.append(
            {
                "id": sid,
                "submission_id": sid,
                "instance_id": f"uuid:bench-{sid:08d}",
                "form_version": VERSION,
                "xml": "",
                "xml_sha256": "",
                "data": data,
                "attachments_expected": [],
                "source": "import",
                "device_id": data["deviceid"],
                "received_at": now,
            }
        )
        ids.append(sid)
    with engine.begin() as conn:
        for start in range(0, n, 5000):
            conn.execute(insert(SUB), subs[start : start + 5000])
            conn.execute(insert(VER), versions[start : start + 5000])
        conn.execute(SUB.update().where(SUB.c.id >= start_id).values(current_version_id=SUB.c.id))
    if engine.dialect.name == "postgresql":
        # What autovacuum does after a bulk load; without statistics the planner guesses 1 row.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    return ids


SIDE_BY_SIDE = [  # what --baseline compares
    ("full run s", r"full run, first:.*— ([\d.]+) s", False),
    ("full run again s", r"full run, again:.*— ([\d.]+) s", False),
    ("incremental s", r"incremental:.*— ([\d.]+) s", False),
]


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from baseline import side_by_side  # bench/ is not a package

    if side_by_side("validate.py", SIDE_BY_SIDE):  # --baseline COMMIT [--rounds R]
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000, help="submissions for the full run")
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temp folder")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="pcmd-bench-validate-")
    url = args.database_url or f"sqlite:///{Path(folder) / 'pcmd.db'}"
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    forms, communes, register = setup(engine)
    populate(engine, args.n, forms, communes, register, seed=1, start_id=1)
    today = dt.date(2026, 11, 23)

    started = time.perf_counter()
    with engine.begin() as conn:
        full = validate_submissions(conn, None, today=today)
    full_s = time.perf_counter() - started
    started = time.perf_counter()
    with engine.begin() as conn:
        again = validate_submissions(conn, None, today=today)
    again_s = time.perf_counter() - started

    # New submissions are mostly about the last weeks; a backfill is spread over the years.
    timings = []
    for label, first, start in (
        ("last 30 days", dt.date(2026, 10, 21), args.n + 1),
        ("2021–2026", dt.date(2021, 1, 1), args.n + 1001),
    ):
        new = populate(engine, 1000, forms, communes, register, 2, start, first)
        started = time.perf_counter()
        with engine.begin() as conn:
            incremental = validate_submissions(conn, new, today=today)
        timings.append((label, incremental.validated, time.perf_counter() - started))
    with engine.begin() as conn:
        issues = conn.execute(text("SELECT count(*) FROM validation_issues")).scalar()
        subs = conn.execute(select(func.count()).select_from(SUB)).scalar()

    print(f"database: {engine.dialect.name}, submissions: {subs}, issues stored: {issues}")
    print(
        f"full run, first:  {full.validated:>7} validated, {full.inserted} issues inserted, "
        f"{len(full.excluded)} excluded — {full_s:.2f} s"
    )
    print(f"full run, again:  {again.validated:>7} validated, nothing changed — {again_s:.2f} s")
    for label, validated, seconds in timings:
        print(
            f"incremental:      {validated:>7} validated (1000 new dated {label}, with the "
            f"records they are compared with) — {seconds:.2f} s"
        )
    print("issues by rule (first run):", dict(sorted(full.by_rule.items())))
    engine.dispose()


if __name__ == "__main__":
    main()
