//! The conformance kit: run this crate's checks against **your**
//! [`LogStorage`](raft_core::LogStorage) (and, optionally, your transport)
//! from your own tests.
//!
//! Give the kit a [`StorageFactory`] — a closure
//! `|node, conf_state, base| -> Result<YourLog, _>` will do, or a type that
//! also reopens logs so durability is checked — and it runs:
//!
//! - the [`LogStorage` contract suite](contract): every behaviour raft-core
//!   relies on (range reads and the size limit, term lookups at both ends,
//!   the typed errors, truncation of a conflicting suffix, the hard state,
//!   atomic refusals, and with reopening, durability), reported case by
//!   case;
//! - the project's interaction scripts (compiled into this crate), every
//!   node's log made by your factory, compared at the protocol level with
//!   the outputs pinned for them;
//! - any directory of etcd-format interaction scripts, etcd's own among
//!   them ([`Kit::scripts_in`], [`Kit::etcd_scripts`]), compared the way
//!   etcd's reference `protocol_diff.py` compares them: log lines ignored,
//!   an empty output reads `ok`, a line diff on failure;
//! - raft-sim's deterministic simulation with crashes and network faults,
//!   every simulated disk on your storage ([`Kit::simulate`]).
//!
//! ```
//! use raft_conformance::kit::Kit;
//! use raft_core::MemStorage;
//!
//! // Your storage goes here; MemStorage stands in for it.
//! let kit = Kit::new("my-storage", |_node, conf_state, base| {
//!     Ok::<_, std::io::Error>(MemStorage::with_base(conf_state, base))
//! });
//! let contract = kit.check_contract().unwrap(); // every case passed...
//! assert!(contract.passed() > 10);
//! // ...except those that need reopening, which a closure cannot do:
//! assert!(contract.skipped() > 0);
//! kit.check_project_scripts().unwrap();
//! let sim = kit.simulate(0..3).unwrap();
//! assert!(sim.violations.is_empty());
//! ```
//!
//! Messages travel in process unless a [`WireSource`] says otherwise
//! ([`Kit::with_wire`]): implement [`Wire`](crate::env::Wire) for your
//! transport, or wrap a [`Transport`](raft_core::Transport) in a
//! [`TransportWire`](crate::env::TransportWire).
//!
//! This crate's default features build no RocksDB and no QUIC; the
//! `rocks` and `quic` features add them as ready-made storage and wire.

pub mod contract;
mod factory;
pub mod protocol;
#[cfg(feature = "rocks")]
pub mod rocks;
pub mod scripts;
pub mod sim;

pub use contract::{run_contract, ContractReport, Verdict};
pub use factory::{BoxError, StorageFactory};
pub use scripts::{find_etcd_testdata, ScriptsReport, PROJECT_SCRIPTS};
pub use sim::SimReport;

use crate::env::{EnvOptions, StorageSource, WireSource};
use raft_core::{ConfState, EntryId, NodeId};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The kit for one storage (and wire). See the [module docs](self).
pub struct Kit<F> {
    name: String,
    factory: Arc<F>,
    wire: WireSource,
}

/// Lends a shared factory to the environment and the simulator.
struct Shared<F>(Arc<F>);

impl<F: StorageFactory> StorageFactory for Shared<F> {
    type Storage = F::Storage;
    fn create(
        &self,
        node: NodeId,
        conf_state: ConfState,
        base: EntryId,
    ) -> Result<F::Storage, BoxError> {
        self.0.create(node, conf_state, base)
    }
    fn can_reopen(&self) -> bool {
        self.0.can_reopen()
    }
    fn reopen(&self, storage: F::Storage) -> Result<F::Storage, BoxError> {
        self.0.reopen(storage)
    }
}

