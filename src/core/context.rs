//! The cancellation tree of Go's context package (context.go's cancelCtx,
//! propagateCancel, removeChild and AfterFunc), generic over the done
//! channel's value type `V`, the error `E` a node is cancelled with, and
//! the after-func payload `F`.
//!
//! A [`Node`] is a cancellable context: a lock around its error, its children
//! and its after-funcs, plus a done channel that is closed when the node is
//! cancelled. Cancelling a node cancels its whole subtree, iteratively (no
//! recursion, so a deep chain of contexts cannot overflow the stack), in
//! O(descendants): each node's lock is taken once, its error set and its done
//! channel closed under that lock (so "err is set" implies "done is closed",
//! as in Go), and its children and after-funcs taken out to be cancelled and
//! run after the lock is released. A child registered concurrently with its
//! parent's cancellation either is taken out by it or finds the parent's
//! error under the parent's lock and cancels itself: nothing is missed.
//!
//! Nothing that may call Python runs under a node lock: the done channel's
//! wakes are deferred until the lock is released, after-func payloads are
//! handed back to the caller, cleanups (stopping a deadline timer) run after
//! the lock.

use super::chan::{Chan, ChanDefer};
use super::shim::{Arc, Mutex};
use std::collections::HashMap;
use std::sync::Weak;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

type Cleanup = Box<dyn FnOnce() + Send>;

struct State<V, E, F> {
    err: Option<E>,
    children: HashMap<u64, Arc<Node<V, E, F>>>,
    funcs: HashMap<u64, Arc<AfterFunc<V, E, F>>>,
    /// Run once the node is cancelled (e.g. stop its deadline timer).
    cleanups: Vec<Cleanup>,
}

/// A cancellable context.
pub struct Node<V, E, F> {
    id: u64,
    /// Held weakly: a parent keeps its children alive (it must cancel
    /// them), not the other way round.
    parent: Option<Weak<Node<V, E, F>>>,
    done: Arc<Chan<V>>,
    state: Mutex<State<V, E, F>>,
}

/// A function registered to run once its node is cancelled (Go's
/// `context.AfterFunc`); exactly one of "it runs" and "stop returns true"
/// happens.
pub struct AfterFunc<V, E, F> {
    id: u64,
    /// Go's `once`: set by whichever of cancellation and stop comes first.
    settled: AtomicBool,
    payload: Mutex<Option<F>>,
    node: Option<Weak<Node<V, E, F>>>,
}

impl<V, E: Clone, F> Node<V, E, F> {
    /// A node with no cancellable parent; `done` must be a fresh channel.
    pub fn root(done: Arc<Chan<V>>) -> Arc<Self> {
        Self::make(None, done)
    }

    fn make(parent: Option<Weak<Self>>, done: Arc<Chan<V>>) -> Arc<Self> {
        Arc::new(Node {
            id: next_id(),
            parent,
            done,
            state: Mutex::new(State {
                err: None,
                children: HashMap::new(),
                funcs: HashMap::new(),
                cleanups: Vec::new(),
            }),
        })
    }

    /// A child of `parent`: cancelled with it, or at once (with the
    /// parent's error) if the parent is cancelled already.
    pub fn child(parent: &Arc<Self>, done: Arc<Chan<V>>) -> Arc<Self> {
        let child = Self::make(Some(Arc::downgrade(parent)), done);
        let parent_err = {
            let mut st = parent.state.lock();
            match &st.err {
                Some(e) => Some(e.clone()),
                None => {
                    st.children.insert(child.id, child.clone());
                    None
                }
            }
        };
        if let Some(e) = parent_err {
            // A fresh node has no after-funcs: nothing to run.
            drop(child.cancel(e, false));
        }
        child
    }

    /// The done channel (closed once cancelled).
    pub fn done(&self) -> &Arc<Chan<V>> {
        &self.done
    }

    /// The error it was cancelled with, if it was.
    pub fn err(&self) -> Option<E> {
        self.state.lock().err.clone()
    }

    /// Calls `f` with the error (without cloning it), unless the node is
    /// locked at this instant: `None` then (the Python garbage collector's
    /// traversal must not wait).
    pub fn try_with_err<R>(&self, f: impl FnOnce(Option<&E>) -> R) -> Option<R> {
        let st = self.state.try_lock()?;
        Some(f(st.err.as_ref()))
    }

    /// Live children (for tests: cancelled children are removed).
    pub fn children(&self) -> usize {
        self.state.lock().children.len()
    }

