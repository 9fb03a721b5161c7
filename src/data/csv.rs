//! CSV datasets: a header row, one example per row. The label column is named by `label`
//! (default: the last column); every other column is a feature read as f32. Labels that are
//! all integers or are text are classes, mapped to indices 0.. in sorted order (the mapping is
//! part of the dataset's name); labels that are other numbers are a regression target (or
//! `task: regression` forces it). A bad file never panics: ragged rows, non-numeric cells,
//! NaN/Inf features, an empty file or a missing label column give an error with the file, row
//! and column.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Dataset;
use crate::error::{Error, Result};

/// What the label column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    Classification,
    Regression,
}

/// `data: {csv: {path: data.csv, label: species}}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvSource {
    pub path: PathBuf,
    /// The label column's header; the last column when absent.
    #[serde(default)]
    pub label: Option<String>,
    /// Classification or regression; inferred from the labels when absent.
    #[serde(default)]
    pub task: Option<Task>,
}

/// Reads the CSV file `source.path` (relative to `base`). `train`, for a validation file,
/// fixes the classes (by name) and the feature width to the training data's.
pub fn load(source: &CsvSource, base: &Path, train: Option<&Dataset>) -> Result<Dataset> {
    let path = crate::io::resolve(base, &source.path);
    let err = |row: Option<usize>, column: Option<String>, message: String| Error::Data {
        file: path.clone(),
        tensor: None,
        row,
        column,
        message,
    };
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(::csv::Trim::All)
        .from_path(&path)
        .map_err(|e| err(None, None, e.to_string()))?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| err(Some(1), None, e.to_string()))?
        .iter()
        .map(|h| h.to_string())
        .collect();
    if headers.len() < 2 {
        return Err(err(
            Some(1),
            None,
            format!(
                "needs a feature column and a label column; the header has {}",
                headers.len()
            ),
        ));
    }
    let label_col = match &source.label {
        Some(name) => headers.iter().position(|h| h == name).ok_or_else(|| {
            err(
                Some(1),
                Some(name.clone()),
                format!("no such column; the header has: {}", headers.join(", ")),
            )
        })?,
        None => headers.len() - 1,
    };
    let width = headers.len() - 1;
    if let Some(t) = train.filter(|t| t.x_width != width) {
        return Err(err(
            Some(1),
            None,
            format!(
                "{width} feature columns; the training data has {}",
                t.x_width
            ),
        ));
    }
    let mut x: Vec<f32> = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 2;
        let record = record.map_err(|e| match e.kind() {
            ::csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => err(
                Some(row),
                None,
                format!("has {len} cells; the header has {expected_len}"),
            ),
            _ => err(Some(row), None, e.to_string()),
        })?;
        for (c, cell) in record.iter().enumerate() {
            if c == label_col {
                labels.push(cell.to_string());
                continue;
            }
            let v: f32 = cell.parse().map_err(|_| {
                err(
                    Some(row),
                    Some(headers[c].clone()),
                    format!("`{cell}` is not a number"),
                )
            })?;
            if !v.is_finite() {
                return Err(err(
                    Some(row),
                    Some(headers[c].clone()),
                    format!("`{cell}` is not finite"),
                ));
            }
            x.push(v);
        }
    }
    let n = labels.len();
    if n == 0 {
        return Err(err(None, None, "has no examples (only a header)".into()));
    }
    let label_name = headers[label_col].clone();
    let all_int = labels.iter().all(|l| l.parse::<i64>().is_ok());
    let all_num = labels
        .iter()
        .all(|l| l.parse::<f64>().is_ok_and(|v| v.is_finite()));
    let inferred = if all_int || !all_num {
        Task::Classification
    } else {
        Task::Regression
    };
    let task = match train {
        Some(t) if t.classes.is_some() => Task::Classification,
        Some(_) => Task::Regression,
        None => source.task.unwrap_or(inferred),
    };
    let file = crate::io::Origin::file(&path).file_name();
    match task {
        Task::Regression => {
            let mut y = Vec::with_capacity(n);
            for (i, l) in labels.iter().enumerate() {
                let v: f64 = l.parse().map_err(|_| {
                    err(
                        Some(i + 2),
                        Some(label_name.clone()),
                        format!("`{l}` is not a number (task: regression)"),
                    )
                })?;
                if !v.is_finite() {
                    return Err(err(
                        Some(i + 2),
                        Some(label_name.clone()),
                        format!("`{l}` is not finite"),
                    ));
                }
                y.push(v as f32);
            }
            Ok(Dataset {
                name: format!("{file} ({n} × {width}, target `{label_name}`)"),
                x,
                y,
                n,
                x_width: width,
                y_width: 1,
                classes: None,
                class_names: Vec::new(),
                image: None,
                sequence: None,
            })
        }
        Task::Classification => {
            // Integers sort numerically, text lexicographically; a validation file takes the
            // training data's classes.
            let classes: Vec<String> = match train {
                Some(t) => {
                    if let Some(i) = labels.iter().position(|l| !t.class_names.contains(l)) {
                        return Err(err(
                            Some(i + 2),
                            Some(label_name),
                            format!(
                                "label `{}` is not one of the training classes ({})",
                                labels[i],
                                t.class_names.join(", ")
                            ),
                        ));
                    }
                    t.class_names.clone()
                }
                None => {
                    let mut classes: Vec<String> = labels
                        .iter()
                        .cloned()
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect();
                    if all_int {
                        classes.sort_by_key(|c| c.parse::<i64>().unwrap_or(0));
                    }
                    classes
                }
            };
            if classes.len() < 2 && train.is_none() {
                return Err(err(
                    None,
                    Some(label_name),
                    format!("every example has the label `{}`", classes[0]),
                ));
            }
            let index: std::collections::HashMap<&str, usize> = classes
                .iter()
                .enumerate()
                .map(|(i, c)| (c.as_str(), i))
                .collect();
            let y = labels
                .iter()
                .map(|l| index.get(l.as_str()).copied().unwrap_or(0) as f32)
                .collect();
            let mapping: Vec<String> = classes
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{c}→{i}"))
                .collect();
            Ok(Dataset {
                name: format!(
                    "{file} ({n} × {width}, classes of `{label_name}`: {})",
                    mapping.join(", ")
                ),
                x,
                y,
                n,
                x_width: width,
                y_width: 1,
                classes: Some(classes.len()),
                class_names: classes,
                image: None,
                sequence: None,
            })
        }
    }
}
