"""Bad input: hypothesis throws wrong types and values at every public entry
point. The only acceptable outcomes are a result or a documented exception
(TypeError, ValueError, OverflowError, TimeoutError, ChanClosedError, ...),
or an exception raised by the caller's own object (its ``__float__``,
``__index__``...). Never a crash, a hang (every call is bounded: operations
that could block get a ready channel or a timeout of at most a few
milliseconds) or a Rust panic (PyO3 turns one into
``pyo3_runtime.PanicException``, and the panic hook prints "panicked at").
"""

from __future__ import annotations

import asyncio
import decimal
import fractions
import math
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import gocurrent
import pytest
from gocurrent import Chan, ChanClosedError, go, nilchan, select, select_async
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import eventually


class UserError(Exception):
    """Raised by the test's own hostile objects: allowed to propagate."""


class Hostile:
    """Every conversion hook raises."""

    def __index__(self) -> int:
        raise UserError("__index__")

    def __int__(self) -> int:
        raise UserError("__int__")

    def __float__(self) -> float:
        raise UserError("__float__")

    def __bool__(self) -> bool:
        raise UserError("__bool__")

    def __repr__(self) -> str:
        return "Hostile()"


class BadEq:
    """Comparison and hashing raise (only ever built by st.builds)."""

    def __eq__(self, other: object) -> bool:
        raise UserError("__eq__")

    def __hash__(self) -> int:
        raise UserError("__hash__")

    def __repr__(self) -> str:
        return "BadEq()"


class FloatLike:
    def __init__(self, v: Any) -> None:
        self.v = v

    def __float__(self) -> Any:
        return self.v  # possibly not a float at all

    def __repr__(self) -> str:
        return f"FloatLike({self.v!r})"


class IndexLike:
    def __init__(self, v: int) -> None:
        self.v = v

    def __index__(self) -> int:
        return self.v

    def __repr__(self) -> str:
        return f"IndexLike({self.v!r})"


class FakeMethod:
    """Looks like a bound method of a channel (duck-typed select case)."""

    def __init__(self, owner: Any, name: Any) -> None:
        self.__self__ = owner
        self.__name__ = name

    def __repr__(self) -> str:
        return f"FakeMethod({self.__self__!r}, {self.__name__!r})"


class RaisingName:
    __self__ = Chan(1)

    @property
    def __name__(self) -> str:  # type: ignore[override]
        raise UserError("__name__")


SPECIAL_NUMBERS = [
    math.nan,
    -math.nan,
    math.inf,
    -math.inf,
    0.0,
    -0.0,
    5e-324,
    1e-300,
    1e300,
    1.7976931348623157e308,
    2**31,
    2**32,
    2**63 - 1,
    2**63,
    2**64,
    -(2**63) - 1,
    10**400,
    -(10**400),
    True,
    False,
    decimal.Decimal("NaN"),
    decimal.Decimal("-Infinity"),
    decimal.Decimal("1e-5"),
    fractions.Fraction(1, 3),
    1j,
]

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**300), max_value=2**300),
    st.floats(),
    st.text(max_size=4),
    st.binary(max_size=4),
    st.sampled_from(SPECIAL_NUMBERS),
    st.builds(FloatLike, st.one_of(st.floats(), st.text(max_size=2), st.none())),
    st.builds(IndexLike, st.integers()),
    st.builds(Hostile),
    st.builds(BadEq),
    st.builds(object),
    st.lists(st.integers(), max_size=3),
    st.tuples(st.integers(), st.integers()),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.sampled_from([Chan, Chan(1), nilchan, print, len, type, lambda: None]),
)

