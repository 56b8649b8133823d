//! The simulated key-value clients: each has at most one operation in
//! flight, recorded when it is called and when it is answered, or given up
//! as an unknown outcome (the node it asked went down, or no answer came
//! within [`KV_TIMEOUT_TICKS`]). After the run the history is checked with
//! raft-lincheck's key-value model.
//!
//! Calls and answers are stamped with the order in which the simulation
//! made them (strictly increasing, so an answer seen before a later call
//! in the same time unit still precedes it) and with the simulated time,
//! for the report.

use super::check::{check_history, Anomaly, HistoryCheck};
use super::command::KvCommand;
use super::store::KvStore;
use crate::schedule::{KvKind, KvRequest, TICK};
use bytes::Bytes;
use raft_core::NodeId;
use raft_lincheck::kv::{KvInput, KvOutput};
use std::collections::BTreeMap;

/// A request unanswered this many ticks after its call is given up.
pub const KV_TIMEOUT_TICKS: u64 = 40;

/// When something happened: its place in the simulation's order, and the
/// simulated time.
#[derive(Clone, Copy, Debug)]
pub(super) struct Stamp {
    pub(super) order: u64,
    pub(super) at: u64,
}

#[derive(Clone, Debug)]
struct Pending {
    node: NodeId,
    seq: u64,
    input: KvInput,
    call: Stamp,
    /// A write's payload (what the checker's log knows it by).
    payload: Option<Bytes>,
    /// A get's read context.
    read_ctx: Option<Bytes>,
}

#[derive(Clone, Debug, Default)]
struct Client {
    seq: u64,
    pending: Option<Pending>,
    /// What the client last saw in each key: what a compare-and-swap
    /// expects.
    seen: BTreeMap<String, Option<String>>,
}

/// An operation called, and answered or given up.
#[derive(Clone, Debug)]
pub(super) struct Record {
    pub(super) client: u64,
    pub(super) node: NodeId,
    pub(super) input: KvInput,
    /// `None`: given up, outcome unknown.
    pub(super) output: Option<KvOutput>,
    pub(super) call: Stamp,
    pub(super) ret: Stamp,
    payload: Option<Bytes>,
}

/// What a request needs from the node once it is recorded as called.
#[derive(Clone, Debug)]
pub enum Begun {
    /// A get: a ReadIndex read with this context, of this key.
    Read {
        /// The read's context.
        ctx: Bytes,
        /// The key.
        key: String,
    },
    /// A write: propose this payload.
    Write(Bytes),
}

/// What the run's key-value history amounted to.
#[derive(Clone, Copy, Debug, Default)]
pub struct KvSummary {
    /// Operations in the history checked (answered or of unknown outcome).
    pub ops: u64,
    /// Of the operations called, those whose outcome the client never
    /// learnt (including those left out of the check as having had no
    /// effect: gets, and writes no node ever applied).
    pub unknown: u64,
    /// Whether the history was checked (it was not empty).
    pub checked: bool,
    /// The search ran out of budget on some key: no verdict.
    pub inconclusive: bool,
}

/// The clients of one run and what they recorded.
#[derive(Debug)]
pub struct KvClients {
    clients: Vec<Client>,
    records: Vec<Record>,
    order: u64,
    /// Lines for the run's trace (kept only when tracing).
    trace: Option<Vec<String>>,
}

impl KvClients {
    /// `clients` idle clients, numbered from 1; `trace` keeps a line per
    /// answer for the run's event log.
    pub fn new(clients: u64, trace: bool) -> KvClients {
        KvClients {
            clients: vec![Client::default(); clients as usize],
            records: Vec::new(),
            order: 0,
            trace: trace.then(Vec::new),
        }
    }

    fn stamp(&mut self, at: u64) -> Stamp {
        self.order += 1;
        Stamp {
            order: self.order,
            at,
        }
    }

    fn client(&mut self, client: u64) -> Option<&mut Client> {
        self.clients.get_mut((client as usize).wrapping_sub(1))
    }

    /// Whether `client` waits for an answer (or does not exist).
    pub fn is_busy(&self, client: u64) -> bool {
        self.clients
            .get((client as usize).wrapping_sub(1))
            .is_none_or(|c| c.pending.is_some())
    }

