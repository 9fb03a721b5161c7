//! The course of the observation run's loss and gradient norm, judged against where it started
//! and against chance — not against the run's own early window, which an explosion in the
//! first steps makes look like a healthy decrease (a loss of 1.8e18 falling to 2.37, ln 10
//! being chance, is a diverged run, not a 100 % decrease).
//!
//! `smoke` reports the course; `gradient_flow` and `attention_entropy` read it as their
//! symptom gate. The thresholds are orders of magnitude apart from what healthy runs show
//! (see docs/calibration.md for the measured distributions).

use serde::Serialize;

use crate::config::Config;
use crate::data::Dataset;
use crate::ops::LossKind;
use crate::train::StepRecord;

/// A loss peak this many times the start (or chance, when larger) is a divergence: healthy
/// runs of the calibration corpus peak below 3× their start.
pub const LOSS_BLOWUP: f64 = 100.0;
/// A global gradient norm this many times its norm over the first steps is a divergence.
pub const GRADIENT_BLOWUP: f64 = 1e4;
/// A run whose loss fell below this fraction of chance and ended above [`REBOUND_END`] of it
/// climbed back to knowing nothing.
pub const REBOUND_LOW: f64 = 0.8;
pub const REBOUND_END: f64 = 0.95;
/// A loss that ends this many times its start rose.
pub const ROSE: f64 = 1.5;
/// A run that did not learn while some step's loss reached this many times its start jumped
/// about rather than sat still: the rate is too high, not too low.
pub const UNSTABLE: f64 = 3.0;
/// Examples the start of the run averages over: at batch 1 the first step's loss is one
/// example's, too noisy to compare with.
const START_EXAMPLES: usize = 32;

/// The loss a model that knows nothing reaches: ln C for softmax cross-entropy over C classes
/// (without class weights), ln 2 for binary cross-entropy, a user loss at zero logits averaged
/// over the data's targets; `None` where there is no closed form. With its formula as text.
pub fn chance_loss(config: &Config, dataset: &Dataset, width: usize) -> Option<(f64, String)> {
    match (config.loss.name, dataset.classes) {
        (LossKind::SoftmaxCrossEntropy, Some(c)) if config.loss.class_weights.is_none() => {
            Some(((c as f64).ln(), format!("ln {c}")))
        }
        (LossKind::BinaryCrossEntropy, _) => match config.loss.pos_weight {
            None => Some((2f64.ln(), "ln 2".to_string())),
            // At zero logits each positive costs pw·ln 2 and each negative ln 2.
            Some(pw) => {
                let q = dataset.class_counts().and_then(|c| {
                    let n: usize = c.iter().sum();
                    (n > 0 && c.len() == 2).then(|| c[1] as f64 / n as f64)
                })?;
                Some((
                    2f64.ln() * (pw * q + 1.0 - q),
                    format!("ln 2 × (pos_weight·{q:.2} + {:.2})", 1.0 - q),
                ))
            }
        },
        (LossKind::User(id), _) => {
            let u = crate::kernels::user_loss::get(id);
            let n = dataset.n.min(1000);
            let zeros = vec![0.0; width];
            let total: f64 = (0..n)
                .map(|i| {
                    let t: Vec<f64> = dataset.y[i * dataset.y_width..(i + 1) * dataset.y_width]
                        .iter()
                        .map(|&v| v as f64)
                        .collect();
                    u.example_f64(&zeros, &t).0
                })
                .sum();
            Some((
                total / n.max(1) as f64,
                format!("{} at zero logits", u.name),
            ))
        }
        _ => None,
    }
}

/// What the run did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Course {
    /// The loss fell by at least the required fraction and stayed finite.
    Fell,
    /// The loss fell by less than the required fraction.
    Flat,
    /// The loss ended well above where it started.
    Rose,
    /// The loss or the gradient norm grew by orders of magnitude and the run did not recover.
    Diverged,
    /// The loss or the gradient norm grew by orders of magnitude, then the loss fell below its
    /// start again.
    Spiked,
    /// The loss fell below chance, then climbed back to it.
    Rebounded,
    /// The loss did not fall, and jumped to several times its start on the way.
    Unstable,
    /// The loss fell from an over-confident start to chance and stayed there: the model
    /// unlearnt its confident outputs and learnt nothing else.
    AtChance,
    /// A loss was NaN or infinite.
    NonFinite,
}

impl Course {
    /// Whether training shows a problem (anything but a normal decrease).
    pub fn is_symptom(self) -> bool {
        self != Course::Fell
    }
}

