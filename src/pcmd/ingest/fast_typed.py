"""`fast_typed`: a submission's answers typed as `typed_values` types them, with each path's
typing looked up once per form version (the bulk and group paths type thousands a second)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from pcmd.ingest.instance import INT_MAX, INT_MIN, type_value, typed_values


class _Slow(Exception):
    """A value `typed_values` must type itself (to refuse it with its message)."""


def _int(text: str) -> Any:
    try:
        value = int(text)
    except ValueError:
        return text  # kept as sent, as type_value keeps it
    if not INT_MIN <= value <= INT_MAX:
        raise _Slow
    return value


def _other(bind_type: str, control: str | None) -> Callable[[str], Any]:
    def typed(text: str) -> Any:
        value = type_value(text, bind_type, control)
        if isinstance(value, float) and not math.isfinite(value):
            raise _Slow
        if isinstance(value, list) and not all(math.isfinite(v) for v in value):
            raise _Slow
        return value

    return typed


Plan = dict[str, Callable[[str], Any] | None]
_PLANS: dict[int, tuple[dict[str, Any], Plan]] = {}


def _plan(fields: dict[str, Any]) -> Plan:
    """path → how `type_value` types a non-empty answer (None: kept as text), once per form
    version's fields dict (the entry holds the dict, so its id cannot be reused)."""
    hit = _PLANS.get(id(fields))
    if hit is not None and hit[0] is fields:
        return hit[1]
    plan: Plan = {}
    for path, info in fields.items():
        bind_type, control = info.get("type", "string"), info.get("control")
        if control == "select":
            plan[path] = str.split
        elif bind_type == "int":
            plan[path] = _int
        elif bind_type in ("decimal", "date", "geopoint"):
            plan[path] = _other(bind_type, control)
        else:
            plan[path] = None
    if len(_PLANS) > 256:
        _PLANS.clear()
    _PLANS[id(fields)] = (fields, plan)
    return plan


def fast_typed(values: dict[str, str], fields: dict[str, Any]) -> dict[str, Any]:
    """typed_values(values, fields), the same dict, with each path's typing looked up once
    per form version: an empty answer is None, text stays text, numbers and lists as
    type_value makes them. A number typed_values must check for bounds or finiteness is
    handed to it whole (it raises its own IngestError)."""
    plan = _plan(fields)
    get = plan.get
    try:
        return {
            path: how(text) if (how := get(path)) is not None and text else (text or None)
            for path, text in values.items()
        }
    except _Slow:
        return typed_values(values, fields)
