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
//! Whether a core is free: the CPU time that *other* processes took over
//! the last [`SAMPLE_EVERY`] (the machine's busy time in `/proc/stat`
//! minus this process's own in `/proc/self/stat`), against the cores we
//! may use, sampled by whichever waiter finds the verdict stale. Our own
//! threads never count as load: with a hundred goroutine threads handing
//! values around, the run queue is long but every task on it is ours, and
//! a yield hands the core to one of them (the earlier rule, from
//! `/proc/loadavg`'s run queue, took them for load and slept: fan-out
//! 0.39 -> 0.9 µs per key). The yields of one wait stop once they have
//! taken [`YIELD_BUDGET`] in all: the bound for a machine that turned busy
//! since the last sample. Where `/proc/stat` does not exist, the machine
//! is taken to be idle (the yields are bounded anyway).
//!
//! Written by hand: parking_lot's `SpinWait` spins and yields without
//! regard to the machine's load, which is exactly the behaviour measured
//! to collapse under load; no crate tells other processes' load apart.

use super::waiter::{Deferred, Wakeable};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// The most yields a waiter makes before it sleeps (on an idle machine).
const YIELDS: u32 = 20;
/// The most time the yields of one wait may take. A yield that gives the
/// core to another task returns after that task's time slice, but on an
/// idle verdict that task is mostly one of our own threads, and the waiter
/// should go on yielding. Ending a waiter's yields after one yield over
/// 50 µs (the previous rule) cost the idle machine: thread ping-pong 3.90
/// µs against 3.20 with this budget, fan-out 596 ns per key against 528,
/// 10 interleaved runs (benches/PROFILES.md, "The yield budget").
const YIELD_BUDGET: Duration = Duration::from_millis(1);
/// How far apart the CPU times are sampled (the kernel counts them in
/// 10 ms clock ticks: 5 per CPU at least).
const SAMPLE_EVERY: Duration = Duration::from_millis(50);
/// How soon after a process's first sample the second one gives the first
/// verdict (2 clock ticks per CPU). Until then its waits follow the idle
/// policy, whose yields, on a loaded machine, hand the core to the busy
/// processes: with [`SAMPLE_EVERY`] there, the first 100 ms of a
/// process's waits went that way.
const FIRST_VERDICT_AFTER: Duration = Duration::from_millis(20);

/// When the next sample is due (nanoseconds on [`clock`]): the first at
/// once.
static NEXT_SAMPLE: AtomicU64 = AtomicU64::new(0);
/// The verdict of the latest sample.
static BUSY: AtomicBool = AtomicBool::new(false);

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

/// CPU time of the whole machine and of this process, in clock ticks.
#[derive(Clone, Copy, Debug, PartialEq)]
struct CpuTimes {
    /// Busy time of all CPUs (user, nice, system, irq, softirq, steal).
    busy: u64,
    /// All time of all CPUs (busy and idle).
    total: u64,
    /// The CPUs `/proc/stat` counts.
    cpus: usize,
    /// This process's own CPU time (user and system).
    own: u64,
}

fn cpu_times() -> Option<CpuTimes> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let own = std::fs::read_to_string("/proc/self/stat").ok()?;
    parse_cpu_times(&stat, &own)
}

