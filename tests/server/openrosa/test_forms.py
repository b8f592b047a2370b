"""ODK Collect against a real pcmd server: the whole conversation (form list, form, manifest,
media, submissions), media filtered to an app user's communes, bad tokens.

Expected statuses and counts are written out by hand.
"""

from __future__ import annotations

import hashlib

import httpx
from defusedxml import ElementTree as SafeET
from sqlalchemy import select

from pcmd.db.engine import transaction
from pcmd.db.models import Attachment, Submission, SubmissionVersion
from tests.server.collect import (
    COMMUNE,
    JPEG,
    OTHER_COMMUNE,
    Server,
    add_two_photos_form,
    attachments_dir,
    new_id,
    outreach_xml,
    post,
    two_photos_xml,
)
from tests.server.openrosa.conftest import counts, message

XFL = "{http://openrosa.org/xforms/xformsList}"
MAN = "{http://openrosa.org/xforms/xformsManifest}"


def test_collect__full_conversation(server: Server, client: httpx.Client) -> None:
    base = server.key_url()
    # formList: text/xml, X-OpenRosa-Version, every entry complete, md5: hashes
    listing = client.get(f"{base}/formList")
    assert listing.status_code == 200
    assert listing.headers["content-type"] == "text/xml; charset=utf-8"
    assert listing.headers["x-openrosa-version"] == "1.0"
    xforms = SafeET.fromstring(listing.content).findall(f"{XFL}xform")
    by_id = {x.findtext(f"{XFL}formID"): x for x in xforms}
    assert sorted(by_id) == [
        "pcmd_case",
        "pcmd_case_update",
        "pcmd_inspection",
        "pcmd_monthly",
        "pcmd_outreach",
        "pcmd_plan",
        "pcmd_support",
        "pcmd_training",
    ]
    outreach = by_id["pcmd_outreach"]
    assert outreach.findtext(f"{XFL}version") == "2026112301"
    assert outreach.findtext(f"{XFL}downloadUrl") == f"{base}/forms/pcmd_outreach.xml"
    assert outreach.findtext(f"{XFL}manifestUrl") == f"{base}/forms/pcmd_outreach/manifest"

    # the form: its md5 is the one listed
    form = client.get(f"{base}/forms/pcmd_outreach.xml")
    assert form.status_code == 200
    md5 = hashlib.md5(form.content).hexdigest()
    assert outreach.findtext(f"{XFL}hash") == f"md5:{md5}"

    # manifest and media: each file's md5 matches what is downloaded
    manifest = client.get(f"{base}/forms/pcmd_outreach/manifest")
    assert manifest.headers["content-type"] == "text/xml; charset=utf-8"
    files = SafeET.fromstring(manifest.content).findall(f"{MAN}mediaFile")
    names = sorted(f.findtext(f"{MAN}filename") for f in files)
    assert names == ["communes.csv", "provinces.csv"]
    for item in files:
        got = client.get(item.findtext(f"{MAN}downloadUrl") or "")
        assert got.status_code == 200
        assert item.findtext(f"{MAN}hash") == f"md5:{hashlib.md5(got.content).hexdigest()}"
        if item.findtext(f"{MAN}filename") == "communes.csv":
            assert "21025,Phường Cẩm Thành,51" in got.text
            assert got.text.count("\n") == 3322  # header + 3,321 communes

    # HEAD: 204 with the accepted length
    head = client.head(f"{base}/submission")
    assert head.status_code == 204
    assert head.headers["x-openrosa-accept-content-length"] == "100000000"

    # POST with a photo: 201 and an OpenRosaResponse
    first = new_id()
    xml = outreach_xml(first, photo="1700000000001.jpg")
    sent = post(client, server, xml, files={"1700000000001.jpg": JPEG, "other.txt": b"x"})
    assert sent.status_code == 201, sent.text
    assert message(sent) == "Đã nhận phiếu (submission received)."
    assert counts(server.engine) == (1, 1, 1)  # other.txt is not named by the XML: ignored
    stored = attachments_dir(server.settings) / hashlib.sha256(JPEG).hexdigest()[:2]
    assert stored.is_dir()

    # the same XML again (a retry): 201, nothing doubled
    again = post(client, server, xml, files={"1700000000001.jpg": JPEG})
    assert again.status_code == 201
    assert counts(server.engine) == (1, 1, 1)

    # the same instanceID with other content: 409 with a message
    changed = post(client, server, outreach_xml(first, students=41, photo="1700000000001.jpg"))
    assert changed.status_code == 409
    assert "đã có phiếu mã" in message(changed).lower()

    # an edit: a new version of the same root; the photo carried over
    edit_id = new_id()
    edit = outreach_xml(edit_id, students=45, photo="1700000000001.jpg", deprecated_id=first)
    edited = post(client, server, edit)
    assert edited.status_code == 201
    assert counts(server.engine) == (1, 2, 2)
    with transaction(server.engine) as s:
        sub = s.scalar(select(Submission))
        assert sub is not None
        assert sub.instance_id == first
        assert sub.review_state == "edited"
        current = s.get(SubmissionVersion, sub.current_version_id)
        assert current is not None
        assert current.instance_id == edit_id
        assert current.data["reach/n_students"] == 45
        assert current.data["topics"] == ["phap_luat", "hiv_sti"]
        assert current.data["activity_date"] == "2026-11-20"
        assert sub.commune_code == COMMUNE

    # a split upload: the XML names two photos, sent in two POSTs (the first *isIncomplete*)
    add_two_photos_form(server.engine)
    split_id = new_id()
    two = two_photos_xml(split_id, "before.jpg", "after.jpg")
    part1 = post(client, server, two, files={"before.jpg": JPEG}, incomplete=True)
    assert part1.status_code == 201
    part2 = post(client, server, two, files={"after.jpg": JPEG[:-2] + b"\x00\xd9"})
    assert part2.status_code == 201
    assert message(part2) == "Đã nhận thêm tệp đính kèm (attachments received)."
    assert counts(server.engine) == (2, 3, 4)
    with transaction(server.engine) as s:
        photos = s.scalars(
            select(Attachment.filename)
            .join(Submission, Submission.id == Attachment.submission_id)
            .where(Submission.instance_id == split_id)
            .order_by(Attachment.filename)
        ).all()
    assert photos == ["after.jpg", "before.jpg"]


