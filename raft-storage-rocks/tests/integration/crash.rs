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
//! compactions, conflicting-suffix truncations, log compactions and
//! snapshot installs all happen along the way. After every kill the log
//! must start right after its durable base, never behind its snapshot, and
//! have no gap.

use crate::common::{child_command, payload, Rng};
use raft_core::{ConfState, EntryId, HardState, LogStorage, LogWrite, Snapshot};
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
#[derive(Clone, Debug, PartialEq, Eq)]
struct State {
    /// The entry the log starts after (compaction point or snapshot).
    base: EntryId,
    terms: BTreeMap<u64, u64>,
    hard_state: HardState,
}

impl Default for State {
    fn default() -> State {
        State {
            base: BASE,
            terms: BTreeMap::new(),
            hard_state: HardState::default(),
        }
    }
}

/// One write, as announced by the child.
#[derive(Clone, Copy, Debug)]
enum Intent {
    /// Entries `from..=to` at `term`, with the hard state at `term`, `commit`.
    Append {
        from: u64,
        to: u64,
        term: u64,
        commit: u64,
    },
    /// Compaction through `at`.
    Compact { at: u64 },
    /// A snapshot at `index`/`term` installed in place of the log, with the
    /// hard state committing it.
    Install { index: u64, term: u64 },
}

impl State {
    fn apply(&self, w: Intent) -> State {
        let mut next = self.clone();
        match w {
            Intent::Append {
                from,
                to,
                term,
                commit,
            } => {
                next.terms.split_off(&from);
                next.terms.extend((from..=to).map(|i| (i, term)));
                next.hard_state = HardState {
                    term,
                    vote: 1,
                    commit,
                };
            }
            Intent::Compact { at } => {
                let term = next.terms[&at];
                next.terms = next.terms.split_off(&(at + 1));
                next.base = EntryId { term, index: at };
            }
            Intent::Install { index, term } => {
                next.terms.clear();
                next.base = EntryId { term, index };
                next.hard_state = HardState {
                    term,
                    vote: 1,
                    commit: index,
                };
            }
        }
        next
    }

    fn last(&self) -> u64 {
        self.terms
            .keys()
            .next_back()
            .copied()
            .unwrap_or(self.base.index)
    }
}

/// Reads the log back, checking structure (no gap, base, membership) and
/// every payload on the way.
fn recover(path: &Path) -> State {
    let log = RocksStorage::open(path).unwrap_or_else(|e| panic!("reopen after SIGKILL: {e}"));
    let base = log.base();
    assert_eq!(log.first_index().unwrap(), base.index + 1);
    assert_eq!(log.term(base.index).unwrap(), base.term);
    let snapshot = log.snapshot().unwrap();
    assert!(
        snapshot.index() <= base.index,
        "the log starts at {} behind its snapshot at {}",
        base.index + 1,
        snapshot.index()
    );
    assert_eq!(log.conf_state(), &ConfState::with_voters([1, 2, 3]));
    let last = log.last_index().unwrap();
    let entries = log
        .entries(base.index + 1, last + 1, u64::MAX)
        .unwrap_or_else(|e| panic!("read back: {e}"));
    let mut terms = BTreeMap::new();
    for (expected, e) in (base.index + 1..).zip(&entries) {
        assert_eq!(e.index, expected, "gap in the recovered log");
        assert_eq!(
            e.data,
            payload(e.index, e.term),
            "payload of entry {}",
            e.index
        );
        terms.insert(e.index, e.term);
    }
    assert_eq!(entries.len() as u64, last - base.index);
    State {
        base,
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
    let (mut compactions, mut installs) = (0, 0);
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
                match w {
                    Intent::Compact { .. } => compactions += 1,
                    Intent::Install { .. } => installs += 1,
                    Intent::Append { .. } => {}
                }
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
        "{kills} kills in {:.1?}: {synced_total} synced writes checked ({compactions} compactions, \
         {installs} snapshot installs), last index {}, in-flight write at the kill kept \
         {in_flight_kept} times, dropped {in_flight_lost} times",
        started.elapsed(),
        state.last(),
    );
    assert!(kills >= 50);
    assert!(
        compactions > 0 && installs > 0,
        "{compactions} compactions, {installs} installs"
    );
    assert!(
        synced_total >= ROUNDS,
        "too few writes were exercised: {synced_total}"
    );
}

