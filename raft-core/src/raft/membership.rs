//! Membership: switching configurations (from storage, a snapshot or an
//! applied change), the leader's checks on proposed changes, leaving a joint
//! configuration automatically, and what a leader does when it is removed.

use super::Raft;
use crate::confchange::{AnyConfChange, Changer, ConfChangeError, ConfChangeV2};
use crate::error::{Error, Result};
use crate::message::{Message, MessageType};
use crate::storage::LogStorage;
use crate::tracker::{Progress, ProgressTracker, TrackerConfig};
use crate::types::{ConfState, Entry, EntryType, NodeId, Role};
use std::collections::BTreeMap;

impl<S: LogStorage> Raft<S> {
    /// Replaces the configuration with the one `cs` describes (at start-up
    /// and when a snapshot is installed), progress and all.
    pub(crate) fn restore_config(&mut self, cs: &ConfState, last_index: u64) -> Result<()> {
        let empty = ProgressTracker::new(self.trk.max_inflight, self.trk.max_inflight_bytes);
        let (cfg, prs) = Changer::restore(&empty, last_index, cs)?;
        self.trk = empty;
        let restored = self.switch_to_config(cfg, prs)?;
        if !restored.equivalent(cs) {
            // The changer normalized something the ConfState said (a node in
            // two roles): the stored membership is not a valid one.
            return Err(ConfChangeError::Invariant(format!(
                "ConfState {cs:?} restores as {restored:?}"
            ))
            .into());
        }
        Ok(())
    }

    /// Applies a committed configuration change and returns the
    /// configuration it leads to. A change that cannot be applied (only
    /// possible when validation at proposal time is disabled, or with an
    /// application that applies changes out of order) changes nothing.
    pub(crate) fn apply_conf_change(&mut self, cc: &ConfChangeV2) -> Result<ConfState> {
        let last = self.raft_log.last_index()?;
        let changer = Changer::new(&self.trk, last);
        let (cfg, prs) = if cc.leaves_joint() {
            changer.leave_joint()?
        } else if let Some(auto_leave) = cc.enter_joint() {
            changer.enter_joint(auto_leave, &cc.changes)?
        } else {
            changer.simple(&cc.changes)?
        };
        self.switch_to_config(cfg, prs)
    }

    /// Puts a configuration in force, and reacts as a leader must: step down
    /// if removed (when configured to), otherwise commit what the new quorum
    /// allows and probe new members at once.
    fn switch_to_config(
        &mut self,
        cfg: TrackerConfig,
        prs: BTreeMap<NodeId, Progress>,
    ) -> Result<ConfState> {
        self.trk.config = cfg;
        self.trk.progress = prs;
        let me = self.id;
        self.peers.clear();
        self.peers
            .extend(self.trk.progress.keys().copied().filter(|id| *id != me));
        tracing::info!(
            "{:x} switched to configuration {}",
            self.id,
            self.trk.config
        );
        let cs = self.trk.config.conf_state();
        let own = self.trk.progress.get(&self.id);
        self.is_learner = own.is_some_and(|pr| pr.is_learner);
        if (own.is_none() || self.is_learner) && self.role == Role::Leader {
            // Removed or demoted while leading. Without stepping down it
            // keeps heartbeating (and refusing proposals) until deposed.
            if self.step_down_on_removal {
                self.become_follower(self.term, crate::types::NO_NODE)?;
            }
            return Ok(cs);
        }
        if self.role != Role::Leader || cs.voters.is_empty() {
            return Ok(cs);
        }
        if self.maybe_commit()? {
            // A smaller quorum may commit more at once.
            self.bcast_append()?;
        } else {
            // New members need not wait for a heartbeat or a proposal.
            let me = self.id;
            let peers: Vec<NodeId> = self.trk.progress.keys().copied().collect();
            for id in peers.into_iter().filter(|id| *id != me) {
                self.maybe_send_append(id, false)?;
            }
        }
        // A transfer to a node that is no longer a voter can never finish.
        if self.lead_transferee != crate::types::NO_NODE
            && !self.trk.voters().contains(self.lead_transferee)
        {
            self.abort_leader_transfer();
        }
        Ok(cs)
    }

