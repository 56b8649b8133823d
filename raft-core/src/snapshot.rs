//! Snapshots: the state a log prefix was folded into, as raft-core moves it
//! around (in `MsgSnap`, in a [`crate::Ready`], in a [`crate::LogWrite`]).
//!
//! raft-core never looks inside `data`: it is the application's state
//! machine, serialized however the application likes. What raft-core needs
//! is the metadata: which entry the state includes last (index and term),
//! and the membership in force at that point.

use crate::types::ConfState;
use bytes::Bytes;

/// Where a snapshot stands in the log, and the membership it carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotMetadata {
    /// The membership as of `index`.
    pub conf_state: ConfState,
    /// The last log index the snapshot includes.
    pub index: u64,
    /// The term of the entry at `index`.
    pub term: u64,
}

/// The application state up to a log index, with its metadata.
///
/// A snapshot at index 0 is "no snapshot" (etcd's `IsEmptySnap`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The application's serialized state; opaque to raft-core.
    pub data: Bytes,
    /// Index, term and membership of the state in `data`.
    pub metadata: SnapshotMetadata,
}

impl Snapshot {
    /// A snapshot of `data` that includes the log up to `index` (whose entry
    /// has `term`), taken in membership `conf_state`.
    pub fn new(index: u64, term: u64, conf_state: ConfState, data: impl Into<Bytes>) -> Snapshot {
        Snapshot {
            data: data.into(),
            metadata: SnapshotMetadata {
                conf_state,
                index,
                term,
            },
        }
    }

    /// True for the snapshot that stands for "none" (index 0).
    pub fn is_empty(&self) -> bool {
        self.metadata.index == 0
    }

    /// The last index the snapshot includes.
    pub fn index(&self) -> u64 {
        self.metadata.index
    }

    /// The term of the last entry the snapshot includes.
    pub fn term(&self) -> u64 {
        self.metadata.term
    }
}

/// How sending a snapshot to a follower ended, as the application reports
/// it with [`crate::RawNode::report_snapshot`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotStatus {
    /// The follower received the whole snapshot. The leader still waits for
    /// the follower's append response before replicating again.
    Finish,
    /// Sending failed. The leader forgets the pending snapshot and probes
    /// the follower again after a heartbeat.
    Failure,
}
