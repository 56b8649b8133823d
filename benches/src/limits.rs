//! The disk's own limits, measured the way the cluster benchmark is judged:
//! sequential writes with an fdatasync after each.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// Appends `count` blocks of `block` bytes to a new file in `dir`, calling
/// fdatasync after each, and returns the time each write+sync took.
pub fn synced_appends(dir: &Path, block: usize, count: usize) -> std::io::Result<Vec<Duration>> {
    synced_writes(dir, block, count, false)
}

/// Rewrites the same `block` bytes at offset 0 of a file preallocated in
/// `dir`, `count` times, with an fdatasync after each: the fastest durable
/// small write a file system offers (no size or allocation change to sync),
/// which is what a write-ahead log that preallocates (RocksDB's does) pays.
pub fn synced_overwrites(dir: &Path, block: usize, count: usize) -> std::io::Result<Vec<Duration>> {
    synced_writes(dir, block, count, true)
}

fn synced_writes(
    dir: &Path,
    block: usize,
    count: usize,
    in_place: bool,
) -> std::io::Result<Vec<Duration>> {
    use std::io::{Seek, SeekFrom};
    let path = dir.join(format!("disk-limit-{block}-{in_place}.bin"));
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)?;
    let data = vec![0x33u8; block];
    if in_place {
        file.write_all(&data)?;
        file.sync_all()?;
    }
    let mut times = Vec::with_capacity(count);
    for _ in 0..count {
        let start = Instant::now();
        if in_place {
            file.seek(SeekFrom::Start(0))?;
        }
        file.write_all(&data)?;
        file.sync_data()?;
        times.push(start.elapsed());
    }
    drop(file);
    std::fs::remove_file(&path)?;
    Ok(times)
}

/// Bytes per second of [`synced_appends`] with 1 MiB blocks.
pub fn sequential_mib_throughput(dir: &Path, count: usize) -> std::io::Result<f64> {
    let times = synced_appends(dir, 1 << 20, count)?;
    let total: Duration = times.iter().sum();
    Ok((count as f64 * (1 << 20) as f64) / total.as_secs_f64().max(f64::MIN_POSITIVE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_each_write() {
        let dir = tempfile::tempdir().unwrap();
        let times = synced_appends(dir.path(), 4096, 3).unwrap();
        assert_eq!(times.len(), 3);
        let times = synced_overwrites(dir.path(), 4096, 2).unwrap();
        assert_eq!(times.len(), 2);
        assert!(
            std::fs::read_dir(dir.path()).unwrap().next().is_none(),
            "file removed"
        );
    }
}
