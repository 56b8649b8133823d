//! The workspace's ordinary test build compiles raft-core as users do: the
//! test-only features stay off unless a command asks for them by name. A
//! dev-dependency elsewhere in the workspace that turned one on would unify
//! it into every crate's tests, and no test would run the production code.

#[test]
fn test_only_features_are_off_in_the_default_build() {
    let test_only = [
        ("fault-injection", cfg!(feature = "fault-injection")),
        ("trace", cfg!(feature = "trace")),
    ];
    let on: Vec<&str> = test_only
        .iter()
        .filter(|(_, enabled)| *enabled)
        .map(|(name, _)| *name)
        .collect();
    assert!(
        on.is_empty(),
        "raft-core was built with {on:?}: some crate's dependency (see \
         `cargo tree -e features,normal,dev -i raft-core --workspace`) turns \
         it on for every test; only dedicated commands may"
    );
}
