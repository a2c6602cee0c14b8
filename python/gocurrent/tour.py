"""A tour of gocurrent: ``python -m gocurrent.tour``.

When the ``examples/`` directory of the gocurrent repository is found (next
to the package in a checkout, or in the current directory), the tour runs
every example script in turn, one heading each: the Python twin of each Go
program of the article "Go Concurrency Patterns", from ``go say_hello()`` to
the bulk deletion and TLS certificate pipelines against local servers.

The examples are not part of the installed package (a wheel has only
gocurrent itself): without them the tour runs three small built-in demos (a
producer/consumer pipeline, select with a timeout, a coroutine and a thread
on one channel) and says so; ``--list`` says the examples are not installed,
and ``--only`` fails rather than run something else.

Options: ``--fast`` (shorter sleeps and smaller sizes), ``--only a,b``
(some examples), ``--list``, ``--examples DIR``, ``--builtin``, ``-v`` (the
examples' log lines too, such as the TLS pipeline's ``level=WARN`` lines).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path

from gocurrent import Chan, go, select, select_async


def heading(title: str) -> None:
    """Print a section heading."""
    print(f"\n=== {title} ===", flush=True)


def producer_consumer() -> None:
    """Demo: a producer closes a buffered channel that a consumer ranges over."""
    heading("producer / consumer")
    jobs: Chan[int] = Chan(3)
    results: Chan[str] = Chan()

    def producer() -> None:
        for i in range(5):
            jobs.send(i)
        jobs.close()  # the sender closes, as in Go

    def consumer() -> None:
        for j in jobs:  # ranges until closed and drained
            results.send(f"job {j} squared is {j * j}")
        results.close()

    go(producer)
    go(consumer)
    for line in results:
        print(line)


def select_with_timeout() -> None:
    """Demo: select takes the first ready channel; ``timeout=`` raises TimeoutError."""
    heading("select with a timeout")
    fast: Chan[str] = Chan()
    slow: Chan[str] = Chan()

    def later(ch: Chan[str], delay: float, msg: str) -> None:
        time.sleep(delay)
        ch.send(msg)

    go(later, slow, 1.0, "slow result")
    go(later, fast, 0.05, "fast result")
    _, msg = select(fast.recv, slow.recv)
    print("Received:", msg)
    try:
        select(slow.recv, timeout=0.1)
    except TimeoutError:
        print("Timeout! No message received.")


def threads_and_coroutines() -> None:
    """Demo: a thread sends on a channel that a coroutine ranges over."""
    heading("a thread and a coroutine on one channel")
    ch: Chan[int] = Chan()
    done: Chan[None] = Chan()

    def thread_side() -> None:
        for i in range(3):
            ch.send(i)
        ch.close()

    async def coroutine_side() -> None:
        async for v in ch:
            print("coroutine received", v)
        idx, _ = await select_async(done.recv, default=True)
        print("nothing on done:", idx == -1)

    go(thread_side)
    asyncio.run(coroutine_side())


BUILTIN_TITLES = [
    "producer / consumer",
    "select with a timeout",
    "a thread and a coroutine on one channel",
]


def builtin_demos() -> None:
    """Run the three built-in demos, one heading each (``BUILTIN_TITLES``)."""
    producer_consumer()
    select_with_timeout()
    threads_and_coroutines()


NOT_INSTALLED = (
    "The examples (a Python twin of every Go program of the article"
    ' "Go Concurrency Patterns") are not installed: they are in the examples/'
    " directory of the gocurrent repository, not in the package. Run"
    " `python -m gocurrent.tour` in a checkout (after"
    ' `pip install ".[examples]"`), or pass --examples DIR.'
)

# (script, heading, extra arguments, extra arguments with --fast)
EXAMPLES: list[tuple[str, str, list[str], list[str]]] = [
    ("goroutines", "Goroutines: go say_hello()", [], []),
    ("channels", "Channels: send and receive", [], []),
    ("select_two_channels", "select: two channels, one delayed", [], []),
    ("select_timeout", "select with a time.After timeout", [], []),
    ("buffered_channel", "A buffered channel", [], []),
    ("range_channel", "Ranging over a channel the sender closes", [], []),
    ("waitgroup", "WaitGroup: three workers", [], []),
    ("waitgroup_go", "wg.Go (Go 1.25)", [], []),
    ("errgroup_fetch", "Error groups: fetch URLs, first error cancels", [], []),
    ("mutex_counter", "Mutex: a counter", [], []),
    ("rwmutex", "RWMutex: readers share, writers don't", [], []),
    ("atomic_counter", "Atomic operations: a counter", [], []),
    ("once", "sync.Once", [], []),
    ("context_timeout", "context.WithTimeout", [], []),
    ("sync_map", "sync.Map: its two use cases", [], []),
    ("cond_signal", "sync.Cond: one waiter", [], []),
    ("cond_broadcast", "sync.Cond: Signal, then Broadcast", [], []),
    ("cache_stampede", "singleflight: a cache stampede, one backend call per key", [], []),
    ("deadlock", "When goroutines hang: DeadlockError and the dump", [], []),
    ("bulk_delete", "Bulk deletion (original)", ["--keys", "20000"], ["--keys", "3000"]),
    (
        "bulk_delete_update",
        "Bulk deletion (UPDATE 2024.11.01)",
        ["--keys", "20000"],
        ["--keys", "3000"],
    ),
    (
        "tls_pipeline",
        "TLS certificate asynchronous pipeline",
        ["--max-retries", "3"],
        ["--max-retries", "1", "--check-timeout", "0.2", "--backoff-minute", "0.001"],
    ),
]
# Arguments that silence an example's log lines (stderr) unless -v is given:
# the TLS pipeline logs every failed check at level=WARN, as designed, and
# those lines would read as failures of a tour that went well.
QUIET_ARGS = {"tls_pipeline": ["--quiet"]}


def find_examples(explicit: str | None = None) -> Path | None:
    """The examples directory: given, next to the package's repo, or in the CWD."""
    if explicit is not None:
        candidates = [Path(explicit)]
    else:
        here = Path(__file__).resolve()
        candidates = [here.parents[2] / "examples", Path.cwd() / "examples"]
    for candidate in candidates:
        if (candidate / "goroutines.py").is_file() and (candidate / "_common.py").is_file():
            return candidate
    return None


