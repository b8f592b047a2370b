"""The org units in force as a tree (country → province → commune), for roll-ups and scopes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from pcmd.db.tables import ORG


@dataclass
class OrgTree:
    """The org units in force: country → province → commune."""

    root: str
    level: dict[str, str]
    parent: dict[str, str | None]
    children: dict[str, list[str]] = field(default_factory=dict)
    _commune_counts: dict[str, int] | None = field(default=None, repr=False)
    _bottom_up: list[str] | None = field(default=None, repr=False)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, str | None]]) -> OrgTree:
        """From (code, level, parent) of the units in force."""
        level: dict[str, str] = {}
        parent: dict[str, str | None] = {}
        for code, lvl, par in rows:
            level[code] = lvl
            parent[code] = par
        roots = [c for c, lvl in level.items() if lvl == "country"]
        tree = cls(root=roots[0] if roots else "VN", level=level, parent=parent)
        if not roots:
            tree.level["VN"] = "country"
            tree.parent["VN"] = None
        for code, par in parent.items():
            if par is not None:
                tree.children.setdefault(par, []).append(code)
        for kids in tree.children.values():
            kids.sort()
        return tree

    def under(self, code: str, level: str) -> list[str]:
        """The units of `level` in the subtree of `code` (itself if it is of that level)."""
        if self.level.get(code) == level:
            return [code]
        out: list[str] = []
        stack = [code]
        while stack:
            for child in self.children.get(stack.pop(), []):
                if self.level.get(child) == level:
                    out.append(child)
                else:
                    stack.append(child)
        return sorted(out)

    def bottom_up(self) -> list[str]:
        """Every unit, children before their parents (computed once)."""
        if self._bottom_up is None:
            order: list[str] = []
            stack: list[tuple[str, bool]] = [(self.root, False)]
            while stack:
                code, expanded = stack.pop()
                if expanded:
                    order.append(code)
                    continue
                stack.append((code, True))
                stack.extend((child, False) for child in self.children.get(code, []))
            self._bottom_up = order
        return self._bottom_up

    def ancestors(self, code: str) -> list[str]:
        out = []
        cur = self.parent.get(code)
        while cur is not None:
            out.append(cur)
            cur = self.parent.get(cur)
        return out

    def commune_counts(self) -> dict[str, int]:
        """Communes in each unit's subtree (1 for a commune), computed once."""
        if self._commune_counts is None:
            counts: dict[str, int] = {}
            for code, lvl in self.level.items():
                if lvl == "commune":
                    counts[code] = 1
                    for anc in self.ancestors(code):
                        counts[anc] = counts.get(anc, 0) + 1
            self._commune_counts = counts
        return self._commune_counts


def load_tree(conn: Connection) -> OrgTree:
    """The org units in force, as a tree."""
    rows = conn.execute(
        select(ORG.c.code, ORG.c.level, ORG.c.parent_code).where(ORG.c.valid_to.is_(None))
    )
    return OrgTree.from_rows((r.code, r.level, r.parent_code) for r in rows)
