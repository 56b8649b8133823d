//! Role transitions. The only ways up are Follower → PreCandidate →
//! Candidate → Leader (or Follower → Candidate without pre-vote); any role
//! may fall back to Follower.

use super::Raft;
use crate::error::Result;
use crate::storage::LogStorage;
use crate::types::{Entry, NodeId, Role};

impl<S: LogStorage> Raft<S> {
    pub(crate) fn become_follower(&mut self, term: u64, lead: NodeId) -> Result<()> {
        self.reset(term)?;
        self.lead = lead;
        self.role = Role::Follower;
        traced! { self.emit_role(); }
        tracing::info!("{:x} became follower at term {}", self.id, self.term);
        Ok(())
    }

    /// Starts a real election: a new term, voting for ourselves.
    pub(crate) fn become_candidate(&mut self) -> Result<()> {
        debug_assert!(
            self.role != Role::Leader,
            "invalid transition [leader -> candidate]"
        );
        self.reset(self.term + 1)?;
        self.vote = self.id;
        self.role = Role::Candidate;
        traced! { self.emit_role(); }
        tracing::info!("{:x} became candidate at term {}", self.id, self.term);
        Ok(())
    }

    /// Starts a pre-election. Deliberately changes neither term nor vote, nor
    /// the election timer: a pre-candidate that fails must look, to everyone,
    /// exactly like the follower it was.
    pub(crate) fn become_pre_candidate(&mut self) {
        debug_assert!(
            self.role != Role::Leader,
            "invalid transition [leader -> pre-candidate]"
        );
        self.trk.reset_votes();
        self.lead = crate::types::NO_NODE;
        self.role = Role::PreCandidate;
        traced! { self.emit_role(); }
        tracing::info!("{:x} became pre-candidate at term {}", self.id, self.term);
    }

    /// Takes over the term won, and appends the empty entry that lets it
    /// commit (and so learn the commit index of) everything before it: a
    /// leader may only commit entries of its own term by counting replicas.
    pub(crate) fn become_leader(&mut self) -> Result<()> {
        debug_assert!(
            self.role != Role::Follower,
            "invalid transition [follower -> leader]"
        );
        self.reset(self.term)?;
        self.lead = self.id;
        self.role = Role::Leader;
        traced! { self.emit_role(); }
        if let Some(own) = self.trk.progress.get_mut(&self.id) {
            // The leader trivially replicates to itself, and is always
            // active as far as CheckQuorum is concerned.
            own.become_replicate();
            own.recent_active = true;
        }
        // The log may hold a configuration change not yet applied; rather
        // than scan for it, treat everything up to the end of the log as
        // possibly pending, so no new change is accepted until it applied.
        self.pending_conf_index = self.raft_log.last_index()?;
        // An empty payload is never refused by the uncommitted-size limit,
        // so this append cannot fail for that reason.
        self.append_entry(vec![Entry::default()])?;
        tracing::info!("{:x} became leader at term {}", self.id, self.term);
        Ok(())
    }
}