/// The figures the course is judged from.
#[derive(Clone, Debug, Serialize)]
pub struct Trajectory {
    /// The loss at the start: the (lower) median over the first steps covering ≥ 32 examples
    /// (the first step's loss from batch 32 up), at most a tenth of the run.
    pub start: f64,
    /// The mean loss over the last tenth of the run.
    pub last: f64,
    /// The lowest mean loss over a window of a tenth of the run (at least the start's).
    pub lowest: f64,
    /// The largest loss of any step, and its step.
    pub peak: f64,
    pub peak_step: usize,
    /// The global gradient norm (before clipping) over the start's steps (median), and its
    /// largest value with its step; absent without tracked steps.
    pub gradient_start: Option<f64>,
    pub gradient_peak: Option<(f64, usize)>,
    pub chance: Option<f64>,
    /// The first step whose loss was not finite.
    pub non_finite_step: Option<usize>,
}

impl Trajectory {
    pub fn of(records: &[StepRecord], batch_size: usize, chance: Option<f64>) -> Trajectory {
        let n = records.len();
        let losses: Vec<f64> = records.iter().map(|r| r.loss).collect();
        let non_finite_step = records.iter().find(|r| !r.loss.is_finite()).map(|r| r.step);
        let k = START_EXAMPLES
            .div_ceil(batch_size.max(1))
            .clamp(1, (n / 10).max(1));
        let tenth = n.div_ceil(10).max(1);
        let start = lower_median(&losses[..k.min(n)]);
        let last = mean(&losses[n.saturating_sub(tenth)..]);
        // Over a tenth of the run (as `last`), so one lucky batch is not a low to rebound from.
        let lowest = losses
            .windows(tenth.max(k).min(n).max(1))
            .map(mean)
            .fold(f64::INFINITY, f64::min);
        let (peak_step, peak) = losses
            .iter()
            .enumerate()
            .filter(|(_, l)| l.is_finite())
            .fold((0, f64::NEG_INFINITY), |best, (i, &l)| {
                if l > best.1 {
                    (i, l)
                } else {
                    best
                }
            });
        let norms: Vec<(usize, f64)> = records
            .iter()
            .filter(|r| r.stats.tracked)
            .map(|r| (r.step, r.stats.grad_sumsq().sqrt()))
            .collect();
        let gradient_start = (!norms.is_empty()).then(|| {
            let early: Vec<f64> = norms
                .iter()
                .filter(|(s, _)| *s < k.max(3))
                .map(|&(_, g)| g)
                .collect();
            if early.is_empty() {
                norms[0].1
            } else {
                super::median(early)
            }
        });
        let gradient_peak = norms
            .iter()
            .filter(|(_, g)| g.is_finite())
            .map(|&(s, g)| (g, s))
            .fold(None, |best: Option<(f64, usize)>, x| match best {
                Some(b) if b.0 >= x.0 => Some(b),
                _ => Some(x),
            });
        Trajectory {
            start,
            last,
            lowest,
            peak,
            peak_step: records.get(peak_step).map_or(0, |r| r.step),
            gradient_start,
            gradient_peak,
            chance,
            non_finite_step,
        }
    }

    /// The relative decrease of the loss from the start to the last tenth.
    pub fn decrease(&self) -> f64 {
        (self.start - self.last) / self.start.abs().max(1e-12)
    }

    /// How far the loss rose over the larger of its start and chance.
    pub fn loss_growth(&self) -> f64 {
        self.peak / self.start.max(self.chance.unwrap_or(0.0)).max(1e-12)
    }

    /// How far the gradient norm rose over its start.
    pub fn gradient_growth(&self) -> Option<f64> {
        let (peak, _) = self.gradient_peak?;
        Some(peak / self.gradient_start?.max(1e-30))
    }

    /// Whether the loss or the gradient norm grew by orders of magnitude.
    pub fn blew_up(&self) -> bool {
        self.loss_growth() >= LOSS_BLOWUP
            || self.gradient_growth().is_some_and(|g| g >= GRADIENT_BLOWUP)
    }

    /// The course, given the decrease `min_decrease` a healthy run shows.
    pub fn course(&self, min_decrease: f64) -> Course {
        if self.non_finite_step.is_some() {
            return Course::NonFinite;
        }
        let decrease = self.decrease();
        // The level a model that learnt nothing sits at: chance where known, else the start.
        let reference = self.chance.unwrap_or(self.start);
        let ended_at_reference = self.last >= REBOUND_END * reference;
        if self.blew_up() {
            return if decrease >= min_decrease && !ended_at_reference {
                Course::Spiked
            } else {
                Course::Diverged
            };
        }
        if self.lowest < REBOUND_LOW * reference && ended_at_reference {
            return Course::Rebounded;
        }
        if self.last > ROSE * self.start {
            Course::Rose
        } else if self.chance.is_some() && ended_at_reference && decrease >= min_decrease {
            Course::AtChance
        } else if decrease < min_decrease && self.loss_growth() >= UNSTABLE {
            Course::Unstable
        } else if decrease < min_decrease {
            Course::Flat
        } else {
            Course::Fell
        }
    }
}

