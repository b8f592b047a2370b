"""The demo province as reviewers find it: records sent by each commune's officer from their own
phone, photos on some (small JPEGs drawn with Pillow), one photo named but never received, a few
records with mistakes to resolve, records in every review state with comments and rejection
reasons, and the province's targets imported.

`dress` changes a generated record before its ingest; `review` and `targets_csv` run after.
No person is named anywhere: senders are app-user names, comments speak of the record.
"""

from __future__ import annotations

import hashlib
import io
import random
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pcmd.db.models import Submission
from pcmd.db.review import SubmissionComment
from pcmd.server.web.review import set_review_state

PHOTO_EVERY = 6  # about one record in six with a photo
# A record with a mistake an officer fixes (what the demo's reviewers see as issues).
MISTAKES = (
    (re.compile(r"<n_students>\d+</n_students>"), "<n_students>-12</n_students>"),
    (re.compile(r"<n_general>\d+</n_general>"), "<n_general>20000000</n_general>"),
)
COMMENTS = (
    "Đề nghị xã bổ sung ảnh hoạt động.",
    "Đã gọi điện xác nhận với cán bộ xã, số liệu đúng.",
    "Xã hẹn gửi lại phiếu đã sửa trong tuần.",
)
REASONS = (
    "Phiếu trùng với phiếu đã gửi cùng ngày; đề nghị xã không gửi lại.",
    "Số người tham dự không khớp với biên bản; đề nghị xã sửa và gửi lại.",
)
REVIEWER = "demo"


@dataclass(frozen=True)
class Dressed:
    xml: bytes
    photo: tuple[str, bytes] | None  # (file name, JPEG bytes) sent with the record
    submitter: str
    device_id: str


def _commune(xml: bytes) -> str:
    found = re.search(rb"<commune>(\d+)</commune>", xml)
    return found.group(1).decode() if found else "0"


def photo_jpeg(rng: random.Random, width: int = 320, height: int = 240) -> bytes:
    """A small real JPEG: a wall, a banner and a row of chairs in the demo's colours."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), (rng.randint(170, 230), 215, 200))
    draw = ImageDraw.Draw(image)
    banner = (rng.randint(150, 200), 30, 40)
    draw.rectangle((20, 20, width - 20, 70), fill=banner)
    draw.rectangle((30, 35, width - 30, 55), fill=(240, 210, 80))
    for x in range(20, width - 20, 30):
        seat = (40, 60, rng.randint(90, 160))
        draw.rectangle((x, 160, x + 20, 200), fill=seat)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=70)
    return out.getvalue()


def dress(xml: bytes, index: int, rng: random.Random) -> Dressed:
    """The record as its commune's officer sends it: from their phone, now and then with a
    photo (one named and never received), a few with a mistake to resolve."""
    commune = _commune(xml)
    submitter = f"xa-{commune}"
    device = f"collect:{hashlib.sha256(commune.encode()).hexdigest()[:12]}"  # one phone each
    photo = None
    if b"<photo/>" in xml and index % PHOTO_EVERY == 0:
        name = f"anh-{index:05d}.jpg"
        xml = xml.replace(b"<photo/>", f"<photo>{name}</photo>".encode(), 1)
        # the 5th photo never reaches the server: the list flags it as missing
        photo = None if index == PHOTO_EVERY * 5 else (name, photo_jpeg(rng))
    if index % 97 == 13:
        pattern, wrong = MISTAKES[index % len(MISTAKES)]
        xml = pattern.sub(wrong, xml.decode(), count=1).encode()
    return Dressed(xml, photo, submitter, device)


def review(session: Session, rng: random.Random) -> dict[str, int]:
    """Review states over the records: most of the older ones approved, some with issues or
    rejected with a reason, the newest waiting; comments on a few. Returns the counts."""
    ids = list(session.scalars(select(Submission.id).order_by(Submission.id)))
    newest = set(ids[-max(1, len(ids) // 8) :])
    plan: dict[str, list[int]] = {"approved": [], "has_issues": [], "rejected": []}
    for sid in ids:
        if sid in newest:
            continue  # still waiting: received
        roll = rng.random()
        if roll < 0.04:
            plan["rejected"].append(sid)
        elif roll < 0.12:
            plan["has_issues"].append(sid)
        elif roll < 0.85:
            plan["approved"].append(sid)
    counts: dict[str, int] = {}
    for state, chosen in plan.items():
        subs = list(session.scalars(select(Submission).where(Submission.id.in_(chosen))))
        if state == "rejected":
            for i, sub in enumerate(subs):
                set_review_state(session, REVIEWER, [sub], state, REASONS[i % len(REASONS)])
        else:
            set_review_state(session, REVIEWER, subs, state, "")
        counts[state] = len(subs)
    for i, sid in enumerate(rng.sample(ids, min(len(ids), 12))):
        session.add(
            SubmissionComment(
                submission_id=sid, author=REVIEWER, kind="comment", body=COMMENTS[i % 3]
            )
        )
    return counts


def targets_csv(province: str, communes: list[str], year: int) -> str:
    """The province's own targets for the year and its quarters, and a few communes' HD1."""
    rows = ["indicator,org_unit,period,target"]
    rows += [f"TT1,{province},{year},80", f"KT1,{province},{year},30", f"HD1,{province},{year},240"]
    rows += [f"HD1,{province},{year}Q{q},60" for q in range(1, 5)]
    rows += [f"HD1,{c},{year},12" for c in communes[:5]]
    return "\n".join(rows) + "\n"
