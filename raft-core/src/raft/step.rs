//! Every message passes here first: the term rules, then dispatch by role.

use super::{CampaignType, Raft};
use crate::error::{Error, Result};
use crate::message::{Message, MessageType};
use crate::storage::LogStorage;
use crate::types::{Role, NO_NODE};

impl<S: LogStorage> Raft<S> {
    pub(crate) fn step(&mut self, m: Message) -> Result<()> {
        #[cfg(feature = "trace")]
        if self.opens_traced_step() {
            self.emit(&crate::trace::TraceEvent::Receive(&m));
            return self.run_traced_step(|r| r.step_untraced(m));
        }
        self.step_untraced(m)
    }

    fn step_untraced(&mut self, m: Message) -> Result<()> {
        if matches!(
            m.msg_type,
            MessageType::MsgStorageAppendResp | MessageType::MsgStorageApplyResp
        ) {
            // The storage threads' answers follow their own term rule (see
            // `async_writes`): an old term voids only an append's entries.
            return self.step_storage_response(&m);
        }
        if m.term > self.term {
            if !self.step_higher_term(&m)? {
                return Ok(());
            }
        } else if m.term != 0 && m.term < self.term {
            return self.step_lower_term(&m);
        }
        // Term 0 marks a local message (a timer, a proposal): no term rule
        // applies to it.
        match m.msg_type {
            MessageType::MsgHup => {
                let t = if self.pre_vote {
                    CampaignType::PreElection
                } else {
                    CampaignType::Election
                };
                self.hup(t)
            }
            MessageType::MsgVote | MessageType::MsgPreVote => self.handle_vote_request(&m),
            _ => match self.role {
                Role::Leader => self.step_leader(m),
                Role::Candidate | Role::PreCandidate => self.step_candidate(m),
                Role::Follower => self.step_follower(m),
            },
        }
    }

    /// A message from a newer term. Returns whether to go on processing it.
    fn step_higher_term(&mut self, m: &Message) -> Result<bool> {
        if matches!(m.msg_type, MessageType::MsgVote | MessageType::MsgPreVote) {
            // The lease: while we believe a leader is alive (we heard from it
            // within the minimum election timeout), a vote request is most
            // likely from a node that was cut off, and must not depose it.
            // A transfer's vote requests are the leader's own doing: the
            // lease does not protect it from them.
            let force = m.context.as_ref() == super::transfer::CAMPAIGN_TRANSFER;
            let in_lease = !force
                && self.check_quorum
                && self.lead != NO_NODE
                && self.election_elapsed < self.election_timeout;
            if in_lease {
                traced! { self.emit(&crate::trace::TraceEvent::IgnoredInLease(m)); }
                let last = self.raft_log.last_entry_id()?;
                tracing::info!(
                    "{:x} [logterm: {}, index: {}, vote: {:x}] ignored {} from {:x} [logterm: {}, index: {}] at term {}: lease is not expired (remaining ticks: {})",
                    self.id, last.term, last.index, self.vote, m.msg_type, m.from, m.log_term, m.index, self.term,
                    self.election_timeout - self.election_elapsed
                );
                return Ok(false);
            }
        }
        match m.msg_type {
            // A pre-vote is for a term the sender has not entered; it must not
            // move anyone's term.
            MessageType::MsgPreVote => {}
            // A granted pre-vote echoes our own future term: we move to it
            // only when we win the pre-election and really campaign.
            MessageType::MsgPreVoteResp if !m.reject => {}
            _ => {
                tracing::info!(
                    "{:x} [term: {}] received a {} message with higher term from {:x} [term: {}]",
                    self.id,
                    self.term,
                    m.msg_type,
                    m.from,
                    m.term
                );
                let lead = match m.msg_type {
                    MessageType::MsgApp | MessageType::MsgHeartbeat | MessageType::MsgSnap => {
                        m.from
                    }
                    _ => NO_NODE,
                };
                self.become_follower(m.term, lead)?;
            }
        }
        Ok(true)
    }

    /// A message from an older term: answered only where that helps the
    /// sender catch up, otherwise ignored.
    fn step_lower_term(&mut self, m: &Message) -> Result<()> {
        let from_old_leader = matches!(m.msg_type, MessageType::MsgHeartbeat | MessageType::MsgApp);
        if (self.check_quorum || self.pre_vote) && from_old_leader {
            // With CheckQuorum or pre-vote, our higher term may never reach
            // the old leader through votes (they are ignored or never sent),
            // so tell it directly: the response's term makes it step down.
            self.send(Message {
                to: m.from,
                ..Message::new(MessageType::MsgAppResp)
            });
        } else if m.msg_type == MessageType::MsgPreVote {
            // Rejecting (rather than dropping) lets a pre-candidate with a
            // stale term learn ours; otherwise a node that switched to
            // pre-vote while holding a higher term could block elections.
            let last = self.raft_log.last_entry_id()?;
            tracing::info!(
                "{:x} [logterm: {}, index: {}, vote: {:x}] rejected {} from {:x} [logterm: {}, index: {}] at term {}",
                self.id, last.term, last.index, self.vote, m.msg_type, m.from, m.log_term, m.index, self.term
            );
            self.send(Message {
                to: m.from,
                term: self.term,
                reject: true,
                ..Message::new(MessageType::MsgPreVoteResp)
            });
        } else {
            tracing::info!(
                "{:x} [term: {}] ignored a {} message with lower term from {:x} [term: {}]",
                self.id,
                self.term,
                m.msg_type,
                m.from,
                m.term
            );
        }
        Ok(())
    }

    /// Tags a protocol violation found below with the offending sender.
    pub(crate) fn blame(from: u64) -> impl Fn(Error) -> Error {
        move |e| match e {
            Error::InvalidMessage { from: 0, reason } => Error::InvalidMessage { from, reason },
            other => other,
        }
    }
}