def test_scoped_app_user__communes_csv_and_other_commune(
    server: Server, client: httpx.Client
) -> None:
    base = server.key_url(server.scoped_token)
    communes = client.get(f"{base}/forms/pcmd_outreach/attachments/communes.csv")
    assert communes.text == "name,label,province\n21025,Phường Cẩm Thành,51\n"
    provinces = client.get(f"{base}/forms/pcmd_outreach/attachments/provinces.csv")
    assert provinces.text == "name,label\n51,Tỉnh Quảng Ngãi\n"
    ok = post(client, server, outreach_xml(new_id()), token=server.scoped_token)
    assert ok.status_code == 201
    refused = post(
        client, server, outreach_xml(new_id(), commune=OTHER_COMMUNE), token=server.scoped_token
    )
    assert refused.status_code == 403
    assert "21028 (Phường Nghĩa Lộ)" in message(refused)
    assert counts(server.engine) == (1, 1, 0)


def test_form_list__unknown_and_revoked_tokens(server: Server, client: httpx.Client) -> None:
    assert client.get(f"{server.key_url('bad token')}/formList").status_code == 401
    assert client.get(f"{server.key_url('B' * 43)}/formList").status_code == 403
    assert client.get(f"{server.key_url(server.revoked_token)}/formList").status_code == 403
    missing = client.get(f"{server.key_url()}/forms/khong_co.xml")
    assert missing.status_code == 404
