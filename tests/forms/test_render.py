"""The text rendering of the workbooks kept in forms/README.md for review."""

from __future__ import annotations

from pcmd.forms.registry import shipped_workbooks_dir, workbook_paths
from pcmd.forms.render import README_MARKER, render_markdown, sheet_rows


def test_forms_readme__contents_match_workbooks() -> None:
    """Should fail when a workbook changed without `pcmd forms show --readme`."""
    folder = shipped_workbooks_dir()
    readme = (folder / "README.md").read_text(encoding="utf-8")
    generated = readme.split(README_MARKER, 1)[1].lstrip("\n")
    assert generated == render_markdown(workbook_paths(folder)), (
        "forms/README.md is stale: run `pcmd forms show --readme`"
    )


def test_sheet_rows__settings_sheet_of_outreach() -> None:
    rows = sheet_rows(shipped_workbooks_dir() / "pcmd_outreach.xlsx", "settings")
    header, values = rows[0], rows[1]
    settings = dict(zip(header, values, strict=True))
    assert settings["form_id"] == "pcmd_outreach"
    assert settings["default_language"] == "Vietnamese (vi)"
