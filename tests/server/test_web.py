"""The province pages over real HTTP: sign-in, scope on every route, review, CSRF, language."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import Engine, select

from pcmd.db.engine import transaction
from pcmd.db.models import Attachment, AuditLog, Establishment, Submission
from pcmd.ingest.files import FileStore
from pcmd.ingest.ingest import Incoming, IncomingFile, ingest_with_retry
from pcmd.pipeline.run import run_pipeline
from pcmd.server.accounts import create_user
from pcmd.settings import Settings
from tests.server.collect import JPEG, Server, new_id, outreach_xml, running_server

PASSWORD = "mật-khẩu-đủ-dài-2026"


@dataclass
class Site:
    server: Server
    sub_id: int  # a Quảng Ngãi (51) submission with a photo
    attachment_id: int


@pytest.fixture
def site(settings: Settings, engine: Engine) -> Iterator[Site]:
    with running_server(settings, engine) as server:
        store = FileStore(settings.data_dir / "attachments")
        sha, _ = store.put_bytes(JPEG)
        result = ingest_with_retry(
            engine,
            store,
            Incoming(
                xml=outreach_xml(new_id(), students=37, photo="p.jpg"),
                source="openrosa",
                files=(IncomingFile("p.jpg", "image/jpeg", sha, len(JPEG)),),
            ),
        )
        with transaction(engine) as s:
            create_user(s, "admin", PASSWORD, "admin", ["VN"])
            create_user(s, "hoa.qng", PASSWORD, "province_reviewer", ["51"])
            create_user(s, "minh.dng", PASSWORD, "province_reviewer", ["48"])
            create_user(s, "xem.qng", PASSWORD, "viewer", ["51"])
            attachment = s.scalar(select(Attachment.id))
        assert attachment is not None
        run_pipeline(engine, full=True)
        yield Site(server, result.submission_id, attachment)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "page has no CSRF token"
    return found.group(1)


@contextmanager
def signed_in(site: Site, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site.server.url, follow_redirects=True, timeout=30) as client:
        page = client.get("/login")
        response = client.post(
            "/login",
            data={
                "csrf": csrf_of(page.text),
                "username": username,
                "password": PASSWORD,
                "next": "/submissions",
            },
        )
        assert response.status_code == 200, response.text
        assert response.url.path == "/submissions"
        yield client


def test_pages__signed_out__redirect_to_login(site: Site) -> None:
    with httpx.Client(base_url=site.server.url) as client:
        for path in (
            "/submissions",
            f"/submissions/{site.sub_id}",
            f"/attachments/{site.attachment_id}",
        ):
            response = client.get(path)
            assert response.status_code == 303
            assert response.headers["location"].startswith("/login?next=")


def test_login__wrong_password__401_and_message(site: Site) -> None:
    with httpx.Client(base_url=site.server.url) as client:
        page = client.get("/login")
        response = client.post(
            "/login", data={"csrf": csrf_of(page.text), "username": "hoa.qng", "password": "sai"}
        )
    assert response.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in response.text


def test_login__no_csrf__refused(site: Site) -> None:
    with httpx.Client(base_url=site.server.url) as client:
        response = client.post("/login", data={"username": "hoa.qng", "password": PASSWORD})
    assert response.status_code == 403


def test_reviewer__own_province__list_detail_photo(site: Site) -> None:
    with signed_in(site, "hoa.qng") as client:
        listing = client.get("/submissions")
        assert f'href="/submissions/{site.sub_id}"' in listing.text
        assert "Phường Cẩm Thành" in listing.text
        detail = client.get(f"/submissions/{site.sub_id}")
        assert detail.status_code == 200
        assert "Học sinh, sinh viên" in detail.text  # the question's Vietnamese label
        # choices shown by their labels, not their names
        assert "Hội nghị, tọa đàm, nói chuyện chuyên đề" in detail.text
        assert "HIV/AIDS" in detail.text
        assert "37" in detail.text
        photo = client.get(f"/attachments/{site.attachment_id}")
        assert photo.status_code == 200
        assert photo.content == JPEG


def test_reviewer__other_province__404_everywhere(site: Site) -> None:
    with signed_in(site, "minh.dng") as client:
        listing = client.get("/submissions")
        assert f"/submissions/{site.sub_id}" not in listing.text
        assert client.get(f"/submissions/{site.sub_id}").status_code == 404
        assert client.get(f"/attachments/{site.attachment_id}").status_code == 404
        page = client.get("/submissions")
        review = client.post(
            f"/submissions/{site.sub_id}/review",
            data={"csrf": csrf_of(page.text), "action": "rejected"},
        )
        assert review.status_code == 404
    with transaction(site.server.engine) as s:
        assert s.scalar(select(Submission.review_state)) == "received"


def test_review__reject_with_comment__state_and_audit(site: Site) -> None:
    with signed_in(site, "hoa.qng") as client:
        page = client.get(f"/submissions/{site.sub_id}")
        before = _updated_at(site)
        response = client.post(
            f"/submissions/{site.sub_id}/review",
            data={"csrf": csrf_of(page.text), "action": "rejected", "comment": "Trùng phiếu"},
        )
        assert response.status_code == 200
        assert "Đã lưu." in response.text
        assert 'id="review-state">Không chấp nhận' in response.text
    with transaction(site.server.engine) as s:
        assert s.scalar(select(Submission.review_state)) == "rejected"
        audit = s.scalar(select(AuditLog).where(AuditLog.action == "submission.review"))
        assert audit is not None
        assert audit.actor == "user:hoa.qng"
        assert audit.details == {"state": "rejected", "comment": "Trùng phiếu"}
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


def test_language_switch__english_labels(site: Site) -> None:
    with signed_in(site, "admin") as client:
        client.get("/lang", params={"to": "en", "next": f"/submissions/{site.sub_id}"})
        detail = client.get(f"/submissions/{site.sub_id}")
        assert '<html lang="en">' in detail.text
        assert "Students" in detail.text
        assert "Edit history" in detail.text


def test_filters__period_state_and_bad_period(site: Site) -> None:
    with signed_in(site, "admin") as client:
        hit = client.get("/submissions", params={"period": "2026Q4", "state": "received"})
        assert f"/submissions/{site.sub_id}" in hit.text
        miss = client.get("/submissions", params={"period": "2025"})
        assert f"/submissions/{site.sub_id}" not in miss.text
        bad = client.get("/submissions", params={"period": "2026Q5"})
        assert "không hợp lệ" in bad.text


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


def test_setup__admin_only_qr_and_workbook(site: Site) -> None:
    with signed_in(site, "hoa.qng") as client:
        assert client.get("/setup").status_code == 403
        assert client.get("/setup/appusers/xa-cam-thanh/qr.png").status_code == 403
    with signed_in(site, "admin") as client:
        page = client.get("/setup")
        assert page.status_code == 200
        assert "xa-cam-thanh" in page.text
        created = client.post(
            "/setup/appusers",
            data={"csrf": csrf_of(page.text), "name": "xa-nghia-lo", "communes": "21028"},
        )
        assert created.status_code == 200
        assert 'id="new-qr"' in created.text
        qr = client.get("/setup/appusers/xa-nghia-lo/qr.png")
        assert qr.status_code == 200
        assert qr.content.startswith(b"\x89PNG\r\n\x1a\n")
        assert qr.headers["cache-control"] == "no-store"
        assert client.get("/setup/appusers/may-cu/qr.png").status_code == 404  # revoked
        bad = client.post(
            "/setup/appusers", data={"csrf": csrf_of(page.text), "name": "x", "communes": "99999"}
        )
        assert "99999" in bad.text
        link = re.search(
            r'href="(/setup/forms/versions/\d+/workbook)">pcmd_outreach.xlsx', page.text
        )
        assert link
        workbook = client.get(link.group(1))
        assert workbook.content[:2] == b"PK"  # an .xlsx is a zip


def test_setup__upload_bad_workbook__row_error_shown(site: Site) -> None:
    import io

    from openpyxl import Workbook

    book = Workbook()
    survey = book.active
    assert survey is not None
    survey.title = "survey"
    survey.append(["type", "name", "label"])
    survey.append(["begin_group", "g", "G"])  # never closed
    survey.append(["integer", "n", "N"])
    settings = book.create_sheet("settings")
    settings.append(["form_id", "version"])
    settings.append(["thu_nghiem", "2026112301"])
    out = io.BytesIO()
    book.save(out)
    with signed_in(site, "admin") as client:
        page = client.get("/setup")
        response = client.post(
            "/setup/forms",
            data={"csrf": csrf_of(page.text)},
            files={
                "workbook": (
                    "thu_nghiem.xlsx",
                    out.getvalue(),
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                )
            },
        )
    assert response.status_code == 200
    assert "thu_nghiem.xlsx: biểu mẫu không chuyển đổi được" in response.text
    assert "row" in response.text.lower()


def test_quality__grid_in_scope_only(site: Site) -> None:
    with signed_in(site, "hoa.qng") as client:
        page = client.get("/quality", params={"year": "2026"})
        assert page.status_code == 200
        assert "Phường Cẩm Thành" in page.text
        assert 'title="Phường Cẩm Thành 202611">1<' in page.text
        other = client.get("/quality", params={"org": "48"})
        assert other.status_code == 404
    with signed_in(site, "minh.dng") as client:
        page = client.get("/quality", params={"year": "2026"})
        assert "Phường Cẩm Thành" not in page.text


def test_dashboard_api_reports__other_province__404(site: Site) -> None:
    with signed_in(site, "minh.dng") as client:
        assert client.get("/dashboard", params={"org": "51", "period": "2026"}).status_code == 404
        api = client.get("/api/v1/indicators", params={"org": "51", "period": "2026"})
        assert api.status_code == 404
        report = client.get(
            "/reports/download", params={"org": "51", "period": "2026", "format": "xlsx"}
        )
        assert report.status_code == 404
        provenance = client.get(
            "/submissions", params={"indicator": "HD1", "org": "51", "period": "2026"}
        )
        assert provenance.status_code == 404
        own = client.get("/api/v1/indicators", params={"org": "48", "period": "2026"})
        assert own.status_code == 200
        assert {r["org_unit"] for r in own.json()} == {"48"}


def test_dashboard__own_province__indicators_and_provenance(site: Site) -> None:
    with signed_in(site, "hoa.qng") as client:
        page = client.get("/dashboard", params={"org": "51", "period": "2026"})
        assert page.status_code == 200
        assert 'data-indicator="HD1"' in page.text
        api = client.get("/api/v1/indicators", params={"org": "51", "period": "2026"}).json()
        hd1 = next(r for r in api if r["indicator"] == "HD1")
        assert hd1 == {
            "indicator": "HD1",
            "org_unit": "51",
            "period": "2026",
            "numerator": 1,
            "denominator": None,
            "value": 1,
            "unit": "count",
            "target": None,
            "status": "no_target",
        }
        listed = client.get(
            "/submissions", params={"indicator": "HD1", "org": "51", "period": "2026"}
        )
        assert f'href="/submissions/{site.sub_id}"' in listed.text
        report = client.get(
            "/reports/download", params={"org": "51", "period": "2026Q4", "format": "xlsx"}
        )
        assert report.status_code == 200
        assert report.content[:2] == b"PK"


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
        after = client.get("/api/v1/indicators", params=params).json()
        assert next(r for r in after if r["indicator"] == "HD1")["numerator"] == 2
