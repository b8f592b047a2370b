"""Cheap argon2 for tests that create many web users: the same hashing and checking code, with
the smallest work factors (a full-cost hash takes a second on the shared test machine)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from pcmd.server import accounts


@pytest.fixture
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    # the unknown-name hash is made once per process: a cheap one must not outlive this test
    # (a later test times an unknown name against a full-cost wrong password)
    accounts._dummy_hash.cache_clear()
    yield
    accounts._dummy_hash.cache_clear()
