"""Profile one benchmark workload with py-spy and summarise where the time goes.

    python benches/profile.py pingpong_threads [--impl gocurrent] [--n 100000] [--rate 2000]

It runs ``benches/workloads.py WORKLOAD IMPL N`` under ``py-spy record
--native`` (Python and Rust frames, every thread; with ``--idle`` also the
samples of threads that are parked or waiting for the GIL), then prints the
frames that take the largest share of the samples: inclusive (the frame or
anything it calls) and leaf (the frame itself). Needs ``pip install py-spy``.
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: Frames that every sample goes through and that say nothing.
_NOISE = re.compile(r"^(<module>|run|main|_bootstrap|_bootstrap_inner|Thread\.run|0x[0-9a-f]+)$")


def _short(frame: str) -> str:
    name = frame.split(" (")[0]
    # Rust symbols: drop the hash and the generic noise.
    name = re.sub(r"::h[0-9a-f]{16}$", "", name)
    name = name.replace("$LT$", "<").replace("$GT$", ">").replace("$u20$", " ")
    return name[:110]


def summarise(raw: Path, top: int) -> str:
    total = 0
    inclusive: collections.Counter[str] = collections.Counter()
    leaf: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = [_short(f) for f in stack.split(";")]
        leaf[frames[-1]] += n
        for f in set(frames):
            if not _NOISE.match(f):
                inclusive[f] += n
    out = [f"{total} samples"]
    out.append("\ninclusive (a frame and what it calls):")
    out += [f"  {n / total:6.1%}  {f}" for f, n in inclusive.most_common(top)]
    out.append("\nleaf (the frame itself):")
    out += [f"  {n / total:6.1%}  {f}" for f, n in leaf.most_common(top)]
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workload")
    ap.add_argument("--impl", default="gocurrent")
    ap.add_argument("--n", type=int, default=None, help="size (default: the workload's)")
    ap.add_argument("--rate", type=int, default=2000, help="samples per second")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--idle", action="store_true", help="include waiting threads")
    args = ap.parse_args()
    sys.path.insert(0, str(HERE))
    from workloads import WORKLOADS

    n = args.n or WORKLOADS[args.workload].n
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "profile.txt"
        cmd = [
            "py-spy", "record", "--native", "--threads", "-r", str(args.rate),
            *(["--idle"] if args.idle else []),
            "-f", "raw", "-o", str(raw), "--",
            sys.executable, str(HERE / "workloads.py"), args.workload, args.impl, str(n),
        ]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        print(proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "")
        if proc.returncode != 0 or not raw.exists():
            print(proc.stderr, file=sys.stderr)
            return 1
        print(summarise(raw, args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
