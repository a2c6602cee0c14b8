"""The package imports and the basic round trip works."""

import gocurrent
from gocurrent import Chan, go


def test_round_trip():
    ch: Chan[str] = Chan()
    go(ch.send, "hello")
    assert ch.recv() == "hello"
    assert set(gocurrent.__all__) <= set(dir(gocurrent))
