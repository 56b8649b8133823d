//! Commands that print state: `raft-log`, `raft-state`, `status`,
//! `log-level`.

use super::{raft_failure, CmdResult, Env, Failure};
use crate::datadriven::Directive;
use crate::output::parse_level;
use raft_core::describe::{default_formatter, describe_entries};

/// etcd's message for a bad level name (Go's `%v` of its name array).
pub(crate) const LEVEL_ERROR: &str =
    "log levels must be either of [DEBUG INFO WARN ERROR FATAL NONE]";

impl Env {
    pub(crate) fn log_level(&mut self, d: &Directive) -> CmdResult {
        let name = d.positional().next().unwrap_or_default();
        match parse_level(name) {
            Some(level) => {
                self.out.set_level(level);
                Ok(())
            }
            None => Err(Failure::Printed(LEVEL_ERROR.to_string())),
        }
    }

    /// The node's durable log, as its storage holds it.
    pub(crate) fn raft_log(&mut self, d: &Directive) -> CmdResult {
        let i = self.first_node(d)?;
        let store = self.nodes[i].raw.store();
        let read = || -> Result<String, raft_core::StorageError> {
            let (first, last) = (store.first_index()?, store.last_index()?);
            if last < first {
                return Ok(format!(
                    "log is empty: first index={first}, last index={last}"
                ));
            }
            let entries = store.entries(first, last + 1, u64::MAX)?;
            Ok(describe_entries(&entries, &default_formatter))
        };
        let text = read().map_err(|e| raft_failure(d, e.into()))?;
        self.out.write(&text);
        Ok(())
    }

    pub(crate) fn raft_state(&mut self) -> CmdResult {
        for node in &self.nodes {
            let st = node.raw.status();
            let voter = if st.voters.contains(&st.id) {
                "(Voter)"
            } else {
                "(Non-Voter)"
            };
            self.out.write(&format!(
                "{}: {} {} Term:{} Lead:{}\n",
                st.id, st.soft_state.role, voter, st.hard_state.term, st.soft_state.leader
            ));
        }
        Ok(())
    }

    /// A leader's view of each peer's progress; nothing on other nodes.
    pub(crate) fn status(&mut self, d: &Directive) -> CmdResult {
        let i = self.first_node(d)?;
        if let Some(progress) = self.nodes[i].raw.status().progress {
            for (id, pr) in progress {
                self.out.write(&format!("{id}: {pr}\n"));
            }
        }
        Ok(())
    }
}
