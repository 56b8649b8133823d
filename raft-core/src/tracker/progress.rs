//! What a leader knows about one follower's log, and the probe/replicate
//! flow control built on it.

use super::inflights::Inflights;
use std::fmt;

/// How the leader currently sends appends to a follower.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProgressState {
    /// The follower's last matching index is unknown: send one append at a
    /// time and wait for its answer before sending the next.
    #[default]
    Probe,
    /// The follower is known to match up to `match`: stream appends
    /// optimistically, up to the in-flight limits.
    Replicate,
    /// The follower needs entries the leader no longer holds; a snapshot was
    /// sent and nothing else is until the follower answers.
    Snapshot,
}

impl ProgressState {
    /// etcd's name for the state.
    pub fn as_str(self) -> &'static str {
        match self {
            ProgressState::Probe => "StateProbe",
            ProgressState::Replicate => "StateReplicate",
            ProgressState::Snapshot => "StateSnapshot",
        }
    }
}

impl fmt::Display for ProgressState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A leader's view of one peer (itself included).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// The highest index known to be in the peer's log.
    pub matched: u64,
    /// The next index to send. Invariant: `matched < next`.
    pub next: u64,
    /// The highest commit index sent to the peer, so a leader can tell whether
    /// the peer might still miss news of a commit.
    pub(crate) sent_commit: u64,
    /// Probe or replicate: how appends are sent to this peer.
    pub state: ProgressState,
    /// In [`ProgressState::Snapshot`], the index of the snapshot sent (0 when
    /// none is pending). Only a hint: the follower may apply another one,
    /// and any answer that lets the log catch it up ends the state.
    pub pending_snapshot: u64,
    /// The peer answered within the current CheckQuorum period.
    pub recent_active: bool,
    /// Sending is paused until the peer answers (a probe is outstanding, or
    /// the in-flight window is full).
    pub msg_app_flow_paused: bool,
    /// The appends sent and not yet acknowledged, bounded by count and bytes.
    pub inflights: Inflights,
    /// The peer is a learner: replicated to, but never counted in a quorum.
    pub is_learner: bool,
}

impl Progress {
    pub(crate) fn new(next: u64, max_inflight: usize, max_inflight_bytes: u64) -> Progress {
        Progress {
            matched: 0,
            next,
            sent_commit: 0,
            state: ProgressState::Probe,
            pending_snapshot: 0,
            recent_active: false,
            msg_app_flow_paused: false,
            inflights: Inflights::new(max_inflight, max_inflight_bytes),
            is_learner: false,
        }
    }

    fn reset_state(&mut self, state: ProgressState) {
        self.msg_app_flow_paused = false;
        self.pending_snapshot = 0;
        self.state = state;
        self.inflights.reset();
    }

    /// Falls back to probing from just after the last known match, or, when
    /// leaving the snapshot state, from just after the pending snapshot if
    /// that is further: the follower most likely has it by now.
    pub fn become_probe(&mut self) {
        let after = if self.state == ProgressState::Snapshot {
            (self.matched + 1).max(self.pending_snapshot + 1)
        } else {
            self.matched + 1
        };
        self.reset_state(ProgressState::Probe);
        self.next = after;
        self.sent_commit = self.sent_commit.min(self.next - 1);
    }

    /// Stops sending appends: a snapshot at `snapshot_index` was sent, and
    /// the follower's answer decides what comes next. The snapshot carries
    /// the commit index up to its own index.
    pub fn become_snapshot(&mut self, snapshot_index: u64) {
        self.reset_state(ProgressState::Snapshot);
        self.pending_snapshot = snapshot_index;
        self.next = snapshot_index + 1;
        self.sent_commit = snapshot_index;
    }

    /// Starts streaming from just after the last known match.
    pub fn become_replicate(&mut self) {
        self.reset_state(ProgressState::Replicate);
        self.next = self.matched + 1;
    }

    /// Accounts for an append carrying `entries` entries (`bytes` of payload)
    /// that was just sent.
    pub(crate) fn sent_entries(&mut self, entries: usize, bytes: u64) {
        match self.state {
            ProgressState::Replicate => {
                if entries > 0 {
                    self.next += entries as u64;
                    self.inflights.add(self.next - 1, bytes);
                }
                self.msg_app_flow_paused = self.inflights.full();
            }
            ProgressState::Probe => {
                // One probe at a time; an empty append does not count, so
                // commit-only messages never block the next real probe.
                if entries > 0 {
                    self.msg_app_flow_paused = true;
                }
            }
            // Always paused, so never sent to: nothing to account for.
            ProgressState::Snapshot => {}
        }
    }

    /// True if sending the commit index `index` could tell the peer something
    /// new: it has not been told this commit and its log may reach further
    /// than what it was told.
    pub(crate) fn can_bump_commit(&self, index: u64) -> bool {
        index > self.sent_commit && self.sent_commit < self.next - 1
    }

    pub(crate) fn sent_commit(&mut self, commit: u64) {
        self.sent_commit = commit;
    }

    /// Records that the peer's log matches up to `n`. Returns false if that
    /// is old news (a stale or duplicated acknowledgement).
    pub fn maybe_update(&mut self, n: u64) -> bool {
        if n <= self.matched {
            return false;
        }
        self.matched = n;
        self.next = self.next.max(n.saturating_add(1));
        self.msg_app_flow_paused = false;
        true
    }

