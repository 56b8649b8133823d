//! # raft-kit-filelog
//!
//! A Raft log this workspace does not ship, written the way a user of the
//! crates would write their own: an append-only file of checksummed
//! records ([`format`](mod@format)), replayed into memory when opened. Its tests run
//! raft-conformance's kit against it from the outside — the contract suite
//! with reopening, the project's scripts, etcd's scripts, and the
//! simulation — with raft-conformance's default features (no RocksDB, no
//! QUIC).
//!
//! It is an example, not a product: the whole log stays in memory and the
//! file is never compacted.

// raft-core's structs are built by field assignment, as they must be outside
// raft-core (they are becoming non-exhaustive).
#![allow(clippy::field_reassign_with_default)]
#![warn(missing_docs)]

pub mod format;

use format::{Bad, Record};
use raft_conformance::kit::{BoxError, StorageFactory};
use raft_core::storage::{check_entries_range, clone_within_size};
use raft_core::{
    ConfState, Entry, EntryId, HardState, InitialState, LogStorage, LogWrite, NodeId, StorageError,
};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

const FILE_NAME: &str = "raft.log";

/// An append-only file log; see the crate docs.
#[derive(Debug)]
pub struct FileLog {
    dir: PathBuf,
    file: File,
    /// Bytes of whole records in the file.
    len: u64,
    conf_state: ConfState,
    base: EntryId,
    entries: Vec<Entry>,
    hard_state: HardState,
}

fn corrupted(path: &Path, what: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupted(format!("{}: {what}", path.display()))
}

impl FileLog {
    /// Creates a log in `dir` (made if missing; it must not hold a log).
    pub fn create(
        dir: &Path,
        conf_state: ConfState,
        base: EntryId,
    ) -> Result<FileLog, StorageError> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(FILE_NAME);
        let mut file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)?;
        let record = format::encode_create(&conf_state, base);
        file.write_all(&record)?;
        file.sync_all()?;
        // The new file's name must be durable too.
        File::open(dir)?.sync_all()?;
        Ok(FileLog {
            dir: dir.to_path_buf(),
            file,
            len: record.len() as u64,
            conf_state,
            base,
            entries: Vec::new(),
            hard_state: HardState::default(),
        })
    }

    /// Opens the log in `dir`, replaying every whole record. A torn record
    /// at the end (a write a crash cut short, which was never acknowledged)
    /// is cut off.
    pub fn open(dir: &Path) -> Result<FileLog, StorageError> {
        let path = dir.join(FILE_NAME);
        let mut bytes = Vec::new();
        File::open(&path)?.read_to_end(&mut bytes)?;
        let mut at = 0;
        let mut log: Option<FileLog> = None;
        while at < bytes.len() {
            let (record, len) = match format::decode(&bytes[at..]) {
                Ok(decoded) => decoded,
                Err(Bad::Torn) => break,
                Err(Bad::Invalid(why)) => {
                    return Err(corrupted(&path, format!("at byte {at}: {why}")))
                }
            };
            match (record, log.as_mut()) {
                (Record::Create { conf_state, base }, None) => {
                    log = Some(FileLog {
                        dir: dir.to_path_buf(),
                        file: OpenOptions::new().append(true).open(&path)?,
                        len: 0,
                        conf_state,
                        base,
                        entries: Vec::new(),
                        hard_state: HardState::default(),
                    })
                }
                (
                    Record::Write {
                        entries,
                        hard_state,
                    },
                    Some(log),
                ) => {
                    log.apply(entries, hard_state)
                        .map_err(|e| corrupted(&path, format!("at byte {at}: {e}")))?;
                }
                (Record::Create { .. }, Some(_)) => {
                    return Err(corrupted(
                        &path,
                        format!("a second creation record at byte {at}"),
                    ))
                }
                (Record::Write { .. }, None) => return Err(corrupted(&path, "no creation record")),
            }
            at += len;
        }
        let mut log = log.ok_or_else(|| corrupted(&path, "no creation record"))?;
        if (at as u64) < bytes.len() as u64 {
            log.file.set_len(at as u64)?;
            log.file.sync_all()?;
        }
        log.len = at as u64;
        Ok(log)
    }

    /// The directory the log lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn first(&self) -> u64 {
        self.base.index + 1
    }

    fn last(&self) -> u64 {
        self.base.index + self.entries.len() as u64
    }

    /// The entries of a write that land after the base, or why the write
    /// is refused. Checked before anything reaches the file.
    fn admit(&self, entries: Vec<Entry>) -> Result<Vec<Entry>, StorageError> {
        for pair in entries.windows(2) {
            if pair[1].index != pair[0].index + 1 {
                return Err(StorageError::InvalidWrite(format!(
                    "index {} follows {}",
                    pair[1].index, pair[0].index
                )));
            }
        }
        let first = self.first();
        let kept: Vec<Entry> = entries.into_iter().filter(|e| e.index >= first).collect();
        if let Some(head) = kept.first() {
            if head.index > self.last() + 1 {
                return Err(StorageError::InvalidWrite(format!(
                    "append at {} would leave a gap after {}",
                    head.index,
                    self.last()
                )));
            }
        }
        Ok(kept)
    }

    fn apply(
        &mut self,
        entries: Vec<Entry>,
        hard_state: Option<HardState>,
    ) -> Result<(), StorageError> {
        let entries = self.admit(entries)?;
        if let Some(head) = entries.first() {
            self.entries.truncate((head.index - self.first()) as usize);
            self.entries.extend(entries);
        }
        if let Some(hs) = hard_state {
            self.hard_state = hs;
        }
        Ok(())
    }
}

