"""golang.org/x/time/rate: a token bucket rate limiter.

A ``Limiter(r, b)`` is a bucket of ``b`` tokens, initially full, refilled
at ``r`` tokens per second. Each event takes a token (``n`` for a batch);
``allow`` drops an event when none is left, ``reserve`` books a future
token and says how long to wait, ``wait`` blocks until the token is due::

    lim = rate.Limiter(2000, 50)        # 2,000 requests/s, bursts of 50
    for key in keys:
        lim.wait(ctx=ctx)               # blocks (GIL released, Ctrl-C works)
        delete(key)

The rules are x/time/rate's, and its tests are ported as they are: rates
are events per second (``inf`` allows everything, ``every(seconds)``
turns an interval into a rate), times are ``time.monotonic()`` seconds
(every method taking ``now=`` uses the current time when it is None, as
Go's ``XxxAt``/``XxxN`` pairs do), and durations are kept as Go's
integer nanoseconds so the arithmetic is Go's. A waiter books its tokens
when it arrives, so waiters are served first come, first served.

``wait`` is Go's ``Limiter.wait``: a reservation, then a ``select`` over a
timer's channel and ``ctx.done()`` on gocurrent's channels (its async twin
uses ``select_async``), so it waits like every other gocurrent call, and
``wait_async`` works wherever ``select_async`` does (trio included, once
it does there). The limiter's state is guarded by a lock held only for
arithmetic, never while waiting.
"""

from __future__ import annotations

import math
import numbers
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._native import Chan, Timer, select, select_async

if TYPE_CHECKING:
    from .context import Context

__all__ = ["Limiter", "Reservation", "every", "inf"]

inf: float = math.inf
"""The infinite rate: allows every event, even with a burst of 0. Also what
``Reservation.delay()`` returns for a reservation that is not ok."""

# Go's time.Duration arithmetic, in integer nanoseconds.
_SECOND = 1_000_000_000
_INF_DURATION = (1 << 63) - 1  # Go's rate.InfDuration (math.MaxInt64 ns)
_MIN_TIME = -(1 << 63)  # Go's zero time.Time, long before any monotonic time


def every(seconds: float) -> float:
    """The rate of one event every ``seconds`` (Go's ``rate.Every``);
    ``inf`` for an interval of 0 or less."""
    ns = _to_ns(_check_real(seconds, "interval"))
    if ns <= 0:
        return inf
    return 1 / _seconds(ns)


def _to_ns(seconds: float) -> int:
    if seconds >= _INF_DURATION / _SECOND:
        return _INF_DURATION
    if seconds <= _MIN_TIME / _SECOND:
        return _MIN_TIME
    return round(seconds * _SECOND)


def _now_ns(now: float | None) -> int:
    return time.monotonic_ns() if now is None else _to_ns(_check_real(now, "now"))


