//! The workspace's ordinary test build compiles raft-core as users do: the
//! test-only features stay off unless a command asks for them by name. A
//! dev-dependency elsewhere in the workspace that turned one on would unify
//! it into every crate's tests, and no test would run the production code.

#[test]
fn no_fault_injection_in_the_default_build() {
    assert!(
        !cfg!(feature = "fault-injection"),
        "raft-core was built with fault-injection: some crate's dependency \
         (see `cargo tree -e features -i raft-core --workspace`) turns it on \
         for every test; only dedicated commands may"
    );
}

#[test]
fn no_trace_recording_in_the_default_build() {
    assert!(
        !cfg!(feature = "trace"),
        "raft-core was built with trace: some crate's dependency (see \
         `cargo tree -e features -i raft-core --workspace`) turns it on for \
         every test; only dedicated commands may"
    );
}
