"""context.WithTimeout cancels slow work ("Context").

The article's Go program::

    func process(ctx context.Context) {
        select {
        case <-time.After(2 * time.Second): // use time.After to simulate slow operation
            fmt.Println("Completed work")
        case <-ctx.Done():
            fmt.Println("Work cancelled")
        }
    }

    func main() {
        ctx, cancel := context.WithTimeout(context.Background(), 1*time.Second)
        defer cancel()

        go process(ctx)

        time.Sleep(2 * time.Second)
    }

It prints ``Work cancelled`` after one second. ``try/finally`` stands for
``defer cancel()``. Run: ``python examples/context_timeout.py`` (``--fast``).
"""

import time

from _common import SECOND, println
from gocurrent import after, context, go, select


def process(ctx: context.Context) -> None:
    match select(after(2 * SECOND).recv, ctx.done().recv):
        case (0, _):  # time.After simulates a slow operation
            println("Completed work")
        case (1, _):
            println("Work cancelled")


def main() -> None:
    ctx, cancel = context.with_timeout(context.background(), 1 * SECOND)
    try:
        go(process, ctx)

        time.sleep(2 * SECOND)
    finally:
        cancel()


if __name__ == "__main__":
    main()
