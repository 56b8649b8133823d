//! Node configuration and its validation.

use crate::types::{NodeId, NO_NODE};
use thiserror::Error;

/// Everything a node needs to know before it starts, checked by
/// [`Config::validate`] (which [`crate::RawNode::new`] calls).
///
/// Defaults ([`Config::new`]) follow what etcd's server runs with, except where
/// noted: 10 election ticks per heartbeat tick, pre-vote on.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// This node's id; never 0.
    pub id: NodeId,
    /// Ticks a follower waits without hearing from a leader before it
    /// campaigns. The actual timeout is drawn from `[election_tick,
    /// 2 * election_tick)` each time it is reset, so that candidates rarely
    /// collide. Must exceed `heartbeat_tick`.
    pub election_tick: usize,
    /// Ticks between a leader's heartbeats.
    pub heartbeat_tick: usize,
    /// The index the application has already applied (on restart); committed
    /// entries up to it are not handed out again.
    pub applied: u64,
    /// Upper bound on the encoded bytes of entries in one append message;
    /// `0` means one entry per message, `u64::MAX` no limit. A message always
    /// carries at least one entry when there is one to send.
    pub max_size_per_msg: u64,
    /// Upper bound on the bytes of committed entries being applied at once
    /// (across Readies not yet advanced); `0` means "same as
    /// `max_size_per_msg`", as in etcd.
    pub max_committed_size_per_ready: u64,
    /// Upper bound on the payload bytes of a leader's uncommitted tail;
    /// proposals beyond it are dropped. `0` means no limit.
    pub max_uncommitted_entries_size: u64,
    /// How many append messages may be in flight to one follower while
    /// replicating optimistically.
    pub max_inflight_msgs: usize,
    /// Upper bound on payload bytes in flight to one follower; `0` means no
    /// limit. Must be at least `max_size_per_msg` when set.
    pub max_inflight_bytes: u64,
    /// A leader steps down when it has not heard from a quorum within an
    /// election timeout, and followers ignore votes while they have a live
    /// leader (the "lease").
    pub check_quorum: bool,
    /// Candidates first ask for pre-votes (Raft thesis §9.6), so a node that
    /// was partitioned away cannot force a term bump when it returns.
    pub pre_vote: bool,
    /// Followers drop proposals instead of forwarding them to the leader.
    pub disable_proposal_forwarding: bool,
    /// How a leader makes sure it still leads before answering a read
    /// ([`crate::RawNode::read_index`]). Lease-based reads need
    /// `check_quorum`.
    pub read_only_option: ReadOnlyOption,
    /// Skips the checks a leader makes on a proposed configuration change
    /// against the configuration it has applied (one change at a time, no
    /// new change while joint, no leaving a configuration that is not
    /// joint). Those checks can be wrong both ways, since the applied
    /// configuration may trail the log; only turn them off when something
    /// above raft orders and checks changes. A change that turns out invalid
    /// when applied then fails `apply_conf_change`.
    pub disable_conf_change_validation: bool,
    /// A leader steps down when a configuration it applies removes it or
    /// makes it a learner. Without it, a removed leader keeps leading (and
    /// drops proposals) until a new leader deposes it, as in etcd by
    /// default.
    pub step_down_on_removal: bool,
    /// Seed for the election-timeout jitter; `None` draws one from the OS.
    /// Set it to make a run reproducible (simulation, tests).
    pub random_seed: Option<u64>,
    /// etcd's `AsyncStorageWrites`: each Ready hands its writes and applies
    /// to the application's append and apply threads as `MsgStorageAppend`
    /// and `MsgStorageApply` messages, whose responses the application
    /// steps back when done; `RawNode::advance` is then not used (see
    /// `crate::async_writes` in the source, and etcd's doc.go).
    pub async_storage_writes: bool,
    /// A safety rule to break on purpose (test builds only).
    #[cfg(feature = "fault-injection")]
    pub fault: Option<Fault>,
}

