//! Runs the core benchmark's scenario in a plain loop, for profilers
//! (`perf record`, `valgrind --tool=callgrind`) that want one process, a
//! fixed amount of work and no criterion machinery:
//!
//! ```sh
//! cargo run --release --example core_loop -- raft-core 250 256
//! valgrind --tool=callgrind target/release/examples/core_loop raft-rs 250 256
//! ```
//!
//! Arguments: the implementation (`raft-core` or `raft-rs`), the number of
//! rounds, the proposals per round (the bench's batch size).

use bytes::Bytes;
use raft_benches::memgroup::MemGroup;

#[path = "../benches/support/raftrs_group.rs"]
mod raftrs;

fn main() -> raft_core::Result<()> {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "raft-core".to_string());
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(2000);
    let batch: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(64);
    let payload = Bytes::from(vec![0xabu8; 256]);
    match which.as_str() {
        "raft-core" => {
            let mut g = MemGroup::new(3)?;
            for _ in 0..rounds {
                g.replicate(batch, &payload)?;
            }
            println!("raft-core committed {}", g.committed(0));
        }
        "raft-rs" => {
            let mut g = raftrs::Group::new(3);
            for _ in 0..rounds {
                g.replicate(batch, &payload);
            }
            println!("raft-rs: {} rounds of {batch}", rounds);
        }
        other => eprintln!("unknown implementation {other:?}: raft-core or raft-rs"),
    }
    Ok(())
}
