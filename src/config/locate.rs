//! Finding where a key path such as `training.optimizer.lr` or `model.layers[2].linear.out`
//! stands in a YAML text, so that errors found after parsing (a value out of range) can name the
//! line and column as parse errors do. serde_yaml keeps no positions once a value is parsed, so
//! this walks the text: each key is searched after the previous one, list items are counted in
//! block (`- `) and flow (`[a, b]`) style. When a step cannot be found, the deepest one found is
//! returned.

/// A config error about `key` of `file`: at its line and column when the key is found in
/// `text`, else naming the key path.
pub fn error_at(file: &std::path::Path, text: &str, key: &str, message: String) -> crate::Error {
    match locate(text, key) {
        Some((line, column)) => crate::Error::Config {
            file: file.to_path_buf(),
            line,
            column,
            message: format!("{key}: {message}"),
        },
        None => crate::Error::ConfigValue {
            file: file.to_path_buf(),
            key: key.to_string(),
            message,
        },
    }
}

/// 1-based (line, column) of the last key of `path` in `text`; a leading byte order mark is
/// not part of the text (columns count characters, as an editor shows them).
pub fn locate(text: &str, path: &str) -> Option<(usize, usize)> {
    let text = super::strip_bom(text);
    // Searched with the contents of quoted strings, block scalars and comments blanked out
    // (same byte offsets), so that `steps:` inside a string is not taken for the key.
    let keys = blank_values(text);
    locate_in(&keys, path).map(|p| line_col(text, p))
}

/// The byte offset of the last key of `path` in `text` (already blanked).
fn locate_in(text: &str, path: &str) -> Option<usize> {
    let mut pos = 0;
    let mut found = None;
    for token in path.split('.') {
        let (name, index) = match token.find('[') {
            Some(b) => (
                &token[..b],
                token[b + 1..].trim_end_matches(']').parse::<usize>().ok(),
            ),
            None => (token, None),
        };
        if !name.is_empty() {
            match find_key(text, pos, name) {
                Some(p) => {
                    pos = p;
                    found = Some(p);
                }
                None => break,
            }
        }
        if let Some(i) = index {
            match nth_item(text, pos, i) {
                Some(p) => {
                    pos = p;
                    found = Some(p);
                }
                None => break,
            }
        }
    }
    found
}

/// 1-based line and column (in characters) of byte offset `pos`.
pub(crate) fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let before = &text[..pos];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |nl| nl + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// `text` with every byte of a comment, of a quoted string's contents and of a block
/// scalar's (`|`, `>`) lines replaced by a space: what is left are keys, indicators and
/// plain values, at their own byte offsets.
fn blank_values(text: &str) -> String {
    let mut out: Vec<u8> = text.as_bytes().to_vec();
    // The indentation of the line that opened a block scalar, while in one.
    let mut block: Option<usize> = None;
    // The quote character of a string that continues from an earlier line.
    let mut quote: Option<u8> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let bytes = line.as_bytes();
        let body = line.trim_end_matches(['\n', '\r']);
        let indent = body.len() - body.trim_start_matches(' ').len();
        if let Some(parent) = block {
            if body.trim().is_empty() || indent > parent {
                out[offset..offset + body.len()].fill(b' ');
                offset += line.len();
                continue;
            }
            block = None;
        }
        let mut i = 0;
        while i < body.len() {
            let c = bytes[i];
            if let Some(q) = quote {
                if q == b'"' && c == b'\\' {
                    out[i + offset] = b' ';
                    if i + 1 < body.len() {
                        out[i + offset + 1] = b' ';
                    }
                    i += 2;
                    continue;
                }
                if c == q {
                    if q == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                        out[offset + i] = b' ';
                        out[offset + i + 1] = b' ';
                        i += 2;
                        continue;
                    }
                    quote = None;
                } else {
                    out[offset + i] = b' ';
                }
                i += 1;
                continue;
            }
            let starts_scalar = i == 0
                || matches!(
                    bytes[i - 1],
                    b' ' | b'\t' | b':' | b'[' | b'{' | b',' | b'-'
                );
            match c {
                b'#' if i == 0 || matches!(bytes[i - 1], b' ' | b'\t') => {
                    out[offset + i..offset + body.len()].fill(b' ');
                    break;
                }
                b'"' | b'\'' if starts_scalar => quote = Some(c),
                _ => {}
            }
            i += 1;
        }
        // A block scalar's header ends its line: `key: |`, `- >-`, `text: |2`.
        let kept = std::str::from_utf8(&out[offset..offset + body.len()])
            .unwrap_or("")
            .trim_end();
        let token = kept.rsplit([' ', '\t']).next().unwrap_or("");
        let before = kept[..kept.len() - token.len()].trim_end();
        if quote.is_none()
            && token.starts_with(['|', '>'])
            && token[1..]
                .chars()
                .all(|c| matches!(c, '-' | '+' | '0'..='9'))
            && (before.is_empty() || before.ends_with(':') || before.ends_with('-'))
        {
            block = Some(indent);
        }
        offset += line.len();
    }
    // Only ASCII bytes were written over whole characters' bytes: still UTF-8.
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

