//! What a failover must not break, checked on the logs as they are on disk
//! after a run.

use crate::load::Ack;
use raft_core::{Entry, HardState, NodeId};
use thiserror::Error;

/// One node's log as read back from its storage.
#[derive(Clone, Debug, Default)]
pub struct Log {
    /// The hard state.
    pub hard_state: HardState,
    /// Every stored entry, in index order.
    pub entries: Vec<Entry>,
}

/// A broken promise, with what was seen.
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Violation {
    /// Every node was stopped.
    #[error("no surviving node")]
    NoSurvivor,
    /// Two surviving logs differ.
    #[error("logs of nodes {a} and {b} differ from index {at} ({len_a} vs {len_b} entries)")]
    Diverged {
        /// One node.
        a: NodeId,
        /// The other.
        b: NodeId,
        /// The first index where they differ.
        at: u64,
        /// The length of `a`'s log.
        len_a: usize,
        /// The length of `b`'s log.
        len_b: usize,
    },
    /// An acknowledged index is not in a surviving log.
    #[error("acknowledged index {0} is missing")]
    Missing(u64),
    /// An acknowledged index holds another proposal.
    #[error("index {index} holds ticket {found:?}, but ticket {acked} was acknowledged there")]
    WrongEntry {
        /// The index.
        index: u64,
        /// The ticket found there, if the entry carries one.
        found: Option<u64>,
        /// The ticket acknowledged there.
        acked: u64,
    },
    /// No log was given for the stopped leader.
    #[error("the stopped leader's log is missing")]
    NoStoppedLog,
    /// The stopped leader's log disagrees at a committed index.
    #[error("the stopped leader's committed entry {0} differs from the survivors'")]
    StoppedDisagrees(u64),
}

/// Checks, on the logs as they are on disk:
/// - every acknowledged proposal is in every surviving log, at the index it
///   was acknowledged with, carrying its ticket (nothing committed was lost);
/// - the surviving logs are identical;
/// - the stopped leader's log agrees with them up to its commit index.
///
/// `ticket` reads the ticket an entry carries (see [`crate::load::payload`]),
/// through whatever framing the runtime added.
pub fn check_after_failover(
    logs: &[(NodeId, Log)],
    dead: NodeId,
    acks: &[Ack],
    ticket: impl Fn(&Entry) -> Option<u64>,
) -> Result<String, Violation> {
    let survivors: Vec<&(NodeId, Log)> = logs.iter().filter(|(id, _)| *id != dead).collect();
    let (first_id, reference) = survivors.first().ok_or(Violation::NoSurvivor)?;
    for (id, log) in &survivors[1..] {
        if log.entries != reference.entries {
            let at = log
                .entries
                .iter()
                .zip(&reference.entries)
                .position(|(a, b)| a != b)
                .map(|i| i as u64 + 1)
                .unwrap_or(log.entries.len().min(reference.entries.len()) as u64 + 1);
            return Err(Violation::Diverged {
                a: *first_id,
                b: *id,
                at,
                len_a: reference.entries.len(),
                len_b: log.entries.len(),
            });
        }
    }
    for ack in acks {
        let entry = index_of(&reference.entries, ack.index).ok_or(Violation::Missing(ack.index))?;
        let found = ticket(entry);
        if found != Some(ack.ticket) {
            return Err(Violation::WrongEntry {
                index: ack.index,
                found,
                acked: ack.ticket,
            });
        }
    }
    let (_, stopped) = logs
        .iter()
        .find(|(id, _)| *id == dead)
        .ok_or(Violation::NoStoppedLog)?;
    let commit = stopped.hard_state.commit;
    for index in 1..=commit {
        if index_of(&stopped.entries, index) != index_of(&reference.entries, index) {
            return Err(Violation::StoppedDisagrees(index));
        }
    }
    Ok(format!(
        "checked: {} acknowledged entries present at their indexes on {} surviving logs; \
         surviving logs identical ({} entries); stopped leader agrees up to its commit index {commit}",
        acks.len(),
        survivors.len(),
        reference.entries.len()
    ))
}

fn index_of(entries: &[Entry], index: u64) -> Option<&Entry> {
    let first = entries.first()?.index;
    entries.get(index.checked_sub(first)? as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{payload, ticket_of};
    use bytes::Bytes;

    fn entry(index: u64, ticket: u64) -> Entry {
        Entry {
            term: 1,
            index,
            data: Bytes::from(payload(ticket, 16)),
            ..Entry::default()
        }
    }

    fn check(logs: &[(NodeId, Log)], acked: &[Ack]) -> Result<String, Violation> {
        check_after_failover(logs, 1, acked, |e| ticket_of(&e.data))
    }

    fn log(tickets: &[u64], commit: u64) -> Log {
        Log {
            hard_state: HardState {
                term: 1,
                vote: 1,
                commit,
            },
            entries: tickets
                .iter()
                .enumerate()
                .map(|(i, t)| entry(i as u64 + 1, *t))
                .collect(),
        }
    }

    fn acks(pairs: &[(u64, u64)]) -> Vec<Ack> {
        pairs
            .iter()
            .map(|&(ticket, index)| Ack { ticket, index })
            .collect()
    }

    #[test]
    fn a_clean_failover_passes() {
        let logs = vec![
            (1, log(&[10, 11, 99], 2)),
            (2, log(&[10, 11, 12], 3)),
            (3, log(&[10, 11, 12], 3)),
        ];
        assert!(check(&logs, &acks(&[(10, 1), (11, 2), (12, 3)])).is_ok());
    }

    #[test]
    fn a_lost_or_replaced_acknowledged_entry_fails() {
        let logs = vec![(1, log(&[10], 1)), (2, log(&[10], 1)), (3, log(&[10], 1))];
        assert_eq!(check(&logs, &acks(&[(11, 2)])), Err(Violation::Missing(2)));
        assert_eq!(
            check(&logs, &acks(&[(7, 1)])),
            Err(Violation::WrongEntry {
                index: 1,
                found: Some(10),
                acked: 7
            })
        );
    }

    #[test]
    fn diverging_survivors_fail() {
        let logs = vec![
            (1, log(&[10], 1)),
            (2, log(&[10, 11], 2)),
            (3, log(&[10, 12], 2)),
        ];
        assert!(matches!(
            check(&logs, &[]),
            Err(Violation::Diverged { at: 2, .. })
        ));
    }

    #[test]
    fn a_stopped_leader_disagreeing_below_its_commit_fails() {
        let logs = vec![
            (1, log(&[10, 13], 2)),
            (2, log(&[10, 11], 2)),
            (3, log(&[10, 11], 2)),
        ];
        assert_eq!(check(&logs, &[]), Err(Violation::StoppedDisagrees(2)));
    }
}
