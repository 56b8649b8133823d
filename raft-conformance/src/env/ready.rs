//! Moving the group forward: `process-ready`, `deliver-msgs`, `stabilize`.

use super::storage_threads::is_local_message;
use super::{invalid, raft_failure, CmdResult, Env, Failure};
use crate::datadriven::Directive;
use crate::output::{parse_level, Output};
use raft_core::describe::{default_formatter, describe_message, describe_ready};
use raft_core::{ConfState, Entry, LogStorage, Message, MessageType, Ready, ReadyHandler};

/// A node whose messages to deliver or drop.
struct Recipient {
    id: u64,
    drop: bool,
}

impl Env {
    pub(crate) fn process_ready_cmd(&mut self, d: &Directive) -> CmdResult {
        let idxs = self.node_indexes(d)?;
        for &i in &idxs {
            if idxs.len() > 1 {
                self.out.write(&format!("> {} handling Ready\n", i + 1));
                let out = self.out.clone();
                out.with_indent(|| self.process_ready(d, i))?;
            } else {
                self.process_ready(d, i)?;
            }
        }
        Ok(())
    }

    /// Handles one Ready of node `i` through raft-core's Ready loop: print
    /// it, queue its messages around the write, advance. etcd's harness
    /// writes before it queues anything; nothing is delivered until the Ready
    /// is handled, so the queue (and the output) are the same.
    pub(crate) fn process_ready(&mut self, d: &Directive, i: usize) -> CmdResult {
        if self.nodes[i].config.async_storage_writes {
            return self.process_async_ready(d, i);
        }
        let node = &mut self.nodes[i];
        let mut handler = QueueReady {
            out: &self.out,
            messages: &mut self.messages,
            applied: &node.applied,
        };
        node.raw
            .handle_ready(&mut handler)
            .map_err(|e| raft_failure(d, e))
    }

    pub(crate) fn deliver_msgs(&mut self, d: &Directive) -> CmdResult {
        let mut recipients: Vec<Recipient> = Vec::new();
        let mut filter = None;
        for arg in &d.args {
            match arg.key.as_str() {
                _ if arg.vals.is_empty() => {
                    let id = arg
                        .key
                        .parse()
                        .map_err(|_| invalid(d, format!("not a node id: {}", arg.key)))?;
                    recipients.push(Recipient { id, drop: false });
                }
                "drop" => {
                    for v in &arg.vals {
                        let id: u64 = v
                            .parse()
                            .map_err(|_| invalid(d, format!("not a node id: {v}")))?;
                        if recipients.iter().any(|r| r.id == id) {
                            return Err(invalid(
                                d,
                                format!("can't both deliver and drop msgs to {id}"),
                            )
                            .into());
                        }
                        recipients.push(Recipient { id, drop: true });
                    }
                }
                "type" => {
                    let name = d.scan_str("type")?.unwrap_or_default();
                    let t = MessageType::from_name(name)
                        .ok_or_else(|| invalid(d, format!("unknown message type {name}")))?;
                    filter = Some(t);
                }
                other => return Err(invalid(d, format!("unknown argument {other}")).into()),
            }
        }
        let mut delivered = 0;
        for r in recipients {
            delivered += self.deliver(d, r.id, filter, r.drop)?;
        }
        if delivered == 0 {
            self.out.write("no messages\n");
        }
        Ok(())
    }

