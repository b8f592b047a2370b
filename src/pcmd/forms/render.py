"""A text rendering of the workbooks, so a form change can be read in review (`pcmd forms show`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from openpyxl import load_workbook

SHEETS = ("survey", "choices", "settings")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def sheet_rows(path: Path, sheet: str) -> list[list[str]]:
    """Non-empty rows of one sheet, trailing empty columns dropped."""
    book = load_workbook(path, read_only=True, data_only=True)
    try:
        if sheet not in book.sheetnames:
            return []
        rows = [[_cell(v) for v in row] for row in book[sheet].iter_rows(values_only=True)]
    finally:
        book.close()
    rows = [r for r in rows if any(r)]
    if not rows:
        return []
    width = max(max((i + 1 for i, v in enumerate(r) if v), default=0) for r in rows)
    return [r[:width] + [""] * (width - len(r[:width])) for r in rows]


def _table(rows: Sequence[Sequence[str]]) -> Iterable[str]:
    header, *body = rows
    yield "| " + " | ".join(header) + " |"
    yield "|" + "|".join("---" for _ in header) + "|"
    for row in body:
        yield "| " + " | ".join(row) + " |"


def render_markdown(paths: Iterable[Path]) -> str:
    out: list[str] = []
    for path in paths:
        out.append(f"### {path.stem} (`{path.name}`)\n")
        for sheet in SHEETS:
            rows = sheet_rows(path, sheet)
            if rows:
                out.append(f"#### {sheet}\n")
                out.extend(_table(rows))
                out.append("")
    return "\n".join(out) + "\n"