def _seconds(ns: int) -> float:
    # Go's Duration.Seconds(): exact whole seconds plus the fraction.
    sec, nsec = divmod(ns, _SECOND) if ns >= 0 else (-((-ns) // _SECOND), -((-ns) % _SECOND))
    return sec + nsec / 1e9


def _duration_from_tokens(limit: float, tokens: float) -> int:
    """Nanoseconds to accumulate ``tokens`` at ``limit`` per second,
    truncated to whole nanoseconds as Go's conversion does."""
    if limit <= 0:
        return _INF_DURATION
    duration = tokens / limit * _SECOND
    if duration > _INF_DURATION:
        return _INF_DURATION
    return int(duration)


def _tokens_from_duration(limit: float, ns: int) -> float:
    if limit <= 0 or ns == 0:  # (ns == 0: inf * 0 would be nan; Go's Inf is finite)
        return 0.0
    return _seconds(ns) * limit


def _check_int(n: object, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"rate: {what} must be an int, not {type(n).__name__}")
    return n


def _check_real(x: object, what: str) -> float:
    """``x`` as a float: a real number (int, float, Fraction...), not NaN."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"rate: {what} must be a number, not {type(x).__name__}")
    value = float(x)
    if math.isnan(value):
        raise ValueError(f"rate: {what} must not be NaN")
    return value


class Reservation:
    """Tokens a ``Limiter`` booked for events that may happen after a delay
    (Go's ``rate.Reservation``). ``ok`` is False when the limiter could
    not grant them (more than the burst, or not within the longest wait
    allowed); then ``delay()`` is ``inf`` and ``cancel()`` does nothing."""

    __slots__ = ("_lim", "_limit", "_time_to_act", "_tokens", "ok")

    def __init__(
        self, lim: Limiter, ok: bool, tokens: int = 0, time_to_act: int = 0, limit: float = 0.0
    ) -> None:
        self._lim = lim
        self.ok: bool = ok
        self._tokens = tokens
        self._time_to_act = time_to_act  # ns on the monotonic clock
        self._limit = limit  # the limit when reserved; it may change later

    def delay(self) -> float:
        """Seconds to wait before acting, from now: 0 means act at once;
        ``inf`` when not ok. Never blocks."""
        return self.delay_from(None)

    def delay_from(self, now: float | None) -> float:
        """Seconds to wait before acting, from ``now`` (a
        ``time.monotonic()`` time; None is now)."""
        if not self.ok:
            return inf
        return _seconds(max(0, self._time_to_act - _now_ns(now)))

    def cancel(self, now: float | None = None) -> None:
        """Says the events will not happen (Go's ``Cancel``/``CancelAt``):
        gives the tokens back, as far as later reservations allow, so that
        others may go sooner. Does nothing when not ok, or once the time to
        act has passed. Never blocks."""
        if not self.ok:
            return
        self._lim._cancel(self, _now_ns(now))

    def __repr__(self) -> str:
        if not self.ok:
            return "<rate.Reservation ok=False>"
        return f"<rate.Reservation ok=True tokens={self._tokens} delay={self.delay():.6f}s>"


# (channel, stop, advance): what Limiter._wait needs of a timer. Go's tests
# pass a fake one; ``wait`` passes a real Timer.
_TimerParts = tuple[Chan[Any], Callable[[], object], Callable[[], None]]
_NewTimer = Callable[[float], _TimerParts]


def _real_timer(seconds: float) -> _TimerParts:
    t = Timer(seconds)
    return t.c, t.stop, _nothing


def _nothing() -> None:
    pass


class Limiter:
    """Go's ``rate.Limiter``: a token bucket of ``b`` tokens, initially
    full, refilled at ``r`` tokens per second (``inf``: no limit, and the
    burst is ignored). Safe to share between threads and coroutines; no
    method holds the internal lock while it waits."""

    __slots__ = ("_burst", "_last", "_last_event", "_limit", "_mu", "_tokens")

    def __init__(self, r: float, b: int) -> None:
        self._mu = threading.Lock()
        self._limit = _check_real(r, "limit")
        self._burst = _check_int(b, "burst")
        self._tokens = float(self._burst)
        self._last = _MIN_TIME  # when _tokens was last updated (ns)
        self._last_event = _MIN_TIME  # the latest booked event, past or future (ns)

    def limit(self) -> float:
        """The rate, in events per second."""
        with self._mu:
            return self._limit

    def burst(self) -> int:
        """The bucket's size: the most tokens one call may take (0 allows
        nothing unless the rate is ``inf``)."""
        with self._mu:
            return self._burst

    def tokens(self, now: float | None = None) -> float:
        """The tokens available at ``now`` (Go's ``Tokens``/``TokensAt``);
        negative while tokens are booked ahead."""
        t = _now_ns(now)
        with self._mu:
            return self._advance(t)

    def allow(self) -> bool:
        """Whether one event may happen now; takes its token if so. Never
        blocks."""
        return self.allow_n(1)

    def allow_n(self, n: int, now: float | None = None) -> bool:
        """Whether ``n`` events may happen at ``now``; takes their tokens
        if so. Use it to drop events over the rate. Never blocks."""
        return self._reserve_n(_now_ns(now), _check_int(n, "n"), 0).ok

    def reserve(self) -> Reservation:
        """``reserve_n(1)``."""
        return self.reserve_n(1)

    def reserve_n(self, n: int, now: float | None = None) -> Reservation:
        """Books ``n`` tokens at ``now`` and returns the Reservation saying
        how long to wait before acting (``r.delay()``); ``r.ok`` is False
        (and nothing is booked) when n exceeds the burst. Never blocks;
        the caller sleeps ``r.delay()`` itself, or calls ``r.cancel()``."""
        return self._reserve_n(_now_ns(now), _check_int(n, "n"), _INF_DURATION)

    def set_limit(self, r: float, now: float | None = None) -> None:
        """Sets the rate from ``now`` on (Go's ``SetLimit``/``SetLimitAt``).
        Reservations already made keep the times they were given."""
        limit = _check_real(r, "limit")
        t = _now_ns(now)
        with self._mu:
            self._tokens = self._advance(t)
            self._last = t
            self._limit = limit

    def set_burst(self, b: int, now: float | None = None) -> None:
        """Sets the bucket's size from ``now`` on (Go's
        ``SetBurst``/``SetBurstAt``)."""
        b = _check_int(b, "burst")
        t = _now_ns(now)
        with self._mu:
            self._tokens = self._advance(t)
            self._last = t
            self._burst = b

    def wait(self, n: int = 1, *, ctx: Context | None = None, timeout: float | None = None) -> None:
        """Blocks until ``n`` events may happen (Go's ``Wait``/``WaitN``),
        releasing the GIL, interruptible by Ctrl-C.

        Raises ValueError (``rate: Wait(n=N) exceeds limiter's burst B``)
        when n exceeds the burst and the rate is not ``inf``; ``ctx.err()``
        when ctx is done at the call or ends during the wait; TimeoutError
        (``rate: Wait(n=N) would exceed context deadline``) at once, taking
        no tokens, when the wait would outlast ctx's deadline or
        ``timeout`` seconds. A wait that gives up (ctx, Ctrl-C) gives its
        tokens back."""
        self._wait(n, ctx, timeout, _now_ns(None), _real_timer)

    async def wait_async(
        self, n: int = 1, *, ctx: Context | None = None, timeout: float | None = None
    ) -> None:
        """``await lim.wait_async(n)``: ``wait`` from a coroutine (a
        cancelled wait gives its tokens back)."""
        booked = self._book(n, ctx, timeout, _now_ns(None))
        if booked is None:
            return
        r, delay = booked
        done = _done(ctx)
        timer = Timer(delay)
        try:
            i, _ = await select_async(timer.c.recv, done.recv)
        except BaseException:
            r.cancel()
            raise
        finally:
            timer.stop()
        if i == 1:
            r.cancel()
            _raise_ctx_err(ctx)

    # -- internals, Go's names ---------------------------------------------

    def _wait(
        self, n: int, ctx: Context | None, timeout: float | None, t: int, new_timer: _NewTimer
    ) -> None:
        """Go's ``Limiter.wait``: book at time ``t`` (ns), then wait on the
        timer that ``new_timer`` makes (Go's tests pass a fake one)."""
        booked = self._book(n, ctx, timeout, t)
        if booked is None:
            return
        r, delay = booked
        ch, stop, advance = new_timer(delay)
        try:
            advance()  # only does something in tests
            i, _ = select(ch.recv, _done(ctx).recv)
        except BaseException:
            r.cancel()  # Ctrl-C: give the tokens back
            raise
        finally:
            stop()
        if i == 1:
            # ctx ended first: give the tokens back to those who come next.
            r.cancel()
            _raise_ctx_err(ctx)

    def _book(
        self, n: int, ctx: Context | None, timeout: float | None, t: int
    ) -> tuple[Reservation, float] | None:
        """The checks and the reservation of ``wait``: None when the events
        may happen at once, else the reservation and the delay (seconds)."""
        n = _check_int(n, "n")
        with self._mu:
            burst, limit = self._burst, self._limit
        if n > burst and limit != inf:
            raise ValueError(f"rate: Wait(n={n}) exceeds limiter's burst {burst}")
        if ctx is not None and not all(
            callable(getattr(ctx, m, None)) for m in ("done", "err", "deadline")
        ):
            raise TypeError(f"rate: ctx must be a context.Context, not {type(ctx).__name__}")
        if ctx is not None and ctx.err() is not None:
            _raise_ctx_err(ctx)
        wait_limit = _INF_DURATION
        if ctx is not None:
            deadline = ctx.deadline()
            if deadline is not None:
                wait_limit = _to_ns(deadline) - t
        if timeout is not None:
            wait_limit = min(wait_limit, _to_ns(float(timeout)))
        r = self._reserve_n(t, n, wait_limit)
        if not r.ok:
            raise TimeoutError(f"rate: Wait(n={n}) would exceed context deadline")
        delay = r._time_to_act - t
        if delay <= 0:
            return None
        return r, _seconds(delay)

    def _reserve_n(self, t: int, n: int, max_future_reserve: int) -> Reservation:
        with self._mu:
            if self._limit == inf:
                return Reservation(self, True, n, t)
            tokens = self._advance(t) - n
            wait = _duration_from_tokens(self._limit, -tokens) if tokens < 0 else 0
            ok = n <= self._burst and wait <= max_future_reserve
            if not ok:
                return Reservation(self, False, limit=self._limit)
            r = Reservation(self, True, n, t + wait, self._limit)
            self._last = t
            self._tokens = tokens
            self._last_event = r._time_to_act
            return r

    def _cancel(self, r: Reservation, t: int) -> None:
        # Go's CancelAt.
        with self._mu:
            if self._limit == inf or r._tokens == 0 or r._time_to_act < t:
                return
            # Tokens booked by reservations made after r stay booked.
            restore = r._tokens - _tokens_from_duration(r._limit, self._last_event - r._time_to_act)
            if restore <= 0:
                return
            tokens = min(self._advance(t) + restore, float(self._burst))
            self._last = t
            self._tokens = tokens
            if r._time_to_act == self._last_event:
                prev = r._time_to_act + _duration_from_tokens(r._limit, -r._tokens)
                if prev >= t:
                    self._last_event = prev

    def _advance(self, t: int) -> float:
        """The tokens at ``t`` (ns) from the passage of time; changes
        nothing. The lock must be held."""
        last = min(self._last, t)
        tokens = self._tokens + _tokens_from_duration(self._limit, t - last)
        return min(tokens, float(self._burst))

    def __repr__(self) -> str:
        return f"<rate.Limiter limit={self._limit:g}/s burst={self._burst}>"


def _done(ctx: Context | None) -> Chan[Any]:
    if ctx is None:
        from ._native import nilchan

        return nilchan
    return ctx.done()


def _raise_ctx_err(ctx: Context | None) -> None:
    err = ctx.err() if ctx is not None else None
    if err is None:  # cannot happen: ctx.done() is closed only once err is set
        raise RuntimeError("rate: context done without an error")
    raise err
