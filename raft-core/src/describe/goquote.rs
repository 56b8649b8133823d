//! Go's `%q` formatting of byte slices (`strconv.Quote(string(b))`).
//!
//! etcd's raft test output prints entry data with `%q`, so conformance
//! comparisons need the exact same escaping rather than Rust's `{:?}`, which
//! differs for control characters, invalid UTF-8 and non-ASCII runes.

use std::fmt::Write as _;

/// Quotes `data` exactly like Go's `fmt.Sprintf("%q", data)`.
///
/// Invalid UTF-8 is escaped byte by byte as `\xNN`. That matches Go, which
/// decodes an invalid byte as `RuneError` of width 1 and escapes that byte:
/// an invalid sequence reported by [`<[u8]>::utf8_chunks`] consists of a lead
/// byte plus continuation bytes, and no continuation byte can start a valid
/// rune, so both decoders resynchronise at the same place.
pub fn go_quote(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() + 2);
    out.push('"');
    for chunk in data.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_escaped(&mut out, c);
        }
        for b in chunk.invalid() {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out.push('"');
    out
}

/// Go's `appendEscapedRune` with `quote = '"'` and `ASCIIonly = false`.
fn push_escaped(out: &mut String, c: char) {
    if c == '"' || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if is_go_print(c) {
        out.push(c);
        return;
    }
    let escape = match c {
        '\u{07}' => "\\a",
        '\u{08}' => "\\b",
        '\u{0C}' => "\\f",
        '\n' => "\\n",
        '\r' => "\\r",
        '\t' => "\\t",
        '\u{0B}' => "\\v",
        _ => "",
    };
    if !escape.is_empty() {
        out.push_str(escape);
        return;
    }
    let code = u32::from(c);
    // Writing to a String cannot fail.
    let _ = if code < 0x20 || code == 0x7f {
        write!(out, "\\x{code:02x}")
    } else if code < 0x10000 {
        write!(out, "\\u{code:04x}")
    } else {
        write!(out, "\\U{code:08x}")
    };
}

/// Approximates Go's `strconv.IsPrint`: letters, marks, numbers,
/// punctuation, symbols and U+0020 are printable; separators (Z*), controls
/// (Cc), format characters (Cf), private use (Co) and unassigned code points
/// (Cn) are not.
///
/// std exposes no general category, so this is built from what it does
/// expose plus fixed tables:
/// - Cc is exactly `char::is_control`.
/// - Z* is exactly `char::is_whitespace` minus the Cc characters it contains
///   (the `White_Space` property is Zs + Zl + Zp + a few controls).
/// - Cf and Co are listed below (Unicode 15, the version Go 1.21+ uses).
/// - Cn is only approximated: the permanent noncharacters are rejected, but
///   other code points unassigned in Unicode 15 are treated as printable,
///   where Go would escape them as `\u`/`\U`. Such code points do not occur in
///   raft test data.
pub fn is_go_print(c: char) -> bool {
    let code = u32::from(c);
    if code < 0x100 {
        // Go's own Latin-1 fast path; 0xAD (soft hyphen) is Cf.
        return (0x20..0x7f).contains(&code) || ((0xa1..=0xff).contains(&code) && code != 0xad);
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let in_table = |table: &[(u32, u32)]| table.iter().any(|&(lo, hi)| (lo..=hi).contains(&code));
    if in_table(FORMAT) || in_table(PRIVATE_USE) {
        return false;
    }
    let is_noncharacter = (0xfdd0..=0xfdef).contains(&code) || code & 0xfffe == 0xfffe;
    !is_noncharacter
}

/// General category Cf above U+00FF (Unicode 15.0).
const FORMAT: &[(u32, u32)] = &[
    (0x0600, 0x0605),
    (0x061c, 0x061c),
    (0x06dd, 0x06dd),
    (0x070f, 0x070f),
    (0x0890, 0x0891),
    (0x08e2, 0x08e2),
    (0x180e, 0x180e),
    (0x200b, 0x200f),
    (0x202a, 0x202e),
    (0x2060, 0x2064),
    (0x2066, 0x206f),
    (0xfeff, 0xfeff),
    (0xfff9, 0xfffb),
    (0x110bd, 0x110bd),
    (0x110cd, 0x110cd),
    (0x13430, 0x1343f),
    (0x1bca0, 0x1bca3),
    (0x1d173, 0x1d17a),
    (0xe0001, 0xe0001),
    (0xe0020, 0xe007f),
];

/// General category Co.
const PRIVATE_USE: &[(u32, u32)] = &[(0xe000, 0xf8ff), (0xf0000, 0xffffd), (0x100000, 0x10fffd)];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_go_outputs() {
        let cases: &[(&[u8], &str)] = &[
            (b"", r#""""#),
            (b"prop_1_12", r#""prop_1_12""#),
            (b"a\"b\\c", r#""a\"b\\c""#),
            (b"\x00\x07\n\x7f", r#""\x00\a\n\x7f""#),
            (&[0xff, b'a'], r#""\xffa""#),
            ("é".as_bytes(), "\"é\""),
            ("\u{200b}".as_bytes(), r#""\u200b""#),
            (b"\x08\x0c\r\t\x0b\x1b", r#""\b\f\r\t\v\x1b""#),
            (b" ~", r#"" ~""#),
            (
                "\u{85}\u{a0}\u{ad}\u{a1}".as_bytes(),
                "\"\\u0085\\u00a0\\u00ad\u{a1}\"",
            ),
            (
                "\u{2028}\u{3000}\u{feff}".as_bytes(),
                r#""\u2028\u3000\ufeff""#,
            ),
            (
                "\u{e000}\u{10fffd}\u{ffff}".as_bytes(),
                r#""\ue000\U0010fffd\uffff""#,
            ),
            (
                "日本\u{1F600}\u{fffd}".as_bytes(),
                "\"日本\u{1F600}\u{fffd}\"",
            ),
            // Truncated 3-byte sequence, then an encoded surrogate.
            (b"\xe2\x82x\xed\xa0\x80", r#""\xe2\x82x\xed\xa0\x80""#),
            (b"\xc0\xaf\xf8", r#""\xc0\xaf\xf8""#),
        ];
        for (input, want) in cases {
            assert_eq!(go_quote(input), *want, "input {input:?}");
        }
    }

    #[test]
    fn combining_marks_are_printable() {
        assert_eq!(go_quote("e\u{301}".as_bytes()), "\"e\u{301}\"");
    }
}
