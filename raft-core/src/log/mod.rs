//! The Raft log as the protocol sees it: durable entries in [`LogStorage`]
//! followed by an in-memory [`unstable`] tail, plus the commit and apply
//! cursors.

mod snapshot;
mod unstable;

use crate::error::{Error, Result};
use crate::storage::{clone_within_size, entries_size, LogStorage, StorageError};
use crate::types::{Entry, EntryId};
use unstable::Unstable;

/// Entries a leader sent in one append: `prev` is the entry they follow.
pub(crate) struct LogSlice {
    pub(crate) term: u64,
    pub(crate) prev: EntryId,
    pub(crate) entries: Vec<Entry>,
}

impl LogSlice {
    pub(crate) fn last_index(&self) -> u64 {
        self.prev.index + self.entries.len() as u64
    }

    /// See [`check_append`].
    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        check_append(self.term, self.prev, &self.entries)
    }
}

/// A correct leader at `term` only sends entries that follow `prev` and each
/// other, with terms that never decrease and never exceed its own. Anything
/// else would corrupt the log, so it is refused before touching state.
pub(crate) fn check_append(
    term: u64,
    prev: EntryId,
    entries: &[Entry],
) -> std::result::Result<(), String> {
    let mut prev = prev;
    for e in entries {
        if Some(e.index) != prev.index.checked_add(1) || e.term < prev.term {
            return Err(format!(
                "entry {}/{} cannot follow {}/{}",
                e.term, e.index, prev.term, prev.index
            ));
        }
        prev = EntryId {
            term: e.term,
            index: e.index,
        };
    }
    if prev.term > term {
        return Err(format!(
            "entry {}/{} is newer than the leader's term {}",
            prev.term, prev.index, term
        ));
    }
    Ok(())
}

/// The log plus its cursors: `applied <= applying <= committed <= last`.
pub(crate) struct RaftLog<S> {
    pub(crate) store: S,
    pub(crate) unstable: Unstable,
    /// Highest index known committed by a quorum.
    pub(crate) committed: u64,
    /// Highest index handed to the application for applying.
    pub(crate) applying: u64,
    /// Highest index the application confirmed applied.
    pub(crate) applied: u64,
    max_applying_size: u64,
    applying_size: u64,
    /// Set when too many bytes are being applied, or when a Ready was cut
    /// short by the size limit and the rest must wait for the next one.
    applying_paused: bool,
}

impl<S: LogStorage> RaftLog<S> {
    pub(crate) fn new(store: S, max_applying_size: u64) -> Result<RaftLog<S>> {
        let first = store.first_index()?;
        let last = store.last_index()?;
        Ok(RaftLog {
            store,
            unstable: Unstable::new(last + 1),
            committed: first - 1,
            applying: first - 1,
            applied: first - 1,
            max_applying_size,
            applying_size: 0,
            applying_paused: false,
        })
    }

    /// The first index: after a pending snapshot if there is one, else the
    /// storage's.
    pub(crate) fn first_index(&self) -> Result<u64> {
        match self.unstable.maybe_first_index() {
            Some(i) => Ok(i),
            None => Ok(self.store.first_index()?),
        }
    }

    pub(crate) fn last_index(&self) -> Result<u64> {
        match self.unstable.maybe_last_index() {
            Some(i) => Ok(i),
            None => Ok(self.store.last_index()?),
        }
    }

    /// The term at `index`. `Compacted` and `Unavailable` are ordinary
    /// answers (the index is outside the log); other errors are failures.
    pub(crate) fn term(&self, index: u64) -> std::result::Result<u64, StorageError> {
        if let Some(t) = self.unstable.maybe_term(index) {
            return Ok(t);
        }
        let first = match self.unstable.maybe_first_index() {
            Some(i) => i,
            None => self.store.first_index()?,
        };
        if index.saturating_add(1) < first {
            return Err(StorageError::Compacted);
        }
        let last = match self.unstable.maybe_last_index() {
            Some(i) => i,
            None => self.store.last_index()?,
        };
        if index > last {
            return Err(StorageError::Unavailable);
        }
        self.store.term(index)
    }

