//! SIGKILL a writer at random moments; every synced write must survive.
//!
//! The parent runs this same test binary as a child writer (the environment
//! variable [`WRITER_DIR`] says so). Before each write the child prints what
//! it is about to write (`intent ...`), and after the synced write returns
//! it prints `synced`. The parent kills it at a random moment, reopens the
//! directory, and requires the recovered log and hard state to be exactly
//! the state after the last reported write, or that state plus the write
//! that was in flight (a whole batch, never part of one). The next child
//! continues on the recovered log, so the rounds chain: reopen after a crash
//! right after a reopen, crashes during RocksDB's own recovery flushes and
//! compactions, conflicting-suffix truncations, all happen along the way.

use crate::common::{child_command, payload, Rng};
use raft_core::{ConfState, EntryId, HardState, LogStorage, LogWrite};
use raft_storage_rocks::RocksStorage;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const WRITER_DIR: &str = "RAFT_ROCKS_CRASH_WRITER_DIR";
const WRITER_SEED: &str = "RAFT_ROCKS_CRASH_WRITER_SEED";
const TEST_NAME: &str = "crash::sigkill_at_random_moments_loses_no_synced_write";
const ROUNDS: usize = 60;
const BASE: EntryId = EntryId { term: 1, index: 5 };

/// What a log holds, as far as this test checks it: each entry's term
/// (its payload follows from index and term) and the hard state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct State {
    terms: BTreeMap<u64, u64>,
    hard_state: HardState,
}

/// One write, as announced by the child.
#[derive(Clone, Copy, Debug)]
struct Intent {
    from: u64,
    to: u64,
    term: u64,
    commit: u64,
}

impl State {
    fn apply(&self, w: Intent) -> State {
        let mut terms = self.terms.clone();
        terms.split_off(&w.from);
        terms.extend((w.from..=w.to).map(|i| (i, w.term)));
        State {
            terms,
            hard_state: HardState {
                term: w.term,
                vote: 1,
                commit: w.commit,
            },
        }
    }

    fn last(&self) -> u64 {
        self.terms.keys().next_back().copied().unwrap_or(BASE.index)
    }
}

/// Reads the log back, checking structure (no gap, base, membership) and
/// every payload on the way.
fn recover(path: &Path) -> State {
    let log = RocksStorage::open(path).unwrap_or_else(|e| panic!("reopen after SIGKILL: {e}"));
    assert_eq!(log.first_index().unwrap(), BASE.index + 1);
    assert_eq!(log.term(BASE.index).unwrap(), BASE.term);
    assert_eq!(log.conf_state(), &ConfState::with_voters([1, 2, 3]));
    let last = log.last_index().unwrap();
    let entries = log
        .entries(BASE.index + 1, last + 1, u64::MAX)
        .unwrap_or_else(|e| panic!("read back: {e}"));
    let mut terms = BTreeMap::new();
    for (expected, e) in (BASE.index + 1..).zip(&entries) {
        assert_eq!(e.index, expected, "gap in the recovered log");
        assert_eq!(
            e.data,
            payload(e.index, e.term),
            "payload of entry {}",
            e.index
        );
        terms.insert(e.index, e.term);
    }
    assert_eq!(entries.len() as u64, last - BASE.index);
    State {
        terms,
        hard_state: log.hard_state(),
    }
}

