"""A counter guarded by a Mutex, incremented by ten goroutines ("Mutex").

The article's Go program::

    type Counter struct {
        mu    sync.Mutex
        value int
    }

    func (c *Counter) Increment() {
        c.mu.Lock()
        defer c.mu.Unlock()
        c.value++
    }

    func (c *Counter) Value() int {
        c.mu.Lock()
        defer c.mu.Unlock()
        return c.value
    }

    func main() {
        counter := &Counter{}
        var wg sync.WaitGroup
        for range 10 {
            wg.Add(1)
            go func() {
                defer wg.Done()
                counter.Increment()
            }()
        }
        wg.Wait()
        fmt.Println("Final Counter:", counter.Value())
    }

It prints ``Final Counter: 10``. ``with self.mu:`` is Lock plus a deferred
Unlock. Run: ``python examples/mutex_counter.py``.
"""

from _common import println
from gocurrent import Mutex, WaitGroup, go


class Counter:
    def __init__(self) -> None:
        self.mu = Mutex()
        self.value = 0

    def increment(self) -> None:
        with self.mu:  # Lock(); defer Unlock()
            self.value += 1

    def get(self) -> int:
        with self.mu:
            return self.value


def main() -> None:
    counter = Counter()
    wg = WaitGroup()

    for _ in range(10):
        wg.add(1)

        def work() -> None:
            try:
                counter.increment()
            finally:
                wg.done()

        go(work)

    wg.wait()

    println("Final Counter:", counter.get())


if __name__ == "__main__":
    main()
