//! Driving raft-sim's deterministic simulation on a kit storage: each
//! simulated disk sits on a log from the user's [`StorageFactory`], and a
//! simulated crash reopens it when the factory can.

use super::{KitError, StorageFactory};
use raft_core::{NodeId, StorageError, WrapsLog};
use raft_sim::storage::Backend;
use raft_sim::{SimOptions, SimStorage};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// A kit storage under a simulated disk.
struct KitBackend<F: StorageFactory> {
    /// `None` only while being reopened, or after a failed reopen.
    log: Option<F::Storage>,
    factory: Arc<F>,
}

fn closed() -> StorageError {
    StorageError::Other("the log could not be reopened after the last crash".into())
}

impl<F: StorageFactory> WrapsLog for KitBackend<F> {
    type Log = F::Storage;
    fn wrapped(&self) -> Result<&F::Storage, StorageError> {
        self.log.as_ref().ok_or_else(closed)
    }
    fn wrapped_mut(&mut self) -> Result<&mut F::Storage, StorageError> {
        self.log.as_mut().ok_or_else(closed)
    }
}

impl<F: StorageFactory> Backend for KitBackend<F> {
    fn reopen(&mut self) -> Result<(), StorageError> {
        // A storage that cannot reopen keeps running as it is: the disk
        // model above it has only ever given it durable writes.
        if !self.factory.can_reopen() {
            return Ok(());
        }
        let log = self.log.take().ok_or_else(closed)?;
        self.log = Some(self.factory.reopen(log).map_err(StorageError::Other)?);
        Ok(())
    }
}

/// raft-sim's storage choice for logs from `factory`.
pub fn sim_storage<F: StorageFactory + 'static>(name: &str, factory: Arc<F>) -> SimStorage {
    SimStorage::new(name, move |node: NodeId, voters: &[NodeId]| {
        let conf_state = raft_core::ConfState::with_voters(voters.iter().copied());
        let log = factory
            .create(node, conf_state, raft_core::EntryId::default())
            .map_err(|e| e.to_string())?;
        Ok(Box::new(KitBackend {
            log: Some(log),
            factory: factory.clone(),
        }) as Box<dyn Backend>)
    })
}

/// What a range of simulated seeds found.
#[derive(Debug)]
pub struct SimReport {
    /// The storage's name.
    pub storage: String,
    /// The seeds run.
    pub seeds: Range<u64>,
    /// Simulated crashes, each of which reopened the log if it could.
    pub crashes: u64,
    /// Entries acknowledged to clients, summed over the seeds.
    pub acknowledged: usize,
    /// Snapshots the nodes took (each followed by a compaction): none for
    /// a log that keeps no snapshots, which runs without compaction.
    pub snapshots_taken: u64,
    /// Snapshots followers received and installed.
    pub snapshots_installed: u64,
    /// `seed: violation` for each failing seed.
    pub violations: Vec<String>,
}

impl fmt::Display for SimReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "simulation, storage={}: seeds {}..{}, {} crashes, {} entries acknowledged, {} snapshots taken, {} installed, {} violations",
            self.storage,
            self.seeds.start,
            self.seeds.end,
            self.crashes,
            self.acknowledged,
            self.snapshots_taken,
            self.snapshots_installed,
            self.violations.len()
        )?;
        for v in &self.violations {
            writeln!(f, "  {v}")?;
        }
        Ok(())
    }
}

/// Runs `seeds` with `options`, its storage replaced by `storage`.
pub fn simulate(
    storage: SimStorage,
    seeds: Range<u64>,
    options: &SimOptions,
) -> Result<SimReport, KitError> {
    let mut options = options.clone();
    let name = storage.name().to_string();
    options.storage = storage;
    let mut report = SimReport {
        storage: name,
        seeds: seeds.clone(),
        crashes: 0,
        acknowledged: 0,
        snapshots_taken: 0,
        snapshots_installed: 0,
        violations: Vec::new(),
    };
    for seed in seeds {
        let outcome = raft_sim::run(seed, &options)
            .map_err(|e| KitError::Failed(format!("seed {seed}: {e}")))?;
        report.crashes += outcome.stats.crashes;
        report.acknowledged += outcome.stats.acked;
        report.snapshots_taken += outcome.stats.snapshots_created;
        report.snapshots_installed += outcome.stats.snapshots_installed;
        if let Some(v) = outcome.violation {
            report.violations.push(format!(
                "seed {seed}: {v} (replay with raft-sim --seed {seed} on memory to compare)"
            ));
        }
    }
    Ok(report)
}
