//! The live profile: every predicted row counted into its reference bins,
//! per feature and for the prediction, since the model loaded and over the
//! last hour (twelve five-minute slots). Fixed memory, set at load: counters
//! only, no row and no value is ever kept.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use super::reference::{FeatureProfile, PredictionProfile, Reference};
use crate::input::{Category, Rows};
use crate::model::ModelOutput;

/// Length of one slot of the rolling window.
pub(super) const SLOT_SECS: u64 = 300;
/// Slots in the rolling window: an hour.
pub(super) const SLOTS: u64 = 12;

/// Where each distribution's counters sit in one flat array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Layout {
    /// Per feature: first counter, then how many (its bins, then the extra
    /// counters: numeric: missing, out of range; categorical: other, missing).
    pub(super) features: Vec<(usize, usize)>,
    /// The prediction's counters: its bins, then (values) out of range.
    pub(super) prediction: (usize, usize),
    /// Total counters, the row count (the last one) included.
    pub(super) len: usize,
}

impl Layout {
    fn of(reference: &Reference) -> Self {
        let mut next = 0;
        let mut take = |n: usize| {
            let at = next;
            next += n;
            (at, n)
        };
        let features = reference
            .features
            .iter()
            .map(|f| match f {
                // bins + missing + out of range
                FeatureProfile::Numeric { bins, .. } => take(bins.len() + 2),
                // categories + other + missing
                FeatureProfile::Categorical { categories, .. } => take(categories.len() + 2),
            })
            .collect();
        let prediction = match &reference.prediction {
            PredictionProfile::Classes { classes, .. } => take(classes.len()),
            PredictionProfile::Value { bins, .. } => take(bins.len() + 1),
        };
        let (rows, _) = take(1);
        Self { features, prediction, len: rows + 1 }
    }

    /// The counter holding the row count.
    pub(super) fn rows(&self) -> usize {
        self.len - 1
    }
}

/// Counter shards: each thread adds to its own, so two cores counting rows
/// at once do not fight over the same cache lines.
const SHARDS: usize = 4;

/// What the counters held when a five-minute slot began, and which slot.
#[derive(Debug)]
struct Snapshot {
    epoch: AtomicU64,
    counts: Box<[AtomicU64]>,
}

/// A model's live counters.
///
/// Only running totals are counted on the hot path; the last hour is the
/// totals now less the totals when the hour's first slot began, kept as a
/// snapshot taken by the first row counted in each slot.
#[derive(Debug)]
pub(super) struct Live {
    layout: Layout,
    shards: Box<[Box<[AtomicU64]>]>,
    snapshots: Box<[Snapshot]>,
    /// The slot of the last row counted.
    epoch: AtomicU64,
    loaded: Instant,
}

fn zeros(n: usize) -> Box<[AtomicU64]> {
    // Rounded up to whole cache lines, so shards never share one.
    (0..n.div_ceil(8) * 8).map(|_| AtomicU64::new(0)).collect()
}

/// The current five-minute slot of wall-clock time.
fn epoch_now() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs()) / SLOT_SECS
}

/// This thread's shard.
fn shard() -> usize {
    use std::sync::atomic::AtomicUsize;
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static MINE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    MINE.with(|s| *s)
}

impl Live {
    /// Counters for `reference`'s bins, all zero.
    pub(super) fn new(reference: &Reference) -> Self {
        let layout = Layout::of(reference);
        let snapshots = (0..=SLOTS)
            .map(|_| Snapshot { epoch: AtomicU64::new(u64::MAX), counts: zeros(layout.len) })
            .collect();
        Self {
            shards: (0..SHARDS).map(|_| zeros(layout.len)).collect(),
            snapshots,
            epoch: AtomicU64::new(u64::MAX),
            layout,
            loaded: Instant::now(),
        }
    }

    /// Where the counters sit.
    pub(super) fn layout(&self) -> &Layout {
        &self.layout
    }

    /// How many counters this model holds, all windows included: fixed at load.
    pub(super) fn counter_count(&self) -> usize {
        self.shards.iter().chain(self.snapshots.iter().map(|s| &s.counts)).map(|c| c.len()).sum()
    }

