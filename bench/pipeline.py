"""Pipeline benchmark: a synthetic country (or one province) from 2021 to 2026, then the full
recompute, the incremental run, and a row-by-row reference implementation as a cross-check.

    .venv/bin/python bench/pipeline.py -n 100000 --check            # SQLite, with the check
    .venv/bin/python bench/pipeline.py -n 1000000                    # the whole country
    .venv/bin/python bench/pipeline.py -n 100000 --scope province   # Quảng Ngãi's 96 communes
    .venv/bin/python bench/pipeline.py -n 100000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test   # emptied first

Data. The official org-unit list, the three shipped forms, a register (2–7 establishments per
commune, 5 % closed), reference data (per commune: students, officials, establishment workers;
per province: industrial workers, provincial officials) for 2021–2026, a few imported targets.
Submissions are the demo province's instance XML (pcmd.cli.demo_data: realistic channels, settings,
head counts, inspections of register ids) for communes weighted by a log-normal activity, dates
spread over 2021-01-01 … 2026-11-20; 2 % are rejected by a reviewer and 1 % carry an open error.
They go in through `bulk_ingest`, which writes exactly the rows the real ingest writes (same
parser, same typing, same columns: tests/test_bench_pipeline.py checks it) but many per
statement; the 1,000 new submissions of the incremental run go through the real ingest.

Phases, each timed (the timed ones in a fresh process, whose peak memory is reported):
- first run: `run_pipeline(full=True)` — normalise every submission, build the cube, compute
  and store every value (validation is left out unless --validate: the bench's issues are set
  by hand, and validation has its own benchmark);
- full recompute: `reaggregate()` — compute every stored indicator value, every programme,
  level and period, from the monthly cube (rebuilt from the fact tables first when they moved
  since the run that left it), writing the periods whose values changed;
- incremental: `run_pipeline()` after 1,000 new submissions (dated in the last two months, as
  new records are) through the real ingest; and after 100 edits and review decisions spread
  over 2021–2026, which touch old periods up to the country's 2021-2025;
- reference (--check): the same indicators computed by a straightforward row-by-row Python
  implementation straight from the submissions, compared value by value with every stored row.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    insert,
    select,
    text,
    update,
)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import reference_8b as ref8b  # noqa: E402  (the reference for DESIGN §8b)

from pcmd.cli import demo_data as demo  # noqa: E402
from pcmd.db.cases import CaseEntity  # noqa: E402
from pcmd.db.engine import make_engine, transaction, write_connection  # noqa: E402
from pcmd.db.migrate import upgrade  # noqa: E402
from pcmd.db.models import (  # noqa: E402
    Base,
    Establishment,
    Form,
    FormVersion,
    OrgUnit,
    ReferenceValue,
    Submission,
    SubmissionVersion,
    Target,
    ValidationIssue,
    utcnow,
)
from pcmd.forms.convert import convert_workbook  # noqa: E402
from pcmd.forms.registry import refresh_media, shipped_workbooks_dir, store_build  # noqa: E402
from pcmd.ingest.files import FileStore  # noqa: E402
from pcmd.ingest.form_lookup import FormLookup  # noqa: E402
from pcmd.ingest.incoming import Incoming  # noqa: E402
from pcmd.ingest.instance import binary_names, parse_instance, typed_values  # noqa: E402
from pcmd.ingest.submit import COMMUNE_FIELD, ingest_with_retry  # noqa: E402
from pcmd.masterdata.orgunits import load_shipped  # noqa: E402
from pcmd.pipeline import run as pipeline_run  # noqa: E402

TODAY = dt.date(2026, 11, 20)
START = dt.date(2021, 1, 1)
SUB = Base.metadata.tables[Submission.__tablename__]
VER = Base.metadata.tables[SubmissionVersion.__tablename__]
DATE_FIELD = {
    "pcmd_outreach": "activity_date",
    "pcmd_training": "start_date",
    "pcmd_inspection": "inspection_date",
}


# --- the dataset -----------------------------------------------------------------------------


@dataclass
class World:
    province_of: dict[str, str]  # commune → province (the official list)
    communes: list[str]
    weights: list[float]
    register: dict[str, list[demo.DemoEstablishment]] = field(default_factory=dict)


def prepare(engine: Engine, scope: str, rng: random.Random) -> World:
    """Org units, forms, register, reference data and targets."""
    builds = [
        convert_workbook(p.read_bytes(), p.name, validate=False)
        for p in sorted(shipped_workbooks_dir().glob("*.xlsx"))
    ]
    with transaction(engine, write=True) as s:
        load_shipped(s)
        for build in builds:
            store_build(s, build)
        units = s.execute(
            select(OrgUnit.code, OrgUnit.parent_code).where(OrgUnit.level == "commune")
        ).all()
    province_of = {u.code: u.parent_code for u in units}
    communes = sorted(c for c, p in province_of.items() if scope == "country" or p == "51")
    weights = [rng.lognormvariate(0.0, 0.8) for _ in communes]
    world = World(province_of, communes, weights)
    register = demo.establishments(communes, rng)
    closed = {e.id for e in register if rng.random() < 0.05}
    for est in register:
        world.register.setdefault(est.commune, []).append(est)
    provinces = sorted({province_of[c] for c in communes})
    with transaction(engine, write=True) as s:
        s.execute(
            insert(Establishment),
            [
                {
                    "id": e.id,
                    "name": e.name,
                    "type": e.type,
                    "commune_code": e.commune,
                    "address": e.address,
                    "license_no": f"GP-{e.id}",
                    "status": "closed" if e.id in closed else "active",
                }
                for e in register
            ],
        )
        workers: dict[str, int] = defaultdict(int)
        for e in register:
            workers[e.commune] += e.workers
        rows = []
        for year in range(2021, 2027):
            for c in communes:
                if rng.random() < 0.9:  # a tenth of the communes never sent their figures
                    rows.append((c, year, "students", rng.randint(300, 2600)))
                    rows.append((c, year, "officials_commune", rng.randint(8, 22)))
                rows.append((c, year, "establishment_workers", workers[c]))
            for p in provinces:
                rows.append((p, year, "industrial_workers", rng.randint(20_000, 90_000)))
                rows.append((p, year, "officials_province", rng.randint(160, 220)))
        s.execute(
            insert(ReferenceValue),
            [{"org_code": o, "year": y, "key": k, "value": v} for o, y, k, v in rows],
        )
        s.execute(
            insert(Target),
            [
                {"indicator": "TT1", "org_code": provinces[0], "period": "2025", "target": 80},
                {"indicator": "HD1", "org_code": provinces[0], "period": "2026Q3", "target": 500},
                {"indicator": "KT1", "org_code": communes[0], "period": "2024", "target": 50},
            ],
        )
        refresh_media(s)
    return world


def xml_of(world: World, rng: random.Random, day: dt.date) -> bytes:
    commune = rng.choices(world.communes, world.weights)[0]
    province = world.province_of[commune]
    kind = rng.random()
    ests = world.register.get(commune)
    if kind < 0.6 or (kind >= 0.7 and not ests):
        return demo.outreach(province, commune, day, rng)
    if kind < 0.7:
        return demo.training(province, commune, day, rng)
    assert ests
    return demo.inspection(province, rng.choice(ests), day, rng)


def random_day(rng: random.Random, start: dt.date = START, end: dt.date = TODAY) -> dt.date:
    # More records in later years: programmes ramp up.
    span = (end - start).days
    return start + dt.timedelta(days=int(span * rng.random() ** 0.8))


def generate(world: World, n: int, rng: random.Random) -> Iterator[bytes]:
    for _ in range(n):
        yield xml_of(world, rng, random_day(rng))


@dataclass
class BulkForm:
    form_pk: int
    fields: dict[str, dict[str, Any]]


def bulk_ingest(conn: Connection, xmls: Sequence[bytes], *, source: str = "openrosa") -> list[int]:
    """New submissions written as `ingest` writes them — the same parser, typing and columns —
    but many rows per statement. New submissions only (no edits, no attachments)."""
    forms: dict[tuple[str, str], BulkForm] = {}
    for row in conn.execute(
        select(Form.form_id, FormVersion.version, Form.id, FormVersion.fields).join(
            FormVersion, FormVersion.form_pk == Form.id
        )
    ):
        forms[(row.form_id, row.version)] = BulkForm(row.id, row.fields)
    now = utcnow()
    subs: list[dict[str, Any]] = []
    vers: list[dict[str, Any]] = []
    for xml in xmls:
        inst = parse_instance(xml)
        form = forms[(inst.form_id, inst.version)]
        data = typed_values(inst.values, form.fields)
        commune = data.get(COMMUNE_FIELD)
        day = next((data[f] for f in DATE_FIELD.values() if isinstance(data.get(f), str)), None)
        subs.append(
            {
                "instance_id": inst.instance_id,
                "form_pk": form.form_pk,
                "source": source,
                "review_state": "received",
                "deleted": False,
                "commune_code": commune if isinstance(commune, str) else None,
                "activity_date": dt.date.fromisoformat(day) if day else None,
                "submitted_at": now,
                "updated_at": now,
            }
        )
        vers.append(
            {
                "instance_id": inst.instance_id,
                "deprecated_id": inst.deprecated_id,
                "form_version": inst.version,
                "xml": xml.decode("utf-8"),
                "xml_sha256": hashlib.sha256(xml).hexdigest(),
                "data": data,
                "attachments_expected": binary_names(inst.values, form.fields),
                "source": source,
                "source_ref": None,
                "submitter": None,
                "device_id": None,
                "received_at": now,
            }
        )
    ids: list[int] = list(
        conn.execute(insert(SUB).returning(SUB.c.id, sort_by_parameter_order=True), subs).scalars()
    )
    for sid, ver in zip(ids, vers, strict=True):
        ver["submission_id"] = sid
    vids: list[int] = list(
        conn.execute(insert(VER).returning(VER.c.id, sort_by_parameter_order=True), vers).scalars()
    )
    conn.execute(
        update(SUB).where(SUB.c.id == bindparam("sid")).values(current_version_id=bindparam("vid")),
        [{"sid": s, "vid": v} for s, v in zip(ids, vids, strict=True)],
    )
    return ids


def fill(engine: Engine, world: World, n: int, rng: random.Random, chunk: int = 5000) -> None:
    made = 0
    batch: list[bytes] = []
    for xml in generate(world, n, rng):
        batch.append(xml)
        if len(batch) == chunk:
            with write_connection(engine) as conn:
                bulk_ingest(conn, batch)
            made += len(batch)
            batch = []
            print(f"\r  {made:,} / {n:,}", end="", flush=True)
    if batch:
        with write_connection(engine) as conn:
            bulk_ingest(conn, batch)
    print()
    # Reviewers reject 2 %; 1 % carry an open error (what validation would leave).
    with write_connection(engine) as conn:
        rows = conn.execute(select(SUB.c.id, SUB.c.current_version_id)).all()
        picked = rng.sample(rows, k=len(rows) * 3 // 100)
        rejected, flagged = picked[: len(picked) * 2 // 3], picked[len(picked) * 2 // 3 :]
        if rejected:
            conn.execute(
                update(SUB).where(SUB.c.id == bindparam("sid")).values(review_state="rejected"),
                [{"sid": r.id} for r in rejected],
            )
        if flagged:
            conn.execute(
                insert(ValidationIssue),
                [
                    {
                        "submission_id": r.id,
                        "version_id": r.current_version_id,
                        "rule": "bench_error",
                        "severity": "error",
                        "field_path": "reach/n_total",
                        "message_vi": "lỗi (bench)",
                        "message_en": "error (bench)",
                        "status": "open",
                        "created_at": utcnow(),
                    }
                    for r in flagged
                ],
            )


# --- the row-by-row reference implementation -----------------------------------------------

# The indicators of Programme 1629, written out again apart from the programme file and engine.
PERCENT = ("TT1", "TT2", "TT3A", "TT3B", "TT3C", "KT1", "KT2", "DT1", "DT2", "BC1")
ORDER = (
    "TT1",
    "TT2",
    "TT3A",
    "TT3B",
    "TT3C",
    "KT1",
    "KT2",
    "DT1",
    "DT2",
    "HD1",
    "HD2",
    "HD3",
    "HD4",
    "HD5",
    "BC1",
)
TARGETS = {
    "TT1": 70,
    "TT2": 100,
    "TT3A": 70,
    "TT3B": 60,
    "TT3C": 70,
    "KT1": 20,
    "DT1": 70,
    "DT2": 50,
    "BC1": 100,
}
MEDIA = ("bao_chi", "mang_xa_hoi", "loa_dai")
REF_KEY = {
    "TT3A": "establishment_workers",
    "TT3B": "industrial_workers",
    "TT3C": "students",
    "DT1": "officials_province",
    "DT2": "officials_commune",
}


def _int(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


@dataclass
class Cell:
    outreach: int = 0
    training: int = 0
    inspections: int = 0
    violations: int = 0
    est_reach: int = 0
    industrial: int = 0
    students: int = 0
    total: int = 0
    new_prov: int = 0
    new_comm: int = 0
    fines: int = 0
    communes_outreach: set[str] = field(default_factory=set)
    communes_any: set[str] = field(default_factory=set)
    media_months: set[int] = field(default_factory=set)
    establishments: set[str] = field(default_factory=set)


def _periods(day: dt.date) -> list[str]:
    out = [f"{day.year}{day.month:02d}", f"{day.year}Q{(day.month - 1) // 3 + 1}", str(day.year)]
    if 2021 <= day.year <= 2025:
        out.append("2021-2025")
    return out


def _half_up(num: float, den: float) -> float:
    value = Decimal(repr(float(num))) * 100 / Decimal(repr(float(den)))
    return float(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def reference_rows(engine: Engine, today: dt.date) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    """Every stored value of pcmd_1629, computed one submission at a time."""
    with engine.connect() as conn:
        units = conn.execute(
            select(
                OrgUnit.code,
                OrgUnit.level,
                OrgUnit.parent_code,
                OrgUnit.valid_from,
                OrgUnit.valid_to,
            )
        ).all()
        current = [u for u in units if u.valid_to is None]
        parent = {u.code: u.parent_code for u in current}
        communes_of: dict[str, int] = defaultdict(int)
        for u in current:
            if u.level == "commune":
                communes_of[u.code] = 1
                communes_of[u.parent_code] += 1
                communes_of["VN"] += 1
        status = dict(conn.execute(select(Establishment.id, Establishment.status)).all())
        active: dict[str, int] = defaultdict(int)
        for commune, st in conn.execute(select(Establishment.commune_code, Establishment.status)):
            if st == "active" and commune in parent:
                for org in (commune, parent[commune], "VN"):
                    active[org] += 1
        refs: dict[tuple[str, str], list[tuple[int, float]]] = defaultdict(list)
        for r in conn.execute(
            select(
                ReferenceValue.org_code,
                ReferenceValue.year,
                ReferenceValue.key,
                ReferenceValue.value,
            )
        ):
            refs[(r.key, r.org_code)].append((r.year, r.value))
        targets = {
            (t.indicator, t.org_code, t.period): t.target
            for t in conn.execute(
                select(Target.indicator, Target.org_code, Target.period, Target.target)
            )
        }
        errors = {
            (r.submission_id, r.version_id)
            for r in conn.execute(
                select(ValidationIssue.submission_id, ValidationIssue.version_id).where(
                    ValidationIssue.severity == "error", ValidationIssue.status == "open"
                )
            )
        }
        rows = conn.execute(
            select(
                Submission.id,
                Submission.current_version_id,
                Submission.review_state,
                Submission.deleted,
                Submission.commune_code,
                Submission.activity_date,
                Form.form_id,
                SubmissionVersion.data,
                Submission.submitted_at,
                Submission.instance_id,
            )
            .join(Form, Form.id == Submission.form_pk)
            .join(SubmissionVersion, SubmissionVersion.id == Submission.current_version_id)
        )
        cells: dict[tuple[str, str], Cell] = defaultdict(Cell)
        new_rows: list[Any] = []  # the records of DESIGN §6b, for reference_8b
        for r in rows:
            if r.deleted or r.review_state == "rejected" or (r.id, r.current_version_id) in errors:
                continue
            if r.form_id in ref8b.NEW_FORMS:
                new_rows.append(r)
                continue
            commune = r.commune_code
            province = parent.get(commune)
            if province is None or r.activity_date is None:
                continue
            day = r.activity_date
            month = day.year * 100 + day.month
            data = r.data
            for period in _periods(day):
                for org in (commune, province, "VN"):
                    if org == commune and not (len(period) == 4 or "-" in period):
                        continue  # a commune's months and quarters are not stored
                    c = cells[(org, period)]
                    c.communes_any.add(commune)
                    if r.form_id == "pcmd_outreach":
                        c.outreach += 1
                        c.communes_outreach.add(commune)
                        if data.get("channel") in MEDIA:
                            c.media_months.add(month)
                        parts = [
                            _int(data.get(f"reach/{k}"))
                            for k in (
                                "n_establishment_workers",
                                "n_industrial_workers",
                                "n_students",
                                "n_general",
                            )
                        ]
                        c.est_reach += parts[0]
                        c.industrial += parts[1]
                        c.students += parts[2]
                        c.total += sum(parts)
                    elif r.form_id == "pcmd_training":
                        c.training += 1
                        c.new_prov += _int(data.get("participants/new_province_staff"))
                        c.new_comm += _int(data.get("participants/new_commune_staff"))
                    else:
                        c.inspections += 1
                        c.violations += data.get("findings/violation") == "yes"
                        c.est_reach += _int(data.get("findings/n_workers_informed"))
                        c.fines += _int(data.get("findings/fine_vnd"))
                        est = data.get("establishment/id")
                        if data.get("establishment/known") == "yes" and status.get(est) == "active":
                            c.establishments.add(est)

        aliases = {
            a: e
            for a, e in conn.execute(select(CaseEntity.alias, CaseEntity.entity_id))
            if a is not None
        }
    facts8b = ref8b.facts(new_rows, parent, aliases)
    for commune, province, day in ref8b.presence(facts8b):
        for period in _periods(day):
            for org in (commune, province, "VN"):
                if org == commune and not (len(period) == 4 or "-" in period):
                    continue
                cells[(org, period)].communes_any.add(commune)
    # cells whose only counted quantity is read for another period (TP2, KH1/KH2)
    shifted_orgs = {
        org
        for c, p in [*facts8b.monthly, *facts8b.plans]
        for org in (c, parent.get(c), "VN")
        if org is not None
    }
    for org in sorted(shifted_orgs):
        for period in _stored_periods(today):
            if org not in ("VN", *children_of_vn(parent)) and not (
                len(period) == 4 or "-" in period
            ):
                continue  # a commune's months and quarters are not stored
            if (org, period) not in cells and ref8b.shifted_present(facts8b, org, period, today):
                cells[(org, period)] = Cell()

    children: dict[str, list[str]] = defaultdict(list)
    for code, p in parent.items():
        if p is not None:
            children[p].append(code)

    def ref(key: str, org: str, year: int) -> float | None:
        own = [v for y, v in sorted(refs.get((key, org), [])) if y <= year]
        if own:
            return own[-1]
        values = [v for v in (ref(key, k, year) for k in children[org]) if v is not None]
        return float(sum(values)) if values else None

    ref_cache: dict[tuple[str, str, int], float | None] = {}
    out: dict[tuple[str, str, str], tuple[Any, ...]] = {}
    for (org, period), c in cells.items():
        last_year = int(period[-4:]) if "-" in period else int(period[:4])
        if len(period) == 6 and period.isdigit():
            kind = "month"
            begun = 1 if dt.date(int(period[:4]), int(period[4:]), 1) <= today else 0
        elif "Q" in period:
            kind = "quarter"
            q = int(period[-1])
            begun = sum(1 for m in range(3 * q - 2, 3 * q + 1) if dt.date(last_year, m, 1) <= today)
        elif "-" in period:
            kind = "programme"
            begun = sum(
                1 for y in range(2021, 2026) for m in range(1, 13) if dt.date(y, m, 1) <= today
            )
        else:
            kind = "year"
            begun = sum(1 for m in range(1, 13) if dt.date(last_year, m, 1) <= today)
        nums = {
            "TT1": len(c.communes_outreach),
            "TT2": len(c.media_months),
            "TT3A": c.est_reach,
            "TT3B": c.industrial,
            "TT3C": c.students,
            "KT1": len(c.establishments),
            "KT2": c.violations,
            "DT1": c.new_prov,
            "DT2": c.new_comm,
            "HD1": c.outreach,
            "HD2": c.total,
            "HD3": c.training,
            "HD4": c.inspections,
            "HD5": c.fines,
            "BC1": len(c.communes_any),
        }
        for ind in ORDER:
            num = nums[ind]
            den: float | None
            if ind in ("TT1", "BC1"):
                den = float(communes_of.get(org, 0))
            elif ind == "TT2":
                den = float(begun)
            elif ind == "KT1":
                den = float(active.get(org, 0))
            elif ind == "KT2":
                den = float(c.inspections)
            elif ind in REF_KEY:
                key = (REF_KEY[ind], org, last_year)
                if key not in ref_cache:
                    ref_cache[key] = ref(*key)
                den = ref_cache[key]
            else:
                den = None
            value: float | None = float(num)
            if ind in PERCENT:
                value = _half_up(num, den) if den else None
            target = targets.get((ind, org, period))
            if target is None and ind in TARGETS:
                if kind == "programme":
                    target = 100.0 if ind == "KT1" else float(TARGETS[ind])
                elif kind == "year":
                    target = float(TARGETS[ind])
            if value is None:
                st = "no_data"
            elif target is None:
                st = "no_target"
            else:
                st = "met" if value >= target else "not_met"
            out[(period, org, ind)] = (float(num), den, value, target, st)
        got8b = ref8b.numbers(
            facts8b, org, period, today, communes_of.get(org, 0), lambda k, o, y: ref(k, o, y)
        )
        for ind in ref8b.ORDER_8B:
            num8, den8 = got8b[ind]
            value8: float | None = num8
            if ind in ref8b.PERCENT_8B:
                top = num8 - den8 if ind == "TP2" and den8 is not None else num8
                value8 = _half_up(top, den8) if den8 else None
            target8 = targets.get((ind, org, period))
            if target8 is None and ind in ref8b.TARGETS_8B and kind in ("programme", "year"):
                target8 = float(ref8b.TARGETS_8B[ind])
            if value8 is None:
                st8 = "no_data"
            elif target8 is None:
                st8 = "no_target"
            else:
                st8 = "met" if value8 >= target8 else "not_met"
            out[(period, org, ind)] = (num8, den8, value8, target8, st8)
    return out


def children_of_vn(parent: dict[str, str]) -> set[str]:
    """The provinces (units whose parent is the country)."""
    return {code for code, p in parent.items() if p == "VN"}


def _stored_periods(today: dt.date) -> list[str]:
    """What the pipeline stores for pcmd_1629: months, quarters, years from 2021 to today, and
    2021-2025."""
    out = ["2021-2025"]
    for year in range(2021, today.year + 1):
        out.append(str(year))
        for month in range(1, 13):
            if dt.date(year, month, 1) <= today:
                out.append(f"{year}{month:02d}")
                if month % 3 == 1:
                    out.append(f"{year}Q{(month - 1) // 3 + 1}")
    return out


def compare(engine: Engine, want: dict[tuple[str, str, str], tuple[Any, ...]]) -> list[str]:
    with engine.connect() as conn:
        got = {
            (r.period, r.org_code, r.indicator): (
                r.numerator,
                r.denominator,
                r.value,
                r.target,
                r.status,
            )
            for r in conn.execute(
                text(
                    "SELECT period, org_code, indicator, numerator, denominator, value, target, "
                    "status FROM indicator_values WHERE programme = 'pcmd_1629'"
                )
            )
        }
    problems = []
    for key in sorted(set(want) | set(got)):
        if want.get(key) != got.get(key):
            problems.append(f"{key}: reference {want.get(key)} != pipeline {got.get(key)}")
    return problems


# --- phases --------------------------------------------------------------------------------


def _no_validation() -> None:
    def skip(*_args: object) -> set[int]:
        return set()

    pipeline_run._validate = skip  # type: ignore[assignment]


def world_from_db(engine: Engine, rng: random.Random) -> World:
    """The generator's world again, from the database (for a phase in its own process)."""
    with engine.connect() as conn:
        units = conn.execute(
            select(OrgUnit.code, OrgUnit.parent_code).where(OrgUnit.level == "commune")
        ).all()
        registered = conn.execute(
            select(Establishment.id, Establishment.commune_code, Establishment.type)
        ).all()
        used = {c for (c,) in conn.execute(select(SUB.c.commune_code).distinct()) if c}
    communes = sorted(u.code for u in units if u.code in used)
    world = World(
        {u.code: u.parent_code for u in units},
        communes,
        [rng.lognormvariate(0.0, 0.8) for _ in communes],
    )
    for est_id, commune, kind in registered:
        world.register.setdefault(commune, []).append(
            demo.DemoEstablishment(est_id, est_id, kind, commune, "", rng.randint(2, 14))
        )
    return world


