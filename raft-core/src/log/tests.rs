use super::*;
use crate::storage::{LogWrite, MemStorage};
use crate::types::ConfState;

fn ent(term: u64, index: u64) -> Entry {
    Entry {
        term,
        index,
        ..Entry::default()
    }
}

/// A log whose storage holds `stored` (terms for indexes 1..) and whose
/// unstable tail holds `unstable` after it.
fn log_with(stored: &[u64], unstable: &[u64]) -> RaftLog<MemStorage> {
    let mut store = MemStorage::with_voters([1]);
    let entries = stored
        .iter()
        .enumerate()
        .map(|(i, t)| ent(*t, i as u64 + 1))
        .collect();
    store.write(LogWrite::new(entries, None, true)).unwrap();
    let mut log = RaftLog::new(store, u64::MAX).unwrap();
    let base = stored.len() as u64;
    let tail: Vec<Entry> = unstable
        .iter()
        .enumerate()
        .map(|(i, t)| ent(*t, base + i as u64 + 1))
        .collect();
    if !tail.is_empty() {
        log.append(tail).unwrap();
    }
    log
}

fn slice(prev_term: u64, prev_index: u64, terms: &[u64]) -> LogSlice {
    LogSlice {
        term: terms
            .iter()
            .copied()
            .max()
            .unwrap_or(prev_term)
            .max(prev_term),
        prev: EntryId {
            term: prev_term,
            index: prev_index,
        },
        entries: terms
            .iter()
            .enumerate()
            .map(|(i, t)| ent(*t, prev_index + 1 + i as u64))
            .collect(),
    }
}

#[test]
fn terms_come_from_storage_and_the_unstable_tail() {
    let log = log_with(&[1, 1, 2], &[3, 3]);
    assert_eq!(log.last_index().unwrap(), 5);
    assert_eq!(log.term(0).unwrap(), 0);
    assert_eq!(log.term(3).unwrap(), 2);
    assert_eq!(log.term(4).unwrap(), 3);
    assert!(matches!(log.term(6), Err(StorageError::Unavailable)));
    assert_eq!(log.last_entry_id().unwrap(), EntryId { term: 3, index: 5 });
}

#[test]
fn append_rejects_a_mismatching_previous_entry() {
    let mut log = log_with(&[1, 2], &[]);
    assert_eq!(log.maybe_append(slice(1, 2, &[2]), 0).unwrap(), None);
    assert_eq!(log.maybe_append(slice(2, 3, &[2]), 0).unwrap(), None);
    assert_eq!(log.last_index().unwrap(), 2);
}

#[test]
fn append_truncates_conflicts_and_keeps_matches() {
    let mut log = log_with(&[1, 1, 1], &[]);
    // Matching entries are kept, the conflict at 3 and after is replaced.
    assert_eq!(
        log.maybe_append(slice(1, 1, &[1, 2, 2]), 0).unwrap(),
        Some(4)
    );
    assert_eq!(log.term(2).unwrap(), 1);
    assert_eq!(log.term(3).unwrap(), 2);
    assert_eq!(log.last_index().unwrap(), 4);
    // A stale, shorter append that matches does not truncate.
    assert_eq!(log.maybe_append(slice(1, 1, &[1]), 0).unwrap(), Some(2));
    assert_eq!(log.last_index().unwrap(), 4);
}

#[test]
fn commit_follows_the_leader_but_not_past_the_append() {
    let mut log = log_with(&[1, 1], &[]);
    log.maybe_append(slice(1, 2, &[1]), 10).unwrap();
    assert_eq!(log.committed, 3);
    log.maybe_append(slice(1, 1, &[]), 10).unwrap();
    assert_eq!(log.committed, 3, "commit never goes backwards");
}

#[test]
fn conflicting_with_a_committed_entry_is_an_error_not_a_panic() {
    let mut log = log_with(&[1, 1, 1], &[]);
    log.commit_to(3).unwrap();
    let err = log.maybe_append(slice(1, 1, &[2]), 0).unwrap_err();
    assert!(matches!(err, Error::InvalidMessage { .. }), "{err}");
    assert_eq!(log.term(2).unwrap(), 1);
}

#[test]
fn commit_beyond_the_log_is_an_error() {
    let mut log = log_with(&[1], &[]);
    assert!(log.commit_to(5).is_err());
    assert_eq!(log.committed, 0);
}

