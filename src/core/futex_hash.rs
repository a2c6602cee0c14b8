//! The kernel's futex hash table, grown with the goroutine threads.
//!
//! Every blocked goroutine thread sleeps on a futex of its own (its
//! waiter's parker). Since Linux 6.16 the futexes of a process hash into a
//! table of the process's own, which the kernel sizes by the CPUs, not by
//! the threads: 4 buckets per CPU, at least 16. A wake walks its bucket's
//! list of sleepers, each entry on another sleeping thread's kernel stack,
//! out of the caches. With the 10,000 threads of Pike's daisy chain asleep
//! on 2 CPUs that was 600 sleepers per bucket, and a hop down the chain took
//! 40 µs instead of 22 (`perf`: 18% of all samples in `futex_wake` itself;
//! benches/PROFILES.md, "The futex hash").
//!
//! So once the pool has [`FIRST`] threads, the table is grown to a bucket
//! per thread (`prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_SET_SLOTS)`), and again
//! whenever the threads outnumber the buckets [`RATIO`] to 1: a burst of
//! 10,000 goroutines grows it twice. A bucket is a cache line of kernel
//! memory (64 bytes; a goroutine thread's kernel stack alone is 16 KiB).
//! A resize waits for an RCU grace period (15-30 ms here), so it runs on a
//! thread of its own while the pool goes on. The table is never shrunk.
//! Left alone: kernels without the call (before 6.16: it fails, and is not
//! tried again) and processes that chose the global hash.
//!
//! Written by hand: no crate manages the futex hash, and the libc crate
//! does not define these constants yet.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

/// The thread count from which the table is grown.
pub const FIRST: usize = 1024;
/// Threads per bucket beyond which the table is grown again.
pub const RATIO: usize = 4;
/// The most buckets asked for (4 MiB of kernel memory).
pub const MAX_SLOTS: usize = 1 << 16;

/// The buckets the table is known to have (set or read); `usize::MAX`
/// once growing it failed or does not apply. Starts so that [`FIRST`]
/// threads are the first to ask.
static KNOWN: AtomicUsize = AtomicUsize::new(FIRST / RATIO);
/// A resize is under way.
static RESIZING: AtomicBool = AtomicBool::new(false);

/// The buckets to ask for when the pool has `threads` threads and the
/// table is known to have `known`: None while it is large enough.
pub fn wanted(threads: usize, known: usize) -> Option<usize> {
    (threads >= FIRST && threads > known.saturating_mul(RATIO))
        .then(|| threads.next_power_of_two().min(MAX_SLOTS))
        .filter(|&slots| slots > known)
}

/// Called when the pool has started its `threads`-th live thread: grows the
/// table, on a thread of its own, if it is too small for them. Cheap (one
/// relaxed load) while it is not.
pub fn fit(threads: usize) {
    let Some(slots) = wanted(threads, KNOWN.load(Relaxed)) else {
        return;
    };
    if RESIZING.swap(true, Relaxed) {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("gocurrent-futex-hash".into())
        .spawn(move || {
            KNOWN.store(grow(slots), Relaxed);
            RESIZING.store(false, Relaxed);
        });
    if spawned.is_err() {
        RESIZING.store(false, Relaxed);
    }
}

/// In a forked child: its table is new (the kernel's default again).
pub fn after_fork_in_child() {
    KNOWN.store(FIRST / RATIO, Relaxed);
    RESIZING.store(false, Relaxed);
}

/// Grows the table to `slots` buckets if it is smaller; returns the
/// buckets it has then, or `usize::MAX` if it cannot or need not be grown.
#[cfg(target_os = "linux")]
fn grow(slots: usize) -> usize {
    use libc::{c_int, c_ulong};
    // include/uapi/linux/prctl.h (Linux 6.16).
    const PR_FUTEX_HASH: c_int = 78;
    const PR_FUTEX_HASH_SET_SLOTS: c_ulong = 1;
    const PR_FUTEX_HASH_GET_SLOTS: c_ulong = 2;
    // prctl reads its arguments as unsigned longs.
    let zero: c_ulong = 0;
    // SAFETY: prctl with PR_FUTEX_HASH takes plain integers and touches no
    // memory of ours; an unknown option (older kernels) fails with EINVAL.
    let now = unsafe { libc::prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_GET_SLOTS, zero, zero, zero) };
    // 0: the global hash (or none yet), which has no size of ours to set.
    let Ok(now @ 1..) = usize::try_from(now) else {
        return usize::MAX;
    };
    if now >= slots {
        return now;
    }
    // SAFETY: as above; `slots` is a power of two (the kernel checks).
    let set = unsafe {
        libc::prctl(
            PR_FUTEX_HASH,
            PR_FUTEX_HASH_SET_SLOTS,
            slots as c_ulong,
            zero,
            zero,
        )
    };
    if set == 0 { slots } else { usize::MAX }
}

#[cfg(not(target_os = "linux"))]
fn grow(_slots: usize) -> usize {
    usize::MAX
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_from_the_first_thousand_threads_then_at_four_per_bucket() {
        let start = FIRST / RATIO;
        assert_eq!(wanted(FIRST - 1, start), None);
        assert_eq!(wanted(FIRST, start), None); // exactly 4 per bucket
        assert_eq!(wanted(FIRST + 1, start), Some(2 * FIRST));
        assert_eq!(wanted(4 * 2048, 2048), None);
        assert_eq!(wanted(4 * 2048 + 1, 2048), Some(16384));
        // The kernel's own table may already be larger (many CPUs).
        assert_eq!(wanted(5000, 8192), None);
        assert_eq!(wanted(1 << 20, 1 << 14), Some(MAX_SLOTS));
        assert_eq!(wanted(1 << 20, MAX_SLOTS), None);
        assert_eq!(wanted(usize::MAX, usize::MAX), None);
    }
}
