//! `add-nodes N [voters=(..)] [learners=(..)] [index=I] [inflight=K]
//! [prevote=B] [checkquorum=B] [read-only=safe|lease-based]
//! [max-committed-size-per-ready=S] [async-storage-writes=B]
//! [disable-conf-change-validation=B] [step-down-on-removal=B]`

use super::{invalid, CmdResult, Env, Failure, Node};
use crate::datadriven::Directive;
use raft_core::{ConfState, Config, EntryId, LogStorage, RawNode, ReadOnlyOption, Snapshot};

/// Options of etcd's harness for features this project does not build yet.
/// Naming one is refused rather than silently ignored.
const UNSUPPORTED: &[&str] = &[];

impl Env {
    pub(crate) fn add_nodes(&mut self, d: &Directive) -> CmdResult {
        let count = *d
            .positional_u64s()?
            .first()
            .ok_or_else(|| invalid(d, "expected the number of nodes"))?;
        for arg in &d.args {
            if UNSUPPORTED.contains(&arg.key.as_str()) {
                return Err(invalid(d, format!("{} is not supported yet", arg.key)).into());
            }
        }
        // etcd's harness config stub: fast timers, no size limits, no
        // inflight limit, and pre-vote off unless asked for.
        let mut config = {
            let mut cfg = Config::new(1);
            cfg.election_tick = 3;
            cfg.heartbeat_tick = 1;
            cfg.max_size_per_msg = u64::MAX;
            cfg.max_inflight_msgs = i32::MAX as usize;
            cfg.pre_vote = false;
            cfg
        };
        if let Some(n) = d.scan_u64("inflight")? {
            config.max_inflight_msgs = n as usize;
        }
        if let Some(b) = d.scan_bool("prevote")? {
            config.pre_vote = b;
        }
        if let Some(b) = d.scan_bool("checkquorum")? {
            config.check_quorum = b;
        }
        if let Some(b) = d.scan_bool("async-storage-writes")? {
            config.async_storage_writes = b;
        }
        match d.scan_str("read-only")? {
            None | Some("safe") => {}
            Some("lease-based") => config.read_only_option = ReadOnlyOption::LeaseBased,
            Some(other) => {
                return Err(Failure::Printed(format!(
                    "invalid read-only option \"{other}\""
                )))
            }
        }
        if let Some(n) = d.scan_u64("max-committed-size-per-ready")? {
            config.max_committed_size_per_ready = n;
        }
        if let Some(b) = d.scan_bool("disable-conf-change-validation")? {
            config.disable_conf_change_validation = b;
        }
        if let Some(b) = d.scan_bool("step-down-on-removal")? {
            config.step_down_on_removal = b;
        }
        let voters = d.scan_u64s("voters")?.unwrap_or_default();
        let learners = d.scan_u64s("learners")?.unwrap_or_default();
        if !learners.is_empty() {
            self.refuse_when_traced(d)?;
        }
        let index = d.scan_u64("index")?;
        let content = d.scan_str("content")?;
        // Like etcd, any of these means "start from an initial snapshot".
        let bootstrap =
            !voters.is_empty() || !learners.is_empty() || index.is_some() || content.is_some();
        let base_index = index.unwrap_or(0);
        if bootstrap && base_index <= 1 {
            return Err(Failure::Printed(
                "index must be specified as > 1 due to bootstrap".to_string(),
            ));
        }
        config.applied = if bootstrap { base_index } else { 0 };

        for _ in 0..count {
            let id = self.nodes.len() as u64 + 1;
            let node_config = {
                let mut cfg = config.clone();
                cfg.id = id;
                // Deterministic jitter, so that a script replays exactly.
                cfg.random_seed = Some(id);
                cfg
            };
            let (conf_state, base) = if bootstrap {
                (
                    ConfState::with_voters_and_learners(
                        voters.iter().copied(),
                        learners.iter().copied(),
                    ),
                    EntryId {
                        term: 1,
                        index: base_index,
                    },
                )
            } else {
                (ConfState::default(), EntryId::default())
            };
            // The bootstrap snapshot is the state the node starts from.
            let applied = super::AppliedState::new(if bootstrap {
                Snapshot::new(
                    base.index,
                    base.term,
                    conf_state.clone(),
                    content.unwrap_or_default().as_bytes().to_vec(),
                )
            } else {
                Snapshot::default()
            });
            let store = self
                .options
                .storage
                .create(id, conf_state, base)
                .map_err(|e| {
                    invalid(
                        d,
                        format!(
                            "cannot create {} storage for node {id}: {e}",
                            self.options.storage.name()
                        ),
                    )
                })?;
            let store: Box<dyn LogStorage> =
                Box::new(super::AppliedStateStorage::new(store, applied.clone()));
            #[cfg_attr(not(feature = "trace"), allow(unused_mut))]
            let mut raw =
                RawNode::new(&node_config, store).map_err(|e| super::raft_failure(d, e))?;
            #[cfg(feature = "trace")]
            if let Some(sink) = &self.trace {
                raw.set_tracer(sink.tracer())
                    .map_err(|e| super::raft_failure(d, e))?;
            }
            self.nodes.push(Node {
                raw,
                config: node_config,
                applied,
                append_work: Default::default(),
                apply_work: Default::default(),
            });
        }
        Ok(())
    }
}
