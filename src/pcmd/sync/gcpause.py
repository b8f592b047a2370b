"""The cyclic garbage collector's automatic runs held off during a pull, and run by the pull
itself between pages.

A page is a thousand records, each a few dozen small dicts, lists and tuples that all live
until the page is written. Automatic collections that run meanwhile find nothing to free, yet
promote every one of them to the older generations, which then trigger full collections over
the whole heap (the interpreter, SQLAlchemy, the app): a quarter of a pull's CPU went there.
During a pull the pull collects the younger generations itself, once a page, when the page
before is gone: cyclic garbage (the pull's own, or another thread's) is freed as before, and
what survives is the one page in hand. Nested or concurrent pauses (two syncs in threads)
re-enable the automatic collector only when the last one ends; a collector someone else
disabled stays disabled.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_paused_by_us = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """No automatic cyclic collection inside the block; call `collect_young` between pages."""
    global _holders, _paused_by_us
    with _lock:
        _holders += 1
        if _holders == 1:
            _paused_by_us = gc.isenabled()
            gc.disable()
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _paused_by_us:
                _paused_by_us = False
                gc.enable()


def collect_young() -> int:
    """Collect the two younger generations (what was made since the page before, and what
    that page's collection left alive, now mostly gone): cheap at a moment when little is
    alive, and no cycle made during a page outlives the next one. Returns how many
    unreachable objects it found."""
    return gc.collect(1)
