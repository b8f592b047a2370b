"""The validation rule catalogue: every rule fires on a record that breaks it and stays quiet on
one that does not (the family modules' tests), each message says how to fix it, and a valid
record raises nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from pcmd.pipeline.validate.catalogue import FAMILIES, RULES, rule_rows
from pcmd.pipeline.validate.registry import Finding
from tests.pipeline.validate.records import INS, OUT, TRA, fired, record


def test_catalogue__codes_severities_and_messages() -> None:
    assert list(RULES) == [r["code"] for r in rule_rows()]
    errors = {code for code, r in RULES.items() if r.severity == "error"}
    assert errors == {
        "REQ_001", "TYPE_001", "TYPE_002", "RANGE_001", "RANGE_003", "DATE_001", "DATE_002",
        "PART_001", "GEO_001", "GEO_002", "GEO_003", "EST_001", "RANGE_004", "PIPE_001",
        "CASE_001", "PLAN_001",
    }  # fmt: skip
    for r in RULES.values():
        assert r.severity in ("error", "warning")
        assert "Cách sửa:" in r.message_vi, r.code  # every message says how to fix it
        assert "Fix:" in r.message_en, r.code
        if r.code != "DUP_001":  # the one issue about the whole record
            assert r.message_vi.startswith("[{field}]"), r.code
            assert r.message_en.startswith("[{field}]"), r.code


def test_catalogue__every_rule_tested_here() -> None:
    """Each rule fires in a test of its family's test module (test_<family>.py), and
    test_check_record__valid_record__no_issue is the record on which none of them fires."""
    here = Path(__file__).parent
    tests = [here / f"test_{family.__name__.rsplit('.', 1)[-1]}.py" for family in FAMILIES]
    source = "".join(p.read_text(encoding="utf-8") for p in [Path(__file__), *tests])
    # Error codes are also listed once in test_catalogue__codes_severities_and_messages.
    least = {code: 2 if rule.severity == "error" else 1 for code, rule in RULES.items()}
    assert [code for code in RULES if source.count(f'"{code}"') < least[code]] == []


def test_catalogue__missing_template_value__question_mark_not_crash() -> None:
    issue = RULES["PART_001"].render(Finding("reach/n_female", {"value": 50}))
    assert issue.message_en.startswith("[reach/n_female] reach/n_female = 50 is larger than ? = ?")


@pytest.mark.parametrize("form_id", [OUT, TRA, INS])
def test_check_record__valid_record__no_issue(form_id: str) -> None:
    assert fired(form_id, record(form_id)) == set()
