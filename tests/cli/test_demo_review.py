"""The demo's reviewers' side (cli/demo_review.py): photos that are real JPEGs, one named and
never sent, a few records with a mistake, one phone per commune, targets for the province."""

from __future__ import annotations

import io
import random

from PIL import Image

from pcmd.cli import demo_review

XML = (
    b"<pcmd_outreach><where><commune>21025</commune></where><reach><n_students>40</n_students>"
    b"<n_general>5</n_general></reach><photo/></pcmd_outreach>"
)


def test_photo_jpeg__a_real_small_jpeg() -> None:
    data = demo_review.photo_jpeg(random.Random(1))
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    assert image.size == (320, 240)
    assert len(data) < 30_000


def test_dress__photos_missing_one_mistakes_and_the_phone() -> None:
    rng = random.Random(1)
    dressed = [demo_review.dress(XML, i, rng) for i in range(120)]
    named = [i for i, d in enumerate(dressed) if b"<photo>anh-" in d.xml]
    assert named == list(range(0, 120, 6))  # one in six names a photo
    sent = [i for i, d in enumerate(dressed) if d.photo is not None]
    assert sent == [i for i in named if i != 30]  # the 5th photo is never received
    assert dressed[6].photo is not None
    assert dressed[6].photo[0] == "anh-00006.jpg"
    # 13 and 110 leave 13 over 97: a mistake each, the second (13 odd) and the first (110 even)
    assert b"<n_general>20000000</n_general>" in dressed[13].xml
    assert b"<n_students>-12</n_students>" in dressed[110].xml
    assert b"<n_students>40</n_students>" in dressed[12].xml
    assert {d.submitter for d in dressed} == {"xa-21025"}
    assert len({d.device_id for d in dressed}) == 1
    assert dressed[0].device_id.startswith("collect:")


def test_targets_csv__province_year_quarters_and_communes() -> None:
    text = demo_review.targets_csv("51", ["21025", "21028"], 2026)
    lines = text.splitlines()
    assert lines[0] == "indicator,org_unit,period,target"
    assert "TT1,51,2026,80" in lines
    assert "HD1,51,2026Q3,60" in lines
    assert "HD1,21028,2026,12" in lines
    assert len(lines) == 1 + 3 + 4 + 2
