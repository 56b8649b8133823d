//! [`RocksStorage`]: creating, opening, reading and writing the log.

use crate::error::RocksError;
use crate::format::{
    self, CF_ENTRIES, CF_META, KEY_BASE, KEY_CONF_STATE, KEY_HARD_STATE, KEY_SNAPSHOT,
};
use crate::options::{column_families, db_options, StorageOptions};
use crate::setup::{
    bad_entry, bad_key, build_new_log, cf, check_contiguous, check_is_our_database, end_keys,
    foreign, gap, is_absent_or_empty, missing, read_meta, staging_path, sync_parent, within_size,
};
use crate::tail::TailCache;
use bytes::Bytes;
use raft_core::storage::check_entries_range;
use raft_core::{
    ConfState, Entry, EntryId, HardState, InitialState, LogStorage, LogWrite, PendingWrite,
    Snapshot, Staged, StorageError, WriteKind,
};
use rocksdb::{DBRawIterator, ReadOptions, WriteBatch, WriteOptions, DB};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tracing::{debug, info, warn};

/// A Raft log and hard state in a RocksDB database; see the crate docs.
pub struct RocksStorage {
    /// Shared with the staged writes a writer thread runs (RocksDB is
    /// thread-safe).
    pub(crate) db: Arc<DB>,
    path: PathBuf,
    hard_state: HardState,
    pub(crate) conf_state: ConfState,
    /// The entry just before the first stored one, as in `MemStorage`.
    pub(crate) base: EntryId,
    /// Index of the newest entry (`base.index` when the log is empty).
    pub(crate) last: u64,
    pub(crate) tail: TailCache,
    /// Staged writes whose batches may not have run yet, in staging order.
    pub(crate) unwritten: Unwritten,
    /// The latest snapshot; never beyond `last` (an installed one cuts the
    /// log in the same batch that stores it).
    pub(crate) snapshot: Snapshot,
}

impl std::fmt::Debug for RocksStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksStorage")
            .field("path", &self.path)
            .field("hard_state", &self.hard_state)
            .field("base", &self.base)
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}

impl RocksStorage {
    /// Creates a new, empty log at `dir` for the group `conf_state`, starting
    /// after `base` (`EntryId::default()` for a log that starts at index 1),
    /// like [`raft_core::MemStorage::with_base`].
    ///
    /// `dir` must not exist or be an empty directory; anything else is
    /// [`RocksError::AlreadyExists`]. The log is built in a sibling staging
    /// directory and renamed into place, so a crash during `create` leaves
    /// either no log or a complete one (and possibly a stray
    /// `.NAME.creating-PID` directory beside it).
    pub fn create(
        dir: impl AsRef<Path>,
        conf_state: ConfState,
        base: EntryId,
    ) -> Result<RocksStorage, RocksError> {
        RocksStorage::create_with(dir, conf_state, base, StorageOptions::default())
    }

    /// [`create`](RocksStorage::create) with explicit options.
    pub fn create_with(
        dir: impl AsRef<Path>,
        conf_state: ConfState,
        base: EntryId,
        options: StorageOptions,
    ) -> Result<RocksStorage, RocksError> {
        let dir = dir.as_ref();
        if !is_absent_or_empty(dir)? {
            return Err(RocksError::AlreadyExists { path: dir.into() });
        }
        let staging = staging_path(dir)?;
        let built = build_new_log(&staging, &conf_state, &base);
        let placed = built.and_then(|()| {
            std::fs::rename(&staging, dir).map_err(|e| match e.kind() {
                // rename(2) replaces only an empty directory: someone else
                // put data there since the check above.
                std::io::ErrorKind::DirectoryNotEmpty => {
                    RocksError::AlreadyExists { path: dir.into() }
                }
                _ => RocksError::io(dir, e),
            })
        });
        if let Err(e) = placed {
            if let Err(cleanup) = std::fs::remove_dir_all(&staging) {
                warn!(path = %staging.display(), error = %cleanup, "cannot remove staging directory");
            }
            return Err(e);
        }
        sync_parent(dir)?;
        info!(path = %dir.display(), base.index, base.term, "created raft log");
        RocksStorage::open_with(dir, options)
    }

