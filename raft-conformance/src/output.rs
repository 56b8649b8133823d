//! The output buffer a command writes to, and the `tracing` subscriber that
//! routes raft-core's log lines into it.
//!
//! Mirrors etcd's `RedirectLogger`: a log line is written as its level word
//! and the message; lines below the current level are dropped; at level
//! `NONE` nothing at all is written, protocol output included.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard};
use tracing::field::{Field, Visit};
use tracing::span;
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

/// Level names in etcd's order; the index is the level.
pub const LEVEL_NAMES: [&str; 6] = ["DEBUG", "INFO", "WARN", "ERROR", "FATAL", "NONE"];
const NONE: usize = 5;

/// A shared, level-filtered text buffer.
#[derive(Clone, Debug, Default)]
pub struct Output {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    buf: String,
    level: usize,
}

impl Output {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The buffer is plain text; a panic elsewhere cannot corrupt it.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The lowest level written (an index into [`LEVEL_NAMES`]).
    pub fn level(&self) -> usize {
        self.lock().level
    }

    /// Sets the lowest level written (`log-level`); above `NONE` means `NONE`.
    pub fn set_level(&self, level: usize) {
        self.lock().level = level.min(NONE);
    }

    /// Everything is suppressed (`log-level none`).
    pub fn quiet(&self) -> bool {
        self.level() == NONE
    }

    /// Appends protocol output, unless quiet.
    pub fn write(&self, s: &str) {
        let mut inner = self.lock();
        if inner.level != NONE {
            inner.buf.push_str(s);
        }
    }

    /// Appends a log line at `level` if the current level lets it through.
    pub fn log(&self, level: usize, message: &str) {
        let mut inner = self.lock();
        if inner.level <= level {
            inner.buf.push_str(LEVEL_NAMES[level]);
            inner.buf.push(' ');
            inner.buf.push_str(message);
            if !message.ends_with('\n') {
                inner.buf.push('\n');
            }
        }
    }

    /// True when nothing was written since the last [`Output::take`].
    pub fn is_empty(&self) -> bool {
        self.lock().buf.is_empty()
    }

    /// Everything written so far, leaving the buffer empty.
    pub fn take(&self) -> String {
        std::mem::take(&mut self.lock().buf)
    }

    /// Runs `f` and indents by two spaces every line it wrote, the way etcd
    /// nests a node's output under a `> 1 handling Ready` header.
    pub fn with_indent<T>(&self, f: impl FnOnce() -> T) -> T {
        let outer = self.take();
        let result = f();
        let inner = self.take();
        let mut buf = outer;
        for line in inner.lines() {
            buf.push_str("  ");
            buf.push_str(line);
            buf.push('\n');
        }
        self.lock().buf = buf;
        result
    }
}

/// Parses a level name case-insensitively, as etcd's `log-level` does.
pub fn parse_level(name: &str) -> Option<usize> {
    LEVEL_NAMES
        .iter()
        .position(|l| l.eq_ignore_ascii_case(name))
}

fn level_index(level: &Level) -> usize {
    match *level {
        Level::TRACE | Level::DEBUG => 0,
        Level::INFO => 1,
        Level::WARN => 2,
        Level::ERROR => 3,
    }
}

/// A subscriber that writes each event's message (and any other fields as
/// `key=value`) to an [`Output`].
pub struct Capture {
    out: Output,
}

impl Capture {
    /// A subscriber writing to `out`.
    pub fn new(out: Output) -> Capture {
        Capture { out }
    }
}

#[derive(Default)]
struct Line {
    message: String,
    fields: String,
}

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={:?}", field.name(), value);
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={}", field.name(), value);
        }
    }
}

impl Subscriber for Capture {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        // The level changes between commands, so decide per event.
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.is_event() && self.out.level() <= level_index(metadata.level())
    }

    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }

    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}

    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut line = Line::default();
        event.record(&mut line);
        line.message.push_str(&line.fields);
        self.out
            .log(level_index(event.metadata().level()), &line.message);
    }

    fn enter(&self, _: &span::Id) {}

    fn exit(&self, _: &span::Id) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_filter_and_none_silences_everything() {
        let out = Output::default();
        out.set_level(1);
        out.log(0, "hidden");
        out.log(2, "shown");
        out.write("proto\n");
        assert_eq!(out.take(), "WARN shown\nproto\n");
        out.set_level(5);
        out.log(4, "x");
        out.write("y");
        assert!(out.is_empty());
    }

    #[test]
    fn tracing_events_land_in_the_buffer() {
        let out = Output::default();
        out.set_level(1);
        let _guard = tracing::subscriber::set_default(Capture::new(out.clone()));
        tracing::debug!("not at info");
        tracing::info!(peer = 3, "{:x} became leader", 10);
        assert_eq!(out.take(), "INFO a became leader peer=3\n");
    }

    #[test]
    fn indentation_nests_output() {
        let out = Output::default();
        out.write("> 1 handling Ready\n");
        out.with_indent(|| out.write("Ready MustSync=false:\n"));
        assert_eq!(out.take(), "> 1 handling Ready\n  Ready MustSync=false:\n");
    }
}
