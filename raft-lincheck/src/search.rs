//! The search: Wing and Gong's backtracking over the order of operations,
//! with Lowe's memoization of (linearized set, state) pairs already tried,
//! as in Porcupine and Knossos.

use crate::history::{validate, HistoryError, Operation};
use crate::model::Model;
use std::collections::HashSet;

/// What checking a history found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Some order of the operations, respecting real time, explains every
    /// answer.
    Linearizable,
    /// No order does. `operations` are the positions (in the history) of
    /// the partition that failed; `longest_prefix` is the longest order the
    /// search managed before getting stuck, which is where to start looking.
    NotLinearizable {
        /// The failing partition's operations.
        operations: Vec<usize>,
        /// The longest order found that explains its operations' answers.
        longest_prefix: Vec<usize>,
    },
    /// The search gave up after its budget of steps: no verdict.
    Unknown,
}

impl Verdict {
    /// True for [`Verdict::Linearizable`].
    pub fn is_linearizable(&self) -> bool {
        matches!(self, Verdict::Linearizable)
    }
}

/// How much work a check may do.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Budget {
    /// Search steps per partition before giving up with [`Verdict::Unknown`].
    pub steps_per_partition: u64,
}

impl Budget {
    /// A budget of `steps` search steps per partition.
    pub fn steps(steps: u64) -> Budget {
        Budget {
            steps_per_partition: steps,
        }
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            steps_per_partition: 50_000_000,
        }
    }
}

/// Checks `history` against `model`, partition by partition.
pub fn check<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    budget: Budget,
) -> Result<Verdict, HistoryError> {
    validate(history)?;
    let mut unknown = false;
    for part in model.partition(history) {
        match check_partition(model, history, &part, budget) {
            Verdict::Linearizable => {}
            Verdict::Unknown => unknown = true,
            failed => return Ok(failed),
        }
    }
    Ok(if unknown {
        Verdict::Unknown
    } else {
        Verdict::Linearizable
    })
}

const NONE: usize = usize::MAX;

/// One call or return in the doubly linked list the search walks; lifting an
/// operation unlinks both of its events, and unlinked events keep their own
/// links so that they can be put back in reverse order.
#[derive(Clone, Copy, Debug)]
struct Event {
    op: usize,
    is_call: bool,
    /// For a call, the event of its return.
    matching: usize,
    prev: usize,
    next: usize,
}

struct List {
    /// Slot 0 is the head sentinel.
    events: Vec<Event>,
}

impl List {
    fn new<I, O>(history: &[Operation<I, O>], part: &[usize]) -> List {
        let mut order: Vec<(u64, bool, usize)> = Vec::with_capacity(part.len() * 2);
        for (local, &i) in part.iter().enumerate() {
            let op = &history[i];
            // An operation of unknown outcome may take effect at any time
            // after its call, so its return is after everything else.
            let ret = if op.output.is_some() {
                op.ret
            } else {
                u64::MAX
            };
            order.push((op.call, true, local));
            order.push((ret, false, local));
        }
        // At equal times calls come first: treating such operations as
        // concurrent never rejects a linearizable history.
        order.sort_by_key(|&(t, is_call, local)| (t, !is_call, local));
        let mut events = vec![Event {
            op: NONE,
            is_call: false,
            matching: NONE,
            prev: NONE,
            next: NONE,
        }];
        let mut return_slot = vec![NONE; part.len()];
        for &(_, is_call, local) in &order {
            let slot = events.len();
            events.push(Event {
                op: local,
                is_call,
                matching: NONE,
                prev: slot - 1,
                next: NONE,
            });
            events[slot - 1].next = slot;
            if !is_call {
                return_slot[local] = slot;
            }
        }
        for e in events.iter_mut().skip(1) {
            if e.is_call {
                e.matching = return_slot[e.op];
            }
        }
        List { events }
    }

    fn first(&self) -> usize {
        self.events[0].next
    }

    fn unlink(&mut self, slot: usize) {
        let Event { prev, next, .. } = self.events[slot];
        self.events[prev].next = next;
        if next != NONE {
            self.events[next].prev = prev;
        }
    }

    fn relink(&mut self, slot: usize) {
        let Event { prev, next, .. } = self.events[slot];
        self.events[prev].next = slot;
        if next != NONE {
            self.events[next].prev = slot;
        }
    }

    fn lift(&mut self, call: usize) {
        self.unlink(call);
        self.unlink(self.events[call].matching);
    }

    fn unlift(&mut self, call: usize) {
        self.relink(self.events[call].matching);
        self.relink(call);
    }
}

/// Operations linearized so far, as a bit set over the partition.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Linearized(Vec<u64>);

impl Linearized {
    fn new(n: usize) -> Linearized {
        Linearized(vec![0; n.div_ceil(64)])
    }
    fn with(&self, i: usize) -> Linearized {
        let mut next = self.clone();
        next.0[i / 64] |= 1 << (i % 64);
        next
    }
    fn without(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
}

struct Frame<S> {
    call: usize,
    before: S,
    /// Other states the same operation could have led to, still untried.
    alternatives: Vec<S>,
}

fn check_partition<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    part: &[usize],
    budget: Budget,
) -> Verdict {
    let mut list = List::new(history, part);
    let mut seen: HashSet<(Linearized, M::State)> = HashSet::new();
    let mut linearized = Linearized::new(part.len());
    let mut state = model.init();
    let mut stack: Vec<Frame<M::State>> = Vec::new();
    let mut longest: Vec<usize> = Vec::new();
    let mut cursor = list.first();
    let mut steps = 0u64;

    // Tries the candidate states in turn; the first not tried before with
    // this set of operations becomes the new state.
    let mut advance = |candidates: &mut Vec<M::State>,
                       linearized: &Linearized,
                       op: usize|
     -> Option<(Linearized, M::State)> {
        while let Some(next) = candidates.pop() {
            let key = (linearized.with(op), next);
            if seen.insert(key.clone()) {
                return Some(key);
            }
        }
        None
    };

    while list.first() != NONE {
        steps += 1;
        if steps > budget.steps_per_partition {
            return Verdict::Unknown;
        }
        let event = list.events[cursor];
        if event.is_call {
            let op = &history[part[event.op]];
            let mut candidates = model.step(&state, &op.input, op.output.as_ref());
            if let Some((next_lin, next_state)) = advance(&mut candidates, &linearized, event.op) {
                let before = std::mem::replace(&mut state, next_state);
                linearized = next_lin;
                stack.push(Frame {
                    call: cursor,
                    before,
                    alternatives: candidates,
                });
                list.lift(cursor);
                if stack.len() > longest.len() {
                    longest = stack.iter().map(|f| part[list.events[f.call].op]).collect();
                }
                cursor = list.first();
            } else {
                cursor = event.next;
            }
            continue;
        }
        // A return whose operation is not linearized yet: undo the last
        // choice and try the next.
        let Some(mut frame) = stack.pop() else {
            return Verdict::NotLinearizable {
                operations: part.to_vec(),
                longest_prefix: longest,
            };
        };
        list.unlift(frame.call);
        let op = list.events[frame.call].op;
        linearized.without(op);
        state = frame.before.clone();
        if let Some((next_lin, next_state)) = advance(&mut frame.alternatives, &linearized, op) {
            state = next_state;
            linearized = next_lin;
            list.lift(frame.call);
            stack.push(frame);
            cursor = list.first();
        } else {
            cursor = list.events[frame.call].next;
        }
    }
    Verdict::Linearizable
}
