//! Tests for the datadriven parser, rewriter and diff helpers.

use super::*;
use crate::diff::{diff_outputs, unified_diff};

fn arg(key: &str, vals: &[&str]) -> Arg {
    Arg {
        key: key.to_string(),
        vals: vals.iter().map(|v| v.to_string()).collect(),
    }
}

fn only_directive(text: &str) -> Directive {
    let script = parse("t.txt", text).expect("parse");
    let mut ds: Vec<Directive> = script.directives().cloned().collect();
    assert_eq!(ds.len(), 1, "{ds:?}");
    ds.remove(0)
}

#[test]
fn parse_line_forms() {
    let (cmd, args) = parse_line("  add-nodes 3 voters=(1,2,3) index=2  ").expect("ok");
    assert_eq!(cmd, "add-nodes");
    assert_eq!(
        args,
        vec![
            arg("3", &[]),
            arg("voters", &["1", "2", "3"]),
            arg("index", &["2"])
        ]
    );
    let (_, args) = parse_line("cmd exprs=(a + (b + c), d + f) k= j=  x k==b").expect("ok");
    assert_eq!(
        args,
        vec![
            arg("exprs", &["a + (b + c)", "d + f"]),
            arg("k", &[""]),
            arg("j", &[""]),
            arg("x", &[]),
            arg("k", &["=b"]),
        ]
    );
    let (_, args) = parse_line("cmd a=()  b=(x,  ,y)c=(é,ü)").expect("ok");
    assert_eq!(
        args,
        vec![
            arg("a", &[""]),
            arg("b", &["x", "", "y"]),
            arg("c", &["é", "ü"])
        ]
    );
    assert_eq!(parse_line(" \t ").expect("ok"), (String::new(), vec![]));
    assert_eq!(
        parse_line("x\ty").expect("ok"),
        ("x\ty".to_string(), vec![])
    );
}

#[test]
fn parse_line_errors_match_go_columns() {
    let col = |line: &str| match parse_line(line) {
        Err(ParseErrorKind::BadDirective { column, .. }) => column,
        other => panic!("{line:?}: {other:?}"),
    };
    assert_eq!(col("cmd key=(1,2"), 9);
    assert_eq!(col("cmd a ==b"), 7);
    assert_eq!(col("cmd =x"), 5);
    assert_eq!(col("  cmd k=((a)"), 7);
}

#[test]
fn error_display_names_file_and_line() {
    let text = "# c\n\nfoo\n----\nok\n\nbar key=(1,2\n";
    let err = parse("campaign.txt", text).expect_err("bad");
    assert_eq!(err.line, 7);
    assert_eq!(
        err.to_string(),
        "campaign.txt:7: cannot parse directive at column 9: bar key=(1,2"
    );
}

#[test]
fn comments_blank_lines_and_continuations() {
    let text = "# note \\\n\n  cmd a \\\n   b=1 \\\nc\ninput 1\n\n  input 2 \n----\nout\n";
    let script = parse("t.txt", text).expect("parse");
    assert_eq!(script.items[0], Item::Verbatim("# note \\".into()));
    assert_eq!(script.items[1], Item::Verbatim(String::new()));
    let Item::Directive(d) = &script.items[2] else {
        panic!("{:?}", script.items)
    };
    assert_eq!((d.line, d.cmd.as_str()), (3, "cmd"));
    assert_eq!(d.args, vec![arg("a", &[]), arg("b", &["1"]), arg("c", &[])]);
    assert_eq!(d.input, "input 1\n\n  input 2");
    assert_eq!(d.expected.as_deref(), Some("out\n"));
    assert_eq!(d.raw_command.len(), 3);
    assert_eq!(script.items.len(), 3);
    assert_eq!(script.rewrite_expected(), text);
}

#[test]
fn expected_output_forms() {
    let d = only_directive("cmd\n----\na\nb\n  \n");
    assert_eq!(d.expected.as_deref(), Some("a\nb\n"));
    let d = only_directive("cmd\n----\n----\na\n\n----\nb\n----\n----\n\n");
    assert_eq!(d.expected.as_deref(), Some("a\n\n----\nb\n"));
    assert_eq!(only_directive("cmd\n----\n").expected.as_deref(), Some(""));
    assert_eq!(
        only_directive("cmd\n----\n\n").expected.as_deref(),
        Some("")
    );
    assert_eq!(only_directive("cmd\nin\n").expected, None);
    assert_eq!(
        only_directive("cmd\r\n----\r\nx\r\n").expected.as_deref(),
        Some("x\n")
    );
    let s = parse("t", "subtest foo\na\n----\nb\n").expect("parse");
    let cmds: Vec<_> = s
        .directives()
        .map(|d| (d.cmd.as_str(), d.expected.clone()))
        .collect();
    assert_eq!(
        cmds,
        vec![("subtest", None), ("a", Some("b\n".to_string()))]
    );
}