    /// Opens the log at `dir` and recovers its hard state, membership, base
    /// and last index.
    pub fn open(dir: impl AsRef<Path>) -> Result<RocksStorage, RocksError> {
        RocksStorage::open_with(dir, StorageOptions::default())
    }

    /// [`open`](RocksStorage::open) with explicit options.
    pub fn open_with(
        dir: impl AsRef<Path>,
        options: StorageOptions,
    ) -> Result<RocksStorage, RocksError> {
        let dir = dir.as_ref();
        check_is_our_database(dir)?;
        let db = DB::open_cf_descriptors(&db_options(false), dir, column_families())?;
        let meta = cf(&db, CF_META)?;
        let version = db
            .get_pinned_cf(meta, format::KEY_FORMAT)?
            .map(|marker| format::decode_marker(&marker))
            .ok_or_else(|| foreign(dir, "no format marker"))?;
        match version {
            None => return Err(foreign(dir, "unrecognised format marker")),
            Some(format::FORMAT_VERSION) => {}
            Some(found) => {
                return Err(RocksError::UnsupportedVersion {
                    path: dir.into(),
                    found,
                    supported: format::FORMAT_VERSION,
                })
            }
        }
        let base = read_meta(&db, KEY_BASE, format::decode_base)?.ok_or_else(|| missing("base"))?;
        let conf_state = read_meta(&db, KEY_CONF_STATE, format::decode_conf_state)?
            .ok_or_else(|| missing("conf state"))?;
        let hard_state = read_meta(&db, KEY_HARD_STATE, format::decode_hard_state)?
            .ok_or_else(|| missing("hard state"))?;
        let snapshot =
            read_meta(&db, KEY_SNAPSHOT, format::decode_snapshot)?.unwrap_or_else(|| {
                Snapshot::new(base.index, base.term, conf_state.clone(), Bytes::new())
            });
        let (first_key, last_key) = end_keys(&db)?;
        let last = match (first_key, last_key) {
            (Some(first), Some(last)) => {
                if first != base.index + 1 {
                    return Err(RocksError::Corrupted(format!(
                        "first entry is {first}, expected {} (after base {})",
                        base.index + 1,
                        base.index
                    )));
                }
                last
            }
            _ => base.index,
        };
        // A snapshot is installed in the batch that cuts the log, and
        // created only within it, so the log always reaches it.
        if snapshot.index() > last {
            return Err(RocksError::Corrupted(format!(
                "snapshot at index {} but the log ends at {last}: entries were lost",
                snapshot.index()
            )));
        }
        if hard_state.commit > last {
            return Err(RocksError::Corrupted(format!(
                "hard state commits index {} but the last entry is {last}: entries were lost",
                hard_state.commit
            )));
        }
        let mut storage = RocksStorage {
            db: Arc::new(db),
            path: dir.into(),
            hard_state,
            conf_state,
            base,
            last,
            tail: TailCache::new(options.tail_cache_entries, options.tail_cache_bytes),
            unwritten: Unwritten::default(),
            snapshot,
        };
        storage.fill_tail()?;
        info!(
            path = %dir.display(),
            first = base.index + 1,
            last,
            term = hard_state.term,
            commit = hard_state.commit,
            "opened raft log"
        );
        Ok(storage)
    }

    /// The directory the log lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The hard state last written.
    pub fn hard_state(&self) -> HardState {
        self.hard_state
    }

    /// The membership the log was created with.
    pub fn conf_state(&self) -> &ConfState {
        &self.conf_state
    }

    /// The entry just before the first stored one.
    pub fn base(&self) -> EntryId {
        self.base
    }

