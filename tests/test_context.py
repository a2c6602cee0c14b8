"""gocurrent.context (API.md, section context), with Go's rules."""

from __future__ import annotations

import threading
import time

import pytest
from gocurrent import Chan, after, context, go, nilchan, select
from gocurrent.context import Canceled, DeadlineExceeded


def is_done(ctx: context.Context) -> bool:
    i, _ = select(ctx.done().recv, default=True)
    return i == 0


# ---- background, todo --------------------------------------------------------


@pytest.mark.parametrize("make", [context.background, context.todo])
def test_background_and_todo_are_never_cancelled(make):
    ctx = make()
    assert ctx is make()
    assert ctx.done() is nilchan
    assert ctx.err() is None
    assert ctx.deadline() is None
    assert ctx.value("anything") is None
    assert context.cause(ctx) is None
    assert repr(ctx) in ("context.Background", "context.TODO")
    assert isinstance(ctx, context.Context)


# ---- errors ------------------------------------------------------------------


def test_error_types_and_messages():
    assert issubclass(Canceled, Exception)
    assert issubclass(DeadlineExceeded, TimeoutError)
    assert str(Canceled()) == "context canceled"
    assert str(DeadlineExceeded()) == "context deadline exceeded"


# ---- with_cancel -------------------------------------------------------------


def test_with_cancel():
    ctx, cancel = context.with_cancel(context.background())
    assert ctx.err() is None
    assert not is_done(ctx)
    assert ctx.done() is ctx.done()
    assert ctx.deadline() is None
    cancel()
    assert is_done(ctx)
    assert ctx.done().closed
    assert ctx.done().recv(timeout=0) is None
    err = ctx.err()
    assert isinstance(err, Canceled)
    assert str(err) == "context canceled"
    # The same instance on every call, and after a second cancel.
    assert ctx.err() is err
    cancel()
    assert ctx.err() is err
    assert context.cause(ctx) is err
    assert repr(ctx) == "context.Background.WithCancel"


def test_cancel_propagates_through_three_levels():
    root, cancel_root = context.with_cancel(context.background())
    a, cancel_a = context.with_cancel(root)
    b, _ = context.with_timeout(a, 3600)
    c = context.with_value(b, "k", "v")
    d, _ = context.with_cancel_cause(c)
    side, _ = context.with_cancel(root)
    cancel_a()
    err = a.err()
    assert isinstance(err, Canceled)
    # Every descendant is cancelled, with the same error object.
    for ctx in (b, c, d):
        assert is_done(ctx)
        assert ctx.err() is err
    # The parent and the sibling branch are not.
    assert root.err() is None and not is_done(root)
    assert side.err() is None
    cancel_root()
    assert isinstance(side.err(), Canceled)
    assert side.err() is root.err()
    assert a.err() is err  # a kept its own error


def test_cancelling_a_child_leaves_the_parent_and_unlinks():
    parent, cancel_parent = context.with_cancel(context.background())
    node = parent._node  # type: ignore[attr-defined]
    kids = [context.with_cancel(parent) for _ in range(10)]
    assert node._children() == 10
    for _, cancel in kids:
        cancel()
    assert node._children() == 0
    assert parent.err() is None
    cancel_parent()


def test_child_of_a_cancelled_parent_is_cancelled_at_once():
    parent, cancel = context.with_cancel(context.background())
    cancel()
    child, _ = context.with_cancel(parent)
    assert is_done(child)
    assert child.err() is parent.err()
    tchild, _ = context.with_timeout(parent, 100)
    assert tchild.err() is parent.err()


def test_done_in_select_and_for():
    ctx, cancel = context.with_cancel(context.background())
    data: Chan[int] = Chan()
    after_cancel: Chan[str] = Chan(1)

    def worker():
        for _ in ctx.done():  # ends when the channel is closed
            pass
        after_cancel.send("ended")

    go(worker)
    go(lambda: (time.sleep(0.05), cancel()))
    i, v = select(data.recv, ctx.done().recv, timeout=5)
    assert (i, v) == (1, None)
    assert after_cancel.recv(timeout=5) == "ended"


