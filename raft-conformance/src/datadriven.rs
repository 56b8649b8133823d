//! Parser and rewriter for the cockroachdb "datadriven" script format used by
//! etcd-io/raft's interaction tests (`testdata/*.txt`).
//!
//! The goal is agreement with the Go reader
//! (`github.com/cockroachdb/datadriven`) on directives, arguments, inputs,
//! expected outputs and the bytes `-rewrite` writes back, odd corners
//! included: conformance diffs are meaningless if a script reads differently
//! in Rust and Go. Deliberate differences: malformed input is a typed
//! [`ParseError`] instead of `t.Fatal`; an unterminated `----`/`----` block
//! is an error (Go silently accepts it); Go's 64 KiB line limit is not
//! reproduced.

/// One argument of a directive: `key`, `key=value` or `key=(v1,v2,...)`.
///
/// A positional argument is simply a key without values, which is how Go
/// represents it too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    /// The argument's name (or the positional argument itself).
    pub key: String,
    /// Its values: `k=v` has one, `k=(a, b)` several, a positional argument none.
    pub vals: Vec<String>,
}

/// One command with its input and expected output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// 1-based line of the (first) command line, as Go reports positions.
    pub line: usize,
    /// The command name.
    pub cmd: String,
    /// In source order: order matters to some commands and to error messages.
    pub args: Vec<Arg>,
    /// Input lines joined with `'\n'` and trimmed like Go's `strings.TrimSpace`.
    pub input: String,
    /// Expected output, each line followed by `'\n'`; `None` if the file ends
    /// before a `----` separator.
    pub expected: Option<String>,
    /// The command line(s) exactly as written (several with `\` continuation),
    /// kept so that rewriting does not reformat them.
    pub raw_command: Vec<String>,
    /// The input lines exactly as written, for the same reason.
    pub raw_input: Vec<String>,
}

/// A script is kept as a sequence of items so that comments and blank lines
/// survive a rewrite in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// One original line that is not part of a directive (blank or comment).
    Verbatim(String),
    /// A command with its input and expected output.
    Directive(Directive),
}

/// A parsed script file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// Used in error messages and mismatch reports, like Go's `sourceName`.
    pub name: String,
    /// The lines, as verbatim items and directives, in file order.
    pub items: Vec<Item>,
}

/// A malformed script, located by file name and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {kind}")]
pub struct ParseError {
    /// The file's name.
    pub file: String,
    /// The 1-based line.
    pub line: usize,
    /// What is wrong there.
    pub kind: ParseErrorKind,
}

/// What makes a script malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// Same wording as Go so that error messages can be compared; `column` is
    /// a 1-based byte column into the trimmed (and continuation-joined) text.
    #[error("cannot parse directive at column {column}: {text}")]
    BadDirective {
        /// Where parsing stopped.
        column: usize,
        /// The directive's text.
        text: String,
    },
    #[error("unterminated ----/---- output block: end of file before the closing ----/---- pair")]
    /// Reported at the second `----`, the line that opened the block.
    UnterminatedBlock,
    /// Text follows a `----`/`----` block where only blank lines may.
    #[error("non-blank line after end of double ---- separator section")]
    TextAfterBlock,
}

