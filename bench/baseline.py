"""Benchmarks side by side: a baseline commit's checkout (a git worktree under /tmp, made once),
the environment that makes `python -m pcmd` run a given checkout, and the ratio line printed.

    --baseline 828ff81     run the benchmark on that commit and on this checkout, alternating
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def checkout(commit: str) -> Path:
    """The baseline's source tree: `git worktree add --detach` once, reused by later runs."""
    sha = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", f"{commit}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    path = Path("/tmp") / f"pcmd-baseline-{sha[:12]}"
    if not (path / "src" / "pcmd").is_dir():
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), sha],
            check=True,
            capture_output=True,
        )
    return path


def env_for(tree: Path) -> dict[str, str]:
    """Environment for a subprocess that must import pcmd (and tests/) from `tree`."""
    return {"PYTHONPATH": os.pathsep.join((str(tree / "src"), str(tree)))}


def trees(baseline: str | None) -> list[tuple[str, Path]]:
    """(label, checkout) pairs to measure: the baseline first when one is given."""
    here = [("working tree", ROOT)]
    return [(f"baseline {baseline}", checkout(baseline)), *here] if baseline else here


def load() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


def ratio(label: str, base: float, new: float, *, higher_is_better: bool = True) -> str:
    """'label: base → new (×r)', r > 1 meaning the working tree is better."""
    r = (new / base if higher_is_better else base / new) if base and new else float("nan")
    return f"{label}: baseline {base:,.3g} → working tree {new:,.3g} (×{r:.2f} better)"
