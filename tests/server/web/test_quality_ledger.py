"""The process's columns of every submission (server/web/quality_ledger.py), followed through
an arrival, open errors, an approval, a rejection, a deletion and its undoing, a change
committed with an older stamp, and timeliness at the edge of Vietnam's day — numbers worked out
by hand, each step also checked against the SQL the pages used before (SQLite and
PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import Engine, case, func, select, update

from pcmd.db.engine import transaction
from pcmd.db.models import Form, Submission
from pcmd.db.tables import ISSUE, SUB
from pcmd.forms import contract
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from pcmd.jobs.reminders import reported_communes
from pcmd.reports.quality import reporting_grid
from pcmd.server.web import ledger_counts, quality_ledger
from pcmd.server.web.provinces import PENDING
from pcmd.server.web.quality_ledger import Ledger
from pcmd.server.web.review import set_review_state
from tests.db.issues import add_open_issue
from tests.jobs.test_reminders import monthly_xml
from tests.server.collect import COMMUNE, OTHER_COMMUNE, new_id, outreach_xml
from tests.server.web.conftest import Site

COMMUNES = [(COMMUNE, "Phường Cẩm Thành"), (OTHER_COMMUNE, "other")]
UTC = dt.UTC


def _send(site: Site, commune: str, day: str = "2026-11-20") -> int:
    store = FileStore(site.server.settings.data_dir / "attachments")
    xml = outreach_xml(new_id(), commune=commune).replace(
        b"<activity_date>2026-11-20</activity_date>",
        f"<activity_date>{day}</activity_date>".encode(),
    )
    return ingest_with_retry(
        site.server.engine, store, Incoming(xml=xml, source="openrosa")
    ).submission_id


def _set(engine: Engine, sid: int, **values: Any) -> None:
    """A change as the ingest, a review or a pull makes it: updated_at moves with it."""
    with transaction(engine, write=True) as s:
        values.setdefault("updated_at", dt.datetime.now(UTC))
        s.execute(update(Submission).where(Submission.id == sid).values(**values))


def _review(engine: Engine, sid: int, state: str) -> None:
    with transaction(engine, write=True) as s:
        sub = s.get(Submission, sid)
        assert sub is not None
        set_review_state(s, "admin", [sub], state, "")


def _grid(ledger: Ledger, engine: Engine) -> dict[str, tuple[dict[str, int], int, int]]:
    with engine.connect() as conn:
        rows = ledger_counts.reporting_grid(ledger, conn, COMMUNES, 2026)
        # the SQL the quality page ran before, over the same committed rows
        records: Sequence[Any] = conn.execute(
            select(SUB.c.commune_code, SUB.c.activity_date, SUB.c.submitted_at).where(
                SUB.c.deleted.is_(False),
                SUB.c.commune_code.in_([c for c, _n in COMMUNES]),
                SUB.c.activity_date >= dt.date(2026, 1, 1),
                SUB.c.activity_date <= dt.date(2026, 12, 31),
            )
        ).all()
    want = reporting_grid(COMMUNES, [(c, a, s) for c, a, s in records if c and a])
    got = {r.code: (r.by_month, r.timely, r.late) for r in rows}
    assert got == {r.code: (r.by_month, r.timely, r.late) for r in want}
    return got


def _counts(ledger: Ledger, engine: Engine) -> dict[str, tuple[int, int, int]]:
    with engine.connect() as conn:
        counts = ledger_counts.province_counts(ledger, conn, PENDING)
        waiting = func.sum(case((SUB.c.review_state.in_(PENDING), 1), else_=0))
        want: Sequence[Any] = conn.execute(
            select(SUB.c.commune_code, func.count(), waiting, func.max(SUB.c.submitted_at))
            .where(SUB.c.deleted.is_(False))
            .group_by(SUB.c.commune_code)
        ).all()
        # the join the provinces page ran before
        errors: dict[Any, Any] = dict(
            conn.execute(
                select(SUB.c.commune_code, func.count(func.distinct(SUB.c.id)))
                .select_from(ISSUE)
                .join(
                    SUB,
                    (SUB.c.id == ISSUE.c.submission_id)
                    & (SUB.c.current_version_id == ISSUE.c.version_id),
                )
                .where(
                    SUB.c.deleted.is_(False),
                    ISSUE.c.status == "open",
                    ISSUE.c.severity == "error",
                )
                .group_by(SUB.c.commune_code)
            ).all()
        )
    got = {c.commune: (c.records, c.pending, c.with_errors) for c in counts}
    assert got == {c: (int(n), int(p), int(errors.get(c, 0))) for c, n, p, _last in want}
    assert {c.commune: c.last_received for c in counts} == {c: last for c, *_x, last in want}
    return got


def _issues(ledger: Ledger, engine: Engine) -> dict[tuple[str, str], int]:
    codes = [c for c, _n in COMMUNES]
    with engine.connect() as conn:
        rows = ledger_counts.open_issues(ledger, conn, codes, 2026)
        # the SQL the quality page ran before
        want: Sequence[Any] = conn.execute(
            select(ISSUE.c.rule, ISSUE.c.severity, func.count())
            .join(SUB, SUB.c.id == ISSUE.c.submission_id)
            .where(
                ISSUE.c.version_id == SUB.c.current_version_id,
                ISSUE.c.status == "open",
                SUB.c.deleted.is_(False),
                SUB.c.commune_code.in_(codes),
                SUB.c.activity_date >= dt.date(2026, 1, 1),
                SUB.c.activity_date <= dt.date(2026, 12, 31),
            )
            .group_by(ISSUE.c.rule, ISSUE.c.severity)
        ).all()
    counts = [n for _r, _s, n in rows]
    assert counts == sorted(counts, reverse=True)  # most first
    got = {(r, sev): n for r, sev, n in rows}
    assert got == {(r, sev): int(n) for r, sev, n in want}
    return got


def _issue(engine: Engine, sid: int, rule: str, severity: str) -> None:
    with transaction(engine, write=True) as s:
        add_open_issue(s, sid, rule, severity)


def test_ledger__arrival_approval_rejection_deletion(site: Site) -> None:
    engine = site.server.engine
    ledger = Ledger()
    first = site.sub_id  # Cẩm Thành, 20/11/2026, received today: late
    _review(engine, first, "received")  # whatever validation said: awaiting review
    assert _counts(ledger, engine) == {COMMUNE: (1, 1, 0)}
    assert _grid(ledger, engine)[COMMUNE] == ({"202611": 1}, 0, 1)
    assert ledger.full_reads == 1

    # arrival: two records in the other commune, 20/11 and 30/11
    a = _send(site, OTHER_COMMUNE)
    b = _send(site, OTHER_COMMUNE, "2026-11-30")
    assert _counts(ledger, engine) == {COMMUNE: (1, 1, 0), OTHER_COMMUNE: (2, 2, 0)}
    assert _grid(ledger, engine)[OTHER_COMMUNE] == ({"202611": 2}, 0, 2)
    # open issues: two errors on b count it once, a warning on a does not count
    before = _issues(ledger, engine)  # whatever validation found on the site's record
    _issue(engine, b, "REQ_001", "error")
    _issue(engine, b, "RNG_002", "error")
    _issue(engine, a, "RNG_002", "warning")
    assert _counts(ledger, engine)[OTHER_COMMUNE] == (2, 2, 1)
    added = {("REQ_001", "error"): 1, ("RNG_002", "error"): 1, ("RNG_002", "warning"): 1}
    assert _issues(ledger, engine) == {
        k: before.get(k, 0) + added.get(k, 0) for k in {*before, *added}
    }
    # timeliness in Vietnam's days: 30/11 received 05/12 23:00 there (16:00 UTC) is within
    # 5 days; 20/11 received 25/11 17:00 UTC = 26/11 00:00 there is 6 days: late
    _set(engine, b, submitted_at=dt.datetime(2026, 12, 5, 16, 0, tzinfo=UTC))
    _set(engine, a, submitted_at=dt.datetime(2026, 11, 25, 17, 0, tzinfo=UTC))
    assert _grid(ledger, engine)[OTHER_COMMUNE] == ({"202611": 2}, 1, 1)
    _set(engine, a, submitted_at=dt.datetime(2026, 11, 25, 16, 59, tzinfo=UTC))
    assert _grid(ledger, engine)[OTHER_COMMUNE] == ({"202611": 2}, 2, 0)

    # approval and rejection: still counted, no longer awaiting review
    _review(engine, first, "approved")
    assert _counts(ledger, engine) == {COMMUNE: (1, 0, 0), OTHER_COMMUNE: (2, 2, 1)}
    _review(engine, a, "rejected")
    assert _counts(ledger, engine) == {COMMUNE: (1, 0, 0), OTHER_COMMUNE: (2, 1, 1)}
    assert _grid(ledger, engine)[OTHER_COMMUNE] == ({"202611": 2}, 2, 0)

    # deletion by a pull (its errors go with it), and its undoing
    _set(engine, b, deleted=True)
    assert _counts(ledger, engine) == {COMMUNE: (1, 0, 0), OTHER_COMMUNE: (1, 0, 0)}
    left = {
        k: n
        for k, n in {
            **before,
            ("RNG_002", "warning"): 1 + before.get(("RNG_002", "warning"), 0),
        }.items()
        if n
    }
    assert _issues(ledger, engine) == left  # b's two errors gone with it
    assert _grid(ledger, engine)[OTHER_COMMUNE] == ({"202611": 1}, 1, 0)
    _set(engine, first, deleted=True)
    assert _counts(ledger, engine) == {OTHER_COMMUNE: (1, 0, 0)}
    assert _grid(ledger, engine)[COMMUNE] == ({}, 0, 0)
    _set(engine, b, deleted=False)
    assert _counts(ledger, engine) == {OTHER_COMMUNE: (2, 1, 1)}

    # a move to another month and commune is followed
    _set(engine, b, activity_date=dt.date(2026, 10, 3), commune_code=COMMUNE)
    assert _counts(ledger, engine) == {COMMUNE: (1, 1, 1), OTHER_COMMUNE: (1, 0, 0)}
    assert _grid(ledger, engine) == {
        COMMUNE: ({"202610": 1}, 0, 1),
        OTHER_COMMUNE: ({"202611": 1}, 1, 0),
    }
    assert ledger.full_reads == 1  # all of it from what changed


def test_ledger__a_change_committed_with_an_older_stamp_is_seen(site: Site) -> None:
    """Concurrent writers commit out of stamp order: a change stamped 10 s before the newest
    stamp already seen is still read (within LAG)."""
    engine = site.server.engine
    ledger = Ledger()
    _review(engine, site.sub_id, "received")
    newer = _send(site, OTHER_COMMUNE)
    assert _counts(ledger, engine) == {COMMUNE: (1, 1, 0), OTHER_COMMUNE: (1, 1, 0)}
    with engine.connect() as conn:
        stamp: dt.datetime = conn.execute(
            select(SUB.c.updated_at).where(SUB.c.id == newer)
        ).scalar_one()
    _set(engine, site.sub_id, review_state="approved", updated_at=stamp - dt.timedelta(seconds=10))
    assert _counts(ledger, engine) == {COMMUNE: (1, 0, 0), OTHER_COMMUNE: (1, 1, 0)}
    assert ledger.full_reads == 1


def test_ledger__reported_communes__as_the_reminders_sql(site: Site) -> None:
    """The dashboard's missing-report notice counts the month's reports from the ledger: a
    report counts while it is live and not rejected, dated in the month, of the monthly form."""
    engine = site.server.engine
    store = FileStore(site.server.settings.attachments_dir)

    def report(commune: str, month: str) -> int:
        xml = monthly_xml(new_id(), commune, month)
        return ingest_with_retry(engine, store, Incoming(xml=xml, source="openrosa")).submission_id

    with transaction(engine) as s:
        monthly = list(s.scalars(select(Form.id).where(Form.form_id == contract.MONTHLY)))
    november = dt.date(2026, 11, 1)
    ledger = Ledger()

    def both() -> set[str]:
        with engine.connect() as conn:
            got = ledger_counts.reported_communes(ledger, conn, monthly, november)
            assert got == reported_communes(conn, november)
        return got

    assert both() == set()
    first = report(COMMUNE, "2026-11-01")
    report(OTHER_COMMUNE, "2026-10-01")  # October's: not November's
    _send(site, OTHER_COMMUNE, "2026-11-15")  # an outreach session is not a report
    assert both() == {COMMUNE}
    _review(engine, first, "rejected")
    assert both() == set()
    _review(engine, first, "approved")
    assert both() == {COMMUNE}
    _set(engine, first, deleted=True)
    assert both() == set()
    second = report(OTHER_COMMUNE, "2026-11-01")
    assert both() == {OTHER_COMMUNE}
    _set(engine, first, deleted=False)
    assert both() == {COMMUNE, OTHER_COMMUNE}
    assert second > first


def test_ledger__read_again_on_its_own_thread__changes_meanwhile_kept(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the whole ledger is due to be read again, the request goes on with the columns it
    has (brought up to date as always) while a thread reads everything; once that read is in
    place, what changed after it began is read again."""
    engine = site.server.engine
    ledger = Ledger()
    _review(engine, site.sub_id, "received")
    assert _counts(ledger, engine) == {COMMUNE: (1, 1, 0)}
    assert ledger.full_reads == 1
    # no margin for late commits here: only the rebuild's own start can bring the change back
    monkeypatch.setattr(quality_ledger, "LAG", dt.timedelta(0))
    monkeypatch.setattr(quality_ledger, "REBUILD_SECONDS", 0.0)  # due at every look
    real_read = ledger._read
    entered, release = threading.Event(), threading.Event()
    a = _send(site, OTHER_COMMUNE)

    def slow_full_read(conn: Any, after: int = 0, since: Any = None) -> Any:
        if since is not None or after:
            return real_read(conn, after, since)
        entered.set()  # the full read, on the rebuilding thread
        assert release.wait(30)
        cols = real_read(conn, after, since)
        _review(engine, a, "approved")  # committed after the read, before it is put in place
        return cols

    monkeypatch.setattr(ledger, "_read", slow_full_read)
    # the request is answered from the columns it has while the full read waits
    assert _counts(ledger, engine) == {COMMUNE: (1, 1, 0), OTHER_COMMUNE: (1, 1, 0)}
    assert entered.wait(30)
    assert ledger.full_reads == 1
    monkeypatch.setattr(quality_ledger, "REBUILD_SECONDS", 3600.0)
    release.set()
    deadline = time.monotonic() + 30
    while ledger.full_reads < 2:
        assert time.monotonic() < deadline, "the ledger was never read again"
        time.sleep(0.01)
    assert _counts(ledger, engine) == {COMMUNE: (1, 1, 0), OTHER_COMMUNE: (1, 0, 0)}