/// An argument that is present but unusable; absent arguments are `Ok(None)`
/// so that callers can choose their own defaults.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {cmd}: argument {key:?}: {reason}")]
pub struct ArgError {
    /// The directive's line.
    pub line: usize,
    /// The directive's command.
    pub cmd: String,
    /// The argument.
    pub key: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Parses one (already continuation-joined) directive line exactly like Go's
/// `datadriven.ParseLine`. An empty or all-whitespace line yields an empty
/// command, which callers treat as "not a directive".
pub fn parse_line(line: &str) -> Result<(String, Vec<Arg>), ParseErrorKind> {
    let orig = line.trim();
    let fail = |rest: &str| ParseErrorKind::BadDirective {
        column: orig.len() - rest.len() + 1,
        text: orig.to_string(),
    };
    // `end` is just past the closing ',' or ')', which is not part of the value.
    let val = |s: &str, start: usize, end: usize| s.get(start..end - 1).map(str::to_string);
    let mut rest = orig;
    if rest.is_empty() {
        return Ok((String::new(), Vec::new()));
    }
    let cmd = take_until(&mut rest, b" ");
    if cmd.is_empty() {
        return Err(fail(rest));
    }
    rest = rest.trim();
    let mut args = Vec::new();
    while !rest.is_empty() {
        let key = take_until(&mut rest, b" =");
        if key.is_empty() {
            return Err(fail(rest));
        }
        let mut vals = Vec::new();
        if let Some(after_eq) = rest.strip_prefix('=') {
            rest = after_eq;
            if rest.is_empty() || rest.starts_with(' ') {
                vals.push(String::new());
            } else if !rest.starts_with('(') {
                vals.push(take_until(&mut rest, b" ").to_string());
            } else {
                // Scanning bytes is equivalent to Go's rune scan: every
                // delimiter is ASCII and UTF-8 continuation bytes never are.
                let bytes = rest.as_bytes();
                let (mut pos, mut depth, mut start) = (1, 1, 1);
                while depth > 0 {
                    let Some(&b) = bytes.get(pos) else {
                        return Err(fail(rest));
                    };
                    pos += 1;
                    match b {
                        b',' if depth == 1 => {
                            vals.push(val(rest, start, pos).ok_or_else(|| fail(rest))?);
                            while bytes.get(pos) == Some(&b' ') {
                                pos += 1;
                            }
                            start = pos;
                        }
                        b'(' => depth += 1,
                        b')' => depth -= 1,
                        _ => {}
                    }
                }
                vals.push(val(rest, start, pos).ok_or_else(|| fail(rest))?);
                rest = rest.get(pos..).ok_or_else(|| fail(rest))?;
            }
        }
        args.push(Arg {
            key: key.to_string(),
            vals,
        });
        rest = rest.trim();
    }
    Ok((cmd.to_string(), args))
}

/// Splits off the prefix of `rest` up to (not including) the first byte in
/// `stops`, like Go's `until` closure; all stop bytes are ASCII, so the split
/// is always on a char boundary.
fn take_until<'a>(rest: &mut &'a str, stops: &[u8]) -> &'a str {
    let idx = rest
        .bytes()
        .position(|b| stops.contains(&b))
        .unwrap_or(rest.len());
    let (head, tail) = rest.split_at(idx);
    *rest = tail;
    head
}

/// Numbered lines split like Go's `bufio.ScanLines`: a final unterminated
/// line counts, a trailing `'\n'` does not start a new line, and one `'\r'`
/// is dropped from each line end (so CRLF files are rewritten with LF, as in
/// Go).
fn scan_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_inclusive('\n').enumerate().map(|(i, line)| {
        let line = line.strip_suffix('\n').unwrap_or(line);
        (i + 1, line.strip_suffix('\r').unwrap_or(line))
    })
}

/// Parses a whole script, following Go's `testDataReader.Next`.
pub fn parse(name: &str, text: &str) -> Result<Script, ParseError> {
    let err = |line: usize, kind: ParseErrorKind| ParseError {
        file: name.to_string(),
        line,
        kind,
    };
    let mut lines = scan_lines(text);
    let mut items = Vec::new();
    while let Some((lineno, first)) = lines.next() {
        let mut joined = first.trim().to_string();
        if joined.starts_with('#') {
            items.push(Item::Verbatim(first.to_string()));
            continue;
        }
        let mut raw_command = vec![first.to_string()];
        while let Some(head) = joined.strip_suffix('\\') {
            let Some((_, next)) = lines.next() else {
                break;
            };
            raw_command.push(next.to_string());
            joined = format!("{head} {}", next.trim());
        }
        let (cmd, args) = parse_line(&joined).map_err(|kind| err(lineno, kind))?;
        if cmd.is_empty() {
            items.extend(raw_command.into_iter().map(Item::Verbatim));
            continue;
        }
        let mut directive = Directive {
            line: lineno,
            cmd,
            args,
            input: String::new(),
            expected: None,
            raw_command,
            raw_input: Vec::new(),
        };
        // Go hands `subtest` directives to its subtest runner without reading
        // an input or an expected output.
        if !directive.is_subtest() {
            let mut separator = false;
            for (_, line) in lines.by_ref() {
                if line == "----" {
                    separator = true;
                    break;
                }
                directive.raw_input.push(line.to_string());
            }
            directive.input = directive.raw_input.join("\n").trim().to_string();
            if separator {
                directive.expected = Some(read_expected(&mut lines).map_err(|(l, k)| err(l, k))?);
            }
        }
        items.push(Item::Directive(directive));
    }
    Ok(Script {
        name: name.to_string(),
        items,
    })
}

