//! CSV datasets: a header row, one example per row. The label column is named by `label`
//! (default: the last column); every other column is a feature read as f32. Labels that are
//! all integers or are text are classes, mapped to indices 0.. in sorted order (the mapping is
//! part of the dataset's name); labels that are other numbers are a regression target (or
//! `task: regression` forces it). A bad file never panics: ragged rows, non-numeric cells,
//! NaN/Inf features, an empty file or a missing label column give an error with the file, line
//! (as an editor counts it, blank lines included) and column. The file is read with the data
//! ceiling and a bound on a line's length: an endless line is refused, not buffered.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Dataset;
use crate::error::{Error, Result};
use crate::io::bounded;
use crate::limits::MAX_CSV_LINE_BYTES;

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
    let err = |line: Option<u64>, column: Option<String>, message: String| Error::Data {
        file: path.clone(),
        tensor: None,
        line,
        column,
        message,
    };
    let limit = crate::io::Limit::data()?;
    let input: Box<dyn Read> = match bounded::open(&path) {
        Ok(bounded::Opened::File { size, .. }) if size > limit.bytes => {
            return Err(err(
                None,
                None,
                crate::io::Refused::TooLarge {
                    size: Some(size),
                    limit,
                }
                .to_string(),
            ))
        }
        Ok(bounded::Opened::File { file, .. }) => Box::new(file),
        Ok(bounded::Opened::Stream(s)) => s,
        Err(e) => return Err(err(None, None, e.to_string())),
    };
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(::csv::Trim::All)
        // Row lengths are checked here, at the line the row starts on (the csv crate's error
        // would name the line where its search for the row began, before any blank lines).
        .flexible(true)
        .from_reader(LineBound::new(bounded::Bounded::new(input, limit.bytes)));
    // A reading error: past a bound, or the csv crate's (at the line it names).
    let read_error = |e: ::csv::Error, line: u64| {
        let line = e.position().map_or(line, |p| p.line());
        match e.kind() {
            ::csv::ErrorKind::Io(io) if bounded::is_exceeded(io) => err(
                None,
                None,
                crate::io::Refused::TooLarge { size: None, limit }.to_string(),
            ),
            ::csv::ErrorKind::Io(io) => err(None, None, io.to_string()),
            _ => err(Some(line), None, e.to_string()),
        }
    };
    let header = reader.headers().map_err(|e| read_error(e, 1))?.clone();
    let header_line = first_line(&reader, &header);
    let headers: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    if headers.len() < 2 {
        return Err(err(
            Some(header_line),
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
                Some(header_line),
                Some(name.clone()),
                format!("no such column; the header has: {}", headers.join(", ")),
            )
        })?,
        None => headers.len() - 1,
    };
    let width = headers.len() - 1;
    if let Some(t) = train.filter(|t| t.x_width != width) {
        return Err(err(
            Some(header_line),
            None,
            format!(
                "{width} feature columns; the training data has {}",
                t.x_width
            ),
        ));
    }
    let mut x: Vec<f32> = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    // The line each example starts on (blank lines counted), for errors about its label.
    let mut lines: Vec<u64> = Vec::new();
    let mut record = ::csv::StringRecord::new();
    loop {
        let next_line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(read_error(e, next_line)),
        }
        let line = first_line(&reader, &record);
        if record.len() != headers.len() {
            return Err(err(
                Some(line),
                None,
                format!(
                    "has {} cells; the header has {}",
                    record.len(),
                    headers.len()
                ),
            ));
        }
        for (c, cell) in record.iter().enumerate() {
            if c == label_col {
                labels.push(cell.to_string());
                lines.push(line);
                continue;
            }
            let v = finite_f32(cell, "")
                .map_err(|why| err(Some(line), Some(headers[c].clone()), why))?;
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
                let v = finite_f32(l, " (task: regression)")
                    .map_err(|why| err(Some(lines[i]), Some(label_name.clone()), why))?;
                y.push(v);
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
                            Some(lines[i]),
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

/// The line `record`, just read, starts on. The csv crate's own position for a record is where
/// its search began, before any blank lines it skipped; the line after the record, less the
/// record's own line breaks, is where an editor shows it.
fn first_line<R: Read>(reader: &::csv::Reader<LineBound<R>>, record: &::csv::StringRecord) -> u64 {
    let after = reader.position();
    let inner = reader.get_ref();
    // The last record of a file that does not end in a line break ends on its own line.
    let unterminated = after.byte() == inner.total && inner.last != Some(b'\n');
    let breaks: u64 = record
        .iter()
        .map(|f| f.bytes().filter(|&b| b == b'\n').count() as u64)
        .sum();
    after
        .line()
        .saturating_sub(breaks + u64::from(!unterminated))
        .max(1)
}

/// Refuses a physical line longer than [`MAX_CSV_LINE_BYTES`], which the csv reader would
/// otherwise buffer whole, however long.
struct LineBound<R> {
    inner: R,
    /// Bytes since the last newline.
    run: u64,
    /// Newlines seen, for the error's line number.
    newlines: u64,
    /// Bytes given, and the last of them.
    total: u64,
    last: Option<u8>,
}

impl<R> LineBound<R> {
    fn new(inner: R) -> Self {
        LineBound {
            inner,
            run: 0,
            newlines: 0,
            total: 0,
            last: None,
        }
    }
}

impl<R: Read> Read for LineBound<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let got = &buf[..n];
        self.total += n as u64;
        if n > 0 {
            self.last = Some(got[n - 1]);
        }
        let first = got.iter().position(|&b| b == b'\n');
        if self.run + first.unwrap_or(n) as u64 > MAX_CSV_LINE_BYTES {
            return Err(std::io::Error::other(format!(
                "line {} is longer than {MAX_CSV_LINE_BYTES} bytes",
                self.newlines + 1
            )));
        }
        match got.iter().rposition(|&b| b == b'\n') {
            Some(last) => {
                self.newlines += got.iter().filter(|&&b| b == b'\n').count() as u64;
                self.run = (n - last - 1) as u64;
            }
            None => self.run += n as u64,
        }
        Ok(n)
    }
}

/// A cell as f32, the precision netdx trains in, or why not: 1e300 is finite in f64 but
/// infinite in f32 and would poison the loss at step 1, so it is refused here with its row.
fn finite_f32(cell: &str, context: &str) -> std::result::Result<f32, String> {
    let v: f32 = cell
        .parse()
        .map_err(|_| format!("`{cell}` is not a number{context}"))?;
    if v.is_finite() {
        Ok(v)
    } else if cell.parse::<f64>().is_ok_and(f64::is_finite) {
        Err(format!(
            "`{cell}` is beyond the range of f32 (±3.4e38), the precision netdx trains in"
        ))
    } else {
        Err(format!("`{cell}` is not finite"))
    }
}
