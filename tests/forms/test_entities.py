"""A case's state folded from its steps, and cases.csv (DESIGN §6b, §8b's deadline rule)."""

from __future__ import annotations

import datetime as dt

from pcmd.forms.entities import CaseRow, CaseState, Step, add_months, case_key, cases_csv, fold

D = dt.date


def test_add_months__clamped_to_the_months_end() -> None:
    assert add_months(D(2026, 12, 31), 2) == D(2027, 2, 28)
    assert add_months(D(2027, 12, 31), 2) == D(2028, 2, 29)
    assert add_months(D(2026, 11, 2), 2) == D(2027, 1, 2)
    assert add_months(D(2026, 8, 31), 2) == D(2026, 10, 31)


def test_fold__steps_in_date_order_whatever_the_arrival() -> None:
    received = D(2026, 3, 1)
    # arrival order (seq): handled first, then an earlier verification, then an extension
    steps = [
        Step("xu_ly_xong", D(2026, 3, 25), 1),
        Step("xac_minh", D(2026, 3, 5), 2),
        Step("gia_han", D(2026, 3, 21), 3),  # 1 Mar + 20 days = 21 Mar: still in time
    ]
    assert fold(received, steps) == CaseState("xu_ly_xong", D(2026, 5, 1), D(2026, 3, 25))
    assert fold(received, []) == CaseState("tiep_nhan", D(2026, 3, 21), None)


def test_fold__late_extension_and_ties() -> None:
    received = D(2026, 3, 1)
    late = [Step("gia_han", D(2026, 3, 22), 1)]  # a day after the 20 days: no extension
    assert fold(received, late) == CaseState("gia_han", D(2026, 3, 21), None)
    # same day: the one received last is the status; the first handling step sets the date
    tie = [Step("chuyen", D(2026, 3, 9), 7), Step("phan_loai", D(2026, 3, 9), 8)]
    assert fold(received, tie) == CaseState("phan_loai", D(2026, 3, 21), D(2026, 3, 9))


def test_cases_csv__central_columns_newest_first() -> None:
    state = CaseState("tiep_nhan", D(2026, 3, 21), None)
    older = CaseRow("a1", "2026-03-01 · Tố giác", 1, D(2026, 3, 1), "21025", "to_giac", state)
    newer = CaseRow("b2", "2026-03-02 · Tin báo, \"x\"", 3, D(2026, 3, 2), "21025", "tin_bao",
                    CaseState("chuyen", D(2026, 3, 22), D(2026, 3, 4)))  # fmt: skip
    assert cases_csv([older, newer]).content.decode() == (
        "name,label,__version,received_date,commune,kind,deadline,status,handled_date\n"
        'b2,"2026-03-02 · Tin báo, ""x""",3,2026-03-02,21025,tin_bao,2026-03-22,chuyen,2026-03-04\n'
        "a1,2026-03-01 · Tố giác,1,2026-03-01,21025,to_giac,2026-03-21,tiep_nhan,\n"
    )


def test_case_key__bare_lower() -> None:
    assert case_key(" uuid:0F6C8D0E-57E4-4B7C-9A3A-3C1E2F4D5B6A ") == (
        "0f6c8d0e-57e4-4b7c-9a3a-3c1e2f4d5b6a"
    )
