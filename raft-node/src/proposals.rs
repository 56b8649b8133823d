//! Proposals waiting for their entries to apply: each alone
//! ([`crate::NodeHandle::propose`]) or as one slot of a batch
//! ([`crate::NodeHandle::propose_batch`]), which answers once, when its last
//! entry is settled, with one result per entry in the order given.

use crate::error::ProposeError;
use crate::state_machine::Applied;
use std::collections::HashMap;
use tokio::sync::oneshot;

/// What one proposal resolves to.
pub(crate) type Outcome = Result<Applied, ProposeError>;
/// Where a single proposal's outcome goes.
pub(crate) type Reply = oneshot::Sender<Outcome>;
/// Where a batch's outcomes go, all at once.
pub(crate) type BatchReply = oneshot::Sender<Vec<Outcome>>;

/// Who waits for a proposal's outcome.
pub(crate) enum Waiter {
    /// A proposal made alone.
    One(Reply),
    /// Slot `slot` of batch `batch` (from [`Proposals::open_batch`]).
    InBatch { batch: u64, slot: usize },
}

struct Pending {
    waiter: Waiter,
    deadline: u64,
}

struct Batch {
    outcomes: Vec<Option<Outcome>>,
    open: usize,
    reply: BatchReply,
}

/// Every proposal of this node not yet answered, by sequence number.
#[derive(Default)]
pub(crate) struct Proposals {
    pending: HashMap<u64, Pending>,
    batches: HashMap<u64, Batch>,
    next_batch: u64,
}

impl Proposals {
    /// Proposals waiting (a batch counts each of its entries).
    pub(crate) fn len(&self) -> usize {
        self.pending.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// `seq` is in the log; `waiter` hears of it when it applies, or fails.
    pub(crate) fn wait(&mut self, seq: u64, waiter: Waiter, deadline: u64) {
        self.pending.insert(seq, Pending { waiter, deadline });
    }

    /// Answers `waiter` now: its proposal never entered the log.
    pub(crate) fn settle(&mut self, waiter: Waiter, outcome: Outcome) {
        self.answer(waiter, outcome);
    }

    /// Opens a batch of `len` entries answered through `reply`; its slots
    /// are then each either waited on or settled at once.
    pub(crate) fn open_batch(&mut self, len: usize, reply: BatchReply) -> u64 {
        if len == 0 {
            let _ = reply.send(Vec::new());
            return u64::MAX;
        }
        let batch = self.next_batch;
        self.next_batch = self.next_batch.wrapping_add(1);
        let outcomes = std::iter::repeat_with(|| None).take(len).collect();
        self.batches.insert(
            batch,
            Batch {
                outcomes,
                open: len,
                reply,
            },
        );
        batch
    }

    /// Fills slot `slot` of `batch`; the batch replies when this was its
    /// last open slot.
    fn settle_in_batch(&mut self, batch: u64, slot: usize, outcome: Outcome) {
        let Some(b) = self.batches.get_mut(&batch) else {
            return;
        };
        if let Some(cell) = b.outcomes.get_mut(slot) {
            if cell.is_none() {
                *cell = Some(outcome);
                b.open -= 1;
            }
        }
        if b.open == 0 {
            if let Some(b) = self.batches.remove(&batch) {
                // Every slot is filled once `open` reaches zero.
                let outcomes = b.outcomes.into_iter().flatten().collect();
                let _ = b.reply.send(outcomes);
            }
        }
    }

    /// Answers proposal `seq`, if it is still waiting.
    pub(crate) fn resolve(&mut self, seq: u64, outcome: Outcome) {
        if let Some(p) = self.pending.remove(&seq) {
            self.answer(p.waiter, outcome);
        }
    }

    /// Fails every proposal whose deadline is `now` or earlier.
    pub(crate) fn expire(&mut self, now: u64, error: impl Fn() -> ProposeError) {
        let expired: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(seq, _)| *seq)
            .collect();
        for seq in expired {
            self.resolve(seq, Err(error()));
        }
    }

    /// Fails every waiting proposal with `error`.
    pub(crate) fn fail_all(&mut self, error: ProposeError) {
        let waiting: Vec<Pending> = self.pending.drain().map(|(_, p)| p).collect();
        for p in waiting {
            self.answer(p.waiter, Err(error.clone()));
        }
    }

    fn answer(&mut self, waiter: Waiter, outcome: Outcome) {
        match waiter {
            Waiter::One(reply) => {
                let _ = reply.send(outcome);
            }
            Waiter::InBatch { batch, slot } => self.settle_in_batch(batch, slot, outcome),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn applied(index: u64) -> Outcome {
        Ok(Applied {
            index,
            response: Bytes::new(),
        })
    }

    #[test]
    fn a_batch_answers_once_in_slot_order() {
        let mut p = Proposals::default();
        let (tx, mut rx) = oneshot::channel();
        let batch = p.open_batch(3, tx);
        p.wait(10, Waiter::InBatch { batch, slot: 0 }, 5);
        let refused = Waiter::InBatch { batch, slot: 1 };
        p.settle(refused, Err(ProposeError::ShuttingDown));
        p.wait(11, Waiter::InBatch { batch, slot: 2 }, 5);
        assert_eq!(p.len(), 2);
        p.resolve(11, applied(8));
        assert!(rx.try_recv().is_err(), "one slot is still open");
        p.resolve(10, applied(7));
        let outcomes = rx.try_recv().expect("answered when the last slot settled");
        assert_eq!(
            outcomes,
            vec![applied(7), Err(ProposeError::ShuttingDown), applied(8)]
        );
        assert!(p.is_empty() && p.batches.is_empty());
    }

    #[test]
    fn expiry_and_failure_reach_singles_and_batches() {
        let mut p = Proposals::default();
        let (one, mut one_rx) = oneshot::channel();
        p.wait(1, Waiter::One(one), 3);
        let (tx, mut rx) = oneshot::channel();
        let batch = p.open_batch(2, tx);
        p.wait(2, Waiter::InBatch { batch, slot: 0 }, 3);
        p.wait(3, Waiter::InBatch { batch, slot: 1 }, 9);
        let dropped = || ProposeError::Dropped {
            reason: "late".into(),
        };
        p.expire(3, dropped);
        assert_eq!(one_rx.try_recv().expect("expired"), Err(dropped()));
        assert!(rx.try_recv().is_err(), "slot 1 has not expired");
        p.fail_all(ProposeError::ShuttingDown);
        assert_eq!(
            rx.try_recv().expect("failed"),
            vec![Err(dropped()), Err(ProposeError::ShuttingDown)]
        );
    }

    #[test]
    fn an_empty_batch_answers_at_once() {
        let mut p = Proposals::default();
        let (tx, mut rx) = oneshot::channel();
        p.open_batch(0, tx);
        assert_eq!(rx.try_recv().expect("answered"), Vec::new());
    }
}
