//! `Config::async_storage_writes`: Readies hand their I/O to the
//! application's append and apply threads as messages, and the threads'
//! responses, stepped back, replace `advance`.

mod common;

use common::config;
use raft_core::{
    Error, HardState, LogStorage, LogWrite, MemStorage, Message, MessageType, RawNode, Role,
    LOCAL_APPEND_THREAD, LOCAL_APPLY_THREAD,
};

fn async_node(id: u64, voters: &[u64]) -> RawNode<MemStorage> {
    let mut cfg = config(id);
    cfg.async_storage_writes = true;
    RawNode::new(&cfg, MemStorage::with_voters(voters.iter().copied())).unwrap()
}

/// Takes one Ready and returns its storage messages (append, apply).
fn storage_messages(node: &mut RawNode<MemStorage>) -> (Option<Message>, Option<Message>) {
    let rd = node.ready().unwrap();
    let mut append = None;
    let mut apply = None;
    for m in rd.messages {
        match m.to {
            LOCAL_APPEND_THREAD => append = Some(m),
            LOCAL_APPLY_THREAD => apply = Some(m),
            _ => {}
        }
    }
    (append, apply)
}

/// Does what an append thread does, and steps the responses back.
fn run_append(node: &mut RawNode<MemStorage>, mut m: Message) {
    assert_eq!(m.msg_type, MessageType::MsgStorageAppend);
    let hs = HardState {
        term: m.term,
        vote: m.vote,
        commit: m.commit,
    };
    let mut write = LogWrite::new(
        std::mem::take(&mut m.entries),
        (!hs.is_empty()).then_some(hs),
        true,
    );
    write.snapshot = m.snapshot.take().map(|s| *s);
    node.store_mut().write(write).unwrap();
    for r in m.responses {
        node.step(r).unwrap();
    }
}

#[test]
fn a_single_voter_commits_only_through_its_threads() {
    let mut n = async_node(1, &[1]);
    n.campaign().unwrap();
    // The vote for ourselves waits behind the append thread: not leader yet.
    let (append, apply) = storage_messages(&mut n);
    assert!(apply.is_none());
    let append = append.expect("the new term and vote must be written");
    assert_eq!((append.term, append.vote), (1, 1));
    assert_eq!(n.soft_state().role, Role::Candidate);
    run_append(&mut n, append);
    assert_eq!(n.soft_state().role, Role::Leader);

    // The leader's empty entry commits once the append thread made it
    // durable, and only then is it handed to the apply thread.
    let (append, apply) = storage_messages(&mut n);
    assert!(apply.is_none(), "nothing is committed before it is durable");
    let append = append.unwrap();
    assert_eq!(append.entries.len(), 1);
    run_append(&mut n, append);
    assert_eq!(n.hard_state().commit, 1);
    let (append, apply) = storage_messages(&mut n);
    assert!(append.is_some(), "the new commit index is written too");
    let apply = apply.expect("the committed entry goes to the apply thread");
    assert_eq!(apply.entries.last().map(|e| e.index), Some(1));
    assert_eq!(n.applied(), 0, "applied only when the apply thread says so");
    let [resp] = apply.responses.as_slice() else {
        panic!("one response expected: {:?}", apply.responses);
    };
    assert_eq!(resp.msg_type, MessageType::MsgStorageApplyResp);
    assert_eq!(resp.from, LOCAL_APPLY_THREAD);
    n.step(resp.clone()).unwrap();
    assert_eq!(n.applied(), 1);
}

#[test]
fn advance_is_refused_in_async_mode() {
    let mut n = async_node(1, &[1]);
    n.campaign().unwrap();
    let _ = n.ready().unwrap();
    assert!(matches!(
        n.advance(),
        Err(Error::AdvanceWithAsyncStorageWrites)
    ));
}

#[test]
fn storage_responses_are_only_taken_from_the_storage_threads_of_an_async_node() {
    let resp = |from: u64| {
        let mut m = Message::new(MessageType::MsgStorageAppendResp);
        (m.from, m.to, m.term, m.index, m.log_term) = (from, 1, 1, 5, 1);
        m
    };
    // A synchronous node never asked for one: refused as a local message.
    let mut sync = RawNode::new(&config(1), MemStorage::with_voters([1, 2])).unwrap();
    assert!(matches!(
        sync.step(resp(LOCAL_APPEND_THREAD)),
        Err(Error::StepLocalMsg)
    ));
    // An async node refuses one that claims to come from a peer.
    let mut n = async_node(1, &[1, 2]);
    assert!(matches!(n.step(resp(2)), Err(Error::StepLocalMsg)));
    // And a storage-thread message that is not a response.
    let mut bogus = Message::new(MessageType::MsgStorageAppend);
    (bogus.from, bogus.to) = (LOCAL_APPEND_THREAD, 1);
    assert!(matches!(n.step(bogus), Err(Error::StepLocalMsg)));
    assert_eq!(n.store().last_index().unwrap(), 0);
}

#[test]
fn a_response_to_an_earlier_term_does_not_vouch_for_entries() {
    // Node 2 appends entries from a leader at term 1 (asynchronously), then
    // moves to term 2 before the append thread answers: the answer must not
    // mark the term-2 log as stable, so the next append message still
    // attests the last entry.
    let mut n = async_node(2, &[1, 2, 3]);
    let mut app = common::msg(MessageType::MsgApp, 1, 2, 1);
    app.entries = vec![common::ent(1, 1), common::ent(1, 2)];
    n.step(app).unwrap();
    let (append, _) = storage_messages(&mut n);
    let append = append.unwrap();
    let stale = append
        .responses
        .iter()
        .find(|m| m.msg_type == MessageType::MsgStorageAppendResp)
        .cloned()
        .unwrap();
    assert_eq!((stale.term, stale.index), (1, 2));
    // A vote request at term 2 moves the node on.
    let mut vote = common::msg(MessageType::MsgVote, 3, 2, 2);
    (vote.index, vote.log_term) = (2, 1);
    n.step(vote).unwrap();
    n.step(stale).unwrap();
    let (append, _) = storage_messages(&mut n);
    let resp = append
        .unwrap()
        .responses
        .into_iter()
        .find(|m| m.msg_type == MessageType::MsgStorageAppendResp)
        .expect("the entries are still unstable, so a new response attests them");
    assert_eq!((resp.term, resp.index, resp.log_term), (2, 2, 1));
}