    /// How many of the newest entries are served from memory.
    pub fn cached_entries(&self) -> usize {
        self.tail.len()
    }

    fn first(&self) -> u64 {
        self.base.index + 1
    }

    /// Loads the newest entries into the tail cache, walking back from the
    /// last one. This also checks that the tail has no gap and decodes.
    fn fill_tail(&mut self) -> Result<(), RocksError> {
        let entries = cf(&self.db, CF_ENTRIES)?;
        let mut it = self.db.raw_iterator_cf(entries);
        it.seek_to_last();
        let mut expected = self.last;
        while expected >= self.first() {
            let entry = entry_at(&it, expected)?;
            if !self.tail.has_room_for(&entry) {
                break;
            }
            self.tail.push_front(entry);
            expected -= 1;
            it.prev();
        }
        debug!(cached = self.tail.len(), "tail cache filled");
        Ok(())
    }

    /// Reads `[lo, hi)` from RocksDB, adding to `out` while `size` allows;
    /// returns false when the size limit stopped it.
    fn read_from_db(
        &self,
        lo: u64,
        hi: u64,
        max_size: u64,
        size: &mut u64,
        out: &mut Vec<Entry>,
    ) -> Result<bool, RocksError> {
        let mut opts = ReadOptions::default();
        opts.set_iterate_upper_bound(format::entry_key(hi).to_vec());
        let mut it = self.db.raw_iterator_cf_opt(cf(&self.db, CF_ENTRIES)?, opts);
        it.seek(format::entry_key(lo));
        for expected in lo..hi {
            let entry = entry_at(&it, expected)?;
            if !within_size(out.len(), size, &entry, max_size) {
                return Ok(false);
            }
            out.push(entry);
            it.next();
        }
        Ok(true)
    }

    fn write_log(&mut self, write: LogWrite) -> Result<(), RocksError> {
        let Some((batch, view)) = self.prepare(write)? else {
            return Ok(());
        };
        let mut opts = WriteOptions::default();
        opts.set_sync(view.sync);
        self.db.write_opt(batch, &opts)?;
        // Only now, with RocksDB having accepted the batch, does the in-memory
        // view move: a failed write leaves it exactly as it was.
        self.move_view(view);
        Ok(())
    }

    /// The in-memory half of `write` at once, the batch for a writer thread.
    fn stage_log_write(&mut self, write: LogWrite) -> Result<Staged, RocksError> {
        let Some((batch, view)) = self.prepare(write)? else {
            return Ok(Staged::Done);
        };
        let seq = self.unwritten.stage(view.entries.first().map(|e| e.index));
        self.move_view(view);
        Ok(Staged::Pending(Box::new(StagedBatch {
            db: Arc::clone(&self.db),
            batch,
            seq,
            written: Arc::clone(&self.unwritten.written),
        })))
    }

