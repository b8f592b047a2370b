"""Fixtures of the import tests: the shipped org units loaded, and problems by line."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from pcmd.db.engine import transaction
from pcmd.errors import ImportFileError
from pcmd.masterdata.orgunits import load_shipped

# Quảng Ngãi (51): Phường Cẩm Thành 21025, Phường Nghĩa Lộ 21028; Hà Nội (01): Ba Đình 00004.


@pytest.fixture
def units(engine: Engine) -> Engine:
    with transaction(engine) as s:
        load_shipped(s)
    return engine


def problems(err: pytest.ExceptionInfo[ImportFileError]) -> dict[int, str]:
    out: dict[int, str] = {}
    for p in err.value.problems:
        out[p.line] = out.get(p.line, "") + p.message + " | "
    return out