def run_examples(directory: Path, names: list[str], fast: bool, verbose: bool = False) -> int:
    """Run each example script in turn; return how many failed."""
    failed = []
    for name, title, args, fast_args in EXAMPLES:
        if names and name not in names:
            continue
        heading(f"{title}  (examples/{name}.py)")
        cmd = [sys.executable, str(directory / f"{name}.py"), *(fast_args if fast else args)]
        if fast:
            cmd.append("--fast")
        if not verbose:
            cmd += QUIET_ARGS.get(name, [])
        code = subprocess.call(cmd)
        if code != 0:
            print(f"[{name}.py exited with status {code}]", flush=True)
            failed.append(name)
    if failed:
        print(f"\nTour finished; failed: {', '.join(failed)}")
    return len(failed)


def main(argv: list[str] | None = None) -> int:
    """The tour's command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m gocurrent.tour", description=__doc__)
    parser.add_argument("--fast", action="store_true", help="shorter sleeps, smaller sizes")
    parser.add_argument("--only", default="", help="comma-separated example names")
    parser.add_argument("--list", action="store_true", help="list the examples and exit")
    parser.add_argument("--examples", metavar="DIR", help="the examples directory")
    parser.add_argument("--builtin", action="store_true", help="run only the built-in demos")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show the examples' log lines too"
    )
    args = parser.parse_args(argv)

    names = [n.strip().removesuffix(".py") for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(names) - {e[0] for e in EXAMPLES})
    if unknown:
        parser.error(f"unknown example(s): {', '.join(unknown)}")
    if args.builtin and (names or args.examples):
        parser.error("--builtin runs only the built-in demos: no --only or --examples")

    directory = None if args.builtin else find_examples(args.examples)
    if directory is None and args.examples is not None:
        parser.error(f"no examples in {args.examples} (it has no goroutines.py and _common.py)")
    if directory is None and not args.builtin and (names or args.list):
        # Asked for examples that are not here: say so, run nothing else.
        print(NOT_INSTALLED, file=sys.stderr)
        if args.list:
            print("Built-in demos (python -m gocurrent.tour --builtin):")
            for title in BUILTIN_TITLES:
                print(f"  {title}")
            return 0
        return 2
    if args.list:
        for name, title, _, _ in EXAMPLES:
            print(f"{name:22} {title}")
        return 0

    if directory is None:
        builtin_demos()
        if not args.builtin:
            print("\n" + NOT_INSTALLED)
        print("\nTour complete.")
        return 0

    print(f"Running the examples in {directory}", flush=True)
    failures = run_examples(directory, names, args.fast, args.verbose)
    print("\nTour complete." if not failures else "")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
