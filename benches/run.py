"""Run the gocurrent benchmarks and print a markdown table.

Usage::

    python benches/run.py [--quick] [--only WORKLOAD,...] [--impl NAME,...]
                          [--runs N] [--hogs N] [--baseline PYTHON]
                          [--markdown OUT.md] [--json OUT.json]
                          [--timeout SECONDS]

Every measurement runs in a fresh process (``benches/workloads.py WORKLOAD
IMPL N``); a cell is the median of ``--runs`` such runs (3 by default).
``--hogs N`` keeps N busy-looping processes running through the whole
measurement (a loaded machine); a cell is then the mean of at least 5 runs,
what a user pays on average, since loaded times are bimodal and a median
hides the slow mode. ``--baseline PYTHON`` adds a column "base": gocurrent
as installed for another interpreter (an older build in another virtualenv),
measured in the same run.
Runs are interleaved across implementations (run 1 of each, then run 2 of
each, ...) so slow drift of the machine does not favour one column.
An implementation that cannot be imported shows "n/a"; one that does not
apply to a workload shows "—".  See benches/README.md for the columns.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

from workloads import ANCHORS, IMPLS, REGISTRY, WORKLOADS  # benches/ is sys.path[0]

HERE = Path(__file__).resolve().parent

#: Distribution names whose versions go into the header.
PACKAGES = ("gocurrent", "janus", "culsans", "aiologic", "trio", "pygolang")

#: The column of ``--baseline``: gocurrent under another interpreter.
BASE = "base"

#: The fewest runs a cell takes with ``--hogs`` (its mean is reported).
HOG_RUNS = 5

#: Cells whose runs disagree by more than this are listed under the table.
NOISY_SPREAD = 0.30


# ---------------------------------------------------------------- formatting


def _scaled(value: float, units: tuple[tuple[float, str], ...]) -> str:
    """Format ``value`` with three significant digits in the first unit it fits."""
    scale, suffix = next((u for u in units if abs(value) >= u[0]), units[-1])
    v = value / scale
    digits = 0 if v >= 100 else 1 if v >= 10 else 2
    return f"{v:.{digits}f}{suffix}"


def format_rate(ops_per_s: float) -> str:
    """Operations per second, e.g. ``1.23 M/s``."""
    return _scaled(ops_per_s, ((1e9, " G/s"), (1e6, " M/s"), (1e3, " k/s"), (1, " /s")))


def format_time(seconds: float) -> str:
    """Time per operation, e.g. ``0.81 µs`` -> ``812 ns``."""
    return _scaled(seconds, ((1, " s"), (1e-3, " ms"), (1e-6, " µs"), (1e-9, " ns")))


def format_cell(cell: dict | None) -> str:
    """The table text for one (workload, implementation) result."""
    if cell is None:
        return "—"
    if cell["status"] != "ok":
        return {"unavailable": "n/a", "timeout": "timeout"}.get(cell["status"], "error")
    per_op = cell["time"] / cell["ops"]
    return f"{format_rate(1 / per_op)} · {format_time(per_op)}"


# ---------------------------------------------------------------- machine


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or platform as a fallback)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line(runs: int, quick: bool, hogs: int = 0) -> str:
    """One line describing the machine, the interpreter and the date."""
    cores = os.cpu_count()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = cores
    core_text = f"{cores} cores" if usable == cores else f"{cores} cores ({usable} usable)"
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    python = (
        f"{platform.python_implementation()} {platform.python_version()}"
        f" ({'GIL' if gil else 'free-threaded'})"
    )
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    mode = "quick sizes" if quick else "full sizes"
    stat = f"mean of {runs} runs" if hogs else f"median of {runs} runs"
    load = f" · LOADED: {hogs} busy-looping processes ran throughout" if hogs else " · idle"
    return (
        f"Machine: {cpu_model()} · {core_text} · {python} · "
        f"{platform.system()} {platform.release()} · {now} · "
        f"{stat}, each in a fresh process · {mode}{load}"
    )


def versions_line() -> str:
    """Installed versions of the benchmarked packages."""
    parts = []
    for name in PACKAGES:
        try:
            parts.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{name} not installed")
    return "Versions: " + " · ".join(parts)


def load_average() -> float | None:
    """The 1-minute load average, or None where the OS has none."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def load_line(before: float | None, after: float | None, hogs: int = 0) -> str:
    """Say how busy the machine was: other work on it makes times noisy."""
    if before is None or after is None:
        return "Load average: unknown"
    cores = os.cpu_count() or 1
    text = (
        f"Load average (1 min): {before:.2f} before, {after:.2f} after"
        " (after includes the benchmark itself)"
    )
    if before > 0.5 * cores and not hogs:
        text += " · WARNING: the machine was busy before the run; times are noisy"
    return text


