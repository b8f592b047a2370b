"""Cheap argon2 for tests: the same hashing and checking code, with the smallest work factors
(a full-cost hash takes a second on the shared test machine). tests/conftest.py makes it the
default for the whole run; `full_cost_hashes` restores the real cost for a test that times a
sign-in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from argon2 import PasswordHasher

from pcmd.server import passwords, signin

CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def use_cheap_hashes() -> None:
    """Cheap hashes from now on in this process (the unknown-name hash is made anew)."""
    passwords._hasher = CHEAP
    signin._dummy_hash.cache_clear()


@contextmanager
def full_cost_hashes() -> Iterator[None]:
    """argon2's real parameters inside the block; the unknown-name hash, made once per process,
    is made at full cost here and does not outlive the block."""
    before = passwords._hasher
    passwords._hasher = PasswordHasher()
    signin._dummy_hash.cache_clear()
    try:
        yield
    finally:
        passwords._hasher = before
        signin._dummy_hash.cache_clear()


@pytest.fixture
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Kept for the tests that ask for it by name; cheap hashing is the default already."""
    monkeypatch.setattr(passwords, "_hasher", CHEAP)
    signin._dummy_hash.cache_clear()
    yield
    signin._dummy_hash.cache_clear()
