"""Timers: after, tick, Timer, Ticker, after_func (API.md, section Timers)."""

from __future__ import annotations

import asyncio
import random
import threading
import time

import gocurrent
import pytest
from gocurrent import Chan, Ticker, Timer, after, after_func, go, nilchan, select, tick


def nothing_within(ch: Chan, seconds: float) -> bool:
    """True if nothing can be received from ch within seconds."""
    try:
        ch.recv(timeout=seconds)
    except TimeoutError:
        return True
    return False


# ---- after(seconds) -> Chan ------------------------------------------------


def test_after_delivers_the_firing_time_once():
    start = time.monotonic()
    ch = after(0.05)
    v = ch.recv(timeout=5)
    end = time.monotonic()
    assert isinstance(v, float)
    assert start + 0.05 <= v <= end
    assert nothing_within(ch, 0.1)  # once
    assert not ch.closed


@pytest.mark.parametrize("seconds", [0, -1, 0.0, -0.5])
def test_after_non_positive_fires_at_once(seconds):
    before = time.monotonic()
    ch = after(seconds)
    # Already delivered: a non-blocking receive gets it.
    v = ch.recv(timeout=0)
    assert before <= v <= time.monotonic()


def test_after_in_select_as_a_timeout():
    work: Chan[int] = Chan()
    i, v = select(work.recv, after(0.05).recv, timeout=5)
    assert i == 1 and isinstance(v, float)


def test_after_bad_arguments():
    with pytest.raises(TypeError):
        after("1")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        after(float("nan"))


def test_after_from_a_coroutine():
    async def main():
        start = time.monotonic()
        v = await after(0.05).recv_async()
        return v - start

    assert asyncio.run(main()) >= 0.05


# ---- tick(seconds) -> Chan -------------------------------------------------


def test_tick_delivers_every_period():
    ch = tick(0.02)
    ticks = [ch.recv(timeout=5) for _ in range(5)]
    assert ticks == sorted(ticks) and len(set(ticks)) == len(ticks)
    # Spaced by about one period (never closer than a period, give or take
    # the firing delay of the previous tick).
    assert ticks[-1] - ticks[0] >= 4 * 0.02 * 0.9


def test_tick_drops_ticks_for_a_slow_receiver():
    ch = tick(0.02)
    time.sleep(0.25)  # about 12 periods without receiving
    # Only one tick is kept; the others were dropped, as Go does (and, as
    # in Go 1.23, the channel reports len 0 even then).
    assert len(ch) == 0
    first = ch.recv(timeout=0)
    assert time.monotonic() - first < 0.25
    second = ch.recv(timeout=5)
    assert second > first


@pytest.mark.parametrize("seconds", [0, -1, -0.001])
def test_tick_non_positive_interval(seconds):
    with pytest.raises(ValueError, match=r"^non-positive interval for NewTicker$"):
        tick(seconds)


# ---- Timer(seconds): .c, .stop() -> bool, .reset(seconds) -> bool ------------


def test_timer_fires_once_on_c():
    t = Timer(0.03)
    assert t.c is t.c
    assert t.c.cap == 0  # Go 1.23: a timer's channel reports cap 0 and len 0
    assert len(t.c) == 0
    v = t.c.recv(timeout=5)
    assert isinstance(v, float)
    assert nothing_within(t.c, 0.1)


def test_timer_stop_while_pending_returns_true_and_nothing_arrives():
    t = Timer(0.05)
    assert t.stop() is True
    assert t.stop() is False  # no longer pending
    assert nothing_within(t.c, 0.15)


def test_timer_stop_after_fire_unreceived_returns_true_and_drains():
    # Go 1.23: a fired value nobody received is taken back by stop().
    t = Timer(0.01)
    time.sleep(0.1)
    assert len(t.c) == 0  # fired and unreceived, yet len 0 as in Go 1.23
    assert t.stop() is True
    assert nothing_within(t.c, 0.05)
    assert t.stop() is False


def test_timer_stop_after_receive_returns_false():
    t = Timer(0.01)
    t.c.recv(timeout=5)
    assert t.stop() is False


def test_timer_reset_while_pending_returns_true_and_moves_the_deadline():
    t = Timer(0.05)
    start = time.monotonic()
    assert t.reset(0.25) is True
    # Not at the old deadline ...
    assert nothing_within(t.c, 0.15)
    # ... but at the new one, once.
    v = t.c.recv(timeout=5)
    assert v >= start + 0.25
    assert nothing_within(t.c, 0.1)


