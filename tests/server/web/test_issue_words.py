"""Every rule of the catalogue belongs to a family a reviewer can filter by, named in words."""

from __future__ import annotations

from pcmd.pipeline.validate.catalogue import RULES
from pcmd.server.web.issue_words import FAMILIES, family_name, family_of


def test_issue_words__every_rule_family_named() -> None:
    missing = sorted({family_of(code) for code in RULES} - set(FAMILIES))
    assert missing == []
    assert family_name("CASE", "vi") == "Bước xử lý vụ việc không khớp ngày tiếp nhận"
    assert family_name("PLAN", "en") == "Plan year out of range"
