"""Where a reduction of the cube looks: the level it groups by, the programme's root, and the
org units it needs, as filters on the cube and on the fact tables."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, literal

from pcmd.db.chunks import chunks
from pcmd.db.one_of import one_of
from pcmd.pipeline.indicators.cube import CUBE, ORG_CHUNK

Level = str  # country | province | commune
LEVELS = ("commune", "province", "country")


class Scope:
    """Where a reduction looks: the level it groups by, the programme's root, and optionally
    the org units of that level it needs (communes only: provinces are few enough to read all
    and drop the others)."""

    def __init__(
        self,
        level: Level,
        root: str,
        root_level: Level,
        orgs: Sequence[str] | None = None,
    ) -> None:
        self.level = level
        self.root = root
        self.root_level = root_level
        self.orgs = orgs

    def group(self, table: Any) -> ColumnElement[Any]:
        """The unit a fact row belongs to at this level."""
        if self.level == "commune":
            return table.c.commune_code  # type: ignore[no-any-return]
        if self.level == "province":
            return table.c.province_code  # type: ignore[no-any-return]
        return literal(self.root)

    def fact_filters(
        self, table: Any, orgs: Sequence[str] | None, dialect: str = ""
    ) -> list[ColumnElement[bool]]:
        """The scope's rows of a fact table (the orgs as one parameter when the dialect is
        named: db/one_of.py)."""
        out: list[ColumnElement[bool]] = []
        if self.root_level == "province":
            out.append(table.c.province_code == self.root)
        elif self.root_level == "commune":
            out.append(table.c.commune_code == self.root)
        if orgs is not None and self.level == "commune":
            out.append(one_of(dialect, table.c.commune_code, orgs))
        return out

    def cube_filters(self, orgs: Sequence[str] | None) -> list[ColumnElement[bool]]:
        """The unit's own rows in the cube."""
        out: list[ColumnElement[bool]] = [CUBE.c.level == self.level]
        if self.level == "province" and self.root_level == "province":
            out.append(CUBE.c.org_code == self.root)
        elif self.level == "commune" and self.root_level != "country":
            out.append(CUBE.c.province_code == self.root)
        if orgs is not None and self.level == "commune":
            out.append(CUBE.c.org_code.in_(orgs))
        return out

    def org_batches(self) -> Iterator[Sequence[str] | None]:
        if self.orgs is None or self.level != "commune":
            yield None
            return
        yield from chunks(list(self.orgs), ORG_CHUNK)