    /// Cancels this node and all its descendants with `err` (a node that is
    /// cancelled already keeps its error). `remove_from_parent`: also
    /// unlink it from its parent (a cancel function does; a parent
    /// cancelling its children has dropped them already). Returns the
    /// payloads of the after-funcs that are now due, for the caller to run.
    pub fn cancel(self: &Arc<Self>, err: E, remove_from_parent: bool) -> Vec<F> {
        let mut due = Vec::new();
        let mut cleanups = Vec::new();
        let mut stack = vec![self.clone()];
        let mut cancelled_self = false;
        while let Some(node) = stack.pop() {
            // Declared before the guard: the done channel's wakes run after
            // the node lock is released.
            let mut wakes = ChanDefer::new();
            let (children, funcs) = {
                let mut st = node.state.lock();
                if st.err.is_some() {
                    continue;
                }
                st.err = Some(err.clone());
                // Someone may have closed the channel by hand; it is closed
                // either way.
                let _ = node.done.close_with(&mut wakes);
                cleanups.append(&mut st.cleanups);
                (
                    std::mem::take(&mut st.children),
                    std::mem::take(&mut st.funcs),
                )
            };
            drop(wakes);
            if Arc::ptr_eq(&node, self) {
                cancelled_self = true;
            }
            stack.extend(children.into_values());
            for f in funcs.into_values() {
                if !f.settled.swap(true, Ordering::AcqRel)
                    && let Some(payload) = f.payload.lock().take()
                {
                    due.push(payload);
                }
            }
        }
        if cancelled_self && remove_from_parent {
            self.remove_from_parent();
        }
        for c in cleanups {
            c();
        }
        due
    }

    fn remove_from_parent(&self) {
        if let Some(parent) = self.parent.as_ref().and_then(Weak::upgrade) {
            let removed = parent.state.lock().children.remove(&self.id);
            drop(removed);
        }
    }

    /// Registers `cleanup` to run when the node is cancelled; if it is
    /// cancelled already, hands it back (the caller runs it).
    pub fn on_cancel(&self, cleanup: Cleanup) -> Result<(), Cleanup> {
        let mut st = self.state.lock();
        if st.err.is_some() {
            return Err(cleanup);
        }
        st.cleanups.push(cleanup);
        Ok(())
    }

    /// Go's `context.AfterFunc(ctx, f)`: registers `payload` to be run when
    /// the node is cancelled. If it is cancelled already, the payload is
    /// handed back at once (the caller runs it) and the after-func is
    /// settled (its stop returns false).
    pub fn after_func(self: &Arc<Self>, payload: F) -> (Arc<AfterFunc<V, E, F>>, Option<F>) {
        let f = Arc::new(AfterFunc {
            id: next_id(),
            settled: AtomicBool::new(false),
            payload: Mutex::new(None),
            node: Some(Arc::downgrade(self)),
        });
        let mut st = self.state.lock();
        if st.err.is_some() {
            drop(st);
            f.settled.store(true, Ordering::Release);
            return (f, Some(payload));
        }
        *f.payload.lock() = Some(payload);
        st.funcs.insert(f.id, f.clone());
        drop(st);
        (f, None)
    }
}

impl<V, E, F> Drop for Node<V, E, F> {
    /// Drops the subtree iteratively: a long chain of never-cancelled
    /// contexts must not overflow the stack when it goes away.
    fn drop(&mut self) {
        let mut stack: Vec<Arc<Node<V, E, F>>> = std::mem::take(&mut self.state.get_mut().children)
            .into_values()
            .collect();
        while let Some(child) = stack.pop() {
            if let Ok(mut node) = Arc::try_unwrap(child) {
                stack.extend(std::mem::take(&mut node.state.get_mut().children).into_values());
            }
        }
    }
}

impl<V, E, F> AfterFunc<V, E, F> {
    /// An after-func on a context that is never cancelled: it never runs,
    /// and its first stop returns true (as Go's does).
    pub fn never() -> Arc<Self> {
        Arc::new(AfterFunc {
            id: next_id(),
            settled: AtomicBool::new(false),
            payload: Mutex::new(None),
            node: None,
        })
    }

    /// Go's `stop()`: true if it prevented the function from running (only
    /// the first call can). The payload is handed back to be dropped by the
    /// caller, outside every lock.
    pub fn stop(&self) -> (bool, Option<F>) {
        if self.settled.swap(true, Ordering::AcqRel) {
            return (false, None);
        }
        if let Some(node) = self.node.as_ref().and_then(Weak::upgrade) {
            let removed = node.state.lock().funcs.remove(&self.id);
            drop(removed);
        }
        (true, self.payload.lock().take())
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
