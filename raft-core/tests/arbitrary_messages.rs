//! Property test: arbitrary messages, ticks and proposals stepped into a node
//! in each role never panic and never break the basic invariants.

mod common;

use bytes::Bytes;
use common::*;
use proptest::prelude::*;
use raft_core::{Entry, Error, MemStorage, Message, MessageType, RawNode, Role, Status};

#[derive(Clone, Debug)]
enum Input {
    Step(Message),
    Tick,
    Propose(Vec<u8>),
}

/// Node 1 of a 3-node group, in `role`, with a few entries in its log.
fn node_in(role: Role, pre_vote: bool, check_quorum: bool) -> RawNode<MemStorage> {
    let pre_vote = match role {
        Role::PreCandidate => true,
        Role::Candidate => false,
        _ => pre_vote,
    };
    let mut c = Cluster::with_config(3, |id| {
        let mut cfg = config(id);
        cfg.pre_vote = pre_vote;
        cfg.check_quorum = check_quorum;
        cfg
    });
    let leader = if role == Role::Leader { 1 } else { 2 };
    c.elect(leader);
    c.propose(leader, b"a").unwrap();
    c.propose(leader, b"b").unwrap();
    c.stabilize();
    if matches!(role, Role::PreCandidate | Role::Candidate) {
        c.node_mut(1).campaign().unwrap();
        c.take_messages();
    }
    assert_eq!(c.role(1), role);
    c.nodes.remove(&1).unwrap()
}

fn role_strategy() -> impl Strategy<Value = Role> {
    prop_oneof![
        Just(Role::Follower),
        Just(Role::PreCandidate),
        Just(Role::Candidate),
        Just(Role::Leader),
    ]
}

/// Entries either made of arbitrary ids, or well-formed for the message:
/// contiguous after `index`, terms non-decreasing from `log_term` and no
/// higher than `term`.
fn entries_for(raw: Vec<(u64, u64)>, well_formed: bool, m: &Message) -> Vec<Entry> {
    if !well_formed {
        return raw.into_iter().map(|(t, i)| ent(t, i)).collect();
    }
    let mut terms: Vec<u64> = raw.iter().map(|(t, _)| *t).collect();
    terms.sort_unstable();
    terms
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            ent(
                t.max(m.log_term).min(m.term),
                m.index.wrapping_add(1 + i as u64),
            )
        })
        .collect()
}

/// Which envelopes (sender, term) the generated messages may carry.
#[derive(Clone, Copy, Debug)]
enum Envelope {
    /// What a peer can send: from another node (known or not), and with a
    /// term unless it is a proposal.
    Peer,
    /// Anything: also a message from the node itself, a term of 0, and
    /// indexes and terms at the end of the `u64` range.
    Any,
}

/// A number up to `max`, or, for [`Envelope::Any`], sometimes one at the
/// very end of the `u64` range.
fn num(max: u64, envelope: Envelope) -> BoxedStrategy<u64> {
    match envelope {
        Envelope::Peer => (0..=max).boxed(),
        Envelope::Any => prop_oneof![9 => 0..=max, 1 => (u64::MAX - 1)..=u64::MAX].boxed(),
    }
}

fn message_strategy(envelope: Envelope) -> impl Strategy<Value = Message> {
    let fields = (
        0..MessageType::ALL.len(),
        // 0 is nobody, 1 the node itself, 2 and 3 its peers, 4 a stranger.
        0u64..=4,
        num(6, envelope),
        num(8, envelope),
        num(6, envelope),
        num(9, envelope),
        any::<bool>(),
        num(8, envelope),
    );
    let entries = (
        prop::collection::vec((0u64..=6, 0u64..=9), 0..4),
        any::<bool>(),
    );
    (fields, entries).prop_map(
        move |((t, from, term, index, log_term, commit, reject, hint), (raw, well_formed))| {
            let msg_type = MessageType::ALL[t];
            let (from, term) = match envelope {
                Envelope::Any => (from, term),
                Envelope::Peer => {
                    let from = if from == 1 { 2 } else { from };
                    let term = if msg_type != MessageType::MsgProp && term == 0 {
                        1
                    } else {
                        term
                    };
                    (from, term)
                }
            };
            let mut m = {
                let mut m = Message::new(msg_type);
                m.from = from;
                m.to = 1;
                m.term = term;
                m.index = index;
                m.log_term = log_term;
                m.commit = commit;
                m.reject = reject;
                m.reject_hint = hint;
                m
            };
            m.entries = entries_for(raw, well_formed, &m);
            m
        },
    )
}

