"""Attachments over real HTTP: a phone's file reaches a reviewer's browser with the type pcmd
decides, never as a page that could run script in pcmd's name."""

from __future__ import annotations

import hashlib

import httpx
from sqlalchemy import select

from pcmd.db.engine import transaction
from pcmd.db.models import Attachment, Submission
from pcmd.server.web.attachments import FILE_POLICY
from tests.server.collect import JPEG, new_id, outreach_xml
from tests.server.web.conftest import Site, signed_in

HTML = b"<!doctype html><html><body><script>fetch('/setup').then(r=>r.text())</script>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 32


def _collect_sends(site: Site, content: bytes, claimed: str) -> Attachment:
    """Collect posts an outreach whose photo question names `p.jpg`, with the phone's type."""
    instance_id = new_id()
    files = [
        (
            "xml_submission_file",
            ("instance.xml", outreach_xml(instance_id, photo="p.jpg"), "text/xml"),
        ),
        ("p.jpg", ("p.jpg", content, claimed)),
    ]
    with httpx.Client(timeout=30) as phone:
        sent = phone.post(f"{site.server.key_url()}/submission", files=files)
    assert sent.status_code == 201, sent.text
    with transaction(site.server.engine) as s:
        attachment = s.scalar(
            select(Attachment)
            .join(Submission, Submission.id == Attachment.submission_id)
            .where(Submission.instance_id == instance_id)
        )
    assert attachment is not None
    assert attachment.sha256 == hashlib.sha256(content).hexdigest()
    return attachment


def _fetch(site: Site, attachment_id: int) -> httpx.Response:
    with signed_in(site, "hoa.qng") as reviewer:
        return reviewer.get(f"/attachments/{attachment_id}")


def _is_download(response: httpx.Response, content: bytes) -> None:
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"] == 'attachment; filename="p.jpg"'
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == FILE_POLICY
    assert response.content == content  # the file itself is kept and given back unchanged


def test_attachment__html_sent_as_photo__download_not_page(site: Site) -> None:
    attachment = _collect_sends(site, HTML, "text/html")
    _is_download(_fetch(site, attachment.id), HTML)
    # what the phone sent is kept as it came: the row (with the phone's type) and the file
    with transaction(site.server.engine) as s:
        row = s.get(Attachment, attachment.id)
    assert row is not None
    assert (row.filename, row.content_type, row.size) == ("p.jpg", "text/html", len(HTML))
    stored = site.server.settings.data_dir / "attachments" / row.sha256[:2] / row.sha256[2:]
    assert stored.read_bytes() == HTML


def test_attachment__svg_with_script__download_not_image(site: Site) -> None:
    attachment = _collect_sends(site, SVG, "image/svg+xml")
    _is_download(_fetch(site, attachment.id), SVG)


def test_attachment__video_sent_to_a_photo_question__download(site: Site) -> None:
    attachment = _collect_sends(site, MP4, "image/jpeg")
    _is_download(_fetch(site, attachment.id), MP4)


def test_attachment__png_claimed_as_html__shown_as_png(site: Site) -> None:
    attachment = _collect_sends(site, PNG, "text/html")
    response = _fetch(site, attachment.id)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-disposition"] == 'inline; filename="p.jpg"'
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == FILE_POLICY
    assert response.content == PNG


def test_attachment__jpeg_photo__shown_inline(site: Site) -> None:
    response = _fetch(site, site.attachment_id)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["content-disposition"].startswith("inline")
    assert response.content == JPEG
