//! Comparing a script's expected outputs with actual ones, and rendering
//! the differences as a readable line diff.

use crate::datadriven::{normalize_output, push_line, Script};
use std::fmt;

/// A directive whose actual output differs from the expected one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The script's name.
    pub file: String,
    /// The directive's line.
    pub line: usize,
    /// The directive's command line.
    pub command: String,
    /// The output the script holds.
    pub expected: String,
    /// The output of this run.
    pub actual: String,
}

impl Mismatch {
    /// The two outputs as a unified line diff.
    pub fn diff(&self) -> String {
        unified_diff(&self.expected, &self.actual)
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}:{}: {}", self.file, self.line, self.command)?;
        f.write_str(&self.diff())
    }
}

/// Compares actual outputs with the script's expectations the way Go does:
/// `actual[i]` belongs to the i-th entry of [`Script::directives`], is
/// normalised with [`normalize_output`], and a missing `----` means the
/// expected output is empty. Missing actual entries count as empty output;
/// surplus entries are ignored, as there is no directive to blame.
pub fn diff_outputs(script: &Script, actual: &[String]) -> Vec<Mismatch> {
    script
        .directives()
        .enumerate()
        .filter(|(_, d)| !d.is_subtest())
        .filter_map(|(i, d)| {
            let actual = normalize_output(actual.get(i).map_or("", String::as_str));
            let expected = d.expected.clone().unwrap_or_default();
            (actual != expected).then(|| Mismatch {
                file: script.name.clone(),
                line: d.line,
                command: d.raw_command.join("\n"),
                expected,
                actual,
            })
        })
        .collect()
}

/// Above this many DP cells the diff degrades to "delete all, add all" so a
/// runaway output cannot exhaust memory in a test report.
const MAX_LCS_CELLS: usize = 4_000_000;

/// Line edit script from `a` to `b` as `(' ' | '-' | '+', line)` via a
/// longest common subsequence. The common prefix and suffix are peeled off
/// first because outputs usually differ in a few places only, which keeps the
/// DP table small.
fn line_ops<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<(char, &'a str)> {
    let pre = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b_rest) = (&a[pre..], &b[pre..]);
    let suf = a.iter().rev().zip(b_rest.iter().rev());
    let suf = suf.take_while(|(x, y)| x == y).count();
    let (am, bm) = (&a[..a.len() - suf], &b_rest[..b_rest.len() - suf]);
    let (n, m) = (am.len(), bm.len());
    let mut ops: Vec<(char, &'a str)> = b[..pre].iter().map(|l| (' ', *l)).collect();
    if n.saturating_mul(m) > MAX_LCS_CELLS {
        ops.extend(am.iter().map(|l| ('-', *l)));
        ops.extend(bm.iter().map(|l| ('+', *l)));
    } else {
        // lcs[i * w + j] = LCS length of am[i..] and bm[j..].
        let w = m + 1;
        let mut lcs = vec![0u32; (n + 1) * w];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[i * w + j] = if am[i] == bm[j] {
                    lcs[(i + 1) * w + j + 1] + 1
                } else {
                    lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && am[i] == bm[j] {
                ops.push((' ', am[i]));
                (i, j) = (i + 1, j + 1);
            } else if i < n && (j == m || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
                // Deletions first on ties, as diff(1) prints them.
                ops.push(('-', am[i]));
                i += 1;
            } else {
                ops.push(('+', bm[j]));
                j += 1;
            }
        }
    }
    ops.extend(a[a.len() - suf..].iter().map(|l| (' ', *l)));
    ops
}

/// Number of expected-side and actual-side lines covered by `ops`.
fn sides(ops: &[(char, &str)]) -> (usize, usize) {
    let count = |skip: char| ops.iter().filter(|(sign, _)| *sign != skip).count();
    (count('+'), count('-'))
}

fn output_lines(s: &str) -> Vec<&str> {
    let lines = s.split_inclusive('\n');
    lines.map(|l| l.strip_suffix('\n').unwrap_or(l)).collect()
}

/// Unified-style line diff (`-` expected, `+` actual, 3 lines of context).
/// Returns an empty string when the texts are equal.
pub fn unified_diff(expected: &str, actual: &str) -> String {
    const CONTEXT: usize = 3;
    if expected == actual {
        return String::new();
    }
    let ops = line_ops(&output_lines(expected), &output_lines(actual));
    let mut out = String::from("--- expected\n+++ actual\n");
    // Group changes whose context windows touch into one hunk.
    let mut hunks: Vec<(usize, usize)> = Vec::new();
    for (k, _) in ops.iter().enumerate().filter(|(_, (sign, _))| *sign != ' ') {
        let (lo, hi) = (k.saturating_sub(CONTEXT), (k + CONTEXT + 1).min(ops.len()));
        match hunks.last_mut() {
            Some(last) if lo <= last.1 => last.1 = hi,
            _ => hunks.push((lo, hi)),
        }
    }
    if hunks.is_empty() {
        out.push_str("(outputs differ only in the final newline)\n");
    }
    for (lo, hi) in hunks {
        let ((a0, b0), (al, bl)) = (sides(&ops[..lo]), sides(&ops[lo..hi]));
        let (a_start, b_start) = (a0 + usize::from(al > 0), b0 + usize::from(bl > 0));
        out.push_str(&format!("@@ -{a_start},{al} +{b_start},{bl} @@\n"));
        for (sign, text) in &ops[lo..hi] {
            out.push(*sign);
            push_line(&mut out, text);
        }
    }
    out
}
