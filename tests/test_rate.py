"""gocurrent.rate (API.md, section rate).

The first part ports golang.org/x/time/rate/rate_test.go test by test
(Go's name in each docstring), with explicit ``now`` values where Go
passes times, and Go's fake timer (``testTime``) for the ``wait`` tests,
through the same internal hook Go's tests use (``Limiter._wait`` takes
the start time and a timer maker). Then ``wait``/``wait_async`` on the
real clock: contexts, timeouts, first come first served, threads.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from gocurrent import Chan, WaitGroup, context, go, rate
from gocurrent.rate import Limiter, every, inf
from support import start as start_task
from support import until

D = 0.1  # Go's d = 100 * time.Millisecond
D_NS = 100_000_000
T0 = time.monotonic()


def t(i: int) -> float:
    """Go's t0..t9: T0 + i*d."""
    return T0 + i * D


def ns(seconds: float) -> int:
    return rate._to_ns(seconds)


def test_limit():
    """TestLimit."""
    assert 10 != inf


def close_enough(a: float, b: float) -> bool:
    return (abs(a / b) - 1.0) < 1e-9


@pytest.mark.parametrize(
    ("interval", "lim"),
    [
        (0, inf),
        (-1e-9, inf),
        (1e-9, 1e9),
        (1e-6, 1e6),
        (1e-3, 1e3),
        (10e-3, 100),
        (100e-3, 10),
        (1, 1),
        (2, 0.5),
        (2.5, 0.4),
        (4, 0.25),
        (10, 0.1),
        ((2**63 - 1) / 1e9, 1e9 / (2**63 - 1)),
    ],
)
def test_every(interval, lim):
    """TestEvery."""
    got = every(interval)
    assert got == inf if lim == inf else close_enough(got, lim), (interval, got, lim)


@dataclass
class Allow:
    t: float
    toks: float
    n: int
    ok: bool


def run(lim: Limiter, allows: list[Allow]) -> None:
    for i, a in enumerate(allows):
        toks = lim.tokens(now=a.t)
        assert toks == a.toks, f"step {i}: lim.tokens({a.t}) = {toks} want {a.toks}"
        ok = lim.allow_n(a.n, now=a.t)
        assert ok == a.ok, f"step {i}: lim.allow_n({a.n}, {a.t}) = {ok} want {a.ok}"


def test_limiter_burst_1():
    """TestLimiterBurst1."""
    run(
        Limiter(10, 1),
        [
            Allow(t(0), 1, 1, True),
            Allow(t(0), 0, 1, False),
            Allow(t(0), 0, 1, False),
            Allow(t(1), 1, 1, True),
            Allow(t(1), 0, 1, False),
            Allow(t(1), 0, 1, False),
            Allow(t(2), 1, 2, False),  # burst size is 1, so n=2 always fails
            Allow(t(2), 1, 1, True),
            Allow(t(2), 0, 1, False),
        ],
    )


def test_limiter_burst_3():
    """TestLimiterBurst3."""
    run(
        Limiter(10, 3),
        [
            Allow(t(0), 3, 2, True),
            Allow(t(0), 1, 2, False),
            Allow(t(0), 1, 1, True),
            Allow(t(0), 0, 1, False),
            Allow(t(1), 1, 4, False),
            Allow(t(2), 2, 1, True),
            Allow(t(3), 2, 1, True),
            Allow(t(4), 2, 1, True),
            Allow(t(4), 1, 1, True),
            Allow(t(4), 0, 1, False),
            Allow(t(4), 0, 1, False),
            Allow(t(9), 3, 3, True),
            Allow(t(9), 0, 0, True),
        ],
    )


def test_limiter_jump_backwards():
    """TestLimiterJumpBackwards."""
    run(
        Limiter(10, 3),
        [
            Allow(t(1), 3, 1, True),  # start at t1
            Allow(t(0), 2, 1, True),  # jump back to t0, two tokens remain
            Allow(t(0), 1, 1, True),
            Allow(t(0), 0, 1, False),
            Allow(t(0), 0, 1, False),
            Allow(t(1), 1, 1, True),  # got a token
            Allow(t(1), 0, 1, False),
            Allow(t(1), 0, 1, False),
            Allow(t(2), 1, 1, True),  # got another token
            Allow(t(2), 0, 1, False),
            Allow(t(2), 0, 1, False),
        ],
    )