#[test]
fn find_conflict_by_term_skips_newer_terms() {
    // idx:   1 2 3 4 5 6 7 8 9
    // terms: 1 3 3 4 4 5 5 5 6
    let log = log_with(&[1, 3, 3, 4, 4, 5, 5, 5, 6], &[]);
    assert_eq!(log.find_conflict_by_term(8, 3).unwrap(), (3, 3));
    assert_eq!(log.find_conflict_by_term(9, 6).unwrap(), (9, 6));
    assert_eq!(log.find_conflict_by_term(9, 0).unwrap(), (0, 0));
    assert_eq!(
        log.find_conflict_by_term(20, 2).unwrap(),
        (20, 0),
        "outside the log"
    );
}

#[test]
fn up_to_date_compares_last_term_then_index() {
    let log = log_with(&[1, 2, 2], &[]);
    let id = |term, index| EntryId { term, index };
    assert!(log.is_up_to_date(id(3, 1)).unwrap());
    assert!(log.is_up_to_date(id(2, 3)).unwrap());
    assert!(!log.is_up_to_date(id(2, 2)).unwrap());
    assert!(!log.is_up_to_date(id(1, 10)).unwrap());
}

#[test]
fn only_a_matching_term_commits() {
    let mut log = log_with(&[1, 1, 2], &[]);
    assert!(!log.maybe_commit(EntryId { term: 2, index: 2 }).unwrap());
    assert!(log.maybe_commit(EntryId { term: 2, index: 3 }).unwrap());
    assert_eq!(log.committed, 3);
}

#[test]
fn slices_span_storage_and_unstable_within_size() {
    let log = log_with(&[1, 1], &[2, 2]);
    assert_eq!(log.slice(1, 5, u64::MAX).unwrap().len(), 4);
    assert_eq!(log.slice(2, 4, u64::MAX).unwrap().len(), 2);
    // Each entry here encodes to 4 bytes.
    assert_eq!(log.slice(1, 5, 0).unwrap().len(), 1);
    assert_eq!(log.slice(1, 5, 12).unwrap().len(), 3);
    assert!(log.slice(0, 2, u64::MAX).is_err());
}

#[test]
fn committed_entries_respect_the_applying_budget() {
    let store = MemStorage::with_base(ConfState::with_voters([1]), EntryId::default());
    let mut log = RaftLog::new(store, 8).unwrap();
    log.append((1..=4).map(|i| ent(1, i)).collect()).unwrap();
    log.commit_to(4).unwrap();
    let first = log.next_committed_entries(true).unwrap();
    assert_eq!(first.len(), 2);
    log.accept_applying(2, 8, true);
    assert!(!log.has_next_committed_entries(true), "budget used up");
    log.applied_to(2, 8);
    assert_eq!(log.next_committed_entries(true).unwrap().len(), 2);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn terms() -> impl Strategy<Value = Vec<u64>> {
        proptest::collection::vec(1u64..4, 0..12).prop_map(|mut v| {
            v.sort_unstable();
            v
        })
    }

    proptest! {
        /// After a successful append, the log holds exactly the leader's
        /// entries over the appended range (whatever it held there before),
        /// and terms still never decrease along the log.
        #[test]
        fn append_makes_logs_match(ours in terms(), theirs in terms(), cut in 0usize..12) {
            let cut = cut.min(theirs.len());
            let mut log = log_with(&ours, &[]);
            let prev_index = cut as u64;
            let prev_term = if cut == 0 { 0 } else { theirs[cut - 1] };
            let s = LogSlice {
                term: 10,
                prev: EntryId { term: prev_term, index: prev_index },
                entries: theirs[cut..].iter().enumerate()
                    .map(|(i, t)| ent(*t, prev_index + 1 + i as u64)).collect(),
            };
            let matched = log.match_term(s.prev).unwrap();
            let res = log.maybe_append(s, 0).unwrap();
            prop_assert_eq!(res.is_some(), matched);
            if res.is_some() {
                for (i, t) in theirs.iter().enumerate().skip(cut) {
                    prop_assert_eq!(log.term(i as u64 + 1).unwrap(), *t);
                }
                // Terms never decrease along the log.
                let last = log.last_index().unwrap();
                for i in 1..last {
                    prop_assert!(log.term(i).unwrap() <= log.term(i + 1).unwrap());
                }
            } else {
                prop_assert_eq!(log.last_index().unwrap(), ours.len() as u64);
            }
        }

        /// The hint never points past the probe, and the term it reports is
        /// really the term at that index (or 0 outside the log).
        #[test]
        fn conflict_hint_is_sound(ours in terms(), index in 0u64..15, term in 0u64..5) {
            let log = log_with(&ours, &[]);
            let (i, t) = log.find_conflict_by_term(index, term).unwrap();
            prop_assert!(i <= index);
            prop_assert!(t <= term);
            prop_assert_eq!(t, log.term_or_zero(i).unwrap());
        }
    }
}
