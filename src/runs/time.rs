//! UTC timestamps: RFC 3339 for records, a compact form for run ids, and the instants
//! `runs list --since` takes. The calendar is chrono's (already in the tree for JUnit
//! timestamps); this module only fixes the formats and the grammar `--since` accepts.

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

/// The UTC instant `secs` after the Unix epoch; past chrono's last representable instant (about
/// the year 262 000), that instant.
fn utc(secs: u64) -> DateTime<Utc> {
    i64::try_from(secs)
        .ok()
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `2026-11-29T16:49:30Z`.
pub fn rfc3339(secs: u64) -> String {
    utc(secs).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `20261129-164930`, for run directory names (sorts by time).
pub fn compact(secs: u64) -> String {
    utc(secs).format("%Y%m%d-%H%M%S").to_string()
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

/// `text` split into numbers at `sep`, each exactly `width` digits: the fixed shape of the
/// dates and times `--since` takes, stricter than chrono's parser (which takes `2026-12-1`).
fn fixed_fields<const N: usize>(text: &str, sep: char, widths: [usize; N]) -> Option<[u32; N]> {
    let parts: Vec<&str> = text.split(sep).collect();
    if parts.len() != N {
        return None;
    }
    let mut out = [0u32; N];
    for ((slot, part), width) in out.iter_mut().zip(&parts).zip(widths) {
        if part.len() != width || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = part.parse().ok()?;
    }
    Some(out)
}

/// The time of day in `HH:MM` or `HH:MM:SS`, optionally ending in `Z`; midnight when empty.
fn time_of_day(text: &str) -> Option<NaiveTime> {
    let text = text.strip_suffix('Z').unwrap_or(text);
    if text.is_empty() {
        return Some(NaiveTime::MIN);
    }
    let [h, m, s] = fixed_fields(text, ':', [2, 2, 2])
        .or_else(|| fixed_fields(text, ':', [2, 2]).map(|[h, m]| [h, m, 0]))?;
    NaiveTime::from_hms_opt(h, m, s)
}

/// The instant `text` names, as seconds since the Unix epoch (UTC), for `runs list --since`:
/// a date (`2026-12-01`, midnight), a time (`2026-12-01T08:30`, `2026-12-01T08:30:00Z`),
/// `today`, `yesterday`, or an age before `now` (`90m`, `24h`, `7d`, `2w`). `None` when it is
/// none of these (a day that does not exist, and an instant before 1970, included).
pub fn parse_since(text: &str, now: u64) -> Option<u64> {
    let t = text.trim();
    let today = utc(now).date_naive();
    let day = match t {
        "today" => Some(today),
        "yesterday" => today.pred_opt(),
        _ => None,
    };
    if let Some(day) = day {
        return u64::try_from(day.and_time(NaiveTime::MIN).and_utc().timestamp()).ok();
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
    let [y, m, d] = fixed_fields(date, '-', [4, 2, 2])?;
    let day = NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)?;
    let instant = day.and_time(time_of_day(time)?).and_utc();
    u64::try_from(instant.timestamp()).ok()
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
        assert_eq!(compact(0), "19700101-000000");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_709_164_800), "2024-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(rfc3339(1_796_575_770), "2026-12-06T16:49:30Z");
        assert_eq!(compact(1_796_575_770), "20261206-164930");
        // 2100 is not a leap year: 28 February is followed by 1 March.
        assert_eq!(compact(4_107_542_399), "21000228-235959");
        assert_eq!(rfc3339(4_107_542_400), "2100-03-01T00:00:00Z");
        assert_eq!(rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
        // Past what chrono represents: its last instant, not a panic.
        assert!(
            rfc3339(u64::MAX).ends_with("T23:59:59Z"),
            "{}",
            rfc3339(u64::MAX)
        );
    }

    #[test]
    fn since_reads_back_what_the_formats_write() {
        let now = 1_796_601_600;
        for secs in [
            0,
            951_782_400,
            1_709_164_800,
            4_107_542_400,
            253_402_300_799,
        ] {
            assert_eq!(parse_since(&rfc3339(secs), now), Some(secs), "{secs}");
        }
        assert_eq!(parse_since("2100-02-29", now), None);
        assert_eq!(parse_since("2000-02-29", now), Some(951_782_400));
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
            at("2026-12-01 07:05:09").as_deref(),
            Some("2026-12-01T07:05:09Z")
        );
        assert_eq!(
            at("2024-02-29T23:59:59Z").as_deref(),
            Some("2024-02-29T23:59:59Z")
        );
        assert_eq!(at(" today ").as_deref(), Some("2026-12-07T00:00:00Z"));
        assert_eq!(at("yesterday").as_deref(), Some("2026-12-06T00:00:00Z"));
        assert_eq!(at("24h").as_deref(), Some("2026-12-06T08:30:00Z"));
        assert_eq!(at("90m").as_deref(), Some("2026-12-07T07:00:00Z"));
        assert_eq!(at("1w").as_deref(), Some("2026-11-30T08:30:00Z"));
        assert_eq!(at("30s").as_deref(), Some("2026-12-07T08:29:30Z"));
        assert_eq!(parse_since("yesterday", 3600), None, "before the epoch");
        for bad in [
            "foo",
            "",
            "2026-13-01",
            "2026-02-30",
            "2025-02-29",
            "2026-12-1",
            "+2026-12-01",
            "2026-12-01T8:30",
            "2026-12-01T08:30:60",
            "2026-12-01T08:30:00:00",
            "2026-12-01T08:30+01:00",
            "1969-12-31T23:59:59",
            "24x",
            "h",
            "-5d",
            "2026-12-01T25:00",
            "99999999999999999999d",
        ] {
            assert_eq!(parse_since(bad, now), None, "{bad}");
        }
    }
}