/// How a leader confirms its leadership for a read-index request (etcd's
/// `ReadOnlyOption`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadOnlyOption {
    /// A heartbeat round acknowledged by a quorum confirms that no newer
    /// leader exists (etcd's `ReadOnlySafe`). Costs a round trip per batch
    /// of reads; depends on no clock.
    #[default]
    Safe,
    /// The leader trusts its CheckQuorum lease and answers at once (etcd's
    /// `ReadOnlyLeaseBased`). Correct only while clocks drift by less than
    /// the lease allows; requires `check_quorum`.
    LeaseBased,
}

/// A safety rule that a test switches off to check that its checker notices.
/// Never enable the `fault-injection` feature outside tests.
#[cfg(feature = "fault-injection")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Grant votes without checking that the candidate's log is at least as
    /// up to date as ours (breaks leader completeness).
    SkipUpToDateCheck,
    /// Commit whatever a majority holds, whatever its term (Raft §5.4.2's
    /// figure 8 scenario: a later leader may overwrite a "committed" entry).
    CommitOldTermEntries,
    /// While joint, commit what a majority of the incoming voters holds,
    /// ignoring the outgoing voters (breaks joint consensus: the outgoing
    /// majority may elect a leader without the entry).
    JointCommitIncomingOnly,
    /// Answer `ReadOnlySafe` reads at once, without the heartbeat round
    /// that confirms no newer leader exists (a deposed leader serves stale
    /// reads).
    ReadWithoutHeartbeat,
}

impl Config {
    /// A configuration for node `id` with production defaults.
    pub fn new(id: NodeId) -> Config {
        Config {
            id,
            election_tick: 10,
            heartbeat_tick: 1,
            applied: 0,
            max_size_per_msg: 1024 * 1024,
            max_committed_size_per_ready: 0,
            max_uncommitted_entries_size: 0,
            max_inflight_msgs: 256,
            max_inflight_bytes: 0,
            check_quorum: false,
            pre_vote: true,
            disable_proposal_forwarding: false,
            read_only_option: ReadOnlyOption::Safe,
            disable_conf_change_validation: false,
            step_down_on_removal: false,
            random_seed: None,
            async_storage_writes: false,
            #[cfg(feature = "fault-injection")]
            fault: None,
        }
    }

    /// Checks the configuration, naming the first problem found.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.id == NO_NODE {
            return Err(ConfigError::ZeroId);
        }
        if self.heartbeat_tick == 0 {
            return Err(ConfigError::ZeroHeartbeatTick);
        }
        if self.election_tick <= self.heartbeat_tick {
            return Err(ConfigError::ElectionTickTooSmall {
                election_tick: self.election_tick,
                heartbeat_tick: self.heartbeat_tick,
            });
        }
        if self.max_inflight_msgs == 0 {
            return Err(ConfigError::ZeroInflightMsgs);
        }
        if self.max_inflight_bytes != 0 && self.max_inflight_bytes < self.max_size_per_msg {
            return Err(ConfigError::InflightBytesBelowMessageSize {
                max_inflight_bytes: self.max_inflight_bytes,
                max_size_per_msg: self.max_size_per_msg,
            });
        }
        if self.read_only_option == ReadOnlyOption::LeaseBased && !self.check_quorum {
            return Err(ConfigError::LeaseBasedReadsWithoutCheckQuorum);
        }
        Ok(())
    }

    /// The committed-size budget after applying etcd's "0 means inherit".
    pub(crate) fn effective_max_committed_size_per_ready(&self) -> u64 {
        if self.max_committed_size_per_ready == 0 {
            self.max_size_per_msg
        } else {
            self.max_committed_size_per_ready
        }
    }

    pub(crate) fn effective_max_uncommitted_size(&self) -> u64 {
        if self.max_uncommitted_entries_size == 0 {
            u64::MAX
        } else {
            self.max_uncommitted_entries_size
        }
    }

    pub(crate) fn effective_max_inflight_bytes(&self) -> u64 {
        if self.max_inflight_bytes == 0 {
            u64::MAX
        } else {
            self.max_inflight_bytes
        }
    }
}