/// The byte offset of `name` used as a key (`name:`) at or after `from`.
fn find_key(text: &str, from: usize, name: &str) -> Option<usize> {
    let mut start = from;
    while let Some(rel) = text[start..].find(name) {
        let at = start + rel;
        let before_ok = at == 0
            || text[..at]
                .ends_with(|c: char| c.is_whitespace() || c == '{' || c == ',' || c == '-');
        let after = text[at + name.len()..].trim_start_matches([' ', '\t']);
        if before_ok && after.starts_with(':') {
            return Some(at);
        }
        start = at + name.len();
    }
    None
}

/// The byte offset of item `i` of the sequence that is the value of the key at `key`.
fn nth_item(text: &str, key: usize, i: usize) -> Option<usize> {
    let colon = key + text[key..].find(':')?;
    let rest = &text[colon + 1..];
    let skip = rest.len() - rest.trim_start().len();
    let start = colon + 1 + skip;
    if text[start..].starts_with('[') {
        // Flow sequence: count commas at depth 1.
        let (mut depth, mut count) = (0usize, 0usize);
        let mut item = start + 1;
        for (off, ch) in text[start..].char_indices() {
            match ch {
                '[' | '{' => depth += 1,
                ']' | '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return None;
                    }
                }
                ',' if depth == 1 => {
                    count += 1;
                    item = start + off + 1;
                }
                _ => {}
            }
            if count == i && depth == 1 && !text[item..].starts_with([' ', ',']) {
                return Some(item);
            }
            if count == i && depth == 1 && text[item..].starts_with(' ') {
                item += 1;
            }
        }
        return None;
    }
    // Block sequence: lines whose first non-blank character is '-' at the first such indent.
    let mut indent = None;
    let mut count = 0;
    let mut offset = start - (start - text[..start].rfind('\n').map_or(0, |n| n + 1));
    for line in text[offset..].split_inclusive('\n') {
        let trimmed = line.trim_start();
        let ind = line.len() - trimmed.len();
        if trimmed.starts_with('-') {
            match indent {
                None => indent = Some(ind),
                Some(d) if d != ind => {
                    offset += line.len();
                    continue;
                }
                _ => {}
            }
            if count == i {
                return Some(offset + ind);
            }
            count += 1;
        } else if indent.is_some_and(|d| !trimmed.is_empty() && ind < d) {
            return None;
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::locate;

    const TEXT: &str = "data: {builtin: spiral}\nmodel:\n  layers:\n    - {linear: {out: 8}}\n    - relu\n    - {linear: {out: 0}}\ntraining:\n  optimizer: {name: sgd, lr: -1}\n  batch_size: 10\nfaults: [{kind: skip_update, layer: 0}, {kind: zero_gradient, layer: 9}]\n";

    #[test]
    fn finds_keys_in_block_and_flow_style() {
        assert_eq!(locate(TEXT, "training.optimizer.lr"), Some((8, 26)));
        assert_eq!(locate(TEXT, "training.batch_size"), Some((9, 3)));
        assert_eq!(locate(TEXT, "model.layers[2].linear.out"), Some((6, 17)));
        assert_eq!(locate(TEXT, "faults[1].layer"), Some((10, 63)));
        // An unknown last step falls back to the deepest step found.
        assert_eq!(locate(TEXT, "training.clip.norm"), Some((7, 1)));
        assert_eq!(locate(TEXT, "nothing.here"), None);
    }

    #[test]
    fn keys_inside_strings_block_scalars_and_comments_are_not_keys() {
        let text = "name: |\n  steps: 3 in the text\n  lr: 1\ntraining:\n  note: \"steps: 5, lr: 2\"\n  # steps: 7\n  x: 'it''s steps: 9'\n  steps: 0\n";
        assert_eq!(locate(text, "training.steps"), Some((8, 3)));
        let folded = "data:\n  - >-\n    steps: 1\n  - steps: 2\n";
        assert_eq!(locate(folded, "data[1].steps"), Some((4, 5)));
    }

    #[test]
    fn a_byte_order_mark_and_wide_characters_do_not_shift_columns() {
        assert_eq!(locate("\u{feff}seed: 1\n", "seed"), Some((1, 1)));
        assert_eq!(locate("name: \"é\", seed: 1\n", "seed"), Some((1, 12)));
    }
}