/// The first step at which the loss, averaged over the steps covering 32 examples, is below
/// `level`.
pub fn first_below(records: &[StepRecord], level: f64, batch_size: usize) -> Option<usize> {
    let k = START_EXAMPLES.div_ceil(batch_size.max(1)).max(1);
    let losses: Vec<f64> = records.iter().map(|r| r.loss).collect();
    losses
        .windows(k.min(losses.len()).max(1))
        .position(|w| mean(w) < level)
        .map(|i| records[i + k.min(losses.len()).max(1) - 1].step)
}

/// The lower middle value (NaN last): of the first two steps' losses, the smaller, so that an
/// explosion at step 1 does not become the start.
fn lower_median(s: &[f64]) -> f64 {
    let mut v = s.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or(f64::NAN)
}

fn mean(s: &[f64]) -> f64 {
    s.iter().sum::<f64>() / s.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::StepRecord;

    fn records(losses: &[f64]) -> Vec<StepRecord> {
        losses
            .iter()
            .enumerate()
            .map(|(step, &loss)| StepRecord {
                step,
                lr: 0.1,
                loss,
                l2_term: None,
                batch_accuracy: None,
                validation_loss: None,
                validation_accuracy: None,
                stats: Default::default(),
            })
            .collect()
    }

    fn course(losses: &[f64], chance: Option<f64>) -> Course {
        Trajectory::of(&records(losses), 64, chance).course(0.1)
    }

    #[test]
    fn an_early_explosion_that_ends_at_chance_is_a_divergence() {
        // The run: 1.8e18 early, 2.37 at the end, ln 10 = 2.30 chance.
        let mut l = vec![2.3, 50.0, 1.8e18, 1e9, 40.0];
        l.extend(std::iter::repeat_n(2.37, 95));
        assert_eq!(course(&l, Some(10f64.ln())), Course::Diverged);
        // The early-window comparison it replaces called this a decrease.
        let t = Trajectory::of(&records(&l), 64, Some(10f64.ln()));
        assert!(t.decrease() < 0.0 && t.loss_growth() > 1e17);
    }

    #[test]
    fn courses_of_typical_runs() {
        let falling: Vec<f64> = (0..200).map(|i| 2.3 * (-(i as f64) / 50.0).exp()).collect();
        assert_eq!(course(&falling, Some(10f64.ln())), Course::Fell);
        let mut flat = vec![2.3; 200];
        assert_eq!(course(&flat, Some(10f64.ln())), Course::Flat);
        flat[40] = 9.0;
        assert_eq!(course(&flat, Some(10f64.ln())), Course::Unstable);
        let rising: Vec<f64> = (0..200).map(|i| 2.3 + 0.1 * i as f64).collect();
        assert_eq!(course(&rising, Some(10f64.ln())), Course::Rose);
        // Fell to 0.5, then back to chance: units died or the rate was too high.
        let mut rebound: Vec<f64> = (0..100).map(|i| 2.3 - 0.018 * i as f64).collect();
        rebound.extend(std::iter::repeat_n(2.31, 100));
        assert_eq!(course(&rebound, Some(10f64.ln())), Course::Rebounded);
        // A spike of 1e4× that training recovers from.
        let mut spiked = falling.clone();
        spiked[30] = 1e4;
        assert_eq!(course(&spiked, Some(10f64.ln())), Course::Spiked);
        // From 16× chance down to chance, and no further.
        let mut collapsed: Vec<f64> = (0..20).map(|i| 36.0 - 1.75 * i as f64).collect();
        collapsed.extend(std::iter::repeat_n(1.0989, 180));
        assert_eq!(course(&collapsed, Some(3f64.ln())), Course::AtChance);
        let mut nan = falling;
        nan[150] = f64::NAN;
        assert_eq!(course(&nan, Some(10f64.ln())), Course::NonFinite);
    }

    #[test]
    fn an_explosion_at_the_second_step_is_not_the_start() {
        // Batch 16: the start covers steps 0 and 1; Adam at lr 1 made step 1's loss 13314.
        let mut l = vec![1.9, 13314.0, 900.0, 50.0];
        l.extend(std::iter::repeat_n(1.1, 96));
        let t = Trajectory::of(&records(&l), 16, Some(3f64.ln()));
        assert_eq!(t.start, 1.9);
        assert_eq!(t.course(0.1), Course::Diverged);
    }

    #[test]
    fn the_start_at_batch_one_is_a_median_over_32_examples() {
        // Single-example losses alternate; one huge first loss does not set the start.
        let mut l: Vec<f64> = (0..400)
            .map(|i| if i % 2 == 0 { 0.5 } else { 3.0 })
            .collect();
        l[0] = 40.0;
        let t = Trajectory::of(&records(&l), 1, None);
        assert!(t.start <= 3.0, "{}", t.start);
    }
}
