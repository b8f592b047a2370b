"""OUT_001 and the modified z-score it uses."""

from __future__ import annotations

import pytest

from pcmd.pipeline.validate.outliers import modified_z
from tests.pipeline.validate.records import INS, OUT, issues, record

# Ten earlier records: median 11; absolute deviations 2,1,1,1,0,0,1,1,1,2 → MAD 1.
HISTORY = (10.0, 12.0, 11.0, 13.0, 9.0, 10.0, 12.0, 11.0, 10.0, 12.0)


def test_out_001__far_above_commune_median__warning() -> None:
    # 22 people: 0.6745 × (22 − 11) / 1 = 7.4 > 3.5, twice the median, 11 above it
    data = record(OUT, reach__n_students="17", reach__n_general="5", reach__n_female="10")
    found = issues(OUT, data, "OUT_001", history=HISTORY)
    assert [i.field_path for i in found] == ["reach/n_total"]
    assert "A total of 22 is unusually large against the commune's 10 earlier records " in (
        found[0].message_en
    )
    assert "(median 11.0, modified z-score 7.4)" in found[0].message_en


def test_out_001__not_twice_the_median_or_short_history__quiet() -> None:
    data = record(OUT, reach__n_students="16", reach__n_general="5", reach__n_female="10")  # 21
    assert issues(OUT, data, "OUT_001", history=HISTORY) == []
    big = record(OUT, reach__n_students="400", reach__n_female="10")
    assert issues(OUT, big, "OUT_001", history=HISTORY[:9]) == []  # 9 records: too few
    assert len(issues(OUT, big, "OUT_001", history=HISTORY)) == 1


def test_out_001__small_counts_need_ten_more__quiet() -> None:
    history = (2.0, 3.0, 2.0, 2.0, 3.0, 2.0, 3.0, 2.0, 2.0, 3.0)  # median 2
    assert issues(INS, record(INS, findings__n_workers="11", findings__n_female_workers="4"),
                  "OUT_001", history=history) == []  # fmt: skip
    assert len(issues(INS, record(INS, findings__n_workers="12"), "OUT_001", history=history)) == 1


def test_modified_z__no_spread__mean_deviation_then_infinite() -> None:
    # MAD 0 (8 of 10 equal): mean absolute deviation (0+…+10+10)/10 = 2 → z = 20/(1.253314×2)
    history = [10.0] * 8 + [20.0, 0.0]
    assert modified_z(30.0, history) == pytest.approx(20 / (1.253314 * 2))
    assert modified_z(30.0, [10.0] * 10) == float("inf")
    assert modified_z(10.0, [10.0] * 10) == 0.0