    /// Counts `rows` into a tally of their own, before the model takes them.
    pub(super) fn tally(&self, reference: &Reference, rows: &Rows) -> Vec<u64> {
        let mut local = vec![0_u64; self.layout.len];
        for (col, (profile, &(at, _))) in reference.features.iter().zip(&self.layout.features).enumerate() {
            match profile {
                FeatureProfile::Numeric { bins, .. } => {
                    let (missing, outside) = (at + bins.len(), at + bins.len() + 1);
                    for row in 0..rows.len() {
                        let v = rows.number(row, col);
                        if v.is_nan() {
                            local[missing] += 1;
                        } else {
                            local[at + bins.of(v)] += 1;
                            if bins.outside(v) {
                                local[outside] += 1;
                            }
                        }
                    }
                }
                FeatureProfile::Categorical { categories, .. } => {
                    let (other, missing) = (at + categories.len(), at + categories.len() + 1);
                    for row in 0..rows.len() {
                        match rows.category(row, col) {
                            Some(Category::Known(i)) => local[at + *i as usize] += 1,
                            Some(Category::Unknown(_)) => local[other] += 1,
                            Some(Category::Missing) | None => local[missing] += 1,
                        }
                    }
                }
            }
        }
        local[self.layout.rows()] = rows.len() as u64;
        local
    }

    /// Adds what the model answered to `local` (from [`Live::tally`]) and
    /// the whole tally to the counters.
    pub(super) fn commit(&self, reference: &Reference, mut local: Vec<u64>, output: &ModelOutput) {
        let (at, _) = self.layout.prediction;
        match (&reference.prediction, output) {
            (PredictionProfile::Classes { .. }, ModelOutput::Probabilities { .. }) => {
                for class in output.predicted_classes().into_iter().flatten() {
                    local[at + class] += 1;
                }
            }
            (PredictionProfile::Value { bins, .. }, ModelOutput::Values(values)) => {
                let outside = at + bins.len();
                for &v in values.iter().filter(|v| v.is_finite()) {
                    local[at + bins.of(v)] += 1;
                    if bins.outside(v) {
                        local[outside] += 1;
                    }
                }
            }
            _ => {}
        }
        self.add(&local);
    }

    fn add(&self, local: &[u64]) {
        let epoch = epoch_now();
        let seen = self.epoch.load(Ordering::Relaxed);
        if seen != epoch
            && self.epoch.compare_exchange(seen, epoch, Ordering::AcqRel, Ordering::Relaxed).is_ok()
        {
            // The first row of a new slot: keep the totals as they stand, the
            // start of that slot for the rolling window (rows counted by
            // another thread at this very moment may land on either side).
            let snapshot = &self.snapshots[(epoch % (SLOTS + 1)) as usize];
            snapshot.epoch.store(u64::MAX, Ordering::Release);
            for (s, t) in snapshot.counts.iter().zip(self.totals()) {
                s.store(t, Ordering::Relaxed);
            }
            snapshot.epoch.store(epoch, Ordering::Release);
        }
        let shard = &self.shards[shard()];
        for (i, &n) in local.iter().enumerate().filter(|(_, n)| **n > 0) {
            shard[i].fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Every counter summed over the shards.
    fn totals(&self) -> Vec<u64> {
        (0..self.layout.len).map(|i| self.shards.iter().map(|s| s[i].load(Ordering::Relaxed)).sum()).collect()
    }

    /// Counts since the model loaded, and the seconds that covers.
    pub(super) fn since_start(&self) -> (Vec<u64>, u64) {
        (self.totals(), self.loaded.elapsed().as_secs())
    }

    /// Counts over the last hour (the current slot and the eleven before),
    /// and the seconds that covers: the totals less the snapshot taken when
    /// the earliest slot of the hour with any row began.
    pub(super) fn last_hour(&self) -> (Vec<u64>, u64) {
        let now = epoch_now();
        let totals = self.totals();
        let first = self
            .snapshots
            .iter()
            .filter(|s| {
                let e = s.epoch.load(Ordering::Acquire);
                e <= now && now - e < SLOTS
            })
            .min_by_key(|s| s.epoch.load(Ordering::Acquire));
        let counts = match first {
            Some(s) => totals
                .iter()
                .zip(s.counts.iter())
                .map(|(t, s)| t.saturating_sub(s.load(Ordering::Relaxed)))
                .collect(),
            // No row in the last hour.
            None => vec![0; totals.len()],
        };
        (counts, self.loaded.elapsed().as_secs().min(SLOT_SECS * SLOTS))
    }
}
