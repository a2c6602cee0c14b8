"""Go's ``context`` package: cancellation, deadlines and request-scoped values.

A context is immutable; deriving one (``with_cancel``, ``with_timeout``,
``with_value``...) makes a child. Cancelling a context cancels all its
descendants; a child never outlives its parent's deadline. ``ctx.done()`` is a
real :class:`~gocurrent.Chan`, closed on cancel, so it works in ``select``,
``select_async`` and ``for``::

    ctx, cancel = context.with_timeout(context.background(), 1.0)
    try:
        i, _ = select(ctx.done().recv, results.recv)
        if i == 0:
            raise ctx.err()        # DeadlineExceeded
    finally:
        cancel()

The cancellation tree (done channels, errors, children, after-funcs) lives in
Rust; deadlines are timers of the one shared timer thread. Deadlines are on
the ``time.monotonic()`` clock. As in Go, failing to call a cancel function
keeps the child (and its subtree) alive until its parent is cancelled.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import Any

from . import _runtime
from ._native import Chan, _AfterFuncStop, _CancelNode, nilchan, select, select_async

__all__ = [
    "CancelCauseFunc",
    "CancelFunc",
    "Canceled",
    "Context",
    "DeadlineExceeded",
    "after_func",
    "background",
    "cause",
    "todo",
    "with_cancel",
    "with_cancel_cause",
    "with_deadline",
    "with_deadline_cause",
    "with_timeout",
    "with_timeout_cause",
    "with_value",
    "without_cancel",
]

CancelFunc = Callable[[], None]
"""Go's ``context.CancelFunc``: ``cancel()`` cancels the context; later calls do nothing."""
CancelCauseFunc = Callable[..., None]
"""Go's ``context.CancelCauseFunc``: ``cancel(cause)`` cancels the context with a cause."""


