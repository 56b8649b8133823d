//! `raft-cluster propose`, `read`, `transfer` and `member`: requests through
//! the client ports that nodes open with `raft-cluster node --client ADDR`,
//! each sent to the node that answers it, the leader for most (see
//! [`raft_cluster::client`]).

use crate::AnyError;
use clap::{Args, Subcommand};
use raft_cluster::client::{parse_endpoints, Client, Endpoint};
use raft_cluster::member_wire::MemberRequest;
use raft_core::NodeId;
use std::net::SocketAddr;

#[derive(Args, Debug)]
pub struct ProposeArgs {
    /// Client addresses of the cluster's nodes, as ADDR or ID=ADDR; repeat
    /// the flag or separate them with commas. With ids, a node's "node N
    /// leads" answer goes straight to node N; without, the next address is
    /// tried.
    #[arg(long = "to", alias = "endpoints", required = true, value_parser = parse_to)]
    to: Vec<Vec<Endpoint>>,
    /// The data to propose (repeated --count times, numbered).
    #[arg(default_value = "hello")]
    data: String,
    /// How many proposals to send, one after the other.
    #[arg(long, default_value_t = 1)]
    count: u64,
    /// Requests per proposal before giving up (refusals, failed connections
    /// and leader redirects each count one).
    #[arg(long, default_value_t = 20)]
    max_tries: u32,
}

fn parse_to(s: &str) -> Result<Vec<Endpoint>, String> {
    parse_endpoints(s).map_err(|e| e.to_string())
}

pub async fn run(args: ProposeArgs) -> Result<(), AnyError> {
    let endpoints: Vec<Endpoint> = args.to.into_iter().flatten().collect();
    let mut client = Client::new(endpoints, args.max_tries)?;
    for i in 0..args.count {
        let data = if args.count == 1 {
            args.data.clone()
        } else {
            format!("{}-{i}", args.data)
        };
        let committed = client.propose(data.as_bytes()).await?;
        println!("{data}: committed at index {}", committed.index);
        if committed.tries > 1 {
            eprintln!(
                "(through {} after {} tries)",
                committed.endpoint, committed.tries
            );
        }
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct ReadArgs {
    /// Client addresses of the cluster's nodes, as for `propose`.
    #[arg(long = "to", alias = "endpoints", required = true, value_parser = parse_to)]
    to: Vec<Vec<Endpoint>>,
    /// Requests before giving up.
    #[arg(long, default_value_t = 20)]
    max_tries: u32,
}

pub async fn read(args: ReadArgs) -> Result<(), AnyError> {
    let endpoints: Vec<Endpoint> = args.to.into_iter().flatten().collect();
    let mut client = Client::new(endpoints, args.max_tries)?;
    let read = client.read().await?;
    println!(
        "linearizable read point: index {} applied on {}",
        read.index, read.endpoint
    );
    Ok(())
}

#[derive(Args, Debug)]
pub struct TransferArgs {
    /// Client addresses of the cluster's nodes, as for `propose`.
    #[arg(long = "to", alias = "endpoints", required = true, value_parser = parse_to)]
    to: Vec<Vec<Endpoint>>,
    /// The node to hand leadership to.
    target: NodeId,
    /// Requests before giving up.
    #[arg(long, default_value_t = 20)]
    max_tries: u32,
}

pub async fn transfer(args: TransferArgs) -> Result<(), AnyError> {
    let endpoints: Vec<Endpoint> = args.to.into_iter().flatten().collect();
    let mut client = Client::new(endpoints, args.max_tries)?;
    let started = std::time::Instant::now();
    client.transfer(args.target).await?;
    println!("node {} leads now ({:.1?})", args.target, started.elapsed());
    Ok(())
}

#[derive(Args, Debug)]
pub struct MemberArgs {
    /// Client addresses of the cluster's nodes, as for `propose`; the
    /// leader answers.
    #[arg(long = "to", alias = "endpoints", required = true, value_parser = parse_to)]
    to: Vec<Vec<Endpoint>>,
    /// Requests before giving up.
    #[arg(long, default_value_t = 20)]
    max_tries: u32,
    #[command(subcommand)]
    action: MemberAction,
}

#[derive(Subcommand, Debug)]
enum MemberAction {
    /// Add node ID, whose peers reach it at ADDR (its QUIC `--listen`), as a
    /// voter, or as a learner with --learner (promote it once caught up).
    Add {
        id: NodeId,
        addr: SocketAddr,
        #[arg(long)]
        learner: bool,
    },
    /// Make learner ID a voter.
    Promote { id: NodeId },
    /// Remove voter or learner ID (the leader included).
    Remove { id: NodeId },
    /// Print the members the leader has applied.
    List,
}

pub async fn member(args: MemberArgs) -> Result<(), AnyError> {
    let endpoints: Vec<Endpoint> = args.to.into_iter().flatten().collect();
    let mut client = Client::new(endpoints, args.max_tries)?;
    let request = match args.action {
        MemberAction::Add { id, addr, learner } => {
            let address = addr.to_string();
            if learner {
                MemberRequest::AddLearner { id, address }
            } else {
                MemberRequest::AddVoter { id, address }
            }
        }
        MemberAction::Promote { id } => MemberRequest::Promote(id),
        MemberAction::Remove { id } => MemberRequest::Remove(id),
        MemberAction::List => MemberRequest::List,
    };
    let list = client.member(&request).await?;
    println!("{list}");
    let members = list
        .voters
        .iter()
        .map(|id| (id, "voter"))
        .chain(list.learners.iter().map(|id| (id, "learner")))
        .chain(
            list.voters_outgoing
                .iter()
                .filter(|id| !list.voters.contains(id))
                .map(|id| (id, "outgoing voter")),
        );
    for (id, role) in members {
        let address = list
            .addresses
            .get(id)
            .map_or("address unknown", String::as_str);
        println!("  node {id}: {role} at {address}");
    }
    Ok(())
}