def phase(name: str, url: str, validate: bool) -> dict[str, Any]:
    """One timed phase in this (fresh) process; prints its figures as JSON."""
    engine = make_engine(url)
    if not validate:
        _no_validation()
    if name == "incremental-warm":
        # A long-lived process (the scheduler, the web server): it has run before, then 1,000
        # new submissions arrive through the real ingest, then the timed run.
        pipeline_run.run_pipeline(engine, today=TODAY)
        rng = random.Random(int.from_bytes(os.urandom(8), "big"))  # new records each time
        store = FileStore(Path(tempfile.mkdtemp(prefix="pcmd-bench-att-")))
        new_submissions(engine, world_from_db(engine, rng), store, rng)
    started, cpu = time.perf_counter(), time.process_time()
    if name == "first":
        summary = pipeline_run.run_pipeline(engine, full=True, today=TODAY)
    elif name == "recompute":
        summary = pipeline_run.reaggregate(engine, today=TODAY)
    elif name in ("incremental", "incremental-warm"):
        summary = pipeline_run.run_pipeline(engine, today=TODAY)
    else:
        raise SystemExit(f"unknown phase {name}")
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    engine.dispose()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "load": os.getloadavg()[0],
        "max_rss_mb": rss,
        "values_written": summary.values_written,
        "changed": summary.changed,
        "timings": summary.timings,
    }


