//! TensorBoard event files, so runs open in the viewer people already use: scalars (loss,
//! learning rate, batch accuracy, per-tensor gradient norms and update ratios, per-layer
//! activation mean and std) and histograms (each layer's outputs over the dataset at the
//! observation run's snapshots). The format is TFRecord framing (length, masked CRC-32C of
//! the length, data, masked CRC-32C of the data) around `tensorflow.Event` protocol buffers,
//! written by hand: a few fields of three messages need no protobuf library.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// CRC-32C (Castagnoli), bitwise-reflected table.
fn crc32c(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0x82F6_3B78 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *e = c;
        }
        t
    });
    !data.iter().fold(!0u32, |c, &b| {
        table[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8)
    })
}

/// TFRecord's masked CRC.
fn masked(data: &[u8]) -> u32 {
    let c = crc32c(data);
    (c.rotate_right(15)).wrapping_add(0xa282_ead8)
}

/// Protocol-buffer encoding of the few field kinds the messages use.
#[derive(Default)]
struct Proto(Vec<u8>);

impl Proto {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn key(&mut self, field: u32, wire: u8) {
        self.varint(((field as u64) << 3) | wire as u64);
    }
    fn double(&mut self, field: u32, v: f64) {
        self.key(field, 1);
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn float(&mut self, field: u32, v: f32) {
        self.key(field, 5);
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn int(&mut self, field: u32, v: i64) {
        self.key(field, 0);
        self.varint(v as u64);
    }
    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }
    fn packed_doubles(&mut self, field: u32, v: &[f64]) {
        let body: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.bytes(field, &body);
    }
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
        let mut w = EventWriter { path, file };
        let mut e = Proto::default();
        e.double(1, now());
        e.bytes(3, b"brain.Event:2");
        w.record(&e.0)?;
        Ok(w)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn record(&mut self, data: &[u8]) -> Result<()> {
        let len = (data.len() as u64).to_le_bytes();
        let mut out = Vec::with_capacity(data.len() + 16);
        out.extend_from_slice(&len);
        out.extend_from_slice(&masked(&len).to_le_bytes());
        out.extend_from_slice(data);
        out.extend_from_slice(&masked(data).to_le_bytes());
        self.file
            .write_all(&out)
            .and_then(|_| self.file.flush())
            .map_err(|source| Error::Io {
                path: self.path.clone(),
                source,
            })
    }

    fn event(&mut self, step: u64, values: &[Vec<u8>]) -> Result<()> {
        let mut summary = Proto::default();
        for v in values {
            summary.bytes(1, v);
        }
        let mut e = Proto::default();
        e.double(1, now());
        e.int(2, step as i64);
        e.bytes(5, &summary.0);
        self.record(&e.0)
    }

    /// Scalars `(tag, value)` at `step`, in one event; non-finite values are written as they
    /// are (TensorBoard shows NaN).
    pub fn scalars(&mut self, step: u64, scalars: &[(String, f64)]) -> Result<()> {
        let values: Vec<Vec<u8>> = scalars
            .iter()
            .map(|(tag, v)| {
                let mut p = Proto::default();
                p.bytes(1, tag.as_bytes());
                p.float(2, *v as f32);
                p.0
            })
            .collect();
        self.event(step, &values)
    }

    pub fn histogram(&mut self, step: u64, tag: &str, h: &Histogram) -> Result<()> {
        let mut hp = Proto::default();
        hp.double(1, h.min);
        hp.double(2, h.max);
        hp.double(3, h.num);
        hp.double(4, h.sum);
        hp.double(5, h.sum_squares);
        hp.packed_doubles(6, &h.limits);
        hp.packed_doubles(7, &h.counts);
        let mut v = Proto::default();
        v.bytes(1, tag.as_bytes());
        v.bytes(5, &hp.0);
        self.event(step, &[v.0])
    }

    /// The HParams plugin's session summaries for this run folder: its hyperparameters
    /// (`hparams`: numbers, text, booleans) at the start and a successful end, so that
    /// TensorBoard's HParams table lists the run with them beside its scalars (the plugin infers
    /// the experiment's columns from every run's sessions and scalar tags).
    pub fn hparams(
        &mut self,
        hparams: &[(String, serde_json::Value)],
        start_secs: f64,
        end_secs: f64,
    ) -> Result<()> {
        // tensorboard/plugins/hparams/plugin_data.proto and google/protobuf/struct.proto.
        let mut start = Proto::default();
        for (name, v) in hparams {
            let mut value = Proto::default();
            match v {
                serde_json::Value::Number(n) => value.double(2, n.as_f64().unwrap_or(f64::NAN)),
                serde_json::Value::String(t) => value.bytes(3, t.as_bytes()),
                serde_json::Value::Bool(b) => value.int(4, i64::from(*b)),
                _ => continue,
            }
            let mut entry = Proto::default();
            entry.bytes(1, name.as_bytes());
            entry.bytes(2, &value.0);
            start.bytes(1, &entry.0);
        }
        start.double(5, start_secs);
        let mut end = Proto::default();
        end.int(1, 1); // STATUS_SUCCESS
        end.double(2, end_secs);
        let summary = |tag: &str, field: u32, info: &[u8]| {
            let mut data = Proto::default();
            data.bytes(field, info);
            let mut plugin = Proto::default();
            plugin.bytes(1, b"hparams");
            plugin.bytes(2, &data.0);
            let mut metadata = Proto::default();
            metadata.bytes(1, &plugin.0);
            let mut v = Proto::default();
            v.bytes(1, tag.as_bytes());
            v.bytes(9, &metadata.0);
            v.0
        };
        self.event(0, &[summary("_hparams_/session_start_info", 3, &start.0)])?;
        self.event(0, &[summary("_hparams_/session_end_info", 4, &end.0)])
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
            self.writers
                .insert(case.to_string(), EventWriter::create(&dir)?);
        }
        Ok(self.writers.get_mut(case).expect("inserted above"))
    }
}

/// A config's hyperparameters for the HParams table: the seed and every scalar under
/// `training` by its key path (`training.optimizer.lr`, `training.batch_size`, …).
pub fn hparams_of(config: &crate::config::Config) -> Vec<(String, serde_json::Value)> {
    fn leaves(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, serde_json::Value)>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    leaves(&format!("{prefix}.{k}"), x, out);
                }
            }
            serde_json::Value::Number(_)
            | serde_json::Value::String(_)
            | serde_json::Value::Bool(_) => out.push((prefix.to_string(), v.clone())),
            _ => {}
        }
    }
    let mut out = vec![("seed".to_string(), serde_json::json!(config.seed))];
    let training = serde_json::to_value(&config.training).unwrap_or_default();
    leaves("training", &training, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_standard_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
    }

    #[test]
    fn varints_encode_as_protobuf_does() {
        let mut p = Proto::default();
        p.varint(300);
        assert_eq!(p.0, vec![0xAC, 0x02]);
        let mut p = Proto::default();
        p.int(2, -1);
        assert_eq!(p.0.len(), 1 + 10);
    }
}
