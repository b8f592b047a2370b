"""The reports page with a DHIS2 mapping file that has mistakes: a clear page, no file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pcmd.settings import Settings
from pcmd.settings.report import ReportSettings
from tests.server.web.conftest import Site, signed_in


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    mapping = tmp_path / "dhis2.csv"
    mapping.write_text(
        "kind,pcmd_code,dhis2_uid,category_option_combo\n"
        "data_set,,pBOMPrpg1QX,\n"
        "org_unit,51,DiszpKrYNg8,\n"
        "numerator,HD9,fbfJHSPpUQD,\n",
        encoding="utf-8",
    )
    return dataclasses.replace(settings, report=ReportSettings(dhis2_mapping=mapping))


def test_reports_download__bad_mapping__400_page_names_the_line(site: Site) -> None:
    with signed_in(site, "hoa.qng") as client:
        response = client.get(
            "/reports/download", params={"org": "51", "period": "2026Q4", "format": "dhis2"}
        )
        excel = client.get(
            "/reports/download", params={"org": "51", "period": "2026Q4", "format": "xlsx"}
        )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "tệp ánh xạ DHIS2 có 1 dòng lỗi" in response.text
    assert "dòng 4 (line 4): chỉ tiêu &#39;HD9&#39; không có trong chương trình" in response.text
    assert "Traceback" not in response.text
    assert 'option value="51"' in response.text  # the form is there to try again
    assert excel.status_code == 200  # the workbook does not need the mapping
