//! `read-index N CTX`: this project's extension of etcd's script format
//! (etcd's harness has no such command). Node `N` asks for a read index
//! with request context `CTX`; the answer shows up as a `ReadStates` line
//! in a later Ready of the node, in etcd's own `Ready` format.

use super::{invalid, raft_failure, CmdResult, Env};
use crate::datadriven::Directive;

impl Env {
    pub(crate) fn read_index(&mut self, d: &Directive) -> CmdResult {
        let i = self.first_node(d)?;
        let ctx = match d.args.get(1) {
            Some(arg) if d.args.len() == 2 && arg.vals.is_empty() => arg.key.clone(),
            _ => return Err(invalid(d, "expected a node id and one request context").into()),
        };
        // Like etcd's RawNode.ReadIndex, a request that cannot be served
        // (no leader) is dropped, not refused: nothing to print.
        self.nodes[i]
            .raw
            .read_index(ctx.into_bytes())
            .map_err(|e| raft_failure(d, e))
    }
}
