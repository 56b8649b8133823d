//! The disk model: what a crash keeps, loses, and must give back.

use super::*;

fn ent(term: u64, index: u64) -> Entry {
    Entry {
        term,
        index,
        data: bytes::Bytes::from(format!("e{index}")),
        ..Entry::default()
    }
}

fn hs(term: u64, commit: u64) -> HardState {
    HardState {
        term,
        vote: 1,
        commit,
    }
}

fn disk() -> DiskHandle {
    DiskHandle(Rc::new(RefCell::new(Disk::new(Box::new(MemBackend::new(
        [1, 2, 3],
    ))))))
}

#[test]
fn unsynced_commit_is_lost_and_synced_state_survives() {
    let mut d = disk();
    d.write(LogWrite::new(
        vec![ent(1, 1), ent(1, 2)],
        Some(hs(1, 0)),
        true,
    ))
    .unwrap();
    d.write(LogWrite::new(vec![], Some(hs(1, 2)), false))
        .unwrap();
    // The running process sees its own unsynced write.
    assert_eq!(d.initial_state().unwrap().hard_state, hs(1, 2));
    // A seed whose first draw keeps nothing of the pending write.
    let mut rng = (0..)
        .map(Rng::new)
        .find(|r| r.clone().below(2) == 0)
        .unwrap();
    let loss = d.0.borrow_mut().crash(&mut rng).unwrap();
    assert_eq!(
        loss,
        CrashLoss {
            survived: 0,
            lost: 1
        }
    );
    assert_eq!(d.initial_state().unwrap().hard_state, hs(1, 0));
    assert_eq!(d.last_index().unwrap(), 2);
}

#[test]
fn a_sync_flushes_earlier_unsynced_writes() {
    let mut d = disk();
    d.write(LogWrite::new(vec![], Some(hs(1, 0)), false))
        .unwrap();
    d.write(LogWrite::new(vec![ent(1, 1)], None, true)).unwrap();
    assert_eq!(d.0.borrow().pending_writes(), 0);
    d.0.borrow_mut().crash(&mut Rng::new(1)).unwrap();
    assert_eq!(d.initial_state().unwrap().hard_state, hs(1, 0));
}

#[test]
fn unsynced_entries_are_readable_until_a_crash_drops_them() {
    let mut d = disk();
    d.write(LogWrite::new(vec![ent(1, 1), ent(1, 2)], None, true))
        .unwrap();
    d.write(LogWrite::new(vec![ent(2, 2), ent(2, 3)], None, false))
        .unwrap();
    assert_eq!(d.last_index().unwrap(), 3);
    assert_eq!(d.term(2).unwrap(), 2);
    let mut rng = (0..)
        .map(Rng::new)
        .find(|r| r.clone().below(2) == 0)
        .unwrap();
    d.0.borrow_mut().crash(&mut rng).unwrap();
    assert_eq!(d.last_index().unwrap(), 2);
    assert_eq!(d.term(2).unwrap(), 1);
}

fn sync(entries: Vec<Entry>) -> LogWrite {
    LogWrite::new(entries, None, true)
}

#[test]
fn snapshots_and_compaction_survive_a_crash() {
    let mut d = disk();
    d.write(sync((1..=10).map(|i| ent(1, i)).collect()))
        .unwrap();
    d.create_snapshot(6, None, Bytes::from_static(b"s6"))
        .unwrap();
    d.compact(6).unwrap();
    d.write(LogWrite::new(vec![], Some(hs(1, 10)), false))
        .unwrap();
    d.0.borrow_mut().crash(&mut Rng::new(3)).unwrap();
    assert_eq!(d.first_index().unwrap(), 7);
    assert_eq!(d.term(6).unwrap(), 1);
    assert_eq!(d.last_index().unwrap(), 10);
    let snap = d.snapshot().unwrap();
    assert_eq!((snap.index(), &snap.data[..]), (6, &b"s6"[..]));
    assert_eq!(d.0.borrow().durable_snapshot_index(), 6);
}

#[test]
fn an_installed_snapshot_replaces_the_log_across_a_crash() {
    let mut d = disk();
    d.write(sync((1..=5).map(|i| ent(1, i)).collect())).unwrap();
    let mut install = sync(vec![ent(2, 21), ent(2, 22)]);
    install.snapshot = Some(Snapshot::new(
        20,
        2,
        ConfState::with_voters([1, 2, 3]),
        Bytes::from_static(b"s20"),
    ));
    d.write(install).unwrap();
    d.0.borrow_mut().crash(&mut Rng::new(3)).unwrap();
    assert_eq!(d.first_index().unwrap(), 21);
    assert_eq!(d.last_index().unwrap(), 22);
    assert_eq!(d.term(20).unwrap(), 2);
    assert_eq!(d.snapshot().unwrap().index(), 20);
}

#[test]
fn a_log_compacted_past_its_snapshot_is_a_gap_after_the_crash() {
    let mut d = disk();
    d.write(sync((1..=10).map(|i| ent(1, i)).collect()))
        .unwrap();
    d.create_snapshot(4, None, Bytes::from_static(b"s4"))
        .unwrap();
    d.compact(8).unwrap();
    let err = d.0.borrow_mut().crash(&mut Rng::new(3)).unwrap_err();
    assert!(err.to_string().contains("a gap"), "{err}");
}
