use super::*;
use crate::config::Config;
use crate::message::MessageType;
use crate::storage::{MemStorage, StorageError};
use crate::types::Role;

/// One hook call, as the recorder saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Call {
    Observe,
    Send(Vec<MessageType>),
    Persist,
    Apply(usize),
}

/// Records the hooks in the order they run, and fails the test if a
/// response vouching for durable state leaves before the write it vouches
/// for returned.
#[derive(Default)]
struct Recorder {
    calls: Vec<Call>,
    sent: Vec<Message>,
    fail_persist: bool,
    /// The Ready being handled has a write that `persist` has not finished.
    write_outstanding: bool,
}

impl ReadyHandler<MemStorage> for Recorder {
    type Error = Error;

    fn observe(&mut self, ready: &Ready) -> Result<(), Error> {
        self.calls.push(Call::Observe);
        self.write_outstanding = !ready.log_write().is_empty();
        Ok(())
    }

    fn send(&mut self, messages: Vec<Message>) {
        for m in &messages {
            assert!(
                !(m.msg_type.waits_for_durability() && self.write_outstanding),
                "{} left before the write it vouches for",
                m.msg_type
            );
        }
        self.calls
            .push(Call::Send(messages.iter().map(|m| m.msg_type).collect()));
        self.sent.extend(messages);
    }

    fn persist(&mut self, store: &mut MemStorage, write: LogWrite) -> Result<(), Error> {
        self.calls.push(Call::Persist);
        if self.fail_persist {
            return Err(StorageError::Corrupted("the disk is gone".into()).into());
        }
        store.write(write)?;
        self.write_outstanding = false;
        Ok(())
    }

    fn apply(&mut self, committed: &[Entry]) -> Result<(), Error> {
        self.calls.push(Call::Apply(committed.len()));
        Ok(())
    }
}

fn node(id: u64, voters: &[u64]) -> RawNode<MemStorage> {
    let config = Config {
        random_seed: Some(id),
        pre_vote: false,
        ..Config::new(id)
    };
    RawNode::new(&config, MemStorage::with_voters(voters.iter().copied())).unwrap()
}

/// Node 1 of three, elected with node 2's vote and replicating to it; node 3
/// hears nothing.
fn elected_leader() -> (RawNode<MemStorage>, RawNode<MemStorage>) {
    let (mut n1, mut n2) = (node(1, &[1, 2, 3]), node(2, &[1, 2, 3]));
    let mut h = Recorder::default();
    n1.campaign().unwrap();
    loop {
        n1.handle_readies(&mut h).unwrap();
        n2.handle_readies(&mut h).unwrap();
        let sent: Vec<Message> = h.sent.drain(..).filter(|m| m.to != 3).collect();
        if sent.is_empty() {
            break;
        }
        for m in sent {
            let to = if m.to == 1 { &mut n1 } else { &mut n2 };
            to.step(m).unwrap();
        }
    }
    assert_eq!(n1.soft_state().role, Role::Leader);
    (n1, n2)
}

#[test]
fn a_candidate_asks_for_votes_before_its_own_vote_is_written() {
    let mut n1 = node(1, &[1, 2, 3]);
    n1.campaign().unwrap();
    let mut h = Recorder::default();
    n1.handle_ready(&mut h).unwrap();
    assert_eq!(
        h.calls,
        [
            Call::Observe,
            Call::Send(vec![MessageType::MsgVote, MessageType::MsgVote]),
            Call::Persist,
            Call::Apply(0),
        ]
    );
    assert_eq!(n1.store().hard_state().vote, 1);
}

#[test]
fn a_follower_acknowledges_an_append_only_after_writing_it() {
    let (mut n1, mut n2) = elected_leader();
    n1.propose(&b"x"[..]).unwrap();
    let mut h = Recorder::default();
    n1.handle_ready(&mut h).unwrap();
    // The leader replicates while it writes its own copy.
    assert_eq!(
        h.calls[..3],
        [
            Call::Observe,
            Call::Send(vec![MessageType::MsgApp]),
            Call::Persist,
        ]
    );
    let to_two: Vec<Message> = h.sent.drain(..).filter(|m| m.to == 2).collect();
    h.calls.clear();
    for m in to_two {
        n2.step(m).unwrap();
    }
    let last = n2.store().last_index().unwrap();
    n2.handle_ready(&mut h).unwrap();
    assert_eq!(
        h.calls,
        [
            Call::Observe,
            Call::Persist,
            Call::Send(vec![MessageType::MsgAppResp]),
            Call::Apply(0),
        ]
    );
    assert_eq!(n2.store().last_index().unwrap(), last + 1);
}