impl LogStorage for FileLog {
    fn initial_state(&self) -> Result<InitialState, StorageError> {
        let mut state = InitialState::default();
        state.hard_state = self.hard_state;
        state.conf_state = self.conf_state.clone();
        Ok(state)
    }

    fn entries(&self, lo: u64, hi: u64, max_size: u64) -> Result<Vec<Entry>, StorageError> {
        check_entries_range(lo, hi, self.first(), self.last())?;
        let from = (lo - self.first()) as usize;
        let to = (hi - self.first()) as usize;
        Ok(clone_within_size(&self.entries[from..to], max_size))
    }

    fn term(&self, index: u64) -> Result<u64, StorageError> {
        if index < self.base.index {
            return Err(StorageError::Compacted);
        }
        if index == self.base.index {
            return Ok(self.base.term);
        }
        self.entries
            .get((index - self.first()) as usize)
            .map(|e| e.term)
            .ok_or(StorageError::Unavailable)
    }

    fn first_index(&self) -> Result<u64, StorageError> {
        Ok(self.first())
    }

    fn last_index(&self) -> Result<u64, StorageError> {
        Ok(self.last())
    }

    fn write(&mut self, write: LogWrite) -> Result<(), StorageError> {
        let entries = self.admit(write.entries)?;
        if entries.is_empty() && write.hard_state.is_none() {
            return Ok(());
        }
        let record = format::encode_write(&entries, write.hard_state);
        let written = self.file.write_all(&record).and_then(|()| {
            if write.sync {
                self.file.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(e) = written {
            // Leave no partial record for later appends to follow.
            self.file.set_len(self.len)?;
            return Err(e.into());
        }
        self.len += record.len() as u64;
        self.apply(entries, write.hard_state)
    }
    // An append-only file never shrinks: no snapshots, no compaction.
    fn snapshot(&self) -> Result<raft_core::Snapshot, StorageError> {
        Err(StorageError::SnapshotTemporarilyUnavailable)
    }
    fn compact(&mut self, _compact_index: u64) -> Result<(), StorageError> {
        Err(StorageError::Unsupported("log compaction"))
    }
    fn create_snapshot(
        &mut self,
        _index: u64,
        _conf_state: Option<raft_core::ConfState>,
        _data: bytes::Bytes,
    ) -> Result<raft_core::Snapshot, StorageError> {
        Err(StorageError::Unsupported("snapshots"))
    }
}

/// Makes [`FileLog`]s in fresh directories under one temporary directory
/// (removed with the factory), and reopens them.
#[derive(Debug)]
pub struct FileLogFactory {
    root: tempfile::TempDir,
    next: AtomicU64,
}

impl FileLogFactory {
    /// A factory with a new temporary root.
    pub fn new() -> Result<FileLogFactory, std::io::Error> {
        Ok(FileLogFactory {
            root: tempfile::Builder::new()
                .prefix("raft-kit-filelog-")
                .tempdir()?,
            next: AtomicU64::new(0),
        })
    }
}

impl StorageFactory for FileLogFactory {
    type Storage = FileLog;

    fn create(
        &self,
        node: NodeId,
        conf_state: ConfState,
        base: EntryId,
    ) -> Result<FileLog, BoxError> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let dir = self.root.path().join(format!("log-{n}-node{node}"));
        Ok(FileLog::create(&dir, conf_state, base)?)
    }

    fn can_reopen(&self) -> bool {
        true
    }

    fn reopen(&self, log: FileLog) -> Result<FileLog, BoxError> {
        let dir = log.dir.clone();
        drop(log);
        Ok(FileLog::open(&dir)?)
    }
}
