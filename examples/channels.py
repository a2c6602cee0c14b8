"""Channels: a goroutine sends one message, main receives it ("Channels").

The article's Go program::

    func sendMessage(ch chan string) {
        ch <- "Hello from a goroutine!" // Send a message to the channel
    }

    func main() {
        ch := make(chan string)
        go sendMessage(ch)
        msg := <-ch      // ⚠️ This BLOCKS the program (hence sendMessage() runs in a goroutine)
        fmt.Println(msg) // Output: Hello from a goroutine!
    }

``ch.send`` on an unbuffered channel blocks until main receives, which is
why it runs in a goroutine. Run: ``python examples/channels.py``.
"""

from _common import println
from gocurrent import Chan, go


def send_message(ch: Chan[str]) -> None:
    ch.send("Hello from a goroutine!")  # blocks until main receives


def main() -> None:
    ch: Chan[str] = Chan()  # make(chan string): unbuffered

    go(send_message, ch)

    msg = ch.recv()  # blocks main until the goroutine sends
    println(msg)  # Output: Hello from a goroutine!


if __name__ == "__main__":
    main()
