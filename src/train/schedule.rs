//! Learning-rate schedules, computed on the host each step and written with the step's other
//! uniforms (no extra submission).

use crate::config::{ScheduleConfig, ScheduleKind};

/// The learning rate at 0-based step `t` of `total`.
pub fn learning_rate(base: f64, s: &ScheduleConfig, t: usize, total: usize) -> f64 {
    let w = s.warmup_steps;
    if t < w {
        return base * (t + 1) as f64 / w as f64;
    }
    let t = (t - w) as f64;
    let span = total.saturating_sub(w).max(1) as f64;
    match s.name {
        ScheduleKind::Constant => base,
        ScheduleKind::Step => {
            let size = s.step_size.unwrap_or(1).max(1) as f64;
            base * s.gamma.unwrap_or(0.1).powf((t / size).floor())
        }
        ScheduleKind::Exponential => base * s.gamma.unwrap_or(0.999).powf(t),
        ScheduleKind::Cosine => {
            s.min_lr + (base - s.min_lr) * (1.0 + (std::f64::consts::PI * t / span).cos()) / 2.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sched(name: ScheduleKind) -> ScheduleConfig {
        ScheduleConfig {
            name,
            ..Default::default()
        }
    }

    #[test]
    fn warmup_then_cosine_reaches_min_lr() {
        let mut s = sched(ScheduleKind::Cosine);
        s.warmup_steps = 10;
        s.min_lr = 0.01;
        assert!((learning_rate(1.0, &s, 0, 110) - 0.1).abs() < 1e-12);
        assert!((learning_rate(1.0, &s, 9, 110) - 1.0).abs() < 1e-12);
        assert!((learning_rate(1.0, &s, 10, 110) - 1.0).abs() < 1e-12);
        assert!((learning_rate(1.0, &s, 60, 110) - 0.505).abs() < 1e-12);
    }

    #[test]
    fn step_and_exponential_decay() {
        let mut s = sched(ScheduleKind::Step);
        s.step_size = Some(100);
        s.gamma = Some(0.5);
        assert_eq!(learning_rate(0.8, &s, 99, 1000), 0.8);
        assert_eq!(learning_rate(0.8, &s, 100, 1000), 0.4);
        assert_eq!(learning_rate(0.8, &s, 250, 1000), 0.2);
        let mut e = sched(ScheduleKind::Exponential);
        e.gamma = Some(0.5);
        assert_eq!(learning_rate(1.0, &e, 3, 10), 0.125);
        assert_eq!(
            learning_rate(0.3, &sched(ScheduleKind::Constant), 77, 100),
            0.3
        );
    }
}
