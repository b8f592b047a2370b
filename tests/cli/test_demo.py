"""`pcmd demo`: a realistic province through the real import and ingest paths."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from pcmd.cli import demo_data
from pcmd.db.engine import make_engine, transaction
from pcmd.db.models import (
    Attachment,
    Establishment,
    Form,
    IndicatorValue,
    ReferenceValue,
    Submission,
    SubmissionVersion,
    Target,
    ValidationIssue,
    WebUser,
)
from pcmd.db.review import SubmissionComment
from pcmd.ingest.instance import parse_instance
from tests.cli.test_main import pcmd


def test_generator__seeded_and_valid_instances() -> None:
    # eight communes: the generator leaves some silent (as in life) but not all of them
    communes = ["21025", "21028", "21034", "21040", "21061", "21085", "21100", "21109"]
    first = list(
        demo_data.submissions(
            "51",
            communes,
            demo_data.establishments(communes, random.Random(1)),
            dt.date(2025, 1, 1),
            dt.date(2025, 6, 30),
            random.Random(2),
        )
    )
    again = list(
        demo_data.submissions(
            "51",
            communes,
            demo_data.establishments(communes, random.Random(1)),
            dt.date(2025, 1, 1),
            dt.date(2025, 6, 30),
            random.Random(2),
        )
    )
    assert first == again
    forms = {parse_instance(x).form_id for x in first}
    assert forms <= {"pcmd_outreach", "pcmd_training", "pcmd_inspection"}
    assert "pcmd_outreach" in forms
    for xml in first:
        inst = parse_instance(xml)
        assert inst.values["where/commune"] in communes
        day = next(
            inst.values[k]
            for k in ("activity_date", "start_date", "inspection_date")
            if k in inst.values
        )
        assert "2025-01-01" <= day <= "2025-06-30"
        if inst.form_id == "pcmd_outreach":
            parts = [
                int(inst.values[f"reach/{k}"])
                for k in (
                    "n_establishment_workers",
                    "n_industrial_workers",
                    "n_students",
                    "n_general",
                )
            ]
            assert int(inst.values["reach/n_total"]) == sum(parts)
            assert int(inst.values["reach/n_female"]) <= sum(parts)


@pytest.mark.slow
def test_demo__fills_empty_database_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    env = {
        "PCMD_DATABASE_URL": url,
        "PCMD_DATA_DIR": str(tmp_path),
        "PCMD_DEMO_PASSWORD": "mật-khẩu-demo-2026",
    }
    assert pcmd("init", env=env).returncode == 0
    # Six months of records instead of two years: ~2,000 records, a quarter of the default
    # demo, and still every form, review state and indicator the checks below look for.
    done = pcmd("demo", "--months", "6", env=env)
    assert done.returncode == 0, done.stderr
    assert "96 xã" in done.stdout
    assert "mật-khẩu" not in done.stdout + done.stderr
    engine = make_engine(url)
    with transaction(engine) as s:
        count = s.scalar(select(func.count()).select_from(Submission)) or 0
        assert count > 1000
        assert (s.scalar(select(func.count(func.distinct(Submission.commune_code)))) or 0) > 50
        assert s.scalar(select(func.count(func.distinct(Submission.form_pk)))) == 8
        assert (s.scalar(select(func.count()).select_from(Establishment)) or 0) > 96 * 2
        assert (s.scalar(select(func.count()).select_from(ReferenceValue)) or 0) > 96 * 3
        assert s.scalar(select(WebUser.role).where(WebUser.username == "demo")) == (
            "province_reviewer"
        )
        assert s.scalar(select(func.count()).select_from(Form)) == 8
        # the indicators of DESIGN §8b have numbers for the province this year
        year = str(dt.date.today().year)
        values = {
            r.indicator: r
            for r in s.execute(
                select(IndicatorValue).where(
                    IndicatorValue.org_code == "51", IndicatorValue.period == year
                )
            ).scalars()
        }
        for ind in ("TG1", "TG2", "TP1", "HT1", "HT2", "KH1", "KH2", "BC2"):
            assert values[ind].value is not None, ind
        assert (values["TG2"].value or 0) > 20
        # as reviewers find it (demo_review.py): every review state, reasons and comments in
        # threads, photos and one expected but never received, issues to resolve, targets
        states = dict(
            s.execute(select(Submission.review_state, func.count()).group_by("review_state")).all()
        )
        assert {"received", "approved", "has_issues", "rejected"} <= set(states), states
        kinds = set(s.scalars(select(SubmissionComment.kind).distinct()))
        assert {"comment", "rejected"} <= kinds
        assert (s.scalar(select(func.count()).select_from(Attachment)) or 0) > 100
        lists: list[Any] = list(s.scalars(select(SubmissionVersion.attachments_expected)))
        named = [files for files in lists if files]
        # every photo named was received but one
        assert len(named) == (s.scalar(select(func.count()).select_from(Attachment)) or 0) + 1
        errors = select(func.count()).where(ValidationIssue.severity == "error")
        assert (s.scalar(errors) or 0) >= 2
        assert (
            s.scalar(
                select(Target.target).where(
                    Target.indicator == "TT1", Target.org_code == "51", Target.period == year
                )
            )
            == 80.0
        )
    engine.dispose()
    again = pcmd("demo", env=env)
    assert again.returncode == 1
    assert "empty one only" in again.stderr
