//! What surrounds the log's reads and writes: checking a directory before
//! opening it, building a new log, reading metadata records, and the
//! messages of the errors that stored data can cause.

use crate::error::RocksError;
use crate::format::{self, CF_ENTRIES, CF_META};
use crate::options::{column_families, db_options};
use raft_core::{ConfState, Entry, EntryId, HardState};
use rocksdb::{ColumnFamily, Options, WriteBatch, WriteOptions, DB, DEFAULT_COLUMN_FAMILY_NAME};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Refuses, before RocksDB touches it, a path that is not a database with
/// exactly this crate's column families. (RocksDB's open would create a
/// missing directory, and its errors for a foreign database are generic.)
pub(crate) fn check_is_our_database(dir: &Path) -> Result<(), RocksError> {
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(RocksError::NotFound { path: dir.into() })
        }
        Err(e) => return Err(RocksError::io(dir, e)),
        Ok(m) if !m.is_dir() => return Err(foreign(dir, "not a directory")),
        Ok(_) => {}
    }
    if !dir.join("CURRENT").exists() {
        return Err(if is_absent_or_empty(dir)? {
            RocksError::NotFound { path: dir.into() }
        } else {
            foreign(dir, "no RocksDB database in this directory")
        });
    }
    let mut cfs = DB::list_cf(&Options::default(), dir)?;
    cfs.sort();
    let mut ours = vec![DEFAULT_COLUMN_FAMILY_NAME, CF_ENTRIES, CF_META];
    ours.sort();
    if cfs != ours {
        return Err(foreign(
            dir,
            &format!("a RocksDB database with column families {cfs:?}, expected {ours:?}"),
        ));
    }
    Ok(())
}

/// True when nothing is at `dir`, or an empty directory.
pub(crate) fn is_absent_or_empty(dir: &Path) -> Result<bool, RocksError> {
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(true),
        Err(e) => Err(RocksError::io(dir, e)),
        Ok(m) if !m.is_dir() => Ok(false),
        Ok(_) => std::fs::read_dir(dir)
            .map(|mut entries| entries.next().is_none())
            .map_err(|e| RocksError::io(dir, e)),
    }
}

/// A sibling of `dir`, unique to this process and call, to build a new log
/// in before renaming it to `dir`. The parent is created if missing.
pub(crate) fn staging_path(dir: &Path) -> Result<PathBuf, RocksError> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let name = dir.file_name().ok_or_else(|| {
        RocksError::io(
            dir,
            std::io::Error::new(ErrorKind::InvalidInput, "a log directory needs a name"),
        )
    })?;
    let parent = parent_of(dir);
    std::fs::create_dir_all(parent).map_err(|e| RocksError::io(parent, e))?;
    let staging = parent.join(format!(
        ".{}.creating-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    // Only a crashed create of an earlier process that had the same pid can
    // have left this name behind, and it never held a finished log.
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| RocksError::io(&staging, e))?;
    }
    Ok(staging)
}

/// Creates the database at `staging` with its marker, base, membership and
/// an empty hard state, all in one synced batch, and closes it again.
pub(crate) fn build_new_log(
    staging: &Path,
    conf_state: &ConfState,
    base: &EntryId,
) -> Result<(), RocksError> {
    let db = DB::open_cf_descriptors(&db_options(true), staging, column_families())?;
    let meta = cf(&db, CF_META)?;
    let mut batch = WriteBatch::default();
    batch.put_cf(meta, format::KEY_FORMAT, format::encode_marker());
    batch.put_cf(meta, format::KEY_BASE, format::encode_base(base));
    batch.put_cf(
        meta,
        format::KEY_CONF_STATE,
        format::encode_conf_state(conf_state),
    );
    batch.put_cf(
        meta,
        format::KEY_HARD_STATE,
        format::encode_hard_state(&HardState::default()),
    );
    let mut opts = WriteOptions::default();
    opts.set_sync(true);
    db.write_opt(batch, &opts)?;
    Ok(())
}

/// Makes a rename inside `dir`'s parent durable.
pub(crate) fn sync_parent(dir: &Path) -> Result<(), RocksError> {
    let parent = parent_of(dir);
    std::fs::File::open(parent)
        .and_then(|f| f.sync_all())
        .map_err(|e| RocksError::io(parent, e))
}

fn parent_of(dir: &Path) -> &Path {
    match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A metadata record, decoded; `None` when absent.
pub(crate) fn read_meta<T>(
    db: &DB,
    key: &[u8],
    decode: impl FnOnce(&[u8]) -> Result<T, format::DecodeError>,
) -> Result<Option<T>, RocksError> {
    let Some(value) = db.get_pinned_cf(cf(db, CF_META)?, key)? else {
        return Ok(None);
    };
    decode(&value).map(Some).map_err(|e| {
        RocksError::Corrupted(format!(
            "{} record does not decode: {e}",
            String::from_utf8_lossy(key)
        ))
    })
}

/// The indexes of the first and last stored entries.
pub(crate) fn end_keys(db: &DB) -> Result<(Option<u64>, Option<u64>), RocksError> {
    let mut it = db.raw_iterator_cf(cf(db, CF_ENTRIES)?);
    let mut key_at = |seek_first: bool| -> Result<Option<u64>, RocksError> {
        if seek_first {
            it.seek_to_first();
        } else {
            it.seek_to_last();
        }
        match it.key() {
            Some(k) => format::decode_entry_key(k)
                .map(Some)
                .map_err(|e| bad_key(k, e)),
            None => {
                it.status()?;
                Ok(None)
            }
        }
    };
    let first = key_at(true)?;
    let last = key_at(false)?;
    Ok((first, last))
}

pub(crate) fn cf<'a>(db: &'a DB, name: &str) -> Result<&'a ColumnFamily, RocksError> {
    db.cf_handle(name)
        .ok_or_else(|| RocksError::Corrupted(format!("column family {name} is missing")))
}

/// Refuses a batch whose entries do not follow each other by index, with
/// `MemStorage`'s wording.
pub(crate) fn check_contiguous(entries: &[Entry]) -> Result<(), RocksError> {
    for pair in entries.windows(2) {
        if pair[1].index != pair[0].index + 1 {
            return Err(RocksError::InvalidWrite(format!(
                "entries are not contiguous: index {} follows {}",
                pair[1].index, pair[0].index
            )));
        }
    }
    Ok(())
}

/// Adds `entry` to a reply of `kept` entries totalling `size` bytes if
/// `raft_core::storage::limit_size` would keep it: the first entry always,
/// later ones while the total stays within `max_size`.
pub(crate) fn within_size(kept: usize, size: &mut u64, entry: &Entry, max_size: u64) -> bool {
    let next = size.saturating_add(entry.encoded_size());
    if kept > 0 && next > max_size {
        return false;
    }
    *size = next;
    true
}

pub(crate) fn foreign(dir: &Path, reason: &str) -> RocksError {
    RocksError::Foreign {
        path: dir.into(),
        reason: reason.to_string(),
    }
}

pub(crate) fn missing(what: &str) -> RocksError {
    RocksError::Corrupted(format!("the {what} record is missing"))
}

pub(crate) fn gap(index: u64) -> RocksError {
    RocksError::Corrupted(format!("entry {index} is missing: the log has a gap"))
}

pub(crate) fn bad_key(key: &[u8], e: format::DecodeError) -> RocksError {
    RocksError::Corrupted(format!("entry key {key:02x?} does not decode: {e}"))
}

pub(crate) fn bad_entry(index: u64, e: format::DecodeError) -> RocksError {
    RocksError::Corrupted(format!("entry {index} does not decode: {e}"))
}
