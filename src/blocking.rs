//! The one place that turns a wait into GIL-free, signal-aware waiting.
//!
//! Every blocking call of gocurrent (channel operations, select, the sync
//! primitives) is a [`WaitOp`] run by [`run`], the thread driver of the one
//! wait protocol (src/wait.rs): it first tries the operation while
//! attached; only if it must wait does it register a waiter. We then:
//! - detach from the interpreter (release the GIL) and park;
//! - on the main thread, park in slices and re-attach between them to run
//!   `PyErr_CheckSignals`, so that Ctrl-C raises `KeyboardInterrupt` within
//!   [`SIGNAL_SLICE`] (plus the handler's time);
//! - on the way out through an exception or a timeout, withdraw the waiter
//!   first: if it was completed meanwhile, the operation happened and we
//!   return its result (re-arming a `KeyboardInterrupt` for the next check),
//!   so nothing is ever lost or done twice.
//!
//! Interpreter shutdown: goroutines are daemon threads. A thread that
//! re-attaches while the interpreter finalizes is terminated by CPython
//! (`pthread_exit`, before 3.14), which must never unwind through our Rust
//! frames. So the shutdown hook ([`begin_exit`], an `atexit` callback: it
//! runs after non-daemon threads were joined and before finalization
//! starts) raises `EXITING` and waits until no thread is between "decided
//! to re-attach" and "attached"; after that every thread but the main one
//! that wakes from a gocurrent wait parks for ever, detached, and the
//! process ends around it.

use crate::core::waiter::Waiter;
use crate::wait::{Timeout, Value, WaitOp};
use crate::waitstate::{self, DeadlockWatch};
use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::ffi;
use pyo3::prelude::*;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long the main thread parks before it looks at signals again.
pub const SIGNAL_SLICE: Duration = Duration::from_millis(20);

static EXITING: AtomicBool = AtomicBool::new(false);
static REATTACHING: AtomicUsize = AtomicUsize::new(0);
/// `PyThread_get_thread_ident()` of the main thread (signals go there only).
static MAIN_THREAD: AtomicU64 = AtomicU64::new(0);

/// Records the calling thread as the main thread (module init, after fork).
pub fn set_main_thread(ident: u64) {
    MAIN_THREAD.store(ident, Ordering::Relaxed);
}

// `c_ulong` is u32 on some platforms.
#[allow(clippy::useless_conversion)]
pub fn current_thread_ident() -> u64 {
    // SAFETY: PyThread_get_thread_ident has no preconditions; it only reads
    // the calling thread's id.
    u64::from(unsafe { pyo3::ffi::PyThread_get_thread_ident() })
}

/// True on the thread that receives signals.
pub fn on_main_thread() -> bool {
    current_thread_ident() == MAIN_THREAD.load(Ordering::Relaxed)
}

/// True once the interpreter has begun to exit.
pub fn exiting() -> bool {
    EXITING.load(Ordering::SeqCst)
}

/// The shutdown hook: from now on no gocurrent wait re-attaches.
pub fn begin_exit(py: Python<'_>) {
    EXITING.store(true, Ordering::SeqCst);
    py.detach(|| {
        while REATTACHING.load(Ordering::SeqCst) > 0 {
            std::thread::yield_now();
        }
    });
}

/// Undoes [`begin_exit`] (in a forked child, whose interpreter lives on).
pub fn reset_after_fork() {
    EXITING.store(false, Ordering::SeqCst);
    REATTACHING.store(0, Ordering::SeqCst);
}

fn park_forever() -> ! {
    loop {
        std::thread::park();
    }
}

/// A thread on its way to attaching: counted while it lives, so that
/// [`begin_exit`] waits for it; the one place of that protocol.
struct Attaching;

impl Attaching {
    /// `None` once the interpreter is exiting (checked again after counting
    /// this thread, so [`begin_exit`] either sees it or it sees the exit).
    fn enter() -> Option<Attaching> {
        if exiting() {
            return None;
        }
        REATTACHING.fetch_add(1, Ordering::SeqCst);
        let attaching = Attaching;
        (!exiting()).then_some(attaching)
    }
}

