//! Trace validation: recording what raft-core does while a script runs, and
//! turning that record into the TLA+ data `spec/Traceetcdraft.tla` replays
//! against the specification (see `spec/README.md`, "Trace validation").
//!
//! - [`event`]: the trace file (NDJSON), always built;
//! - [`tla`]: the conversion to TLA+, always built;
//! - `sink`: the recorder hooked into raft-core, only with the `trace`
//!   feature (which turns on raft-core's).

pub mod event;
#[cfg(feature = "trace")]
pub mod sink;
pub mod tla;

pub use event::{parse_ndjson, to_ndjson, Event, EventKind};
pub use tla::{tla_traces, TlaError, TlaTrace};
