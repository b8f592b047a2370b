"""Reference data, the establishment register and targets (DESIGN §7): line-numbered errors,
all or nothing, re-import replaces values, Excel's BOM accepted."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import Engine, select

from pcmd.db.engine import transaction
from pcmd.db.models import (
    AuditLog,
    Establishment,
    FormMedia,
    ProgrammeFile,
    ReferenceValue,
    Target,
)
from pcmd.errors import ImportFileError
from pcmd.forms.registry import get_form, refresh_media
from pcmd.masterdata.orgunits import load_shipped
from pcmd.masterdata.reference import (
    ImportResult,
    import_establishments,
    import_reference_values,
    import_targets,
)
from pcmd.pipeline.indicators.programme import EXAMPLE_PLAN, shipped_text
from pcmd.pipeline.programmes import programme_indicators
from tests.server.collect import load_forms

# Quảng Ngãi (51): Phường Cẩm Thành 21025, Phường Nghĩa Lộ 21028; Hà Nội (01): Ba Đình 00004.


@pytest.fixture
def units(engine: Engine) -> Engine:
    with transaction(engine) as s:
        load_shipped(s)
    return engine


def ref_rows(engine: Engine) -> dict[tuple[str, int, str], float]:
    with transaction(engine) as s:
        rows = s.execute(
            select(
                ReferenceValue.org_code,
                ReferenceValue.year,
                ReferenceValue.key,
                ReferenceValue.value,
            )
        ).all()
    return {(o, y, k): v for o, y, k, v in rows}


def import_ref(engine: Engine, text: str) -> ImportResult:
    with transaction(engine) as s:
        return import_reference_values(s, text, "ref.csv")


def problems(err: pytest.ExceptionInfo[ImportFileError]) -> dict[int, str]:
    out: dict[int, str] = {}
    for p in err.value.problems:
        out[p.line] = out.get(p.line, "") + p.message + " | "
    return out


# --- reference values ------------------------------------------------------------------------


def test_import_reference_values__good_file__rows_stored(units: Engine) -> None:
    result = import_ref(
        units,
        "org_unit,year,key,value\n"
        "51,2025,establishment_workers,12500\n"
        "21025,2025,students,830\n"
        "VN,2025,sex_workers_estimated,11066\n"
        "\n"  # a blank line is skipped
        "21028,2026,officials_commune,12.0\n",
    )
    assert result == ImportResult(added=4, updated=0, unchanged=0)
    assert ref_rows(units) == {
        ("51", 2025, "establishment_workers"): 12500.0,
        ("21025", 2025, "students"): 830.0,
        ("VN", 2025, "sex_workers_estimated"): 11066.0,
        ("21028", 2026, "officials_commune"): 12.0,
    }
    with transaction(units) as s:
        audit = s.scalars(select(AuditLog)).one()
    assert (audit.action, audit.target, audit.details["added"]) == (
        "reference.import",
        "ref.csv",
        4,
    )


def test_import_reference_values__reimport__replaces_and_adds(units: Engine) -> None:
    import_ref(
        units, "org_unit,year,key,value\n51,2025,students,100\n51,2025,industrial_workers,7\n"
    )
    result = import_ref(
        units,
        "org_unit,year,key,value\n51,2025,students,120\n51,2025,industrial_workers,7\n"
        "51,2026,students,130\n",
    )
    assert result == ImportResult(added=1, updated=1, unchanged=1)
    assert ref_rows(units) == {
        ("51", 2025, "students"): 120.0,
        ("51", 2025, "industrial_workers"): 7.0,
        ("51", 2026, "students"): 130.0,
    }


def test_import_reference_values__bad_rows__every_line_reported(units: Engine) -> None:
    text = (
        "org_unit,year,key,value\n"
        "51,2025,students,100\n"  # 2 good
        "99,2025,students,100\n"  # 3 unknown unit
        "51,25,students,100\n"  # 4 year of 2 digits
        "51,2025,workers,100\n"  # 5 unknown key
        "51,2025,officials_province,-3\n"  # 6 negative
        "51,2025,officials_commune,12.500\n"  # 7 a thousands separator read as decimal
        '51,2025,sex_workers_estimated,"12,500"\n'  # 8 comma
        "51,2025,students,90\n"  # 9 repeats line 2
        "51,2025,establishment_workers\n"  # 10 three columns
        "51,2025,industrial_workers,nhiều\n"  # 11 not a number
    )
    with pytest.raises(ImportFileError) as err:
        import_ref(units, text)
    found = problems(err)
    assert sorted(found) == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert "no org unit 99 in force" in found[3]
    assert "year must be 4 digits" in found[4]
    assert "unknown key 'workers'" in found[5]
    assert "cannot be negative" in found[6]
    assert "not a whole number" in found[7]
    assert "without thousands separators" in found[8]
    assert "repeats line 2" in found[9]
    assert "expected 4 columns" in found[10]
    assert "is not a number" in found[11]
    message = str(err.value)
    assert message.startswith("ref.csv: 9 dòng lỗi, không nhập gì (9 bad row(s), nothing imported)")
    assert "dòng 3 (line 3): không có đơn vị 99" in message


def test_import_reference_values__bad_row__database_unchanged(units: Engine) -> None:
    import_ref(units, "org_unit,year,key,value\n51,2025,students,100\n")
    before = ref_rows(units)
    with pytest.raises(ImportFileError):
        import_ref(units, "org_unit,year,key,value\n51,2025,students,200\n51,2025,students,-1\n")
    assert ref_rows(units) == before
    with transaction(units) as s:
        assert len(s.scalars(select(AuditLog)).all()) == 1  # only the good import


def test_import_reference_values__excel_bom_and_any_column_order__accepted(units: Engine) -> None:
    result = import_ref(units, "\ufeffYear,Org_Unit,value,key\r\n2025,51,100,students\r\n")
    assert result.added == 1
    assert ref_rows(units) == {("51", 2025, "students"): 100.0}


@pytest.mark.parametrize(
    ("header", "says"),
    [
        ("org_unit,year,key", "missing: value"),
        ("org_unit,year,key,value,note", "unknown: note"),
        ("org_unit;year;key;value", "separated by ';'"),
        ("", "missing: org_unit,year,key,value"),
    ],
)
def test_import_reference_values__bad_header__line_1(units: Engine, header: str, says: str) -> None:
    with pytest.raises(ImportFileError) as err:
        import_ref(units, header + "\n51,2025,students,1\n")
    assert [p.line for p in err.value.problems] == [1]
    assert says in err.value.problems[0].message


def test_import_reference_values__no_data_rows__refused(units: Engine) -> None:
    with pytest.raises(ImportFileError, match="no data rows"):
        import_ref(units, "org_unit,year,key,value\n\n")


# --- establishments --------------------------------------------------------------------------

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


# --- targets ---------------------------------------------------------------------------------


def target_rows(engine: Engine) -> dict[tuple[str, str, str], float]:
    with transaction(engine) as s:
        rows = s.execute(select(Target.indicator, Target.org_code, Target.period, Target.target))
        return {(i, o, p): t for i, o, p, t in rows}


def test_import_targets__indicators_of_programme_1629_by_default(units: Engine) -> None:
    text = "indicator,org_unit,period,target\nTT3A,51,2026,70\ntt1,51,2026,70\nQN1,51,2026,5\n"
    with pytest.raises(ImportFileError) as err, transaction(units) as s:
        import_targets(s, text, "t.csv", indicators=programme_indicators(s))
    found = problems(err)
    assert sorted(found) == [3, 4]
    assert "no indicator tt1 in the programmes in use; known: BC1, DT1, DT2, HD1" in found[3]
    assert "pcmd programmes add" in found[4]


def test_import_targets__indicator_of_a_plan_switched_on__accepted(units: Engine) -> None:
    text = "indicator,org_unit,period,target\nKH1,51,2026,5300\n"
    with pytest.raises(ImportFileError, match="no indicator KH1"), transaction(units) as s:
        import_targets(s, text, "t.csv", indicators=programme_indicators(s))
    plan = shipped_text(EXAMPLE_PLAN)
    with transaction(units) as s:
        s.add(ProgrammeFile(programme="ke_hoach_51_2026", filename=EXAMPLE_PLAN, content=plan,
                            sha256=hashlib.sha256(plan.encode()).hexdigest()))  # fmt: skip
    with transaction(units) as s:
        assert import_targets(s, text, "t.csv", indicators=programme_indicators(s)) == ImportResult(
            1, 0, 0
        )


def test_import_targets__periods_canonical_and_upsert(units: Engine) -> None:
    with transaction(units) as s:
        first = import_targets(
            s,
            "indicator,org_unit,period,target\nTT1,51,2026,80\nKT1,51,2021-2025,100\n"
            "HD1,21025,2026q3,12\n",
            "t.csv",
            indicators=programme_indicators(s),
        )
    with transaction(units) as s:
        second = import_targets(
            s,
            "indicator,org_unit,period,target\nTT1,51,2026,85.5\nKT1,51,2021-2025,100\n",
            "t.csv",
            indicators=programme_indicators(s),
        )
    assert (first, second) == (ImportResult(3, 0, 0), ImportResult(0, 1, 1))
    assert target_rows(units) == {
        ("TT1", "51", "2026"): 85.5,
        ("KT1", "51", "2021-2025"): 100.0,
        ("HD1", "21025", "2026Q3"): 12.0,
    }


def test_import_targets__bad_rows__every_line_reported(units: Engine) -> None:
    text = (
        "indicator,org_unit,period,target\n"
        "TT 1,51,2026,80\n"  # 2 a space in the id
        "TT1,5,2026,80\n"  # 3 unknown unit
        "TT1,51,2026Q5,80\n"  # 4 bad quarter
        "TT1,51,2026,-1\n"  # 5 negative
        "TT1,51,2026,bảy mươi\n"  # 6 not a number
        "TT1,51,2026-07,70\n"  # 7 not a period form
        "TT9,51,2026,70\n"  # 8 not in the programme
        "TT2,51,2026,100\n"  # 9 good
        "TT2,51,2026,90\n"  # 10 repeats 9
    )
    with pytest.raises(ImportFileError) as err, transaction(units) as s:
        import_targets(s, text, "t.csv", indicators={"TT1", "TT2"})
    found = problems(err)
    assert sorted(found) == [2, 3, 4, 5, 6, 7, 8, 10]
    assert "invalid indicator id" in found[2]
    assert "no org unit 5 in force" in found[3]
    assert "no quarter 5" in found[4]
    assert "cannot be negative" in found[5]
    assert "is not a number" in found[6]
    assert "invalid period '2026-07'" in found[7]
    assert "no indicator TT9 in the programmes in use" in found[8]
    assert "repeats line 9" in found[10]
    assert target_rows(units) == {}
