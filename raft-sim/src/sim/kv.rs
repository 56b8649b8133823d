//! The key-value clients against the simulated cluster: requests sent as
//! scheduled, answers taken from the nodes as they come, requests given up
//! when their node goes down or stays silent, and the history checked with
//! raft-lincheck once the run ends.

use super::Sim;
use crate::checker::{Property, Violation};
use crate::kv::clients::Begun;
use crate::kv::KvClients;
use crate::node::Input;
use crate::schedule::KvRequest;
#[cfg(feature = "fault-injection")]
use crate::state_machine::SimFault;

impl Sim {
    /// A client sends `req`; a client still waiting for its previous answer
    /// lets it pass, and one whose node is down cannot connect.
    pub(super) fn kv_request(&mut self, req: KvRequest) -> Result<(), Violation> {
        if !self.node(req.node).is_some_and(|n| n.is_up()) {
            self.log(format!(
                "   n{} is down: client {} cannot connect",
                req.node, req.client
            ));
            return Ok(());
        }
        let Some(begun) = self.kv.begin(&req, self.now) else {
            self.log(format!(
                "   client {} is still waiting: nothing sent",
                req.client
            ));
            return Ok(());
        };
        match begun {
            Begun::Read { ctx, key } => {
                if self.stale_local_read(&req, &key) {
                    self.flush_kv_lines();
                    return Ok(());
                }
                self.chk.begin_read(ctx.clone());
                self.stats.reads_asked += 1;
                self.feed(req.node, Input::Read(ctx))?;
            }
            Begun::Write(payload) => {
                if !self.feed(req.node, Input::Propose(payload))? {
                    self.kv.refused(req.client);
                    self.log(format!("   n{} refused the write", req.node));
                }
            }
        }
        self.flush_kv_lines();
        Ok(())
    }

    /// The planted bug: a follower answers a get from its own state at
    /// once, without ReadIndex. True if it did.
    #[cfg(feature = "fault-injection")]
    fn stale_local_read(&mut self, req: &KvRequest, key: &str) -> bool {
        if self.opts.sim_fault != Some(SimFault::StaleLocalReads) {
            return false;
        }
        let Some(node) = self.node(req.node) else {
            return false;
        };
        if node.role() == Some(raft_core::Role::Leader) {
            return false;
        }
        let value = node.kv.get(key).map(str::to_string);
        let answer = raft_lincheck::kv::KvOutput::Value(value);
        self.kv.complete(req.client, answer, self.now);
        true
    }

    #[cfg(not(feature = "fault-injection"))]
    fn stale_local_read(&mut self, _req: &KvRequest, _key: &str) -> bool {
        false
    }

    /// Once a tick: clients whose node is down, or that waited too long,
    /// give up (their outcome is unknown).
    pub(super) fn kv_sweep(&mut self) {
        for (client, node, waited) in self.kv.waiting(self.now) {
            let why = if !self.node(node).is_some_and(|n| n.is_up()) {
                "its node is down"
            } else if KvClients::timed_out(waited) {
                "timed out"
            } else {
                continue;
            };
            self.kv.abandon(client, self.now, why);
        }
        self.flush_kv_lines();
    }

    pub(super) fn flush_kv_lines(&mut self) {
        for line in self.kv.take_lines() {
            self.log(line);
        }
    }

    /// The run is over: checks the clients' history, counting what it held.
    pub(super) fn kv_check(&mut self) -> Option<Violation> {
        let chk = &self.chk;
        let (summary, anomaly) = self.kv.check(self.now, |payload| chk.is_acked(payload));
        self.stats.kv = summary;
        self.flush_kv_lines();
        let anomaly = anomaly?;
        Some(Violation {
            property: Property::Linearizability,
            at: anomaly.at,
            detail: anomaly.detail,
        })
    }
}
