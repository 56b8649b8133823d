//! Snapshots and compaction in the RocksDB log.
//!
//! Installing a snapshot and cutting the log are one `WriteBatch`: a range
//! tombstone over every entry, the new base, membership and snapshot
//! records. Compaction is a range tombstone over the prefix and the new
//! base in one batch. So after any crash the log starts right after the
//! durable base, never behind the durable snapshot, and has no gap.

use crate::error::RocksError;
use crate::format::{self, CF_ENTRIES, CF_META, KEY_BASE, KEY_CONF_STATE, KEY_SNAPSHOT};
use crate::setup::cf;
use crate::storage::RocksStorage;
use bytes::Bytes;
use raft_core::{ConfState, EntryId, Snapshot};
use rocksdb::{WriteBatch, WriteOptions};
use tracing::debug;

impl RocksStorage {
    /// The latest snapshot (the base with no data until one is installed or
    /// created).
    pub fn latest_snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// Records a snapshot of the application state `data` as of `index`,
    /// with membership `conf_state` if given (else the stored one), durably;
    /// the log is untouched (see [`RocksStorage::compact_to`]). Like
    /// [`raft_core::MemStorage::create_snapshot`]: `index` must be newer
    /// than the stored snapshot and within the log.
    pub fn create_snapshot(
        &mut self,
        index: u64,
        conf_state: Option<ConfState>,
        data: impl Into<Bytes>,
    ) -> Result<Snapshot, RocksError> {
        self.check_snapshot_is_newer(index)?;
        let term = self.term_in_log(index)?;
        let given = conf_state.is_some();
        let conf_state = conf_state.unwrap_or_else(|| self.conf_state.clone());
        let snapshot = Snapshot::new(index, term, conf_state, data);
        let mut batch = WriteBatch::default();
        if given {
            // A restart resumes applying after the snapshot, so the
            // configuration it starts from must be the snapshot's, not the
            // one the log was created with.
            batch.put_cf(
                cf(&self.db, CF_META)?,
                KEY_CONF_STATE,
                format::encode_conf_state(&snapshot.metadata.conf_state),
            );
        }
        batch.put_cf(
            cf(&self.db, CF_META)?,
            KEY_SNAPSHOT,
            format::encode_snapshot(&snapshot),
        );
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        self.db.write_opt(batch, &opts)?;
        if given {
            self.conf_state = snapshot.metadata.conf_state.clone();
        }
        self.snapshot = snapshot.clone();
        debug!(index, term, "created snapshot");
        Ok(snapshot)
    }

    /// Drops every entry up to and including `compact_index` (one range
    /// tombstone and the new base, in one synced batch: compaction is rare,
    /// and a compaction that is durable when it returns is one less case
    /// for whoever reasons about a crash).
    pub fn compact_to(&mut self, compact_index: u64) -> Result<(), RocksError> {
        if compact_index <= self.base.index {
            return Err(RocksError::Compacted);
        }
        let term = self.term_in_log(compact_index)?;
        let base = EntryId {
            term,
            index: compact_index,
        };
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(
            cf(&self.db, CF_ENTRIES)?,
            format::entry_key(self.base.index + 1),
            format::entry_key(compact_index + 1),
        );
        batch.put_cf(cf(&self.db, CF_META)?, KEY_BASE, format::encode_base(&base));
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        self.db.write_opt(batch, &opts)?;
        self.base = base;
        self.tail.drop_through(compact_index);
        debug!(compact_index, term, "compacted log");
        Ok(())
    }

    pub(crate) fn check_snapshot_is_newer(&self, index: u64) -> Result<(), RocksError> {
        let stored = self.snapshot.index();
        if stored != 0 && stored >= index {
            return Err(RocksError::SnapshotOutOfDate);
        }
        Ok(())
    }

    /// Adds to `batch` what installing `s` writes: every entry gone, and
    /// base, membership and snapshot records from `s`.
    pub(crate) fn put_snapshot_install(
        &self,
        batch: &mut WriteBatch,
        s: &Snapshot,
    ) -> Result<(), RocksError> {
        if self.last > self.base.index {
            batch.delete_range_cf(
                cf(&self.db, CF_ENTRIES)?,
                format::entry_key(self.base.index + 1),
                format::entry_key(self.last + 1),
            );
        }
        let meta = cf(&self.db, CF_META)?;
        let base = EntryId {
            term: s.term(),
            index: s.index(),
        };
        batch.put_cf(meta, KEY_BASE, format::encode_base(&base));
        batch.put_cf(
            meta,
            KEY_CONF_STATE,
            format::encode_conf_state(&s.metadata.conf_state),
        );
        batch.put_cf(meta, KEY_SNAPSHOT, format::encode_snapshot(s));
        Ok(())
    }

    /// The term at `index`, which must be the base or a stored entry.
    fn term_in_log(&self, index: u64) -> Result<u64, RocksError> {
        if index < self.base.index {
            return Err(RocksError::Compacted);
        }
        if index > self.last {
            return Err(RocksError::Unavailable);
        }
        if index == self.base.index {
            return Ok(self.base.term);
        }
        self.term_of(index)
    }
}
