"""Review actions over real HTTP: review state and audit, CSRF and roles, accepting a proposed
establishment, accepting validation issues."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from pcmd.db.engine import transaction
from pcmd.db.models import AuditLog, Establishment, Submission
from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.submit import ingest_with_retry
from pcmd.pipeline.run import run_pipeline
from tests.server.collect import new_id, outreach_xml
from tests.server.web.conftest import Site, csrf_of, signed_in


def test_review__reject_with_comment__state_and_audit(site: Site) -> None:
    with signed_in(site, "hoa.qng") as client:
        page = client.get(f"/submissions/{site.sub_id}")
        before = _updated_at(site)
        ask = client.post(
            f"/submissions/{site.sub_id}/review",
            data={"csrf": csrf_of(page.text), "action": "rejected", "comment": "Trùng phiếu"},
        )
        # a rejection is confirmed on its own page, the reason carried over
        assert "Xác nhận không chấp nhận" in ask.text
        assert ">Trùng phiếu</textarea>" in ask.text
        with transaction(site.server.engine) as s:
            assert s.scalar(select(Submission.review_state)) == "received"
        response = client.post(
            "/submissions/review",
            data={
                "csrf": csrf_of(page.text),
                "action": "rejected",
                "confirmed": "1",
                "comment": "Trùng phiếu",
                "ids": str(site.sub_id),
                "back": f"/submissions/{site.sub_id}",
            },
        )
        assert response.status_code == 200
        assert "Đã lưu." in response.text
        assert 'id="review-state">Không chấp nhận' in response.text
    with transaction(site.server.engine) as s:
        assert s.scalar(select(Submission.review_state)) == "rejected"
        audit = s.scalar(select(AuditLog).where(AuditLog.action == "submission.review"))
        assert audit is not None
        assert audit.actor == "user:hoa.qng"
        assert audit.details == {"state": "rejected", "reason": "Trùng phiếu"}
    assert _updated_at(site) > before


def _updated_at(site: Site) -> dt.datetime:
    with transaction(site.server.engine) as s:
        moment = s.scalar(select(Submission.updated_at))
    assert moment is not None
    return moment


def test_review__without_csrf_or_as_viewer__refused(site: Site) -> None:
    with signed_in(site, "hoa.qng") as client:
        response = client.post(f"/submissions/{site.sub_id}/review", data={"action": "approved"})
        assert response.status_code == 403
    with signed_in(site, "xem.qng") as client:
        page = client.get(f"/submissions/{site.sub_id}")
        assert "Duyệt phiếu" not in page.text  # no review form for a viewer
        response = client.post(
            f"/submissions/{site.sub_id}/review",
            data={"csrf": csrf_of(page.text), "action": "approved"},
        )
        assert response.status_code == 403
    with transaction(site.server.engine) as s:
        assert s.scalar(select(Submission.review_state)) == "received"


def test_accept_establishment__from_inspection_proposal(site: Site) -> None:
    """An inspection of an unregistered establishment can be accepted into the register."""
    from tests.server.collect import COMMUNE, PROVINCE, VERSION

    iid = new_id()
    xml = (
        f'<?xml version="1.0"?><pcmd_inspection id="pcmd_inspection" version="{VERSION}">'
        f"<where><province>{PROVINCE}</province><commune>{COMMUNE}</commune></where>"
        "<reporter_org>doi_178</reporter_org><inspection_date>2026-11-18</inspection_date>"
        "<team>doi_178_xa</team><establishment><known>no</known><id/>"
        "<name>Karaoke Hoa Hồng</name><address>12 Lê Lợi</address><license_no/>"
        "<type>karaoke</type></establishment><findings><n_workers>6</n_workers>"
        "<n_female_workers>4</n_female_workers><license_valid>yes</license_valid>"
        "<violation>no</violation><violation_types/><action>nhac_nho</action><fine_vnd/>"
        "<n_workers_informed>6</n_workers_informed><commitment_signed>yes</commitment_signed>"
        f"</findings><meta><instanceID>{iid}</instanceID></meta></pcmd_inspection>"
    ).encode()
    store = FileStore(site.server.settings.data_dir / "attachments")
    result = ingest_with_retry(site.server.engine, store, Incoming(xml=xml, source="openrosa"))
    with signed_in(site, "hoa.qng") as client:
        page = client.get(f"/submissions/{result.submission_id}")
        assert "Karaoke Hoa Hồng" in page.text
        response = client.post(
            f"/submissions/{result.submission_id}/establishment", data={"csrf": csrf_of(page.text)}
        )
        assert response.status_code == 200
    with transaction(site.server.engine) as s:
        est = s.scalar(select(Establishment))
        assert est is not None
        assert (est.name, est.type, est.commune_code, est.status) == (
            "Karaoke Hoa Hồng",
            "karaoke",
            COMMUNE,
            "active",
        )
        assert est.proposed_by_submission_id == result.submission_id


def test_override__error_issues_accepted_count_again(site: Site) -> None:
    from pcmd.db.models import ValidationIssue

    store = FileStore(site.server.settings.data_dir / "attachments")
    # -5 students: a negative count (RANGE_001), which also leaves n_female above the total
    bad = ingest_with_retry(
        site.server.engine,
        store,
        Incoming(xml=outreach_xml(new_id(), students=-5), source="openrosa"),
    )
    run_pipeline(site.server.engine)
    with transaction(site.server.engine) as s:
        issues = s.execute(
            select(ValidationIssue.id, ValidationIssue.rule).where(
                ValidationIssue.submission_id == bad.submission_id,
                ValidationIssue.severity == "error",
                ValidationIssue.status == "open",
            )
        ).all()
    assert sorted(rule for _id, rule in issues) == ["PART_001", "RANGE_001"]
    params = {"org": "51", "period": "2026"}
    with signed_in(site, "minh.dng") as client:
        page = client.get("/submissions")
        refused = client.post(
            f"/submissions/{bad.submission_id}/issues/{issues[0].id}/accept",
            data={"csrf": csrf_of(page.text)},
        )
        assert refused.status_code == 404
    with signed_in(site, "hoa.qng") as client:
        before = client.get("/api/v1/indicators", params=params).json()
        assert next(r for r in before if r["indicator"] == "HD1")["numerator"] == 1
        for issue_id, _rule in issues:
            page = client.get(f"/submissions/{bad.submission_id}")
            done = client.post(
                f"/submissions/{bad.submission_id}/issues/{issue_id}/accept",
                data={"csrf": csrf_of(page.text)},
            )
            assert done.status_code == 200
        assert done.text.count("đã chấp nhận") == 2
        run_pipeline(site.server.engine)  # what the scheduler's pipeline job does next
        after = client.get("/api/v1/indicators", params=params).json()
        assert next(r for r in after if r["indicator"] == "HD1")["numerator"] == 2


def test_review__record_with_huge_count__actions_answer_indicators_keep_running(
    site: Site,
) -> None:
    """2^62 students fits in 64 bits, so a phone's upload of it is kept; reviewing it — even
    accepting its errors — must neither fail nor stop the indicators of everyone else."""
    from pcmd.db.models import ValidationIssue

    store = FileStore(site.server.settings.data_dir / "attachments")
    huge = ingest_with_retry(
        site.server.engine,
        store,
        Incoming(xml=outreach_xml(new_id(), students=2**62), source="openrosa"),
    )
    run_pipeline(site.server.engine)
    with transaction(site.server.engine) as s:
        issues = s.scalars(
            select(ValidationIssue.id).where(
                ValidationIssue.submission_id == huge.submission_id,
                ValidationIssue.severity == "error",
            )
        ).all()
    assert issues  # RANGE_004 and PIPE_001 among them
    params = {"org": "51", "period": "2026"}
    with signed_in(site, "hoa.qng") as client:
        page = client.get(f"/submissions/{huge.submission_id}")
        assert page.status_code == 200
        for issue_id in issues:
            page = client.get(f"/submissions/{huge.submission_id}")
            accepted = client.post(
                f"/submissions/{huge.submission_id}/issues/{issue_id}/accept",
                data={"csrf": csrf_of(page.text)},
            )
            assert accepted.status_code == 200
        page = client.get(f"/submissions/{huge.submission_id}")
        approved = client.post(
            f"/submissions/{huge.submission_id}/review",
            data={"csrf": csrf_of(page.text), "action": "approved", "comment": ""},
        )
        assert approved.status_code == 200
        summary = run_pipeline(site.server.engine)  # the scheduler's next run
        assert summary.facts_written == 1
        rows = client.get("/api/v1/indicators", params=params).json()
        # the site's one record (37 students) and this one count as sessions; the unusable
        # number is left out of every sum
        assert next(r for r in rows if r["indicator"] == "HD1")["numerator"] == 2
        assert client.get("/dashboard", params=params).status_code == 200
