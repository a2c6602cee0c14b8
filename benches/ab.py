"""Compare builds of gocurrent on one workload, their runs interleaved.

Usage::

    python benches/ab.py pingpong_threads --rounds 25 \\
        new=.venv/bin/python old=/tmp/oldvenv/bin/python [--n 100000]

Each label names an interpreter with a build of gocurrent installed. Every
round runs ``benches/workloads.py WORKLOAD gocurrent N`` once per build, in
a fresh process and in a random order, so that the machine's slow spells
(on a shared virtual machine they last seconds) fall on every build alike;
then it prints the quartiles and the mean of each build's times. This is
how a change to a fast path is judged against the build before it
(benches/PROFILES.md): a thread ping-pong's runs are bimodal, and two
medians of 5 taken minutes apart can differ by more than the change.
Wrap it in ``benches/hogs.py 2`` to compare builds on a loaded machine.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_once(python: str, workload: str, n: int) -> float:
    """Seconds of one run of `workload` under `python`, in a fresh process."""
    out = subprocess.run(
        [python, str(HERE / "workloads.py"), workload, "gocurrent", str(n)],
        capture_output=True,
        text=True,
        check=True,
        cwd=HERE.parent,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    if result["status"] != "ok":
        raise SystemExit(f"{python}: {result}")
    return float(result["elapsed"])


def summary(times: list[float]) -> str:
    """Quartiles, extremes and mean of `times`, in seconds."""
    t = sorted(times)
    q = len(t) // 4
    return (
        f"min {t[0]:.3f}  q1 {t[q]:.3f}  median {statistics.median(t):.3f}  "
        f"q3 {t[-q - 1]:.3f}  max {t[-1]:.3f}  mean {statistics.mean(t):.3f}"
    )


def main(argv: list[str]) -> int:
    """Run the comparison; 0 on success."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workload")
    ap.add_argument("builds", nargs="+", metavar="LABEL=PYTHON")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--n", type=int, default=None, help="size (default: the harness's)")
    ap.add_argument("--json", metavar="OUT.json", help="write every time")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(HERE))
    from workloads import WORKLOADS

    if args.workload not in WORKLOADS:
        ap.error(f"unknown workload {args.workload!r}; one of {', '.join(WORKLOADS)}")
    n = args.n or WORKLOADS[args.workload].n
    builds: dict[str, str] = {}
    for spec in args.builds:
        label, sep, python = spec.partition("=")
        if not sep or not label or not python:
            ap.error(f"{spec!r} is not LABEL=PYTHON")
        builds[label] = python
    times: dict[str, list[float]] = {label: [] for label in builds}
    for _ in range(args.rounds):
        order = list(builds)
        random.shuffle(order)
        for label in order:
            times[label].append(run_once(builds[label], args.workload, n))
    width = max(map(len, builds))
    print(f"{args.workload}, n={n:,}, {args.rounds} interleaved rounds, seconds per run:")
    for label, t in times.items():
        print(f"  {label:<{width}}  {summary(t)}")
    if args.json:
        Path(args.json).write_text(json.dumps({"n": n, "times": times}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