def run_phase(name: str, url: str, validate: bool) -> dict[str, Any]:
    args = [sys.executable, __file__, "--phase", name, "--database-url", url]
    if validate:
        args.append("--validate")
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"phase {name} failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def fresh_database(url: str | None, workdir: Path) -> str:
    if url is None:
        return f"sqlite:///{workdir / 'pcmd.db'}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    admin.dispose()
    return url


def new_submissions(engine: Engine, world: World, store: FileStore, rng: random.Random) -> None:
    """1,000 new submissions dated in the last two months, through the real ingest."""
    forms = FormLookup()
    for _ in range(1000):
        day = random_day(rng, TODAY - dt.timedelta(days=60), TODAY)
        ingest_with_retry(
            engine, store, Incoming(xml=xml_of(world, rng, day), source="openrosa"), forms
        )


def old_changes(engine: Engine, rng: random.Random) -> None:
    """100 changes to older submissions: rejections and their undoing, and deletions."""
    with write_connection(engine) as conn:
        ids = [r for (r,) in conn.execute(select(SUB.c.id))]
        for sid in rng.sample(ids, 100):
            state = rng.choice(("rejected", "approved", "has_issues"))
            conn.execute(
                update(SUB).where(SUB.c.id == sid).values(review_state=state, updated_at=utcnow())
            )


