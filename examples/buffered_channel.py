"""A buffered channel (the article's tip under "Channels").

    Sends to a buffered channel block only when the buffer is full.

The Go Tour program the tip links to::

    ch := make(chan int, 2)
    ch <- 1
    ch <- 2
    fmt.Println(<-ch)
    fmt.Println(<-ch)

This script runs it, then shows the "block only when full" part: a third
send has no room until main receives, so it waits in a goroutine, while a
``select`` with ``default`` (Go's non-blocking send) reports the buffer full.
Run: ``python examples/buffered_channel.py``.
"""

from _common import println
from gocurrent import Chan, WaitGroup, select


def main() -> None:
    ch: Chan[int] = Chan(2)  # make(chan int, 2)
    ch.send(1)  # neither send blocks: the buffer has room
    ch.send(2)
    println(ch.recv())
    println(ch.recv())

    # Sends block only when the buffer is full.
    ch.send(1)
    ch.send(2)
    println("len:", len(ch), "cap:", ch.cap)
    match select((ch.send, 3), default=True):
        case (-1, _):
            println("buffer full: a send would block")
        case _:
            println("sent 3")

    wg = WaitGroup()
    wg.go(ch.send, 3)  # blocks until main makes room
    for _ in range(3):
        println(ch.recv())
    wg.wait()


if __name__ == "__main__":
    main()