class Canceled(Exception):
    """The error of a context cancelled by its cancel function (Go's ``context.Canceled``)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(args or ("context canceled",)))


class DeadlineExceeded(TimeoutError):
    """The error of a context whose deadline passed (Go's ``context.DeadlineExceeded``)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(args or ("context deadline exceeded",)))


# Go's cancelCtxKey: ``ctx.value(_CANCEL_KEY)`` finds the nearest cancellable
# context, through value contexts and foreign wrappers that delegate value().
_CANCEL_KEY = object()


class Context:
    """Go's ``context.Context``: the base class of every context.

    Subclass it to write a context of your own (override what differs; the
    defaults are those of ``background()``); contexts derived from one follow
    its ``done()`` channel.
    """

    __slots__ = ()

    def deadline(self) -> float | None:
        """When the context will be cancelled (``time.monotonic()`` clock), or None."""
        return None

    def done(self) -> Chan[Any]:
        """A channel closed when the context is cancelled (``nilchan`` if it never is)."""
        return nilchan

    def err(self) -> BaseException | None:
        """None while not cancelled; then a ``Canceled`` or ``DeadlineExceeded``
        instance, the same one on every call."""
        return None

    def value(self, key: object) -> Any:
        """The value bound to ``key`` (compared with ``==``) by the nearest
        ``with_value``, or None."""
        return None


class _EmptyCtx(Context):
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


class _CancelCtx(Context):
    """A cancellable context (Go's cancelCtx and timerCtx)."""

    __slots__ = ("_deadline", "_desc", "_node", "_parent")

    def __init__(self, parent: Context, node: _CancelNode, deadline: float | None, desc: str):
        self._parent = parent
        self._node = node
        self._deadline = deadline
        self._desc = desc

    def deadline(self) -> float | None:
        return self._deadline

    def done(self) -> Chan[Any]:
        return self._node.done

    def err(self) -> BaseException | None:
        return self._node.err()

    def value(self, key: object) -> Any:
        if key is _CANCEL_KEY:
            return self
        return _value(self._parent, key)

    def __repr__(self) -> str:
        return f"{self._parent!r}.{self._desc}"


class _ValueCtx(Context):
    __slots__ = ("_base", "_key", "_parent", "_val")

    def __init__(self, parent: Context, key: object, val: object) -> None:
        self._parent = parent
        self._key = key
        self._val = val
        # done/err/deadline come from the nearest context that is not a value one.
        self._base: Context = parent._base if type(parent) is _ValueCtx else parent

    def deadline(self) -> float | None:
        return self._base.deadline()

    def done(self) -> Chan[Any]:
        return self._base.done()

    def err(self) -> BaseException | None:
        return self._base.err()

    def value(self, key: object) -> Any:
        return _value(self, key)

    def __repr__(self) -> str:
        return f"{self._parent!r}.WithValue({self._key!r}, {self._val!r})"


class _WithoutCancelCtx(Context):
    __slots__ = ("_parent",)

    def __init__(self, parent: Context) -> None:
        self._parent = parent

    def value(self, key: object) -> Any:
        if key is _CANCEL_KEY:
            return None
        return _value(self._parent, key)

    def __repr__(self) -> str:
        return f"{self._parent!r}.WithoutCancel"


def _value(ctx: Any, key: object) -> Any:
    """Go's ``value()``: walks up the chain without recursion."""
    while True:
        t = type(ctx)
        if t is _ValueCtx:
            if key is not _CANCEL_KEY and (ctx._key is key or key == ctx._key):
                return ctx._val
            ctx = ctx._parent
        elif t is _CancelCtx:
            if key is _CANCEL_KEY:
                return ctx
            ctx = ctx._parent
        elif t is _WithoutCancelCtx:
            if key is _CANCEL_KEY:
                return None
            ctx = ctx._parent
        elif t is _EmptyCtx:
            return None
        else:
            return ctx.value(key)


_background = _EmptyCtx("context.Background")
_todo = _EmptyCtx("context.TODO")


def background() -> Context:
    """The root context: never cancelled, no values, no deadline."""
    return _background


def todo() -> Context:
    """Like ``background()``, for code where the right context is not clear yet."""
    return _todo


_CONTEXT_METHODS = ("deadline", "done", "err", "value")


def _check_parent(parent: object, what: str = "parent") -> None:
    if parent is None:
        raise TypeError("cannot create context from nil parent")
    if isinstance(parent, Context):
        return
    # A context of the user's own needs Go's four methods.
    if not all(callable(getattr(parent, m, None)) for m in _CONTEXT_METHODS):
        raise TypeError(
            f"{what} must be a context (deadline, done, err, value), not {type(parent).__name__}"
        )


def _parent_node(parent: Context, done: Chan[Any]) -> _CancelNode | None:
    """Go's ``parentCancelCtx``: the node of the nearest cancellable ancestor,
    if ``parent.done()`` is its channel."""
    cc = parent.value(_CANCEL_KEY)
    if isinstance(cc, _CancelCtx) and cc._node.done is done:
        return cc._node
    return None


def _canceled_err(parent: Context) -> BaseException:
    err = parent.err()
    return err if err is not None else Canceled()


def _new_node(parent: Context) -> _CancelNode:
    """Go's ``propagateCancel``: a node cancelled when ``parent`` is."""
    done = parent.done()
    if done is nilchan:
        return _CancelNode()
    pnode = _parent_node(parent, done)
    if pnode is not None:
        return _CancelNode(pnode)
    # A context of the user's own: follow its done channel.
    node = _CancelNode()
    if select(done.recv, default=True)[0] == 0:
        node.cancel(_canceled_err(parent), cause(parent), False)
    else:
        asyncio.run_coroutine_threadsafe(_follow(parent, done, node), _runtime.background_loop())
    return node


async def _follow(parent: Context, done: Chan[Any], node: _CancelNode) -> None:
    # A coroutine on the runtime's loop, not a thread per foreign parent.
    i, _ = await select_async(done.recv, node.done.recv)
    if i == 0:
        node.cancel(_canceled_err(parent), cause(parent), False)


def _cancel_func(node: _CancelNode) -> CancelFunc:
    def cancel() -> None:
        """Cancels the context and its descendants (idempotent)."""
        if node.err() is None:
            node.cancel(Canceled(), None, True)

    return cancel


def with_cancel(parent: Context) -> tuple[Context, CancelFunc]:
    """A child of ``parent`` and the function that cancels it (``err()``
    becomes ``Canceled``). Cancelling ``parent`` cancels it too."""
    _check_parent(parent)
    node = _new_node(parent)
    ctx = _CancelCtx(parent, node, parent.deadline(), "WithCancel")
    return ctx, _cancel_func(node)


def with_cancel_cause(parent: Context) -> tuple[Context, CancelCauseFunc]:
    """Like ``with_cancel``, but ``cancel(cause)`` records ``cause`` (an
    exception, or None for ``Canceled``), which ``cause(ctx)`` returns."""
    _check_parent(parent)
    node = _new_node(parent)
    ctx = _CancelCtx(parent, node, parent.deadline(), "WithCancelCause")

    def cancel(cause: BaseException | None = None) -> None:
        """Cancels the context with ``cause`` (idempotent: the first cause stays)."""
        if node.err() is None:
            node.cancel(Canceled(), cause, True)

    return ctx, cancel


def _as_float(value: object, what: str) -> float:
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a number, not {type(value).__name__}") from None
    if math.isnan(f):
        raise ValueError(f"{what} must not be NaN")
    return f


def with_deadline_cause(
    parent: Context, deadline: float, cause: BaseException | None
) -> tuple[Context, CancelFunc]:
    """Like ``with_deadline``; when the deadline passes, ``cause(ctx)`` is ``cause``."""
    _check_parent(parent)
    d = _as_float(deadline, "deadline")
    cur = parent.deadline()
    if cur is not None and cur < d:
        # The parent's deadline comes first: it will cancel this one.
        return with_cancel(parent)
    node = _new_node(parent)
    ctx = _CancelCtx(parent, node, d, f"WithDeadline({d:.6f} [{d - time.monotonic():.6f}s])")
    node.set_deadline(d - time.monotonic(), cause)
    return ctx, _cancel_func(node)


def with_deadline(parent: Context, deadline: float) -> tuple[Context, CancelFunc]:
    """A child of ``parent`` cancelled (``DeadlineExceeded``) at ``deadline``
    on the ``time.monotonic()`` clock, by the returned function, or with
    ``parent``, whichever comes first."""
    return with_deadline_cause(parent, deadline, None)


def with_timeout(parent: Context, seconds: float) -> tuple[Context, CancelFunc]:
    """``with_deadline(parent, time.monotonic() + seconds)``."""
    return with_deadline_cause(parent, time.monotonic() + _as_float(seconds, "timeout"), None)


def with_timeout_cause(
    parent: Context, seconds: float, cause: BaseException | None
) -> tuple[Context, CancelFunc]:
    """``with_deadline_cause(parent, time.monotonic() + seconds, cause)``."""
    return with_deadline_cause(parent, time.monotonic() + _as_float(seconds, "timeout"), cause)


def with_value(parent: Context, key: object, val: object) -> Context:
    """A child of ``parent`` whose ``value(key)`` is ``val`` (nearer
    contexts shadow farther ones); cancellation and deadline are the parent's."""
    _check_parent(parent)
    if key is None:
        raise ValueError("nil key")
    return _ValueCtx(parent, key, val)


def without_cancel(parent: Context) -> Context:
    """A child of ``parent`` that keeps its values but is never cancelled
    and has no deadline."""
    _check_parent(parent)
    return _WithoutCancelCtx(parent)


def cause(ctx: Context) -> BaseException | None:
    """Why ``ctx`` was cancelled: the cause given to a ``with_cancel_cause``
    cancel function (or deadline cause) of the nearest cancelled ancestor,
    else ``ctx.err()``; None while it is not cancelled."""
    _check_parent(ctx, "ctx")
    cc = ctx.value(_CANCEL_KEY)
    if isinstance(cc, _CancelCtx):
        return cc._node.cause()
    return ctx.err()


def after_func(ctx: Context, fn: Callable[[], Any]) -> Callable[[], bool]:
    """Runs ``fn()`` as a goroutine once ``ctx`` is done (at once if it is
    already). Returns ``stop``: ``stop()`` is True if it prevented ``fn``
    from running (only the first call can be)."""
    _check_parent(ctx, "ctx")
    if not callable(fn):
        raise TypeError(f"after_func() argument must be callable, not {type(fn).__name__}")
    done = ctx.done()
    if done is nilchan:
        return _AfterFuncStop()
    node = _parent_node(ctx, done)
    if node is not None:
        return node.after_func(fn)
    # A context of the user's own: register on a node that follows it, and
    # release that node when stopped.
    follower = _new_node(ctx)
    stop = follower.after_func(fn)

    def stop_and_release() -> bool:
        stopped = stop()
        follower.cancel(Canceled(), None, True)
        return stopped

    return stop_and_release
