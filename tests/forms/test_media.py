"""Media CSVs generated from the database and attached to the forms that use them."""

from __future__ import annotations

import hashlib

from sqlalchemy import Engine, select

from pcmd.db.engine import transaction
from pcmd.db.models import Establishment, FormMedia
from pcmd.forms import media
from pcmd.forms.convert import convert_workbook
from pcmd.forms.registry import refresh_media, store_build
from pcmd.masterdata.orgunits import import_orgunits

UNITS = (
    "code,name,level,parent\n"
    "VN,Việt Nam,country,\n"
    "51,Tỉnh Quảng Ngãi,province,VN\n"
    "48,Thành phố Đà Nẵng,province,VN\n"
    "21001,Phường Trương Quang Trọng,commune,51\n"
    '20194,"Phường Hải Châu, mới",commune,48\n'
)

FORM = """
| survey |
| | type | name | label | choice_filter |
| | select_one_from_file provinces.csv | province | Tỉnh | |
| | select_one_from_file communes.csv | commune | Xã | province=${province} |
| settings |
| | form_id | version |
| | where_only | 2026010101 |
"""


def test_communes_csv__columns_and_quoting() -> None:
    item = media.communes_csv([("21001", "Phường A", "51"), ("20194", "Phường B, mới", "48")])
    assert item.content.decode() == (
        'name,label,province\n20194,"Phường B, mới",48\n21001,Phường A,51\n'
    )
    assert item.filename == "communes.csv"


def test_establishments_csv__label_has_address() -> None:
    item = media.establishments_csv(
        [
            ("QN-0001", "Karaoke Sao Mai", "12 Lê Lợi", "21001", "karaoke"),
            ("QN-0002", "Nhà nghỉ Hoa", "", "21001", "khach_san_nha_nghi"),
        ]
    )
    assert item.content.decode() == (
        "name,label,commune,type\n"
        "QN-0001,Karaoke Sao Mai — 12 Lê Lợi,21001,karaoke\n"
        "QN-0002,Nhà nghỉ Hoa,21001,khach_san_nha_nghi\n"
    )


def test_refresh_media__attaches_only_files_the_form_uses(engine: Engine) -> None:
    build = convert_workbook(FORM.encode(), "where_only.md", validate=False)
    with transaction(engine) as session:
        import_orgunits(session, UNITS, "units.csv")
        session.add(
            Establishment(
                id="QN-0001",
                name="Karaoke Sao Mai",
                type="karaoke",
                commune_code="21001",
                address="12 Lê Lợi",
            )
        )
        store_build(session, build)
        refresh_media(session)
    with transaction(engine) as session:
        rows = {m.filename: m for m in session.scalars(select(FormMedia))}
    assert sorted(rows) == ["communes.csv", "provinces.csv"]
    assert rows["provinces.csv"].content.decode() == (
        "name,label\n48,Thành phố Đà Nẵng\n51,Tỉnh Quảng Ngãi\n"
    )
    assert rows["communes.csv"].content.decode() == (
        'name,label,province\n20194,"Phường Hải Châu, mới",48\n21001,Phường Trương Quang Trọng,51\n'
    )
    assert rows["communes.csv"].md5 == hashlib.md5(rows["communes.csv"].content).hexdigest()
