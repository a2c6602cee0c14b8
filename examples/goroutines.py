"""Goroutines: ``go say_hello()`` (Go Concurrency Patterns, "Goroutines").

The article's Go program::

    func sayHello() {
        fmt.Println("Hello from a goroutine!")
    }

    func main() {
        go sayHello() // Launches sayHello in a new goroutine

        fmt.Println("Hello from main!")
        time.Sleep(1 * time.Second) // Wait for the goroutine to complete (only for example)
    }

As the article warns, sleeping to wait for a goroutine is only for the
example: use a WaitGroup or a channel (see waitgroup.py, channels.py).
Run: ``python examples/goroutines.py`` (``--fast`` shrinks the sleep).
"""

import time

from _common import SECOND, println
from gocurrent import go


def say_hello() -> None:
    println("Hello from a goroutine!")


def main() -> None:
    go(say_hello)  # launches say_hello in a new goroutine

    println("Hello from main!")
    time.sleep(1 * SECOND)  # wait for the goroutine to complete (only for example)


if __name__ == "__main__":
    main()