def test_limiter_no_truncation_errors():
    """TestLimiter_noTruncationErrors (golang/go#34861)."""
    assert Limiter(0.7692307692307693, 1).allow()


class FakeTime:
    """Go's testTime: a fake clock (ns) and fake timers on gocurrent channels."""

    def __init__(self) -> None:
        self.mu = threading.Lock()
        self.cur = time.monotonic_ns()
        self.timers: list[tuple[int, Chan[float]]] = []

    def now(self) -> int:
        with self.mu:
            return self.cur

    def new_timer(self, seconds: float) -> tuple[Chan[float], Any, Any]:
        with self.mu:
            ch: Chan[float] = Chan(1)
            self.timers.append((self.cur + ns(seconds), ch))
            return ch, lambda: True, self.advance_to_timer

    def since(self, start: int) -> int:
        with self.mu:
            return self.cur - start

    def advance(self, dur: int) -> None:
        with self.mu:
            self._advance(dur)

    def _advance(self, dur: int) -> None:
        self.cur += dur
        keep = []
        for when, ch in self.timers:
            if when > self.cur:
                keep.append((when, ch))
            else:
                ch.send(self.cur / 1e9)
        self.timers = keep

    def advance_to_timer(self) -> None:
        with self.mu:
            if not self.timers:
                raise AssertionError("no timer")
            when = min(w for w, _ in self.timers)
            self._advance(when - self.cur)


def test_simultaneous_requests():
    """TestSimultaneousRequests: 15 goroutines, burst 5, a very slow
    refill: exactly 5 are allowed. Every request is made at the same
    instant (explicit ``now``), so a slow machine cannot refill a token."""
    limit, burst, num_requests = 1, 5, 15
    wg = WaitGroup()
    ok = Chan(num_requests)
    lim = Limiter(limit, burst)
    now = time.monotonic()

    def f():
        try:
            if lim.allow_n(1, now=now):
                ok.send(True)
        finally:
            wg.done()

    wg.add(num_requests)
    for _ in range(num_requests):
        go(f)
    wg.wait(timeout=60)
    assert len(ok) == burst


def test_long_running_qps():
    """TestLongRunningQPS: 5 fake seconds of requests every 2 ms."""
    limit, burst = 100, 100
    num_ok = 0
    tt = FakeTime()
    lim = Limiter(limit, burst)
    start = tt.now()
    end = start + 5 * 1_000_000_000
    while tt.now() < end:
        if lim.allow_n(1, now=tt.now() / 1e9):
            num_ok += 1
        tt.advance(2_000_000)
    elapsed = tt.since(start)
    ideal = burst + limit * elapsed / 1e9
    assert num_ok <= int(ideal + 1)  # never more than allowed
    assert num_ok >= int(0.999 * ideal)  # very close to it


