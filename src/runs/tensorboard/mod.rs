//! TensorBoard event files, so runs open in the viewer people already use: scalars (loss,
//! learning rate, batch accuracy, per-tensor gradient norms and update ratios, per-layer
//! activation mean and std), histograms (each layer's outputs over the dataset at the
//! observation run's snapshots), and the HParams plugin's sessions and experiment. The records
//! are TensorBoard's own `Event` messages (generated from its .proto files, see [`proto`]) in
//! TFRecord framing: length, masked CRC-32C of the length, data, masked CRC-32C of the data.

mod hparams;
mod proto;

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use prost::Message;

use crate::error::{Error, Result};
pub use hparams::hparams_of;
use hparams::Session;
use proto::{event::What, summary, Event, HistogramProto, Summary};

/// TFRecord's masked CRC: CRC-32C rotated and offset, so that a CRC of data holding CRCs does
/// not degenerate.
fn masked(data: &[u8]) -> u32 {
    crc32c::crc32c(data)
        .rotate_right(15)
        .wrapping_add(0xa282_ead8)
}

/// A histogram in TensorBoard's form: bucket `i` counts values up to `limits[i]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    pub min: f64,
    pub max: f64,
    pub num: f64,
    pub sum: f64,
    pub sum_squares: f64,
    pub limits: Vec<f64>,
    pub counts: Vec<f64>,
}

impl Histogram {
    /// From `counts` in equal bins over [lo, hi] (sums estimated from the bin centres).
    pub fn from_bins(lo: f64, hi: f64, counts: &[u32]) -> Histogram {
        let n = counts.len().max(1) as f64;
        let width = (hi - lo) / n;
        let centre = |i: usize| lo + width * (i as f64 + 0.5);
        Histogram {
            min: lo,
            max: hi,
            num: counts.iter().map(|c| *c as f64).sum(),
            sum: counts
                .iter()
                .enumerate()
                .map(|(i, c)| *c as f64 * centre(i))
                .sum(),
            sum_squares: counts
                .iter()
                .enumerate()
                .map(|(i, c)| *c as f64 * centre(i).powi(2))
                .sum(),
            limits: (0..counts.len())
                .map(|i| lo + width * (i + 1) as f64)
                .collect(),
            counts: counts.iter().map(|c| *c as f64).collect(),
        }
    }
}