def test_timer_reset_after_fire_unreceived_drops_the_stale_value():
    t = Timer(0.01)
    time.sleep(0.1)
    stale_deadline = time.monotonic()
    assert t.reset(0.1) is True
    v = t.c.recv(timeout=5)
    assert v > stale_deadline + 0.05  # the new firing, not the stale one
    assert nothing_within(t.c, 0.05)


def test_timer_reset_after_receive_returns_false():
    t = Timer(0.01)
    t.c.recv(timeout=5)
    assert t.reset(0.02) is False
    assert isinstance(t.c.recv(timeout=5), float)


def test_timer_reset_of_stopped_timer_rearms():
    t = Timer(10)
    assert t.stop() is True
    assert t.reset(0.02) is False
    assert isinstance(t.c.recv(timeout=5), float)


def test_timer_zero_fires_at_once_and_stop_takes_it_back():
    t = Timer(0)
    assert len(t.c) == 0
    assert t.stop() is True  # it had fired: stop took the value back
    with pytest.raises(TimeoutError):
        t.c.recv(timeout=0)
    t2 = Timer(-1)
    assert isinstance(t2.c.recv(timeout=0), float)
    assert t2.reset(0) is False  # received already: nothing prevented
    assert isinstance(t2.c.recv(timeout=0), float)


