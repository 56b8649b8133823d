//! Runs the core benchmark's scenario in a plain loop, for profilers
//! (`perf record`, `valgrind --tool=callgrind`) that want one process and no
//! criterion machinery.

use bytes::Bytes;
use raft_benches::memgroup::MemGroup;

fn main() -> raft_core::Result<()> {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let batch: usize = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(64);
    let payload = Bytes::from(vec![0xabu8; 256]);
    let mut g = MemGroup::new(3)?;
    for _ in 0..rounds {
        g.replicate(batch, &payload)?;
    }
    println!("committed {}", g.committed(0));
    Ok(())
}
