"""The demo's records of DESIGN §6b (cli/demo_programme.py): every state a case can be in,
monthly reports late and on time and with nothing to report, persons supported again, plans
with and without integration — seeded, and nothing dated or received after today."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

from pcmd.cli import demo_programme
from pcmd.ingest.instance import parse_instance

COMMUNES = ["21025", "21028", "21034", "21040", "21061", "21085", "21100", "21109"]
START, TODAY = dt.date(2025, 1, 1), dt.date(2026, 11, 20)
VERSIONS = dict.fromkeys(
    ("pcmd_case", "pcmd_case_update", "pcmd_monthly", "pcmd_support", "pcmd_plan"), "2026120701"
)
VN = dt.timezone(dt.timedelta(hours=7))


def generate(seed: int = 7) -> list[tuple[bytes, dt.datetime | None]]:
    return list(
        demo_programme.programme_records(
            "51", COMMUNES, START, TODAY, VERSIONS, random.Random(seed)
        )
    )


def test_demo_programme__seeded() -> None:
    assert generate() == generate()
    assert generate() != generate(8)


def test_demo_programme__every_case_state_and_report_kind() -> None:
    records = [(parse_instance(xml), received) for xml, received in generate()]
    received_on: dict[str, dt.date] = {}
    steps: dict[str, list[tuple[str, dt.date]]] = {}
    reports: Counter[tuple[str, str]] = Counter()
    late, nothing, persons = 0, 0, Counter[tuple[str, ...]]()
    plans: set[str] = set()
    for inst, received in records:
        v = inst.values
        assert v["where/commune"] in COMMUNES
        if received is not None:
            assert received.astimezone(VN).date() <= TODAY
        if inst.form_id == "pcmd_case":
            received_on[inst.instance_id.removeprefix("uuid:")] = dt.date.fromisoformat(
                v["received_date"]
            )
        elif inst.form_id == "pcmd_case_update":
            day = dt.date.fromisoformat(v["step_date"])
            assert day <= TODAY
            assert day >= received_on[v["case"]]  # a step follows its case
            steps.setdefault(v["case"], []).append((v["step"], day))
        elif inst.form_id == "pcmd_monthly":
            month = dt.date.fromisoformat(v["month"])
            reports[(v["where/commune"], v["month"])] += 1
            assert received is not None
            due = dt.date(month.year + (month.month == 12), month.month % 12 + 1, 5)
            late += received.astimezone(VN).date() > due
            nothing += v["nothing_to_report"] == "yes"
        elif inst.form_id == "pcmd_support":
            persons[(v["where/commune"], *(v[f"uic/{k}"] for k in ("mother_initial",
                     "father_initial", "birth_year", "sex")))] += 1  # fmt: skip
        else:
            plans.add(
                "no plan"
                if v["plan_issued"] == "no"
                else ("not integrated" if v["integrated_with"] == "khong" else "integrated")
            )
    last = {key: max(s, key=lambda x: x[1])[0] if s else "tiep_nhan" for key, s in
            ((k, steps.get(k, [])) for k in received_on)}  # fmt: skip
    assert set(last.values()) >= {"tiep_nhan", "xac_minh", "xu_ly_xong", "chuyen"}
    assert any(name == "gia_han" for s in steps.values() for name, _d in s)
    handled = {k: min(d for n, d in s if n in ("xu_ly_xong", "chuyen")) for k, s in
               steps.items() if any(n in ("xu_ly_xong", "chuyen") for n, _d in s)}  # fmt: skip
    extended = {k for k, s in steps.items() if any(n == "gia_han" for n, _d in s)}
    deadline = {k: r + dt.timedelta(days=20) for k, r in received_on.items()}
    assert any(d > deadline[k] for k, d in handled.items() if k not in extended)  # late
    assert any(k not in handled and deadline[k] < TODAY for k in received_on)  # overdue
    assert late > 0
    assert nothing > 0
    assert max(reports.values()) == 2  # a report corrected later
    assert max(persons.values()) > 1  # the same person supported again
    assert plans == {"no plan", "not integrated", "integrated"}
