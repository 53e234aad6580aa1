//! Timestamps as the catalog stores them.
//!
//! Both databases keep timestamps as TEXT in RFC 3339, UTC, with exactly three fractional digits and a `Z`
//! (`2026-11-25T21:35:17.123Z`). Fixed width makes text order equal time order, so `ORDER BY updated_at` is the same
//! on SQLite (which has no timestamp type) and PostgreSQL, and values round-trip identically through both.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::StoreError;

/// The current time, cut to the millisecond the catalog keeps.
pub(crate) fn now() -> DateTime<Utc> {
    to_millis(Utc::now())
}

/// `time` without its sub-millisecond part, so what a caller gets back equals what a later read returns.
pub(crate) fn to_millis(time: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(time.timestamp_millis()).unwrap_or(time)
}

pub(crate) fn format(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn parse(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("timestamp {text:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_is_fixed_width_utc_with_milliseconds() {
        let t = DateTime::parse_from_rfc3339("2026-11-26T05:35:17.1234567+08:00").unwrap().with_timezone(&Utc);
        assert_eq!(format(t), "2026-11-25T21:35:17.123Z");
        let whole = DateTime::parse_from_rfc3339("2026-11-25T21:35:17Z").unwrap().with_timezone(&Utc);
        assert_eq!(format(whole), "2026-11-25T21:35:17.000Z");
    }

    #[test]
    fn round_trip_keeps_milliseconds() {
        let t = to_millis(Utc::now());
        assert_eq!(parse(&format(t)).unwrap(), t);
    }

    #[test]
    fn text_order_is_time_order() {
        let early = DateTime::parse_from_rfc3339("2026-01-01T00:00:09.999Z").unwrap().with_timezone(&Utc);
        let late = DateTime::parse_from_rfc3339("2026-01-01T00:00:10Z").unwrap().with_timezone(&Utc);
        assert!(format(early) < format(late));
    }

    #[test]
    fn garbage_is_corrupt() {
        assert!(matches!(parse("yesterday"), Err(StoreError::Corrupt(_))));
    }
}
