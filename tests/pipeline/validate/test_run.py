"""validate_submissions: issues of the current version stored, replaced on edit, overridden ones
kept; duplicates and outliers across records; an incremental run agreeing with a full one."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import Engine, select, update

from pcmd.db.engine import transaction
from pcmd.db.models import Submission, ValidationIssue
from pcmd.ingest.files import FileStore
from pcmd.masterdata.establishments import import_establishments
from pcmd.masterdata.periods import vietnam_today
from pcmd.pipeline.validate import history as history_module
from pcmd.pipeline.validate.run import validate_submissions
from pcmd.pipeline.validate.store import override_issue
from tests.pipeline.instances import answers, send
from tests.pipeline.validate.runs import (
    INS,
    OUT,
    TRA,
    counted,
    current_version,
    issue_id,
    stored,
    validate,
)
from tests.server.collect import new_id


def test_validate_submissions__valid_records__no_issue_all_counted(
    engine: Engine, store: FileStore
) -> None:
    ids = [send(engine, store, form, answers(form)).submission_id for form in (OUT, TRA, INS)]
    summary = validate(engine)
    assert (summary.validated, summary.inserted, summary.deleted) == (3, 0, 0)
    assert summary.excluded == set()
    assert all(stored(engine, sid) == [] for sid in ids)
    assert counted(engine) == set(ids)


def test_validate_submissions__error__stored_with_message_and_excluded(
    engine: Engine, store: FileStore
) -> None:
    good = send(engine, store, OUT, answers(OUT)).submission_id
    bad = send(engine, store, OUT, answers(OUT, reach__n_female="46")).submission_id
    summary = validate(engine)
    assert (summary.inserted, summary.excluded, summary.changed) == (1, {bad}, {bad})
    assert summary.by_rule == {"PART_001": 1}
    version = current_version(engine, bad)
    assert stored(engine, bad) == [("PART_001", "reach/n_female", "error", "open", version)]
    with transaction(engine) as s:
        issue = s.scalars(select(ValidationIssue)).one()
    # 0 + 0 + 40 + 5 = 45 people reached, 46 of them women
    assert issue.message_vi.startswith("[reach/n_female] reach/n_female = 46 lớn hơn")
    assert issue.message_en.startswith(
        "[reach/n_female] reach/n_female = 46 is larger than n_establishment_workers + "
        "n_industrial_workers + n_students + n_general = 45. Fix: edit the submission"
    )
    assert counted(engine) == {good}


def test_validate_submissions__run_twice__nothing_changes(engine: Engine, store: FileStore) -> None:
    send(engine, store, OUT, answers(OUT, reach__n_female="46", topics=""))
    first = validate(engine)
    again = validate(engine)
    assert (first.inserted, again.inserted, again.deleted, again.kept) == (2, 0, 0, 2)
    assert again.changed == set()


def test_validate_submissions__edit_fixes__issue_deleted_and_counted(
    engine: Engine, store: FileStore
) -> None:
    root = new_id()
    sid = send(engine, store, OUT, answers(OUT, reach__n_female="46"), instance_id=root)
    validate(engine, [sid.submission_id])
    send(engine, store, OUT, answers(OUT, reach__n_female="45"), deprecated_id=root)
    summary = validate(engine, [sid.submission_id])
    assert (summary.deleted, summary.inserted, summary.changed) == (1, 0, {sid.submission_id})
    assert stored(engine, sid.submission_id) == []
    assert counted(engine) == {sid.submission_id}


def test_validate_submissions__edit_still_wrong__issue_of_new_version_only(
    engine: Engine, store: FileStore
) -> None:
    root = new_id()
    sid = send(engine, store, OUT, answers(OUT, reach__n_female="46"), instance_id=root)
    validate(engine)
    send(engine, store, OUT, answers(OUT, reach__n_female="47"), deprecated_id=root)
    validate(engine)
    new_version = current_version(engine, sid.submission_id)
    assert stored(engine, sid.submission_id) == [
        ("PART_001", "reach/n_female", "error", "open", new_version)
    ]
    assert counted(engine) == set()


def test_validate_submissions__overridden_rule_stops_firing__deleted(
    engine: Engine, store: FileStore
) -> None:
    """A register id unknown today becomes known after an import: the issue goes."""
    sid = send(engine, store, INS, answers(INS, establishment__id="QN-0002")).submission_id
    validate(engine)
    assert [r[0] for r in stored(engine, sid)] == ["EST_001"]
    with engine.begin() as conn:
        override_issue(conn, issue_id(engine, sid, "EST_001"), "user:hoa")
    with transaction(engine) as s:
        import_establishments(
            s,
            "id,name,type,commune,address,license_no,status\n"
            "QN-0002,Massage Sen,massage_xong_hoi,21025,,,active\n",
            "more.csv",
        )
    summary = validate(engine, [sid])
    assert (summary.deleted, stored(engine, sid)) == (1, [])


def test_validate_submissions__activity_after_arrival__error_even_later(
    engine: Engine, store: FileStore
) -> None:
    """A date after the day the form arrived is wrong for good, not until that day comes."""
    tomorrow = (vietnam_today() + dt.timedelta(days=1)).isoformat()
    sid = send(engine, store, OUT, answers(OUT, activity_date=tomorrow)).submission_id
    with engine.begin() as conn:
        validate_submissions(conn, [sid], today=dt.date(2030, 1, 1))
    assert [r[:3] for r in stored(engine, sid)] == [("DATE_001", "activity_date", "error")]


# --- duplicates ------------------------------------------------------------------------------


def test_validate_submissions__same_activity_other_device__warning_on_later(
    engine: Engine, store: FileStore
) -> None:
    first_iid = new_id()
    first = send(engine, store, OUT, answers(OUT), instance_id=first_iid).submission_id
    second = send(engine, store, OUT, answers(OUT, deviceid="collect:BBBB", reporter_org="mttq"))
    same_phone = send(engine, store, OUT, answers(OUT)).submission_id
    validate(engine)
    assert stored(engine, first) == []
    assert [r[:3] for r in stored(engine, second.submission_id)] == [("DUP_001", None, "warning")]
    with transaction(engine) as s:
        message = s.scalars(
            select(ValidationIssue.message_en).where(
                ValidationIssue.submission_id == second.submission_id
            )
        ).one()
    assert f"same form, commune, date and counts as {first_iid}, sent earlier" in message
    # The third comes from the first one's phone (maybe a second session): it is flagged
    # against the second, from another phone, not against the first.
    with transaction(engine) as s:
        third = s.scalars(
            select(ValidationIssue.message_en).where(ValidationIssue.submission_id == same_phone)
        ).one()
    assert f"as {second.instance_id}, sent earlier" in third
    assert counted(engine) == {first, second.submission_id, same_phone}  # a warning counts


def test_validate_submissions__same_phone_twice__no_warning(
    engine: Engine, store: FileStore
) -> None:
    send(engine, store, OUT, answers(OUT))
    later = send(engine, store, OUT, answers(OUT)).submission_id
    validate(engine)
    assert stored(engine, later) == []


def test_validate_submissions__earlier_one_edited__later_warning_cleared(
    engine: Engine, store: FileStore
) -> None:
    """Incremental: validating only the edited record also rechecks the one that named it."""
    root = new_id()
    send(engine, store, OUT, answers(OUT), instance_id=root)
    later = send(engine, store, OUT, answers(OUT, deviceid="collect:BBBB")).submission_id
    validate(engine)
    assert [r[0] for r in stored(engine, later)] == ["DUP_001"]
    edited = send(engine, store, OUT, answers(OUT, activity_date="2026-11-19"), deprecated_id=root)
    summary = validate(engine, [edited.submission_id])
    assert summary.validated == 2
    assert stored(engine, later) == []


def test_validate_submissions__earlier_one_rejected__later_warning_cleared(
    engine: Engine, store: FileStore
) -> None:
    first = send(engine, store, OUT, answers(OUT)).submission_id
    later = send(engine, store, OUT, answers(OUT, deviceid="collect:BBBB")).submission_id
    validate(engine)
    with transaction(engine) as s:
        s.execute(update(Submission).where(Submission.id == first).values(review_state="rejected"))
    validate(engine, [first])
    assert stored(engine, later) == []


# --- outliers --------------------------------------------------------------------------------

# Ten earlier outreach totals in commune 21025: median 11, MAD 1 (worked out in test_outliers).
HISTORY = (10, 12, 11, 13, 9, 10, 12, 11, 10, 12)


def history(engine: Engine, store: FileStore) -> list[int]:
    ids = []
    for day, total in enumerate(HISTORY, start=1):
        values = answers(
            OUT,
            activity_date=f"2026-10-{day:02d}",
            reach__n_students=str(total - 5),
            reach__n_female="1",
        )
        ids.append(send(engine, store, OUT, values).submission_id)
    return ids


def test_validate_submissions__outlier__incremental_reads_history_from_database(
    engine: Engine, store: FileStore
) -> None:
    history(engine, store)
    validate(engine)
    big = send(engine, store, OUT, answers(OUT, reach__n_students="95")).submission_id  # 100
    summary = validate(engine, [big])
    assert summary.by_rule == {"OUT_001": 1}
    assert [r[:3] for r in stored(engine, big)] == [("OUT_001", "reach/n_total", "warning")]
    with transaction(engine) as s:
        message = s.scalars(select(ValidationIssue.message_en)).one()
    # 0.6745 × (100 − 11) / 1 = 60.0
    assert "(median 11.0, modified z-score 60.0)" in message
    again = validate(engine)  # the full run agrees
    assert (again.inserted, again.deleted, again.kept) == (0, 0, 1)


def test_validate_submissions__outlier__errors_and_later_records_not_history(
    engine: Engine, store: FileStore
) -> None:
    ids = history(engine, store)
    with transaction(engine) as s:  # one of the ten is rejected: nine left, too few
        s.execute(update(Submission).where(Submission.id == ids[0]).values(review_state="rejected"))
    big = send(engine, store, OUT, answers(OUT, reach__n_students="95")).submission_id
    validate(engine)
    assert stored(engine, big) == []
    # a big record dated before the history has no history of its own
    early = send(
        engine, store, OUT, answers(OUT, activity_date="2026-09-01", reach__n_students="95")
    )
    with transaction(engine) as s:
        s.execute(update(Submission).where(Submission.id == ids[0]).values(review_state="received"))
    validate(engine)
    assert stored(engine, early.submission_id) == []
    assert [r[0] for r in stored(engine, big)] == ["OUT_001"]


# --- incremental = full ----------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["window", "whole_pairs"])
def test_validate_submissions__incremental_agrees_with_full_run(
    engine: Engine, store: FileStore, monkeypatch: pytest.MonkeyPatch, strategy: str
) -> None:
    """Whatever an incremental run decides for the records it checks, a full run decides the
    same: history windows, the records skipped for being small, duplicates and errors."""
    if strategy == "whole_pairs":
        monkeypatch.setattr(history_module, "WINDOW_QUERY_MAX", 0)
    rng = random.Random(7)

    def one(day: int, students: int, **changes: str) -> dict[str, str]:
        values = {
            "activity_date": (dt.date(2026, 1, 1) + dt.timedelta(days=day)).isoformat(),
            "where__commune": rng.choice(["21025", "21028"]),
            "reach__n_students": str(students),
            "reach__n_female": "0",
            "deviceid": f"collect:{rng.randrange(3)}",
        }
        return answers(OUT, **{**values, **changes})

    for _ in range(60):
        send(engine, store, OUT, one(rng.randrange(300), rng.choice([3, 20, 25, 30, 35, 200])))
    validate(engine)
    roots, new = [], []
    for i in range(25):  # new records spread over the same months, some broken, some tiny
        students = rng.choice([0, 2, 25, 30, 300])
        changes = {"reach__n_female": "999"} if i % 7 == 0 else {}
        root = new_id()
        roots.append(root)
        new.append(
            send(engine, store, OUT, one(rng.randrange(300), students, **changes), instance_id=root)
        )
    edited = send(engine, store, OUT, one(100, 250), deprecated_id=roots[3])
    ids = [r.submission_id for r in new] + [edited.submission_id]
    incremental = validate(engine, ids)
    assert incremental.validated >= len(set(ids))
    full = validate(engine)
    assert full.changed.isdisjoint(ids)
    assert {"OUT_001", "PART_001"} <= set(full.by_rule)


def test_run_pipeline__register_imported__inspections_checked_again_and_counted(
    engine: Engine, store: FileStore
) -> None:
    """An inspection of QN-0002, not yet in the register: an error, not counted. The register
    is imported with it; the next incremental run checks the inspection again and counts it —
    although the inspection itself did not change."""
    from sqlalchemy import func

    from pcmd.db.facts import FACT_TABLES
    from pcmd.pipeline.run import run_pipeline

    sid = send(engine, store, INS, answers(INS, establishment__id="QN-0002")).submission_id
    run_pipeline(engine)
    assert [r[0] for r in stored(engine, sid)] == ["EST_001"]
    inspections = FACT_TABLES[INS]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(inspections)).scalar_one() == 0
    with transaction(engine) as s:
        import_establishments(
            s,
            "id,name,type,commune,address,license_no,status\n"
            "QN-0002,Massage Sen,massage_xong_hoi,21025,,,active\n",
            "more.csv",
        )
    summary = run_pipeline(engine)
    assert "danh sách cơ sở (the establishment register)" in summary.reasons
    assert stored(engine, sid) == []
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(inspections)).scalar_one() == 1


def test_run_pipeline__case_received_date_edited__its_steps_checked_again(
    engine: Engine, store: FileStore
) -> None:
    """A case received 2026-03-01 and a step of it on 2026-03-05: fine. The case is edited to
    say it was received 2026-03-10: the step, itself unchanged, is now dated before the case
    (CASE_001, an error) at the next incremental run; edited back, the error goes."""
    from pcmd.ingest.incoming import Incoming
    from pcmd.ingest.submit import ingest_with_retry
    from pcmd.pipeline.run import run_pipeline
    from tests.pipeline import records

    def case(iid: str, received: str, deprecated_id: str | None = None) -> None:
        xml = records.xml(
            "pcmd_case",
            iid,
            commune="21025",
            province="51",
            day=received,
            deprecated_id=deprecated_id,
            kind="to_giac",
        )
        ingest_with_retry(engine, store, Incoming(xml=xml, source="openrosa"))

    first = records.new_id()
    case(first, "2026-03-01")
    step = records.xml(
        "pcmd_case_update",
        records.new_id(),
        commune="21025",
        province="51",
        day="2026-03-05",
        case=first.removeprefix("uuid:"),
        step="xac_minh",
    )
    sid = ingest_with_retry(engine, store, Incoming(xml=step, source="openrosa")).submission_id
    run_pipeline(engine)
    assert [r[0] for r in stored(engine, sid)] == []

    later = records.new_id()
    case(later, "2026-03-10", deprecated_id=first)
    run_pipeline(engine)
    assert [r[0] for r in stored(engine, sid)] == ["CASE_001"]

    case(records.new_id(), "2026-03-01", deprecated_id=later)
    run_pipeline(engine)
    assert [r[0] for r in stored(engine, sid)] == []
