"""PIPE_001: a number too large to sum, or a record on which a rule fails, is an error on that
record and the other rules still run."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from pcmd.forms.contract import Data
from pcmd.pipeline.validate.catalogue import RULES
from pcmd.pipeline.validate.context import RuleContext
from pcmd.pipeline.validate.registry import Finding
from tests.pipeline.validate.records import OUT, TRA, fired, issues, record


def test_pipe_001__number_beyond_any_sum__error_on_that_field() -> None:
    # 10^16 fits in 64 bits (so ingest keeps it) but is beyond 10^15, the largest usable.
    data = record(TRA, participants__n_police="10000000000000000")
    assert ("PIPE_001", "participants/n_police") in fired(TRA, data)
    assert ("PIPE_001", "participants/n_police") not in fired(
        TRA, record(TRA, participants__n_police="1000000000000000")
    )


def test_pipe_001__rule_fails_on_record__error_and_other_rules_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def boom(_data: Data, _ctx: RuleContext) -> Iterator[Finding]:
        raise KeyError("an answer no rule was written for")
        yield Finding(None)  # pragma: no cover - makes this a generator like the real rules

    monkeypatch.setitem(RULES, "MEDIA_001", dataclasses.replace(RULES["MEDIA_001"], check=boom))
    data = record(OUT, reach__n_students="-3")
    found = fired(OUT, data)
    assert ("PIPE_001", None) in found
    assert ("RANGE_001", "reach/n_students") in found  # the rules after it still ran
    [issue] = issues(OUT, data, "PIPE_001")
    assert "MEDIA_001" in issue.message_en
    assert "KeyError" in issue.message_en
