"""sync.RWMutex: many readers at once, or one writer (the article's "Mutex").

    While sync.RWMutex is a variant that allows multiple readers or a single
    writer but not both.

The article names RWMutex without a program; this one is in the style of
the Counter example::

    type Stats struct {
        mu   sync.RWMutex
        hits map[string]int
    }

    func (s *Stats) Hit(page string) {
        s.mu.Lock()
        defer s.mu.Unlock()
        s.hits[page]++
    }

    func (s *Stats) Get(page string) int {
        s.mu.RLock()
        defer s.mu.RUnlock()
        return s.hits[page]
    }

Five readers hold the read lock together (the script records the most that
held it at once); writers take it alone, and a waiting writer blocks new
readers so writers never starve. Run: ``python examples/rwmutex.py``.
"""

import time

from _common import MILLISECOND, println
from gocurrent import RWMutex, WaitGroup, atomic


class Stats:
    def __init__(self) -> None:
        self.mu = RWMutex()
        self.hits: dict[str, int] = {}
        self.readers = atomic.Int32()  # readers inside the read lock right now
        self.max_readers = atomic.Int32()

    def hit(self, page: str) -> None:
        with self.mu:  # Lock(); defer Unlock(): one writer, no readers
            if self.readers.load() != 0:
                raise AssertionError("a writer ran alongside a reader")
            self.hits[page] = self.hits.get(page, 0) + 1

    def get(self, page: str) -> int:
        self.mu.rlock()  # RLock(); defer RUnlock(): readers share the lock
        try:
            now = self.readers.add(1)
            while (seen := self.max_readers.load()) < now:
                self.max_readers.compare_and_swap(seen, now)
            time.sleep(20 * MILLISECOND)  # a slow read, to let readers overlap
            return self.hits.get(page, 0)
        finally:
            self.readers.add(-1)
            self.mu.runlock()


def main() -> None:
    stats = Stats()
    wg = WaitGroup()

    def writer() -> None:
        for _ in range(100):
            stats.hit("/home")

    def reader() -> None:
        for _ in range(5):
            stats.get("/home")

    for _ in range(2):
        wg.go(writer)
    for _ in range(5):
        wg.go(reader)
    wg.wait()

    println("hits:", stats.get("/home"))
    println("readers overlapped:", stats.max_readers.load() > 1)


if __name__ == "__main__":
    main()
