"""Cheap argon2 for tests that create many web users: the same hashing and checking code, with
the smallest work factors (a full-cost hash takes a second on the shared test machine)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from pcmd.server import accounts


@pytest.fixture
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