def test_timer_repr_and_arguments():
    t = Timer(10)
    assert "armed" in repr(t)
    t.stop()
    assert "stopped" in repr(t)
    with pytest.raises(TypeError):
        Timer(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Timer(float("nan"))
    with pytest.raises(ValueError):
        t.reset(float("nan"))


@pytest.mark.timeout(60)
def test_no_stale_value_after_stop_or_reset_under_races():
    # Stop or reset at random moments around the firing: afterwards the
    # channel never yields the old value, and stop() reports True because
    # nobody received it (it was either pending or taken back).
    rng = random.Random(1)
    for i in range(400):
        t = Timer(0.002)
        time.sleep(rng.uniform(0.0, 0.004))
        if i % 2:
            assert t.stop() is True
            assert len(t.c) == 0
            with pytest.raises(TimeoutError):
                t.c.recv(timeout=0)
        else:
            mark = time.monotonic()
            assert t.reset(0.001) is True
            v = t.c.recv(timeout=5)
            assert v >= mark  # the new firing's value, not the old one


@pytest.mark.timeout(60)
def test_stop_result_agrees_with_a_concurrent_receiver():
    # A receiver goroutine races with stop(): stop() is True exactly when
    # the receiver did not get a value.
    for _ in range(200):
        t = Timer(0.002)
        got: Chan[bool] = Chan(1)
        quit_: Chan[None] = Chan()

        def receiver(t=t, got=got, quit_=quit_):
            i, _ = select(t.c.recv, quit_.recv)
            got.send(i == 0)

        go(receiver)
        time.sleep(random.uniform(0, 0.004))
        stopped = t.stop()
        quit_.close()
        received = got.recv(timeout=5)
        assert stopped != received


def test_timers_fire_in_deadline_order():
    # 300 timers with deadlines 0.5 ms apart, armed in a shuffled order.
    # A timer's true deadline lies in [clock before arming, clock after
    # arming] + delay; whenever one deadline interval ends before another
    # begins, the first timer must fire first. The firing time is taken by
    # the timer thread as it fires each timer.
    offsets = [k * 0.0005 for k in range(300)]
    random.Random(7).shuffle(offsets)
    base = time.monotonic() + 0.3
    armed = []
    for off in offsets:
        before = time.monotonic()
        delay = base + off - before
        t = Timer(delay)
        after_ = time.monotonic()
        armed.append((before + delay, after_ + delay, t))
    if time.monotonic() >= base:
        pytest.skip("the machine is too busy to arm 300 timers in 0.3 s")
    fired = [(lo, hi, t.c.recv(timeout=10)) for lo, hi, t in armed]
    fired.sort()
    checked = 0
    for i, (_, hi, v) in enumerate(fired):
        for lo2, _, v2 in fired[i + 1 :]:
            if lo2 > hi:
                assert v <= v2
                checked += 1
    assert checked > 40_000  # nearly every pair was comparable
    assert fired[0][2] >= fired[0][0]


# ---- Ticker(seconds): .c, .stop(), .reset(seconds) ---------------------------


def test_ticker_ticks_until_stopped():
    tk = Ticker(0.02)
    assert tk.c is tk.c
    ticks = [tk.c.recv(timeout=5) for _ in range(3)]
    assert ticks == sorted(ticks)
    assert tk.stop() is None
    # No more ticks, and no stale one (Go 1.23).
    assert nothing_within(tk.c, 0.1)
    assert "stopped" in repr(tk)


def test_ticker_drops_ticks_for_a_slow_receiver():
    tk = Ticker(0.02)
    time.sleep(0.25)
    assert len(tk.c) == 0 and tk.c.cap == 0  # Go 1.23
    tk.c.recv(timeout=0)
    with pytest.raises(TimeoutError):
        tk.c.recv(timeout=0)
    tk.stop()


def test_ticker_reset_changes_the_period():
    tk = Ticker(0.02)
    tk.c.recv(timeout=5)
    tk.reset(0.3)
    start = time.monotonic()
    # A tick of the old period is neither pending nor stale.
    assert nothing_within(tk.c, 0.15)
    v = tk.c.recv(timeout=5)
    assert v >= start + 0.3 - 0.01
    tk.stop()
    # A stopped ticker restarts on reset.
    tk.reset(0.02)
    assert isinstance(tk.c.recv(timeout=5), float)
    tk.stop()


@pytest.mark.parametrize("seconds", [0, -1])
def test_ticker_non_positive_intervals(seconds):
    with pytest.raises(ValueError, match=r"^non-positive interval for NewTicker$"):
        Ticker(seconds)
    tk = Ticker(1)
    with pytest.raises(ValueError, match=r"^non-positive interval for Ticker\.Reset$"):
        tk.reset(seconds)
    tk.stop()


def test_ticker_in_a_for_loop_with_select():
    tk = Ticker(0.01)
    done = after(0.1)
    n = 0
    while True:
        i, _ = select(tk.c.recv, done.recv)
        if i == 1:
            break
        n += 1
    tk.stop()
    assert 1 <= n <= 11


# ---- after_func(seconds, fn) -> Timer ----------------------------------------


def test_after_func_runs_fn_as_a_goroutine():
    ran: Chan[str] = Chan(1)
    t = after_func(0.03, lambda: ran.send(threading.current_thread().name))
    assert t.c is nilchan  # Go's nil channel: a disabled select case
    name = ran.recv(timeout=5)
    assert name != threading.current_thread().name
    assert t.stop() is False  # it ran: nothing prevented


def test_after_func_stop_prevents_the_call():
    ran: Chan[int] = Chan(1)
    t = after_func(0.05, lambda: ran.send(1))
    assert t.stop() is True
    assert t.stop() is False
    assert nothing_within(ran, 0.15)
    # reset re-arms it: fn runs after the new delay.
    assert t.reset(0.01) is False
    assert ran.recv(timeout=5) == 1


def test_after_func_zero_delay_and_coroutine_function():
    ran: Chan[str] = Chan(2)
    after_func(0, lambda: ran.send("now"))
    assert ran.recv(timeout=5) == "now"

    async def coro_fn():
        await asyncio.sleep(0)
        await ran.send_async("coroutine")

    after_func(0.01, coro_fn)
    assert ran.recv(timeout=5) == "coroutine"


def test_after_func_exceptions_go_to_excepthook(monkeypatch):
    seen: Chan[BaseException] = Chan(1)
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.send(args.exc_value))
    boom = ValueError("boom")

    def fail():
        raise boom

    after_func(0.01, fail)
    assert seen.recv(timeout=5) is boom


def test_after_func_needs_a_callable():
    with pytest.raises(TypeError):
        after_func(1, 42)  # type: ignore[arg-type]


# ---- no thread per timer ---------------------------------------------------


def test_stopped_timers_leave_the_heap(python_run):
    # In a fresh process: the count is global to the process.
    r = python_run("""
        from gocurrent import Timer
        from gocurrent._native import _timers_pending
        assert _timers_pending() == 0
        timers = [Timer(3600) for _ in range(1000)]
        assert _timers_pending() == 1000
        assert all(t.stop() is True for t in timers)
        assert _timers_pending() == 0
        print("ok")
    """)
    assert r.stdout == "ok\n", r.stderr