    /// Checks `write` against the log as this view has it and builds its
    /// batch; `None` when there is nothing to write.
    fn prepare(&self, write: LogWrite) -> Result<Option<(WriteBatch, ViewChange)>, RocksError> {
        check_contiguous(&write.entries)?;
        if let Some(s) = &write.snapshot {
            self.check_snapshot_is_newer(s.index())?;
        }
        // The log the entries go into: the one the snapshot starts, if any.
        let (first, last) = match &write.snapshot {
            Some(s) => (s.index() + 1, s.index()),
            None => (self.first(), self.last),
        };
        let mut new_entries = write.entries;
        // Entries at or below the base are part of the state the log started
        // from; MemStorage (and etcd's MemoryStorage) skip them the same way.
        let keep_from = new_entries
            .iter()
            .position(|e| e.index >= first)
            .unwrap_or(new_entries.len());
        new_entries.drain(..keep_from);
        if new_entries.is_empty() && write.hard_state.is_none() && write.snapshot.is_none() {
            return Ok(None);
        }

        let mut batch = WriteBatch::default();
        if let Some(s) = &write.snapshot {
            self.put_snapshot_install(&mut batch, s)?;
        }
        let mut new_last = last;
        if let (Some(head), Some(tail)) = (new_entries.first(), new_entries.last()) {
            if head.index > last + 1 {
                return Err(RocksError::InvalidWrite(format!(
                    "append at index {} would leave a gap after last index {}",
                    head.index, last
                )));
            }
            let entries_cf = cf(&self.db, CF_ENTRIES)?;
            // The conflicting suffix that the new entries do not overwrite
            // key by key goes in one range tombstone, however long it is.
            if tail.index < last {
                batch.delete_range_cf(
                    entries_cf,
                    format::entry_key(tail.index + 1),
                    format::entry_key(last + 1),
                );
            }
            for e in &new_entries {
                batch.put_cf(
                    entries_cf,
                    format::entry_key(e.index),
                    format::encode_entry(e),
                );
            }
            new_last = tail.index;
        }
        if let Some(hs) = &write.hard_state {
            batch.put_cf(
                cf(&self.db, CF_META)?,
                KEY_HARD_STATE,
                format::encode_hard_state(hs),
            );
        }
        let view = ViewChange {
            snapshot: write.snapshot,
            entries: new_entries,
            last: new_last,
            hard_state: write.hard_state,
            sync: write.sync,
        };
        Ok(Some((batch, view)))
    }

    fn move_view(&mut self, view: ViewChange) {
        if let Some(s) = view.snapshot {
            self.base = EntryId {
                term: s.term(),
                index: s.index(),
            };
            self.conf_state = s.metadata.conf_state.clone();
            self.snapshot = s;
            self.tail.clear();
        }
        if !view.entries.is_empty() {
            let pin = self.unwritten.pinned_from();
            self.tail.append(&view.entries, pin);
        }
        self.last = view.last;
        if let Some(hs) = view.hard_state {
            self.hard_state = hs;
        }
    }

    pub(crate) fn term_of(&self, index: u64) -> Result<u64, RocksError> {
        if let Some(e) = self.tail.get(index) {
            return Ok(e.term);
        }
        let value = self
            .db
            .get_pinned_cf(cf(&self.db, CF_ENTRIES)?, format::entry_key(index))?
            .ok_or_else(|| gap(index))?;
        format::decode_entry_term(&value).map_err(|e| bad_entry(index, e))
    }
}

/// What a write changes in the in-memory view, once its batch is built.
struct ViewChange {
    snapshot: Option<Snapshot>,
    entries: Vec<Entry>,
    last: u64,
    hard_state: Option<HardState>,
    sync: bool,
}

/// The staged writes not known to have run, which pin their entries in the
/// tail cache: until a batch is in RocksDB, the cache is the only copy of
/// its entries that a read can find.
#[derive(Debug, Default)]
pub(crate) struct Unwritten {
    /// Sequence number of the last write staged.
    staged: u64,
    /// The highest sequence number whose batch has run; writer threads run
    /// staged batches in order, so every earlier one has too.
    written: Arc<AtomicU64>,
    /// (sequence number, first index put) of each staged write with entries.
    pending: VecDeque<(u64, u64)>,
}

impl Unwritten {
    /// Numbers a new staged write that puts entries from `first` on.
    fn stage(&mut self, first: Option<u64>) -> u64 {
        self.staged += 1;
        if let Some(first) = first {
            self.pending.push_back((self.staged, first));
        }
        self.staged
    }

    /// The lowest index a write not yet run puts, if any.
    fn pinned_from(&mut self) -> Option<u64> {
        let written = self.written.load(Ordering::Acquire);
        while self.pending.front().is_some_and(|&(seq, _)| seq <= written) {
            self.pending.pop_front();
        }
        // A later write may replace a suffix from below an earlier one's
        // start, hence the minimum rather than the oldest.
        self.pending.iter().map(|&(_, first)| first).min()
    }
}