    /// Delivers (or drops) the queued messages to `to`, optionally only those
    /// of one type, in the order they were sent. Returns how many.
    fn deliver(
        &mut self,
        d: &Directive,
        to: u64,
        filter: Option<MessageType>,
        drop: bool,
    ) -> Result<usize, Failure> {
        // Local messages (storage threads, a node to itself) need reliable
        // delivery: they are never dropped, as in etcd's harness.
        let (take, keep): (Vec<Message>, Vec<Message>) = std::mem::take(&mut self.messages)
            .into_iter()
            .partition(|m| {
                m.to == to
                    && filter.is_none_or(|t| m.msg_type == t)
                    && !(drop && is_local_message(m))
            });
        self.messages = keep;
        let count = take.len();
        for m in take {
            let line = describe_message(&m, &default_formatter);
            if drop {
                self.out.write(&format!("dropped: {line}\n"));
                #[cfg(feature = "trace")]
                if let Some(sink) = &self.trace {
                    let msg = crate::trace::sink::msg(&m);
                    sink.record(m.to, crate::trace::EventKind::Drop { msg });
                }
                continue;
            }
            self.out.write(&format!("{line}\n"));
            let i = self.node_index(d, m.to)?;
            // Only messages between nodes cross the transport.
            let m = if is_local_message(&m) {
                m
            } else {
                self.wire
                    .carry(m)
                    .map_err(|e| super::invalid(d, e.to_string()))?
            };
            match self.nodes[i].raw.step(m) {
                Ok(()) => {}
                Err(raft_core::Error::Storage(e)) => return Err(raft_failure(d, e.into())),
                Err(e) => self.out.write(&format!("{e}\n")),
            }
        }
        Ok(count)
    }

    pub(crate) fn stabilize_cmd(&mut self, d: &Directive) -> CmdResult {
        let idxs = self.node_indexes(d)?;
        let saved = self.out.level();
        if let Some(name) = d.scan_str("log-level")? {
            match parse_level(name) {
                Some(level) => self.out.set_level(level),
                None => return Err(Failure::Printed(super::inspect::LEVEL_ERROR.to_string())),
            }
        }
        let result = self.stabilize(d, idxs);
        self.out.set_level(saved);
        result
    }

    /// Repeats "handle every Ready, deliver every message" until nothing
    /// changes, printing each step.
    fn stabilize(&mut self, d: &Directive, idxs: Vec<usize>) -> CmdResult {
        let idxs = if idxs.is_empty() {
            (0..self.nodes.len()).collect()
        } else {
            idxs
        };
        let out = self.out.clone();
        loop {
            let mut done = true;
            for &i in &idxs {
                if self.nodes[i].raw.has_ready() {
                    done = false;
                    out.write(&format!("> {} handling Ready\n", i + 1));
                    out.with_indent(|| self.process_ready(d, i))?;
                }
            }
            for &i in &idxs {
                let id = self.nodes[i].config.id;
                if self.messages.iter().any(|m| m.to == id) {
                    done = false;
                    out.write(&format!("> {id} receiving messages\n"));
                    out.with_indent(|| self.deliver(d, id, None, false))?;
                }
            }
            for append in [true, false] {
                for &i in &idxs {
                    if self.drain_thread(d, i, append)? {
                        done = false;
                    }
                }
            }
            if done {
                return Ok(());
            }
        }
    }
}

/// The environment's side of a Ready: print it, queue its messages for
/// `deliver-msgs`; the default write to the node's storage; nothing to apply.
struct QueueReady<'a> {
    out: &'a Output,
    messages: &'a mut Vec<Message>,
    /// The node's appender state machine (see `env/snapshot.rs`).
    applied: &'a super::AppliedState,
}

impl<S: LogStorage> ReadyHandler<S> for QueueReady<'_> {
    type Error = raft_core::Error;

    fn observe(&mut self, ready: &Ready) -> Result<(), raft_core::Error> {
        self.out.write(&describe_ready(ready, &default_formatter));
        Ok(())
    }

    fn send(&mut self, messages: Vec<Message>) {
        self.messages.extend(messages);
    }

    fn apply(&mut self, committed: &[Entry]) -> Result<(), raft_core::Error> {
        self.applied.apply(committed);
        Ok(())
    }

    fn conf_changed(
        &mut self,
        entry: &Entry,
        conf_state: &ConfState,
    ) -> Result<(), raft_core::Error> {
        self.applied.set_conf_state(entry.index, conf_state);
        Ok(())
    }
}