@pytest.mark.timeout(120)
def test_100k_pending_timers_one_thread(python_run):
    code = """
        import random, threading, time
        import gocurrent
        from gocurrent._native import _timers_pending

        def os_threads():
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("Threads:"):
                        return int(line.split()[1])

        before = os_threads()
        py_before = threading.active_count()
        rng = random.Random(3)
        start = time.monotonic()
        chans = [gocurrent.after(4.0 + rng.random()) for _ in range(50_000)]
        timers = [gocurrent.Timer(4.0 + rng.random()) for _ in range(50_000)]
        created = time.monotonic() - start
        pending = _timers_pending()
        during = os_threads()
        fired = 0
        for ch in chans:
            if isinstance(ch.recv(timeout=60), float):
                fired += 1
        for t in timers:
            if isinstance(t.c.recv(timeout=60), float):
                fired += 1
        print(before, during, os_threads(), py_before, threading.active_count(),
              pending, fired, _timers_pending(), created)
    """
    r = python_run(code, timeout=110)
    assert r.returncode == 0, r.stderr
    before, during, end, py_before, py_after, pending, fired, left, _ = r.stdout.split()
    assert int(pending) == 100_000
    # One timer thread for all of them, and nothing else.
    assert int(during) <= int(before) + 1
    assert int(end) <= int(before) + 1
    assert int(py_after) == int(py_before)
    assert int(fired) == 100_000
    assert int(left) == 0


def test_exported_names():
    for name in ("after", "tick", "Timer", "Ticker", "after_func"):
        assert name in gocurrent.__all__
        assert getattr(gocurrent, name) is not None


def test_an_unreferenced_ticker_stops(python_run):
    r = python_run("""
        import gc, time
        from gocurrent import Ticker
        from gocurrent._native import _timers_pending
        tk = Ticker(0.005)
        c = tk.c
        del tk
        gc.collect()
        c.recv(timeout=5)  # still ticking: its channel is referenced
        assert _timers_pending() == 1
        del c
        gc.collect()
        # Nobody can receive: at its next tick the ticker is disarmed.
        deadline = time.monotonic() + 5
        while _timers_pending() != 0:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        print("ok")
    """)
    assert r.stdout == "ok\n", r.stderr


def test_exit_with_busy_timers_is_clean(python_run):
    # The main thread ends while a fast ticker, after_funcs, context
    # deadlines and coroutines on timers are in flight: exit status 0, no
    # hang, no crash.
    r = python_run("""
        import asyncio, sys
        from gocurrent import Ticker, after, after_func, context, go, Chan
        tk = Ticker(0.0005)
        for i in range(200):
            after_func(0.001 * (i % 20), lambda: None)
            context.with_timeout(context.background(), 0.001 * (i % 20))
        async def waiter():
            await after(0.01).recv_async()
        for _ in range(20):
            go(waiter)
        tk.c.recv(timeout=5)
        print("bye")
        sys.stdout.flush()
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "bye\n"
    assert "Traceback" not in r.stderr


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_timers_work_in_a_forked_child(python_run):
    r = python_run("""
        import os, sys
        from gocurrent import Timer, after
        t = Timer(0.2)          # pending across the fork
        after(0.01).recv()      # the timer thread is running
        pid = os.fork()
        if pid == 0:
            try:
                ok = isinstance(t.c.recv(timeout=5), float)
                ok = ok and isinstance(after(0.01).recv(timeout=5), float)
            except BaseException:
                ok = False
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status), isinstance(t.c.recv(timeout=5), float))
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0", "True"]


# ---- Go 1.23: timer channels report len 0 and cap 0; after_func's .c is nil --


def test_after_and_tick_channels_report_len_and_cap_zero():
    a = after(0)
    assert (len(a), a.cap) == (0, 0)
    assert isinstance(a.recv(timeout=5), float)  # yet the value is there
    tk = tick(0.01)
    time.sleep(0.05)
    assert (len(tk), tk.cap) == (0, 0)
    assert isinstance(tk.recv(timeout=5), float)
    assert "cap=0 len=0" in repr(tk)
    t = Ticker(0.01)
    assert (len(t.c), t.c.cap) == (0, 0)
    t.stop()
    # Ordinary channels are unchanged.
    c: Chan[int] = Chan(3)
    c.send(1)
    assert (len(c), c.cap) == (1, 3)


def test_after_func_timer_c_is_nilchan_usable_as_a_disabled_case():
    t = after_func(10, lambda: None)
    try:
        assert t.c is nilchan and t.c is gocurrent.nilchan
        assert (len(t.c), t.c.cap, t.c.closed) == (0, 0, False)
        assert "func" in repr(t)
        # A select case on it is never ready: the other case wins.
        i, v = select(t.c.recv, after(0.01).recv, timeout=5)
        assert i == 1 and isinstance(v, float)
        i, _ = select(t.c.recv, default=True)
        assert i == -1
    finally:
        assert t.stop() is True