def d_from_ns(dur: int) -> int:
    """Go's dFromDuration: rounds to the nearest multiple of d."""
    return (dur + D_NS // 2) // D_NS


def d_since(t_ns: int) -> int:
    return d_from_ns(t_ns - ns(T0))


@dataclass
class Request:
    t: float
    n: int
    act: float
    ok: bool


def run_reserve(lim: Limiter, req: Request, max_reserve: int = rate._INF_DURATION):
    """Go's runReserveMax: reserve req.n at req.t, check (act, ok)."""
    r = lim._reserve_n(ns(req.t), req.n, max_reserve)
    assert r.ok == req.ok, (req, r)
    if r.ok:
        assert d_since(r._time_to_act) == d_since(ns(req.act)), (req, r._time_to_act)
    return r


def test_simple_reserve():
    """TestSimpleReserve."""
    lim = Limiter(10, 2)
    run_reserve(lim, Request(t(0), 2, t(0), True))
    run_reserve(lim, Request(t(0), 2, t(2), True))
    run_reserve(lim, Request(t(3), 2, t(4), True))


def test_mix():
    """TestMix."""
    lim = Limiter(10, 2)
    run_reserve(lim, Request(t(0), 3, t(1), False))  # n > burst
    run_reserve(lim, Request(t(0), 2, t(0), True))
    run(lim, [Allow(t(1), 1, 2, False)])  # not enough tokens
    run_reserve(lim, Request(t(1), 2, t(2), True))
    run(lim, [Allow(t(1), -1, 1, False)])  # negative tokens
    run(lim, [Allow(t(3), 1, 1, True)])


def test_cancel_invalid():
    """TestCancelInvalid."""
    lim = Limiter(10, 2)
    run_reserve(lim, Request(t(0), 2, t(0), True))
    r = run_reserve(lim, Request(t(0), 3, t(3), False))
    r.cancel(now=t(0))  # no effect
    run_reserve(lim, Request(t(0), 2, t(2), True))  # no extra tokens


def test_cancel_last():
    """TestCancelLast."""
    lim = Limiter(10, 2)
    run_reserve(lim, Request(t(0), 2, t(0), True))
    r = run_reserve(lim, Request(t(0), 2, t(2), True))
    r.cancel(now=t(1))  # got 2 tokens back
    run_reserve(lim, Request(t(1), 2, t(2), True))


def test_cancel_too_late():
    """TestCancelTooLate."""
    lim = Limiter(10, 2)
    run_reserve(lim, Request(t(0), 2, t(0), True))
    r = run_reserve(lim, Request(t(0), 2, t(2), True))
    r.cancel(now=t(3))  # too late: no effect
    run_reserve(lim, Request(t(3), 2, t(4), True))


def test_cancel_0_tokens():
    """TestCancel0Tokens."""
    lim = Limiter(10, 2)
    run_reserve(lim, Request(t(0), 2, t(0), True))
    r = run_reserve(lim, Request(t(0), 1, t(1), True))
    run_reserve(lim, Request(t(0), 1, t(2), True))
    r.cancel(now=t(0))  # got 0 tokens back
    run_reserve(lim, Request(t(0), 1, t(3), True))


def test_cancel_1_token():
    """TestCancel1Token."""
    lim = Limiter(10, 2)
    run_reserve(lim, Request(t(0), 2, t(0), True))
    r = run_reserve(lim, Request(t(0), 2, t(2), True))
    run_reserve(lim, Request(t(0), 1, t(3), True))
    r.cancel(now=t(2))  # got 1 token back
    run_reserve(lim, Request(t(2), 2, t(4), True))


def test_cancel_multi():
    """TestCancelMulti."""
    lim = Limiter(10, 4)
    run_reserve(lim, Request(t(0), 4, t(0), True))
    r_a = run_reserve(lim, Request(t(0), 3, t(3), True))
    run_reserve(lim, Request(t(0), 1, t(4), True))
    r_c = run_reserve(lim, Request(t(0), 1, t(5), True))
    r_c.cancel(now=t(1))  # 1 token back
    r_a.cancel(now=t(1))  # 2 tokens back, as if C was never reserved
    run_reserve(lim, Request(t(1), 3, t(5), True))


def test_reserve_jump_back():
    """TestReserveJumpBack."""
    lim = Limiter(10, 2)
    run_reserve(lim, Request(t(1), 2, t(1), True))  # start at t1
    run_reserve(lim, Request(t(0), 1, t(1), True))  # should violate Limit,Burst
    run_reserve(lim, Request(t(2), 2, t(3), True))
    # n=3 > burst always fails, and the state of lim is unchanged
    run_reserve(lim, Request(t(0), 3, 0.0, False))
    run_reserve(lim, Request(t(2), 1, t(4), True))
    # maxReserve is not enough so it fails, and the state is unchanged
    run_reserve(lim, Request(t(0), 2, 0.0, False), D_NS)
    run_reserve(lim, Request(t(2), 1, t(5), True))


def test_reserve_jump_back_cancel():
    """TestReserveJumpBackCancel."""
    lim = Limiter(10, 2)
    run_reserve(lim, Request(t(1), 2, t(1), True))  # start at t1
    r = run_reserve(lim, Request(t(1), 2, t(3), True))
    run_reserve(lim, Request(t(1), 1, t(4), True))
    r.cancel(now=t(0))  # cancel at t0, get 1 token back
    run_reserve(lim, Request(t(1), 2, t(4), True))  # should violate Limit,Burst


def test_reserve_set_limit():
    """TestReserveSetLimit."""
    lim = Limiter(5, 2)
    run_reserve(lim, Request(t(0), 2, t(0), True))
    run_reserve(lim, Request(t(0), 2, t(4), True))
    lim.set_limit(10, now=t(2))
    run_reserve(lim, Request(t(2), 1, t(4), True))  # violates Limit and Burst


def test_reserve_set_burst():
    """TestReserveSetBurst."""
    lim = Limiter(5, 2)
    run_reserve(lim, Request(t(0), 2, t(0), True))
    run_reserve(lim, Request(t(0), 2, t(4), True))
    lim.set_burst(4, now=t(3))
    run_reserve(lim, Request(t(0), 4, t(9), True))  # violates Limit and Burst


def test_reserve_set_limit_cancel():
    """TestReserveSetLimitCancel."""
    lim = Limiter(5, 2)
    run_reserve(lim, Request(t(0), 2, t(0), True))
    r = run_reserve(lim, Request(t(0), 2, t(4), True))
    lim.set_limit(10, now=t(2))
    r.cancel(now=t(2))  # 2 tokens back
    run_reserve(lim, Request(t(2), 2, t(3), True))


def test_reserve_max():
    """TestReserveMax."""
    lim = Limiter(10, 2)
    run_reserve(lim, Request(t(0), 2, t(0), True), D_NS)
    run_reserve(lim, Request(t(0), 1, t(1), True), D_NS)  # close future
    run_reserve(lim, Request(t(0), 1, t(2), False), D_NS)  # too far


def wait_delay_ok(want_d: int, got_ns: int) -> bool:
    """Go's waitDelayOk, on the fake clock."""
    got_d = d_from_ns(got_ns)
    return want_d <= got_d <= (want_d * 3 + 1) // 2


def run_wait(tt: FakeTime, lim: Limiter, name: str, ctx, n: int, delay: int, nil_err: bool):
    """Go's runWait: lim.wait(ctx, n, start, tt.newTimer) on the fake clock."""
    start = tt.now()
    err = None
    try:
        lim._wait(n, ctx, None, start, tt.new_timer)
    except Exception as e:
        err = e
    got = tt.since(start)
    assert (err is None) == nil_err, (name, err)
    assert wait_delay_ok(delay, got), (name, got)
    return err


def test_wait_simple():
    """TestWaitSimple."""
    tt = FakeTime()
    lim = Limiter(10, 3)
    ctx, cancel = context.with_cancel(context.background())
    cancel()
    err = run_wait(tt, lim, "already-cancelled", ctx, 1, 0, False)
    assert isinstance(err, context.Canceled)
    err = run_wait(tt, lim, "exceed-burst-error", context.background(), 4, 0, False)
    assert isinstance(err, ValueError)
    assert str(err) == "rate: Wait(n=4) exceeds limiter's burst 3"
    run_wait(tt, lim, "act-now", context.background(), 2, 0, True)
    run_wait(tt, lim, "act-later", context.background(), 3, 2, True)


def test_wait_cancel():
    """TestWaitCancel: a cancelled wait gives its 3 tokens back."""
    tt = FakeTime()
    lim = Limiter(10, 3)
    ctx, cancel = context.with_cancel(context.background())
    run_wait(tt, lim, "act-now", ctx, 2, 0, True)  # lim.tokens = 1 now
    ch, _, _ = tt.new_timer(D)

    def canceller():
        ch.recv()
        cancel()

    go(canceller)
    err = run_wait(tt, lim, "will-cancel", ctx, 3, 1, False)
    assert isinstance(err, context.Canceled)
    # should get 3 tokens back, and have lim.tokens = 2
    run_wait(tt, lim, "act-now-after-cancel", context.background(), 2, 0, True)


def test_wait_timeout():
    """TestWaitTimeout: a wait beyond ctx's deadline fails at once."""
    tt = FakeTime()
    lim = Limiter(10, 3)
    ctx, cancel = context.with_timeout(context.background(), D)
    try:
        run_wait(tt, lim, "act-now", ctx, 2, 0, True)
        err = run_wait(tt, lim, "w-timeout-err", ctx, 3, 0, False)
        assert isinstance(err, TimeoutError)
        assert str(err) == "rate: Wait(n=3) would exceed context deadline"
    finally:
        cancel()


def test_wait_inf():
    """TestWaitInf: an infinite rate ignores the burst."""
    tt = FakeTime()
    lim = Limiter(inf, 0)
    run_wait(tt, lim, "exceed-burst-no-error", context.background(), 3, 0, True)


def test_zero_limit():
    """TestZeroLimit."""
    r = Limiter(0, 1)
    assert r.allow()
    assert not r.allow()


def test_set_after_zero_limit():
    """TestSetAfterZeroLimit."""
    lim = Limiter(0, 1)
    assert lim.allow()  # starts full, even at rate 0
    assert not lim.allow()  # but never refills
    lim.set_limit(10)
    tt = FakeTime()
    # 10/s: another token in 100 ms
    run_wait(tt, lim, "wait-after-set-nonzero-after-zero", context.background(), 1, 1, True)


def test_tiny_limit():
    """TestTinyLimit (golang/go#71154): no overflow at a tiny rate."""
    lim = Limiter(1e-10, 1)
    assert lim.allow()
    assert not lim.allow()


# ---- beyond Go's tests: the API, the real clock, contexts, coroutines -------


def test_accessors_and_reservation():
    lim = Limiter(10, 2)
    assert (lim.limit(), lim.burst()) == (10, 2)
    assert lim.tokens(now=t(0)) == 2
    r = lim.reserve_n(3, now=t(0))
    assert not r.ok and r.delay() == inf and r.delay_from(t(0)) == inf
    r.cancel()  # does nothing
    r = lim.reserve_n(2, now=t(0))
    assert r.ok and r.delay_from(t(0)) == 0
    r = lim.reserve_n(1, now=t(0))
    assert r.ok and r.delay_from(t(0)) == pytest.approx(0.1)
    assert r.delay_from(t(5)) == 0
    assert "ok=True" in repr(r) and "burst=2" in repr(lim)
    lim.set_burst(5, now=t(0))
    assert lim.burst() == 5
    with pytest.raises(TypeError):
        lim.allow_n(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Limiter(1, 2.0)  # type: ignore[arg-type]
    assert every(0.5) == 2 and math.isinf(every(-1))


def test_reserve_and_allow_on_the_real_clock():
    lim = Limiter(1000, 1)
    assert lim.allow()
    r = lim.reserve()
    assert r.ok and 0 < r.delay() <= 0.001 + 1e-9


def test_wait_blocks_for_the_tokens_due():
    lim = Limiter(20, 1)  # one every 50 ms
    start = time.monotonic()
    for _ in range(4):  # one at once, then three 50 ms apart
        lim.wait()
    assert time.monotonic() - start >= 0.15 - 0.01


def test_wait_timeout_fails_at_once_taking_no_tokens():
    lim = Limiter(1, 1)
    assert lim.allow()
    before = lim.tokens()
    start = time.monotonic()
    with pytest.raises(TimeoutError, match=r"rate: Wait\(n=1\) would exceed context deadline"):
        lim.wait(timeout=0.2)  # the token is due in ~1 s
    assert time.monotonic() - start < 0.15  # at once, not after 0.2 s
    assert lim.tokens() >= before  # nothing taken
    # timeout 0 with a token at hand: one non-blocking attempt succeeds.
    lim2 = Limiter(1, 1)
    lim2.wait(timeout=0)
    with pytest.raises(TimeoutError):
        lim2.wait(timeout=0)


def test_wait_within_timeout_succeeds():
    lim = Limiter(20, 1)
    lim.wait()
    lim.wait(timeout=1)  # due in 50 ms


def test_wait_with_ctx_deadline_too_soon():
    lim = Limiter(1, 1)
    lim.wait()
    ctx, cancel = context.with_timeout(context.background(), 0.2)
    try:
        with pytest.raises(TimeoutError, match="would exceed context deadline"):
            lim.wait(ctx=ctx)
    finally:
        cancel()


def test_wait_cancelled_midway_raises_ctx_err_and_returns_tokens():
    lim = Limiter(2, 1)  # a token every 0.5 s
    lim.wait()
    ctx, cancel = context.with_cancel(context.background())
    out = []

    def waiter():
        try:
            lim.wait(3 - 2, ctx=ctx)
        except BaseException as e:
            out.append(e)

    wg = WaitGroup()
    wg.go(waiter)
    time.sleep(0.05)
    assert lim.tokens() < -0.5  # the waiter booked its token
    cancel()
    wg.wait(timeout=10)
    assert len(out) == 1 and out[0] is ctx.err()
    assert lim.tokens() > -0.5  # given back


def test_wait_errors():
    lim = Limiter(10, 3)
    with pytest.raises(ValueError, match=r"^rate: Wait\(n=4\) exceeds limiter's burst 3$"):
        lim.wait(4)
    ctx, cancel = context.with_cancel(context.background())
    cancel()
    with pytest.raises(context.Canceled):
        lim.wait(ctx=ctx)  # even with tokens at hand
    assert lim.tokens() == pytest.approx(3, abs=0.01)
    Limiter(inf, 0).wait(100)  # inf ignores the burst


def test_waiters_are_served_first_come_first_served():
    lim = Limiter(50, 1)  # one every 20 ms
    lim.wait()
    order: Chan[int] = Chan(5)
    wg = WaitGroup()
    for i in range(5):
        arrived = threading.Event()

        def waiter(i=i, arrived=arrived):
            arrived.set()
            lim.wait()
            order.send(i)

        wg.go(waiter)
        assert arrived.wait(10)
        time.sleep(0.005)  # let it book before the next arrives
    wg.wait(timeout=10)
    assert [order.recv() for _ in range(5)] == list(range(5))


def test_many_threads_share_one_limiter():
    lim = Limiter(200, 10)
    n = 60
    wg = WaitGroup()
    start = time.monotonic()
    for _ in range(8):
        wg.go(lambda: [lim.wait() for _ in range(n // 8 + 1)])
    wg.wait(timeout=30)
    total = 8 * (n // 8 + 1)
    # 10 at once, then 200/s: never faster than the rate allows.
    assert time.monotonic() - start >= (total - 10) / 200 * 0.95


async def bounded(main):
    """main(), failing after 10 s (under asyncio or trio)."""
    with anyio.fail_after(10):
        return await main()


def test_wait_async_twins(arun):
    async def main():
        lim = Limiter(20, 1)
        start = time.monotonic()
        for _ in range(3):
            await lim.wait_async()
        elapsed = time.monotonic() - start
        with pytest.raises(ValueError, match="exceeds limiter's burst 1"):
            await lim.wait_async(2)
        with pytest.raises(TimeoutError, match="would exceed context deadline"):
            await lim.wait_async(timeout=0.001)
        ctx, cancel = context.with_cancel(context.background())
        async with anyio.create_task_group() as tg:
            task = start_task(tg, lambda: lim.wait_async(ctx=ctx))
            await anyio.sleep(0.01)
            cancel()
            with pytest.raises(context.Canceled):
                await task.result()
        return elapsed, lim

    elapsed, _ = arun(bounded, main)
    assert elapsed >= 0.1 - 0.01


def test_cancelled_wait_async_returns_its_tokens(arun):
    lim = Limiter(1, 1)
    lim.allow()

    async def main():
        async with anyio.create_task_group() as tg:
            task = start_task(tg, lim.wait_async)
            await anyio.sleep(0.02)
            assert lim.tokens() < -0.5
            task.cancel()
            await task.wait()
        assert task.cancelled

    arun(bounded, main)
    assert lim.tokens() > -0.5


def test_threads_and_coroutines_share_one_limiter_in_arrival_order(arun):
    lim = Limiter(50, 1)
    lim.wait()
    order: list[str] = []

    def thread_waiter():
        lim.wait()
        order.append("thread")

    async def main():
        wg = WaitGroup()
        wg.go(thread_waiter)
        await until(lambda: lim.tokens() <= -0.5)  # the thread booked first
        await lim.wait_async()
        order.append("coroutine")
        await wg.wait_async()

    arun(bounded, main)
    assert order == ["thread", "coroutine"]


def test_submodule_is_exported():
    import gocurrent

    assert gocurrent.rate is rate
    assert "rate" in gocurrent.__all__


@pytest.mark.parametrize("bad", ["5", None, object()])
def test_a_limit_that_is_not_a_number_is_a_type_error(bad: Any) -> None:
    with pytest.raises(TypeError, match="rate: limit must be a number"):
        Limiter(bad, 1)
    with pytest.raises(TypeError, match="rate: interval must be a number"):
        every(bad)


def test_a_nan_limit_or_interval_is_a_value_error() -> None:
    lim = Limiter(1, 1)
    with pytest.raises(ValueError, match="rate: limit must not be NaN"):
        lim.set_limit(math.nan)
    assert lim.limit() == 1  # unchanged
    with pytest.raises(ValueError, match="rate: interval must not be NaN"):
        every(math.nan)
