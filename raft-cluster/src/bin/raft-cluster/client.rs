//! `raft-cluster propose`: a minimal client for the client port a node
//! opens with `raft-cluster node --client ADDR`.
//!
//! The protocol is one request per frame, over TCP: a u32 length and the
//! payload; the answer is a tag byte then a u64: 0 = committed at index,
//! 1 = not the leader (the u64 is the leader's id, 0 if unknown), 2 =
//! dropped, 3 = shutting down.

use crate::AnyError;
use clap::Args;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const COMMITTED: u8 = 0;
pub const NOT_LEADER: u8 = 1;
pub const DROPPED: u8 = 2;
pub const SHUTTING_DOWN: u8 = 3;
/// Requests larger than this are refused by the server.
pub const MAX_REQUEST: u32 = 16 << 20;

#[derive(Args, Debug)]
pub struct ProposeArgs {
    /// The node's client address.
    #[arg(long)]
    to: SocketAddr,
    /// The data to propose (repeated --count times, numbered).
    #[arg(default_value = "hello")]
    data: String,
    /// How many proposals to send, one after the other.
    #[arg(long, default_value_t = 1)]
    count: u64,
}

pub async fn run(args: ProposeArgs) -> Result<(), AnyError> {
    let mut stream = TcpStream::connect(args.to).await?;
    for i in 0..args.count {
        let data = if args.count == 1 {
            args.data.clone()
        } else {
            format!("{}-{i}", args.data)
        };
        let len = u32::try_from(data.len()).map_err(|_| "data too large")?;
        stream.write_u32(len).await?;
        stream.write_all(data.as_bytes()).await?;
        let tag = stream.read_u8().await?;
        let value = stream.read_u64().await?;
        match tag {
            COMMITTED => println!("{data}: committed at index {value}"),
            NOT_LEADER if value != 0 => {
                return Err(format!("not the leader; node {value} leads").into())
            }
            NOT_LEADER => return Err("not the leader; no leader known yet".into()),
            DROPPED => return Err("proposal dropped; retry".into()),
            SHUTTING_DOWN => return Err("the node is shutting down".into()),
            other => return Err(format!("unexpected answer {other}").into()),
        }
    }
    Ok(())
}
