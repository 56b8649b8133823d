//! The window of append messages sent to one follower and not yet
//! acknowledged, which bounds how far optimistic replication runs ahead.

use std::collections::VecDeque;

/// In-flight appends, oldest first, each remembered by the last index it
/// carried and its payload bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inflights {
    window: VecDeque<(u64, u64)>,
    bytes: u64,
    max_count: usize,
    max_bytes: u64,
}

impl Inflights {
    /// A window of at most `max_count` messages and `max_bytes` payload bytes
    /// (`u64::MAX`: unlimited).
    pub fn new(max_count: usize, max_bytes: u64) -> Inflights {
        Inflights {
            window: VecDeque::new(),
            bytes: 0,
            max_count,
            max_bytes,
        }
    }

    /// Records an append whose last entry is `index`. Callers check
    /// [`Inflights::full`] first; adding to a full window still records it,
    /// so accounting stays exact.
    pub fn add(&mut self, index: u64, bytes: u64) {
        self.window.push_back((index, bytes));
        self.bytes = self.bytes.saturating_add(bytes);
    }

    /// Forgets every append up to and including `index`: the follower has
    /// acknowledged it.
    pub fn free_le(&mut self, index: u64) {
        while let Some(&(last, bytes)) = self.window.front() {
            if last > index {
                break;
            }
            self.bytes -= bytes;
            self.window.pop_front();
        }
    }

    /// No more appends may be sent.
    pub fn full(&self) -> bool {
        self.window.len() >= self.max_count || self.bytes >= self.max_bytes
    }

    /// Appends in flight.
    pub fn count(&self) -> usize {
        self.window.len()
    }

    /// Bytes of entries in flight.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Forgets everything in flight (the peer's state was reset).
    pub fn reset(&mut self) {
        self.window.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_by_count_and_frees_by_index() {
        let mut inf = Inflights::new(3, u64::MAX);
        inf.add(5, 10);
        inf.add(7, 10);
        assert!(!inf.full());
        inf.add(9, 10);
        assert!(inf.full());
        inf.free_le(6);
        assert_eq!(inf.count(), 2);
        assert_eq!(inf.bytes(), 20);
        assert!(!inf.full());
        inf.free_le(100);
        assert_eq!(inf.count(), 0);
        assert_eq!(inf.bytes(), 0);
    }

    #[test]
    fn fills_by_bytes() {
        let mut inf = Inflights::new(100, 25);
        inf.add(1, 10);
        inf.add(2, 10);
        assert!(!inf.full());
        inf.add(3, 10);
        assert!(inf.full());
        inf.free_le(1);
        assert!(!inf.full());
    }
}