    /// The term at `index`, or 0 if the index is outside the log.
    pub(crate) fn term_or_zero(&self, index: u64) -> Result<u64> {
        match self.term(index) {
            Ok(t) => Ok(t),
            Err(StorageError::Compacted | StorageError::Unavailable) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) fn last_entry_id(&self) -> Result<EntryId> {
        let index = self.last_index()?;
        Ok(EntryId {
            term: self.term(index)?,
            index,
        })
    }

    /// Whether our log holds exactly `id`.
    pub(crate) fn match_term(&self, id: EntryId) -> Result<bool> {
        match self.term(id.index) {
            Ok(t) => Ok(t == id.term),
            Err(StorageError::Compacted | StorageError::Unavailable) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Raft's election restriction (§5.4.1): a log is at least as up to date
    /// as ours if its last term is higher, or equal with an index as long.
    pub(crate) fn is_up_to_date(&self, theirs: EntryId) -> Result<bool> {
        let ours = self.last_entry_id()?;
        Ok(theirs.term > ours.term || (theirs.term == ours.term && theirs.index >= ours.index))
    }

    /// A follower's append: if `slice` follows an entry we hold, keep what
    /// matches, replace what conflicts, and advance the commit index as far
    /// as both the leader's commit and the slice allow. Returns the index of
    /// the slice's last entry, or `None` if the consistency check failed.
    pub(crate) fn maybe_append(&mut self, slice: LogSlice, committed: u64) -> Result<Option<u64>> {
        if !self.match_term(slice.prev)? {
            return Ok(None);
        }
        let last_new = slice.last_index();
        let conflict = self.find_conflict(&slice.entries)?;
        if conflict != 0 {
            if conflict <= self.committed {
                // A correct leader never contradicts a committed entry.
                return Err(Error::InvalidMessage {
                    from: 0,
                    reason: format!(
                        "entry {conflict} conflicts with committed entry [committed({})]",
                        self.committed
                    ),
                });
            }
            let skip = (conflict - (slice.prev.index + 1)) as usize;
            let mut entries = slice.entries;
            entries.drain(..skip);
            self.append(entries)?;
        }
        self.commit_to(committed.min(last_new))?;
        Ok(Some(last_new))
    }

    /// Appends entries after the committed prefix; returns the new last index.
    pub(crate) fn append(&mut self, entries: Vec<Entry>) -> Result<u64> {
        let Some(first) = entries.first() else {
            return self.last_index();
        };
        if first.index <= self.committed {
            return Err(Error::InvalidMessage {
                from: 0,
                reason: format!(
                    "append after {} is below the committed index {}",
                    first.index - 1,
                    self.committed
                ),
            });
        }
        self.unstable.truncate_and_append(entries);
        self.last_index()
    }

    /// The index of the first entry in `entries` that we do not hold with the
    /// same term (a conflict, or simply new), or 0 if we hold them all.
    fn find_conflict(&self, entries: &[Entry]) -> Result<u64> {
        for e in entries {
            let id = EntryId {
                term: e.term,
                index: e.index,
            };
            if !self.match_term(id)? {
                if e.index <= self.last_index()? {
                    tracing::info!(
                        "found conflict at index {} [existing term: {}, conflicting term: {}]",
                        e.index,
                        self.term_or_zero(e.index)?,
                        e.term
                    );
                }
                return Ok(e.index);
            }
        }
        Ok(0)
    }

    /// The largest index at or below `index` whose term is at most `term`,
    /// with that term: where the leader's and our logs may still agree. Lets
    /// the leader skip a whole divergent term per round trip instead of one
    /// entry (etcd's fast backtracking).
    pub(crate) fn find_conflict_by_term(&self, mut index: u64, term: u64) -> Result<(u64, u64)> {
        while index > 0 {
            match self.term(index) {
                Ok(our) if our <= term => return Ok((index, our)),
                Ok(_) => index -= 1,
                Err(StorageError::Compacted | StorageError::Unavailable) => return Ok((index, 0)),
                Err(e) => return Err(e.into()),
            }
        }
        Ok((0, 0))
    }

    pub(crate) fn next_unstable_entries(&self) -> &[Entry] {
        self.unstable.next_entries()
    }

    pub(crate) fn has_next_unstable_entries(&self) -> bool {
        !self.unstable.next_entries().is_empty()
    }

    pub(crate) fn has_next_or_in_progress_unstable_entries(&self) -> bool {
        !self.unstable.entries.is_empty()
    }

    fn max_appliable_index(&self, allow_unstable: bool) -> u64 {
        if allow_unstable {
            self.committed
        } else {
            self.committed.min(self.unstable.offset - 1)
        }
    }

    /// Committed entries not yet handed out for applying, within the budget
    /// of bytes being applied.
    pub(crate) fn next_committed_entries(&self, allow_unstable: bool) -> Result<Vec<Entry>> {
        // Entries apply on top of a pending snapshot only once the
        // application has it.
        if self.applying_paused || self.has_next_or_in_progress_snapshot() {
            return Ok(Vec::new());
        }
        let (lo, hi) = (
            self.applying + 1,
            self.max_appliable_index(allow_unstable) + 1,
        );
        if lo >= hi {
            return Ok(Vec::new());
        }
        let budget = self.max_applying_size.saturating_sub(self.applying_size);
        self.slice(lo, hi, budget)
    }

    pub(crate) fn has_next_committed_entries(&self, allow_unstable: bool) -> bool {
        !self.applying_paused
            && !self.has_next_or_in_progress_snapshot()
            && self.applying < self.max_appliable_index(allow_unstable)
    }

    /// Raises the commit index to `to`, never lowering it. Committing beyond
    /// the log would mean a leader vouched for entries we do not have.
    pub(crate) fn commit_to(&mut self, to: u64) -> Result<()> {
        if self.committed < to {
            let last = self.last_index()?;
            if last < to {
                return Err(Error::InvalidMessage {
                    from: 0,
                    reason: format!("commit index {to} is beyond the last index {last}"),
                });
            }
            self.committed = to;
        }
        Ok(())
    }

    pub(crate) fn applied_to(&mut self, index: u64, size: u64) {
        self.applied = index;
        self.applying = self.applying.max(index);
        self.applying_size = self.applying_size.saturating_sub(size);
        self.applying_paused = self.over_applying_budget();
    }

    pub(crate) fn accept_applying(&mut self, index: u64, size: u64, allow_unstable: bool) {
        self.applying = index;
        self.applying_size = self.applying_size.saturating_add(size);
        // A Ready cut short by the budget pauses until the application has
        // applied it, so that Readies never overlap in what they apply.
        self.applying_paused =
            self.over_applying_budget() || index < self.max_appliable_index(allow_unstable);
    }

    /// Whether the bytes being applied use up the budget. Nothing being
    /// applied is never over budget: with a budget of 0 (etcd's reading of
    /// `max_size_per_msg = 0` when no apply budget is set) entries are handed
    /// out one at a time instead of never, where etcd would panic.
    fn over_applying_budget(&self) -> bool {
        self.applying_size > 0 && self.applying_size >= self.max_applying_size
    }

    pub(crate) fn stable_to(&mut self, id: EntryId) {
        self.unstable.stable_to(id)
    }

    pub(crate) fn accept_unstable(&mut self) {
        self.unstable.accept_in_progress()
    }

    /// Commits `at` if it is in our log with that term. Leaders pass their
    /// current term here, which is Raft's rule that only entries of the
    /// current term commit by counting replicas (§5.4.2).
    pub(crate) fn maybe_commit(&mut self, at: EntryId) -> Result<bool> {
        if at.term != 0 && at.index > self.committed && self.match_term(at)? {
            self.commit_to(at.index)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// The budget of bytes being applied at once, which also pages scans
    /// of committed entries.
    pub(crate) fn max_applying_size(&self) -> u64 {
        self.max_applying_size
    }

    /// Entries from `index` to the end, within `max_size`.
    pub(crate) fn entries_from(&self, index: u64, max_size: u64) -> Result<Vec<Entry>> {
        let last = self.last_index()?;
        if index > last {
            return Ok(Vec::new());
        }
        self.slice(index, last + 1, max_size)
    }

    /// Entries in `[lo, hi)` within `max_size` (at least one), read from
    /// storage and the unstable tail as needed.
    pub(crate) fn slice(&self, lo: u64, hi: u64, max_size: u64) -> Result<Vec<Entry>> {
        let first = self.first_index()?;
        if lo < first {
            return Err(StorageError::Compacted.into());
        }
        let last = self.last_index()?;
        if lo > hi || hi > last + 1 {
            return Err(StorageError::Unavailable.into());
        }
        if lo == hi {
            return Ok(Vec::new());
        }
        let offset = self.unstable.offset;
        if lo >= offset {
            return Ok(clone_within_size(self.unstable.slice(lo, hi), max_size));
        }
        let cut = hi.min(offset);
        let mut out = self.store.entries(lo, cut, max_size)?;
        if hi <= offset || (out.len() as u64) < cut - lo {
            return Ok(out);
        }
        let size = entries_size(&out);
        if size >= max_size {
            return Ok(out);
        }
        let tail = clone_within_size(self.unstable.slice(offset, hi), max_size - size);
        // The unstable part must fit entirely; clone_within_size keeps one
        // entry even when it does not.
        if tail.len() == 1 && size + entries_size(&tail) > max_size {
            return Ok(out);
        }
        out.extend(tail);
        Ok(out)
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