impl<F: StorageFactory + 'static> Kit<F> {
    /// A kit for the logs `factory` makes, called `name` in reports.
    pub fn new(name: impl Into<String>, factory: F) -> Kit<F> {
        Kit {
            name: name.into(),
            factory: Arc::new(factory),
            wire: WireSource::memory(),
        }
    }

    /// Carries the scripts' messages over `wire` instead of in process.
    pub fn with_wire(mut self, wire: WireSource) -> Kit<F> {
        self.wire = wire;
        self
    }

    /// The environment options that put every node's log on this storage
    /// and its messages on this wire, for [`crate::run_text`] and friends.
    pub fn env_options(&self) -> EnvOptions {
        EnvOptions {
            storage: StorageSource::new(self.name.clone(), Shared(self.factory.clone())),
            transport: self.wire.clone(),
        }
    }

    /// Runs the contract suite and returns its report, passed or not.
    pub fn contract(&self) -> ContractReport {
        run_contract(&self.name, &*self.factory)
    }

    /// Runs the contract suite; `Err` with the whole report if a case
    /// failed.
    pub fn check_contract(&self) -> Result<ContractReport, KitError> {
        let report = self.contract();
        if report.failures().next().is_some() {
            return Err(KitError::Failed(report.to_string()));
        }
        Ok(report)
    }

    /// Runs the project's scripts; `Err` with a diff of every difference.
    pub fn check_project_scripts(&self) -> Result<ScriptsReport, KitError> {
        scripts::check_project_scripts(&self.env_options()).into_result()
    }

    /// Runs every `*.txt` script in `dir`, comparing each with the outputs
    /// it holds at the protocol level; `Err` with a diff of every
    /// difference, or if `dir` holds no script.
    pub fn scripts_in(&self, dir: &Path) -> Result<ScriptsReport, KitError> {
        scripts::check_directory(dir, &self.env_options())?.into_result()
    }

    /// Runs etcd's reference scripts, found by [`find_etcd_testdata`] from
    /// `start` (your workspace root, say). `Ok(None)` when there are none,
    /// unless `REQUIRE_ETCD=1` is set, which makes their absence an error.
    pub fn etcd_scripts(&self, start: &Path) -> Result<Option<ScriptsReport>, KitError> {
        match find_etcd_testdata(start) {
            Some(dir) => self.scripts_in(&dir).map(Some),
            None if scripts::etcd_required() => Err(KitError::EtcdMissing {
                searched: start.to_path_buf(),
            }),
            None => Ok(None),
        }
    }

    /// Runs raft-sim's seeds `seeds` (short runs: 600 ticks of faults each)
    /// with every simulated disk on this storage; `Err` listing the seeds
    /// that broke a safety or liveness property.
    pub fn simulate(&self, seeds: Range<u64>) -> Result<SimReport, KitError> {
        let options = raft_sim::SimOptions {
            fault_ticks: 600,
            ..raft_sim::SimOptions::default()
        };
        self.simulate_with(seeds, &options)
    }

    /// [`simulate`](Kit::simulate) with your own simulation options (their
    /// storage is replaced by this kit's).
    pub fn simulate_with(
        &self,
        seeds: Range<u64>,
        options: &raft_sim::SimOptions,
    ) -> Result<SimReport, KitError> {
        let storage = sim::sim_storage(&self.name, self.factory.clone());
        let report = sim::simulate(storage, seeds, options)?;
        if report.violations.is_empty() {
            Ok(report)
        } else {
            Err(KitError::Failed(report.to_string()))
        }
    }

    /// The contract suite, the project's scripts and 20 simulation seeds;
    /// the reports, or the first failure.
    pub fn test_all(&self) -> Result<KitReport, KitError> {
        Ok(KitReport {
            contract: self.check_contract()?,
            project_scripts: self.check_project_scripts()?,
            simulation: self.simulate(0..20)?,
        })
    }
}

/// What [`Kit::test_all`] ran.
#[derive(Debug)]
pub struct KitReport {
    /// The contract suite.
    pub contract: ContractReport,
    /// The project's scripts.
    pub project_scripts: ScriptsReport,
    /// The simulation.
    pub simulation: SimReport,
}

impl fmt::Display for KitReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}{}",
            self.contract, self.project_scripts, self.simulation
        )
    }
}

/// Why the kit failed. Its `Debug` is its `Display`, so that a test that
/// unwraps it prints a readable report.
#[derive(thiserror::Error)]
pub enum KitError {
    /// A check failed; the report says which and how.
    #[error("{0}")]
    Failed(String),
    /// A directory of scripts could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `REQUIRE_ETCD=1` and no etcd reference scripts were found.
    #[error(
        "REQUIRE_ETCD=1 but no etcd reference scripts were found: set ETCD_REFERENCE, or put \
         shared/etcd/testdata beside {searched} or a directory above it"
    )]
    EtcdMissing {
        /// Where the search started.
        searched: PathBuf,
    },
}

impl fmt::Debug for KitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
