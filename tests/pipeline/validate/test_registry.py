"""Issue: how a rendered message reads on one line."""

from __future__ import annotations

from pcmd.pipeline.validate.registry import Issue


def test_issue__text__vietnamese_then_english() -> None:
    issue = Issue("X_001", "warning", None, "Tiếng Việt", "English")
    assert issue.text == "Tiếng Việt (English)"