#[test]
fn block_errors() {
    let err = parse("f.txt", "cmd\n----\n----\na\n----\n").expect_err("unterminated");
    assert_eq!((err.line, err.kind), (3, ParseErrorKind::UnterminatedBlock));
    let err = parse("f.txt", "cmd\n----\n----\na\n").expect_err("unterminated");
    assert_eq!(err.kind, ParseErrorKind::UnterminatedBlock);
    let err = parse("f.txt", "cmd\n----\n----\na\n----\n----\nnext\n").expect_err("text");
    assert_eq!((err.line, &err.kind), (7, &ParseErrorKind::TextAfterBlock));
    assert_eq!(
        err.to_string(),
        "f.txt:7: non-blank line after end of double ---- separator section"
    );
}

#[test]
fn rewrite_normalises_like_go() {
    let script = parse(
        "t",
        "# hi\na\n----\nold\n\nb x=1\nin\n----\n----\n\n----\n----\n",
    )
    .expect("parse");
    let outs = ["new".to_string(), "x\n\ny".to_string()];
    assert_eq!(
        script.rewrite_with(&outs),
        "# hi\na\n----\nnew\n\nb x=1\nin\n----\n----\nx\n\ny\n----\n----\n"
    );
    assert_eq!(
        script.rewrite(|_| String::new()),
        "# hi\na\n----\n\nb x=1\nin\n----\n"
    );
    // Only space/tab lines count as blank for the ----/---- form, as in Go.
    assert_eq!(
        script.rewrite_with(&["a\n\r\nb".into(), " \t\nz".into()]),
        "# hi\na\n----\na\n\r\nb\n\nb x=1\nin\n----\n----\n \t\nz\n----\n----\n"
    );
    // A directive without a separator gets one, like Go.
    assert_eq!(
        parse("t", "a\n").expect("p").rewrite(|_| "o".into()),
        "a\n----\no\n"
    );
    let sub = parse("t", "subtest x\na\n----\nq\n").expect("p");
    assert_eq!(
        sub.rewrite_with(&["ignored".into(), "r".into()]),
        "subtest x\na\n----\nr\n"
    );
}

/// Where etcd's reference scripts are, and whether they must be there, by
/// the rules of ci/lib.sh: `$ETCD_REFERENCE` (relative to the workspace
/// root), by default `../shared/etcd` beside the workspace, required unless
/// `ETCD_REFERENCE=none` or `REQUIRE_ETCD=0` (`REQUIRE_ETCD=1` wins).
fn etcd_reference() -> (std::path::PathBuf, bool) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let var = std::env::var("ETCD_REFERENCE")
        .ok()
        .filter(|v| !v.is_empty());
    let required = match std::env::var("REQUIRE_ETCD").as_deref() {
        Ok("1") => true,
        Ok("0") => false,
        _ => var.as_deref() != Some("none"),
    };
    // An absolute ETCD_REFERENCE replaces the root.
    let dir = root.join(var.as_deref().unwrap_or("../shared/etcd"));
    (dir, required)
}

/// Rewriting each etcd script with its own expected outputs must reproduce
/// it exactly. All these files end in a single '\n'; a file ending in a
/// blank line or without a final newline would differ at EOF (Go's rewrite
/// drops one trailing blank line and always terminates the last line).
#[test]
fn etcd_testdata_round_trips() {
    let (etcd, required) = etcd_reference();
    let dir = etcd.join("testdata");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        assert!(
            !required,
            "no etcd reference scripts at {}: set ETCD_REFERENCE=DIR \
             (ETCD_REFERENCE=none or REQUIRE_ETCD=0 skips this test)",
            dir.display()
        );
        eprintln!("skipping, as asked: no {}", dir.display());
        return;
    };
    let mut checked = 0;
    for entry in entries {
        let path = entry.expect("dir entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("txt") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let script = parse(name, &text).unwrap_or_else(|e| panic!("{e}"));
        assert!(script.directives().count() > 0, "{name}");
        let rewritten = script.rewrite_expected();
        assert!(
            rewritten == text,
            "{name}:\n{}",
            unified_diff(&text, &rewritten)
        );
        let outs: Vec<String> = script
            .directives()
            .map(|d| d.expected.clone().unwrap_or_default())
            .collect();
        assert!(diff_outputs(&script, &outs).is_empty());
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} files");
}