/// An open event file.
pub struct EventWriter {
    path: PathBuf,
    file: File,
    /// The scalar tags written so far: the experiment's metric columns are those that exist.
    tags: BTreeSet<String>,
    /// The HParams session, once [`EventWriter::hparams`] wrote it.
    session: Option<Session>,
    /// Whether the session's experiment goes into this file too: the writer of a run without
    /// cases, whose one session is the whole experiment.
    holds_experiment: bool,
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl EventWriter {
    /// Creates `dir/events.out.tfevents.{time}.{host}.{pid}` (TensorBoard reads every such file
    /// in a folder) with its version record.
    pub fn create(dir: &Path) -> Result<EventWriter> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into());
        let path = dir.join(format!(
            "events.out.tfevents.{}.{host}.{}",
            now() as u64,
            std::process::id()
        ));
        let file = File::create(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let mut w = EventWriter {
            path,
            file,
            tags: BTreeSet::new(),
            session: None,
            holds_experiment: false,
        };
        w.record(&Event {
            wall_time: now(),
            what: Some(What::FileVersion("brain.Event:2".into())),
            ..Default::default()
        })?;
        Ok(w)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn record(&mut self, event: &Event) -> Result<()> {
        let data = event.encode_to_vec();
        let len = (data.len() as u64).to_le_bytes();
        let mut out = Vec::with_capacity(data.len() + 16);
        out.extend_from_slice(&len);
        out.extend_from_slice(&masked(&len).to_le_bytes());
        out.extend_from_slice(&data);
        out.extend_from_slice(&masked(&data).to_le_bytes());
        self.file
            .write_all(&out)
            .and_then(|_| self.file.flush())
            .map_err(|source| Error::Io {
                path: self.path.clone(),
                source,
            })
    }

    fn event(&mut self, step: u64, value: Vec<summary::Value>) -> Result<()> {
        self.record(&Event {
            wall_time: now(),
            step: i64::try_from(step).unwrap_or(i64::MAX),
            what: Some(What::Summary(Summary { value })),
            ..Default::default()
        })
    }

    /// Scalars `(tag, value)` at `step`, in one event; non-finite values are written as they
    /// are (TensorBoard shows NaN).
    pub fn scalars(&mut self, step: u64, scalars: &[(String, f64)]) -> Result<()> {
        let values = scalars
            .iter()
            .map(|(tag, v)| {
                self.tags.insert(tag.clone());
                summary::Value {
                    tag: tag.clone(),
                    value: Some(summary::value::Value::SimpleValue(*v as f32)),
                    ..Default::default()
                }
            })
            .collect();
        self.event(step, values)
    }

    pub fn histogram(&mut self, step: u64, tag: &str, h: &Histogram) -> Result<()> {
        let histo = HistogramProto {
            min: h.min,
            max: h.max,
            num: h.num,
            sum: h.sum,
            sum_squares: h.sum_squares,
            bucket_limit: h.limits.clone(),
            bucket: h.counts.clone(),
        };
        let value = summary::Value {
            tag: tag.to_string(),
            value: Some(summary::value::Value::Histo(histo)),
            ..Default::default()
        };
        self.event(step, vec![value])
    }

    /// The HParams plugin's session for this run folder: its hyperparameters (`hparams`:
    /// numbers, text, booleans) at the start and a successful end, so that TensorBoard's HParams
    /// table lists the run with them beside its final scalars. A run without cases writes its
    /// experiment here too; a sweep's comes from [`Runs::experiment`].
    pub fn hparams(
        &mut self,
        hparams: &[(String, serde_json::Value)],
        start_secs: f64,
        end_secs: f64,
    ) -> Result<()> {
        let session = Session {
            hparams: hparams.to_vec(),
            start_secs,
            tags: self.tags.clone(),
        };
        if self.holds_experiment {
            self.event(0, vec![hparams::experiment(&[&session])])?;
        }
        let [start, end] = hparams::session(&session, end_secs);
        self.event(0, vec![start])?;
        self.event(0, vec![end])?;
        self.session = Some(session);
        Ok(())
    }

    /// The scalars of one `metrics.jsonl` line: `loss`, `lr`, `batch_accuracy`, `l2_term`, and
    /// each entry of `grad_norm`, `update_ratio`, `act_mean`, `act_std` as `group/name`. A
    /// sweep's case is its own run folder (see [`Runs`]), so the tags carry no case and the
    /// cases overlay in TensorBoard.
    pub fn metric_line(&mut self, line: &serde_json::Value) -> Result<()> {
        let Some(step) = line["step"].as_u64() else {
            return Ok(());
        };
        let mut scalars = Vec::new();
        for key in [
            "loss",
            "lr",
            "batch_accuracy",
            "l2_term",
            "validation_loss",
            "validation_accuracy",
        ] {
            match &line[key] {
                serde_json::Value::Null if key == "loss" => {
                    scalars.push(("loss".to_string(), f64::NAN))
                }
                v => {
                    if let Some(x) = v.as_f64() {
                        scalars.push((key.to_string(), x));
                    }
                }
            }
        }
        for group in ["grad_norm", "update_ratio", "act_mean", "act_std"] {
            if let Some(map) = line[group].as_object() {
                for (k, v) in map {
                    if let Some(x) = v.as_f64() {
                        scalars.push((format!("{group}/{k}"), x));
                    }
                }
            }
        }
        self.scalars(step, &scalars)
    }
}

/// The TensorBoard runs of one netdx run: its folder, and for a sweep one sub-folder per case,
/// made when the case first writes (TensorBoard lists each folder of event files as a run).
pub struct Runs {
    root: PathBuf,
    writers: std::collections::BTreeMap<String, EventWriter>,
}

impl Runs {
    /// The runs under `root` (the plain suite's events go into `root` itself).
    pub fn new(root: PathBuf) -> Runs {
        Runs {
            root,
            writers: Default::default(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether `case` wrote anything.
    pub fn has(&self, case: &str) -> bool {
        self.writers.contains_key(case)
    }

    /// The writer of `case` (`""`: a suite without cases).
    pub fn writer(&mut self, case: &str) -> Result<&mut EventWriter> {
        if !self.writers.contains_key(case) {
            // A folder name: no path separators or control characters from a case name.
            let folder: String = case
                .chars()
                .map(|c| {
                    if c == '/' || c == '\\' || c.is_control() {
                        '_'
                    } else {
                        c
                    }
                })
                .collect();
            let dir = if case.is_empty() {
                self.root.clone()
            } else {
                self.root.join(folder)
            };
            let mut writer = EventWriter::create(&dir)?;
            writer.holds_experiment = case.is_empty();
            self.writers.insert(case.to_string(), writer);
        }
        Ok(self.writers.get_mut(case).expect("inserted above"))
    }

    /// A sweep's HParams experiment, written once into the root folder (where the plugin looks
    /// for it, TensorBoard's run `.`) over every case that wrote a session: its columns are the
    /// union of the cases' hyperparameters with the values they took. Nothing when the run has
    /// no cases (its own writer held the experiment) or no case wrote a session, and nothing the
    /// second time.
    pub fn experiment(&mut self) -> Result<()> {
        if self.writers.contains_key("") {
            return Ok(());
        }
        let sessions: Vec<&Session> = self
            .writers
            .values()
            .filter_map(|w| w.session.as_ref())
            .collect();
        if sessions.is_empty() {
            return Ok(());
        }
        let value = hparams::experiment(&sessions);
        let mut writer = EventWriter::create(&self.root)?;
        writer.event(0, vec![value])?;
        self.writers.insert(String::new(), writer);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_crc_is_crc32c_masked_as_tfrecord_does() {
        // The standard CRC-32C check value, and TFRecord's mask of it.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(
            masked(b"123456789"),
            0xE306_9283u32.rotate_right(15).wrapping_add(0xa282_ead8)
        );
        assert_eq!(masked(b""), 0xa282_ead8);
    }
}
