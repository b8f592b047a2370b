"""Programme files: the indicators of a programme as data (TOML), resolved.

A programme file (`programmes/pcmd_1629.toml` is the default, DESIGN §8) lists indicators, each
a numerator — one part or a list of parts that add up — an optional denominator, a unit and
default targets. The file's header comment documents the kinds of parts. A province plan is a
file that `extends` another programme: it takes its indicators, replaces default targets
(`[targets]`) and adds indicators of its own, limited to one org unit's subtree (`org`).

Files are read and checked in reader.py; here they are resolved against the programme they
extend. The engine (engine.py) and the cube (cube.py) only read the resolved `Programme`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, replace
from functools import cache
from importlib import resources

from pcmd.pipeline.indicators.model import Programme, ProgrammeError, ProgrammeFile
from pcmd.pipeline.indicators.reader import Reader, parse_programme_file

DEFAULT_PROGRAMME = "pcmd_1629"
SHIPPED_FILES = ("pcmd_1629.toml",)
EXAMPLE_PLAN = "example_province_plan.toml"
COUNTRY = "VN"


def _digest(programme: Programme) -> str:
    body = asdict(programme)
    body.pop("digest", None)
    body.pop("source", None)
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def resolve(parsed: ProgrammeFile, known: Mapping[str, Programme]) -> Programme:
    """The programme a file defines, with the one it extends (from `known`) folded in."""
    reader = Reader(parsed.source)
    indicators = list(parsed.indicators)
    period, org = parsed.period, parsed.org
    if parsed.extends:
        base = known.get(parsed.extends)
        if base is None:
            raise reader.fail(
                "programme.extends",
                f"không có chương trình {parsed.extends!r}; có: {', '.join(sorted(known))}",
                f"no programme {parsed.extends!r}; known: {', '.join(sorted(known))}",
            )
        base_ids = {i.id for i in base.indicators}
        for ind_id in parsed.targets:
            if ind_id not in base_ids:
                raise reader.fail(
                    f"targets.{ind_id}",
                    f"chương trình {base.id} không có chỉ tiêu {ind_id}",
                    f"programme {base.id} has no indicator {ind_id}",
                )
        for i, ind in enumerate(parsed.indicators):
            if ind.id in base_ids:
                raise reader.fail(
                    f"indicators[{i}].id",
                    f"{ind.id} đã có trong {base.id}; đổi chỉ tiêu tại [targets]",
                    f"{ind.id} is already in {base.id}; change its targets under [targets]",
                )
        period = period or base.period
        inherited = []
        for ind in base.indicators:
            if ind.id in parsed.targets:
                year, prog = parsed.targets[ind.id]
                ind = replace(ind, target_year=year, target_programme=prog)
            elif period != base.period:
                # The base's `programme` targets were set for its own period (KT1: 100 over
                # 2021-2025); a plan over another period keeps only the annual ones.
                ind = replace(ind, target_programme=None)
            inherited.append(ind)
        indicators = inherited + indicators
        org = org or base.org
    assert period is not None  # parse_programme_file requires it without extends
    programme = Programme(
        id=parsed.id,
        name=parsed.name,
        period=period,
        org=org or COUNTRY,
        indicators=tuple(indicators),
        source=parsed.source,
        extends=parsed.extends,
    )
    return replace(programme, digest=_digest(programme))


def load_programme(text: str, source: str, known: Mapping[str, Programme]) -> Programme:
    return resolve(parse_programme_file(text, source), known)


def shipped_text(filename: str) -> str:
    return (resources.files("pcmd.pipeline.indicators") / "programmes" / filename).read_text(
        encoding="utf-8"
    )


@cache
def default_programme() -> Programme:
    """Programme 1629 as shipped (DESIGN §8)."""
    name = SHIPPED_FILES[0]
    return load_programme(shipped_text(name), f"programmes/{name}", {})


def resolve_all(files: Iterable[tuple[str, str]]) -> dict[str, Programme]:
    """The shipped programme plus added files (source, text), each resolved after the one it
    extends; a file whose base is missing or that repeats an id is an error."""
    known: dict[str, Programme] = {DEFAULT_PROGRAMME: default_programme()}
    pending = [parse_programme_file(text, source) for source, text in files]
    for parsed in pending:
        if parsed.id in known or sum(p.id == parsed.id for p in pending) > 1:
            raise ProgrammeError(
                parsed.source,
                "programme.id",
                f"mã chương trình {parsed.id} đã có",
                f"programme id {parsed.id} is already taken",
            )
    while pending:
        ready = [p for p in pending if not p.extends or p.extends in known]
        if not ready:
            first = pending[0]
            raise ProgrammeError(
                first.source,
                "programme.extends",
                f"không có chương trình {first.extends!r}",
                f"no programme {first.extends!r} to extend",
            )
        for parsed in ready:
            known[parsed.id] = resolve(parsed, known)
            pending.remove(parsed)
    return known