/// xorshift64*: enough randomness to shake the parser without a crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn garbage_never_panics() {
    const ALPHABET: &[&str] = &[
        "a", "=", "(", ")", ",", "-", " ", "\n", "#", "\\", "\r", "\t", "é", "----\n", "\n\n",
        "x=(",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut ok, mut err) = (0, 0);
    for _ in 0..20_000 {
        let len = (rng.next() % 60) as usize;
        let text: String = (0..len)
            .map(|_| ALPHABET[(rng.next() % ALPHABET.len() as u64) as usize])
            .collect();
        let _ = parse_line(&text);
        match parse("fuzz", &text) {
            Ok(script) => {
                ok += 1;
                let rewritten = script.rewrite_expected();
                let _ = parse("fuzz", &rewritten);
                let outs: Vec<String> = script.directives().map(|d| d.input.clone()).collect();
                for m in diff_outputs(&script, &outs) {
                    let _ = m.to_string();
                }
            }
            Err(e) => {
                err += 1;
                assert!(e.line >= 1 && e.to_string().starts_with("fuzz:"), "{e}");
            }
        }
    }
    assert!(ok > 100 && err > 100, "ok={ok} err={err}");
}

#[test]
fn scanning_helpers() {
    let d = only_directive("cmd 1 2 idx=7 b=True v=(1,2,3) e=() bad=+1 l=(1,2) n f=yes\n----\n");
    assert_eq!(d.positional().collect::<Vec<_>>(), ["1", "2", "n"]);
    assert_eq!(d.scan_u64("idx"), Ok(Some(7)));
    assert_eq!(d.scan_u64("missing"), Ok(None));
    assert_eq!(d.scan_bool("b"), Ok(Some(true)));
    assert_eq!(d.scan_u64s("v"), Ok(Some(vec![1, 2, 3])));
    assert_eq!(d.scan_u64s("idx"), Ok(Some(vec![7])));
    assert_eq!(d.scan_u64s("e"), Ok(Some(vec![])));
    assert_eq!(d.scan_str("idx"), Ok(Some("7")));
    assert!(d.arg("n").is_some() && d.arg("zz").is_none());
    let e = d.scan_u64("bad").expect_err("plus sign");
    assert_eq!(
        e.to_string(),
        "line 1: cmd: argument \"bad\": invalid u64 \"+1\""
    );
    assert!(d.scan_u64("l").is_err() && d.scan_u64("n").is_err() && d.scan_bool("f").is_err());
    assert!(d.positional_u64s().is_err());
    assert_eq!(only_directive("s 3 1\n").positional_u64s(), Ok(vec![3, 1]));
    for (s, v) in [
        ("1", true),
        ("t", true),
        ("TRUE", true),
        ("False", false),
        ("0", false),
        ("F", false),
    ] {
        assert_eq!(parse_go_bool(s), Some(v));
    }
    assert_eq!(parse_go_bool("tRUE"), None);
    assert_eq!(parse_go_u64("18446744073709551616"), None);
}

#[test]
fn diff_reports_mismatches() {
    let script = parse(
        "f.txt",
        "a\n----\nx\n\nb \\\n y\n----\n1\n2\n3\n4\n5\n6\n7\n8\n9\n",
    )
    .expect("p");
    let actual = [
        "x".to_string(),
        "1\n2\n3\nfour\n5\n6\n7\n8\n9\nten".to_string(),
    ];
    let ms = diff_outputs(&script, &actual);
    assert_eq!(ms.len(), 1);
    assert_eq!((ms[0].line, ms[0].command.as_str()), (5, "b \\\n y"));
    let want = "--- expected\n+++ actual\n@@ -1,9 +1,10 @@\n 1\n 2\n 3\n-4\n+four\n 5\n 6\n 7\n 8\n 9\n+ten\n";
    assert_eq!(ms[0].diff(), want);
    assert!(ms[0]
        .to_string()
        .starts_with("f.txt:5: b \\\n y\n--- expected"));
    let far = unified_diff(
        "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n",
        "A\nb\nc\nd\ne\nf\ng\nh\ni\nJ\n",
    );
    assert_eq!(
        far,
        "--- expected\n+++ actual\n@@ -1,4 +1,4 @@\n-a\n+A\n b\n c\n d\n@@ -7,4 +7,4 @@\n g\n h\n i\n-j\n+J\n"
    );
    assert_eq!(
        unified_diff("", "x\n"),
        "--- expected\n+++ actual\n@@ -0,0 +1,1 @@\n+x\n"
    );
    assert_eq!(unified_diff("same\n", "same\n"), "");
    assert!(unified_diff("a", "a\n").contains("final newline"));
    assert_eq!(diff_outputs(&script, &[]).len(), 2);
}
