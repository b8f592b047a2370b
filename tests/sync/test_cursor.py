"""A source's last outcome read from sync_state: the error only while it is current."""

from __future__ import annotations

import datetime as dt

from pcmd.sync.cursor import Outcome, last_outcome

T1 = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC)
T2 = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


def test_last_outcome__error_after_success__failed_with_error() -> None:
    assert last_outcome(T1, T2, "HTTP 401") == Outcome(False, T2, "HTTP 401")


def test_last_outcome__never_succeeded__failed() -> None:
    assert last_outcome(None, T1, "HTTP 503") == Outcome(False, T1, "HTTP 503")


def test_last_outcome__refused_records_in_a_finished_run__done_with_error() -> None:
    assert last_outcome(T2, T2, "1 record(s) refused") == Outcome(True, T2, "1 record(s) refused")


def test_last_outcome__error_cleared_by_a_clean_run__succeeded() -> None:
    assert last_outcome(T2, None, None) == Outcome(True, T2, None)
    # an error a later success left behind (a naive time from the database is UTC)
    assert last_outcome(T2, T1.replace(tzinfo=None), "old") == Outcome(True, T2, None)