/// Reads the output after a `----` separator, following Go's `readExpected`.
fn read_expected<'a>(
    lines: &mut impl Iterator<Item = (usize, &'a str)>,
) -> Result<String, (usize, ParseErrorKind)> {
    let mut out = String::new();
    let Some((open_line, first)) = lines.next() else {
        return Ok(out);
    };
    if first != "----" {
        let mut next = Some((open_line, first));
        while let Some((_, line)) = next.filter(|(_, line)| !line.trim().is_empty()) {
            push_line(&mut out, line);
            next = lines.next();
        }
        return Ok(out);
    }
    let unterminated = (open_line, ParseErrorKind::UnterminatedBlock);
    loop {
        let (_, line) = lines.next().ok_or_else(|| unterminated.clone())?;
        if line != "----" {
            push_line(&mut out, line);
            continue;
        }
        let (_, line2) = lines.next().ok_or_else(|| unterminated.clone())?;
        if line2 == "----" {
            // Go insists on an exactly empty line here (not merely whitespace)
            // and consumes it so that rewriting does not duplicate it.
            return match lines.next() {
                Some((after, text)) if !text.is_empty() => {
                    Err((after, ParseErrorKind::TextAfterBlock))
                }
                _ => Ok(out),
            };
        }
        push_line(&mut out, line);
        push_line(&mut out, line2);
    }
}

pub(crate) fn push_line(out: &mut String, line: &str) {
    out.push_str(line);
    out.push('\n');
}

/// Go's `hasBlankLine`: the regexp `(?m)^[\t ]*\n`, i.e. a `'\n'`-terminated
/// line made only of spaces and tabs. Other whitespace does not count, which
/// differs from the `TrimSpace` test the reader uses; we mirror both.
fn has_blank_line(s: &str) -> bool {
    s.split_inclusive('\n').any(|line| {
        line.strip_suffix('\n')
            .is_some_and(|l| l.bytes().all(|b| b == b' ' || b == b'\t'))
    })
}

