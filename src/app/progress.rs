//! Progress a person can read: on a terminal, a bar on stderr with the count, the rate and the
//! time left; elsewhere (a CI log, a file), a plain line now and then, so that a log shows the
//! run moving without a line per step.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Seconds between plain lines when stderr is not a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(10);

pub struct Progress {
    /// `None` when stderr is not a terminal: plain lines instead.
    bar: Option<ProgressBar>,
    what: &'static str,
    total: u64,
    done: u64,
    started: Instant,
    last_line: Option<Instant>,
}

impl Progress {
    /// Progress over `total` units (`what`: "check", "step"), a bar when stderr is a terminal.
    pub fn new(what: &'static str, total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} {rate} ETA {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .with_key(
                "rate",
                |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.1}/s", state.per_sec());
                },
            )
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(format!("{what}s"));
            bar
        });
        Progress {
            bar,
            what,
            total,
            done: 0,
            started: Instant::now(),
            last_line: None,
        }
    }

    /// Unit `n` (counted from 1) begins, with `label` (a check's name); units before it are
    /// done.
    pub fn start(&mut self, n: u64, label: &str) {
        self.done = n.saturating_sub(1).min(self.total);
        match &self.bar {
            Some(bar) => {
                bar.set_position(self.done);
                bar.set_message(crate::text::printable(label, false).into_owned());
            }
            None => {
                let due = self.last_line.is_none_or(|t| t.elapsed() >= PLAIN_EVERY);
                if due || n == self.total {
                    self.last_line = Some(Instant::now());
                    eprintln!("{}", self.line(n, label));
                }
            }
        }
    }

    /// `n` units are done; `label` describes the latest (a loss). Shown on the bar only: a log
    /// gets its lines from `start` (or from the caller's own).
    pub fn done(&mut self, n: u64, label: &str) {
        self.done = n.min(self.total);
        if let Some(bar) = &self.bar {
            bar.set_position(self.done);
            bar.set_message(crate::text::printable(label, false).into_owned());
        }
    }

    /// A plain progress line: `check 3/21: gradient_check (4 s so far, about 36 s left)`.
    fn line(&self, n: u64, label: &str) -> String {
        let seconds = self.started.elapsed().as_secs_f64();
        let left = if self.done > 0 {
            let per_unit = seconds / self.done as f64;
            format!(
                ", about {:.0} s left",
                per_unit * (self.total - self.done) as f64
            )
        } else {
            String::new()
        };
        format!(
            "{} {n}/{}: {} ({seconds:.0} s so far{left})",
            self.what,
            self.total,
            crate::text::printable(label, false)
        )
    }

    /// Runs `f` (which prints lines) with the bar out of the way.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Removes the bar (the report follows).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
