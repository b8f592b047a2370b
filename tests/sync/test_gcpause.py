"""The collector paused for a pull: restored after, nested pauses, a collector already off."""

from __future__ import annotations

import gc

from pcmd.sync.gcpause import collect_young, gc_paused


def test_gc_paused__nested__enabled_again_only_after_the_outer() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
        collect_young()  # runs while paused, leaves it paused
        assert not gc.isenabled()
    assert gc.isenabled()


def test_gc_paused__error_inside__enabled_again() -> None:
    try:
        with gc_paused():
            raise ValueError("page failed")
    except ValueError:
        pass
    assert gc.isenabled()


def test_gc_paused__collector_disabled_before__stays_disabled() -> None:
    gc.disable()
    try:
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_collect_young__cycle_made_in_a_pause__freed() -> None:
    class Node:
        pass

    with gc_paused():
        gc.collect()
        a, b = Node(), Node()
        a.other, b.other = b, a  # type: ignore[attr-defined]
        del a, b
        freed = collect_young()
    assert freed >= 2
