"""PART_001: an "of whom" count larger than its total."""

from __future__ import annotations

import pytest

from tests.pipeline.validate.records import INS, OUT, TRA, fired, issues, record


@pytest.mark.parametrize(
    ("form_id", "changes", "path", "whole", "total"),
    [
        # 0 + 0 + 40 + 5 = 45 people reached
        (OUT, {"reach__n_female": "46"}, "reach/n_female", "n_establishment_workers + "
         "n_industrial_workers + n_students + n_general", 45),
        # 2 + 20 + 5 + 10 + 3 = 40 participants
        (TRA, {"participants__n_female": "41"}, "participants/n_female", "n_province_staff + "
         "n_commune_staff + n_police + n_collaborators + n_other", 40),
        (TRA, {"participants__new_province_staff": "3"}, "participants/new_province_staff",
         "participants/n_province_staff", 2),
        (TRA, {"participants__new_commune_staff": "21"}, "participants/new_commune_staff",
         "participants/n_commune_staff", 20),
        (INS, {"findings__n_female_workers": "7"}, "findings/n_female_workers",
         "findings/n_workers", 6),
        (INS, {"findings__n_workers_informed": "7"}, "findings/n_workers_informed",
         "findings/n_workers", 6),
    ],
)  # fmt: skip
def test_part_001__part_above_whole__error(
    form_id: str, changes: dict[str, str], path: str, whole: str, total: int
) -> None:
    data = record(form_id, **changes)
    assert fired(form_id, data) == {("PART_001", path)}
    issue = issues(form_id, data, "PART_001")[0]
    value = data[path]
    assert issue.message_en.startswith(
        f"[{path}] {path} = {value} is larger than {whole} = {total}"
    )


def test_part_001__part_equal_to_whole__quiet() -> None:
    assert fired(OUT, record(OUT, reach__n_female="45")) == set()
    assert fired(INS, record(INS, findings__n_female_workers="6")) == set()
