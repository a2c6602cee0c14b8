"""When goroutines hang: Go's "all goroutines are asleep - deadlock!".

A Go worker pool whose author forgot to close ``jobs``::

    func worker(jobs <-chan int, results chan<- int, wg *sync.WaitGroup) {
        defer wg.Done()
        for j := range jobs { // ends only when jobs is closed
            results <- j * j
        }
    }

    func main() {
        jobs := make(chan int, 5)
        results := make(chan int, 5)
        var wg sync.WaitGroup
        for w := 0; w < 3; w++ {
            wg.Add(1)
            go worker(jobs, results, &wg)
        }
        for j := 1; j <= 5; j++ {
            jobs <- j
        }
        // close(jobs) is missing
        wg.Wait()
        close(results)
        for r := range results {
            fmt.Println(r)
        }
    }

Go stops it with ``fatal error: all goroutines are asleep - deadlock!``
followed by every goroutine's stack. gocurrent raises ``DeadlockError`` in
the waiting call (``wg.wait()``) within a second, its message ending with
the same dump (``gocurrent.runtime.stack()``): main waits in
``sync.WaitGroup.Wait``, the three workers in ``chan receive`` inside
``for j in jobs``, each with the line that started it. Left uncaught, it
ends the program with that message; here main prints it and returns.
Run: ``python examples/deadlock.py``.
"""

from gocurrent import Chan, DeadlockError, WaitGroup, go


def worker(jobs: Chan[int], results: Chan[int], wg: WaitGroup) -> None:
    try:
        for j in jobs:  # ends only when jobs is closed
            results.send(j * j)
    finally:
        wg.done()


def main() -> None:
    jobs: Chan[int] = Chan(5)
    results: Chan[int] = Chan(5)
    wg = WaitGroup()
    for _ in range(3):
        wg.add(1)
        go(worker, jobs, results, wg)
    for j in range(1, 6):
        jobs.send(j)
    # jobs.close() is missing
    try:
        wg.wait()
    except DeadlockError as e:
        print(f"DeadlockError: {e}")
        return
    results.close()
    for r in results:
        print(r)


if __name__ == "__main__":
    main()