def _checkpoint(path: Path) -> None:
    import sqlite3

    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


SIDE_BY_SIDE = [  # what --baseline compares
    ("first run s", r"first run \(.*?\): ([\d.]+) s", False),
    ("full recompute s", r"full recompute #\d .*?: ([\d.]+) s", False),
    ("incremental, new process s", r"new process: ([\d.]+) s", False),
    ("incremental, running process s", r"running process #\d: ([\d.]+) s", False),
    ("100 review decisions s", r"review decisions on 2021–2026 records: ([\d.]+) s", False),
]


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from baseline import side_by_side  # bench/ is not a package

    if side_by_side("pipeline.py", SIDE_BY_SIDE):  # --baseline COMMIT [--rounds R]
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=100_000, help="submissions (default 100,000)")
    parser.add_argument("--scope", choices=("country", "province"), default="country")
    parser.add_argument("--database-url", help="PostgreSQL URL (emptied!); default SQLite")
    parser.add_argument("--check", action="store_true", help="cross-check with the reference")
    parser.add_argument("--validate", action="store_true", help="run the validation rules too")
    parser.add_argument(
        "--workdir",
        help="SQLite only: keep the generated data here (pristine.db) and reuse it next time",
    )
    parser.add_argument("--seed", type=int, default=1629)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.database_url, args.validate)))
        return

    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="pcmd-bench-") as tmp:
        workdir = Path(args.workdir or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        pristine = workdir / f"pristine-{args.scope}-{args.n}-{args.seed}.db"
        url = fresh_database(args.database_url, workdir)
        if args.database_url is None:
            for leftover in workdir.glob("pcmd.db*"):
                leftover.unlink()
        reuse = args.database_url is None and args.workdir and pristine.exists()
        if reuse:
            shutil.copy(pristine, workdir / "pcmd.db")
        engine = make_engine(url)
        upgrade(engine)
        print(
            f"machine: {os.cpu_count()} cores, {platform.machine()}, Python "
            f"{platform.python_version()}, {engine.dialect.name}"
        )
        t0 = time.perf_counter()
        if reuse:
            world = world_from_db(engine, rng)
            print(f"data: reused {pristine.name}")
        else:
            world = prepare(engine, args.scope, rng)
            fill(engine, world, args.n, rng)
            if args.database_url is None and args.workdir:
                engine.dispose()
                _checkpoint(workdir / "pcmd.db")
                shutil.copy(workdir / "pcmd.db", pristine)
        print(
            f"data: {args.n:,} submissions in {len(world.communes):,} communes, "
            f"{sum(len(v) for v in world.register.values()):,} establishments "
            f"({time.perf_counter() - t0:.0f} s to generate)"
        )

        first = run_phase("first", url, args.validate)
        print(
            f"first run (normalise every submission, cube, every value): "
            f"{first['seconds']:.1f} s "
            f"(CPU {first['cpu_seconds']:.2f} s, load {first['load']:.1f}), "
            f"{first['values_written']:,} values, "
            f"peak {first['max_rss_mb']:.0f} MB"
        )
        for attempt in range(3):
            full = run_phase("recompute", url, args.validate)
            print(
                f"full recompute #{attempt + 1} (cube + every stored value): "
                f"{full['seconds']:.2f} s "
                f"(CPU {full['cpu_seconds']:.2f} s, load {full['load']:.1f}), "
                f"{full['values_written']:,} values, "
                f"peak {full['max_rss_mb']:.0f} MB "
                f"{json.dumps({k: round(v, 2) for k, v in full['timings'].items()})}"
            )

        if args.check:
            started = time.perf_counter()
            want = reference_rows(engine, TODAY)
            slow = time.perf_counter() - started
            problems = compare(engine, want)
            print(
                f"reference (row by row): {slow:.1f} s for {len(want):,} values; "
                f"fast path {slow / full['seconds']:.1f}× faster; "
                f"{'AGREE exactly' if not problems else f'{len(problems)} DIFFERENCES'}"
            )
            for line in problems[:20]:
                print("  ", line)
            if problems:
                raise SystemExit(1)

        store = FileStore(workdir / "attachments")
        new_submissions(engine, world, store, rng)
        inc = run_phase("incremental", url, args.validate)
        print(
            f"incremental after 1,000 new submissions, new process: {inc['seconds']:.2f} s "
            f"(CPU {inc['cpu_seconds']:.2f} s, load {inc['load']:.1f}) "
            f"({inc['changed']} changed, {inc['values_written']:,} values) "
            f"{json.dumps({k: round(v, 3) for k, v in inc['timings'].items()})}"
        )
        for attempt in range(3):
            inc = run_phase("incremental-warm", url, args.validate)
            print(
                f"incremental after 1,000 new submissions, running process #{attempt + 1}: "
                f"{inc['seconds']:.2f} s (CPU {inc['cpu_seconds']:.2f} s, load {inc['load']:.1f}; "
                f"{inc['changed']} changed, "
                f"{inc['values_written']:,} values) "
                f"{json.dumps({k: round(v, 3) for k, v in inc['timings'].items()})}"
            )
        old_changes(engine, rng)
        inc = run_phase("incremental", url, args.validate)
        print(
            f"incremental after 100 review decisions on 2021–2026 records: "
            f"{inc['seconds']:.2f} s (CPU {inc['cpu_seconds']:.2f} s, load {inc['load']:.1f}; "
            f"{inc['values_written']:,} values)"
        )
        if args.check:
            problems = compare(engine, reference_rows(engine, TODAY))
            print(
                f"after the incremental runs: "
                f"{'AGREE exactly' if not problems else f'{len(problems)} DIFFERENCES'}"
            )
            for line in problems[:20]:
                print("  ", line)
        engine.dispose()


if __name__ == "__main__":
    main()
