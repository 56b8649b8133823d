//! Members that come and go for good: spare node ids outside the initial
//! configuration that start with an empty log and join when the schedule
//! adds them, and members the schedule removes, whose process then stops
//! for ever. Drawn from a random stream of their own, so that seeds without
//! spares keep their faults, proposals and other client operations.

use super::{stream, Event, Timed, TICK};
use crate::rng::Rng;
use std::fmt;

/// Adding a spare node (one not in any configuration yet) to the cluster.
/// Which spare is decided when it happens: one started earlier whose
/// addition never committed, else the next one never started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JoinOp {
    /// ConfChange v1 `AddLearnerNode`: it catches up before it votes (a
    /// later promotion makes it a voter).
    LearnerV1,
    /// ConfChange v1 `AddNode`: it counts in quorums while still empty.
    VoterV1,
    /// ConfChange v2 adding it as a voter through a joint configuration.
    /// `explicit` waits for a [`Event::LeaveJoint`].
    VoterV2 {
        /// `ConfChangeTransition::JointExplicit` rather than `JointImplicit`.
        explicit: bool,
    },
}

/// Removing a member (never the leader) for good: once the removal is
/// applied, its process stops and its id is never used again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RemoveOp {
    /// ConfChange v1 `RemoveNode`.
    V1,
    /// ConfChange v2 `RemoveNode` through a joint configuration.
    V2 {
        /// `ConfChangeTransition::JointExplicit` rather than `JointImplicit`.
        explicit: bool,
    },
}

fn leave(explicit: bool) -> &'static str {
    if explicit {
        "explicit leave"
    } else {
        "auto leave"
    }
}

impl fmt::Display for JoinOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinOp::LearnerV1 => f.write_str("v1: add an empty node as a learner"),
            JoinOp::VoterV1 => f.write_str("v1: add an empty node as a voter"),
            JoinOp::VoterV2 { explicit } => write!(
                f,
                "v2 joint ({}): add an empty node as a voter",
                leave(*explicit)
            ),
        }
    }
}

impl fmt::Display for RemoveOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemoveOp::V1 => f.write_str("v1: remove a follower for good"),
            RemoveOp::V2 { explicit } => {
                write!(
                    f,
                    "v2 joint ({}): remove a follower for good",
                    leave(*explicit)
                )
            }
        }
    }
}

/// What a seed decided about spares: how many, their tick phases, and the
/// joins and removals of the fault phase.
pub(super) struct Drawn {
    pub(super) spares: usize,
    pub(super) tick_phase: Vec<u64>,
    pub(super) events: Vec<Timed>,
}

/// Draws spares, joins and removals for a fault phase of `fault_ticks`
/// ticks. Half the seeds have no spare and no removal, so that membership
/// over a fixed set stays in the mix.
pub(super) fn generate(seed: u64, fault_ticks: u64) -> Drawn {
    let mut rng = Rng::stream(seed, stream::MEMBERS);
    if rng.chance(500) {
        return Drawn {
            spares: 0,
            tick_phase: Vec::new(),
            events: Vec::new(),
        };
    }
    let spares = rng.range(1, 2) as usize;
    let tick_phase = (0..spares).map(|_| rng.below(TICK)).collect();
    // Per tick, per mille.
    let join_rate = rng.range(2, 12);
    let remove_rate = rng.range(0, 4);
    let heal_at = fault_ticks * TICK;
    let mut events = Vec::new();
    let leave_later = |rng: &mut Rng, at: u64, events: &mut Vec<Timed>| {
        events.push(Timed {
            at: (at + rng.range(5, 60) * TICK).min(heal_at),
            event: Event::LeaveJoint,
        });
    };
    for tick in 0..fault_ticks {
        let at = tick * TICK + rng.below(TICK);
        if rng.chance(join_rate) {
            let op = match rng.below(4) {
                0 => JoinOp::LearnerV1,
                1 => JoinOp::VoterV1,
                k => JoinOp::VoterV2 { explicit: k == 3 },
            };
            events.push(Timed {
                at,
                event: Event::Join(op),
            });
            if op == (JoinOp::VoterV2 { explicit: true }) {
                leave_later(&mut rng, at, &mut events);
            }
        }
        if rng.chance(remove_rate) {
            let op = match rng.below(3) {
                0 => RemoveOp::V1,
                k => RemoveOp::V2 { explicit: k == 2 },
            };
            events.push(Timed {
                at,
                event: Event::Remove(op),
            });
            if op == (RemoveOp::V2 { explicit: true }) {
                leave_later(&mut rng, at, &mut events);
            }
        }
    }
    Drawn {
        spares,
        tick_phase,
        events,
    }
}
