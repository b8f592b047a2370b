"""Which of the touched cells' values can have changed in an incremental run, from what moved
in the kept cube (indicators/cube_changes.py).

A value is computed from its parts' quantities, the denominators (org-unit list, months,
register, reference data) and the targets. In an incremental run only the quantities read from
records move — whatever else changed is recomputed for every cell before (run.py: the
dependents, a new month or day) — and a quantity moves only when a slot or a part's fact rows
of its unit moved in a month it reads (its own period's, or the shifted period's). So of a
stored cell only the indicators with such a part are written again; a cell whose stored rows
are not all there (new, or a cell that had no counted record) is written whole."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from pcmd.masterdata.periods import Period, parse_period
from pcmd.masterdata.tree import OrgTree
from pcmd.pipeline.indicators.cube import SlotMap
from pcmd.pipeline.indicators.cube_changes import Changes, part_tag
from pcmd.pipeline.indicators.model import Indicator, Part
from pcmd.pipeline.indicators.part_periods import shifted
from pcmd.pipeline.indicators.quantities import READ_KINDS

ALWAYS = "*"  # a part whose changes are not tracked: taken as moved


def _tags(part: Part, slots: SlotMap, changes: Changes) -> set[str]:
    """What a quantity part reads: its slots, and its fact rows for a distinct or by-day
    part (not tracked by the kept cube: always taken as moved)."""
    base = replace(part, period=None)
    tags = {slots[m.key] for m in base.measures() if m.key in slots}
    if base.kind == "distinct" or base.by_day:
        tags.add(part_tag(base.id) if base.id in changes.tracked else ALWAYS)
    return tags


def _reads(
    indicators: Sequence[Indicator], slots: SlotMap, changes: Changes
) -> list[list[tuple[str | None, set[str]]]]:
    """Per indicator, (period shift, tags) of each part read from records."""
    out = []
    for ind in indicators:
        parts = [*ind.numerator, *([ind.denominator] if ind.denominator else [])]
        out.append([(p.period, _tags(p, slots, changes)) for p in parts if p.kind in READ_KINDS])
    return out


def moved(
    cells: Sequence[tuple[str, str]],
    indicators: Sequence[Indicator],
    level: str,
    tree: OrgTree,
    slots: SlotMap,
    changes: Changes,
) -> np.ndarray:
    """(indicators, cells) for these (org, period) cells: whether the value can differ from the
    stored one."""
    by_org: dict[str, dict[int, set[str]]] = {}  # org → month → what moved
    for (commune, province, month), tags in changes.moved.items():
        if level == "commune":
            orgs = {commune}
        elif level == "province":
            orgs = {province, tree.parent.get(commune) or province}
        else:
            orgs = {tree.root}
        for org in orgs:
            by_org.setdefault(org, {}).setdefault(month, set()).update(tags)
    reads = _reads(indicators, slots, changes)
    shifts = {shift for parts in reads for shift, _tags in parts}
    months: dict[tuple[str, str | None], set[int]] = {}
    periods: dict[str, Period] = {}
    out = np.zeros((len(indicators), len(cells)), dtype=bool)
    answers: dict[tuple[tuple[str, frozenset[str]], ...], np.ndarray] = {}
    for j, (org, code) in enumerate(cells):
        # no early exit for a unit where nothing moved: an untracked part still counts
        found = by_org.get(org, {})
        period = periods.get(code) or periods.setdefault(code, parse_period(code))
        seen: dict[str | None, frozenset[str]] = {}
        for shift in shifts:
            key = (code, shift)
            if key not in months:
                other = shifted(period, shift)
                months[key] = {int(m) for m in other.months()} if other is not None else set()
            window = months[key]
            seen[shift] = frozenset().union(*(tags for m, tags in found.items() if m in window))
        # cells where the same things moved (communes with only new outreach records) share
        # one answer
        pattern = tuple(sorted((str(k), v) for k, v in seen.items()))
        column = answers.get(pattern)
        if column is None:
            column = answers[pattern] = np.array(
                [any(ALWAYS in t or t & seen[shift] for shift, t in parts) for parts in reads],
                dtype=bool,
            )
        out[:, j] = column
    return out
