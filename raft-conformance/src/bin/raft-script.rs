//! `raft-script`: run etcd-style interaction scripts against raft-core.
//!
//! ```text
//! raft-script run [--storage mem|rocks] [--transport mem|quic] SCRIPT        print SCRIPT with every output filled in
//! raft-script check [--storage mem|rocks] [--transport mem|quic] SCRIPT...   diff each SCRIPT's outputs; exit 1 on a difference
//! ```

use raft_conformance::{run_file, EnvOptions, StorageKind, TransportKind};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage:
  raft-script run [--storage mem|rocks] [--transport mem|quic] SCRIPT
  raft-script check [--storage mem|rocks] [--transport mem|quic] SCRIPT...";

struct Args {
    command: String,
    options: EnvOptions,
    scripts: Vec<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut argv = std::env::args().skip(1);
    let command = argv.next().ok_or("missing command")?;
    let mut options = EnvOptions::default();
    let mut scripts = Vec::new();
    while let Some(arg) = argv.next() {
        match arg.as_str() {
            "--storage" => {
                let v = argv.next().ok_or("--storage needs a value")?;
                options.storage =
                    StorageKind::parse(&v).ok_or_else(|| format!("unknown storage {v:?}"))?;
            }
            "--transport" => {
                let v = argv.next().ok_or("--transport needs a value")?;
                options.transport =
                    TransportKind::parse(&v).ok_or_else(|| format!("unknown transport {v:?}"))?;
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
            match run_file(&args.scripts[0], args.options) {
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
        "check" => {
            let mut failed = 0;
            for path in &args.scripts {
                match run_file(path, args.options) {
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
