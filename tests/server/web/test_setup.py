"""The set-up page over real HTTP: national administrators only, workbooks and their errors."""

from __future__ import annotations

import re

from tests.server.web.conftest import Site, csrf_of, signed_in


def test_setup__national_admin_only__workbook(site: Site) -> None:
    with signed_in(site, "hoa.qng") as client:
        assert client.get("/setup").status_code == 403
    with signed_in(site, "admin") as client:
        page = client.get("/setup")
        assert page.status_code == 200
        assert 'href="/appusers"' in page.text  # app users live on the accounts pages
        link = re.search(
            r'href="(/setup/forms/versions/\d+/workbook)">pcmd_outreach.xlsx', page.text
        )
        assert link
        workbook = client.get(link.group(1))
        assert workbook.content[:2] == b"PK"  # an .xlsx is a zip


def test_setup__upload_bad_workbook__row_error_shown(site: Site) -> None:
    import io

    from openpyxl import Workbook

    book = Workbook()
    survey = book.active
    assert survey is not None
    survey.title = "survey"
    survey.append(["type", "name", "label"])
    survey.append(["begin_group", "g", "G"])  # never closed
    survey.append(["integer", "n", "N"])
    settings = book.create_sheet("settings")
    settings.append(["form_id", "version"])
    settings.append(["thu_nghiem", "2026112301"])
    out = io.BytesIO()
    book.save(out)
    with signed_in(site, "admin") as client:
        page = client.get("/setup")
        response = client.post(
            "/setup/forms",
            data={"csrf": csrf_of(page.text)},
            files={
                "workbook": (
                    "thu_nghiem.xlsx",
                    out.getvalue(),
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                )
            },
        )
    assert response.status_code == 200
    assert "thu_nghiem.xlsx: biểu mẫu không chuyển đổi được" in response.text
    assert "row" in response.text.lower()
