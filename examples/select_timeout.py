"""select with a ``time.After`` timeout ("Select Statement").

The article's Go program::

    ch := make(chan string)

    go func() {
        time.Sleep(3 * time.Second)   // Simulate a delay
        ch <- "Hello from goroutine!" // Send a message after delay
    }()

    select {
    case msg := <-ch:
        fmt.Println("Received:", msg)
    case <-time.After(2 * time.Second): // Timeout after 2 seconds
        fmt.Println("Timeout! No message received.")
    }

It prints ``Timeout! No message received.`` after 2 seconds. The goroutine is
still sleeping when main returns; as in Go, it does not keep the program
alive. Run: ``python examples/select_timeout.py`` (``--fast`` shrinks the sleeps).
"""

import time

from _common import SECOND, println
from gocurrent import Chan, after, go, select


def main() -> None:
    ch: Chan[str] = Chan()  # an unbuffered channel

    def delayed_send() -> None:
        time.sleep(3 * SECOND)  # simulate a delay
        ch.send("Hello from goroutine!")  # send a message after the delay

    go(delayed_send)

    match select(ch.recv, after(2 * SECOND).recv):
        case (0, msg):
            println("Received:", msg)
        case (1, _):  # timeout after 2 seconds
            println("Timeout! No message received.")


if __name__ == "__main__":
    main()
