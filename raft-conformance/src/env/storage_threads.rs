//! The application's storage threads under async storage writes:
//! `process-append-thread` and `process-apply-thread`, and the Ready
//! handling that feeds them.
//!
//! With `Config::async_storage_writes` a Ready is not handled through
//! raft-core's Ready loop (`RawNode::handle_ready`), whose contract is the
//! synchronous one (write, then advance). Instead, as etcd's harness does,
//! the Ready is printed, its `MsgStorageAppend`/`MsgStorageApply` are queued
//! for the node's two threads, and the rest goes on the network; the
//! threads' responses are queued like any message and stepped on delivery.

use super::{invalid, raft_failure, CmdResult, Env, Failure};
use crate::datadriven::Directive;
use raft_core::confchange::AnyConfChange;
use raft_core::describe::{default_formatter, describe_message, describe_ready};
use raft_core::{
    is_local_thread, HardState, LogWrite, Message, MessageType, LOCAL_APPEND_THREAD,
    LOCAL_APPLY_THREAD,
};

/// Which of a node's two threads.
#[derive(Clone, Copy)]
enum Thread {
    Append,
    Apply,
}

impl Thread {
    fn name(self) -> &'static str {
        match self {
            Thread::Append => "append",
            Thread::Apply => "apply",
        }
    }
}

/// Messages that never cross the network: to or from a storage thread, or
/// from a node to itself. They are never dropped, and no transport carries
/// them.
pub(crate) fn is_local_message(m: &Message) -> bool {
    m.from == m.to || is_local_thread(m.from) || is_local_thread(m.to)
}

impl Env {
    /// Takes one Ready of node `i` (which uses async storage writes), prints
    /// it and queues its messages; nothing is written, applied or advanced.
    pub(crate) fn process_async_ready(&mut self, d: &Directive, i: usize) -> CmdResult {
        let node = &mut self.nodes[i];
        let rd = node.raw.ready().map_err(|e| raft_failure(d, e))?;
        self.out.write(&describe_ready(&rd, &default_formatter));
        for m in rd.messages {
            match m.to {
                LOCAL_APPEND_THREAD if m.msg_type == MessageType::MsgStorageAppend => {
                    node.append_work.push_back(m)
                }
                LOCAL_APPLY_THREAD if m.msg_type == MessageType::MsgStorageApply => {
                    node.apply_work.push_back(m)
                }
                to if is_local_thread(to) => {
                    return Err(invalid(
                        d,
                        format!("unexpected {} to a storage thread", m.msg_type),
                    )
                    .into())
                }
                _ => self.messages.push(m),
            }
        }
        Ok(())
    }

    pub(crate) fn process_append_thread_cmd(&mut self, d: &Directive) -> CmdResult {
        self.process_thread_cmd(d, Thread::Append)
    }

    pub(crate) fn process_apply_thread_cmd(&mut self, d: &Directive) -> CmdResult {
        self.process_thread_cmd(d, Thread::Apply)
    }

    fn process_thread_cmd(&mut self, d: &Directive, thread: Thread) -> CmdResult {
        let idxs = self.node_indexes(d)?;
        for &i in &idxs {
            if idxs.len() > 1 {
                self.out.write(&format!(
                    "> {} processing {} thread\n",
                    i + 1,
                    thread.name()
                ));
                let out = self.out.clone();
                out.with_indent(|| self.process_thread(d, i, thread))?;
            } else {
                self.process_thread(d, i, thread)?;
            }
        }
        Ok(())
    }

    /// Runs every queued item of the node's threads, as `stabilize` does.
    /// Returns whether there was any.
    pub(crate) fn drain_thread(
        &mut self,
        d: &Directive,
        i: usize,
        append: bool,
    ) -> Result<bool, Failure> {
        let thread = if append {
            Thread::Append
        } else {
            Thread::Apply
        };
        let queued = |env: &Env| match thread {
            Thread::Append => !env.nodes[i].append_work.is_empty(),
            Thread::Apply => !env.nodes[i].apply_work.is_empty(),
        };
        if !queued(self) {
            return Ok(false);
        }
        self.out.write(&format!(
            "> {} processing {} thread\n",
            i + 1,
            thread.name()
        ));
        let out = self.out.clone();
        while queued(self) {
            out.with_indent(|| self.process_thread(d, i, thread))?;
        }
        Ok(true)
    }

    /// Does the oldest work item of one thread of node `i`: the append
    /// thread writes the entries, hard state and snapshot; the apply thread
    /// applies to the appender state machine. Then the item's responses are
    /// queued for delivery.
    fn process_thread(&mut self, d: &Directive, i: usize, thread: Thread) -> CmdResult {
        let node = &mut self.nodes[i];
        let work = match thread {
            Thread::Append => node.append_work.pop_front(),
            Thread::Apply => node.apply_work.pop_front(),
        };
        let Some(mut m) = work else {
            self.out
                .write(&format!("no {} work to perform", thread.name()));
            return Ok(());
        };
        let responses = std::mem::take(&mut m.responses);
        self.out.write(&format!(
            "Processing:\n{}\n",
            describe_message(&m, &default_formatter)
        ));
        match thread {
            Thread::Append => {
                let hard_state = HardState {
                    term: m.term,
                    vote: m.vote,
                    commit: m.commit,
                };
                let mut write = LogWrite::new(
                    std::mem::take(&mut m.entries),
                    (!hard_state.is_empty()).then_some(hard_state),
                    true,
                );
                write.snapshot = m.snapshot.take().map(|s| *s);
                node.raw
                    .store_mut()
                    .write(write)
                    .map_err(|e| raft_failure(d, e.into()))?;
            }
            Thread::Apply => {
                node.applied.apply(&m.entries);
                // The apply thread applies membership changes too, in log
                // order, as etcd's harness does.
                for entry in m.entries.iter().filter(|e| e.entry_type.is_conf_change()) {
                    let change = AnyConfChange::from_entry(entry)
                        .map_err(|e| raft_failure(d, raft_core::Error::from(e)))?;
                    if let Some(cc) = change {
                        let conf_state = node
                            .raw
                            .apply_conf_change(cc)
                            .map_err(|e| raft_failure(d, e))?;
                        node.applied.set_conf_state(entry.index, &conf_state);
                    }
                }
            }
        }
        self.out.write("Responses:\n");
        for r in &responses {
            self.out
                .write(&format!("{}\n", describe_message(r, &default_formatter)));
        }
        self.messages.extend(responses);
        Ok(())
    }
}
