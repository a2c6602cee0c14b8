"""select over two channels, one of them delayed ("Select Statement").

The article's Go program::

    ch1 := make(chan string)
    ch2 := make(chan string)

    go func() {
        time.Sleep(1 * time.Second)
        ch1 <- "result from ch1"
    }()

    go func() {
        ch2 <- "result from ch2"
    }()

    select {
    case msg1 := <-ch1:
        fmt.Println("Received:", msg1)
    case msg2 := <-ch2:
        fmt.Println("Received:", msg2)
    }

It prints ``Received: result from ch2``: ch1's sender is still sleeping.
Run: ``python examples/select_two_channels.py`` (``--fast`` shrinks the sleep).
"""

import time

from _common import SECOND, println
from gocurrent import Chan, go, select


def main() -> None:
    ch1: Chan[str] = Chan()
    ch2: Chan[str] = Chan()

    def slow() -> None:
        time.sleep(1 * SECOND)
        ch1.send("result from ch1")  # nobody receives: blocks until the program ends

    def fast() -> None:
        ch2.send("result from ch2")

    go(slow)
    go(fast)

    match select(ch1.recv, ch2.recv):
        case (0, msg1):
            println("Received:", msg1)
        case (1, msg2):
            println("Received:", msg2)


if __name__ == "__main__":
    main()
