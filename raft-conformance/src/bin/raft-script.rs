//! `raft-script`: run etcd-style interaction scripts against raft-core.
//!
//! ```text
//! raft-script run [--storage mem|rocks] [--transport mem|quic] [--trace OUT.ndjson] SCRIPT
//!     (`rocks` needs the `rocks` feature, `quic` the `quic` feature)
//!     print SCRIPT with every output filled in; with --trace, also write the
//!     protocol events of every node to OUT.ndjson (needs the `trace` feature)
//! raft-script check [--storage mem|rocks] [--transport mem|quic] SCRIPT...
//!     diff each SCRIPT's outputs; exit 1 on a difference
//! raft-script trace-tla TRACE.ndjson OUTDIR
//!     write the TLA+ module OUTDIR/NAME/TraceData.tla for each group of nodes
//!     in the trace, for spec/Traceetcdraft.tla; print each NAME
//! ```

use raft_conformance::env::{StorageSource, WireSource};
use raft_conformance::{run_file, EnvOptions};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage:
  raft-script run [--storage mem|rocks] [--transport mem|quic] [--trace OUT.ndjson] SCRIPT
  raft-script check [--storage mem|rocks] [--transport mem|quic] SCRIPT...
  raft-script trace-tla TRACE.ndjson OUTDIR
--storage rocks and --transport quic need a build with --features rocks,quic";

struct Args {
    command: String,
    options: EnvOptions,
    trace: Option<PathBuf>,
    scripts: Vec<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut argv = std::env::args().skip(1);
    let command = argv.next().ok_or("missing command")?;
    let mut options = EnvOptions::default();
    let mut scripts = Vec::new();
    let mut trace = None;
    while let Some(arg) = argv.next() {
        match arg.as_str() {
            "--trace" => trace = Some(PathBuf::from(argv.next().ok_or("--trace needs a file")?)),
            "--storage" => {
                let v = argv.next().ok_or("--storage needs a value")?;
                options.storage = StorageSource::by_name(&v).map_err(|e| e.to_string())?;
            }
            "--transport" => {
                let v = argv.next().ok_or("--transport needs a value")?;
                options.transport = WireSource::by_name(&v).map_err(|e| e.to_string())?;
            }
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ => scripts.push(PathBuf::from(arg)),
        }
    }
    if scripts.is_empty() {
        return Err("no script given".to_string());
    }
    Ok(Args {
        command,
        options,
        trace,
        scripts,
    })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("raft-script: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match args.command.as_str() {
        "run" => {
            if args.scripts.len() != 1 {
                eprintln!("raft-script: run takes exactly one script\n{USAGE}");
                return ExitCode::from(2);
            }
            let result = match &args.trace {
                None => run_file(&args.scripts[0], args.options.clone()).map_err(|e| e.to_string()),
                Some(out) => run_traced(&args.scripts[0], args.options.clone(), out),
            };
            match result {
                Ok(run) => {
                    print!("{}", run.rewritten());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("raft-script: {e}");
                    ExitCode::from(2)
                }
            }
        }
        "trace-tla" => {
            if args.trace.is_some() || args.scripts.len() != 2 {
                eprintln!("raft-script: trace-tla takes a trace and a directory\n{USAGE}");
                return ExitCode::from(2);
            }
            match trace_tla(&args.scripts[0], &args.scripts[1]) {
                Ok(names) => {
                    for name in names {
                        println!("{name}");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("raft-script: {e}");
                    ExitCode::from(2)
                }
            }
        }
        "check" => {
            let mut failed = 0;
            for path in &args.scripts {
                match run_file(path, args.options.clone()) {
                    Ok(run) => {
                        let mismatches = run.mismatches();
                        if mismatches.is_empty() {
                            println!("ok   {}", path.display());
                        } else {
                            failed += 1;
                            println!("FAIL {}", path.display());
                            for m in mismatches {
                                println!("{m}");
                            }
                        }
                    }
                    Err(e) => {
                        failed += 1;
                        println!("FAIL {}: {e}", path.display());
                    }
                }
            }
            println!("{} passed, {failed} failed", args.scripts.len() - failed);
            if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        other => {
            eprintln!("raft-script: unknown command {other:?}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Runs `script` and writes its trace to `out`.
#[cfg(feature = "trace")]
fn run_traced(
    script: &Path,
    options: EnvOptions,
    out: &Path,
) -> Result<raft_conformance::Run, String> {
    let (run, events) =
        raft_conformance::run_file_traced(script, options).map_err(|e| e.to_string())?;
    let text = raft_conformance::trace::to_ndjson(&events).map_err(|e| e.to_string())?;
    std::fs::write(out, text).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(run)
}

#[cfg(not(feature = "trace"))]
fn run_traced(_: &Path, _: EnvOptions, _: &Path) -> Result<raft_conformance::Run, String> {
    Err("--trace needs raft-script built with the `trace` feature \
         (cargo build --release -p raft-conformance --features trace)"
        .to_string())
}

/// Converts the trace at `input` into one `NAME/TraceData.tla` per group of
/// nodes under `dir`; returns the names.
fn trace_tla(input: &Path, dir: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(input).map_err(|e| format!("{}: {e}", input.display()))?;
    let events = raft_conformance::trace::parse_ndjson(&text)
        .map_err(|e| format!("{}: {e}", input.display()))?;
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "trace".to_string());
    let traces = raft_conformance::trace::tla_traces(&stem, &events)
        .map_err(|e| format!("{}: {e}", input.display()))?;
    let mut names = Vec::new();
    for t in traces {
        let sub = dir.join(&t.name);
        std::fs::create_dir_all(&sub).map_err(|e| format!("{}: {e}", sub.display()))?;
        let file = sub.join("TraceData.tla");
        std::fs::write(&file, t.module).map_err(|e| format!("{}: {e}", file.display()))?;
        names.push(t.name);
    }
    Ok(names)
}
