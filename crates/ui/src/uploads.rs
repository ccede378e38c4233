//! What an upload may cost: its size, how long it may take to arrive, and
//! how much memory all uploads in flight may hold together. A visitor who
//! trickles a file, or many who send large ones at once, cannot hold the
//! UI's connections or memory beyond these.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use futures_util::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How much of an upload over the limit is still read (and dropped) so the
/// browser, still sending, gets the "too large" page instead of a reset
/// connection; past this, or after `DRAIN_TIME`, the connection is closed.
const DRAIN_FACTOR: usize = 8;
const DRAIN_TIME: Duration = Duration::from_secs(15);
/// The memory budget is counted in blocks of this many bytes.
const BLOCK: usize = 1024;

/// The bounds uploads are read within.
#[derive(Debug, Clone)]
pub struct Uploads {
    limit: usize,
    deadline: Duration,
    budget: Arc<Semaphore>,
}

/// Why an upload was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Larger than the limit.
    TooLarge,
    /// Not all there before the deadline.
    TooSlow,
    /// Other uploads hold the memory it would need.
    Busy,
    /// The connection failed.
    Broken,
}

/// An upload's bytes, and its share of the memory budget, held until dropped.
#[derive(Debug)]
pub struct Upload {
    /// The bytes as received.
    pub bytes: Bytes,
    _held: Option<OwnedSemaphorePermit>,
}

impl Uploads {
    /// Uploads of at most `limit` bytes, arriving within `deadline`, holding
    /// at most `budget` bytes together (at least `limit`).
    pub fn new(limit: usize, deadline: Duration, budget: usize) -> Self {
        let blocks = budget.max(limit).div_ceil(BLOCK).min(Semaphore::MAX_PERMITS);
        Self { limit, deadline, budget: Arc::new(Semaphore::new(blocks)) }
    }

    /// The largest upload accepted, in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The deadline an upload has to arrive in.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// Reads `body` whole, taking its share of the budget as it arrives.
    pub async fn read(&self, body: Body) -> Result<Upload, Refusal> {
        let deadline = self.deadline;
        match tokio::time::timeout(deadline, self.read_within_budget(body)).await {
            Ok(read) => read,
            Err(_) => Err(Refusal::TooSlow),
        }
    }

    async fn read_within_budget(&self, body: Body) -> Result<Upload, Refusal> {
        let mut stream = body.into_data_stream();
        let mut kept = Vec::new();
        let mut held: Option<OwnedSemaphorePermit> = None;
        let mut total = 0usize;
        let started = Instant::now();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| Refusal::Broken)?;
            total = total.saturating_add(chunk.len());
            if total <= self.limit {
                // Held before it is kept: the budget bounds what is in memory.
                let needed = kept.len().saturating_add(chunk.len()).div_ceil(BLOCK);
                let have = held.as_ref().map_or(0, |p| p.num_permits());
                if needed > have {
                    let more = u32::try_from(needed - have).map_err(|_| Refusal::Busy)?;
                    let permit =
                        self.budget.clone().try_acquire_many_owned(more).map_err(|_| Refusal::Busy)?;
                    match &mut held {
                        Some(held) => held.merge(permit),
                        None => held = Some(permit),
                    }
                }
                kept.extend_from_slice(&chunk);
            } else if total > self.limit.saturating_mul(DRAIN_FACTOR) || started.elapsed() > DRAIN_TIME {
                return Err(Refusal::TooLarge);
            }
        }
        if total > self.limit {
            return Err(Refusal::TooLarge);
        }
        Ok(Upload { bytes: Bytes::from(kept), _held: held })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(parts: &[&'static [u8]]) -> Body {
        let chunks: Vec<Result<Bytes, std::io::Error>> =
            parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
        Body::from_stream(futures_util::stream::iter(chunks))
    }

    #[tokio::test]
    async fn an_upload_holds_its_share_of_the_budget_until_dropped() {
        let uploads = Uploads::new(4096, Duration::from_secs(5), 4096);

        let first = uploads.read(body(&[&[b'x'; 3000]])).await.expect("fits");
        let second = uploads.read(body(&[&[b'y'; 2000]])).await;
        drop(first);
        let third = uploads.read(body(&[&[b'z'; 2000]])).await;

        assert_eq!(second.map(|u| u.bytes.len()), Err(Refusal::Busy));
        assert_eq!(third.map(|u| u.bytes.len()), Ok(2000));
    }

    #[tokio::test]
    async fn an_upload_over_the_limit_is_refused_and_a_slow_one_times_out() {
        let uploads = Uploads::new(1024, Duration::from_millis(200), 8192);

        let large = uploads.read(body(&[&[b'x'; 1000], &[b'x'; 1000]])).await;
        let slow = Body::from_stream(futures_util::stream::pending::<Result<Bytes, std::io::Error>>());
        let slow = uploads.read(slow).await;

        assert_eq!(large.map(|u| u.bytes.len()), Err(Refusal::TooLarge));
        assert_eq!(slow.map(|u| u.bytes.len()), Err(Refusal::TooSlow));
    }
}
