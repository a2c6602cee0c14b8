"""Ranging over a channel that the sender closes (the article's tips).

    You can range over a channel, but the loop will never stop unless the
    channel is closed.

    The most crucial best practice is to close the channel from the sender
    side, not the receiver.

In Go (the Go Tour's ``range and close``)::

    func fibonacci(n int, c chan int) {
        x, y := 0, 1
        for i := 0; i < n; i++ {
            c <- x
            x, y = y, x+y
        }
        close(c)
    }

    func main() {
        c := make(chan int, 10)
        go fibonacci(cap(c), c)
        for i := range c {
            fmt.Println(i)
        }
    }

``for i in c`` receives until the channel is closed and drained; then a
receive reports ``ok == False``. Run: ``python examples/range_channel.py``.
"""

from _common import println
from gocurrent import Chan, go


def fibonacci(n: int, c: Chan[int]) -> None:
    x, y = 0, 1
    for _ in range(n):
        c.send(x)
        x, y = y, x + y
    c.close()  # the sender knows when there is no more data: it closes


def main() -> None:
    c: Chan[int] = Chan(10)
    go(fibonacci, c.cap, c)
    for i in c:  # stops once c is closed and drained
        println(i)
    v, ok = c.recv_ok()
    println("after close:", v, ok)


if __name__ == "__main__":
    main()
