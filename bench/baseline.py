"""Benchmarks side by side: a baseline commit's checkout (a git worktree under /tmp, made once),
the environment that makes `python -m pcmd` run a given checkout, and the ratio line printed.

    --baseline 828ff81     run the benchmark on that commit and on this checkout, alternating
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
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


def run_pcmd(env: dict[str, str], *args: str, tree: Path | None = None) -> str:
    """`python -m pcmd ARGS` with `env` added to this environment (and `tree`'s pcmd when
    given); its output, or the benchmark ends with what it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "pcmd", *args],
        env={**os.environ, **(env_for(tree) if tree else {}), **env},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"pcmd {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def load() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


def ratio(label: str, base: float, new: float, *, higher_is_better: bool = True) -> str:
    """'label: base → new (×r)', r > 1 meaning the working tree is better."""
    r = (new / base if higher_is_better else base / new) if base and new else float("nan")
    return f"{label}: baseline {base:,.3g} → working tree {new:,.3g} (×{r:.2f} better)"


def side_by_side(
    script: str, figures: list[tuple[str, str, bool]], *, own_script: bool = True
) -> bool:
    """With `--baseline COMMIT [--rounds R]` among the arguments: run bench/<script> of that
    commit's checkout and of this one (each importing its own pcmd), alternating R times, with
    the other arguments; print their output, then for each figure — (label, a regular
    expression whose group is the number, whether higher is better) — the medians and their
    ratio. Returns False, doing nothing, when no baseline was asked for. `own_script=False`:
    this checkout's script runs for both (a benchmark newer than the baseline), importing and
    serving each checkout's pcmd."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--baseline")
    parser.add_argument("--rounds", type=int, default=1)
    asked, rest = parser.parse_known_args()
    if not asked.baseline:
        return False
    print(f"side by side: bench/{script} {' '.join(rest)}; {load()}", flush=True)
    found: dict[str, list[list[float]]] = {}
    for _round in range(asked.rounds):
        for label, tree in trees(asked.baseline):
            print(f"--- {label} ({tree}); {load()}", flush=True)
            done = subprocess.run(
                [sys.executable, str((tree if own_script else ROOT) / "bench" / script), *rest],
                env={**os.environ, **env_for(tree)},
                stdout=subprocess.PIPE,
                text=True,
                check=False,
            )
            print(done.stdout, end="", flush=True)
            if done.returncode:
                raise SystemExit(f"{label}: bench/{script} failed ({done.returncode})")
            values = []  # a figure printed several times (three recomputes): their median
            for _name, pattern, _better in figures:
                hits = re.findall(pattern, done.stdout, re.MULTILINE)
                numbers = [float(h.replace(",", "")) for h in hits]
                values.append(statistics.median(numbers) if numbers else float("nan"))
            found.setdefault(label, []).append(values)
    base, new = (found[label] for label, _tree in trees(asked.baseline))
    print(f"ratios (medians of {asked.rounds} run(s) each; {load()}):")
    for i, (name, _pattern, better) in enumerate(figures):
        b = statistics.median(run[i] for run in base)
        w = statistics.median(run[i] for run in new)
        print("  " + ratio(name, b, w, higher_is_better=better))
    return True
