//! A plugin's own words (its log lines and the texts of the errors it reports) as the
//! platform keeps them: at most [`PLUGIN_TEXT_MAX`] bytes, cut on a character boundary with a
//! marker, and on one line (control characters and line separators become spaces), so that
//! a plugin can neither flood a log nor forge a line of it.

/// The most bytes of a plugin's log line or error text that are kept.
pub const PLUGIN_TEXT_MAX: usize = 2048;

/// What is appended to a text that was cut.
pub const CUT_MARKER: &str = " …[cut]";

/// `text` made safe to keep: one line, at most [`PLUGIN_TEXT_MAX`] bytes (plus the marker).
pub fn plugin_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(PLUGIN_TEXT_MAX));
    for c in text.chars() {
        let c = if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}') { ' ' } else { c };
        if out.len() + c.len_utf8() > PLUGIN_TEXT_MAX {
            out.push_str(CUT_MARKER);
            return out;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_short_line_as_it_is() {
        assert_eq!(plugin_words("Kovács Ilona: 200 OK"), "Kovács Ilona: 200 OK");
    }

    #[test]
    fn a_plugin_cannot_start_a_new_line() {
        let forged = "ok\n2026-12-07T10:00:00Z  INFO kapu: operator signed in\r\u{1b}[2K\u{2028}x";
        let kept = plugin_words(forged);
        assert!(!kept.chars().any(|c| c.is_control() || c == '\u{2028}'), "{kept:?}");
        assert_eq!(kept, "ok 2026-12-07T10:00:00Z  INFO kapu: operator signed in  [2K x");
    }

    #[test]
    fn a_long_text_is_cut_on_a_character_boundary_with_a_marker() {
        let long = "ő".repeat(PLUGIN_TEXT_MAX); // two bytes each
        let kept = plugin_words(&long);
        assert!(kept.ends_with(CUT_MARKER));
        let body = kept.strip_suffix(CUT_MARKER).expect("marker");
        assert_eq!(body.len(), PLUGIN_TEXT_MAX);
        assert!(body.chars().all(|c| c == 'ő'));
        let odd = format!("a{}", "ő".repeat(PLUGIN_TEXT_MAX));
        assert_eq!(plugin_words(&odd).strip_suffix(CUT_MARKER).expect("marker").len(), PLUGIN_TEXT_MAX - 1);
        assert_eq!(plugin_words(&"x".repeat(PLUGIN_TEXT_MAX)), "x".repeat(PLUGIN_TEXT_MAX), "exactly the limit is kept whole");
    }
}