#[test]
fn a_failed_write_sends_no_response_and_does_not_advance() {
    let (mut n1, mut n2) = elected_leader();
    n1.propose(&b"x"[..]).unwrap();
    let mut h = Recorder::default();
    n1.handle_ready(&mut h).unwrap();
    for m in h.sent.drain(..).filter(|m| m.to == 2) {
        n2.step(m).unwrap();
    }
    h.calls.clear();
    h.fail_persist = true;
    let err = n2.handle_ready(&mut h).unwrap_err();
    assert!(matches!(err, Error::Storage(StorageError::Corrupted(_))));
    assert_eq!(h.calls, [Call::Observe, Call::Persist]);
    assert!(h.sent.is_empty(), "the append must not be acknowledged");
}

#[test]
fn a_failed_write_leaves_the_node_unadvanced() {
    // A lone node counts its own vote on advance: if the vote's write
    // fails, it must stay a candidate.
    let mut failing = node(1, &[1]);
    failing.campaign().unwrap();
    let mut h = Recorder {
        fail_persist: true,
        ..Recorder::default()
    };
    assert!(failing.handle_readies(&mut h).is_err());
    assert_eq!(failing.soft_state().role, Role::Candidate);
    assert!(!h.calls.iter().any(|c| matches!(c, Call::Apply(_))));

    let mut healthy = node(1, &[1]);
    healthy.campaign().unwrap();
    let mut h = Recorder::default();
    let handled = healthy.handle_readies(&mut h).unwrap();
    assert_eq!(healthy.soft_state().role, Role::Leader);
    assert!(
        handled >= 2,
        "the vote's Ready, then the leader's: {handled}"
    );
    assert!(!healthy.has_ready());
}

#[test]
fn a_lone_leader_applies_its_proposal_within_the_loop() {
    let mut h = Recorder::default();
    let mut lone = node(1, &[1]);
    lone.campaign().unwrap();
    lone.handle_readies(&mut h).unwrap();
    lone.propose(&b"x"[..]).unwrap();
    h.calls.clear();
    lone.handle_readies(&mut h).unwrap();
    let applied: usize = h
        .calls
        .iter()
        .map(|c| match c {
            Call::Apply(n) => *n,
            _ => 0,
        })
        .sum();
    assert_eq!(applied, 1);
    assert_eq!(lone.applied(), lone.store().last_index().unwrap());
}

#[test]
fn the_default_persist_writes_to_the_store() {
    struct Plain(Vec<Message>);
    impl ReadyHandler<MemStorage> for Plain {
        type Error = Error;
        fn send(&mut self, messages: Vec<Message>) {
            self.0.extend(messages);
        }
        fn apply(&mut self, _: &[Entry]) -> Result<(), Error> {
            Ok(())
        }
    }
    let mut n = node(1, &[1]);
    n.campaign().unwrap();
    n.handle_readies(&mut Plain(Vec::new())).unwrap();
    assert_eq!(n.store().hard_state().term, 1);
    assert_eq!(
        n.store().last_index().unwrap(),
        1,
        "the leader's empty entry"
    );
}

#[test]
fn an_unsorted_batch_still_holds_back_every_durable_response() {
    let m = |t| Message::new(t);
    let batch = vec![
        m(MessageType::MsgApp),
        m(MessageType::MsgAppResp),
        m(MessageType::MsgHeartbeat),
        m(MessageType::MsgVoteResp),
    ];
    let (early, late) = split_by_durability(batch);
    let types = |v: &[Message]| v.iter().map(|m| m.msg_type).collect::<Vec<_>>();
    assert_eq!(
        types(&early),
        [MessageType::MsgApp, MessageType::MsgHeartbeat]
    );
    assert_eq!(
        types(&late),
        [MessageType::MsgAppResp, MessageType::MsgVoteResp]
    );

    let (early, late) = split_by_durability(vec![m(MessageType::MsgAppResp)]);
    assert!(early.is_empty());
    assert_eq!(types(&late), [MessageType::MsgAppResp]);
    let (early, late) = split_by_durability(vec![m(MessageType::MsgHeartbeat)]);
    assert_eq!(types(&early), [MessageType::MsgHeartbeat]);
    assert!(late.is_empty());
}
