//! `propose-conf-change <id> [v1=B] [transition=auto|implicit|explicit]`
//! with the changes as input in etcd's token notation (`v2 l3 r1 u4`).
//!
//! Committed changes are applied by raft-core's Ready loop; the
//! environment records the configuration each led to in the node's applied
//! state (see `ready.rs`), which is what its snapshots carry.

use super::{CmdResult, Env, Failure};
use crate::datadriven::Directive;
use raft_core::{AnyConfChange, ConfChange, ConfChangeTransition, ConfChangeV2};

/// Why a traced run refuses membership changes.
const OUT_OF_SPEC: &str = "membership changes are outside the TLA+ specification's scope: \
     scripts with them are not trace-validated (see spec/README.md)";

impl Env {
    /// Trace validation models a fixed voter set: a traced run stops at the
    /// first membership change (or learner) rather than record a trace the
    /// specification would misread.
    pub(crate) fn refuse_when_traced(&self, d: &Directive) -> Result<(), Failure> {
        #[cfg(feature = "trace")]
        if self.trace.is_some() {
            return Err(super::invalid(d, OUT_OF_SPEC).into());
        }
        let _ = (d, OUT_OF_SPEC);
        Ok(())
    }

    pub(crate) fn propose_conf_change(&mut self, d: &Directive) -> CmdResult {
        self.refuse_when_traced(d)?;
        let i = self.first_node(d)?;
        let mut v1 = false;
        let mut transition = ConfChangeTransition::Auto;
        for arg in d.args.iter().skip(1) {
            for val in &arg.vals {
                match arg.key.as_str() {
                    "v1" => {
                        v1 = crate::datadriven::parse_go_bool(val).ok_or_else(|| {
                            Failure::Printed(format!(
                                "strconv.ParseBool: parsing {}: invalid syntax",
                                raft_core::describe::go_quote(val.as_bytes())
                            ))
                        })?;
                    }
                    "transition" => {
                        transition = match val.as_str() {
                            "auto" => ConfChangeTransition::Auto,
                            "implicit" => ConfChangeTransition::JointImplicit,
                            "explicit" => ConfChangeTransition::JointExplicit,
                            other => {
                                return Err(Failure::Printed(format!("unknown transition {other}")))
                            }
                        };
                    }
                    other => return Err(Failure::Printed(format!("unknown command {other}"))),
                }
            }
        }
        let changes = ConfChangeV2::changes_from_tokens(&d.input)
            .map_err(|e| Failure::Printed(e.to_string()))?;
        let cc: AnyConfChange = if v1 {
            match changes[..] {
                [one] if transition == ConfChangeTransition::Auto => {
                    ConfChange::new(one.change_type, one.node_id).into()
                }
                _ => {
                    return Err(Failure::Printed(
                        "v1 conf change can only have one operation and no transition".to_string(),
                    ))
                }
            }
        } else {
            ConfChangeV2::new(transition, changes).into()
        };
        self.nodes[i]
            .raw
            .propose_conf_change(cc)
            .map_err(|e| super::control::printed_or_fatal(d, e))
    }
}
