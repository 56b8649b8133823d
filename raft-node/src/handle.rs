//! Starting a node and talking to it.

use crate::append_worker::AppendWorker;
use crate::config::{NodeConfig, StorageWrites};
use crate::driver::{Command, Driver};
use crate::error::{NodeError, ProposeError, ReadError, TransferError};
use crate::membership::{MemberChange, Membership, MembershipError, MembershipState};
use crate::metrics::Metrics;
use crate::snapshotting::Snapshots;
use crate::state_machine::{Applied, StateMachine};
use bytes::Bytes;
use raft_core::{LogStorage, NodeId, RawNode, Snapshot, Transport, WriteKind};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// A cloneable handle on a running node.
#[derive(Clone)]
pub struct NodeHandle {
    id: NodeId,
    commands: mpsc::Sender<Command>,
    metrics: watch::Receiver<Metrics>,
    membership: watch::Receiver<Membership>,
    stop: Arc<watch::Sender<bool>>,
    task: Arc<Mutex<Option<NodeTask>>>,
}

/// The node's loop, taken by the first `shutdown` to await its end.
type NodeTask = JoinHandle<Result<(), NodeError>>;

/// Starts a node on the current tokio runtime: it recovers its state from
/// `storage`, talks through `transport` and applies committed entries to
/// `state_machine`.
///
/// If `storage` holds a snapshot newer than `config.raft.applied`, the
/// state machine is first restored from it and only the entries after it
/// are applied (a `raft.applied` at or past the snapshot says the state
/// machine keeps its own state, and it is left alone).
pub fn spawn<S, T, M>(
    mut config: NodeConfig,
    storage: S,
    transport: T,
    mut state_machine: M,
) -> Result<NodeHandle, NodeError>
where
    S: LogStorage + Send + 'static,
    T: Transport + Send + 'static,
    M: StateMachine,
{
    config.validate()?;
    config.raft.read_only_option = config.read_mode.raft_option();
    let staging = storage.write_kind() == WriteKind::Staged;
    let background = match config.storage_writes {
        StorageWrites::Inline => false,
        StorageWrites::Background => true,
        StorageWrites::Auto => staging,
    };
    config.raft.async_storage_writes = background;
    let stored = match storage.snapshot() {
        Ok(snapshot) => snapshot,
        // A log that keeps no snapshots has none to restore.
        Err(raft_core::StorageError::SnapshotTemporarilyUnavailable) => Snapshot::default(),
        Err(e) => return Err(raft_core::Error::from(e).into()),
    };
    let restored = !stored.is_empty() && stored.index() > config.raft.applied;
    if restored {
        let index = stored.index();
        tracing::info!(
            id = config.raft.id,
            index,
            bytes = stored.data.len(),
            "restoring the state machine from the stored snapshot"
        );
        state_machine
            .restore(&stored.data, index)
            .map_err(|source| NodeError::Restore { index, source })?;
        // The entries up to the snapshot are in the state already: raft-core
        // hands out only those after it.
        config.raft.applied = index;
    }
    let raw = RawNode::new(&config.raft, storage)?;
    let id = raw.id();
    let mut snapshots = Snapshots::new(config.snapshot.clone(), raw.applied(), stored.index());
    snapshots.metrics.restored = u64::from(restored);
    snapshots.metrics.compacted_to = raw
        .store()
        .first_index()
        .map_err(raft_core::Error::from)?
        .saturating_sub(1);
    let (command_tx, command_rx) = mpsc::channel(config.proposal_queue);
    let (metrics_tx, metrics_rx) = watch::channel(Metrics {
        id,
        applied: raw.applied(),
        snapshots: snapshots.metrics.clone(),
        ..Metrics::default()
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let (membership, membership_rx) = MembershipState::new(raw.status().conf_state);
    // Only a storage that stages its writes has I/O to hand off; any other
    // is written by the loop even in the background mode.
    let (worker, appended) = match background && staging {
        true => {
            let (worker, appended) = AppendWorker::start(id, config.append_queue)?;
            (Some(worker), Some(appended))
        }
        false => (None, None),
    };
    let driver = Driver::new(
        raw,
        state_machine,
        config,
        metrics_tx,
        snapshots,
        membership,
        worker,
    );
    let task = tokio::spawn(driver.run(transport, command_rx, stop_rx, appended));
    Ok(NodeHandle {
        id,
        commands: command_tx,
        metrics: metrics_rx,
        membership: membership_rx,
        stop: Arc::new(stop_tx),
        task: Arc::new(Mutex::new(Some(task))),
    })
}

impl NodeHandle {
    /// The node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Proposes `data` and waits until it is committed and applied here;
    /// returns its log index. Only the leader accepts proposals.
    pub async fn propose(&self, data: impl Into<Bytes>) -> Result<u64, ProposeError> {
        Ok(self.propose_with_response(data).await?.index)
    }

    /// Like [`NodeHandle::propose`], and also returns what the state machine
    /// answered when it applied the entry on this node.
    pub async fn propose_with_response(
        &self,
        data: impl Into<Bytes>,
    ) -> Result<Applied, ProposeError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Propose {
                data: data.into(),
                reply,
            })
            .await
            .map_err(|_| ProposeError::ShuttingDown)?;
        answer.await.map_err(|_| ProposeError::ShuttingDown)?
    }

    /// Proposes every entry of `entries`, in order, in one request to the
    /// loop (so they all enter the same Ready and usually the same append),
    /// and resolves once each is settled, with one result per entry in the
    /// order given: [`Applied`] once committed and applied here, or why
    /// not. Entries are independent: one refused (say, by the
    /// uncommitted-size limit) does not stop the others. A node that does
    /// not lead refuses them all with [`ProposeError::NotLeader`]. For
    /// clients with many entries at hand, this saves a queue slot, a
    /// wake-up and a reply channel per entry.
    pub async fn propose_batch(
        &self,
        entries: impl IntoIterator<Item = Bytes>,
    ) -> Vec<Result<Applied, ProposeError>> {
        let entries: Vec<Bytes> = entries.into_iter().collect();
        let len = entries.len();
        let (reply, answer) = oneshot::channel();
        if self
            .commands
            .send(Command::ProposeBatch { entries, reply })
            .await
            .is_err()
        {
            return vec![Err(ProposeError::ShuttingDown); len];
        }
        answer
            .await
            .unwrap_or_else(|_| vec![Err(ProposeError::ShuttingDown); len])
    }

    /// A linearizable read barrier: resolves with a read index once this
    /// node's state machine has applied up to it, so that reading the
    /// state machine afterwards sees every write acknowledged (by any node)
    /// before this call. Works on followers too: the request travels to
    /// the leader, which confirms it still leads (see [`crate::ReadMode`]),
    /// and the follower waits to apply up to the answer.
    ///
    /// Concurrent calls share one confirmation round. Nothing is written
    /// to the log. Fails rather than risk a stale answer: see
    /// [`ReadError`] for when to retry.
    pub async fn read_index(&self) -> Result<u64, ReadError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::ReadIndex { reply })
            .await
            .map_err(|_| ReadError::ShuttingDown)?;
        answer.await.map_err(|_| ReadError::ShuttingDown)?
    }

    /// Asks the leader (this node, or the one it knows of) to hand
    /// leadership to `to`, and resolves once `to` leads as far as this node
    /// knows. Proposals to the old leader are refused meanwhile; leadership
    /// is usually gone for about one round trip plus a vote.
    pub async fn transfer_leader(&self, to: NodeId) -> Result<(), TransferError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::TransferLeader { to, reply })
            .await
            .map_err(|_| TransferError::ShuttingDown)?;
        answer.await.map_err(|_| TransferError::ShuttingDown)?
    }

    /// The node's full state as the Raft loop sees it now, every peer's
    /// progress included: asked of the loop, so it waits behind whatever the
    /// loop is doing. For frequent polling use [`NodeHandle::metrics`].
    pub async fn status(&self) -> Result<raft_core::Status, ProposeError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Status { reply })
            .await
            .map_err(|_| ProposeError::ShuttingDown)?;
        answer.await.map_err(|_| ProposeError::ShuttingDown)
    }

    /// The node's latest metrics (copied; never blocks the Raft loop for
    /// more than the copy).
    pub fn metrics(&self) -> Metrics {
        self.metrics.borrow().clone()
    }

    /// Waits until the metrics satisfy `condition`, and returns them.
    /// Fails if the node stops first.
    pub async fn wait_for(
        &self,
        mut condition: impl FnMut(&Metrics) -> bool,
    ) -> Result<Metrics, ProposeError> {
        let mut rx = self.metrics.clone();
        let seen = rx
            .wait_for(|m| condition(m))
            .await
            .map_err(|_| ProposeError::ShuttingDown)?;
        Ok(seen.clone())
    }

    /// Adds voter `id`, reachable at `address`; resolves with the new
    /// membership once the change is applied on this node (the leader).
    pub async fn add_voter(
        &self,
        id: NodeId,
        address: impl Into<Bytes>,
    ) -> Result<Membership, MembershipError> {
        self.change_members(vec![MemberChange::AddVoter {
            id,
            address: address.into(),
        }])
        .await
    }

    /// Adds learner `id`, reachable at `address`: it receives the log (by
    /// snapshot if the log no longer reaches back far enough) but does not
    /// vote. Promote it once it has caught up.
    pub async fn add_learner(
        &self,
        id: NodeId,
        address: impl Into<Bytes>,
    ) -> Result<Membership, MembershipError> {
        self.change_members(vec![MemberChange::AddLearner {
            id,
            address: address.into(),
        }])
        .await
    }

    /// Makes learner `id` a voter.
    pub async fn promote(&self, id: NodeId) -> Result<Membership, MembershipError> {
        self.change_members(vec![MemberChange::Promote(id)]).await
    }

    /// Removes member `id` (voter or learner; the leader itself included,
    /// which then stops leading).
    pub async fn remove(&self, id: NodeId) -> Result<Membership, MembershipError> {
        self.change_members(vec![MemberChange::Remove(id)]).await
    }

    /// Makes several changes at once. One change applies directly; several
    /// go through a joint configuration (old and new voters must both
    /// agree) that raft-core leaves by itself: this resolves when the
    /// joint configuration is entered, and [`NodeHandle::wait_membership`]
    /// sees it left.
    ///
    /// Only the leader accepts changes, one at a time; a change that would
    /// leave no voter, or names members wrongly, is refused before it is
    /// proposed.
    pub async fn change_members(
        &self,
        changes: Vec<MemberChange>,
    ) -> Result<Membership, MembershipError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::ChangeMembers { changes, reply })
            .await
            .map_err(|_| MembershipError::ShuttingDown)?;
        answer.await.map_err(|_| MembershipError::ShuttingDown)?
    }

    /// The membership this node last applied.
    pub fn membership(&self) -> Membership {
        self.membership.borrow().clone()
    }

    /// A watch of the membership, changed each time this node applies a
    /// change: what a transport follows to add and drop peers.
    pub fn watch_membership(&self) -> watch::Receiver<Membership> {
        self.membership.clone()
    }

    /// Waits until the membership satisfies `condition`, and returns it.
    pub async fn wait_membership(
        &self,
        mut condition: impl FnMut(&Membership) -> bool,
    ) -> Result<Membership, MembershipError> {
        let mut rx = self.membership.clone();
        let seen = rx
            .wait_for(|m| condition(m))
            .await
            .map_err(|_| MembershipError::ShuttingDown)?;
        Ok(seen.clone())
    }

    /// Stops the node and waits for its loop to finish. Pending proposals
    /// fail with [`ProposeError::ShuttingDown`]. Returns the error the loop
    /// stopped on, if it stopped on its own because of one.
    pub async fn shutdown(&self) -> Result<(), NodeError> {
        let _ = self.stop.send(true);
        let task = self
            .task
            .lock()
            .map_err(|_| NodeError::Task("handle lock poisoned".to_string()))?
            .take();
        match task {
            Some(task) => task.await.map_err(|e| NodeError::Task(e.to_string()))?,
            None => Ok(()),
        }
    }
}
