"""The indicator engine: quantities + reference data + targets + org tree + period → values.

Pure: no database. The quantities of each numerator and denominator part come in already
reduced to (org unit, period) (cube_read.reduce); this module turns them into the rows DESIGN §8
specifies, vectorised over every cell at once:

- count indicators: value = numerator; denominator and target null unless a target is imported;
- percent: value = 100 × numerator / denominator rounded half up to one decimal, never capped;
  a missing or zero denominator gives value null and status no_data, with the denominator
  reported as it is;
- denominators: `communes` counts the communes of the unit in the org-unit list (1 for a
  commune); `months` the months of the period that have begun by `today`; `establishments` the
  register's establishments of the unit with a status; `reference` the value of the period's
  last year, else of the most recent year before it — a unit's own value wins over the sum of
  its children, otherwise the sum of the children that have a value (communes → province →
  country);
- targets: one imported for exactly that indicator, unit and period wins; otherwise the
  programme's default applies only to calendar years (`year`) and to the programme period
  (`programme`); every other period has none;
- status: met when the rounded value ≥ target, not_met below it, no_target for a value without
  a target, no_data without a value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from pcmd.masterdata.periods import Period, parse_period
from pcmd.masterdata.tree import OrgTree
from pcmd.pipeline.indicators.model import Indicator, Part, Programme
from pcmd.pipeline.indicators.part_periods import count_months, shifted, window
from pcmd.pipeline.indicators.reference import Reference

COLUMNS = [
    "indicator",
    "org_code",
    "period",
    "numerator",
    "denominator",
    "value",
    "target",
    "status",
]
STATUSES = ("met", "not_met", "no_target", "no_data")
STATUS_VI = {
    "met": "Đạt",
    "not_met": "Chưa đạt",
    "no_target": "Chưa giao chỉ tiêu",
    "no_data": "Chưa có số liệu",
}
# Whole numbers below this are divided in exact integer arithmetic; anything else in Decimal.
_EXACT_LIMIT = 10**12


@dataclass
class Context:
    """Everything besides the quantities that the values depend on."""

    tree: OrgTree
    reference: Reference
    establishments: dict[str, dict[str, int]]  # status → org → count (rolled up the tree)
    targets: dict[tuple[str, str, str], float]  # (indicator, org, period) → imported target
    today: dt.date


def half_up_decimal(numerator: float, denominator: float) -> float:
    """100 × numerator / denominator rounded half up to one decimal, in Decimal arithmetic."""
    exact = Decimal(repr(numerator)) * 100 / Decimal(repr(denominator))
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def percent(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Vectorised `half_up_decimal`; NaN where the denominator is missing or zero.

    For whole numbers, round-half-up of 1000·n/d to an integer is ⌊(2000·n + d) / 2d⌋, which
    integer arithmetic computes exactly (and equal to the Decimal result, tests check); other
    values go through Decimal one by one. Never float division then round(): that rounds
    half to even and 0.05 steps are not exact in binary.
    """
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    out = np.full(num.shape, np.nan)
    usable = ~np.isnan(num) & ~np.isnan(den) & (den > 0)
    whole = (
        usable
        & (num == np.floor(num))
        & (den == np.floor(den))
        & (num >= 0)
        & (num < _EXACT_LIMIT)
        & (den < _EXACT_LIMIT)
    )
    n = num[whole].astype(np.int64)
    d = den[whole].astype(np.int64)
    out[whole] = ((2000 * n + d) // (2 * d)) / 10.0
    for i in np.flatnonzero(usable & ~whole):
        out[i] = half_up_decimal(float(num[i]), float(den[i]))
    return out


def status_of(value: np.ndarray, target: np.ndarray) -> np.ndarray:
    no_value = np.isnan(value)
    no_target = np.isnan(target)
    with np.errstate(invalid="ignore"):
        met = value >= target
    return np.where(
        no_value, "no_data", np.where(no_target, "no_target", np.where(met, "met", "not_met"))
    )


def default_target(indicator: Indicator, period: Period, programme: Programme) -> float | None:
    if period.code == programme.period and indicator.target_programme is not None:
        return indicator.target_programme
    if period.kind == "year":
        return indicator.target_year
    return None


def no_quantities() -> pd.DataFrame:
    """Quantities of cells without any counted record: none (compute reads them as 0)."""
    return pd.DataFrame(index=pd.MultiIndex.from_tuples([], names=["org", "period"]), dtype=float)


def _floats(values: object) -> np.ndarray:
    return np.asarray(values, dtype=float)


def _by_org(orgs: pd.Index, values: Mapping[str, float]) -> np.ndarray:
    """Each org's value (NaN without one): looked up once per distinct org, then spread."""
    codes, uniques = pd.factorize(orgs)
    found = np.array([values.get(u, np.nan) for u in np.asarray(uniques, dtype=object)], float)
    return _floats(found[codes]) if len(uniques) else np.full(len(orgs), np.nan)


def _denominator(
    part: Part,
    orgs: pd.Index,
    periods: Sequence[Period],
    period_index: np.ndarray,
    quantities: pd.DataFrame,
    ctx: Context,
) -> np.ndarray:
    if part.kind == "communes":
        return _floats(np.nan_to_num(_by_org(orgs, ctx.tree.commune_counts())))
    if part.kind == "months":
        begun = np.array([float(len(p.months_begun(ctx.today))) for p in periods])
        return _floats(begun[period_index])
    if part.kind == "commune_months":
        months = np.array([float(count_months(*window(part, p, ctx.today))) for p in periods])
        communes = _floats(np.nan_to_num(_by_org(orgs, ctx.tree.commune_counts())))
        return _floats(communes * months[period_index])
    if part.kind == "establishments":
        counts = ctx.establishments.get(part.status or "active", {})
        return _floats(np.nan_to_num(_by_org(orgs, {k: float(v) for k, v in counts.items()})))
    if part.kind == "reference":
        assert part.key is not None
        out = np.full(len(orgs), np.nan)
        years = np.array([p.last_year for p in periods])[period_index]
        for year in np.unique(years):
            rows = years == year
            out[rows] = _by_org(orgs[rows], ctx.reference.table(part.key, int(year)))
        return out
    return _floats(quantities[part.id])


@dataclass
class Values:
    """Computed values as arrays: one row per indicator, one column per cell."""

    orgs: np.ndarray  # (cells,)
    periods: np.ndarray  # (cells,)
    indicators: list[str]
    numerator: np.ndarray  # (indicators, cells), NaN = null
    denominator: np.ndarray
    value: np.ndarray
    target: np.ndarray
    status: np.ndarray

    def __len__(self) -> int:
        return len(self.indicators) * len(self.orgs)

    def frame(self) -> pd.DataFrame:
        """Long format (COLUMNS), indicator by indicator."""
        k, n = len(self.indicators), len(self.orgs)
        if k == 0 or n == 0:
            return pd.DataFrame(columns=COLUMNS)
        return pd.DataFrame(
            {
                "indicator": np.repeat(np.array(self.indicators, dtype=object), n),
                "org_code": np.tile(self.orgs, k),
                "period": np.tile(self.periods, k),
                "numerator": self.numerator.ravel(),
                "denominator": self.denominator.ravel(),
                "value": self.value.ravel(),
                "target": self.target.ravel(),
                "status": self.status.ravel(),
            }
        )


def compute(
    programme: Programme,
    cells: Sequence[tuple[str, str]],
    quantities: pd.DataFrame,
    ctx: Context,
    indicators: Sequence[Indicator] | None = None,
) -> pd.DataFrame:
    """The values of `indicators` (default: all of the programme) for every (org, period) of
    `cells`, given the parts' quantities indexed by (org, period) — cells absent from
    `quantities` have none, so every quantity is 0. Columns: COLUMNS."""
    return compute_values(programme, cells, quantities, ctx, indicators).frame()


def compute_values(
    programme: Programme,
    cells: Sequence[tuple[str, str]],
    quantities: pd.DataFrame,
    ctx: Context,
    indicators: Sequence[Indicator] | None = None,
) -> Values:
    """`compute` as arrays (what the pipeline writes from)."""
    chosen = list(indicators if indicators is not None else programme.indicators)
    n, k = len(cells), len(chosen)
    empty = np.empty((k, n))
    if not cells or not chosen:
        nothing = np.array([], dtype=object)
        return Values(
            nothing,
            nothing,
            [i.id for i in chosen],
            empty,
            empty,
            empty,
            empty,
            np.empty((k, n), dtype=object),
        )
    index = pd.MultiIndex.from_tuples(list(cells), names=["org", "period"])
    part_ids = sorted({p.id for ind in chosen for p in ind.parts()})
    q = quantities.reindex(index=index, columns=part_ids).fillna(0.0)
    orgs = index.get_level_values("org")
    codes = index.get_level_values("period")
    period_codes, period_index = np.unique(codes.to_numpy(dtype=str), return_inverse=True)
    periods = [parse_period(str(c)) for c in period_codes]
    for part in {p.id: p for ind in chosen for p in ind.parts() if p.period}.values():
        # no such period (a multi-year period a year earlier): no quantity, not 0
        missing = np.array([shifted(p, part.period) is None for p in periods])[period_index]
        if missing.any():
            q.loc[missing, part.id] = np.nan
    targets = _targets_by_indicator(ctx.targets)
    keys = [(str(o), str(p)) for o, p in cells]
    # the quantities as one array: a column by position, not a pandas lookup per part
    table = q.to_numpy(dtype=float)
    column = {pid: i for i, pid in enumerate(q.columns)}
    nums, dens, values, tgts, stats = [], [], [], [], []
    for ind in chosen:
        num = np.zeros(n)
        for part in ind.numerator:
            num = num + table[:, column[part.id]]
        if ind.unit == "count":
            den = np.full(n, np.nan)
            value = num.copy()
        else:
            assert ind.denominator is not None
            den = _denominator(ind.denominator, orgs, periods, period_index, q, ctx)
            # change: 100 × (numerator − denominator) / denominator, rounded half away from
            # zero (Decimal's ROUND_HALF_UP, which percent() uses for a negative numerator)
            value = percent(num - den if ind.formula == "change" else num, den)
        defaults = np.array(
            [np.nan if (t := default_target(ind, p, programme)) is None else t for p in periods]
        )
        target = defaults[period_index]
        if ind.id in targets:
            found = targets[ind.id]
            imported = np.array([found.get(key, np.nan) for key in keys], dtype=float)
            target = np.where(np.isnan(imported), target, imported)
        nums.append(num)
        dens.append(den)
        values.append(value)
        tgts.append(target)
        stats.append(status_of(value, target))
    return Values(
        orgs=orgs.to_numpy(dtype=object),
        periods=codes.to_numpy(dtype=object),
        indicators=[i.id for i in chosen],
        numerator=np.vstack(nums),
        denominator=np.vstack(dens),
        value=np.vstack(values),
        target=np.vstack(tgts),
        status=np.vstack(stats).astype(object),
    )


def _targets_by_indicator(
    targets: Mapping[tuple[str, str, str], float],
) -> dict[str, dict[tuple[str, str], float]]:
    by_indicator: dict[str, dict[tuple[str, str], float]] = {}
    for (ind, org, period), value in targets.items():
        by_indicator.setdefault(ind, {})[(org, period)] = float(value)
    return by_indicator


def imported_targets(
    rows: Iterable[tuple[str, str, str, float]],
) -> dict[tuple[str, str, str], float]:
    return {(ind, org, period): float(t) for ind, org, period, t in rows}
