"""WaitGroup: wait for three workers ("Wait Groups").

The article's Go program::

    func worker(id int, wg *sync.WaitGroup) {
        defer wg.Done() // Decrement counter when goroutine completes
        fmt.Printf("Worker %d starting\n", id)
        fmt.Printf("Worker %d done\n", id)
    }

    func main() {
        var wg sync.WaitGroup
        for i := range 3 {
            wg.Add(1) // Track each goroutine started
            go worker(i, &wg)
        }
        wg.Wait() // Wait for all goroutines to finish
        fmt.Println("All workers done.")
    }

The workers' lines come in any order (each worker's "starting" before its
"done"); "All workers done." is always last.
Run: ``python examples/waitgroup.py``.
"""

from _common import println
from gocurrent import WaitGroup, go


def worker(id: int, wg: WaitGroup) -> None:
    try:
        println(f"Worker {id} starting")
        println(f"Worker {id} done")
    finally:
        wg.done()  # defer wg.Done(): decrement the counter when the goroutine completes


def main() -> None:
    wg = WaitGroup()

    for i in range(3):
        wg.add(1)  # track each goroutine started
        go(worker, i, wg)

    wg.wait()  # wait for all goroutines to finish

    println("All workers done.")


if __name__ == "__main__":
    main()