def test_cancel_from_many_threads_is_safe():
    for _ in range(50):
        ctx, cancel = context.with_cancel(context.background())
        children = [context.with_cancel(ctx)[0] for _ in range(20)]
        threads = [threading.Thread(target=cancel) for _ in range(8)]
        more: list[context.Context] = []

        def add(ctx=ctx, more=more):
            more.extend(context.with_cancel(ctx)[0] for _ in range(50))

        adder = threading.Thread(target=add)
        for t in [*threads, adder]:
            t.start()
        for t in [*threads, adder]:
            t.join()
        err = ctx.err()
        assert isinstance(err, Canceled)
        for c in children + more:
            assert c.err() is err
            assert is_done(c)


def test_deep_chain():
    root, cancel = context.with_cancel(context.background())
    ctx = root
    for i in range(5000):
        ctx = context.with_value(ctx, i, i) if i % 2 else context.with_cancel(ctx)[0]
    assert ctx.value(1) == 1
    cancel()
    assert ctx.err() is root.err()


# ---- with_cancel_cause / cause -----------------------------------------------


def test_with_cancel_cause():
    ctx, cancel = context.with_cancel_cause(context.background())
    child, _ = context.with_cancel(ctx)
    assert context.cause(ctx) is None
    why = ValueError("why")
    cancel(why)
    assert isinstance(ctx.err(), Canceled)
    assert context.cause(ctx) is why
    assert context.cause(child) is why
    assert child.err() is ctx.err()
    cancel(KeyError("later"))  # the first cause stays
    assert context.cause(ctx) is why


def test_cancel_cause_none_is_the_error():
    ctx, cancel = context.with_cancel_cause(context.background())
    cancel(None)
    assert context.cause(ctx) is ctx.err()
    ctx2, cancel2 = context.with_cancel_cause(context.background())
    cancel2()
    assert isinstance(context.cause(ctx2), Canceled)


def test_cause_of_an_uncancelled_context_under_a_cancellable_one():
    ctx, _ = context.with_cancel(context.background())
    assert context.cause(context.with_value(ctx, 1, 2)) is None


# ---- with_timeout / with_deadline -------------------------------------------


def test_with_timeout_expires_with_deadline_exceeded():
    start = time.monotonic()
    ctx, cancel = context.with_timeout(context.background(), 0.05)
    dl = ctx.deadline()
    assert dl is not None and start + 0.05 <= dl <= time.monotonic() + 0.05
    assert ctx.err() is None
    assert ctx.done().recv(timeout=5) is None
    assert time.monotonic() >= dl
    err = ctx.err()
    assert isinstance(err, DeadlineExceeded)
    assert isinstance(err, TimeoutError)
    assert str(err) == "context deadline exceeded"
    assert ctx.err() is err
    assert context.cause(ctx) is err
    cancel()
    assert ctx.err() is err  # cancel after expiry changes nothing


def test_with_deadline_uses_the_monotonic_clock():
    dl = time.monotonic() + 0.05
    ctx, cancel = context.with_deadline(context.background(), dl)
    assert ctx.deadline() == dl
    ctx.done().recv(timeout=5)
    assert time.monotonic() >= dl
    assert isinstance(ctx.err(), DeadlineExceeded)
    cancel()


def test_deadline_in_the_past_is_exceeded_at_once():
    ctx, _ = context.with_deadline(context.background(), time.monotonic() - 1)
    assert isinstance(ctx.err(), DeadlineExceeded)
    ctx2, _ = context.with_timeout(context.background(), 0)
    assert isinstance(ctx2.err(), DeadlineExceeded)
    ctx3, _ = context.with_timeout(context.background(), -5)
    assert is_done(ctx3)


def test_cancel_before_deadline_stops_the_timer(python_run):
    # In a fresh process: the count of pending timers is global.
    r = python_run("""
        from gocurrent import context
        from gocurrent.context import Canceled
        from gocurrent._native import _timers_pending
        ctxs = [context.with_timeout(context.background(), 3600) for _ in range(100)]
        assert _timers_pending() == 100
        for ctx, cancel in ctxs:
            cancel()
            assert isinstance(ctx.err(), Canceled)
        assert _timers_pending() == 0
        # Cancelled through their parent: their timers stop too.
        parent, cancel_parent = context.with_cancel(context.background())
        kids = [context.with_timeout(parent, 3600) for _ in range(100)]
        assert _timers_pending() == 100
        cancel_parent()
        assert _timers_pending() == 0
        assert all(isinstance(k.err(), Canceled) for k, _ in kids)
        print("ok")
    """)
    assert r.stdout == "ok\n", r.stderr


