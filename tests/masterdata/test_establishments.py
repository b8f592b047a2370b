"""Establishment register import: the register and the forms' media, closing by status,
line-numbered errors."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from pcmd.db.engine import transaction
from pcmd.db.models import Establishment, FormMedia
from pcmd.errors import ImportFileError
from pcmd.forms.registry import get_form, refresh_media
from pcmd.masterdata.csvfile import ImportResult
from pcmd.masterdata.establishments import import_establishments
from tests.masterdata.conftest import problems
from tests.server.collect import load_forms

REGISTER = (
    "id,name,type,commune,address,license_no,status\n"
    "QN-0001,Karaoke Hoa Mai,karaoke,21025,12 Lê Lợi,4300123456,active\n"
    "QN-0002,Nhà nghỉ Sao Biển,khach_san_nha_nghi,21028,,,active\n"
)


def register(engine: Engine) -> dict[str, tuple[str, str, str, str, str, str]]:
    with transaction(engine) as s:
        rows = s.scalars(select(Establishment)).all()
        return {
            e.id: (e.name, e.type, e.commune_code, e.address, e.license_no, e.status) for e in rows
        }


def test_import_establishments__good_file__register_and_media(engine: Engine) -> None:
    load_forms(engine)
    with transaction(engine) as s:
        assert import_establishments(s, REGISTER, "reg.csv") == ImportResult(2, 0, 0)
        refresh_media(s)
    assert register(engine) == {
        "QN-0001": ("Karaoke Hoa Mai", "karaoke", "21025", "12 Lê Lợi", "4300123456", "active"),
        "QN-0002": ("Nhà nghỉ Sao Biển", "khach_san_nha_nghi", "21028", "", "", "active"),
    }
    assert media_rows(engine) == [
        "name,label,commune,type",
        "QN-0001,Karaoke Hoa Mai — 12 Lê Lợi,21025,karaoke",
        "QN-0002,Nhà nghỉ Sao Biển,21028,khach_san_nha_nghi",
    ]


def media_rows(engine: Engine) -> list[str]:
    with transaction(engine) as s:
        form = get_form(s, "pcmd_inspection")
        assert form is not None
        media = s.scalars(
            select(FormMedia).where(
                FormMedia.form_pk == form.id, FormMedia.filename == "establishments.csv"
            )
        ).one()
        return media.content.decode("utf-8").splitlines()


def test_import_establishments__reimport__closes_and_keeps_unlisted(engine: Engine) -> None:
    load_forms(engine)
    with transaction(engine) as s:
        import_establishments(s, REGISTER, "reg.csv")
    with transaction(engine) as s:
        result = import_establishments(
            s,
            "id,name,type,commune,address,license_no,status\n"
            "QN-0002,Nhà nghỉ Sao Biển,khach_san_nha_nghi,21028,,,closed\n"
            "QN-0003,Massage Thư Giãn,massage_xong_hoi,21025,5 Hùng Vương,,Active\n",
            "reg2.csv",
        )
        refresh_media(s)
    assert result == ImportResult(added=1, updated=1, unchanged=0)
    assert {k: v[5] for k, v in register(engine).items()} == {
        "QN-0001": "active",  # not in the second file: kept
        "QN-0002": "closed",
        "QN-0003": "active",
    }
    # Phones are offered active establishments only.
    assert [r.split(",")[0] for r in media_rows(engine)[1:]] == ["QN-0001", "QN-0003"]


def test_import_establishments__bad_rows__every_line_reported(units: Engine) -> None:
    text = (
        "id,name,type,commune,address,license_no,status\n"
        "QN 1,Karaoke A,karaoke,21025,,,active\n"  # 2 space in id
        "QN-2,,karaoke,21025,,,active\n"  # 3 no name
        "QN-3,Bar B,bar,21025,,,active\n"  # 4 unknown type
        "QN-4,Cafe C,cafe_giai_khat,51,,,active\n"  # 5 a province, not a commune
        "QN-5,Cafe D,cafe_giai_khat,99999,,,active\n"  # 6 unknown commune
        "QN-6,Cafe E,cafe_giai_khat,21025,,,open\n"  # 7 bad status
        "QN-7,Cafe F,cafe_giai_khat,21025,,,active\n"  # 8 good
        "QN-7,Cafe F,cafe_giai_khat,21025,,,closed\n"  # 9 repeats 8
    )
    with pytest.raises(ImportFileError) as err, transaction(units) as s:
        import_establishments(s, text, "reg.csv")
    found = problems(err)
    assert sorted(found) == [2, 3, 4, 5, 6, 7, 9]
    assert "without spaces" in found[2]
    assert "name is empty" in found[3]
    assert "unknown type" in found[4]
    assert "code 51 is a province, not a commune" in found[5]
    assert "no org unit 99999" in found[6]
    assert "status must be active or closed" in found[7]
    assert "repeats line 8" in found[9]
    assert register(units) == {}