fn parse_cpu_times(stat: &str, own: &str) -> Option<CpuTimes> {
    let mut lines = stat.lines();
    let all: Vec<u64> = lines
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    let field = |i: usize| all.get(i).copied().unwrap_or(0);
    // user nice system idle iowait irq softirq steal (guest time is in user).
    let busy = field(0) + field(1) + field(2) + field(5) + field(6) + field(7);
    let total = busy + field(3) + field(4);
    let cpus = lines
        .take_while(|l| l.starts_with("cpu"))
        .filter(|l| l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count();
    // The fields after the command name (which may hold spaces and
    // parentheses): state is the 3rd field, utime the 14th, stime the 15th.
    let after = own.rsplit_once(')')?.1;
    let mut fields = after.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(CpuTimes {
        busy,
        total,
        cpus: cpus.max(1),
        own: utime + stime,
    })
}

/// Whether other processes keep the cores busy between two samples: the
/// CPU time they took (the machine's busy time minus ours, which our own
/// yields and threads only add to), in cores, leaves less than one and a
/// half cores of those we may use: one for the thread holding the GIL and
/// room for a partner to run as soon as it is woken.
fn others_busy(before: &CpuTimes, now: &CpuTimes, usable: usize) -> bool {
    let total = now.total.saturating_sub(before.total);
    if total == 0 {
        return false; // under a clock tick: keep the last verdict's default
    }
    let busy = now.busy.saturating_sub(before.busy);
    let own = now.own.saturating_sub(before.own);
    let others = busy.saturating_sub(own) as f64 / total as f64 * now.cpus as f64;
    others > usable as f64 - 1.5
}

/// Whether other processes take the cores, from CPU times sampled at most
/// [`SAMPLE_EVERY`] apart by whichever waiter finds the verdict stale.
fn machine_busy(now: u64) -> bool {
    static LAST: std::sync::Mutex<Option<CpuTimes>> = std::sync::Mutex::new(None);
    let due = NEXT_SAMPLE.load(Relaxed);
    let every = SAMPLE_EVERY.as_nanos() as u64;
    if now < due
        || NEXT_SAMPLE
            .compare_exchange(due, now + every, Relaxed, Relaxed)
            .is_err()
    {
        return BUSY.load(Relaxed);
    }
    let Ok(mut last) = LAST.try_lock() else {
        return BUSY.load(Relaxed);
    };
    let sample = cpu_times();
    let busy = match (&*last, &sample) {
        (Some(before), Some(now)) => others_busy(before, now, cores()),
        (None, Some(_)) => {
            // The first sample: the first verdict comes sooner.
            let sooner = FIRST_VERDICT_AFTER.as_nanos() as u64;
            NEXT_SAMPLE.store(now + sooner, Relaxed);
            false
        }
        _ => false,
    };
    *last = sample;
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
    let start = clock();
    if machine_busy(start) {
        return false;
    }
    let budget = YIELD_BUDGET.as_nanos() as u64;
    for _ in 0..YIELDS {
        std::thread::yield_now();
        if ready() {
            return true;
        }
        // Out of budget: the cores are taken after all (by other
        // processes, or by our own threads holding the GIL, which a
        // yield cannot speed up); the machine is not marked busy, the
        // next sample says whether it is.
        if clock() - start > budget || deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
    }
    false
}

/// Whether other processes keep the cores busy: the latest sample's
/// verdict (sampled again if stale).
pub(crate) fn machine_is_busy() -> bool {
    machine_busy(clock())
}

/// The latest sample's verdict as it stands: no clock read, no sample
/// (the waiters' [`wait_briefly`] keeps it fresh). For the hand-off's hot
/// path, where a clock read per operation cost the idle machine: idle
/// thread ping-pong, with [`partner_runs_first`]'s test asking
/// [`machine_is_busy`] after each hand-off and every thread waiter
/// stamped with the time, took 0.78 s per 100,000 round trips against
/// the 0.44 s of the build before the test (median of 25 interleaved
/// runs; benches/PROFILES.md, "The hand-off test in the exchange
/// window").
pub(crate) fn busy_verdict() -> bool {
    BUSY.load(Relaxed)
}

/// When a thread begins to wait, the stamp [`partner_runs_first`] reads:
/// the time, while the verdict is busy; None on an idle machine, whose
/// waits read no clock for it.
pub(crate) fn exchange_stamp() -> Option<Instant> {
    busy_verdict().then(Instant::now)
}

/// How recently a woken thread must have begun to wait for
/// [`partner_runs_first`] to hold: a partner that blocked this recently is
/// in an exchange (request and reply), not a long wait.
const EXCHANGE: Duration = Duration::from_millis(1);

/// Whether a hand-off that completed at once should let its partner run
/// first: the caller releases the GIL around the wakes `d` holds, instead
/// of waking with the GIL held. The caller asks it only while
/// [`busy_verdict`] says other processes keep the cores busy, and decides
/// that *before* the operation: anything done between completing the
/// partner (which a yielding partner sees at once) and releasing the GIL
/// costs the idle exchange. True if every wake unparks a thread that
/// blocked less than [`EXCHANGE`] ago, on a busy machine
/// ([`exchange_stamp`]). There, the woken thread often runs at once on the
/// waker's own CPU, and finding the GIL held it sleeps a second time, on
/// the GIL: loaded thread ping-pong made 9.4 futex calls per round trip,
/// pygolang (whose `send` lets go of the GIL) 4.1. Measured on 2 cores
/// with both taken (benches/PROFILES.md, "The partner runs first"): ping-
/// pong 19.6 -> 12.8 µs per round trip, mean of 15 runs. Not on an idle
/// machine (a wake there is cheap, and every GIL release costs the
/// producer that wakes a consumer per item), and not for a thread that
/// waited long (a daisy chain's links: 10-15% slower loaded with it).
pub(crate) fn partner_runs_first<W: Wakeable, T>(d: &Deferred<W, T>) -> bool {
    d.wakes_threads_waiting_within(EXCHANGE)
}

/// The CPU the calling thread runs on, where the platform says (Linux:
/// `sched_getcpu`, which glibc answers from user space).
pub(crate) fn current_cpu() -> Option<u32> {
    #[cfg(target_os = "linux")]
    {
        nix::sched::sched_getcpu()
            .ok()
            .and_then(|c| u32::try_from(c).ok())
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// How often one thread may move next to the partner that woke it
/// ([`move_next_to`]): the bound on what the moves cost if the scheduler
/// keeps parting the two.
const MOVE_AT_MOST_EVERY: Duration = Duration::from_millis(10);

/// Called by a thread that an exchange's partner woke from CPU `cpu`
/// (see [`partner_runs_first`]; only on a busy verdict): if this thread
/// runs on another CPU, it moves onto the partner's. It tries at most once
/// per [`MOVE_AT_MOST_EVERY`] (a try its affinity refuses counts too).
/// True if it moved.
///
/// Why: with the cores taken by other processes, the two threads of an
/// exchange on different CPUs each share a CPU with a busy process, and a
/// futex wake then waits for the other CPU's busy process to give way:
/// 74-83 µs per round trip of thread ping-pong, against 9-14 µs for the
/// two on one CPU (benches/PROFILES.md, "Loaded thread ping-pong's
/// tail"). The kernel moves a woken thread next to its waker for a pipe's
/// or a socket's wake-up (a "sync" wake-up), not for a futex's, and its
/// load balancing keeps the split placement, which looks balanced. So the
/// woken thread moves itself: it narrows its CPU affinity to the partner's
/// CPU (which migrates it there at once) and sets it back to what it was,
/// so that it stays where it now runs until the scheduler moves it again.
/// A thread whose affinity excludes the partner's CPU does not move. The
/// two calls leave the affinity as they found it; one set by another
/// thread in between would be lost (no thread of ours does that).
/// Linux only; elsewhere a no-op.
pub(crate) fn move_next_to(cpu: u32) -> bool {
    thread_local! {
        static LAST_MOVE: std::cell::Cell<Option<Instant>> = const { std::cell::Cell::new(None) };
    }
    if current_cpu().is_none_or(|here| here == cpu) {
        return false;
    }
    let now = Instant::now();
    if LAST_MOVE
        .get()
        .is_some_and(|last| now - last < MOVE_AT_MOST_EVERY)
    {
        return false;
    }
    LAST_MOVE.set(Some(now));
    move_to(cpu)
}

#[cfg(target_os = "linux")]
fn move_to(cpu: u32) -> bool {
    use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
    use nix::unistd::Pid;
    let me = Pid::from_raw(0);
    let Ok(own) = sched_getaffinity(me) else {
        return false;
    };
    let cpu = cpu as usize;
    if !own.is_set(cpu).unwrap_or(false) {
        return false;
    }
    let mut there = CpuSet::new();
    if there.set(cpu).is_err() || sched_setaffinity(me, &there).is_err() {
        return false;
    }
    // Back to the thread's own set, which holds `cpu` (the thread's cpuset
    // can only have shrunk since: then to what the kernel allows).
    if sched_setaffinity(me, &own).is_err() {
        let mut all = CpuSet::new();
        for c in 0..CpuSet::count() {
            let _ = all.set(c);
        }
        let _ = sched_setaffinity(me, &all);
    }
    true
}

#[cfg(not(target_os = "linux"))]
fn move_to(_cpu: u32) -> bool {
    false
}

/// Called by a goroutine thread that blocked and started a thread to take
/// its place in the pool (see pool.rs): on a busy machine, it yields up
/// to [`YIELDS`] times while `starting()` (the new thread has not begun
/// to run), and only then sleeps. Measured on 2 cores with both taken by
/// other processes (benches/PROFILES.md, "Thread starts under load"): a
/// daisy chain of 10,000 thread goroutines went from 955-963 to 597-637
/// µs per link. Most of the chain's time is the value's way down, not the
/// starts, and the same chain pinned to one core took 34 µs per hop: our
/// reading is that when the blocked thread sleeps at once, the chain's
/// threads end up spread over both cores, and a hand-off to a thread on
/// the other core waits for that core's busy process. On an idle machine
/// it does not yield: the new thread has a core of its own (the chain was
/// 10-20% slower with the yields).
pub(crate) fn yield_to_new_thread(starting: impl Fn() -> bool) {
    if machine_busy(clock()) {
        yield_while(starting);
    }
}

/// Yields up to [`YIELDS`] times while `cond()`.
fn yield_while(cond: impl Fn() -> bool) {
    for _ in 0..YIELDS {
        if !cond() {
            return;
        }
        std::thread::yield_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  100 5 50 1000 20 3 2 10 0 0\n\
        cpu0 50 2 25 500 10 1 1 5 0 0\n\
        cpu1 50 3 25 500 10 2 1 5 0 0\n\
        intr 12345\n";
    // A command name with spaces and a parenthesis; utime 7, stime 3.
    const OWN: &str = "4242 (py (x) y) S 1 2 3 4 5 6 7 8 9 10 7 3 0 0 20 0 9";

    #[test]
    fn parses_the_cpu_times() {
        let t = parse_cpu_times(STAT, OWN).unwrap();
        assert_eq!(t.busy, 100 + 5 + 50 + 3 + 2 + 10);
        assert_eq!(t.total, t.busy + 1000 + 20);
        assert_eq!(t.cpus, 2);
        assert_eq!(t.own, 10);
        assert_eq!(parse_cpu_times("garbage", OWN), None);
        assert_eq!(parse_cpu_times(STAT, "4242 (py) S 1"), None);
    }

    fn times(busy: u64, idle: u64, own: u64) -> CpuTimes {
        CpuTimes {
            busy,
            total: busy + idle,
            cpus: 2,
            own,
        }
    }

    #[test]
    fn only_other_processes_load_counts() {
        let t0 = times(0, 0, 0);
        // Two cores, 10 ticks each: 20 ticks in all.
        // Idle machine.
        assert!(!others_busy(&t0, &times(1, 19, 0), 2));
        // Both cores busy with our own threads: not load.
        assert!(!others_busy(&t0, &times(20, 0, 19), 2));
        // Two busy processes of others: load.
        assert!(others_busy(&t0, &times(20, 0, 2), 2));
        // One core's worth of others on two cores: load (less than 1.5 free).
        assert!(others_busy(&t0, &times(10, 10, 0), 2));
        // On eight cores, one busy process of others leaves room.
        let eight = |busy, idle, own| CpuTimes {
            cpus: 8,
            ..times(busy, idle, own)
        };
        assert!(!others_busy(&eight(0, 0, 0), &eight(10, 70, 0), 8));
        assert!(others_busy(&eight(0, 0, 0), &eight(70, 10, 0), 8));
        // No tick between the samples: no verdict of load.
        assert!(!others_busy(&t0, &t0, 2));
    }

    #[test]
    fn ready_at_once_needs_no_wait() {
        assert!(wait_briefly(|| true, None));
    }

    #[test]
    fn not_ready_gives_up_after_a_bounded_wait() {
        let start = Instant::now();
        assert!(!wait_briefly(|| false, None));
        // 20 yields at most, and no more than YIELD_BUDGET of them.
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn yields_stop_when_their_budget_is_spent() {
        // Every look takes 300 µs: the budget (1 ms) is spent after four
        // yields, long before YIELDS (on a busy verdict there is none).
        let looks = std::cell::Cell::new(0);
        let ready = || {
            looks.set(looks.get() + 1);
            std::thread::sleep(Duration::from_micros(300));
            false
        };
        assert!(!wait_briefly(ready, None));
        assert!(looks.get() <= 5, "{} looks", looks.get());
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

    /// The CPUs the calling thread may run on.
    #[cfg(target_os = "linux")]
    fn allowed() -> Vec<u32> {
        use nix::sched::{CpuSet, sched_getaffinity};
        let own = sched_getaffinity(nix::unistd::Pid::from_raw(0)).unwrap();
        (0..CpuSet::count())
            .filter(|&c| own.is_set(c).unwrap())
            .map(|c| c as u32)
            .collect()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_woken_thread_moves_to_its_partners_cpu_and_keeps_its_affinity() {
        // A fresh thread each: the bound on moves is per thread.
        std::thread::spawn(|| {
            let cpus = allowed();
            let here = current_cpu().unwrap();
            assert!(cpus.contains(&here));
            // Where it already runs: nothing to do.
            assert!(!move_next_to(here));
            if cpus.len() < 2 {
                return; // one CPU: nowhere to move
            }
            // Another CPU than the one it runs on when it asks (the
            // scheduler may move it in between: then it asks again; a
            // refusal for that reason does not count against the bound).
            let moved = (0..1000).any(|_| {
                let now_on = current_cpu().unwrap();
                let other = *cpus.iter().find(|&&c| c != now_on).unwrap();
                move_next_to(other)
            });
            assert!(moved);
            assert_eq!(allowed(), cpus, "the affinity is restored");
            // A second move within the bound is refused, wherever the
            // thread runs now.
            assert!(!move_next_to(here));
            assert_eq!(allowed(), cpus);
        })
        .join()
        .unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_thread_never_moves_outside_its_affinity() {
        use nix::sched::{CpuSet, sched_setaffinity};
        std::thread::spawn(|| {
            let cpus = allowed();
            let here = current_cpu().unwrap();
            let Some(&other) = cpus.iter().find(|&&c| c != here) else {
                return;
            };
            let mut only_here = CpuSet::new();
            only_here.set(here as usize).unwrap();
            sched_setaffinity(nix::unistd::Pid::from_raw(0), &only_here).unwrap();
            assert!(!move_next_to(other));
            assert_eq!(allowed(), vec![here]);
            assert_eq!(current_cpu(), Some(here));
            // Nor to a CPU number past any CPU set. (`move_to` itself: the
            // refusal above counts against the bound, so `move_next_to`
            // would refuse anything now.)
            assert!(!move_to(u32::MAX - 1));
            assert_eq!(allowed(), vec![here]);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn the_yields_to_a_new_thread_end_when_it_runs_or_after_yields() {
        let looks = std::cell::Cell::new(0u32);
        // A thread that never arrives: YIELDS looks, then the caller sleeps.
        yield_while(|| {
            looks.set(looks.get() + 1);
            true
        });
        assert_eq!(looks.get(), YIELDS);
        // One that runs after three yields: the fourth look sees it.
        looks.set(0);
        yield_while(|| {
            looks.set(looks.get() + 1);
            looks.get() <= 3
        });
        assert_eq!(looks.get(), 4);
        // Whatever the machine's verdict, never more than YIELDS looks.
        looks.set(0);
        yield_to_new_thread(|| {
            looks.set(looks.get() + 1);
            true
        });
        assert!(looks.get() <= YIELDS);
    }
}
