"""Org units: the shipped list, imports with line-numbered errors, all or nothing."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import Engine, func, select

from pcmd.db.engine import transaction
from pcmd.db.models import OrgUnit
from pcmd.errors import ImportFileError
from pcmd.masterdata import orgunits as ou


def test_shipped_csv__official_2025_list() -> None:
    rows = list(csv.DictReader(io.StringIO(ou.shipped_csv_text())))
    by_level: dict[str, int] = {}
    for row in rows:
        by_level[row["level"]] = by_level.get(row["level"], 0) + 1
    assert by_level == {"country": 1, "province": 34, "commune": 3321}
    names = {r["code"]: r["name"] for r in rows}
    assert names["01"] == "Thành phố Hà Nội"
    assert names["79"] == "Thành phố Hồ Chí Minh"
    assert names["00004"] == "Phường Ba Đình"
    assert sum(1 for r in rows if r["name"].startswith("Đặc khu")) == 13
    assert all(r["name"][0].isupper() for r in rows)


def test_parse_orgunits__bad_rows__every_line_reported() -> None:
    text = (
        "code,name,level,parent\n"
        "51,Tỉnh Quảng Ngãi,province,VN\n"
        "21001,Xã A,commune,51\n"
        "21001,Xã B,commune,51\n"  # line 4: repeated code
        "21002,,commune,51\n"  # line 5: no name
        "21003,Xã C,huyen,51\n"  # line 6: bad level
        "21004,Xã D,commune,99\n"  # line 7: unknown parent
        "21005,Xã E,commune,21001\n"  # line 8: parent is a commune
        "21006,Xã F,commune\n"  # line 9: 3 columns
    )
    with pytest.raises(ImportFileError) as err:
        ou.parse_orgunits(text, "tinh51.csv", known={"VN": "country"})
    lines = [p.line for p in err.value.problems]
    assert lines == [4, 5, 6, 7, 8, 9]
    msg = str(err.value)
    assert "tinh51.csv: 6 dòng lỗi" in msg
    assert "dòng 7 (line 7): cấp trên 99" in msg
    assert "parent of a commune must be a province" in msg


def test_parse_orgunits__wrong_header__line_1() -> None:
    with pytest.raises(ImportFileError, match=r"dòng 1 .*header must be code,name,level,parent"):
        ou.parse_orgunits("ma,ten,cap,cha\n", "x.csv")


def test_parse_orgunits__excel_bom__accepted() -> None:
    rows = ou.parse_orgunits("\ufeffcode,name,level,parent\nVN,Việt Nam,country,\n", "x.csv")
    assert rows == [ou.OrgUnitRow("VN", "Việt Nam", "country", None, 2)]


def _counts(engine: Engine) -> dict[str, int]:
    with transaction(engine) as session:
        return ou.count_by_level(ou.current_units(session).values())


def test_load_shipped__twice__one_copy(engine: Engine) -> None:
    with transaction(engine) as session:
        first = ou.load_shipped(session)
    with transaction(engine) as session:
        second = ou.load_shipped(session)
    assert len(first.insert) == 3356
    assert (second.changes, second.unchanged) == (0, 3356)
    assert _counts(engine) == {"country": 1, "province": 34, "commune": 3321}
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(OrgUnit)) == 3356


def test_import_orgunits__bad_row__database_unchanged(engine: Engine) -> None:
    with transaction(engine) as session:
        ou.load_shipped(session)
    text = "code,name,level,parent\n99001,Xã Mới,commune,51\n99002,Xã Lỗi,commune,00\n"
    with pytest.raises(ImportFileError, match="dòng 3"), transaction(engine) as session:
        ou.import_orgunits(session, text, "moi.csv")
    with transaction(engine) as session:
        assert session.scalar(select(OrgUnit).where(OrgUnit.code == "99001")) is None
    assert _counts(engine)["commune"] == 3321


def test_import_orgunits__extend_rename_and_replace(engine: Engine) -> None:
    base = "code,name,level,parent\nVN,Việt Nam,country,\n51,Tỉnh Quảng Ngãi,province,VN\n"
    with transaction(engine) as session:
        ou.import_orgunits(
            session, base + "21001,Xã A,commune,51\n21002,Xã B,commune,51\n", "a.csv"
        )
    # A province's own list: renames A, adds C, and with --replace closes B (kept, not deleted).
    new_list = "code,name,level,parent\n51,Tỉnh Quảng Ngãi,province,VN\n" + (
        "21001,Xã An Phú,commune,51\n21003,Xã C,commune,51\n"
    )
    with transaction(engine) as session:
        plan = ou.import_orgunits(session, new_list, "b.csv", replace=True)
    assert [r.code for r in plan.insert] == ["21003"]
    assert [r.code for r in plan.update] == ["21001"]
    assert plan.close == ["21002"]
    with transaction(engine) as session:
        current = ou.current_units(session)
        assert current["21001"].name == "Xã An Phú"
        assert "21002" not in current
        closed = session.scalar(select(OrgUnit).where(OrgUnit.code == "21002"))
        assert closed is not None
        assert closed.valid_to is not None
