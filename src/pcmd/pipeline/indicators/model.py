"""The programme model: what a resolved programme file says — indicators made of parts, the
additive measures the cube keeps — and the error a programme file raises.

The kinds of parts are documented in the header comment of `programmes/pcmd_1629.toml`; the
reader (reader.py) builds these objects from a file and checks them, once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Literal

from pcmd.errors import PipelineError

Unit = Literal["percent", "count"]
Kind = Literal[
    "records",
    "sum",
    "communes_with",
    "months_with",
    "distinct",
    "reference",
    "communes",
    "months",
    "establishments",
    "deadline",
    "commune_months",
]
NUMERATOR_KINDS: frozenset[str] = frozenset(
    {"records", "sum", "communes_with", "months_with", "distinct", "deadline"}
)
DENOMINATOR_ONLY: frozenset[str] = frozenset(
    {"reference", "communes", "months", "establishments", "commune_months"}
)
# A part may be read for another period than the one computed (`period`): the same period one
# year earlier (none for a multi-year period), or the calendar year of the period's end.
PERIOD_SHIFTS = ("year_before", "last_year")
# `deadline` parts count records judged on the period's reference day (deadline.py).
DEADLINE_COUNTS = ("due", "in_time", "overdue")
Formula = Literal["ratio", "change"]


class ProgrammeError(PipelineError):
    """A programme file that cannot be used; the message names the file and the key."""

    def __init__(self, source: str, where: str, vi: str, en: str) -> None:
        place = f"{source}: {where}: " if where else f"{source}: "
        super().__init__(f"Tệp chương trình {place}{vi} (programme file {place}{en})")
        self.source = source
        self.where = where


@dataclass(frozen=True)
class Condition:
    """`where` on one field: its value is one of `values` (select_multiple: has one of them)."""

    field: str
    values: tuple[str, ...]
    multiple: bool = False


@dataclass(frozen=True)
class Measure:
    """A quantity that adds up over communes and months: the counted records of a form that
    match `where`, or the sum of one of their fields. The cube keeps one column per measure."""

    form: str
    field: str | None  # None: count the records
    where: tuple[Condition, ...] = ()

    @property
    def key(self) -> str:
        what = f"sum({self.field})" if self.field else "records"
        cond = ";".join(f"{c.field}={','.join(c.values)}" for c in self.where)
        return f"{self.form}:{what}:{cond}"


@dataclass(frozen=True)
class Part:
    """One part of a numerator or the denominator (see the kinds in pcmd_1629.toml)."""

    kind: Kind
    forms: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    field: str | None = None
    where: tuple[Condition, ...] = ()
    key: str | None = None
    status: str | None = None  # establishments: register status; distinct: "active" filter
    period: str | None = None  # PERIOD_SHIFTS: read for that period instead
    months: str | None = None  # "ended": only months whose last day is before today
    since: int | None = None  # with months: only months from this one (YYYYMM) on
    count: str | None = None  # deadline: DEADLINE_COUNTS

    @property
    def by_day(self) -> bool:
        """Counted from the fact rows on the day, not from the cube: the quantity changes
        with today's date (deadline.py)."""
        return self.kind == "deadline" or (self.months is not None and self.kind == "records")

    def measures(self) -> tuple[Measure, ...]:
        """The additive measures this part reads (none for distinct and denominator-only)."""
        if self.by_day:
            return ()
        if self.kind in ("records", "communes_with", "months_with"):
            return tuple(Measure(f, None, self.where) for f in self.forms)
        if self.kind == "sum":
            return tuple(Measure(self.forms[0], f, self.where) for f in self.fields)
        return ()

    @property
    def id(self) -> str:
        """A stable name for the quantity this part computes (shared by equal parts)."""
        return _part_id(self)


@lru_cache(maxsize=4096)
def _part_id(part: Part) -> str:
    body = json.dumps(asdict(part), sort_keys=True, ensure_ascii=False)
    return f"{part.kind}:{hashlib.sha256(body.encode()).hexdigest()[:16]}"


@dataclass(frozen=True)
class Indicator:
    id: str
    name: str
    unit: Unit
    numerator: tuple[Part, ...]
    denominator: Part | None = None
    target_year: float | None = None
    target_programme: float | None = None
    # ratio: 100 × numerator / denominator; change: 100 × (numerator − denominator) / denominator
    formula: Formula = "ratio"

    def parts(self) -> tuple[Part, ...]:
        return self.numerator + ((self.denominator,) if self.denominator else ())


@dataclass(frozen=True)
class Programme:
    id: str
    name: str
    period: str  # the programme period (YYYY-YYYY or YYYY): default targets `programme` apply
    org: str  # the root of the org units the programme is computed for
    indicators: tuple[Indicator, ...]
    source: str = ""
    extends: str | None = None
    digest: str = field(default="", compare=False)

    def indicator(self, indicator_id: str) -> Indicator:
        for ind in self.indicators:
            if ind.id == indicator_id:
                return ind
        raise PipelineError(
            f"Chương trình {self.id} không có chỉ tiêu {indicator_id!r} (programme {self.id} "
            f"has no indicator {indicator_id!r}); it has: "
            f"{', '.join(i.id for i in self.indicators)}."
        )

    def measures(self) -> list[Measure]:
        seen: dict[str, Measure] = {}
        for ind in self.indicators:
            for part in ind.parts():
                for m in part.measures():
                    seen.setdefault(m.key, m)
        return list(seen.values())


@dataclass(frozen=True)
class ProgrammeFile:
    """A parsed file before `extends` is resolved."""

    id: str
    name: str
    period: str | None
    org: str | None
    extends: str | None
    indicators: tuple[Indicator, ...]
    targets: dict[str, tuple[float | None, float | None]]  # overrides: id → (year, programme)
    source: str
