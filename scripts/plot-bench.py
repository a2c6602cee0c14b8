#!/usr/bin/env python3
"""Draw the benchmark charts of the documentation site.

    scripts/plot-bench.py                   # every benches/results/*.json
    scripts/plot-bench.py A.json B.json     # these files
    scripts/plot-bench.py --out DIR         # elsewhere than docs/assets/bench/

Reads what ``benches/run.py --json OUT.json`` writes (a header, the sizes,
and for each workload each implementation's runs and median) and draws one
PNG per JSON file, named after it (``idle.json`` -> ``idle.png``): one panel
per workload, a bar per implementation, the throughput in operations per
second (log scale, so rows that differ a thousandfold fit), gocurrent's bar
highlighted, and the spread of the runs as a whisker. The docs build embeds
the committed PNGs (docs/hooks/gocurrent_docs.py); run this script again
after committing new results. Needs matplotlib (docs/requirements.txt).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import LogLocator, NullFormatter

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benches" / "results"
OUT = ROOT / "docs" / "assets" / "bench"

OURS = "gocurrent"
OURS_COLOR = "#00897b"  # the site's teal
ANCHOR_COLOR = "#90a4ae"
COLUMNS = 3
# Titles by file name (benches/results/NAME.json); other files are titled by name.
TITLES = {
    "idle": "No added load (idle.json)",
    "hogs2": "Loaded: --hogs 2, two busy processes throughout, means (hogs2.json)",
}


def ops_per_second(cell: dict) -> tuple[float, float, float] | None:
    """(typical, slowest, fastest) operations per second of a cell, or None.
    Typical is what the run reports: the median, or the mean of a loaded
    (``--hogs``) run."""
    if cell.get("status") != "ok" or not cell.get("runs") or not cell.get("ops"):
        return None
    ops = cell["ops"]
    rates = [ops / t for t in cell["runs"] if t > 0]
    if not rates:
        return None
    return ops / cell.get("time", cell["median"]), min(rates), max(rates)


def format_rate(rate: float) -> str:
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if rate >= scale:
            return f"{rate / scale:.3g}{suffix}"
    return f"{rate:.3g}"


def plot(data: dict, title: str, out: Path) -> None:
    """One figure: a panel per workload, a horizontal bar per implementation."""
    results = data["results"]
    workloads = [w for w, cells in results.items() if any(map(ops_per_second, cells.values()))]
    if not workloads:
        raise ValueError("no successful measurement in the file")
    rows = math.ceil(len(workloads) / COLUMNS)
    fig, axes = plt.subplots(rows, COLUMNS, figsize=(15, 2.5 * rows + 1.6), squeeze=False)
    for ax, workload in zip(axes.flat, workloads, strict=False):
        cells = data["results"][workload]
        bars = [(impl, r) for impl, cell in cells.items() if (r := ops_per_second(cell))]
        bars.sort(key=lambda b: (b[0] != OURS, -b[1][0]))  # gocurrent on top
        names = [impl for impl, _ in bars][::-1]
        medians = [r[0] for _, r in bars][::-1]
        low = [r[0] - r[1] for _, r in bars][::-1]
        high = [r[2] - r[0] for _, r in bars][::-1]
        colors = [OURS_COLOR if n == OURS else ANCHOR_COLOR for n in names]
        ax.barh(names, medians, color=colors, xerr=[low, high], ecolor="#37474f", capsize=2)
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10))
        ax.xaxis.set_minor_formatter(NullFormatter())
        n = data.get("sizes", {}).get(workload)
        ax.set_title(f"{workload}" + (f"  (n={n:,})" if n else ""), fontsize=10, loc="left")
        ax.tick_params(labelsize=8)
        ax.grid(axis="x", which="major", alpha=0.3)
        fastest = [m + h for m, h in zip(medians, high, strict=True)]
        slowest = [m - lo for m, lo in zip(medians, low, strict=True)]
        ax.set_xlim(min(slowest) / 2, max(fastest) * 12)
        for y, (value, right) in enumerate(zip(medians, fastest, strict=True)):
            ax.text(right * 1.12, y, format_rate(value) + "/s", va="center", fontsize=7)
    for ax in list(axes.flat)[len(workloads) :]:
        ax.axis("off")
    header = "\n".join(textwrap.fill(line, 190) for line in data.get("header", []) if line.strip())
    fig.suptitle(f"{title}: operations per second (higher is better, log scale)", fontsize=13)
    fig.text(0.01, 0.005, header, fontsize=7, va="bottom", color="#455a64")
    bottom = (0.35 + 0.12 * (header.count("\n") + 1)) / fig.get_figheight()
    fig.tight_layout(rect=(0, bottom, 1, 0.97))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="benches/run.py --json files")
    parser.add_argument("--out", type=Path, default=OUT, help="directory of the PNGs")
    args = parser.parse_args(argv)
    files = args.files or sorted(RESULTS.glob("*.json"))
    if not files:
        print(f"no JSON files in {RESULTS}: run benches/run.py --json first", file=sys.stderr)
        return 1
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        out = args.out / f"{path.stem}.png"
        plot(data, TITLES.get(path.stem, path.stem), out)
        print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
