"""A lock-free counter with sync/atomic ("Atomic Operations").

The article's Go program::

    var counter int32
    var wg sync.WaitGroup

    for range 10 {
        wg.Add(1)
        go func() {
            defer wg.Done()
            atomic.AddInt32(&counter, 1)
        }()
    }

    wg.Wait()
    fmt.Println("Final Counter:", atomic.LoadInt32(&counter))

It prints ``Final Counter: 10``. Python has no pointers to ints, so the
counter is an ``atomic.Int32`` (Go's typed form, ``atomic.Int32``).
Run: ``python examples/atomic_counter.py``.
"""

from _common import println
from gocurrent import WaitGroup, atomic, go


def main() -> None:
    counter = atomic.Int32()
    wg = WaitGroup()

    for _ in range(10):
        wg.add(1)

        def work() -> None:
            try:
                counter.add(1)
            finally:
                wg.done()

        go(work)

    wg.wait()

    println("Final Counter:", counter.load())


if __name__ == "__main__":
    main()
