"""sync.Cond: Signal wakes one worker, Broadcast the rest ("Conditions").

The article's Go program::

    func worker(id int, cond *sync.Cond) {
        cond.L.Lock() // Lock the condition
        defer cond.L.Unlock()

        fmt.Printf("Worker %d is waiting\n", id)
        cond.Wait() // Wait for a signal or broadcast
        fmt.Printf("Worker %d is proceeding\n", id)
    }

    func main() {
        lock := &sync.Mutex{}
        cond := sync.NewCond(lock)

        for i := range 3 {
            go worker(i, cond)
        }

        time.Sleep(1 * time.Second) // Allow time for all workers to start and wait

        fmt.Println("Notifying one worker")
        cond.Signal() // Notifies one waiting worker
        time.Sleep(1 * time.Second)

        fmt.Println("Broadcasting to all remaining workers")
        cond.Broadcast() // Notifies all remaining waiting workers

        time.Sleep(2 * time.Second) // Allow time for all goroutines to complete
        fmt.Println("Main function exiting.")
    }

Which worker the signal wakes is not specified: "Notifications are not
ordered". One worker proceeds after "Notifying one worker", the other two
after "Broadcasting to all remaining workers".
Run: ``python examples/cond_broadcast.py`` (``--fast`` shrinks the sleeps).
"""

from __future__ import annotations

import time

from _common import SECOND, println
from gocurrent import Cond, Mutex, go


def worker(id: int, cond: Cond) -> None:
    cond.L.lock()  # lock the condition
    try:  # defer cond.L.Unlock()
        println(f"Worker {id} is waiting")
        cond.wait()  # wait for a signal or broadcast
        println(f"Worker {id} is proceeding")
    finally:
        cond.L.unlock()


def main() -> None:
    lock = Mutex()
    cond = Cond(lock)

    # Start multiple worker goroutines that will wait on the condition.
    for i in range(3):
        go(worker, i, cond)

    time.sleep(1 * SECOND)  # allow time for all workers to start and wait

    println("Notifying one worker")
    cond.signal()  # notifies one waiting worker
    time.sleep(1 * SECOND)

    println("Broadcasting to all remaining workers")
    cond.broadcast()  # notifies all remaining waiting workers

    time.sleep(2 * SECOND)  # allow time for all goroutines to complete
    println("Main function exiting.")


if __name__ == "__main__":
    main()