/// Why a [`Config`] was refused.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// `Config::id` is 0, which raft-core reserves for "no node".
    #[error("node id must not be 0 (0 means \"no node\")")]
    ZeroId,
    /// `Config::heartbeat_tick` is 0.
    #[error("heartbeat tick must be greater than 0")]
    ZeroHeartbeatTick,
    /// `Config::election_tick` is not above `Config::heartbeat_tick`: followers would campaign between two heartbeats.
    #[error(
        "election tick ({election_tick}) must be greater than heartbeat tick ({heartbeat_tick})"
    )]
    ElectionTickTooSmall {
        /// The configured election timeout, in ticks.
        election_tick: usize,
        /// The configured heartbeat interval, in ticks.
        heartbeat_tick: usize,
    },
    /// `Config::max_inflight_msgs` is 0: a leader could never send an append.
    #[error("max inflight messages must be greater than 0")]
    ZeroInflightMsgs,
    /// `Config::max_inflight_bytes` is below `Config::max_size_per_msg`, so one full append could never be in flight.
    #[error("max inflight bytes ({max_inflight_bytes}) must be at least max size per message ({max_size_per_msg})")]
    InflightBytesBelowMessageSize {
        /// The configured in-flight byte limit.
        max_inflight_bytes: u64,
        /// The configured size limit of one append.
        max_size_per_msg: u64,
    },
    /// Lease-based reads rely on the lease that only CheckQuorum maintains.
    #[error("check_quorum must be enabled when read_only_option is LeaseBased")]
    LeaseBasedReadsWithoutCheckQuorum,
    /// `applied` must lie within what the storage knows to be committed.
    #[error(
        "applied index {applied} is outside the committed range [{min}, {committed}] of the log"
    )]
    AppliedOutOfRange {
        /// The configured applied index.
        applied: u64,
        /// The lowest index the storage can still tell about (its first index minus one).
        min: u64,
        /// The commit index in the storage's hard state.
        committed: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_prevote_is_on() {
        let c = Config::new(1);
        assert_eq!(c.validate(), Ok(()));
        assert!(c.pre_vote);
    }

    #[test]
    fn each_invalid_setting_has_its_own_error() {
        let ok = Config::new(1);
        let cases = [
            (
                Config {
                    id: 0,
                    ..ok.clone()
                },
                ConfigError::ZeroId,
            ),
            (
                Config {
                    heartbeat_tick: 0,
                    ..ok.clone()
                },
                ConfigError::ZeroHeartbeatTick,
            ),
            (
                Config {
                    election_tick: 1,
                    heartbeat_tick: 1,
                    ..ok.clone()
                },
                ConfigError::ElectionTickTooSmall {
                    election_tick: 1,
                    heartbeat_tick: 1,
                },
            ),
            (
                Config {
                    max_inflight_msgs: 0,
                    ..ok.clone()
                },
                ConfigError::ZeroInflightMsgs,
            ),
            (
                Config {
                    max_inflight_bytes: 10,
                    max_size_per_msg: 11,
                    ..ok.clone()
                },
                ConfigError::InflightBytesBelowMessageSize {
                    max_inflight_bytes: 10,
                    max_size_per_msg: 11,
                },
            ),
            (
                Config {
                    read_only_option: ReadOnlyOption::LeaseBased,
                    check_quorum: false,
                    ..ok.clone()
                },
                ConfigError::LeaseBasedReadsWithoutCheckQuorum,
            ),
        ];
        let lease = Config {
            read_only_option: ReadOnlyOption::LeaseBased,
            check_quorum: true,
            ..ok.clone()
        };
        assert_eq!(lease.validate(), Ok(()));
        for (config, want) in cases {
            assert_eq!(config.validate(), Err(want));
        }
    }

    #[test]
    fn zero_limits_take_etcd_meanings() {
        let c = Config {
            max_size_per_msg: 4096,
            ..Config::new(1)
        };
        assert_eq!(c.effective_max_committed_size_per_ready(), 4096);
        assert_eq!(c.effective_max_uncommitted_size(), u64::MAX);
        assert_eq!(c.effective_max_inflight_bytes(), u64::MAX);
    }
}