# ---------------------------------------------------------------- running


# ---------------------------------------------------------------- hogs

#: A busy loop that never yields: what "every core is taken" means. It
#: ends by itself once its parent is gone (killed before it could clean up).
HOG_CODE = """\
import os
parent = os.getppid()
while os.getppid() == parent:
    for _ in range(1_000_000):
        pass
"""


class Hogs:
    """``n`` busy-looping processes, started on entry and killed on exit."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> Hogs:
        for _ in range(self.n):
            self.procs.append(subprocess.Popen([sys.executable, "-c", HOG_CODE]))
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            proc.kill()
        for proc in self.procs:
            proc.wait()
        alive = [p.pid for p in self.procs if p.poll() is None]
        if alive:  # never leave a busy loop behind
            raise RuntimeError(f"hog processes still alive: {alive}")


def run_child(workload: str, impl: str, n: int, timeout: float, python: str | None = None) -> dict:
    """Run one measurement in a fresh interpreter and return its JSON result."""
    cmd = [python or sys.executable, str(HERE / "workloads.py"), workload, impl, str(n)]
    try:
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "reason": f"killed after {timeout:g} s"}
    lines = proc.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        return {"status": "error", "reason": tail}
    if result["status"] == "error" and proc.stderr:
        result["stderr"] = proc.stderr[-2000:]
    return result


def measure(
    workload: str,
    impls: list[str],
    n: int,
    runs: int,
    timeout: float,
    *,
    mean: bool = False,
    baseline: str | None = None,
) -> dict[str, dict]:
    """Measure ``impls`` on one workload; interleave the runs; take medians
    (or means, with ``mean``). The column ``base`` runs gocurrent under the
    ``baseline`` interpreter."""
    results: dict[str, dict] = {impl: {"runs": []} for impl in impls}
    for run in range(1, runs + 1):
        for impl in impls:
            cell = results[impl]
            if cell.get("status") in ("unavailable", "error", "timeout"):
                continue
            if impl == BASE:
                res = run_child(workload, "gocurrent", n, timeout, baseline)
            else:
                res = run_child(workload, impl, n, timeout)
            if res["status"] != "ok":
                cell.update(status=res["status"], reason=res.get("reason", ""))
                if "stderr" in res:
                    cell["stderr"] = res["stderr"]
                print(f"  {workload:<27} {impl:<10} {res['status']}", file=sys.stderr)
                continue
            cell["runs"].append(res["elapsed"])
            cell["ops"] = res["ops"]
            per_op = format_time(res["elapsed"] / res["ops"])
            print(
                f"  {workload:<27} {impl:<10} run {run}/{runs}: "
                f"{res['elapsed']:8.3f} s  ({per_op}/op)",
                file=sys.stderr,
                flush=True,
            )
    for cell in results.values():
        if "status" not in cell:
            cell["status"] = "ok"
            cell["median"] = statistics.median(cell["runs"])
            cell["mean"] = statistics.fmean(cell["runs"])
            cell["time"] = cell["mean"] if mean else cell["median"]
    return results


def ratio_cell(cells: dict[str, dict], ours_name: str = "gocurrent") -> str:
    """gocurrent's speed relative to the fastest anchor (anchor time / ours)."""
    anchors = [
        (cell["time"] / cell["ops"], impl)
        for impl, cell in cells.items()
        if impl in ANCHORS and cell["status"] == "ok"
    ]
    ours = cells.get(ours_name)
    if ours is None or not anchors:
        return "—"
    if ours["status"] != "ok":
        return format_cell(ours)
    best_time, best_impl = min(anchors)
    return f"{best_time / (ours['time'] / ours['ops']):.2f}x vs {best_impl}"


# ---------------------------------------------------------------- report


def render(
    table: dict[str, dict[str, dict]],
    sizes: dict[str, int],
    impls: list[str],
    header: list[str],
) -> str:
    """The markdown report: header lines, the table, then failure notes."""
    with_base = BASE in impls
    cols = ["workload", "n", *impls, "gocurrent vs best anchor"]
    if with_base:
        cols.append("base vs best anchor")
    lines = [*header, "", "| " + " | ".join(cols) + " |"]
    lines.append("|" + "|".join([":--", "--:"] + ["--:"] * (len(cols) - 2)) + "|")
    for workload, cells in table.items():
        unit = WORKLOADS[workload].unit
        row = [f"{workload} (per {unit})", f"{sizes[workload]:,}"]
        row += [format_cell(cells.get(impl)) for impl in impls]
        row.append(ratio_cell(cells))
        if with_base:
            row.append(ratio_cell(cells, BASE))
        lines.append("| " + " | ".join(row) + " |")
    notes = sorted(
        {
            f"- {impl}: {cell['status']}: {cell.get('reason', '')}"
            if cell["status"] == "unavailable"
            else f"- {workload}/{impl}: {cell['status']}: {cell.get('reason', '')}"
            for workload, cells in table.items()
            for impl, cell in cells.items()
            if cell["status"] != "ok"
        }
    )
    if notes:
        lines += ["", "Not measured:", *notes]
    noisy = [
        f"{workload}/{impl} {spread:.0%}"
        for workload, cells in table.items()
        for impl, cell in cells.items()
        if (spread := run_spread(cell)) > NOISY_SPREAD
    ]
    if noisy:
        lines += [
            "",
            f"Run-to-run spread (max - min) / median above {NOISY_SPREAD:.0%}: " + ", ".join(noisy),
        ]
    return "\n".join(lines) + "\n"


