"""Conversion of user workbooks: pyxform's row-level messages, ODK Validate, immutable versions."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from pcmd.db.engine import transaction
from pcmd.db.models import Form, FormVersion
from pcmd.errors import FormBuildError
from pcmd.forms.convert import convert_workbook
from pcmd.forms.registry import store_build

FORM = """
| survey |
| | type | name | label::Vietnamese (vi) | label::English (en) | constraint |
| | date | activity_date | Ngày | Date | . >= date('2021-01-01') |
| | begin_group | reach | Số người | Reach | |
| | integer | n_students | Học sinh | Students | . >= 0 |
| | end_group | | | | |
| settings |
| | form_id | version | default_language |
| | mini | {version} | Vietnamese (vi) |
"""


def _md(version: str = "2026010101", form: str = FORM) -> bytes:
    return form.format(version=version).encode()


def test_convert_workbook__markdown_form__fields_typed() -> None:
    build = convert_workbook(_md(), "mini.md")
    assert (build.form_id, build.version) == ("mini", "2026010101")
    assert build.info.fields["reach/n_students"].type == "int"
    assert build.info.fields["activity_date"].type == "date"
    assert len(build.xform_md5) == 32


def test_convert_workbook__pyxform_error__names_row() -> None:
    broken = FORM.replace("| | end_group | | | | |\n", "")  # group never closed
    with pytest.raises(FormBuildError) as err:
        convert_workbook(_md(form=broken), "broken.md")
    msg = str(err.value)
    assert msg.startswith("broken.md: biểu mẫu không chuyển đổi được")
    assert "row" in msg.lower()
    assert err.value.workbook == "broken.md"


def test_convert_workbook__odk_validate_error__reported() -> None:
    bad = FORM.replace(". >= 0 |", ". >= foo( |")
    with pytest.raises(FormBuildError, match=r"ODK Validate .*n_students.*constraint"):
        convert_workbook(_md(form=bad), "bad.md")


def test_store_build__same_version_other_content__refused(engine: Engine) -> None:
    first = convert_workbook(_md(), "mini.md", validate=False)
    changed = convert_workbook(
        _md(form=FORM.replace("Học sinh", "Sinh viên")), "mini.md", validate=False
    )
    with transaction(engine) as session:
        assert store_build(session, first).status == "new_form"
    with transaction(engine) as session:
        assert store_build(session, first).status == "unchanged"
    with pytest.raises(FormBuildError, match="raise `version`"), transaction(engine) as session:
        store_build(session, changed)
    bumped = convert_workbook(
        _md("2026010102", FORM.replace("Học sinh", "Sinh viên")), "mini.md", validate=False
    )
    with transaction(engine) as session:
        assert store_build(session, bumped).status == "new_version"
    with transaction(engine) as session:
        form = session.scalar(select(Form).where(Form.form_id == "mini"))
        assert form is not None
        current = session.get(FormVersion, form.current_version_id)
        assert current is not None
        assert current.version == "2026010102"
        assert session.scalar(select(func.count()).select_from(FormVersion)) == 2
