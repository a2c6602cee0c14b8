"""sync.Once: three goroutines, one initialization ("Once").

The article's Go program::

    var once sync.Once

    func initialize() {
        fmt.Println("Initializing...")
    }

    func main() {
        var wg sync.WaitGroup
        for range 3 {
            wg.Add(1)
            go func() {
                defer wg.Done()
                once.Do(initialize)
            }()
        }
        wg.Wait()
    }

It prints ``Initializing...`` exactly once. Run: ``python examples/once.py``.
"""

from _common import println
from gocurrent import Once, WaitGroup, go

once = Once()


def initialize() -> None:
    println("Initializing...")


def main() -> None:
    wg = WaitGroup()
    for _ in range(3):
        wg.add(1)

        def work() -> None:
            try:
                once.do(initialize)
            finally:
                wg.done()

        go(work)
    wg.wait()


if __name__ == "__main__":
    main()