/// Applies Go's `runDirective` normalisation: outputs always end in `'\n'`
/// unless empty, so that comparisons ignore a missing final newline.
pub fn normalize_output(output: &str) -> String {
    let mut out = output.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

impl Script {
    /// The directives, in file order.
    pub fn directives(&self) -> impl Iterator<Item = &Directive> {
        self.items.iter().filter_map(|item| match item {
            Item::Directive(d) => Some(d),
            Item::Verbatim(_) => None,
        })
    }

    /// Produces exactly what Go's `-rewrite` writes when each directive
    /// returns `outputs(directive)`. `outputs` is not called for `subtest`
    /// directives, whose lines Go writes back unchanged.
    ///
    /// Like Go, one trailing blank line is removed at the end, so a file
    /// rewritten with its own expected outputs is reproduced byte-for-byte
    /// provided it ends in exactly one `'\n'`, uses LF line ends, ends each
    /// single-`----` output with an empty (not whitespace-only) line or EOF,
    /// uses the `----`/`----` form exactly when the output holds a blank line,
    /// and ends every directive with a `----` separator.
    pub fn rewrite(&self, mut outputs: impl FnMut(&Directive) -> String) -> String {
        self.rewrite_indexed(|_, d| outputs(d))
    }

    /// Like [`Script::rewrite`], with `outputs[i]` belonging to the i-th
    /// entry of [`Script::directives`] (entries for `subtest` directives are
    /// ignored; missing entries count as empty output).
    pub fn rewrite_with(&self, outputs: &[String]) -> String {
        self.rewrite_indexed(|i, _| outputs.get(i).cloned().unwrap_or_default())
    }

    /// Shared body of the rewrite entry points; `usize` is the directive's
    /// index in [`Script::directives`].
    fn rewrite_indexed(&self, mut outputs: impl FnMut(usize, &Directive) -> String) -> String {
        let mut out = String::new();
        let mut index = 0;
        for item in &self.items {
            let d = match item {
                Item::Verbatim(line) => {
                    push_line(&mut out, line);
                    continue;
                }
                Item::Directive(d) => d,
            };
            for line in d.raw_command.iter().chain(&d.raw_input) {
                push_line(&mut out, line);
            }
            index += 1;
            if d.is_subtest() {
                continue;
            }
            let actual = normalize_output(&outputs(index - 1, d));
            out.push_str("----\n");
            if has_blank_line(&actual) {
                out.push_str("----\n");
                out.push_str(&actual);
                out.push_str("----\n----\n\n");
            } else {
                out.push_str(&actual);
                out.push('\n');
            }
        }
        if out.len() > 2 && out.ends_with("\n\n") {
            out.pop();
        }
        out
    }

    /// Rewrites the script with its own expected outputs; useful to check
    /// that a file is in canonical form.
    pub fn rewrite_expected(&self) -> String {
        self.rewrite(|d| d.expected.clone().unwrap_or_default())
    }
}

/// Go's `strconv.ParseBool`, so scripts accept exactly what Go accepts.
pub fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.ParseUint(s, 10, 64)`: unlike Rust's `u64::from_str` it
/// rejects a leading `+`.
pub fn parse_go_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl Directive {
    /// True for a `subtest` directive, which groups the directives after it.
    pub fn is_subtest(&self) -> bool {
        self.cmd == "subtest"
    }

    /// The first argument named `key`; later duplicates are ignored as in
    /// Go's `ScanArgs`.
    pub fn arg(&self, key: &str) -> Option<&Arg> {
        self.args.iter().find(|a| a.key == key)
    }

    /// Keys of arguments without values, e.g. `1 2 3` in `stabilize 1 2 3`.
    pub fn positional(&self) -> impl Iterator<Item = &str> {
        self.args
            .iter()
            .filter(|a| a.vals.is_empty())
            .map(|a| a.key.as_str())
    }

    /// An [`ArgError`] about `key` in this directive.
    pub fn arg_error(&self, key: &str, reason: impl Into<String>) -> ArgError {
        ArgError {
            line: self.line,
            cmd: self.cmd.clone(),
            key: key.to_string(),
            reason: reason.into(),
        }
    }

    /// The single value of `key`; a bare key or a list is an error because
    /// silently picking one value would hide script typos.
    pub fn scan_str(&self, key: &str) -> Result<Option<&str>, ArgError> {
        let Some(arg) = self.arg(key) else {
            return Ok(None);
        };
        match arg.vals.as_slice() {
            [v] => Ok(Some(v.as_str())),
            [] => Err(self.arg_error(key, "expects a value (key=value)")),
            vals => Err(self.arg_error(key, format!("expects one value, got {}", vals.len()))),
        }
    }

    /// The single value of `key` as an unsigned integer (Go's syntax), or `None` when absent.
    pub fn scan_u64(&self, key: &str) -> Result<Option<u64>, ArgError> {
        let value = self.scan_str(key)?;
        value
            .map(|v| self.parse_val(key, v, "u64", parse_go_u64))
            .transpose()
    }

    /// The single value of `key` as `true`/`false` (Go's syntax), or `None` when absent.
    pub fn scan_bool(&self, key: &str) -> Result<Option<bool>, ArgError> {
        let value = self.scan_str(key)?;
        value
            .map(|v| self.parse_val(key, v, "bool", parse_go_bool))
            .transpose()
    }

    fn parse_val<T>(
        &self,
        key: &str,
        v: &str,
        what: &str,
        parse: fn(&str) -> Option<T>,
    ) -> Result<T, ArgError> {
        parse(v).ok_or_else(|| self.arg_error(key, format!("invalid {what} {v:?}")))
    }

    /// All values of `key` as u64s (`voters=(1,2,3)` or `voters=1`).
    /// `key=()` and `key=` both mean an empty list, since Go's parser turns
    /// them into a single empty value that no caller wants as a number.
    pub fn scan_u64s(&self, key: &str) -> Result<Option<Vec<u64>>, ArgError> {
        let Some(arg) = self.arg(key) else {
            return Ok(None);
        };
        match arg.vals.as_slice() {
            [] => Err(self.arg_error(key, "expects a value list (key=(v1,v2,...))")),
            [v] if v.is_empty() => Ok(Some(Vec::new())),
            vals => vals
                .iter()
                .map(|v| self.parse_val(key, v, "u64", parse_go_u64))
                .collect::<Result<_, _>>()
                .map(Some),
        }
    }

    /// Positional arguments as u64s (e.g. node ids in `stabilize 1 2`).
    pub fn positional_u64s(&self) -> Result<Vec<u64>, ArgError> {
        self.positional()
            .map(|p| self.parse_val(p, p, "positional u64", parse_go_u64))
            .collect()
    }
}

#[cfg(test)]
#[path = "datadriven_tests.rs"]
mod tests;
