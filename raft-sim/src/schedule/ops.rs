//! The client operations beyond proposals: membership changes, leader
//! transfers and linearizable reads. They come from a random stream of
//! their own, so that adding them left each seed's faults and proposals as
//! they were.

use super::{stream, Event, Timed, TICK};
use crate::rng::Rng;
use std::fmt;

/// A membership change, drawn when the schedule is made and resolved
/// against the leader's configuration when it happens (which voters and
/// learners exist then is not known in advance).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MemberOp {
    /// ConfChange v1: a follower voter becomes a learner.
    DemoteV1,
    /// ConfChange v1: a learner becomes a voter.
    PromoteV1,
    /// ConfChange v2 through a joint configuration: one follower voter
    /// becomes a learner and one learner a voter (or, without learners, only
    /// the demotion). `explicit` waits for a [`Event::LeaveJoint`];
    /// otherwise raft-core leaves the joint configuration by itself.
    SwapV2 {
        /// `ConfChangeTransition::JointExplicit` rather than `JointImplicit`.
        explicit: bool,
    },
}

impl fmt::Display for MemberOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemberOp::DemoteV1 => f.write_str("v1: demote a follower to learner"),
            MemberOp::PromoteV1 => f.write_str("v1: promote a learner"),
            MemberOp::SwapV2 { explicit } => write!(
                f,
                "v2 joint ({}): demote a follower, promote a learner",
                if *explicit {
                    "explicit leave"
                } else {
                    "auto leave"
                }
            ),
        }
    }
}

/// Draws the transfers, reads and membership changes of a fault phase of
/// `fault_ticks` ticks on `nodes` nodes.
pub(super) fn generate(seed: u64, nodes: usize, fault_ticks: u64) -> Vec<Timed> {
    let mut rng = Rng::stream(seed, stream::OPS);
    // Per tick, per mille: each seed has its own mix.
    let read_rate = rng.range(20, 300);
    let transfer_rate = rng.range(0, 15);
    let member_rate = rng.range(0, 25);
    let heal_at = fault_ticks * TICK;
    let mut events = Vec::new();
    for tick in 0..fault_ticks {
        let at = tick * TICK + rng.below(TICK);
        if rng.chance(read_rate) {
            let node = rng.range(1, nodes as u64);
            events.push(Timed {
                at,
                event: Event::Read { node },
            });
        }
        if rng.chance(transfer_rate) {
            let to = rng.range(1, nodes as u64);
            events.push(Timed {
                at,
                event: Event::TransferLeader { to },
            });
        }
        if rng.chance(member_rate) {
            let op = match rng.below(4) {
                0 => MemberOp::DemoteV1,
                1 => MemberOp::PromoteV1,
                k => MemberOp::SwapV2 { explicit: k == 3 },
            };
            events.push(Timed {
                at,
                event: Event::Membership(op),
            });
            if op == (MemberOp::SwapV2 { explicit: true }) {
                let leave = (at + rng.range(5, 60) * TICK).min(heal_at);
                events.push(Timed {
                    at: leave,
                    event: Event::LeaveJoint,
                });
            }
        }
    }
    events
}