# Timeouts that can never make a call wait longer than a few milliseconds.
bounded_timeouts = st.one_of(
    st.floats(max_value=0.002),
    st.integers(max_value=0),
    st.integers(min_value=-(10**400), max_value=-(10**300)),
    st.sampled_from(
        [
            math.nan,
            -math.inf,
            -0.0,
            0,
            False,
            decimal.Decimal("-1"),
            fractions.Fraction(1, 1000),
            FloatLike(0.001),
            FloatLike(math.nan),
            FloatLike("x"),
            Hostile(),
            "0.001",
            b"0",
            [0],
            1j,
        ]
    ),
)

DOCUMENTED = (
    TypeError,
    ValueError,
    OverflowError,
    TimeoutError,  # context.DeadlineExceeded too
    ChanClosedError,
    gocurrent.context.Canceled,
    UserError,
)


def is_panic(e: BaseException) -> bool:
    return type(e).__name__ == "PanicException" or "panicked at" in str(e)


def attempt(fn: Callable[..., Any], *args: Any, allowed: tuple[type, ...] = DOCUMENTED, **kw: Any):
    """Calls fn; returns ("ok", result) or ("raised", exc). Fails on a panic,
    an undocumented exception, or a call that takes more than 2 s."""
    start = time.monotonic()
    try:
        result = fn(*args, **kw)
    except BaseException as e:
        assert not is_panic(e), f"Rust panic: {e!r}"
        if not isinstance(e, Exception) and not isinstance(e, allowed):
            raise  # pytest's own (a timeout's Failed), KeyboardInterrupt...
        if not isinstance(e, allowed):
            raise AssertionError(f"{fn!r}{args}{kw} raised {e!r}") from e
        outcome: tuple[str, Any] = ("raised", e)
    else:
        outcome = ("ok", result)
    assert time.monotonic() - start < 2, f"{fn!r}{args}{kw} took too long"
    return outcome


