//! Text files as sequence data: a UTF-8 file tokenized per character (the vocabulary is the
//! sorted distinct characters of the file) or any file per byte (a vocabulary of 256), cut
//! into windows of `context + 1` tokens every `stride` tokens: the first `context` are the
//! input, the last `context` the next-token targets. A bad file never panics: an empty file,
//! bytes that are not UTF-8 (with the byte offset and line), a text shorter than one window
//! or more windows than netdx holds are errors naming the file.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Dataset, SequenceInfo};
use crate::error::{Error, Result};
use crate::limits;

/// How a text file is cut into tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextLevel {
    /// One token per Unicode character; the file must be UTF-8.
    #[default]
    Char,
    /// One token per byte (vocabulary 256); any file.
    Byte,
}

/// `data: {text: {path: input.txt, context: 64, stride: 64, level: char}}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextSource {
    pub path: PathBuf,
    /// Tokens per example.
    pub context: usize,
    /// Tokens between the starts of consecutive windows; default `context` (windows that
    /// share only their boundary token).
    #[serde(default)]
    pub stride: Option<usize>,
    /// `char` (default) or `byte`.
    #[serde(default)]
    pub level: TextLevel,
}

/// How a byte-level token is shown: the character when printable ASCII, else `\xNN`.
pub fn byte_name(b: u8) -> String {
    if (0x20..0x7f).contains(&b) {
        (b as char).to_string()
    } else {
        format!("\\x{b:02x}")
    }
}

/// The 1-based line of byte `offset` of `bytes`.
fn line_of(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Reads the text file `source.path` (relative to `base`). `train`, for a validation file,
/// fixes the vocabulary and the context to the training data's.
pub fn load(source: &TextSource, base: &Path, train: Option<&Dataset>) -> Result<Dataset> {
    let path = crate::io::resolve(base, &source.path);
    let err = |message: String| Error::Data {
        file: path.clone(),
        tensor: None,
        line: None,
        column: None,
        message,
    };
    let context = source.context;
    let stride = source.stride.unwrap_or(context);
    if context == 0 || context > limits::MAX_CONTEXT {
        return Err(err(format!(
            "context must be between 1 and {}, got {context}",
            limits::MAX_CONTEXT
        )));
    }
    if stride == 0 {
        return Err(err("stride must be at least 1".into()));
    }
    if let Some(t) = train {
        match t.sequence {
            Some(s) if s.context == context => {}
            Some(s) => {
                return Err(err(format!(
                    "a context of {context} differs from the training data's {}",
                    s.context
                )))
            }
            None => return Err(err("the training data is not token data".into())),
        }
    }
    let text_limit = crate::io::Limit::TEXT;
    let bytes = crate::io::bounded::map(&path, &text_limit).map_err(|e| err(e.to_string()))?;
    if bytes.len() as u64 > text_limit.bytes {
        return Err(err(crate::io::Refused::TooLarge {
            size: Some(bytes.len() as u64),
            limit: text_limit,
        }
        .to_string()));
    }
    if bytes.is_empty() {
        return Err(err("is empty".into()));
    }
    let (tokens, names, unit): (Vec<u32>, Vec<String>, &str) = match source.level {
        TextLevel::Byte => {
            let names: Vec<String> = (0..=255u8).map(byte_name).collect();
            if train.is_some_and(|t| t.class_names != names) {
                return Err(err(
                    "the training data's vocabulary is not bytes; read both files with the same `level`"
                        .into(),
                ));
            }
            (bytes.iter().map(|b| *b as u32).collect(), names, "bytes")
        }
        TextLevel::Char => {
            let text = std::str::from_utf8(&bytes).map_err(|e| {
                let at = e.valid_up_to();
                err(format!(
                    "byte {at} (line {}): not UTF-8 text; `level: byte` reads any file byte by byte",
                    line_of(&bytes, at)
                ))
            })?;
            let vocabulary: Vec<char> = match train {
                Some(t) => {
                    let mut chars = Vec::with_capacity(t.class_names.len());
                    for name in &t.class_names {
                        let mut it = name.chars();
                        match (it.next(), it.next()) {
                            (Some(c), None) => chars.push(c),
                            _ => return Err(err(
                                "the training data's vocabulary is not characters; read both files with the same `level`"
                                    .into(),
                            )),
                        }
                    }
                    chars
                }
                None => text
                    .chars()
                    .collect::<BTreeSet<char>>()
                    .into_iter()
                    .collect(),
            };
            if vocabulary.len() > limits::MAX_VOCAB {
                return Err(err(format!(
                    "{} distinct characters is a larger vocabulary than netdx takes ({})",
                    vocabulary.len(),
                    limits::MAX_VOCAB
                )));
            }
            let ids: HashMap<char, u32> = vocabulary
                .iter()
                .enumerate()
                .map(|(i, c)| (*c, i as u32))
                .collect();
            let mut tokens = Vec::with_capacity(text.len());
            for (at, c) in text.char_indices() {
                match ids.get(&c) {
                    Some(id) => tokens.push(*id),
                    None => {
                        return Err(err(format!(
                            "byte {at} (line {}): the character {c:?} is not in the training text's vocabulary",
                            line_of(&bytes, at)
                        )))
                    }
                }
            }
            let names = vocabulary.iter().map(|c| c.to_string()).collect();
            (tokens, names, "characters")
        }
    };
    let total = tokens.len();
    if total < context + 1 {
        return Err(err(format!(
            "{total} {unit} is too short for one example of context {context} (needs {})",
            context + 1
        )));
    }
    let n = (total - context - 1) / stride + 1;
    if n.saturating_mul(context) > limits::MAX_TENSOR_ELEMENTS {
        return Err(err(format!(
            "{n} windows of {context} tokens is more than netdx holds ({} values); use a larger stride",
            limits::MAX_TENSOR_ELEMENTS
        )));
    }
    let mut x = Vec::with_capacity(n * context);
    let mut y = Vec::with_capacity(n * context);
    for i in 0..n {
        let window = &tokens[i * stride..i * stride + context + 1];
        x.extend(window[..context].iter().map(|t| *t as f32));
        y.extend(window[1..].iter().map(|t| *t as f32));
    }
    let vocab = names.len();
    let file = path.file_name().map_or_else(
        || path.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    );
    let level = match source.level {
        TextLevel::Char => "char",
        TextLevel::Byte => "byte",
    };
    Ok(Dataset {
        name: format!(
            "{file} ({level} level: {n} windows of {context}, stride {stride}, vocab {vocab})"
        ),
        x,
        y,
        n,
        x_width: context,
        y_width: context,
        classes: Some(vocab),
        class_names: names,
        image: None,
        sequence: Some(SequenceInfo { context, vocab }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_shown_printable_or_escaped() {
        assert_eq!(byte_name(b'a'), "a");
        assert_eq!(byte_name(b' '), " ");
        assert_eq!(byte_name(b'\n'), "\\x0a");
        assert_eq!(byte_name(0xff), "\\xff");
        assert_eq!(line_of(b"a\nb\nc", 4), 3);
    }
}
