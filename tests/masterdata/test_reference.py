"""Reference values import: line-numbered errors, all or nothing, re-import replaces values,
Excel's BOM accepted."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from pcmd.db.engine import transaction
from pcmd.db.models import AuditLog, ReferenceValue
from pcmd.errors import ImportFileError
from pcmd.masterdata.csvfile import ImportResult
from pcmd.masterdata.reference import import_reference_values
from tests.masterdata.conftest import problems


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


def test_import_reference_values__sex_workers_in_need__accepted(units: Engine) -> None:
    """Should take `sex_workers_in_need` (HT1's denominator, DESIGN §7) at commune and province
    level."""
    result = import_ref(
        units,
        "org_unit,year,key,value\n21025,2026,sex_workers_in_need,14\n51,2026,sex_workers_in_need,120\n",
    )
    assert result == ImportResult(added=2, updated=0, unchanged=0)
    assert ref_rows(units) == {
        ("21025", 2026, "sex_workers_in_need"): 14.0,
        ("51", 2026, "sex_workers_in_need"): 120.0,
    }


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
