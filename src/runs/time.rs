//! UTC timestamps without a calendar crate: RFC 3339 for records, a compact form for run ids.

use std::time::{SystemTime, UNIX_EPOCH};

/// (year, month, day, hour, minute, second) in UTC of `secs` since the Unix epoch.
fn civil(secs: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `2026-11-29T16:49:30Z`.
pub fn rfc3339(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// `20261129-164930`, for run directory names (sorts by time).
pub fn compact(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}{mo:02}{d:02}-{h:02}{mi:02}{s:02}")
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub fn now_rfc3339() -> String {
    rfc3339(now_secs())
}

pub fn now_compact() -> String {
    compact(now_secs())
}

/// Days since the Unix epoch of a civil date (Howard Hinnant's days-from-civil).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The instant `text` names, as seconds since the Unix epoch (UTC), for `runs list --since`:
/// a date (`2026-12-01`, midnight), a time (`2026-12-01T08:30`, `2026-12-01T08:30:00Z`),
/// `today`, `yesterday`, or an age before `now` (`90m`, `24h`, `7d`, `2w`). `None` when it is
/// none of these (a day that does not exist included).
pub fn parse_since(text: &str, now: u64) -> Option<u64> {
    let t = text.trim();
    let midnight = now - now % 86_400;
    match t {
        "today" => return Some(midnight),
        "yesterday" => return midnight.checked_sub(86_400),
        _ => {}
    }
    if let Some(unit) = t.chars().last().filter(|c| "smhdw".contains(*c)) {
        if let Ok(n) = t[..t.len() - 1].parse::<u64>() {
            let secs = match unit {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                _ => 7 * 86_400,
            };
            return now.checked_sub(n.checked_mul(secs)?);
        }
    }
    let (date, time) = t.split_once(['T', ' ']).unwrap_or((t, ""));
    let mut parts = date.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let days_in_month = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=days_in_month).contains(&d) || y < 1970 {
        return None;
    }
    let time = time.strip_suffix('Z').unwrap_or(time);
    let mut hms = [0u32; 3];
    if !time.is_empty() {
        let fields: Vec<&str> = time.split(':').collect();
        if !(2..=3).contains(&fields.len()) {
            return None;
        }
        for (slot, f) in hms.iter_mut().zip(&fields) {
            if f.len() != 2 {
                return None;
            }
            *slot = f.parse().ok()?;
        }
        if hms[0] > 23 || hms[1] > 59 || hms[2] > 59 {
            return None;
        }
    }
    let days = u64::try_from(days_from_civil(y, m, d)).ok()?;
    Some(days * 86_400 + u64::from(hms[0]) * 3600 + u64::from(hms[1]) * 60 + u64::from(hms[2]))
}

/// Now, as seconds since the Unix epoch.
pub fn now_seconds() -> u64 {
    now_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_match_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_575_770), "2026-12-06T16:49:30Z");
        assert_eq!(compact(4_107_542_399), "21000228-235959");
    }

    #[test]
    fn since_takes_dates_times_words_and_ages_and_refuses_the_rest() {
        let now = 1_796_601_600 + 8 * 3600 + 30 * 60; // 2026-12-07T08:30:00Z
        assert_eq!(rfc3339(now), "2026-12-07T08:30:00Z");
        let at = |t: &str| parse_since(t, now).map(rfc3339);
        assert_eq!(at("2026-12-01").as_deref(), Some("2026-12-01T00:00:00Z"));
        assert_eq!(
            at("2026-12-01T07:05").as_deref(),
            Some("2026-12-01T07:05:00Z")
        );
        assert_eq!(
            at("2024-02-29T23:59:59Z").as_deref(),
            Some("2024-02-29T23:59:59Z")
        );
        assert_eq!(at("today").as_deref(), Some("2026-12-07T00:00:00Z"));
        assert_eq!(at("yesterday").as_deref(), Some("2026-12-06T00:00:00Z"));
        assert_eq!(at("24h").as_deref(), Some("2026-12-06T08:30:00Z"));
        assert_eq!(at("90m").as_deref(), Some("2026-12-07T07:00:00Z"));
        assert_eq!(at("1w").as_deref(), Some("2026-11-30T08:30:00Z"));
        for bad in [
            "foo",
            "",
            "2026-13-01",
            "2026-02-30",
            "2025-02-29",
            "2026-12-1",
            "24x",
            "h",
            "2026-12-01T25:00",
            "99999999999999999999d",
        ] {
            assert_eq!(parse_since(bad, now), None, "{bad}");
        }
    }
}