def test_child_never_outlives_its_parents_deadline():
    parent, _ = context.with_timeout(context.background(), 0.05)
    child, _ = context.with_timeout(parent, 3600)
    assert child.deadline() == parent.deadline()
    grandchild = context.with_value(child, "k", 1)
    assert grandchild.deadline() == parent.deadline()
    # An earlier child deadline is kept.
    early, _ = context.with_timeout(parent, 0.01)
    assert early.deadline() < parent.deadline()
    early.done().recv(timeout=5)
    assert parent.err() is None
    child.done().recv(timeout=5)
    assert isinstance(child.err(), DeadlineExceeded)
    assert child.err() is parent.err()
    assert grandchild.err() is parent.err()


def test_timeout_cause():
    why = RuntimeError("too slow")
    ctx, _ = context.with_timeout_cause(context.background(), 0.01, why)
    ctx.done().recv(timeout=5)
    assert isinstance(ctx.err(), DeadlineExceeded)
    assert context.cause(ctx) is why


def test_bad_deadlines():
    with pytest.raises(ValueError):
        context.with_timeout(context.background(), float("nan"))
    with pytest.raises(TypeError):
        context.with_deadline(context.background(), "soon")  # type: ignore[arg-type]


# ---- with_value ----------------------------------------------------------------


def test_with_value_and_shadowing():
    bg = context.background()
    a = context.with_value(bg, "user", "alice")
    b = context.with_value(a, "request", 42)
    c = context.with_value(b, "user", "bob")  # shadows a's value
    assert a.value("user") == "alice"
    assert b.value("user") == "alice"
    assert c.value("user") == "bob"
    assert c.value("request") == 42
    assert c.value("missing") is None
    # Values pass through cancellable contexts and without_cancel.
    d, _ = context.with_cancel(c)
    e = context.without_cancel(d)
    assert e.value("user") == "bob"
    assert e.value("request") == 42
    assert repr(a) == "context.Background.WithValue('user', 'alice')"


def test_value_keys_compare_with_eq():
    ctx = context.with_value(context.background(), ("a", 1), "tuple")
    assert ctx.value(("a", 1)) == "tuple"  # an equal, distinct key
    ctx2 = context.with_value(ctx, 1, "one")
    assert ctx2.value(1.0) == "one"
    unhashable = context.with_value(ctx, ["list"], "ok")
    assert unhashable.value(["list"]) == "ok"


def test_value_context_shares_done_err_deadline():
    parent, cancel = context.with_timeout(context.background(), 3600)
    v = context.with_value(parent, "k", "v")
    assert v.done() is parent.done()
    assert v.deadline() == parent.deadline()
    cancel()
    assert v.err() is parent.err()


def test_with_value_misuse():
    with pytest.raises(ValueError, match="nil key"):
        context.with_value(context.background(), None, 1)
    with pytest.raises(TypeError, match="nil parent"):
        context.with_value(None, "k", 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="nil parent"):
        context.with_cancel(None)  # type: ignore[arg-type]


# ---- without_cancel ------------------------------------------------------------


def test_without_cancel():
    parent, cancel = context.with_timeout(context.with_value(context.background(), "k", 1), 0.01)
    free = context.without_cancel(parent)
    assert free.done() is nilchan
    assert free.deadline() is None
    assert free.value("k") == 1
    parent.done().recv(timeout=5)
    assert free.err() is None
    assert context.cause(free) is None
    child, cancel_child = context.with_cancel(free)
    assert child.err() is None
    cancel_child()
    assert isinstance(child.err(), Canceled)
    cancel()


# ---- after_func ----------------------------------------------------------------


def test_after_func_runs_after_cancel():
    ctx, cancel = context.with_cancel(context.background())
    ran: Chan[str] = Chan(1)
    stop = context.after_func(ctx, lambda: ran.send(threading.current_thread().name))
    with pytest.raises(TimeoutError):
        ran.recv(timeout=0.05)
    cancel()
    assert ran.recv(timeout=5) != threading.current_thread().name  # a goroutine
    assert stop() is False


def test_after_func_stop_prevents_it():
    ctx, cancel = context.with_cancel(context.background())
    ran: Chan[int] = Chan(1)
    stop = context.after_func(ctx, lambda: ran.send(1))
    assert stop() is True
    assert stop() is False
    cancel()
    with pytest.raises(TimeoutError):
        ran.recv(timeout=0.1)


