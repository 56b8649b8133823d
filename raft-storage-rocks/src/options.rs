//! RocksDB options tuned for a Raft log, and this crate's own knobs.
//!
//! A Raft log is written at its tail, read mostly at its tail, and must not
//! lose a synced write. The choices, and why:
//!
//! * **WAL on, point-in-time recovery.** Durability comes from the
//!   write-ahead log: a synced `WriteBatch` is one WAL record, fdatasync'd
//!   before `write` returns. After a crash RocksDB replays the WAL up to the
//!   first torn record and stops there (`PointInTime`), which is exactly
//!   "everything synced survives, a half-written batch vanishes whole".
//! * **fdatasync, not fsync** (`use_fsync = false`): the WAL's metadata that
//!   matters (its size) is covered by fdatasync.
//! * **LZ4 for entries, nothing for metadata.** Compression works on 4 KiB
//!   SST blocks, not single values, so even small entries compress together
//!   when they are alike; LZ4 costs little CPU. The WAL is not compressed
//!   (RocksDB only offers zstd there, which is not compiled in, and it would
//!   sit on the sync path). The metadata column family is a few dozen bytes.
//! * **Little background work.** Two background jobs (one flush, one
//!   compaction), no periodic statistics dumps, the info log at `WARN` and at
//!   most two old info-log files kept.
//! * **A 64 MiB memtable per column family**, so the recent log is in memory
//!   even when it has left the tail cache (see [`StorageOptions`]).

use crate::format::{CF_ENTRIES, CF_META};
use rocksdb::{ColumnFamilyDescriptor, DBCompressionType, DBRecoveryMode, LogLevel, Options};

/// Knobs of this crate that do not change the on-disk format.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct StorageOptions {
    /// The tail cache keeps at most this many of the newest entries in
    /// memory (0 turns it off). Entries of staged writes that have not run
    /// yet stay cached beyond this bound until they are on disk.
    pub tail_cache_entries: usize,
    /// ... and at most this many payload bytes.
    pub tail_cache_bytes: u64,
}

impl StorageOptions {
    /// Options whose tail cache keeps at most `entries` entries and `bytes`
    /// payload bytes (`entries` = 0 turns it off).
    pub fn with_tail_cache(entries: usize, bytes: u64) -> StorageOptions {
        StorageOptions {
            tail_cache_entries: entries,
            tail_cache_bytes: bytes,
        }
    }
}

impl Default for StorageOptions {
    /// Enough for a leader to serve the appends and term checks of
    /// followers that are a few batches behind without a RocksDB read.
    fn default() -> StorageOptions {
        StorageOptions {
            tail_cache_entries: 4096,
            tail_cache_bytes: 8 << 20,
        }
    }
}

const MEMTABLE_BYTES: usize = 64 << 20;

/// Database-wide options. `create` decides whether a missing database is
/// made (create) or an error (open).
pub(crate) fn db_options(create: bool) -> Options {
    let mut o = Options::default();
    o.create_if_missing(create);
    o.create_missing_column_families(create);
    o.set_error_if_exists(create);
    o.set_paranoid_checks(true);
    o.set_wal_recovery_mode(DBRecoveryMode::PointInTime);
    o.set_use_fsync(false);
    o.set_manual_wal_flush(false);
    o.set_max_background_jobs(2);
    o.set_stats_dump_period_sec(0);
    o.set_stats_persist_period_sec(0);
    o.set_log_level(LogLevel::Warn);
    o.set_keep_log_file_num(2);
    o.set_skip_stats_update_on_db_open(true);
    o
}

fn entries_cf_options() -> Options {
    let mut o = Options::default();
    o.set_compression_type(DBCompressionType::Lz4);
    o.set_bottommost_compression_type(DBCompressionType::Lz4);
    o.set_write_buffer_size(MEMTABLE_BYTES);
    o
}

fn meta_cf_options() -> Options {
    let mut o = Options::default();
    o.set_compression_type(DBCompressionType::None);
    o
}

pub(crate) fn column_families() -> Vec<ColumnFamilyDescriptor> {
    vec![
        ColumnFamilyDescriptor::new(CF_META, meta_cf_options()),
        ColumnFamilyDescriptor::new(CF_ENTRIES, entries_cf_options()),
    ]
}
