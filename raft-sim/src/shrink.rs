//! Shortening a failing schedule by delta debugging: drop chunks of
//! scheduled events, halving the chunk size when nothing can go, and keep
//! every removal after which the same property is still violated.
//!
//! Removing an event changes what happens after it (fewer messages, other
//! random draws), so a removal can make the failure vanish or turn it into
//! another one; only removals that keep the same property broken are kept.

use crate::checker::Violation;
use crate::schedule::Event;
use crate::sim::{run_subset, Outcome, SimError, SimOptions};

const KINDS: u8 = 7;

/// Groups events into kinds that can be dropped together.
fn kind_of(event: &Event) -> u8 {
    match event {
        Event::Propose { .. } => 0,
        Event::Network(_) => 1,
        Event::Partition { .. } | Event::CutLink { .. } | Event::IsolateLeader | Event::Heal => 2,
        Event::Crash { .. } | Event::Restart { .. } | Event::CrashLeader | Event::RestartAll => 3,
        Event::Read { .. } => 4,
        Event::TransferLeader { .. }
        | Event::Membership(_)
        | Event::LeaveJoint
        | Event::Join(_)
        | Event::Remove(_) => 5,
        Event::Kv(_) => 6,
    }
}

/// A shortened failing run.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// Indexes of the scheduled events still in the schedule.
    pub keep: Vec<usize>,
    /// Scheduled events of the original failing run (those before the
    /// violation; later ones never ran).
    pub original_len: usize,
    /// The run with only `keep`, traced.
    pub outcome: Outcome,
    /// Simulations run while shrinking.
    pub runs: usize,
}

/// Shrinks the schedule of `seed`, which violated `original`, spending at
/// most `max_runs` simulations.
pub fn shrink(
    seed: u64,
    opts: &SimOptions,
    original: &Violation,
    max_runs: usize,
) -> Result<Shrunk, SimError> {
    // A candidate that has not failed well after the original did is taken
    // to pass; liveness failures only show at the end, so those run fully.
    let stop_at = (original.property != crate::Property::Liveness)
        .then(|| original.at + (original.at / 2).max(200 * crate::TICK));
    let quiet = SimOptions {
        trace: false,
        stop_at,
        ..opts.clone()
    };
    let schedule = crate::Schedule::generate(seed, opts.nodes, opts.fault_ticks, opts.client_ops);
    // Events after the violation never ran.
    let mut keep: Vec<usize> = (0..schedule.events.len())
        .filter(|&i| schedule.events[i].at <= original.at)
        .collect();
    let original_len = keep.len();
    let mut runs = 0;
    let fails = |candidate: &[usize], runs: &mut usize| -> Result<bool, SimError> {
        *runs += 1;
        let out = run_subset(seed, &quiet, Some(candidate))?;
        Ok(out
            .violation
            .is_some_and(|v| v.property == original.property))
    };
    // Whole kinds of events first: a failure often needs only one kind.
    for kind in 0..KINDS {
        if runs >= max_runs {
            break;
        }
        let candidate: Vec<usize> = keep
            .iter()
            .copied()
            .filter(|&i| kind_of(&schedule.events[i].event) != kind)
            .collect();
        if candidate.len() < keep.len() && fails(&candidate, &mut runs)? {
            keep = candidate;
        }
    }
    let mut chunks = 2usize;
    while !keep.is_empty() && runs < max_runs {
        let size = keep.len().div_ceil(chunks);
        let mut removed = false;
        let mut start = 0;
        while start < keep.len() && runs < max_runs {
            let end = (start + size).min(keep.len());
            let candidate: Vec<usize> = keep[..start].iter().chain(&keep[end..]).copied().collect();
            if fails(&candidate, &mut runs)? {
                keep = candidate;
                removed = true;
                // Retry the same position: it now holds the next chunk.
            } else {
                start = end;
            }
        }
        if removed {
            chunks = chunks.saturating_sub(1).max(2);
        } else if size <= 1 {
            break;
        } else {
            chunks = (chunks * 2).min(keep.len());
        }
    }
    let outcome = run_subset(
        seed,
        &SimOptions {
            trace: true,
            ..opts.clone()
        },
        Some(&keep),
    )?;
    Ok(Shrunk {
        keep,
        original_len,
        outcome,
        runs,
    })
}