impl Drop for Attaching {
    fn drop(&mut self) {
        REATTACHING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs `f` detached from the interpreter, then re-attaches, unless the
/// interpreter is exiting: then the thread parks for ever, detached. The
/// main thread is exempt: it is the one that finalizes, and atexit code may
/// still block in gocurrent calls.
pub fn detached<T, F>(py: Python<'_>, f: F) -> T
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    if on_main_thread() {
        return py.detach(f);
    }
    let (r, attaching) = py.detach(|| {
        let r = f();
        match Attaching::enter() {
            Some(attaching) => (r, attaching),
            None => park_forever(),
        }
    });
    drop(attaching);
    r
}

/// Runs `f` attached from a thread that may not be (the timer thread, a
/// waker): skipped once the interpreter is exiting or gone.
pub fn attach_if_alive<F: FnOnce(Python<'_>)>(f: F) {
    if let Some(_attaching) = Attaching::enter() {
        Python::try_attach(f);
    }
}

/// Runs `f` attached, for the whole life of a thread the runtime started
/// (a goroutine thread): skipped once the interpreter is exiting. Only the
/// attaching itself counts for [`begin_exit`]: once attached, the thread is
/// an ordinary Python thread, which finalization stops like any other.
pub fn run_attached<F: FnOnce(Python<'_>)>(f: F) {
    let Some(attaching) = Attaching::enter() else {
        return;
    };
    // Dropped once attached, or with the closure if attaching failed.
    Python::try_attach(move |py| {
        drop(attaching);
        f(py)
    });
}

/// Parks the thread for ever when dropped.
struct HangThread;

impl Drop for HangThread {
    fn drop(&mut self) {
        park_forever();
    }
}

/// `PyObject_CallNoArgs` as a function that may unwind (see [`call0`]).
type CallNoArgs = unsafe extern "C-unwind" fn(*mut ffi::PyObject) -> *mut ffi::PyObject;

// SAFETY: the same function, with the same C ABI; `C-unwind` only adds
// that it may unwind, which it does (see `call0`).
static CALL_NO_ARGS: CallNoArgs = unsafe {
    std::mem::transmute::<unsafe extern "C" fn(*mut ffi::PyObject) -> *mut ffi::PyObject, CallNoArgs>(
        ffi::PyObject_CallNoArgs,
    )
};

/// Calls `f()` from Rust: the one way Rust calls user code that may block
/// (a goroutine's body, `Once.do`'s function, a Cond's Python lock).
/// Before Python 3.14, a thread that wants the GIL back while the
/// interpreter finalizes (a goroutine sleeping in `time.sleep` at exit) is
/// ended by `pthread_exit`: a forced unwind, which aborts the process when
/// it meets a Rust frame that catches panics (std's thread entry, PyO3's
/// trampolines) or a call the compiler took to be one that never unwinds.
/// pyo3-ffi declares the function `extern "C"`, which says exactly that.
/// Declaring the symbol again as `extern "C-unwind"` does not help: a
/// crate graph has one LLVM declaration per symbol, and the nounwind one
/// wins (tests/test_exit.py aborted in 5 of 7 tests). So the call goes
/// through a `C-unwind` function pointer read with a volatile load, whose
/// value the compiler may not assume (unlike `std::hint::black_box`, which
/// std documents as a hint only): the call is an indirect `C-unwind` call
/// and the unwind reaches this frame, where dropping the guard parks the
/// thread instead, as PyO3 does around its own re-attach: the process is
/// exiting anyway.
pub fn call0<'py>(f: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: reads an initialized, aligned static of a `Copy` type.
    let call = unsafe { std::ptr::read_volatile(&CALL_NO_ARGS) };
    let hang = HangThread;
    // SAFETY: attached (we have a `Bound`) and `f` is a live object; the
    // call returns a new reference or NULL with an exception set, which
    // `from_owned_ptr_or_err` takes over.
    let result = unsafe { Bound::from_owned_ptr_or_err(f.py(), call(f.as_ptr())) };
    std::mem::forget(hang);
    result
}

/// When a blocking call gives up.
#[derive(Clone, Copy, Debug)]
pub enum Deadline {
    Never,
    At(Instant),
}

/// What a thread that blocks waits for, told to the runtime's hook.
#[derive(Clone, Copy, Debug)]
pub struct Blocked {
    /// Go's wait reason ("chan receive", "sync.Mutex.Lock", ...).
    pub reason: &'static str,
    /// The wait has a deadline (`timeout=`).
    pub timed: bool,
}

/// Work the hook leaves for the blocked thread to do once it has released
/// the GIL (starting a goroutine thread to replace it).
pub type Detached = Box<dyn FnOnce() + Send>;

/// The runtime's hook: called with `Some` when a thread starts to block in
/// a gocurrent wait, with `None` when it stops.
pub type BlockHook = fn(Option<&Blocked>) -> Option<Detached>;

static BLOCK_HOOK: OnceLock<BlockHook> = OnceLock::new();

/// Installs the runtime's hook (once, at module init).
pub fn set_block_hook(hook: BlockHook) {
    let _already_set = BLOCK_HOOK.set(hook);
}

fn note_blocked(blocked: Option<&Blocked>) -> Option<Detached> {
    BLOCK_HOOK.get().and_then(|hook| hook(blocked))
}

/// The thread driver of the wait protocol ([`WaitOp`]): performs `op` at
/// once if it can (attached, the GIL never released), else registers a
/// waiter and waits (GIL released, Ctrl-C aware) until it completes or
/// `timeout` passes (TimeoutError, saying what timed out after how long).
pub fn run<O: WaitOp>(py: Python<'_>, op: &mut O, timeout: Timeout) -> PyResult<Value> {
    if let Some(r) = op.try_now(py) {
        return r;
    }
    let Some(deadline) = timeout.deadline() else {
        return Err(timeout.error(op.what()));
    };
    let mut blocked = false;
    let result = loop {
        let w = Waiter::for_current_thread();
        if let Some(r) = op.register(py, &w) {
            break r;
        }
        // The one spot where this thread starts to wait.
        let replacement = match blocked {
            false => {
                blocked = true;
                note_blocked(Some(&Blocked {
                    reason: op.wait_reason(),
                    timed: matches!(deadline, Deadline::At(_)),
                }))
            }
            true => None,
        };
        match wait(py, &w, deadline, replacement, op.wait_reason()) {
            Ok(Some(r)) => match op.finish(py, &w, r) {
                Some(r) => break r,
                None => continue,
            },
            Ok(None) => {
                op.unregister(&w);
                break Err(timeout.error(op.what()));
            }
            Err(e) => {
                op.unregister(&w);
                break Err(e);
            }
        }
    };
    if blocked {
        note_blocked(None);
    }
    result
}

/// Waits until `waiter` (registered by the caller, on this thread) is
/// completed, the deadline passes, or a signal handler raises.
/// `Ok(Some(r))`: completed with `r`. `Ok(None)`: timed out, and the waiter
/// was withdrawn. `Err(e)`: a signal handler raised `e`, and the waiter was
/// withdrawn. `replacement` runs once the GIL is released. On the main
/// thread, a wait without a deadline that nothing could ever end raises
/// DeadlockError (`reason`: what it waits for; see src/waitstate.rs).
fn wait<R: Send + 'static>(
    py: Python<'_>,
    waiter: &Waiter<R>,
    deadline: Deadline,
    mut replacement: Option<Detached>,
    reason: &'static str,
) -> PyResult<Option<R>> {
    let main = on_main_thread();
    let mut watch =
        (main && matches!(deadline, Deadline::Never)).then(|| DeadlockWatch::new(reason));
    let timed = matches!(deadline, Deadline::At(_));
    // runtime: this thread's wait reason and waiter, from its first park
    // until this returns. Entered once the GIL is released: between
    // completing its partner and releasing the GIL, a thread in an
    // exchange should do as little as it can (the partner, woken, goes for
    // the GIL and sleeps on it if it finds it held; benches/PROFILES.md,
    // "The hand-off test in the exchange window").
    let mut entered = None;
    loop {
        let slice = match (main, deadline) {
            (false, Deadline::Never) => None,
            (false, Deadline::At(d)) => Some(d),
            (true, Deadline::Never) => Some(Instant::now() + SIGNAL_SLICE),
            (true, Deadline::At(d)) => Some(d.min(Instant::now() + SIGNAL_SLICE)),
        };
        let parked = detached(py, || {
            // A goroutine thread that blocks is replaced (see pool.rs).
            if let Some(r) = replacement.take() {
                r();
            }
            if entered.is_none() {
                entered = Some(waitstate::enter(reason, timed, waiter));
            }
            waiter.park(slice)
        });
        if let Some(r) = parked {
            return Ok(Some(r));
        }
        if main && let Err(e) = py.check_signals() {
            return match waiter.withdraw() {
                true => Err(e),
                false => {
                    // Completed meanwhile: the operation happened, so its
                    // result wins and the interrupt waits for the next check.
                    rearm(py, e);
                    Ok(waiter.take())
                }
            };
        }
        // runtime: Go's "all goroutines are asleep - deadlock!".
        if let Some(e) = watch.as_mut().and_then(|w| w.check(py)) {
            return match waiter.withdraw() {
                true => Err(e),
                false => Ok(waiter.take()),
            };
        }
        if let Deadline::At(d) = deadline
            && Instant::now() >= d
        {
            return Ok(if waiter.withdraw() {
                None
            } else {
                waiter.take()
            });
        }
    }
}

/// Puts an exception raised by a signal handler back for later: Ctrl-C is
/// re-armed, anything else reported as unraisable.
fn rearm(py: Python<'_>, e: PyErr) {
    if e.is_instance_of::<PyKeyboardInterrupt>(py) {
        // SAFETY: PyErr_SetInterrupt only sets the flag of SIGINT; attached.
        unsafe { pyo3::ffi::PyErr_SetInterrupt() };
    } else {
        e.write_unraisable(py, None);
    }
}
