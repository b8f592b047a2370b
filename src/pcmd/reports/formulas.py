"""User text in a spreadsheet stays text: the one rule every xlsx and CSV writer applies.

A note typed on a phone as `=HYPERLINK("http://…")` must not become a live formula when a
province officer opens the report. In xlsx a string is written as a string cell, never as a
formula or an error value, whatever it starts with. A CSV has no cell types, so a text cell
that a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, a tab or a
carriage return, or their full-width forms) gets a leading `'`, as OWASP recommends; quoting
alone does not help, since Excel evaluates `"=1+1"` too. Numbers stay numbers: an int or float
is written as it is, and so is text that is exactly a number (`-5`, `+84`, `1.5e3`).
"""

from __future__ import annotations

import re
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.worksheet.worksheet import Worksheet

# What a spreadsheet may read as the start of a formula (OWASP "CSV injection"), with the
# full-width forms some Excel input modes turn into the ASCII ones.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
NUMBER_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
EXCEL_MAX_TEXT = 32_767


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell: None is empty, numbers unchanged, formula-like text made inert."""
    if value is None:
        return ""
    if is_number(value):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not NUMBER_RE.fullmatch(text):
        return "'" + text
    return text


def csv_row(values: Any) -> list[Any]:
    return [csv_cell(v) for v in values]


def xlsx_text(text: str) -> str:
    """Text as an xlsx string cell can hold it: characters XML forbids become U+FFFD, and the
    text stops at Excel's limit of 32,767 characters."""
    clean: str = ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)
    return clean[:EXCEL_MAX_TEXT]


def put(ws: Worksheet, row: int, column: int, value: Any) -> Cell:
    """Write a value to a cell: text always as a string cell, never a formula or an error."""
    if isinstance(value, str):
        cell = ws.cell(row=row, column=column, value=xlsx_text(value))
        cell.data_type = "s"  # openpyxl makes "=…" a formula and "#N/A" an error otherwise
        return cell
    cell = ws.cell(row=row, column=column, value=value)
    assert isinstance(cell, Cell)
    return cell
