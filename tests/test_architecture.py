"""The rules of the house, checked on the code itself (docs/architecture.md explains them).

Data flows one way: a package imports only from packages further down the flow, never back up.
Modules stay small, and there is one table catalogue and one engine factory.
"""

from __future__ import annotations

import ast
import statistics
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "pcmd"

# What each top-level part of pcmd may import besides itself (settings and errors: everyone).
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "settings": set(),
    "db": set(),
    "forms": {"db"},
    "ingest": {"forms", "db"},
    "masterdata": {"forms", "db"},
    "pipeline": {"masterdata", "forms", "db"},
    "reports": {"pipeline", "masterdata", "forms", "db"},
    "sync": {"ingest", "forms", "db"},
    "jobs": {"sync", "pipeline", "ingest", "masterdata", "forms", "db"},
    "server": {"jobs", "sync", "ingest", "pipeline", "masterdata", "reports", "forms", "db"},
    "cli": {"server", "jobs", "sync", "ingest", "pipeline", "masterdata", "reports", "forms", "db"},
    "__init__": set(),
    "__main__": {"cli"},
}
# The pipeline's parts that reports may read: stored values and programme definitions.
REPORTS_MAY_READ = ("pcmd.pipeline.indicators.", "pcmd.pipeline.programmes")
MAX_LINES = 500
MAX_MEDIAN = 150


def modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "migrations" not in p.parts)


def dotted(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every pcmd module this file imports, at the top or inside a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = dotted(path) if path.name == "__init__.py" else dotted(path).rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.update(f"{name}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {name for name in found if name == "pcmd" or name.startswith("pcmd.")}


def part(module: str) -> str:
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "__init__"


def lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_imports__follow_the_flow() -> None:
    against: list[str] = []
    for path in modules():
        here = part(dotted(path))
        if path.name == "__main__.py":
            here = "__main__"
        for target in imports(path):
            there = part(target)
            # The package itself (for __version__), settings and errors are everyone's.
            if there in (here, "settings", "errors") or target in ("pcmd", "pcmd.__version__"):
                continue
            if there not in ALLOWED.get(here, set()):
                against.append(f"{dotted(path)} imports {target}")
            elif (
                here == "reports"
                and there == "pipeline"
                and not target.startswith(REPORTS_MAY_READ)
            ):
                against.append(f"{dotted(path)} imports {target} (reports only read)")
    assert against == []


def test_imports__part_names_known() -> None:
    """A new top-level package must be placed in the flow above before it can be used."""
    tops = {part(dotted(p)) for p in modules() if p.parent != SRC} | {
        p.stem for p in modules() if p.parent == SRC
    }
    assert tops <= set(ALLOWED)


def test_modules__small() -> None:
    sizes = {dotted(p): lines(p) for p in modules()}
    assert {m: n for m, n in sizes.items() if n > MAX_LINES} == {}
    # Empty package markers would flatter the median: count modules with code only.
    assert statistics.median(n for n in sizes.values() if n > 3) <= MAX_MEDIAN


def test_catalogue__tables_named_once() -> None:
    """Tables are looked up by name only in db/tables.py; engines are made only in db/engine.py."""
    lookups = [
        dotted(p)
        for p in modules()
        if "metadata.tables[" in p.read_text(encoding="utf-8") and p.name != "tables.py"
    ]
    engines = [
        dotted(p)
        for p in modules()
        if "create_engine(" in p.read_text(encoding="utf-8") and p.name != "engine.py"
    ]
    assert (lookups, engines) == ([], [])


def test_no_utils_modules() -> None:
    grab_bags = {"utils", "util", "helpers", "common", "misc"}
    assert [dotted(p) for p in modules() if p.stem in grab_bags] == []