    /// Records the call of `req` at time `now`; `None` when its client is
    /// busy.
    pub fn begin(&mut self, req: &KvRequest, now: u64) -> Option<Begun> {
        if self.is_busy(req.client) {
            return None;
        }
        let call = self.stamp(now);
        let c = self.client(req.client)?;
        c.seq += 1;
        let (client, seq) = (req.client, c.seq);
        let key = format!("k{}", req.key);
        let value = format!("v{client}.{seq}");
        let input = match req.kind {
            KvKind::Get => KvInput::Get { key: key.clone() },
            KvKind::Put => KvInput::Put { key, value },
            KvKind::Delete => KvInput::Delete { key },
            KvKind::Cas => KvInput::Cas {
                expected: c.seen.get(&key).cloned().flatten(),
                key,
                new: value,
            },
        };
        let payload = KvCommand {
            client,
            seq,
            input: input.clone(),
        }
        .encode();
        let begun = match &payload {
            Some(p) => Begun::Write(p.clone()),
            None => Begun::Read {
                ctx: Bytes::from(format!("kv-get c{client} s{seq}")),
                key: input.key().to_string(),
            },
        };
        c.pending = Some(Pending {
            node: req.node,
            seq,
            read_ctx: match &begun {
                Begun::Read { ctx, .. } => Some(ctx.clone()),
                Begun::Write(_) => None,
            },
            input,
            call,
            payload,
        });
        Some(begun)
    }

    /// `client`'s write was refused at once (no leader known): it had no
    /// effect, and the client learnt so; it is left out of the history.
    pub fn refused(&mut self, client: u64) {
        if let Some(c) = self.client(client) {
            c.pending = None;
        }
    }

    /// `client`'s pending operation was answered `output` at `now`.
    pub fn complete(&mut self, client: u64, output: KvOutput, now: u64) {
        let ret = self.stamp(now);
        let Some(c) = self.client(client) else {
            return;
        };
        let Some(p) = c.pending.take() else {
            return;
        };
        let key = p.input.key().to_string();
        match (&p.input, &output) {
            (KvInput::Get { .. }, KvOutput::Value(v)) => {
                c.seen.insert(key, v.clone());
            }
            (KvInput::Put { value, .. }, _) => {
                c.seen.insert(key, Some(value.clone()));
            }
            (KvInput::Delete { .. }, _) => {
                c.seen.insert(key, None);
            }
            (KvInput::Cas { new, .. }, KvOutput::Swapped(true)) => {
                c.seen.insert(key, Some(new.clone()));
            }
            _ => {}
        }
        if let Some(lines) = self.trace.as_mut() {
            lines.push(format!(
                "   kv client {client} answered by n{}: {:?} -> {output:?}",
                p.node, p.input
            ));
        }
        self.records.push(Record {
            client,
            node: p.node,
            input: p.input,
            output: Some(output),
            call: p.call,
            ret,
            payload: p.payload,
        });
    }

    /// `client` gives up on its pending operation: its outcome is unknown.
    pub fn abandon(&mut self, client: u64, now: u64, why: &str) {
        let ret = self.stamp(now);
        let Some(p) = self.client(client).and_then(|c| c.pending.take()) else {
            return;
        };
        if let Some(lines) = self.trace.as_mut() {
            lines.push(format!(
                "   kv client {client} gives up on {:?} at n{} ({why}): unknown outcome",
                p.input, p.node
            ));
        }
        self.records.push(Record {
            client,
            node: p.node,
            input: p.input,
            output: None,
            call: p.call,
            ret,
            payload: p.payload,
        });
    }

    /// The node serving a read answered it from `store`; a context no
    /// client waits for (another read's, a duplicate) is ignored.
    pub fn read_served(&mut self, ctx: &Bytes, store: &KvStore, now: u64) {
        let waiting = self.clients.iter().enumerate().find_map(|(i, c)| {
            let p = c.pending.as_ref()?;
            (p.read_ctx.as_ref() == Some(ctx)).then(|| (i as u64 + 1, p.input.key().to_string()))
        });
        if let Some((client, key)) = waiting {
            let value = store.get(&key).map(str::to_string);
            self.complete(client, KvOutput::Value(value), now);
        }
    }

    /// Answers the writes waiting on `node` whose answer its store holds.
    pub fn poll_writes(&mut self, node: NodeId, store: &KvStore, now: u64) {
        for i in 0..self.clients.len() {
            let Some(p) = &self.clients[i].pending else {
                continue;
            };
            if p.node != node || p.payload.is_none() {
                continue;
            }
            let client = i as u64 + 1;
            if let Some(answer) = store.answer(client, p.seq).cloned() {
                self.complete(client, answer, now);
            }
        }
    }

