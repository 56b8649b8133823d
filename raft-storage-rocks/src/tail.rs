//! The newest entries, kept in memory so that the hot reads of a Raft loop
//! (the term of the last few entries, the entries a follower is about to be
//! sent) never go through RocksDB.
//!
//! It is also the only place where entries of a staged write live until a
//! writer thread has run its batch: the view already counts them, RocksDB
//! does not have them yet. So the cache never evicts an entry at or above
//! the lowest index a not-yet-run write puts (the "pin"), whatever its
//! bounds say; it shrinks back to them at the next append after the writes
//! ran. A read of a staged range therefore never finds a gap.

use raft_core::Entry;
use std::collections::VecDeque;

/// Bookkeeping charged per cached entry besides its payload, so that a
/// cache of empty entries is still bounded by bytes.
const ENTRY_OVERHEAD: u64 = 48;

/// A contiguous run of entries that always ends at the log's last index
/// (or is empty).
#[derive(Debug)]
pub(crate) struct TailCache {
    entries: VecDeque<Entry>,
    bytes: u64,
    max_entries: usize,
    max_bytes: u64,
}

impl TailCache {
    pub(crate) fn new(max_entries: usize, max_bytes: u64) -> TailCache {
        TailCache {
            entries: VecDeque::new(),
            bytes: 0,
            max_entries,
            max_bytes,
        }
    }

    pub(crate) fn first_index(&self) -> Option<u64> {
        self.entries.front().map(|e| e.index)
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn get(&self, index: u64) -> Option<&Entry> {
        let first = self.first_index()?;
        let offset = usize::try_from(index.checked_sub(first)?).ok()?;
        self.entries.get(offset)
    }

    /// Entries from `lo` (which must be cached) up to `hi`, exclusive.
    pub(crate) fn range(&self, lo: u64, hi: u64) -> impl Iterator<Item = &Entry> + '_ {
        let first = self.first_index().unwrap_or(lo);
        let skip = usize::try_from(lo.saturating_sub(first)).unwrap_or(usize::MAX);
        self.entries
            .iter()
            .skip(skip)
            .take_while(move |e| e.index < hi)
    }

    /// Whether there is room for one more entry of this size, used while
    /// filling the cache from disk on open.
    pub(crate) fn has_room_for(&self, entry: &Entry) -> bool {
        self.entries.len() < self.max_entries && self.bytes + cost(entry) <= self.max_bytes
    }

    /// Puts an entry older than every cached one in front (filling on open).
    pub(crate) fn push_front(&mut self, entry: Entry) {
        self.bytes += cost(&entry);
        self.entries.push_front(entry);
    }

    /// Mirrors a log write: `new` (contiguous, non-empty) replaces every
    /// cached entry from `new[0].index` on. Entries at or above `pinned_from`
    /// are not yet on disk and stay cached beyond the bounds.
    pub(crate) fn append(&mut self, new: &[Entry], pinned_from: Option<u64>) {
        let Some(head) = new.first() else {
            return;
        };
        match self.first_index() {
            Some(first) if head.index > first => {
                let keep = usize::try_from(head.index - first).unwrap_or(usize::MAX);
                while self.entries.len() > keep {
                    if let Some(e) = self.entries.pop_back() {
                        self.bytes -= cost(&e);
                    }
                }
            }
            // The write replaces everything cached, or the cache is empty.
            _ => self.clear(),
        }
        // Only the newest `max_entries` of a large batch can stay anyway,
        // unless they are pinned.
        let pin = pinned_from.unwrap_or(u64::MAX);
        let skip = new
            .len()
            .saturating_sub(self.max_entries)
            .min(new.iter().take_while(|e| e.index < pin).count());
        for e in &new[skip..] {
            self.bytes += cost(e);
            self.entries.push_back(e.clone());
        }
        self.evict(pin);
    }

    fn evict(&mut self, pin: u64) {
        while self.entries.len() > self.max_entries || self.bytes > self.max_bytes {
            if self.first_index().is_none_or(|first| first >= pin) {
                break;
            }
            if let Some(e) = self.entries.pop_front() {
                self.bytes -= cost(&e);
            }
        }
    }

    /// Forgets entries up to and including `index` (compacted away).
    pub(crate) fn drop_through(&mut self, index: u64) {
        while self.first_index().is_some_and(|first| first <= index) {
            if let Some(e) = self.entries.pop_front() {
                self.bytes -= cost(&e);
            }
        }
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }
}

fn cost(e: &Entry) -> u64 {
    e.data.len() as u64 + ENTRY_OVERHEAD
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn ents(term: u64, from: u64, to: u64) -> Vec<Entry> {
        (from..=to)
            .map(|index| Entry {
                term,
                index,
                data: Bytes::from(vec![0u8; 16]),
                ..Entry::default()
            })
            .collect()
    }

    #[test]
    fn keeps_a_bounded_contiguous_tail() {
        let mut c = TailCache::new(4, u64::MAX);
        c.append(&ents(1, 1, 3), None);
        c.append(&ents(1, 4, 6), None);
        assert_eq!(c.first_index(), Some(3));
        assert_eq!(c.len(), 4);
        assert_eq!(c.get(6).map(|e| e.index), Some(6));
        assert!(c.get(2).is_none() && c.get(7).is_none());
        // A batch larger than the cache keeps only its newest entries.
        c.append(&ents(1, 7, 20), None);
        assert_eq!(c.first_index(), Some(17));
        assert_eq!(
            c.range(18, 20).map(|e| e.index).collect::<Vec<_>>(),
            [18, 19]
        );
    }

    #[test]
    fn a_conflicting_write_replaces_the_suffix() {
        let mut c = TailCache::new(10, u64::MAX);
        c.append(&ents(1, 1, 5), None);
        c.append(&ents(2, 3, 3), None);
        assert_eq!(c.len(), 3);
        assert_eq!(c.get(3).map(|e| e.term), Some(2));
        assert!(c.get(4).is_none());
        // Replacing from before the cached range drops the whole cache.
        c.append(&ents(3, 1, 1), None);
        assert_eq!((c.first_index(), c.len()), (Some(1), 1));
    }

    #[test]
    fn pinned_entries_outlive_the_bounds_until_unpinned() {
        let mut c = TailCache::new(2, u64::MAX);
        c.append(&ents(1, 1, 2), None);
        // 3..=8 are not on disk yet: all of them stay, only 1..=2 may go.
        c.append(&ents(1, 3, 8), Some(3));
        assert_eq!((c.first_index(), c.len()), (Some(3), 6));
        // Once written, the next append shrinks the cache to its bound.
        c.append(&ents(1, 9, 9), None);
        assert_eq!((c.first_index(), c.len()), (Some(8), 2));
        // With the cache off, pinned entries are still kept.
        let mut off = TailCache::new(0, u64::MAX);
        off.append(&ents(1, 1, 3), Some(2));
        assert_eq!((off.first_index(), off.len()), (Some(2), 2));
    }

    #[test]
    fn bytes_bound_evicts_oldest_and_zero_disables() {
        let mut c = TailCache::new(100, 3 * (16 + ENTRY_OVERHEAD));
        c.append(&ents(1, 1, 5), None);
        assert_eq!((c.first_index(), c.len()), (Some(3), 3));
        let mut off = TailCache::new(0, u64::MAX);
        off.append(&ents(1, 1, 5), None);
        assert_eq!(off.len(), 0);
        assert!(!off.has_room_for(&ents(1, 6, 6)[0]));
    }
}