    /// Handles a rejected append at `rejected`, with the follower's hint that
    /// its log may match at `match_hint`. Returns false if the rejection is
    /// stale and changes nothing.
    pub fn maybe_decr_to(&mut self, rejected: u64, match_hint: u64) -> bool {
        if self.state == ProgressState::Replicate {
            // Rejections at or below the match are answers to old appends.
            if rejected <= self.matched {
                return false;
            }
            // The stream went wrong somewhere; restart from the match.
            self.next = self.matched + 1;
            self.sent_commit = self.sent_commit.min(self.next - 1);
            return true;
        }
        // While probing only the answer to the outstanding probe counts.
        if self.next - 1 != rejected {
            return false;
        }
        self.next = rejected
            .min(match_hint.saturating_add(1))
            .max(self.matched + 1);
        self.sent_commit = self.sent_commit.min(self.next - 1);
        self.msg_app_flow_paused = false;
        true
    }

    /// Whether sending appends to this peer is on hold (always, while a
    /// snapshot is pending).
    pub fn is_paused(&self) -> bool {
        self.state == ProgressState::Snapshot || self.msg_app_flow_paused
    }
}

/// etcd's rendering, e.g. `StateReplicate match=11 next=15 paused inflight=3[full]`.
impl fmt::Display for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} match={} next={}",
            self.state, self.matched, self.next
        )?;
        if self.is_learner {
            f.write_str(" learner")?;
        }
        if self.is_paused() {
            f.write_str(" paused")?;
        }
        if self.pending_snapshot > 0 {
            write!(f, " pendingSnap={}", self.pending_snapshot)?;
        }
        if !self.recent_active {
            f.write_str(" inactive")?;
        }
        let n = self.inflights.count();
        if n > 0 {
            write!(f, " inflight={n}")?;
            if self.inflights.full() {
                f.write_str("[full]")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(matched: u64, next: u64, state: ProgressState) -> Progress {
        let mut p = Progress::new(next, 4, u64::MAX);
        p.matched = matched;
        p.state = state;
        p
    }

    #[test]
    fn probe_sends_one_append_then_pauses() {
        let mut p = progress(0, 5, ProgressState::Probe);
        p.sent_entries(0, 0);
        assert!(!p.is_paused(), "empty appends do not pause a probe");
        p.sent_entries(2, 10);
        assert!(p.is_paused());
        assert_eq!(p.next, 5, "probing does not advance next");
        assert!(p.maybe_update(6));
        assert!(!p.is_paused());
    }

    #[test]
    fn replicate_advances_next_and_fills_window() {
        let mut p = progress(4, 5, ProgressState::Replicate);
        for i in 0..4 {
            assert!(!p.is_paused(), "paused after {i} sends");
            p.sent_entries(1, 1);
        }
        assert_eq!(p.next, 9);
        assert!(p.is_paused());
    }

    #[test]
    fn decrement_in_probe_uses_the_hint_but_not_below_match() {
        let mut p = progress(3, 10, ProgressState::Probe);
        assert!(!p.maybe_decr_to(8, 2), "not the outstanding probe");
        assert!(p.maybe_decr_to(9, 6));
        assert_eq!(p.next, 7);
        let mut q = progress(3, 10, ProgressState::Probe);
        assert!(q.maybe_decr_to(9, 1));
        assert_eq!(q.next, 4, "never below match + 1");
    }

    #[test]
    fn decrement_in_replicate_restarts_from_match() {
        let mut p = progress(5, 12, ProgressState::Replicate);
        assert!(!p.maybe_decr_to(5, 0), "stale rejection");
        assert!(p.maybe_decr_to(8, 0));
        assert_eq!(p.next, 6);
    }

    #[test]
    fn snapshot_state_pauses_and_leaves_past_the_snapshot() {
        let mut p = progress(3, 4, ProgressState::Probe);
        p.recent_active = true;
        p.become_snapshot(10);
        assert!(p.is_paused());
        assert_eq!((p.next, p.pending_snapshot), (11, 10));
        assert_eq!(
            p.to_string(),
            "StateSnapshot match=3 next=11 paused pendingSnap=10"
        );
        p.become_probe();
        assert_eq!(
            (p.state, p.next, p.pending_snapshot),
            (ProgressState::Probe, 11, 0)
        );
        // A failed snapshot is forgotten first, so probing restarts at the match.
        p.become_snapshot(10);
        p.pending_snapshot = 0;
        p.become_probe();
        assert_eq!(p.next, 4);
        // An answer beyond the snapshot wins over it.
        p.become_snapshot(10);
        assert!(p.maybe_update(12));
        p.become_probe();
        assert_eq!(p.next, 13);
    }

    #[test]
    fn display_matches_etcd() {
        let mut p = progress(11, 15, ProgressState::Replicate);
        p.recent_active = true;
        p.inflights = Inflights::new(3, u64::MAX);
        for i in 12..15 {
            p.inflights.add(i, 1);
        }
        p.msg_app_flow_paused = true;
        assert_eq!(
            p.to_string(),
            "StateReplicate match=11 next=15 paused inflight=3[full]"
        );
        p.recent_active = false;
        p.inflights.reset();
        p.msg_app_flow_paused = false;
        assert_eq!(p.to_string(), "StateReplicate match=11 next=15 inactive");
    }
}