/// A staged write's batch, for the writer thread.
struct StagedBatch {
    db: Arc<DB>,
    batch: WriteBatch,
    /// Its number among the storage's staged writes, published once it ran.
    seq: u64,
    written: Arc<AtomicU64>,
}

impl PendingWrite for StagedBatch {
    /// One WAL: a synced write makes every earlier write durable too, which
    /// is what the trait asks for group commit.
    fn run(self: Box<Self>, sync: bool) -> Result<(), StorageError> {
        let mut opts = WriteOptions::default();
        opts.set_sync(sync);
        self.db
            .write_opt(self.batch, &opts)
            .map_err(|e| StorageError::from(RocksError::from(e)))?;
        self.written.fetch_max(self.seq, Ordering::Release);
        Ok(())
    }
}

/// The entry under `it`, which must be the one at `expected`: a missing or
/// different key is a gap in the log, a value that does not decode is
/// corruption, and an iterator that stopped on an error reports that error.
fn entry_at(it: &DBRawIterator<'_>, expected: u64) -> Result<Entry, RocksError> {
    let Some((key, value)) = it.item() else {
        it.status()?;
        return Err(gap(expected));
    };
    let index = format::decode_entry_key(key).map_err(|e| bad_key(key, e))?;
    if index != expected {
        return Err(gap(expected));
    }
    format::decode_entry(index, value).map_err(|e| bad_entry(index, e))
}

impl LogStorage for RocksStorage {
    fn initial_state(&self) -> Result<InitialState, StorageError> {
        Ok(InitialState {
            hard_state: self.hard_state,
            conf_state: self.conf_state.clone(),
        })
    }

    fn entries(&self, lo: u64, hi: u64, max_size: u64) -> Result<Vec<Entry>, StorageError> {
        check_entries_range(lo, hi, self.first(), self.last)?;
        let mut out = Vec::with_capacity(usize::try_from(hi - lo).unwrap_or(0).min(1024));
        let mut size = 0;
        let cached_from = self.tail.first_index().unwrap_or(hi).clamp(lo, hi);
        if lo < cached_from && !self.read_from_db(lo, cached_from, max_size, &mut size, &mut out)? {
            return Ok(out);
        }
        for e in self.tail.range(cached_from, hi) {
            if !within_size(out.len(), &mut size, e, max_size) {
                break;
            }
            out.push(e.clone());
        }
        Ok(out)
    }

    fn term(&self, index: u64) -> Result<u64, StorageError> {
        if index < self.base.index {
            return Err(StorageError::Compacted);
        }
        if index == self.base.index {
            return Ok(self.base.term);
        }
        if index > self.last {
            return Err(StorageError::Unavailable);
        }
        Ok(self.term_of(index)?)
    }

    fn first_index(&self) -> Result<u64, StorageError> {
        Ok(self.first())
    }

    fn last_index(&self) -> Result<u64, StorageError> {
        Ok(self.last)
    }

    fn write(&mut self, write: LogWrite) -> Result<(), StorageError> {
        Ok(self.write_log(write)?)
    }

    fn write_kind(&self) -> WriteKind {
        WriteKind::Staged
    }

    fn stage_write(&mut self, write: LogWrite) -> Result<Staged, StorageError> {
        Ok(self.stage_log_write(write)?)
    }

    fn snapshot(&self) -> Result<Snapshot, StorageError> {
        Ok(self.snapshot.clone())
    }

    fn compact(&mut self, compact_index: u64) -> Result<(), StorageError> {
        Ok(self.compact_to(compact_index)?)
    }

    fn create_snapshot(
        &mut self,
        index: u64,
        conf_state: Option<ConfState>,
        data: Bytes,
    ) -> Result<Snapshot, StorageError> {
        Ok(RocksStorage::create_snapshot(
            self, index, conf_state, data,
        )?)
    }
}
