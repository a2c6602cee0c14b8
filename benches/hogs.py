"""Run a command while N busy-looping processes take the cores.

Usage::

    python benches/hogs.py N COMMAND [ARG ...]

What ``benches/run.py --hogs N`` does around a benchmark, around any
command: e.g. ``python benches/hogs.py 2 python -m pytest`` runs the test
suite on a loaded machine. The hogs are killed when the command ends; the
exit status is the command's.
"""

from __future__ import annotations

import subprocess
import sys

from run import Hogs  # benches/ is sys.path[0]


def main(argv: list[str]) -> int:
    """Run ``argv[1:]`` with ``argv[0]`` hogs; return its exit status."""
    if len(argv) < 2 or not argv[0].isdigit():
        print(__doc__, file=sys.stderr)
        return 2
    with Hogs(int(argv[0])):
        return subprocess.call(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
