//! `transfer-leadership from=N to=M`: etcd's command, which asks node
//! `from` to hand leadership to node `to` (a follower forwards the request
//! to its leader).

use super::{invalid, raft_failure, CmdResult, Env};
use crate::datadriven::Directive;

impl Env {
    pub(crate) fn transfer_leadership(&mut self, d: &Directive) -> CmdResult {
        let from = d
            .scan_u64("from")?
            .ok_or_else(|| invalid(d, "expected valid \"from\" argument"))?;
        let to = d
            .scan_u64("to")?
            .ok_or_else(|| invalid(d, "expected valid \"to\" argument"))?;
        let i = self.node_index(d, from)?;
        let to_id = self.nodes[self.node_index(d, to)?].config.id;
        // etcd's harness ignores the result; only a storage failure could
        // come back here, and that ends the script.
        self.nodes[i]
            .raw
            .transfer_leader(to_id)
            .map_err(|e| raft_failure(d, e))
    }
}
