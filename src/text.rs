//! Small text helpers for messages.

/// Levenshtein distance, for "did you mean" suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The candidate closest to `word` within an edit distance of 3.
pub fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .min()
        .filter(|(d, _)| *d <= 3)
        .map(|(_, c)| c)
}

/// A number in a compact form that keeps small values readable.
pub fn number(v: f64) -> String {
    if v == 0.0 || (1e-3..1e4).contains(&v.abs()) {
        format!("{v:.4}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        format!("{v:.2e}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(super::edit_distance("stepz", "steps"), 1);
        assert_eq!(super::edit_distance("", "abc"), 3);
        assert_eq!(
            super::nearest("gradiant_check", &["gradient_check", "smoke"]),
            Some("gradient_check")
        );
        assert_eq!(super::nearest("xyzzy", &["smoke"]), None);
    }
}

/// `s` safe to print on a terminal: control characters — escape sequences that recolor or
/// clear the screen, bells, carriage returns that overwrite a line — written as Rust escapes
/// (`\u{1b}`). Line feeds are kept when `keep_newlines` (multi-line reports), escaped in a
/// table cell.
pub fn printable(s: &str, keep_newlines: bool) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && !(keep_newlines && c == '\n');
    if !s.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod printable_tests {
    use super::printable;

    #[test]
    fn control_characters_are_escaped_and_text_is_kept() {
        assert_eq!(printable("plain — ünïcode", false), "plain — ünïcode");
        assert_eq!(
            printable("bad\u{1b}[2Jname\u{7}\r", false),
            "bad\\u{1b}[2Jname\\u{7}\\r"
        );
        assert_eq!(printable("a\nb\tc", true), "a\nb\\tc");
        assert_eq!(printable("a\nb", false), "a\\nb");
    }
}
