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

/// 1-based (line, column) of the last key of `path` in `text`.
pub fn locate(text: &str, path: &str) -> Option<(usize, usize)> {
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
    found.map(|p| line_col(text, p))
}

fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let before = &text[..pos];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(pos, |nl| pos - nl - 1) + 1;
    (line, col)
}

/// Whether `at` is inside a `#` comment (a `#` at the start of its line or after whitespace,
/// earlier on the same line).
fn in_comment(text: &str, at: usize) -> bool {
    let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
    let line = &text[line_start..at];
    line.char_indices()
        .any(|(i, c)| c == '#' && (i == 0 || line[..i].ends_with(|p: char| p.is_whitespace())))
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
        if before_ok && after.starts_with(':') && !in_comment(text, at) {
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
}
