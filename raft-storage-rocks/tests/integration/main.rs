//! Integration tests of raft-storage-rocks, in one binary because each test
//! binary links all of RocksDB.
//!
//! Two tests re-run this binary as a child process to act as a writer (the
//! crash test, which SIGKILLs it, and the write-failure test, which runs
//! under a file-size limit); the environment variables in `common` tell a
//! child which role it plays.

mod common;
mod crash;
mod faults;
mod semantics;
mod snapshots;
mod staged;
mod write_failure;
