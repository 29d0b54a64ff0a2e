//! Text that came from a provider or a plan, made safe to print on a terminal: control characters (ESC, CR,
//! newlines, DEL, C1 controls) and the bidirectional overrides that can disguise text are shown escaped, so a
//! label or an error message can neither move the cursor, retitle the window nor split one line into two.

use std::borrow::Cow;

/// `s` with every control and bidirectional-override character escaped (`\n`, `\t`, `\r`, `\u{1b}`, …); the
/// text is borrowed unchanged when there is nothing to escape.
///
/// ```
/// assert_eq!(prov_core::text::printable("web\x1b[2J\n1"), "web\\u{1b}[2J\\n1");
/// assert_eq!(prov_core::text::printable("web-1"), "web-1");
/// ```
pub fn printable(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` cut to at most `max` characters, with `…` marking the cut.
///
/// ```
/// assert_eq!(prov_core::text::cut("abcdef", 3), "abc…");
/// assert_eq!(prov_core::text::cut("abc", 3), "abc");
/// ```
pub fn cut(s: &str, max: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max) {
        Some((at, _)) => Cow::Owned(format!("{}…", &s[..at])),
        None => Cow::Borrowed(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_are_escaped_and_plain_text_is_untouched() {
        assert_eq!(printable("a\u{7}b\u{9b}c\u{202e}d\te"), "a\\u{7}b\\u{9b}c\\u{202e}d\\te");
        assert!(matches!(printable("plain ünïcode"), Cow::Borrowed(_)));
    }

    #[test]
    fn cut_counts_characters_not_bytes() {
        assert_eq!(cut("ééé", 2), "éé…");
    }
}
