//! Elections: starting a (pre-)campaign, answering vote requests, counting
//! the answers.

use super::Raft;
use crate::error::{Error, Result};
use crate::message::{Message, MessageType};
use crate::quorum::VoteResult;
use crate::storage::LogStorage;
use crate::types::{EntryId, NodeId, Role, NO_NODE};

/// Which phase of an election to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CampaignType {
    /// Ask for pre-votes first, without changing the term.
    PreElection,
    /// Increment the term and ask for votes.
    Election,
    /// Like `Election`, for a leadership transfer: the vote requests say so,
    /// and voters grant them despite their lease.
    Transfer,
}

impl<S: LogStorage> Raft<S> {
    /// Starts an election unless we lead already or may not lead at all.
    pub(crate) fn hup(&mut self, t: CampaignType) -> Result<()> {
        if self.role == Role::Leader {
            tracing::debug!("{:x} ignoring MsgHup because already leader", self.id);
            return Ok(());
        }
        if !self.promotable() {
            tracing::warn!("{:x} is unpromotable and can not campaign", self.id);
            return Ok(());
        }
        if self.has_unapplied_conf_changes()? {
            tracing::warn!(
                "{:x} cannot campaign at term {} since there are still pending configuration changes to apply",
                self.id,
                self.term
            );
            return Ok(());
        }
        tracing::info!(
            "{:x} is starting a new election at term {}",
            self.id,
            self.term
        );
        self.campaign(t)
    }

    /// Becomes (pre-)candidate and asks every voter, in id order, for its
    /// vote. Our own vote is a response to ourselves that counts only once
    /// the Ready that records it is durable.
    pub(crate) fn campaign(&mut self, t: CampaignType) -> Result<()> {
        let (vote_msg, term) = match t {
            CampaignType::PreElection => {
                self.become_pre_candidate();
                // Pre-votes are requested for the term we would campaign in.
                (MessageType::MsgPreVote, self.term + 1)
            }
            CampaignType::Election | CampaignType::Transfer => {
                self.become_candidate()?;
                (MessageType::MsgVote, self.term)
            }
        };
        let context = match t {
            CampaignType::Transfer => bytes::Bytes::from_static(super::transfer::CAMPAIGN_TRANSFER),
            _ => bytes::Bytes::new(),
        };
        // Both halves of a joint configuration vote; learners are never
        // asked.
        let voters: Vec<NodeId> = self.trk.voters().ids().collect();
        for id in voters {
            if id == self.id {
                self.send(Message {
                    to: id,
                    term,
                    ..Message::new(vote_msg.vote_response())
                });
                continue;
            }
            let last = self.raft_log.last_entry_id()?;
            tracing::info!(
                "{:x} [logterm: {}, index: {}] sent {} request to {:x} at term {}",
                self.id,
                last.term,
                last.index,
                vote_msg,
                id,
                self.term
            );
            self.send(Message {
                to: id,
                term,
                index: last.index,
                log_term: last.term,
                context: context.clone(),
                ..Message::new(vote_msg)
            });
        }
        Ok(())
    }

    /// Answers a vote or pre-vote request (after the term rules let it
    /// through).
    pub(crate) fn handle_vote_request(&mut self, m: &Message) -> Result<()> {
        // One vote per term: repeat the vote we cast, or vote if we have not
        // voted and know no leader; a pre-vote for a future term promises
        // nothing and may always be granted.
        let can_vote = self.vote == m.from
            || (self.vote == NO_NODE && self.lead == NO_NODE)
            || (m.msg_type == MessageType::MsgPreVote && m.term > self.term);
        let ours = self.raft_log.last_entry_id()?;
        let theirs = EntryId {
            term: m.log_term,
            index: m.index,
        };
        let response = m.msg_type.vote_response();
        let up_to_date = self.raft_log.is_up_to_date(theirs)?;
        #[cfg(feature = "fault-injection")]
        let up_to_date = up_to_date || self.fault == Some(crate::config::Fault::SkipUpToDateCheck);
        if can_vote && up_to_date {
            tracing::info!(
                "{:x} [logterm: {}, index: {}, vote: {:x}] cast {} for {:x} [logterm: {}, index: {}] at term {}",
                self.id, ours.term, ours.index, self.vote, m.msg_type, m.from, theirs.term, theirs.index, self.term
            );
            // The response carries the request's term, not ours: for a
            // pre-vote ours may be older, and the candidate would drop a
            // response from an older term.
            self.send(Message {
                to: m.from,
                term: m.term,
                ..Message::new(response)
            });
            if m.msg_type == MessageType::MsgVote {
                self.election_elapsed = 0;
                self.vote = m.from;
            }
        } else {
            tracing::info!(
                "{:x} [logterm: {}, index: {}, vote: {:x}] rejected {} from {:x} [logterm: {}, index: {}] at term {}",
                self.id, ours.term, ours.index, self.vote, m.msg_type, m.from, theirs.term, theirs.index, self.term
            );
            self.send(Message {
                to: m.from,
                term: self.term,
                reject: true,
                ..Message::new(response)
            });
        }
        Ok(())
    }

    /// Candidate and pre-candidate message handling.
    pub(crate) fn step_candidate(&mut self, m: Message) -> Result<()> {
        // A candidate may still receive pre-vote answers from its
        // pre-candidacy in this term: only count answers to the current phase.
        let my_response = if self.role == Role::PreCandidate {
            MessageType::MsgPreVoteResp
        } else {
            MessageType::MsgVoteResp
        };
        match m.msg_type {
            MessageType::MsgProp => {
                tracing::info!(
                    "{:x} no leader at term {}; dropping proposal",
                    self.id,
                    self.term
                );
                Err(Error::ProposalDropped)
            }
            // Someone won this term (a message at our term that only a leader
            // sends): follow it.
            MessageType::MsgApp => {
                self.become_follower(m.term, m.from)?;
                self.handle_append_entries(m)
            }
            MessageType::MsgHeartbeat => {
                self.become_follower(m.term, m.from)?;
                self.handle_heartbeat(&m)
            }
            MessageType::MsgTimeoutNow => {
                tracing::debug!(
                    "{:x} [term {} state {}] ignored MsgTimeoutNow from {:x}",
                    self.id,
                    self.term,
                    self.role,
                    m.from
                );
                Ok(())
            }
            MessageType::MsgSnap => {
                self.become_follower(m.term, m.from)?;
                self.handle_snapshot(m)
            }
            t if t == my_response => {
                let (granted, rejected, result) = self.poll(m.from, t, !m.reject);
                tracing::info!(
                    "{:x} has received {} {} votes and {} vote rejections",
                    self.id,
                    granted,
                    t,
                    rejected
                );
                match result {
                    VoteResult::Won => {
                        if self.role == Role::PreCandidate {
                            self.campaign(CampaignType::Election)
                        } else {
                            self.become_leader()?;
                            self.bcast_append()
                        }
                    }
                    // A lost pre-vote carries a future term; stay in ours.
                    VoteResult::Lost => self.become_follower(self.term, NO_NODE),
                    VoteResult::Pending => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    fn poll(&mut self, from: NodeId, t: MessageType, granted: bool) -> (usize, usize, VoteResult) {
        if granted {
            tracing::info!(
                "{:x} received {} from {:x} at term {}",
                self.id,
                t,
                from,
                self.term
            );
        } else {
            tracing::info!(
                "{:x} received {} rejection from {:x} at term {}",
                self.id,
                t,
                from,
                self.term
            );
        }
        self.trk.record_vote(from, granted);
        self.trk.tally_votes()
    }
}