    /// Whether committed entries not yet applied hold a configuration
    /// change: campaigning then could lead with a configuration about to
    /// change.
    pub(crate) fn has_unapplied_conf_changes(&self) -> Result<bool> {
        let (applied, committed) = (self.raft_log.applied, self.raft_log.committed);
        if applied >= committed {
            return Ok(false);
        }
        let page = self.raft_log.max_applying_size().max(1);
        let mut lo = applied + 1;
        while lo <= committed {
            let entries = self.raft_log.slice(lo, committed + 1, page)?;
            let Some(last) = entries.last() else {
                break;
            };
            if entries.iter().any(|e| e.entry_type.is_conf_change()) {
                return Ok(true);
            }
            lo = last.index + 1;
        }
        Ok(false)
    }

    /// A leader's checks on the configuration changes among proposed
    /// entries: one change in flight at a time, nothing but the leave while
    /// joint, no leave unless joint. A refused change is replaced by an
    /// empty normal entry (the proposal still succeeds, as in etcd); an
    /// accepted one becomes the pending change.
    pub(crate) fn check_conf_changes(&mut self, entries: &mut [Entry], from: NodeId) -> Result<()> {
        let last = self.raft_log.last_index()?;
        for (i, e) in entries.iter_mut().enumerate() {
            let cc = match AnyConfChange::from_entry(e) {
                Ok(Some(cc)) => cc.as_v2(),
                Ok(None) => continue,
                Err(err) => {
                    return Err(Error::InvalidMessage {
                        from,
                        reason: err.to_string(),
                    })
                }
            };
            let already_pending = self.pending_conf_index > self.raft_log.applied;
            let already_joint = self.trk.config.voters.is_joint();
            let wants_leave = cc.changes.is_empty();
            let failed = if already_pending {
                Some(format!(
                    "possible unapplied conf change at index {} (applied to {})",
                    self.pending_conf_index, self.raft_log.applied
                ))
            } else if already_joint && !wants_leave {
                Some("must transition out of joint config first".to_string())
            } else if !already_joint && wants_leave {
                Some("not in joint state; refusing empty conf change".to_string())
            } else {
                None
            };
            match failed {
                Some(reason) if !self.disable_conf_change_validation => {
                    tracing::info!(
                        "{:x} ignoring conf change {} at config {}: {}",
                        self.id,
                        cc,
                        self.trk.config,
                        reason
                    );
                    *e = Entry {
                        entry_type: EntryType::EntryNormal,
                        ..Entry::default()
                    };
                }
                _ => self.pending_conf_index = last + i as u64 + 1,
            }
        }
        Ok(())
    }

    /// Once a leader has applied a joint configuration marked for automatic
    /// leaving, it proposes the empty change that leaves it. Retried on
    /// every apply until a proposal goes through.
    pub(crate) fn maybe_auto_leave(&mut self, applied: u64) -> Result<()> {
        if !(self.trk.config.auto_leave
            && applied >= self.pending_conf_index
            && self.role == Role::Leader)
        {
            return Ok(());
        }
        // Empty data: the empty ConfChangeV2, which the uncommitted-size
        // limit can never refuse.
        let m = Message {
            from: self.id,
            entries: vec![Entry {
                entry_type: EntryType::EntryConfChangeV2,
                ..Entry::default()
            }],
            ..Message::new(MessageType::MsgProp)
        };
        let config = self.trk.config.to_string();
        match self.step(m) {
            Ok(()) => tracing::info!(
                "initiating automatic transition out of joint configuration {}",
                config
            ),
            Err(Error::Storage(e)) => return Err(e.into()),
            Err(e) => tracing::debug!(
                "not initiating automatic transition out of joint configuration {}: {}",
                config,
                e
            ),
        }
        Ok(())
    }
}
