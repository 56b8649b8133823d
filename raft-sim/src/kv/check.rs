//! Checking a run's key-value history with raft-lincheck, and, when it is
//! not linearizable, finding the first answer that made it so.
//!
//! A history cut at some point (operations called later left out, answers
//! given later not yet known) that is not linearizable stays so as it
//! grows, so a binary search over the answers finds the earliest cut that
//! fails. The report and the violation's time are that answer's: what the
//! shrinker replays up to, and where a reader should look.

use super::clients::Record;
use crate::schedule::TICK;
use raft_lincheck::kv::{KvInput, KvModel, KvOutput};
use raft_lincheck::{check, Budget, HistoryError, Operation, Verdict};

/// Search steps per key before the check gives up without a verdict.
const BUDGET_STEPS: u64 = 2_000_000;

/// A history raft-lincheck found not linearizable.
#[derive(Clone, Debug)]
pub struct Anomaly {
    /// The simulated time of the first answer no order explains together
    /// with those before it.
    pub at: u64,
    /// The failing key's operations, in words.
    pub detail: String,
}

/// What checking a history found.
#[derive(Clone, Debug)]
pub(super) enum HistoryCheck {
    Linearizable,
    /// The search ran out of budget.
    Inconclusive,
    Anomaly(Anomaly),
}

/// Checks the whole history `kept`; `now` is the end of the run.
pub(super) fn check_history(kept: &[&Record], now: u64) -> HistoryCheck {
    let failing = |upto: u64| -> Result<Option<(Vec<usize>, Verdict)>, HistoryError> {
        let (included, history) = cut(kept, upto);
        let verdict = check(&KvModel, &history, Budget::steps(BUDGET_STEPS))?;
        Ok(matches!(verdict, Verdict::NotLinearizable { .. }).then_some((included, verdict)))
    };
    let malformed = |e: HistoryError| {
        // Stamps only grow, so this would be a bug of the recording.
        HistoryCheck::Anomaly(Anomaly {
            at: now,
            detail: format!("the recorded history is malformed: {e}"),
        })
    };
    let (_, history) = cut(kept, u64::MAX);
    match check(&KvModel, &history, Budget::steps(BUDGET_STEPS)) {
        Err(e) => return malformed(e),
        Ok(Verdict::NotLinearizable { .. }) => {}
        Ok(Verdict::Unknown) => return HistoryCheck::Inconclusive,
        Ok(_) => return HistoryCheck::Linearizable,
    }
    let mut answers: Vec<u64> = kept
        .iter()
        .filter(|r| r.output.is_some())
        .map(|r| r.ret.order)
        .collect();
    answers.sort_unstable();
    // The whole history fails; find the first answer at which a cut does.
    let (mut lo, mut hi) = (0, answers.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        match failing(answers[mid]) {
            Err(e) => return malformed(e),
            Ok(Some(_)) => hi = mid,
            Ok(None) => lo = mid + 1,
        }
    }
    let upto = answers.get(hi).copied().unwrap_or(u64::MAX);
    match failing(upto) {
        Err(e) => malformed(e),
        Ok(Some((
            included,
            Verdict::NotLinearizable {
                operations,
                longest_prefix,
            },
        ))) => {
            let culprit = kept
                .iter()
                .find(|r| r.ret.order == upto && r.output.is_some());
            let ops: Vec<&Record> = operations.iter().map(|&i| kept[included[i]]).collect();
            let placed: Vec<&Record> = longest_prefix.iter().map(|&i| kept[included[i]]).collect();
            HistoryCheck::Anomaly(describe(&ops, &placed, culprit.copied(), upto, now))
        }
        // The full history failed a moment ago; a cut at its end is the
        // same history.
        Ok(_) => HistoryCheck::Inconclusive,
    }
}

/// The history as of the order stamp `upto`: operations called later are
/// left out, and answers given later are not known yet (such gets are left
/// out: an unanswered read constrains nothing). Returns the positions in
/// `kept` of the operations included.
fn cut(kept: &[&Record], upto: u64) -> (Vec<usize>, Vec<Operation<KvInput, KvOutput>>) {
    let mut included = Vec::with_capacity(kept.len());
    let mut history = Vec::with_capacity(kept.len());
    for (i, r) in kept.iter().enumerate() {
        if r.call.order > upto {
            continue;
        }
        let output = r.output.clone().filter(|_| r.ret.order <= upto);
        if output.is_none() && matches!(r.input, KvInput::Get { .. }) {
            continue;
        }
        included.push(i);
        history.push(Operation {
            client: r.client,
            input: r.input.clone(),
            output,
            call: r.call.order,
            ret: r.ret.order,
        });
    }
    (included, history)
}

fn time(at: u64) -> String {
    format!("{}.{}", at / TICK, at % TICK)
}

fn op_line(r: &Record) -> String {
    let output = r
        .output
        .as_ref()
        .map_or("unknown".to_string(), |o| format!("{o:?}"));
    format!(
        "client {} at n{}, called t={}, answered t={}: {:?} -> {output}",
        r.client,
        r.node,
        time(r.call.at),
        time(r.ret.at),
        r.input
    )
}

/// The failing key's story: how many operations, how far the search got,
/// the last operations it placed, the first it could not, and the answer
/// that made the history fail.
fn describe(
    ops: &[&Record],
    placed: &[&Record],
    culprit: Option<&Record>,
    upto: u64,
    now: u64,
) -> Anomaly {
    let key = ops.first().map_or("?", |r| r.input.key());
    let mut unplaced: Vec<&Record> = ops
        .iter()
        .copied()
        .filter(|r| !placed.iter().any(|p| std::ptr::eq(*p, *r)))
        .collect();
    unplaced.sort_by_key(|r| r.call.order);
    let mut detail = format!(
        "no order of the {} operations on key {key} called so far explains every answer; the longest order found places {}",
        ops.len(),
        placed.len()
    );
    if let Some(r) = culprit {
        detail += &format!("\n    the answer that broke it: {}", op_line(r));
    }
    for r in &placed[placed.len().saturating_sub(3)..] {
        detail += &format!("\n    placed:     {}", op_line(r));
    }
    for r in unplaced.iter().take(4) {
        let note = if r.ret.order > upto && r.output.is_some() {
            " (answered later)"
        } else {
            ""
        };
        detail += &format!("\n    not placed: {}{note}", op_line(r));
    }
    let at = culprit.map_or(now, |r| r.ret.at);
    Anomaly { at, detail }
}
