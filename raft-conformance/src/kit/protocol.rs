//! Comparing outputs at the protocol level, exactly as etcd's reference
//! comparison (`protocol_diff.py`) does: log lines are dropped (a line whose
//! first word, after indentation, is `DEBUG`, `INFO`, `WARN`, `ERROR` or
//! `FATAL` followed by a space), trailing whitespace and blank lines are
//! ignored, and an output left empty reads `ok`.

use crate::datadriven::Script;
use crate::diff::Mismatch;

const LOG_LEVELS: [&str; 5] = ["DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

/// Whether `line` is a log line, which the protocol comparison ignores.
pub fn is_log_line(line: &str) -> bool {
    let rest = line.trim_start();
    LOG_LEVELS.iter().any(|level| {
        rest.strip_prefix(level)
            .is_some_and(|after| after.starts_with(' '))
    })
}

/// The protocol lines of one command's output.
pub fn protocol_lines(output: &str) -> Vec<&str> {
    let kept: Vec<&str> = output
        .split('\n')
        .filter(|l| !is_log_line(l))
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect();
    if kept.is_empty() {
        vec!["ok"]
    } else {
        kept
    }
}

/// Directives of `script` whose actual output (`actual[i]` for the i-th
/// directive) differs from the expected one at the protocol level. The
/// mismatches hold protocol lines only, so their diff shows what differs.
pub fn protocol_mismatches(script: &Script, actual: &[String]) -> Vec<Mismatch> {
    script
        .directives()
        .enumerate()
        .filter(|(_, d)| !d.is_subtest())
        .filter_map(|(i, d)| {
            let expected = protocol_lines(d.expected.as_deref().unwrap_or(""));
            let got = protocol_lines(actual.get(i).map_or("", String::as_str));
            (expected != got).then(|| Mismatch {
                file: script.name.clone(),
                line: d.line,
                command: d.raw_command.join("\n"),
                expected: joined(&expected),
                actual: joined(&got),
            })
        })
        .collect()
}

fn joined(lines: &[&str]) -> String {
    let mut s = lines.join("\n");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datadriven;

    #[test]
    fn log_lines_are_those_protocol_diff_drops() {
        assert!(is_log_line("INFO 1 became leader"));
        assert!(is_log_line("  DEBUG indented"));
        assert!(!is_log_line("INFO"), "a level word alone is not a log line");
        assert!(!is_log_line("INFOS x"));
        assert!(!is_log_line("1->2 MsgApp Term:1"));
    }

    #[test]
    fn empty_output_reads_ok_and_blank_lines_do_not_count() {
        assert_eq!(protocol_lines(""), vec!["ok"]);
        assert_eq!(protocol_lines("INFO only a log line\n"), vec!["ok"]);
        assert_eq!(protocol_lines("a  \n\n  b\n"), vec!["a", "  b"]);
    }

    #[test]
    fn mismatches_ignore_logs_and_show_protocol_differences() {
        let script = datadriven::parse(
            "t.txt",
            "cmd-a\n----\nINFO expected log\nline 1\n\ncmd-b\n----\nok\n\ncmd-c\n----\nx\n",
        )
        .unwrap();
        let actual = vec![
            "INFO another log\nline 1\n".to_string(),
            String::new(),
            "y\n".to_string(),
        ];
        let m = protocol_mismatches(&script, &actual);
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!(m[0].command, "cmd-c");
        assert!(m[0].diff().contains("-x\n+y\n"), "{}", m[0].diff());
    }
}
