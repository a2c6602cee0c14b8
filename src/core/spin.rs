//! The waiting policy: what a blocked thread does before it sleeps, for
//! every primitive ([`Waiter::park`](super::waiter::Waiter::park) calls
//! [`wait_briefly`]).
//!
//! A hand-off between two threads usually completes within a few
//! microseconds (the partner runs, replies, blocks). Catching it before
//! sleeping saves a futex sleep and wake on both sides, but only while a
//! core is free for the partner: on a loaded machine, every `sched_yield`
//! hands the core to a busy process for a whole time slice, while a thread
//! that sleeps on a futex is woken with priority. So, like Go's runtime,
//! which spins only while some processor is idle, a waiter here yields the
//! CPU up to [`YIELDS`] times only while the machine has a free core, and
//! otherwise goes straight to sleep.
//!
//! Why yields and not a spin on `PAUSE`: measured on 2 cores (benches/
//! PROFILES.md, "Waiting policy"), a 20 µs `spin_loop` spin made thread
//! ping-pong 45 µs per round trip where 20 yields made it 5 µs: a spinning
//! waiter keeps the core that the partner it just woke was placed on, and a
//! hypervisor may take the vCPU away from a PAUSE loop; a yield on an idle
//! core returns at once and lets a woken partner on the same core run.
//!
//! Whether a core is free: the number of runnable tasks of the machine
//! (`/proc/loadavg`'s fourth field), minus our own yielding waiters,
//! against the cores we may use, sampled at most every [`SAMPLE_EVERY`] by
//! whichever waiter finds the sample stale. A yield that took longer than
//! [`SLOW_YIELD`] (someone else had the core) marks the machine busy until
//! the next sample. Where `/proc/loadavg` does not exist, the machine is
//! taken to be idle (the yields are bounded anyway).
//!
//! Written by hand: parking_lot's `SpinWait` spins and yields without
//! regard to the machine's load, which is exactly the behaviour measured
//! to collapse under load; no crate decides from the machine's run queue.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// The most yields a waiter makes before it sleeps (on an idle machine).
const YIELDS: u32 = 20;
/// A yield that takes longer than this gave the core to another task: the
/// machine is busy.
const SLOW_YIELD: Duration = Duration::from_micros(50);
/// How old a sample of the run queue may be.
const SAMPLE_EVERY: Duration = Duration::from_millis(10);

/// When the run queue was last sampled (nanoseconds since [`clock`]'s start).
static SAMPLED_AT: AtomicU64 = AtomicU64::new(0);
/// The verdict of the latest sample (or of a slow yield since).
static BUSY: AtomicBool = AtomicBool::new(false);
/// Our waiters between yields right now: runnable, but not load.
static YIELDERS: AtomicUsize = AtomicUsize::new(0);

/// Nanoseconds on a monotonic clock (from the first call).
fn clock() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    u64::try_from(START.get_or_init(Instant::now).elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// The cores this process may run on.
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Runnable tasks of the machine right now (Linux), e.g. 3 of "0.52 0.58
/// 0.59 3/467 12345".
fn runnable_tasks() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    parse_runnable(&text)
}

fn parse_runnable(loadavg: &str) -> Option<usize> {
    let field = loadavg.split_whitespace().nth(3)?;
    field.split('/').next()?.parse().ok()
}

/// Whether every core is taken, from a sample at most [`SAMPLE_EVERY`] old.
fn machine_busy(now: u64) -> bool {
    let at = SAMPLED_AT.load(Relaxed);
    let period = SAMPLE_EVERY.as_nanos() as u64;
    if now.saturating_sub(at) < period
        || SAMPLED_AT
            .compare_exchange(at, now, Relaxed, Relaxed)
            .is_err()
    {
        return BUSY.load(Relaxed);
    }
    // The sampling thread itself is runnable, and so are our yielders.
    let busy = runnable_tasks().is_some_and(|r| r.saturating_sub(YIELDERS.load(Relaxed)) > cores());
    BUSY.store(busy, Relaxed);
    busy
}

/// Waits a little for `ready()` before the caller sleeps: up to [`YIELDS`]
/// yields of the CPU while the machine has a free core, none otherwise.
/// True if `ready()` became true. Never waits past `deadline`.
pub(crate) fn wait_briefly(ready: impl Fn() -> bool, deadline: Option<Instant>) -> bool {
    if ready() {
        return true;
    }
    let mut before = clock();
    if machine_busy(before) {
        return false;
    }
    YIELDERS.fetch_add(1, Relaxed);
    let slow = SLOW_YIELD.as_nanos() as u64;
    let mut done = false;
    for _ in 0..YIELDS {
        std::thread::yield_now();
        if ready() {
            done = true;
            break;
        }
        let after = clock();
        if after - before > slow {
            BUSY.store(true, Relaxed);
            break;
        }
        if BUSY.load(Relaxed) || deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        before = after;
    }
    YIELDERS.fetch_sub(1, Relaxed);
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_run_queue() {
        assert_eq!(parse_runnable("0.52 0.58 0.59 3/467 12345\n"), Some(3));
        assert_eq!(parse_runnable("0.00 0.01 0.05 12/1024 9"), Some(12));
        assert_eq!(parse_runnable("garbage"), None);
        assert_eq!(parse_runnable(""), None);
    }

    #[test]
    fn ready_at_once_needs_no_wait() {
        assert!(wait_briefly(|| true, None));
    }

    #[test]
    fn not_ready_gives_up_after_a_bounded_wait() {
        let start = Instant::now();
        assert!(!wait_briefly(|| false, None));
        // 20 yields at most, each ended by SLOW_YIELD when it is slow.
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn becomes_ready_while_yielding() {
        let n = std::cell::Cell::new(0);
        let ready = || {
            n.set(n.get() + 1);
            n.get() > 3
        };
        // Either it yielded until ready, or the machine was busy and it
        // gave up at once: never a wrong answer.
        let done = wait_briefly(ready, None);
        assert!(done || n.get() <= 3 + 1);
    }

    #[test]
    fn a_past_deadline_stops_the_yields() {
        let past = Instant::now();
        let calls = std::cell::Cell::new(0);
        assert!(!wait_briefly(
            || {
                calls.set(calls.get() + 1);
                false
            },
            Some(past)
        ));
        assert!(calls.get() <= 2);
    }
}
