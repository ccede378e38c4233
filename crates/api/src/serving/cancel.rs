//! Telling work on the blocking pool that nobody waits for its answer any
//! more: the async side holds a guard, and dropping it (the request was
//! answered by a timeout, or its client left) raises a flag the work reads
//! between chunks.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// What work checks between chunks.
#[derive(Debug, Clone)]
pub(super) struct Stop(Option<Arc<AtomicBool>>);

/// Raises its [`Stop`]'s flag when dropped.
#[derive(Debug)]
pub(super) struct RaiseOnDrop(Arc<AtomicBool>);

/// The work was stopped: its answer would reach nobody.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cancelled;

impl Stop {
    /// A flag and the guard that raises it.
    pub(super) fn new() -> (Self, RaiseOnDrop) {
        let flag = Arc::new(AtomicBool::new(false));
        (Self(Some(flag.clone())), RaiseOnDrop(flag))
    }

    /// For work done while the caller waits (inline): never raised.
    pub(super) fn never() -> Self {
        Self(None)
    }

    /// `Err` once the guard has been dropped.
    pub(super) fn check(&self) -> Result<(), Cancelled> {
        match &self.0 {
            Some(flag) if flag.load(Ordering::Relaxed) => Err(Cancelled),
            _ => Ok(()),
        }
    }
}

impl Drop for RaiseOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_rises_when_the_guard_is_dropped_and_never_otherwise() {
        let (stop, guard) = Stop::new();
        assert_eq!(stop.check(), Ok(()));
        drop(guard);
        assert_eq!(stop.check(), Err(Cancelled));
        assert_eq!(Stop::never().check(), Ok(()));
    }
}