fn input_strategy(envelope: Envelope) -> impl Strategy<Value = Input> {
    prop_oneof![
        6 => message_strategy(envelope).prop_map(Input::Step),
        1 => Just(Input::Tick),
        1 => prop::collection::vec(any::<u8>(), 0..4).prop_map(Input::Propose),
    ]
}

/// Everything the invariants compare, taken with all Readies handled.
struct Snapshot {
    status: Status,
    log: Vec<Entry>,
}

fn snapshot(node: &RawNode<MemStorage>) -> Snapshot {
    Snapshot {
        status: node.status(),
        log: node.store().all_entries().to_vec(),
    }
}

fn check_invariants(
    before: &Snapshot,
    after: &Snapshot,
    input: &Input,
) -> Result<(), TestCaseError> {
    let (b, a) = (&before.status, &after.status);
    prop_assert!(
        a.hard_state.term >= b.hard_state.term,
        "term went from {} to {} on {:?}",
        b.hard_state.term,
        a.hard_state.term,
        input
    );
    let last = after.log.last().map_or(0, |e| e.index);
    prop_assert!(
        a.hard_state.commit <= last,
        "commit {} beyond last index {} after {:?}",
        a.hard_state.commit,
        last,
        input
    );
    prop_assert!(
        a.hard_state.commit >= b.hard_state.commit,
        "commit went back on {:?}",
        input
    );
    let committed = b.hard_state.commit as usize;
    prop_assert_eq!(
        &before.log[..committed],
        &after.log[..committed],
        "a committed entry changed on {:?}",
        input
    );
    if a.hard_state.term == b.hard_state.term && b.hard_state.vote != 0 {
        prop_assert_eq!(
            a.hard_state.vote,
            b.hard_state.vote,
            "second vote in a term on {:?}",
            input
        );
    }
    if b.soft_state.role == Role::Leader && a.hard_state.term == b.hard_state.term {
        prop_assert!(
            after.log.starts_with(&before.log),
            "a leader's log was truncated in its own term on {:?}",
            input
        );
    }
    if a.soft_state.role == Role::Leader {
        prop_assert_eq!(a.soft_state.leader, 1);
    }
    Ok(())
}

fn apply(node: &mut RawNode<MemStorage>, input: &Input) -> Result<(), TestCaseError> {
    let result = match input {
        Input::Step(m) => node.step(m.clone()),
        Input::Tick => node.tick(),
        Input::Propose(data) => match node.propose(Bytes::copy_from_slice(data)) {
            Err(Error::ProposalDropped) => Ok(()),
            other => other,
        },
    };
    match result {
        Ok(())
        | Err(Error::ProposalDropped)
        | Err(Error::StepLocalMsg)
        | Err(Error::StepPeerNotFound)
        | Err(Error::InvalidMessage { .. }) => {}
        Err(e) => return Err(TestCaseError::fail(format!("{input:?} failed: {e}"))),
    }
    // Any write raft-core asks for must be valid for the storage.
    drain(node);
    Ok(())
}

fn run(
    role: Role,
    pre_vote: bool,
    check_quorum: bool,
    inputs: &[Input],
) -> Result<(), TestCaseError> {
    let mut node = node_in(role, pre_vote, check_quorum);
    let mut before = snapshot(&node);
    for input in inputs {
        apply(&mut node, input)?;
        let after = snapshot(&node);
        check_invariants(&before, &after, input)?;
        before = after;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_peer_messages_never_panic_or_break_invariants(
        role in role_strategy(),
        pre_vote in any::<bool>(),
        check_quorum in any::<bool>(),
        inputs in prop::collection::vec(input_strategy(Envelope::Peer), 1..30),
    ) {
        run(role, pre_vote, check_quorum, &inputs)?;
    }

    #[test]
    fn arbitrary_envelopes_never_panic_or_break_invariants(
        role in role_strategy(),
        pre_vote in any::<bool>(),
        check_quorum in any::<bool>(),
        inputs in prop::collection::vec(input_strategy(Envelope::Any), 1..30),
    ) {
        run(role, pre_vote, check_quorum, &inputs)?;
    }
}
