"""What a rule knows besides one submission's data: the org-unit eras, the establishment
register, the form's binds and the commune's history (`RuleContext`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as _field
from typing import Any


@dataclass(frozen=True)
class OrgEra:
    """One era of an org unit code (org_units row): valid_from inclusive, valid_to exclusive."""

    code: str
    level: str
    parent: str | None
    valid_from: dt.date
    valid_to: dt.date | None
    latitude: float | None = None
    longitude: float | None = None

    def in_force_on(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)


@dataclass(frozen=True)
class RegisterEntry:
    status: str  # active | closed
    commune: str


@dataclass(frozen=True)
class Lookups:
    """Reference lookups loaded once per validation run and shared by every record."""

    org_units: Mapping[str, Sequence[OrgEra]]  # code → its eras
    establishments: Mapping[str, RegisterEntry]
    # The earliest day the commune list speaks for: before it, "did not exist yet" is unknowable.
    coverage_start: dt.date | None = None
    # Cases (pcmd_case, not deleted or rejected) by entity id → their received date.
    cases: Mapping[str, dt.date] = _field(default_factory=dict)

    @classmethod
    def build(cls, eras: Iterable[OrgEra], establishments: Mapping[str, RegisterEntry]) -> Lookups:
        by_code: dict[str, list[OrgEra]] = {}
        for era in eras:
            by_code.setdefault(era.code, []).append(era)
        starts = [e.valid_from for es in by_code.values() for e in es if e.level == "commune"]
        return cls(by_code, establishments, min(starts) if starts else None)


@dataclass(frozen=True)
class RuleContext:
    """What the rules know besides the data of one submission."""

    form_id: str
    lookups: Lookups
    # The latest possible activity date: today, or the day the version arrived if earlier.
    today: dt.date
    # The form version's binds: path → {"type", "control", "choices", …} (FormVersion.fields).
    fields: Mapping[str, Mapping[str, Any]] = _field(default_factory=dict)
    # Sizes (contract.SIZE) of the commune's earlier counted records of the same form, oldest first.
    history: Sequence[float] = ()
    # instanceID of an earlier submission of the same activity from another device, if any.
    duplicate_of: str | None = None
