//! Runtime settings around raft-core's own [`raft_core::Config`].

use std::time::Duration;
use thiserror::Error;

/// How the runtime drives a node.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NodeConfig {
    /// The protocol settings (id, ticks, limits, pre-vote, ...).
    pub raft: raft_core::Config,
    /// Wall-clock length of one Raft tick. With the default 10 election
    /// ticks, 100 ms gives elections after 1–2 s of silence, as etcd does.
    pub tick_interval: Duration,
    /// A proposal not committed within this many ticks fails with
    /// [`crate::ProposeError::Dropped`] (it may still commit later: Raft
    /// gives no negative answer, so the runtime gives up waiting).
    pub proposal_timeout_ticks: u64,
    /// Queue of proposals waiting for the Raft loop.
    pub proposal_queue: usize,
    /// Upper bound on inputs (proposals, messages) taken in before the loop
    /// produces a Ready, which bounds the latency a large burst adds.
    pub max_inputs_per_ready: usize,
}

impl NodeConfig {
    /// The runtime's defaults around `raft`: 100 ms ticks, proposals dropped after 30 ticks uncommitted, queues of 4096.
    pub fn new(raft: raft_core::Config) -> NodeConfig {
        NodeConfig {
            raft,
            tick_interval: Duration::from_millis(100),
            proposal_timeout_ticks: 30,
            proposal_queue: 4096,
            max_inputs_per_ready: 4096,
        }
    }

    /// Checks the runtime's settings and the Raft configuration inside.
    pub fn validate(&self) -> Result<(), NodeConfigError> {
        self.raft.validate()?;
        if self.tick_interval.is_zero() {
            return Err(NodeConfigError::ZeroTick);
        }
        if self.proposal_timeout_ticks == 0 {
            return Err(NodeConfigError::ZeroProposalTimeout);
        }
        if self.proposal_queue == 0 || self.max_inputs_per_ready == 0 {
            return Err(NodeConfigError::ZeroQueue);
        }
        Ok(())
    }
}

/// Why a [`NodeConfig`] was refused.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NodeConfigError {
    /// The Raft configuration was refused.
    #[error(transparent)]
    Raft(#[from] raft_core::ConfigError),
    /// `tick_interval` is zero.
    #[error("tick interval must be greater than zero")]
    ZeroTick,
    /// `proposal_timeout_ticks` is zero: every proposal would time out at once.
    #[error("proposal timeout must be at least one tick")]
    ZeroProposalTimeout,
    /// `proposal_queue` or `max_inputs_per_ready` is zero.
    #[error("queue sizes must be greater than zero")]
    ZeroQueue,
}
