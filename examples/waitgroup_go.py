"""``wg.Go`` (Go 1.25): no Add/Done for simple cases ("Wait Groups", tip).

The article's Go program::

    var wg sync.WaitGroup

    wg.Go(func() {
        fmt.Println("go is awesome")
    })

    wg.Go(func() {
        fmt.Println("cats are cute")
    })

    wg.Wait()
    fmt.Println("done")

The two lines come in either order; "done" is last.
Run: ``python examples/waitgroup_go.py``.
"""

from _common import println
from gocurrent import WaitGroup


def main() -> None:
    wg = WaitGroup()

    wg.go(println, "go is awesome")
    wg.go(println, "cats are cute")

    wg.wait()
    println("done")


if __name__ == "__main__":
    main()
