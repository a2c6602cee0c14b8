//! A map from ids handed out in increasing order to values that mostly
//! leave in about the order they came: the call sites of live coroutine
//! goroutines (src/py/runtime.rs).
//!
//! Recent ids live in a ring indexed by `id - first`, so adding touches
//! its back and removing its front, both hot in the cache; an entry that
//! outlives [`SPAN`] later ids moves to a `BTreeMap`. Measured against a
//! `BTreeMap` alone (and a hash map, whose random slots missed the cache on
//! 20,000 live goroutines), see benches/PROFILES.md. Written by hand: no
//! crate keeps a sequence-indexed ring with an overflow map.

use std::collections::{BTreeMap, VecDeque};

/// How many ids the ring spans before its oldest entry moves out: a burst
/// of 10,000 spawns before any ends stays in the ring (with 4,096, the
/// `BTreeMap`'s inserts and removals cost the benchmark's coroutine spawn
/// 2%). The ring takes 16 bytes per id spanned, 256 KiB at most.
const SPAN: u64 = 16384;

pub struct IdMap<V> {
    /// The id of `ring[0]`.
    first: u64,
    ring: VecDeque<Option<V>>,
    old: BTreeMap<u64, V>,
}

impl<V> Default for IdMap<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> IdMap<V> {
    pub const fn new() -> Self {
        IdMap {
            first: 0,
            ring: VecDeque::new(),
            old: BTreeMap::new(),
        }
    }

    pub fn insert(&mut self, id: u64, value: V) {
        if self.ring.is_empty() {
            self.first = id;
        }
        if id < self.first {
            self.old.insert(id, value);
            return;
        }
        if id - self.first >= SPAN {
            // A jump past the ring's span: everything in it is old now.
            self.retire_all();
            self.first = id;
        }
        let at = (id - self.first) as usize;
        if self.ring.len() <= at {
            self.ring.resize_with(at + 1, || None);
        }
        self.ring[at] = Some(value);
        while self.ring.len() as u64 > SPAN {
            self.retire_front();
        }
    }

    pub fn remove(&mut self, id: u64) -> Option<V> {
        let removed = match self.slot(id) {
            Some(slot) => slot.take(),
            None => self.old.remove(&id),
        };
        while let Some(None) = self.ring.front() {
            self.ring.pop_front();
            self.first += 1;
        }
        removed
    }

    pub fn get(&self, id: u64) -> Option<&V> {
        match id.checked_sub(self.first) {
            Some(at) if (at as usize) < self.ring.len() => self.ring[at as usize].as_ref(),
            _ => self.old.get(&id),
        }
    }

    fn slot(&mut self, id: u64) -> Option<&mut Option<V>> {
        let at = id.checked_sub(self.first)? as usize;
        self.ring.get_mut(at)
    }

    fn retire_front(&mut self) {
        if let Some(Some(v)) = self.ring.pop_front() {
            self.old.insert(self.first, v);
        }
        self.first += 1;
    }

    fn retire_all(&mut self) {
        while !self.ring.is_empty() {
            self.retire_front();
        }
    }

    pub fn len(&self) -> usize {
        self.ring.iter().flatten().count() + self.old.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_in_and_out() {
        let mut m = IdMap::new();
        for id in 10..20 {
            m.insert(id, id * 2);
        }
        assert_eq!(m.get(15), Some(&30));
        for id in 10..20 {
            assert_eq!(m.remove(id), Some(id * 2));
        }
        assert!(m.is_empty());
        assert!(m.ring.is_empty());
        assert_eq!(m.remove(12), None);
    }

    #[test]
    fn a_long_lived_entry_moves_out_and_stays_reachable() {
        let mut m = IdMap::new();
        m.insert(1, "long");
        for id in 2..(3 * SPAN) {
            m.insert(id, "short");
            assert_eq!(m.remove(id), Some("short"));
        }
        assert!(m.ring.len() as u64 <= SPAN);
        assert_eq!(m.get(1), Some(&"long"));
        assert_eq!(m.len(), 1);
        assert_eq!(m.remove(1), Some("long"));
        assert!(m.is_empty());
    }

    #[test]
    fn gaps_jumps_and_late_arrivals() {
        let mut m = IdMap::new();
        m.insert(100, 'a');
        m.insert(105, 'b'); // ids between went to other goroutines
        m.insert(100 + 10 * SPAN, 'c'); // a jump: the ring's entries retire
        m.insert(103, 'd'); // taken earlier by a racing thread, inserted late
        for (id, v) in [(100, 'a'), (105, 'b'), (100 + 10 * SPAN, 'c'), (103, 'd')] {
            assert_eq!(m.get(id), Some(&v));
        }
        assert_eq!(m.len(), 4);
        for id in [105, 103, 100 + 10 * SPAN, 100] {
            assert!(m.remove(id).is_some());
        }
        assert!(m.is_empty());
        assert_eq!(m.get(104), None);
    }
}