fn parse_intent(line: &str) -> Option<Intent> {
    let mut words = line.strip_prefix("intent ")?.split(' ');
    let kind = words.next()?;
    let mut values = words.map(|f| f.split_once('=').map(|(_, v)| v.parse::<u64>()));
    let mut next = || values.next().flatten().and_then(Result::ok);
    Some(match kind {
        "append" => Intent::Append {
            from: next()?,
            to: next()?,
            term: next()?,
            commit: next()?,
        },
        "compact" => Intent::Compact { at: next()? },
        "install" => Intent::Install {
            index: next()?,
            term: next()?,
        },
        _ => return None,
    })
}

/// The child: continue the log found in `dir` with synced writes, now and
/// then replacing an uncommitted suffix with a higher term, as a new leader
/// would make a follower do, compacting the committed prefix, or installing
/// a snapshot from a leader far ahead. Runs until killed (or, as a safety
/// net, until its parent stops reading or a minute passes).
fn writer(dir: &Path, seed: u64) {
    let mut rng = Rng::new(seed);
    let mut log = RocksStorage::open(dir).expect("writer: open");
    let mut out = std::io::stdout().lock();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        let hs = log.hard_state();
        let (first, last) = (log.first_index().unwrap(), log.last_index().unwrap());
        let intent = match rng.range(0, 19) {
            0 if hs.commit >= first => Intent::Compact {
                at: rng.range(first, hs.commit),
            },
            1 => Intent::Install {
                index: last + rng.range(1, 30),
                term: hs.term.max(1) + rng.range(0, 1),
            },
            _ => {
                let conflict_from = (hs.commit + 1).max(first);
                let (from, term) = if last >= conflict_from && rng.range(0, 7) == 0 {
                    (rng.range(conflict_from, last), hs.term + 1)
                } else {
                    (last + 1, hs.term.max(1))
                };
                let to = from + rng.range(0, 15);
                let commit = rng.range(hs.commit, to);
                Intent::Append {
                    from,
                    to,
                    term,
                    commit,
                }
            }
        };
        let announced = match intent {
            Intent::Append {
                from,
                to,
                term,
                commit,
            } => format!("intent append from={from} to={to} term={term} commit={commit}"),
            Intent::Compact { at } => format!("intent compact at={at}"),
            Intent::Install { index, term } => format!("intent install index={index} term={term}"),
        };
        if writeln!(out, "{announced}")
            .and_then(|()| out.flush())
            .is_err()
        {
            return;
        }
        match intent {
            Intent::Append {
                from,
                to,
                term,
                commit,
            } => {
                let entries = (from..=to).map(|i| crate::common::entry(i, term)).collect();
                let hard_state = Some(HardState {
                    term,
                    vote: 1,
                    commit,
                });
                log.write(LogWrite::new(entries, hard_state, true))
                    .expect("writer: write");
            }
            Intent::Compact { at } => log.compact(at).expect("writer: compact"),
            Intent::Install { index, term } => {
                let mut w = LogWrite::new(
                    Vec::new(),
                    Some(HardState {
                        term,
                        vote: 1,
                        commit: index,
                    }),
                    true,
                );
                let voters = ConfState::with_voters([1, 2, 3]);
                w.snapshot = Some(Snapshot::new(index, term, voters, payload(index, term)));
                log.write(w).expect("writer: install");
            }
        }
        if writeln!(out, "synced").and_then(|()| out.flush()).is_err() {
            return;
        }
    }
}
