//! Helpers shared by the integration tests.

use bytes::Bytes;
use raft_core::{Entry, HardState, LogStorage, LogWrite};
use std::process::{Command, Stdio};

/// A deterministic payload for the entry at `(index, term)`, 0 to 299
/// bytes long, so that a reader can check content without a copy of it.
pub fn payload(index: u64, term: u64) -> Bytes {
    let mut h = splitmix(index ^ (term << 40));
    let len = (h % 300) as usize;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        h = splitmix(h);
        out.extend_from_slice(&h.to_le_bytes());
    }
    out.truncate(len);
    Bytes::from(out)
}

pub fn entry(index: u64, term: u64) -> Entry {
    Entry {
        term,
        index,
        data: payload(index, term),
        ..Entry::default()
    }
}

pub fn entries(from: u64, to: u64, term: u64) -> Vec<Entry> {
    (from..=to).map(|i| entry(i, term)).collect()
}

pub fn append(
    log: &mut impl LogStorage,
    from: u64,
    to: u64,
    term: u64,
    hs: Option<HardState>,
) -> Result<(), raft_core::StorageError> {
    log.write(LogWrite {
        entries: entries(from, to, term),
        hard_state: hs,
        snapshot: None,
        sync: true,
    })
}

/// A small, seedable generator: the tests must not depend on a crate for
/// randomness whose API moves, and must be replayable from a printed seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        splitmix(self.0)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// This test binary, set up to run only the test `name` in a child process
/// with `env` set, its stdout piped back.
pub fn child_command(name: &str, env: &[(&str, String)]) -> Command {
    let exe = std::env::current_exe().expect("test binary path");
    let mut cmd = Command::new(exe);
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1", "-q"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}
