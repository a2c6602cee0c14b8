"""sync.Cond with one waiter ("Conditions").

The article's Go program::

    var mu sync.Mutex
    cond := sync.NewCond(&mu)
    ready := false

    go func() {
        time.Sleep(1 * time.Second)
        cond.L.Lock()
        ready = true
        cond.L.Unlock()
        cond.Signal() // Notify one waiting goroutine
    }()

    cond.L.Lock()
    for !ready {
        cond.Wait() // Wait until condition is met
    }
    fmt.Println("Ready is true, proceeding.")
    cond.L.Unlock()

``cond.wait()`` must be called with ``cond.L`` held (else it raises
``sync: unlock of unlocked mutex``, Go's fatal error); it releases the lock
while waiting and holds it again when it returns.
Run: ``python examples/cond_signal.py`` (``--fast`` shrinks the sleep).
"""

import time

from _common import SECOND, println
from gocurrent import Cond, Mutex, go


def main() -> None:
    mu = Mutex()
    cond = Cond(mu)
    ready = False

    def make_ready() -> None:
        nonlocal ready
        time.sleep(1 * SECOND)
        cond.L.lock()
        ready = True
        cond.L.unlock()
        cond.signal()  # notify one waiting goroutine

    go(make_ready)

    cond.L.lock()
    while not ready:
        cond.wait()  # wait until the condition is met
    println("Ready is true, proceeding.")
    cond.L.unlock()


if __name__ == "__main__":
    main()
