//! Running whole scripts: `run` (fill in every output, as etcd's `-rewrite`
//! does) and `check` (compare with the outputs a script already holds).

use crate::datadriven::{self, Script};
use crate::diff::{diff_outputs, Mismatch};
use crate::env::{Env, EnvError, EnvOptions};
use crate::output::{Capture, Output};
use std::path::Path;
use thiserror::Error;

/// Why a script could not be run to its end.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RunError {
    /// The script could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The script does not parse.
    #[error(transparent)]
    Parse(#[from] datadriven::ParseError),
    /// A command could not run.
    #[error("{file}: {source}")]
    Command {
        /// The script's name.
        file: String,
        /// What failed.
        #[source]
        source: EnvError,
    },
}

/// A script run to its end: the script and each directive's actual output.
pub struct Run {
    /// The script as parsed.
    pub script: Script,
    /// Each directive's actual output, in order.
    pub outputs: Vec<String>,
}

impl Run {
    /// The script with every expected output replaced by the actual one.
    pub fn rewritten(&self) -> String {
        self.script.rewrite_with(&self.outputs)
    }

    /// Directives whose actual output differs from the script's.
    pub fn mismatches(&self) -> Vec<Mismatch> {
        diff_outputs(&self.script, &self.outputs)
    }
}

/// Runs the script in `text` (named `name` in errors) in a fresh environment.
pub fn run_text(name: &str, text: &str, options: EnvOptions) -> Result<Run, RunError> {
    run_in(name, text, options, |_| {})
}

/// Like [`run_text`], and also returns the trace of every node's protocol
/// events (see [`crate::trace`]).
#[cfg(feature = "trace")]
pub fn run_text_traced(
    name: &str,
    text: &str,
    options: EnvOptions,
) -> Result<(Run, Vec<crate::trace::Event>), RunError> {
    let sink = crate::trace::sink::TraceSink::default();
    let run = run_in(name, text, options, |env| env.trace_into(sink.clone()))?;
    Ok((run, sink.events()))
}

fn run_in(
    name: &str,
    text: &str,
    options: EnvOptions,
    setup: impl FnOnce(&mut Env),
) -> Result<Run, RunError> {
    let script = datadriven::parse(name, text)?;
    let out = Output::default();
    // raft-core logs through `tracing`; route this thread's events into the
    // script output for the duration of the run.
    let _guard = tracing::subscriber::set_default(Capture::new(out.clone()));
    let mut env = Env::new(options, out).map_err(|source| RunError::Command {
        file: name.to_string(),
        source,
    })?;
    setup(&mut env);
    let mut outputs = Vec::new();
    for d in script.directives() {
        let output = env.handle(d).map_err(|source| RunError::Command {
            file: name.to_string(),
            source,
        })?;
        outputs.push(output);
    }
    Ok(Run { script, outputs })
}

/// Reads and runs the script at `path`.
pub fn run_file(path: &Path, options: EnvOptions) -> Result<Run, RunError> {
    let (name, text) = read_script(path)?;
    run_text(&name, &text, options)
}

/// Like [`run_file`], and also returns the trace (see [`run_text_traced`]).
#[cfg(feature = "trace")]
pub fn run_file_traced(
    path: &Path,
    options: EnvOptions,
) -> Result<(Run, Vec<crate::trace::Event>), RunError> {
    let (name, text) = read_script(path)?;
    run_text_traced(&name, &text, options)
}

fn read_script(path: &Path) -> Result<(String, String), RunError> {
    let text = std::fs::read_to_string(path).map_err(|source| RunError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    Ok((name, text))
}
