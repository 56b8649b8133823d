//! The multi-host node's setup, which lives in [`raft_host`] so that
//! `raft-kv` shares it without depending on this crate; re-exported here
//! under its former path.

pub use raft_host::multihost::{
    open_or_create, parse_peer, stop_signal, write_dev_certs, NodeArgs, SetupError,
};
