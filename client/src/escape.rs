//! Broker-supplied text made safe for a terminal or a log line.
//!
//! A broker chooses feature names, host names and error messages; printed
//! raw, an escape sequence can retitle or clear the terminal, a newline can
//! forge a row of a table or a line of a log, and a bidi override can make
//! text read backwards. Such characters are written as Rust-style escapes
//! (`\n`, `\u{1b}`), and the backslash itself is doubled, so every escaped
//! string reads back unambiguously.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::limits::PRINT_NAME_CHARS;

/// Characters that are written as escapes: control characters (C0, DEL,
/// C1), the line and paragraph separators, and invisible format characters
/// that reorder or hide text (bidi controls, zero-width characters, the
/// BOM, interlinear annotation marks).
fn needs_escape(c: char) -> bool {
    c == '\\'
        || c.is_control()
        || matches!(c,
            '\u{00ad}'
            | '\u{061c}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}')
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if needs_escape(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// `s` with every unsafe character escaped; borrowed when nothing needs it.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// [`escape`], then cut after `max_chars` characters of the input with a
/// note of how many were left out.
pub fn escape_bounded(s: &str, max_chars: usize) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    for c in chars.by_ref().take(max_chars) {
        push_escaped(&mut out, c);
    }
    let rest = chars.count();
    if rest > 0 {
        let _ = write!(out, "...({rest} more characters)");
    }
    out
}

/// A broker-supplied name for one line of output
/// ([`PRINT_NAME_CHARS`] at most).
pub fn name(s: &str) -> String {
    escape_bounded(s, PRINT_NAME_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(escape("transaction.version"), Cow::Borrowed(_)));
        assert!(matches!(escape("métadonnées ü 日本"), Cow::Borrowed(_)));
    }

    #[test]
    fn terminal_controls_are_escaped() {
        assert_eq!(
            escape("a\x1b]0;pwned\x07\x1b[2J"),
            r"a\u{1b}]0;pwned\u{7}\u{1b}[2J"
        );
        assert_eq!(escape("row\nforged\r\t"), r"row\nforged\r\t");
        assert_eq!(escape("\u{202e}rtl\u{200b}"), r"\u{202e}rtl\u{200b}");
        assert_eq!(escape("\u{9b}31m\u{7f}"), r"\u{9b}31m\u{7f}");
        // The backslash is doubled, so an escape cannot be faked.
        assert_eq!(escape(r"\u{1b}"), r"\\u{1b}");
        for c in escape("\x00\x1f\u{85}\u{2028}\u{feff}").chars() {
            assert!(!c.is_control() && !needs_escape(c) || c == '\\', "{c:?}");
        }
    }

    #[test]
    fn long_names_are_cut_with_a_count() {
        let s = "x".repeat(1000);
        let out = escape_bounded(&s, 10);
        assert_eq!(out, "xxxxxxxxxx...(990 more characters)");
        assert_eq!(escape_bounded("short\n", 10), r"short\n");
        assert_eq!(
            name(&s).len(),
            PRINT_NAME_CHARS + "...(872 more characters)".len()
        );
    }
}