    /// Clients waiting on a node, with how long they waited (in time units).
    pub fn waiting(&self, now: u64) -> Vec<(u64, NodeId, u64)> {
        self.clients
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let p = c.pending.as_ref()?;
                Some((i as u64 + 1, p.node, now.saturating_sub(p.call.at)))
            })
            .collect()
    }

    /// Whether a client waiting `waited` time units has given up.
    pub fn timed_out(waited: u64) -> bool {
        waited >= KV_TIMEOUT_TICKS * TICK
    }

    /// Trace lines since the last call.
    pub fn take_lines(&mut self) -> Vec<String> {
        self.trace.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Ends the run at `now` (pending operations become unknown) and checks
    /// the history. `applied` tells whether some node applied a payload: an
    /// unknown write that none did had no effect, and is left out (the
    /// checker would have had to place it at every point to find that).
    pub fn check(
        &mut self,
        now: u64,
        applied: impl Fn(&Bytes) -> bool,
    ) -> (KvSummary, Option<Anomaly>) {
        for client in 1..=self.clients.len() as u64 {
            self.abandon(client, now, "the run ended");
        }
        let mut summary = KvSummary::default();
        let mut kept: Vec<&Record> = Vec::with_capacity(self.records.len());
        for r in &self.records {
            if r.output.is_none() {
                summary.unknown += 1;
                let effect = r.payload.as_ref().is_some_and(&applied);
                if !effect {
                    continue;
                }
            }
            kept.push(r);
        }
        summary.ops = kept.len() as u64;
        if kept.is_empty() {
            return (summary, None);
        }
        summary.checked = true;
        match check_history(&kept, now) {
            HistoryCheck::Linearizable => (summary, None),
            HistoryCheck::Inconclusive => {
                summary.inconclusive = true;
                (summary, None)
            }
            HistoryCheck::Anomaly(a) => (summary, Some(a)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(client: u64, kind: KvKind) -> KvRequest {
        KvRequest {
            client,
            node: 1,
            kind,
            key: 0,
        }
    }

    #[test]
    fn a_stale_read_after_an_answered_write_is_an_anomaly() {
        let mut kv = KvClients::new(2, false);
        let mut store = KvStore::default();
        let Some(Begun::Write(payload)) = kv.begin(&req(1, KvKind::Put), 10) else {
            panic!("a put proposes");
        };
        assert!(kv.is_busy(1));
        assert!(kv.begin(&req(1, KvKind::Get), 11).is_none());
        let stale = store.clone();
        store.apply(&raft_core::Entry {
            index: 1,
            data: payload,
            ..raft_core::Entry::default()
        });
        kv.poll_writes(1, &store, 20);
        assert!(!kv.is_busy(1));
        let Some(Begun::Read { ctx, .. }) = kv.begin(&req(2, KvKind::Get), 30) else {
            panic!("a get reads");
        };
        kv.read_served(&ctx, &stale, 40);
        let (summary, anomaly) = kv.check(50, |_| true);
        assert_eq!((summary.ops, summary.unknown), (2, 0));
        let anomaly = anomaly.expect("the read missed an answered write");
        assert_eq!(anomaly.at, 40);
        assert!(anomaly.detail.contains("key k0"), "{}", anomaly.detail);
    }

    #[test]
    fn unknown_writes_may_take_effect_and_unapplied_ones_are_left_out() {
        let mut kv = KvClients::new(2, false);
        let mut store = KvStore::default();
        let Some(Begun::Write(payload)) = kv.begin(&req(1, KvKind::Put), 10) else {
            panic!("a put proposes");
        };
        kv.abandon(1, 20, "timeout");
        // Client 1's put lands after it gave up; client 2 reads it.
        store.apply(&raft_core::Entry {
            index: 1,
            data: payload.clone(),
            ..raft_core::Entry::default()
        });
        let Some(Begun::Read { ctx, .. }) = kv.begin(&req(2, KvKind::Get), 30) else {
            panic!("a get reads");
        };
        kv.read_served(&ctx, &store, 40);
        // Client 1's next put never reaches any log.
        assert!(kv.begin(&req(1, KvKind::Put), 50).is_some());
        let (summary, anomaly) = kv.check(60, |p| *p == payload);
        assert!(anomaly.is_none(), "{anomaly:?}");
        assert_eq!((summary.ops, summary.unknown), (2, 2));
        assert!(summary.checked && !summary.inconclusive);
    }
}