def run_spread(cell: dict) -> float:
    """(max - min) / median of a cell's runs; 0 for fewer than 2 runs."""
    runs = cell.get("runs", [])
    if cell["status"] != "ok" or len(runs) < 2:
        return 0.0
    return (max(runs) - min(runs)) / cell["time"]


def _select(names: str | None, known: list[str], what: str) -> list[str]:
    """Resolve a comma list; a name also selects ``name_*`` (e.g. ``daisy``)."""
    if not names:
        return list(known)
    chosen = []
    for name in (part.strip() for part in names.split(",") if part.strip()):
        hits = [k for k in known if k == name or k.startswith(name + "_")]
        if not hits:
            sys.exit(f"unknown {what} {name!r}; choose from: {', '.join(known)}")
        chosen += [h for h in hits if h not in chosen]
    return [k for k in known if k in chosen]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description="Benchmark gocurrent against stdlib and PyPI anchors.",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    parser.add_argument("--only", metavar="WORKLOAD,...", help="workloads to run")
    parser.add_argument("--impl", metavar="NAME,...", help="implementations to run")
    parser.add_argument(
        "--runs", type=int, default=None, help="runs per cell (default 3, median; 5 with --hogs)"
    )
    parser.add_argument(
        "--hogs",
        type=int,
        default=0,
        metavar="N",
        help="run N busy-looping processes throughout (cells are then means of >= 5 runs)",
    )
    parser.add_argument(
        "--baseline",
        metavar="PYTHON",
        help="add a column 'base': gocurrent as installed for this interpreter",
    )
    parser.add_argument("--markdown", metavar="OUT.md", help="also write the table")
    parser.add_argument("--json", metavar="OUT.json", help="write every raw timing")
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds per run (default 600)"
    )
    args = parser.parse_args(argv)
    if args.hogs < 0:
        parser.error("--hogs must not be negative")
    if args.runs is None:
        args.runs = HOG_RUNS if args.hogs else 3
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.hogs and args.runs < HOG_RUNS:
        parser.error(f"--hogs reports a mean of at least {HOG_RUNS} runs: use --runs >= {HOG_RUNS}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the selected workloads and print (and optionally save) the table."""
    args = parse_args(argv)
    workloads = _select(args.only, list(WORKLOADS), "workload")
    impls = _select(args.impl, list(IMPLS), "implementation")
    if args.baseline:
        impls.append(BASE)
    header = [machine_line(args.runs, args.quick, args.hogs), "", versions_line()]
    if args.baseline:
        header += ["", f"Column base: gocurrent under {args.baseline}, same run"]
    print(header[0], file=sys.stderr)
    load_before = load_average()
    table, sizes = {}, {}

    def applies(impl: str, workload: str) -> bool:
        return (impl if impl != BASE else "gocurrent") in REGISTRY[workload]

    with Hogs(args.hogs):
        for workload in workloads:
            spec = WORKLOADS[workload]
            sizes[workload] = spec.quick_n if args.quick else spec.n
            todo = [impl for impl in impls if applies(impl, workload)]
            table[workload] = measure(
                workload,
                todo,
                sizes[workload],
                args.runs,
                args.timeout,
                mean=args.hogs > 0,
                baseline=args.baseline,
            )
    header += ["", load_line(load_before, load_average(), args.hogs)]
    columns = [i for i in impls if any(applies(i, w) for w in workloads)]
    report = render(table, sizes, columns, header)
    print()
    print(report, end="")
    if args.markdown:
        Path(args.markdown).write_text(report, encoding="utf-8")
    if args.json:
        raw = {
            "header": header,
            "hogs": args.hogs,
            "stat": "mean" if args.hogs else "median",
            "sizes": sizes,
            "results": table,
        }
        Path(args.json).write_text(json.dumps(raw, indent=2), encoding="utf-8")
    failed = any(
        cell["status"] in ("error", "timeout")
        for cells in table.values()
        for cell in cells.values()
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
