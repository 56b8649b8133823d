//! Commands that feed input to one node: `campaign`, `propose`,
//! `tick-election`, `tick-heartbeat`, `forget-leader`, `report-unreachable`,
//! `set-randomized-election-timeout`.

use super::{invalid, raft_failure, CmdResult, Env, Failure};
use crate::datadriven::Directive;
use raft_core::Config;

/// Errors a node returns for input the script is allowed to give (a
/// proposal without leader, ...) are part of the output; a storage failure
/// is not.
pub(crate) fn printed_or_fatal(d: &Directive, e: raft_core::Error) -> Failure {
    match e {
        raft_core::Error::Storage(_) => raft_failure(d, e),
        other => Failure::Printed(other.to_string()),
    }
}

impl Env {
    pub(crate) fn campaign(&mut self, d: &Directive) -> CmdResult {
        let i = self.first_node(d)?;
        self.nodes[i]
            .raw
            .campaign()
            .map_err(|e| printed_or_fatal(d, e))
    }

    pub(crate) fn propose(&mut self, d: &Directive) -> CmdResult {
        let i = self.first_node(d)?;
        let data = match d.args.get(1) {
            Some(arg) if d.args.len() == 2 && arg.vals.is_empty() => arg.key.clone(),
            _ => return Err(invalid(d, "expected exactly one key with no vals").into()),
        };
        self.nodes[i]
            .raw
            .propose(data.into_bytes())
            .map_err(|e| printed_or_fatal(d, e))
    }

    pub(crate) fn tick(&mut self, d: &Directive, ticks: fn(&Config) -> usize) -> CmdResult {
        let i = self.first_node(d)?;
        let node = &mut self.nodes[i];
        for _ in 0..ticks(&node.config) {
            node.raw.tick().map_err(|e| raft_failure(d, e))?;
        }
        Ok(())
    }

    pub(crate) fn forget_leader(&mut self, d: &Directive) -> CmdResult {
        let i = self.first_node(d)?;
        self.nodes[i]
            .raw
            .forget_leader()
            .map_err(|e| raft_failure(d, e))
    }

    pub(crate) fn report_unreachable(&mut self, d: &Directive) -> CmdResult {
        let idxs = self.node_indexes(d)?;
        let [on, reported] = idxs[..] else {
            return Err(Failure::Printed(
                "must specify exactly two node indexes: node on which to report, and reported node"
                    .to_string(),
            ));
        };
        let reported_id = self.nodes[reported].config.id;
        self.nodes[on]
            .raw
            .report_unreachable(reported_id)
            .map_err(|e| raft_failure(d, e))
    }

    pub(crate) fn set_randomized_election_timeout(&mut self, d: &Directive) -> CmdResult {
        let i = self.first_node(d)?;
        let timeout = d
            .scan_u64("timeout")?
            .filter(|t| *t > 0)
            .ok_or_else(|| invalid(d, "timeout=N (N > 0) is required"))?;
        self.nodes[i]
            .raw
            .set_randomized_election_timeout(timeout as usize);
        // The override happens outside any step of the node: only the
        // environment can report it to trace validation.
        #[cfg(feature = "trace")]
        if let Some(sink) = &self.trace {
            let id = self.nodes[i].config.id;
            sink.record(id, crate::trace::EventKind::SetElectionTimeout { timeout });
        }
        Ok(())
    }
}