@pytest.fixture(autouse=True)
def no_panic_output(capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    yield
    out, err = capfd.readouterr()
    assert "panicked at" not in err + out


@pytest.fixture
def goroutine_errors(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[BaseException]]:
    """The errors of goroutines the test starts; the test's goroutines end before the next test.

    A timer with a junk delay may fire its function (``print``, say) just as
    the test returns: waiting here keeps that goroutine's output and errors out
    of whichever test runs next.
    """
    from gocurrent import runtime

    errors: list[BaseException] = []
    base = runtime.num_goroutine()
    monkeypatch.setattr(threading, "excepthook", lambda a: errors.append(a.exc_value))
    yield errors
    ended = eventually(lambda: runtime.num_goroutine() <= base, 30)
    assert ended, "the test's goroutines did not end"


SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(args=st.lists(junk, max_size=2), kwargs=st.dictionaries(st.sampled_from(["cap", "x"]), junk))
def test_chan_constructor(args: list[Any], kwargs: dict[str, Any]) -> None:
    kind, result = attempt(Chan, *args, **kwargs)
    if kind == "ok":
        assert isinstance(result, Chan)
        assert result.cap >= 0 and len(result) == 0 and not result.closed
        cap = (args or [kwargs.get("cap")])[0]
        assert type(cap) is int or isinstance(cap, int) or cap is None


@SETTINGS
@given(cap=st.sampled_from([-1, -(2**63), -(2**64), 2**41, 2**64, 10**30, True, 1.0, "1", None]))
def test_chan_capacity_errors(cap: Any) -> None:
    kind, result = attempt(Chan, cap)
    if cap is None:
        assert kind == "ok" and result.cap == 0
    else:
        assert kind == "raised"
        assert isinstance(result, (TypeError, ValueError, OverflowError))


@SETTINGS
@given(value=junk, timeout=junk)
def test_send_and_recv_on_a_ready_channel_with_any_timeout(value: Any, timeout: Any) -> None:
    """A ready operation with any timeout: it either completes or rejects the
    timeout, and never blocks (even for huge or infinite ones)."""
    ch: Chan[Any] = Chan(1)
    kind, r = attempt(ch.send, value, timeout=timeout)
    if kind == "raised":
        assert isinstance(r, (TypeError, ValueError, UserError)), r
        assert len(ch) == 0  # a rejected call has no effect
        return
    assert len(ch) == 1
    for recv in (ch.recv, ch.recv_ok):
        kind, r = attempt(recv, timeout=timeout)
        assert kind == "ok"
        if recv == ch.recv_ok:
            assert r == (None, False)  # closed below
        else:
            assert r is value
            ch.close()
    kind, r = attempt(select, ch.recv, default=True, timeout=timeout)
    assert kind == "ok" and r == (0, None)


@SETTINGS
@given(timeout=bounded_timeouts, cap=st.sampled_from([0, 1]))
def test_blocked_operations_with_bounded_timeouts(timeout: Any, cap: int) -> None:
    full: Chan[Any] = Chan(cap)
    if cap:
        full.send("x")
    empty: Chan[Any] = Chan(cap)
    calls: list[Callable[[], Any]] = [
        lambda: full.send("y", timeout=timeout),
        lambda: empty.recv(timeout=timeout),
        lambda: empty.recv_ok(timeout=timeout),
        lambda: nilchan.recv(timeout=timeout),
        lambda: nilchan.send(1, timeout=timeout),
        lambda: select(empty.recv, (full.send, 1), timeout=timeout),
        lambda: select(timeout=timeout),
    ]
    for call in calls:
        kind, r = attempt(call)
        assert kind == "raised" and isinstance(r, (TimeoutError, TypeError, ValueError, UserError))
    assert len(full) == cap and len(empty) == 0


@SETTINGS
@given(
    cases=st.lists(
        st.one_of(
            junk,
            st.tuples(junk, junk),
            st.tuples(junk),
            st.tuples(junk, junk, junk),
            st.sampled_from(["recv", "send", "recv_ok"]).map(lambda n: FakeMethod(Chan(1), n)),
            st.tuples(st.just("recv"), junk).map(lambda t: FakeMethod(t[1], t[0])),
            st.just(RaisingName()),
            st.sampled_from(["close", "recv_async", "__len__"]).map(lambda n: getattr(Chan(1), n)),
            st.just((Chan(1).recv, 1)),
            st.just((Chan(1).send,)),
            st.just(Chan(1).send),
        ),
        max_size=4,
    ),
    good=st.booleans(),
    default=junk,
    timeout=bounded_timeouts,
)
def test_select_with_junk_cases(cases: list[Any], good: bool, default: Any, timeout: Any) -> None:
    ready: Chan[Any] = Chan(1)
    ready.send("v")
    if good:
        cases = [ready.recv, *cases]
    # (a junk default that is falsy would block for ever on cases that are
    # never ready: a short timeout bounds it)
    for kw in (
        {"default": default, "timeout": 0.001},
        {"timeout": timeout},
        {"default": True, "timeout": timeout},
    ):
        kind, r = attempt(select, *cases, **kw)
        if kind == "ok":
            index, _ = r
            assert index == -1 or 0 <= index < len(cases)
            if index == 0 and good:
                ready.send("v")


@SETTINGS
@given(value=junk, timeout=junk)
def test_async_entry_points(value: Any, timeout: Any) -> None:
    ch: Chan[Any] = Chan(1)

    async def main() -> None:
        for make in (
            lambda: ch.send_async(value, timeout=timeout),
            lambda: ch.recv_async(timeout=timeout),
            lambda: ch.send_async(value, timeout=timeout),
            lambda: ch.recv_ok_async(timeout=timeout),
            lambda: select_async(ch.recv, default=True, timeout=timeout),
            lambda: select_async(ch.recv, value, timeout=timeout),
        ):
            kind, aw = attempt(make)
            if kind == "ok":
                # Ready (or defaulting) operations: awaiting never blocks.
                try:
                    await asyncio.wait_for(aw, 2)
                except BaseException as e:
                    assert not is_panic(e)
                    assert isinstance(e, DOCUMENTED), repr(e)

    asyncio.run(main())


@SETTINGS
@given(timeout=bounded_timeouts)
def test_async_operations_that_must_wait(timeout: Any) -> None:
    empty: Chan[Any] = Chan()

    async def main() -> None:
        for make in (
            lambda: empty.recv_async(timeout=timeout),
            lambda: empty.send_async(1, timeout=timeout),
            lambda: nilchan.recv_ok_async(timeout=timeout),
            lambda: select_async(empty.recv, timeout=timeout),
        ):
            kind, aw = attempt(make)
            if kind == "ok":
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(aw, 2)

    asyncio.run(main())


@SETTINGS
@given(args=st.lists(junk, max_size=3))
def test_awaitable_protocol_misuse(args: list[Any]) -> None:
    ch: Chan[Any] = Chan(1)
    ch.send(1)
    aw = ch.recv_async()
    allowed = (*DOCUMENTED, RuntimeError, StopIteration)
    # Drive it by hand with junk: send / throw / close in any order.
    attempt(aw.send, args[0] if args else None, allowed=allowed)
    attempt(aw.send, None, allowed=allowed)
    if args:
        attempt(aw.throw, *args, allowed=(*allowed, *(BaseException,)))
    attempt(aw.close, allowed=allowed)
    kind, r = attempt(aw.__next__, allowed=allowed)
    assert kind == "raised" and isinstance(r, RuntimeError)


@SETTINGS
@given(fn=junk, args=st.lists(junk, max_size=3), kwargs=st.dictionaries(st.text(max_size=3), junk))
def test_go_with_junk(
    fn: Any, args: list[Any], kwargs: dict[str, Any], goroutine_errors: list[BaseException]
) -> None:
    kind, r = attempt(go, fn, *args, **kwargs)
    if kind == "raised":
        assert isinstance(r, TypeError)
    assert not any(is_panic(e) for e in goroutine_errors)


def test_go_with_coroutines_and_bad_arguments(goroutine_errors: list[BaseException]) -> None:
    async def f(x: int) -> None:
        pass

    coro = f(1)
    with pytest.raises(TypeError):
        go(coro, 1)
    coro.close()
    with pytest.raises(TypeError):
        go(f)  # missing argument: the coroutine cannot even be created
    with pytest.raises(TypeError):
        go()  # type: ignore[call-arg]
    done = Chan()
    go(lambda: done.send(None))
    done.recv(timeout=5)
    time.sleep(0.05)
    assert not any(is_panic(e) for e in goroutine_errors)


@SETTINGS
@given(args=st.lists(junk, max_size=2))
def test_channel_methods_with_wrong_arity(args: list[Any]) -> None:
    ch: Chan[Any] = Chan(2)
    for method in (ch.close, ch.__len__, ch.__repr__, ch.__iter__, ch.recv, ch.recv_ok):
        if args:
            kind, r = attempt(method, *args)
            assert kind == "raised" and isinstance(r, TypeError)
    attempt(ch.send, *args, timeout=0)
    kind, r = attempt(Chan.__class_getitem__, *args)
    if len(args) == 1:
        assert kind == "ok"
    attempt(lambda: Chan[args[0]] if args else Chan[int])


MISUSE = (*DOCUMENTED, RuntimeError)


async def await_bounded(aw: Any, allowed: tuple[type, ...] = MISUSE) -> None:
    """Awaits an operation that cannot block for long; only documented errors."""

    async def outcome() -> BaseException | None:
        try:
            await aw
        except BaseException as e:
            return e
        return None

    try:
        e = await asyncio.wait_for(outcome(), 2)
    except TimeoutError:  # (asyncio.TimeoutError is TimeoutError since 3.11)
        raise AssertionError(f"{aw!r} hung") from None
    if e is not None:
        assert not is_panic(e), f"Rust panic: {e!r}"
        if not isinstance(e, allowed):
            raise e


def stopping(timer: Any) -> None:
    """Stops a timer a test made, so that nothing is left pending."""
    if hasattr(timer, "stop"):
        timer.stop()


@SETTINGS
@given(a=junk, b=junk, t=bounded_timeouts, any_t=junk)
def test_waitgroup(a: Any, b: Any, t: Any, any_t: Any, goroutine_errors: list[Any]) -> None:
    from gocurrent import WaitGroup

    wg = WaitGroup()
    attempt(wg.add, a)
    attempt(wg.add, b)
    attempt(wg.done, allowed=MISUSE)
    attempt(wg.wait, timeout=t)  # bounded: the counter may be anything now
    ready = WaitGroup()
    attempt(ready.wait, timeout=any_t)  # counter zero: never blocks
    attempt(ready.add, a, b)  # too many arguments
    attempt(ready.go, a, b)
    attempt(ready.wait, timeout=1)  # a junk goroutine still ends
    assert not any(is_panic(e) for e in goroutine_errors)

    async def main() -> None:
        for aw in (attempt(wg.wait_async, timeout=t), attempt(ready.wait_async, timeout=any_t)):
            if aw[0] == "ok":
                await await_bounded(aw[1])

    asyncio.run(main())


@SETTINGS
@given(t=bounded_timeouts, any_t=junk, exc=st.lists(junk, max_size=4))
def test_mutexes(t: Any, any_t: Any, exc: list[Any]) -> None:
    from gocurrent import Mutex, RWMutex

    mu, rw = Mutex(), RWMutex()
    assert attempt(mu.lock, timeout=any_t)[0] in ("ok", "raised")  # free: never blocks
    if mu.locked:
        attempt(mu.lock, timeout=t)  # held: bounded
        attempt(mu.__exit__, *exc)
    attempt(mu.unlock, allowed=MISUSE)
    attempt(mu.unlock, allowed=MISUSE)
    assert not mu.locked
    attempt(rw.rlock, timeout=any_t)
    attempt(rw.lock, timeout=t)
    attempt(rw.runlock, allowed=MISUSE)
    attempt(rw.runlock, allowed=MISUSE)
    attempt(rw.unlock, allowed=MISUSE)
    attempt(rw.rlocker().unlock, allowed=MISUSE)
    attempt(rw.__exit__, *exc, allowed=MISUSE)
    assert rw.try_lock()
    rw.unlock()

    async def main() -> None:
        mu.lock()
        for make in (lambda: mu.lock_async(timeout=t), lambda: rw.lock_async(timeout=any_t)):
            kind, aw = attempt(make)
            if kind == "ok":
                await await_bounded(aw)
        mu.unlock()

    asyncio.run(main())
    assert not mu.locked


@SETTINGS
@given(lock=junk, t=bounded_timeouts)
def test_cond(lock: Any, t: Any) -> None:
    from gocurrent import Cond

    kind, cond = attempt(Cond, lock, allowed=MISUSE)
    if kind == "raised":
        return
    attempt(cond.wait, timeout=t, allowed=MISUSE)  # L not held
    attempt(cond.signal)
    attempt(cond.broadcast)


@SETTINGS
@given(n=junk, k=junk, ctx=junk, t=bounded_timeouts, any_t=junk)
def test_semaphore(n: Any, k: Any, ctx: Any, t: Any, any_t: Any) -> None:
    from gocurrent import Semaphore, context

    kind, sem = attempt(Semaphore, n)
    if kind == "raised":
        sem = Semaphore(2)
    attempt(sem.try_acquire, k)
    attempt(sem.acquire, k, timeout=t)
    attempt(sem.acquire, 1, ctx=ctx, timeout=t)
    done, cancel = context.with_cancel(context.background())
    cancel()
    attempt(sem.acquire, 1, ctx=done, timeout=any_t)  # a done ctx: never blocks
    attempt(sem.release, k, allowed=MISUSE)

    async def main() -> None:
        kind, aw = attempt(sem.acquire_async, k, ctx=ctx, timeout=t)
        if kind == "ok":
            await await_bounded(aw)

    asyncio.run(main())


@SETTINGS
@given(a=junk, b=junk, key=junk, fn=junk)
def test_once_and_map(a: Any, b: Any, key: Any, fn: Any) -> None:
    from gocurrent import Map, Once, once_func, once_value

    allowed = (Exception,)  # fn is the caller's: whatever it raises comes back
    attempt(Once().do, fn, allowed=allowed)
    kind, f = attempt(once_func, fn)
    if kind == "ok":
        attempt(f, allowed=allowed)
        attempt(f, allowed=allowed)
    kind, f = attempt(once_value, fn)
    if kind == "ok":
        attempt(f, allowed=allowed)
    m = Map()
    for call in (
        lambda: m.store(key, a),
        lambda: m.load(key),
        lambda: m.load_or_store(key, b),
        lambda: m.swap(key, b),
        lambda: m.compare_and_swap(key, a, b),
        lambda: m.compare_and_delete(key, a),
        lambda: m.load_and_delete(key),
        lambda: m.delete(key),
        lambda: m.range(fn),
        lambda: len(m),
        m.clear,
    ):
        attempt(call, allowed=allowed)


@SETTINGS
@given(v=junk, w=junk)
def test_atomics(v: Any, w: Any) -> None:
    from gocurrent import atomic

    for cls in (atomic.Int32, atomic.Int64, atomic.Uint32, atomic.Uint64):
        kind, a = attempt(cls, v)
        if kind == "raised":
            assert isinstance(a, (TypeError, OverflowError, UserError))
            a = cls()
        for method in (a.store, a.add, a.swap, a.and_, a.or_):
            attempt(method, v)
        attempt(a.compare_and_swap, v, w)
        assert isinstance(a.load(), int)
    b = atomic.Bool()
    for method in (b.store, b.swap):
        attempt(method, v)
    attempt(b.compare_and_swap, v, w)
    assert isinstance(b.load(), bool)
    val = atomic.Value()
    attempt(val.store, v)
    attempt(val.compare_and_swap, v, w)
    attempt(val.swap, w)


@SETTINGS
@given(secs=junk, fn=junk, period=junk)
def test_timers(secs: Any, fn: Any, period: Any, goroutine_errors: list[Any]) -> None:
    from gocurrent import Ticker, Timer, after, after_func, tick

    for make in (Timer, Ticker, lambda s: after_func(s, fn), lambda s: after_func(s, print)):
        kind, timer = attempt(make, secs)
        if kind == "ok":
            attempt(timer.reset, period)
            stopping(timer)
    kind, ch = attempt(after, secs)
    if kind == "ok":
        assert isinstance(ch, Chan)
    kind, ch = attempt(tick, secs)
    assert not any(is_panic(e) for e in goroutine_errors)


@SETTINGS
@given(parent=junk, x=junk, y=junk, fn=junk)
def test_context_functions(parent: Any, x: Any, y: Any, fn: Any) -> None:
    from gocurrent import context

    bg = context.background()
    for p in (parent, bg):
        for make in (
            lambda p=p: context.with_cancel(p),
            lambda p=p: context.with_cancel_cause(p),
            lambda p=p: context.with_timeout(p, x),
            lambda p=p: context.with_deadline(p, x),
            lambda p=p: context.with_value(p, x, y),
            lambda p=p: context.without_cancel(p),
        ):
            kind, r = attempt(make)
            if kind == "ok" and isinstance(r, tuple):
                ctx, cancel = r
                attempt(cancel, x)  # a cause (with_cancel_cause) or too many arguments
                cancel()
                attempt(ctx.value, x)
                assert ctx.err() is not None
    for call in (
        lambda: context.cause(parent),
        lambda: context.after_func(parent, fn),
        lambda: context.after_func(bg, fn),
        lambda: bg.value(x),
    ):
        kind, r = attempt(call)
        if kind == "ok" and callable(r):
            r()


@SETTINGS
@given(fn=junk, n=junk, ctx=junk, args=st.lists(junk, max_size=2))
def test_errgroup(fn: Any, n: Any, ctx: Any, args: list[Any]) -> None:
    from gocurrent import ErrGroup, errgroup

    g = ErrGroup()
    attempt(g.set_limit, n, allowed=MISUSE)
    attempt(g.try_go, fn, *args)
    attempt(g.set_limit, -1, allowed=MISUSE)
    attempt(g.go, fn, *args)
    attempt(g.wait, allowed=(Exception,))  # fn's own error comes back
    attempt(errgroup.with_context, ctx)


@SETTINGS
@given(key=junk, fn=junk)
def test_singleflight(key: Any, fn: Any) -> None:
    from gocurrent import singleflight

    g = singleflight.Group()
    attempt(g.do, key, fn)  # fn's own TypeError (len(), type()) is allowed
    kind, ch = attempt(g.do_chan, key, fn)
    if kind == "ok":
        r = ch.recv(timeout=2)
        assert isinstance(r, singleflight.Result)
    attempt(g.forget, key)

    async def main() -> None:
        kind, aw = attempt(g.do_async, key, fn)
        if kind == "ok":
            await await_bounded(aw)

    asyncio.run(main())
    assert not g._calls  # nothing left in flight


@SETTINGS
@given(r=junk, b=junk, n=junk, now=junk, ctx=junk, t=bounded_timeouts)
def test_rate(r: Any, b: Any, n: Any, now: Any, ctx: Any, t: Any) -> None:
    from gocurrent import rate

    attempt(rate.every, r)
    kind, lim = attempt(rate.Limiter, r, b)
    if kind == "raised":
        lim = rate.Limiter(1000, 5)
    attempt(lim.allow_n, n, now)
    attempt(lim.tokens, now)
    kind, res = attempt(lim.reserve_n, n, now)
    if kind == "ok":
        attempt(res.delay_from, now)
        attempt(res.cancel, now)
    attempt(lim.set_limit, r, now)
    attempt(lim.set_burst, b, now)
    # Bounded: a wait beyond the timeout fails at once.
    attempt(lim.wait, n, ctx=ctx, timeout=t)
    attempt(lim.wait, 1, ctx=ctx, timeout=t)

    async def main() -> None:
        kind, aw = attempt(lim.wait_async, n, ctx=ctx, timeout=t)
        if kind == "ok":
            await await_bounded(aw)

    asyncio.run(main())


@pytest.mark.parametrize("signum", [None, "SIGQUIT", -1, 10**6, 1.5])
def test_runtime_bad_input(signum: Any) -> None:
    from gocurrent import runtime

    outcome, exc = attempt(runtime.dump_on_signal, signum, allowed=(TypeError, ValueError))
    assert outcome == "raised", exc
    # The queries take no arguments and never fail.
    assert attempt(runtime.num_goroutine)[0] == "ok"
    assert attempt(runtime.goroutines)[0] == "ok"
    assert attempt(runtime.stack)[0] == "ok"
    assert issubclass(gocurrent.DeadlockError, RuntimeError)


def test_everything_public_was_exercised() -> None:
    """A new public name must get its bad-input test here."""
    covered = {
        "Chan",
        "ChanClosedError",
        "go",
        "nilchan",
        "select",
        "select_async",
        "WaitGroup",
        "Mutex",
        "RWMutex",
        "Cond",
        "Semaphore",
        "Once",
        "once_func",
        "once_value",
        "Map",
        "atomic",
        "Timer",
        "Ticker",
        "after",
        "tick",
        "after_func",
        "context",
        "errgroup",
        "ErrGroup",
        "singleflight",
        "rate",
        "runtime",
        "DeadlockError",
    }
    assert set(gocurrent.__all__) <= covered, set(gocurrent.__all__) - covered