#[test]
fn sigkill_at_random_moments_loses_no_synced_write() {
    if let Ok(dir) = std::env::var(WRITER_DIR) {
        let seed = std::env::var(WRITER_SEED)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1);
        writer(Path::new(&dir), seed);
        return;
    }
    let seed: u64 = std::env::var("RAFT_ROCKS_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1234);
    eprintln!("crash test seed {seed} (set RAFT_ROCKS_CRASH_SEED to replay the schedule)");
    let mut rng = Rng::new(seed);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    drop(RocksStorage::create(&path, ConfState::with_voters([1, 2, 3]), BASE).unwrap());

    let mut state = State::default();
    let (mut kills, mut in_flight_kept, mut in_flight_lost, mut synced_total) = (0, 0, 0, 0);
    let started = Instant::now();
    for round in 0..ROUNDS {
        let env = [
            (WRITER_DIR, path.display().to_string()),
            (WRITER_SEED, rng.next().to_string()),
        ];
        let mut child = child_command(TEST_NAME, &env).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Mostly kill after a few synced writes; now and then during start.
        let wait_for = if rng.range(0, 9) == 0 {
            0
        } else {
            rng.range(1, 12)
        };
        let mut pending: Option<Intent> = None;
        let mut observe = |line: String, state: &mut State| {
            if line == "synced" {
                let w = pending.take().expect("synced without intent");
                *state = state.apply(w);
                synced_total += 1;
                true
            } else {
                if let Some(w) = parse_intent(&line) {
                    assert!(pending.is_none(), "two intents without synced");
                    pending = Some(w);
                }
                false
            }
        };
        let mut seen = 0;
        let deadline = Instant::now() + Duration::from_secs(20);
        while seen < wait_for {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => seen += u64::from(observe(line, &mut state)),
                Err(e) => panic!("round {round}: writer stopped reporting: {e}"),
            }
        }
        std::thread::sleep(Duration::from_micros(rng.range(0, 3000)));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        // The child only stops by itself after a minute, so the kill must
        // have been what ended it.
        assert_eq!(
            status.signal(),
            Some(libc::SIGKILL),
            "round {round}: {status}"
        );
        kills += 1;
        reader.join().unwrap();
        // The rest of what the child printed before it died, in order.
        for line in rx.try_iter() {
            observe(line, &mut state);
        }
        let recovered = recover(&path);
        let before = state.hard_state;
        if recovered == state {
            if pending.is_some() {
                in_flight_lost += 1;
            }
        } else {
            let w = pending.unwrap_or_else(|| {
                panic!("round {round}: recovered {recovered:?}\nbut the last synced state is {state:?}")
            });
            assert_eq!(
                recovered,
                state.apply(w),
                "round {round}: neither before nor after {w:?}"
            );
            in_flight_kept += 1;
        }
        assert!(
            recovered.hard_state.term >= before.term
                && recovered.hard_state.commit >= before.commit
        );
        state = recovered;
    }
    eprintln!(
        "{kills} kills in {:.1?}: {synced_total} synced writes checked, last index {}, \
         in-flight write at the kill kept {in_flight_kept} times, dropped {in_flight_lost} times",
        started.elapsed(),
        state.last(),
    );
    assert!(kills >= 50);
    assert!(
        synced_total >= ROUNDS,
        "too few writes were exercised: {synced_total}"
    );
}

fn parse_intent(line: &str) -> Option<Intent> {
    let mut fields = line
        .strip_prefix("intent ")?
        .split(' ')
        .map(|f| f.split_once('=').map(|(_, v)| v.parse::<u64>()));
    let mut next = || fields.next().flatten().and_then(Result::ok);
    Some(Intent {
        from: next()?,
        to: next()?,
        term: next()?,
        commit: next()?,
    })
}

/// The child: continue the log found in `dir` with synced writes, now and
/// then replacing an uncommitted suffix with a higher term, as a new leader
/// would make a follower do. Runs until killed (or, as a safety net, until
/// its parent stops reading or a minute passes).
fn writer(dir: &Path, seed: u64) {
    let mut rng = Rng::new(seed);
    let mut log = RocksStorage::open(dir).expect("writer: open");
    let mut out = std::io::stdout().lock();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        let hs = log.hard_state();
        let (first, last) = (log.first_index().unwrap(), log.last_index().unwrap());
        let conflict_from = (hs.commit + 1).max(first);
        let (from, term) = if last >= conflict_from && rng.range(0, 7) == 0 {
            (rng.range(conflict_from, last), hs.term + 1)
        } else {
            (last + 1, hs.term.max(1))
        };
        let to = from + rng.range(0, 15);
        let commit = rng.range(hs.commit, to);
        if writeln!(
            out,
            "intent from={from} to={to} term={term} commit={commit}"
        )
        .and_then(|()| out.flush())
        .is_err()
        {
            return;
        }
        let entries = (from..=to).map(|i| crate::common::entry(i, term)).collect();
        let hard_state = Some(HardState {
            term,
            vote: 1,
            commit,
        });
        log.write(LogWrite {
            entries,
            hard_state,
            snapshot: None,
            sync: true,
        })
        .expect("writer: write");
        if writeln!(out, "synced").and_then(|()| out.flush()).is_err() {
            return;
        }
    }
}
