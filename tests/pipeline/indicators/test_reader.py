"""Reading programme files: a mistake is refused with a message naming the file and the key."""

from __future__ import annotations

import pytest

from pcmd.pipeline.indicators.model import ProgrammeError
from pcmd.pipeline.indicators.programme import load_programme
from pcmd.pipeline.indicators.reader import parse_programme_file

BASE = """
[programme]
id = "p"
name = "Thử"
period = "2021-2025"

[[indicators]]
id = "X1"
name = "Một chỉ tiêu"
unit = "percent"
numerator = { kind = "records", forms = ["pcmd_outreach"] }
denominator = { kind = "communes" }
"""


@pytest.mark.parametrize(
    ("change", "where", "words"),
    [
        (("[[indicators]]", "[oops]\n[[indicators]]"), "oops", "unknown key"),
        (('kind = "records"', 'kind = "average"'), "indicators[0].numerator.kind", "kind must"),
        (
            ('forms = ["pcmd_outreach"]', 'forms = ["pcmd_other"]'),
            "indicators[0].numerator.forms",
            "no form 'pcmd_other'",
        ),
        (('unit = "percent"', 'unit = "ratio"'), "indicators[0].unit", "percent or count"),
        (
            ('denominator = { kind = "communes" }', ""),
            "indicators[0].denominator",
            "needs a denominator",
        ),
        (('unit = "percent"', 'unit = "count"'), "indicators[0].denominator", "has no denominator"),
        (
            (
                'forms = ["pcmd_outreach"] }',
                'forms = ["pcmd_outreach"], where = { "reach/n_students" = "1" } }',
            ),
            "indicators[0].numerator.where.reach/n_students",
            "only choice and code fields",
        ),
        (
            (
                'kind = "records", forms = ["pcmd_outreach"]',
                'kind = "sum", form = "pcmd_outreach", fields = ["channel"]',
            ),
            "indicators[0].numerator.fields",
            "channel is not a number",
        ),
        (
            (
                'kind = "records", forms = ["pcmd_outreach"]',
                'kind = "sum", form = "pcmd_outreach", fields = ["reach/n_pupils"]',
            ),
            "indicators[0].numerator.fields",
            "no usable field 'reach/n_pupils'",
        ),
        (
            (
                'denominator = { kind = "communes" }',
                'denominator = { kind = "reference", key = "x" }',
            ),
            "indicators[0].denominator.key",
            "reference key must be",
        ),
        (('period = "2021-2025"', 'period = "2021-25"'), "programme.period", "invalid period"),
        (('id = "X1"', 'id = "X 1"'), "indicators[0].id", "at most 32 letters"),
        (
            (
                'denominator = { kind = "communes" }',
                'denominator = { kind = "communes" }\ntarget = { year = -1 }',
            ),
            "indicators[0].target.year",
            "a number ≥ 0",
        ),
        (
            (
                'denominator = { kind = "communes" }',
                'denominator = { kind = "communes" }\ntarget = { quarter = 5 }',
            ),
            "indicators[0].target.quarter",
            "unknown key",
        ),
        (('name = "Thử"', 'name = "Thử'), "", "not valid TOML"),
        # the options of DESIGN §8b's indicators
        (
            ('forms = ["pcmd_outreach"] }', 'forms = ["pcmd_outreach"], period = "last_month" }'),
            "indicators[0].numerator.period",
            "must be one of year_before, last_year",
        ),
        (
            ('denominator = { kind = "communes" }', 'denominator = { kind = "communes_x" }'),
            "indicators[0].denominator.kind",
            "kind must be one of",
        ),
        (
            ('forms = ["pcmd_outreach"] }', 'forms = ["pcmd_outreach"], since = "2025-07" }'),
            "indicators[0].numerator.since",
            "only with months",
        ),
        (
            (
                'forms = ["pcmd_outreach"] }',
                'forms = ["pcmd_outreach"], months = "ended", since = "July" }',
            ),
            "indicators[0].numerator.since",
            "must be a month as YYYY-MM",
        ),
        (
            (
                'kind = "records", forms = ["pcmd_outreach"]',
                'kind = "deadline", form = "pcmd_outreach", count = "due"',
            ),
            "indicators[0].numerator.form",
            "no usable field 'deadline'",
        ),
        (
            (
                'kind = "records", forms = ["pcmd_outreach"]',
                'kind = "deadline", form = "pcmd_case", count = "late"',
            ),
            "indicators[0].numerator.count",
            "must be one of due, in_time, overdue",
        ),
        (
            ('unit = "percent"', 'unit = "percent"\nformula = "difference"'),
            "indicators[0].formula",
            "must be ratio or change",
        ),
    ],
)
def test_programme_file__mistake__error_names_file_and_key(
    change: tuple[str, str], where: str, words: str
) -> None:
    """Should refuse a file with a mistake, naming the file, the key and the problem."""
    text = BASE.replace(*change)
    assert text != BASE
    with pytest.raises(ProgrammeError) as err:
        load_programme(text, "plan.toml", {})
    message = str(err.value)
    assert message.startswith("Tệp chương trình plan.toml: ")
    assert f": {where}: " in message or (not where and "plan.toml: " in message)
    assert words in message


def test_programme_file__repeated_indicator() -> None:
    with pytest.raises(ProgrammeError, match=r"indicators\[1\]\.id.*X1 repeats"):
        load_programme(BASE + BASE[BASE.index("[[indicators]]") :], "plan.toml", {})


def test_programme_file__targets_table_needs_extends() -> None:
    with pytest.raises(ProgrammeError, match=r"\[targets\] is for a file that extends"):
        parse_programme_file(BASE + "\n[targets]\nX1 = { year = 5 }\n", "p.toml")


def test_programme_file__8b_options__read() -> None:
    """Should read a year-over-year change, a shifted part, a deadline count and a month
    window into the model."""
    text = BASE.replace(
        'numerator = { kind = "records", forms = ["pcmd_outreach"] }\n'
        'denominator = { kind = "communes" }',
        'formula = "change"\n'
        'numerator = { kind = "records", forms = ["pcmd_monthly"], months = "ended", '
        'since = "2025-07" }\n'
        'denominator = { kind = "records", forms = ["pcmd_monthly"], period = "year_before" }',
    )
    ind = load_programme(text, "plan.toml", {}).indicators[0]
    assert ind.formula == "change"
    num, den = ind.numerator[0], ind.denominator
    assert (num.months, num.since, num.by_day) == ("ended", 202507, True)
    assert num.measures() == ()  # counted from the fact rows, not the cube
    assert den is not None
    assert (den.period, den.by_day) == ("year_before", False)