def test_after_func_on_a_done_context_runs_at_once():
    ctx, cancel = context.with_cancel(context.background())
    cancel()
    ran: Chan[int] = Chan(1)
    stop = context.after_func(ctx, lambda: ran.send(1))
    assert ran.recv(timeout=5) == 1
    assert stop() is False


def test_after_func_on_a_deadline_and_through_a_value_context():
    ctx, _ = context.with_timeout(context.background(), 0.02)
    ran: Chan[int] = Chan(1)
    context.after_func(context.with_value(ctx, "k", "v"), lambda: ran.send(7))
    assert ran.recv(timeout=5) == 7


def test_after_func_on_background_never_runs():
    ran: Chan[int] = Chan(1)
    stop = context.after_func(context.background(), lambda: ran.send(1))
    assert stop() is True
    assert stop() is False
    with pytest.raises(TimeoutError):
        ran.recv(timeout=0.05)


def test_after_func_stop_racing_cancel_exactly_one_wins():
    for _ in range(200):
        ctx, cancel = context.with_cancel(context.background())
        ran: Chan[int] = Chan(1)
        stop = context.after_func(ctx, lambda ran=ran: ran.send(1))
        t = threading.Thread(target=cancel)
        t.start()
        stopped = stop()
        t.join()
        try:
            ran.recv(timeout=0 if stopped else 5)
            did_run = True
        except TimeoutError:
            did_run = False
        assert stopped != did_run


def test_after_func_needs_a_callable():
    with pytest.raises(TypeError):
        context.after_func(context.background(), 3)  # type: ignore[arg-type]


# ---- a context of the user's own ------------------------------------------------


class ChanContext(context.Context):
    """A user-defined context: done when its channel is closed."""

    def __init__(self) -> None:
        self.ch: Chan[None] = Chan()
        self.error: BaseException | None = None

    def done(self) -> Chan[None]:
        return self.ch

    def err(self) -> BaseException | None:
        return self.error

    def cancel(self) -> None:
        self.error = Canceled("custom")
        self.ch.close()


def test_children_follow_a_foreign_parent():
    parent = ChanContext()
    child, cancel_child = context.with_cancel(parent)
    v = context.with_value(child, "k", 1)
    ran: Chan[int] = Chan(1)
    context.after_func(parent, lambda: ran.send(1))
    assert child.err() is None
    parent.cancel()
    assert child.done().recv(timeout=5) is None
    assert child.err() is parent.error
    assert v.err() is parent.error
    assert ran.recv(timeout=5) == 1
    cancel_child()
    # Already cancelled foreign parent: the child starts cancelled.
    late, _ = context.with_cancel(parent)
    assert late.err() is parent.error


def test_foreign_after_func_stop():
    parent = ChanContext()
    ran: Chan[int] = Chan(1)
    stop = context.after_func(parent, lambda: ran.send(1))
    assert stop() is True
    parent.cancel()
    with pytest.raises(TimeoutError):
        ran.recv(timeout=0.1)


# ---- the seed article's Context example ------------------------------------------


def test_seed_context_example():
    # func process(ctx) { select { case <-time.After(2s): "Completed work"
    #                              case <-ctx.Done(): "Work cancelled" } }
    # ctx, cancel := context.WithTimeout(context.Background(), 1s); go process(ctx)
    # (Scaled down: the work takes 0.4 s, the timeout is 0.1 s.)
    out: Chan[str] = Chan(1)

    def process(ctx: context.Context) -> None:
        i, _ = select(after(0.4).recv, ctx.done().recv)
        out.send("Completed work" if i == 0 else "Work cancelled")

    start = time.monotonic()
    ctx, cancel = context.with_timeout(context.background(), 0.1)
    try:
        go(process, ctx)
        assert out.recv(timeout=5) == "Work cancelled"
        assert time.monotonic() - start < 0.4  # it did not wait for the work
        assert isinstance(ctx.err(), DeadlineExceeded)
    finally:
        cancel()

    # With a timeout longer than the work, the work completes.
    ctx, cancel = context.with_timeout(context.background(), 2)
    try:
        go(process, ctx)
        assert out.recv(timeout=5) == "Completed work"
        assert ctx.err() is None
    finally:
        cancel()


def test_submodule_import():
    import gocurrent
    from gocurrent import context as ctx_module

    assert ctx_module is gocurrent.context
    assert "context" in gocurrent.__all__
