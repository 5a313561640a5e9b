//! Time as the store keeps it (UTC microseconds since the Unix epoch, exact on SQLite and
//! PostgreSQL alike) and as people read it (Asia/Ho_Chi_Minh, dd/mm/yyyy).

use jiff::{tz::TimeZone, Timestamp};

pub const LOCAL_TZ: &str = "Asia/Ho_Chi_Minh";

pub fn now() -> Timestamp {
    // Truncate to the microsecond so a value read back from the store equals the one written.
    micros_to_ts(Timestamp::now().as_microsecond())
}

pub fn micros_to_ts(us: i64) -> Timestamp {
    Timestamp::from_microsecond(us).unwrap_or(Timestamp::UNIX_EPOCH)
}

pub fn ts_to_micros(ts: Timestamp) -> i64 {
    ts.as_microsecond()
}

pub fn local_tz() -> TimeZone {
    TimeZone::get(LOCAL_TZ).unwrap_or(TimeZone::fixed(jiff::tz::offset(7)))
}

/// "23/11/2026 13:30" in Vietnam time.
pub fn format_local(ts: Timestamp) -> String {
    ts.to_zoned(local_tz()).strftime("%d/%m/%Y %H:%M").to_string()
}

/// "23/11/2026".
pub fn format_local_date(ts: Timestamp) -> String {
    ts.to_zoned(local_tz()).strftime("%d/%m/%Y").to_string()
}

/// Parses a duration such as "90d", "12h", "30m" or "3600s" (used by `token issue --expires-in`).
pub fn parse_duration(text: &str) -> Option<jiff::SignedDuration> {
    let text = text.trim();
    // The unit is the last character, which may be any character a user types ("2giờ").
    let (split, _) = text.char_indices().last()?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().ok().filter(|n| *n > 0)?;
    let secs = match unit {
        "d" => n.checked_mul(86_400)?,
        "h" => n.checked_mul(3_600)?,
        "m" => n.checked_mul(60)?,
        "s" => n,
        _ => return None,
    };
    Some(jiff::SignedDuration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_vietnam_time() {
        let ts: Timestamp = "2026-11-23T17:05:00Z".parse().unwrap_or(Timestamp::UNIX_EPOCH);
        assert_eq!(format_local(ts), "24/11/2026 00:05");
    }

    #[test]
    fn odd_durations_are_refused_not_a_panic() {
        for text in ["2giờ", "giờ", "ờ", "", "d", "-5d", "0d", "99999999999999999d"] {
            assert_eq!(parse_duration(text), None, "{text}");
        }
    }

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("90d").map(|d| d.as_secs()), Some(90 * 86_400));
        assert_eq!(parse_duration("15m").map(|d| d.as_secs()), Some(900));
        assert!(parse_duration("abc").is_none());
        assert!(parse_duration("0d").is_none());
        assert!(parse_duration("").is_none());
    }
}
