//! The grammar of typed cell values, shared by type inference, conversion and (through the `parse_*` functions) the
//! query crate, so that a filter value is read exactly like a cell.
//!
//! The rules are deliberately strict: a value is only given a type when converting it loses nothing. `007` is a code,
//! not the number 7; `.5` is not a decimal; `Y`/`N`, `是`/`否` and `0`/`1` are codes, not booleans. Decorated
//! numbers (`1,234`, `NT$5`, `47%`) and local date spellings (ROC `105/12/23`) are read by [`crate::normalize`],
//! which the column's reading decides on; the byte-level grammar here is the plain one.
//!
//! The byte-level functions (`integer`, `decimal`, …) are what the hot loops call; they never allocate. The public
//! `parse_date` and `parse_datetime` (filter values of the query crate) also accept the ROC and local forms a cell
//! of a date column may have been written in (`?發生日期=105/12/23`); ISO 8601 text means what it always meant.

use chrono::{DateTime, NaiveDate, Offset, TimeZone};
use chrono_tz::Tz;

/// The zone of offset-less local date-times ([`tapwater_types::LOCAL_TIME_ZONE`]).
pub(crate) const LOCAL_TZ: Tz = chrono_tz::Asia::Taipei;

/// At most this many significant digits, so that every decimal survives the trip through an `f64` and back
/// (IEEE 754 binary64 guarantees 15: `DBL_DIG`).
const MAX_SIGNIFICANT_DIGITS: usize = 15;

const MICROS_PER_SECOND: i64 = 1_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// Reads an integer: an optional `-` or `+`, then ASCII digits without a leading zero (only `0` itself may start
/// with one, so `007` and `09007030005` stay codes), fitting an `i64`.
pub fn parse_integer(s: &str) -> Option<i64> {
    integer(s.as_bytes())
}

/// Reads a decimal: `[-+]?digits(.digits)?([eE][-+]?digits)?`, no leading zero in the integer part except a single
/// `0`, at most 15 significant digits, and within the normal range of an `f64`. `.5`, `5.`, `NaN`, `inf` and `1,234`
/// are not decimals. Every integer with at most 15 significant digits is also a decimal.
pub fn parse_decimal(s: &str) -> Option<f64> {
    decimal(s.as_bytes())
}

/// Reads `true` or `false`, in any letter case. Nothing else (`Y`, `1`, `是`) is a boolean: those are codes.
pub fn parse_boolean(s: &str) -> Option<bool> {
    boolean(s.as_bytes())
}

/// Reads an ISO 8601 calendar date `YYYY-MM-DD` that exists (`2016-02-30` does not), as days since 1970-01-01.
/// Also reads the forms a date column's cells are read in: ROC dates (`105/12/23`, `1051223`, `105年12月23日`,
/// `民國105年…`, full-width digits) and local Gregorian ones (`2016/12/23`, `20161223`, `2016年12月23日`).
pub fn parse_date(s: &str) -> Option<i32> {
    date(s.as_bytes()).or_else(|| match local_form(s)? {
        crate::normalize::dates::DateValue::Date(days) => Some(days),
        _ => None,
    })
}

/// A date or date-time in an ROC or local form, read as a date column's cells are (compact digits included: the
/// caller knows the column holds dates).
fn local_form(s: &str) -> Option<crate::normalize::dates::DateValue> {
    use crate::normalize::{self, dates};
    let mut scratch = Vec::new();
    // Full-width digits are read; spaces and Excel guards are not cleaned away (`2016-01-01 ` stays no date).
    let rules = normalize::Rules { trim: false, excel_guard: false, ..normalize::Rules::default() };
    let (cell, _) = normalize::clean(s.as_bytes(), &rules, &mut scratch);
    let date_rules = dates::DateRules {
        roc_date: true,
        roc_datetime: true,
        roc_year_month: false,
        local_date: true,
        compact_date: true,
        compact_year_month: false,
    };
    dates::read_date(cell, &date_rules).map(|(value, _)| value)
}

/// Reads a time of day `HH:MM`, `HH:MM:SS` or `HH:MM:SS.f` (1 to 6 fraction digits), hours 00–23, minutes and
/// seconds 00–59, as microseconds since midnight.
pub fn parse_time(s: &str) -> Option<i64> {
    time(s.as_bytes())
}

/// Reads `YYYY-MM-DD[T or space]HH:MM[:SS[.f]]` with an optional `Z`, `±HH:MM` or `±HHMM` offset, as microseconds
/// since the Unix epoch (UTC). Without an offset the time is local Asia/Taipei time, historical daylight saving
/// included; a local time that does not exist or exists twice is not a date-time. Up to 9 fraction digits are read,
/// but digits past the microsecond must be zeros (the value is stored in microseconds and must not change).
/// Also reads ROC and local date-times as a date-time column's cells are (`102年01月01日 03時00分`,
/// `105.02.09 19:20`, `2016/01/01 08:00`), in local time.
pub fn parse_datetime(s: &str) -> Option<i64> {
    datetime(s.as_bytes(), &mut UncachedZone).or_else(|| match local_form(s)? {
        crate::normalize::dates::DateValue::Datetime { days, seconds } => {
            local_micros(days, seconds, &mut UncachedZone)
        }
        _ => None,
    })
}

/// Microseconds since the epoch of a local (Asia/Taipei) date and time; `None` when that local time does not exist
/// or exists twice.
pub(crate) fn local_micros(days: i32, seconds: u32, zone: &mut impl LocalOffset) -> Option<i64> {
    let offset = zone.offset(days, seconds)?;
    Some((i64::from(days) * SECONDS_PER_DAY + i64::from(seconds) - i64::from(offset)) * MICROS_PER_SECOND)
}

// ---------------------------------------------------------------------------------------------------------------
// Byte-level grammar.

#[inline]
fn digit(b: u8) -> Option<u32> {
    let d = b.wrapping_sub(b'0');
    (d <= 9).then_some(u32::from(d))
}

/// Two ASCII digits as a number.
#[inline]
fn two_digits(b: &[u8], at: usize) -> Option<u32> {
    Some(digit(*b.get(at)?)? * 10 + digit(*b.get(at + 1)?)?)
}

pub(crate) fn integer(b: &[u8]) -> Option<i64> {
    let (negative, digits) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    // i64::MIN has 19 digits; more can never fit.
    if digits.is_empty() || digits.len() > 19 || (digits[0] == b'0' && digits.len() > 1) {
        return None;
    }
    let mut value: u64 = 0;
    for &c in digits {
        value = value * 10 + u64::from(digit(c)?);
    }
    // 19 digits can overflow u64 only past 18_446_744_073_709_551_615, which 19 digits cannot reach (max 9.99e18).
    if negative {
        if value <= i64::MAX as u64 + 1 { Some((value as i64).wrapping_neg()) } else { None }
    } else {
        i64::try_from(value).ok()
    }
}

/// What [`decimal_shape`] learned about a decimal's text.
struct DecimalShape {
    /// The value could be outside the normal `f64` range, so the parsed number must be checked.
    needs_range_check: bool,
    /// The mantissa has a non-zero digit.
    non_zero: bool,
}

/// Checks the decimal grammar and the significant-digit limit, without converting.
fn decimal_shape(b: &[u8]) -> Option<DecimalShape> {
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_len = i - int_start;
    if int_len == 0 || (int_len > 1 && b[int_start] == b'0') {
        return None;
    }
    let int_digits = &b[int_start..i];
    let mut frac_digits: &[u8] = &[];
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None; // `5.`
        }
        frac_digits = &b[start..i];
    }
    let mut has_exponent = false;
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        has_exponent = true;
    }
    if i != b.len() {
        return None;
    }
    // Significant digits run from the first to the last non-zero digit of the mantissa: `0.000123` has 3 and
    // `1.50` has 2 (trailing zeros do not need precision to round-trip).
    let mantissa = || int_digits.iter().chain(frac_digits).copied();
    let first = mantissa().position(|c| c != b'0');
    let significant = match first {
        None => 0,
        Some(first) => {
            let total = int_digits.len() + frac_digits.len();
            let trailing_zeros = mantissa().rev().take_while(|&c| c == b'0').count();
            total - first - trailing_zeros
        }
    };
    if significant > MAX_SIGNIFICANT_DIGITS {
        return None;
    }
    Some(DecimalShape {
        // Without an exponent and with a short text, the magnitude lies well within 1e-300..1e300.
        needs_range_check: has_exponent || b.len() > 300,
        non_zero: first.is_some(),
    })
}

/// Whether `b` is a decimal, converting only when the range must be checked.
pub(crate) fn is_decimal(b: &[u8]) -> bool {
    match decimal_shape(b) {
        None => false,
        Some(shape) if shape.needs_range_check => decimal_in_range(b, &shape).is_some(),
        Some(_) => true,
    }
}

pub(crate) fn decimal(b: &[u8]) -> Option<f64> {
    let shape = decimal_shape(b)?;
    if shape.needs_range_check { decimal_in_range(b, &shape) } else { to_f64(b) }
}

fn decimal_in_range(b: &[u8], shape: &DecimalShape) -> Option<f64> {
    let v = to_f64(b)?;
    // Overflow to infinity, underflow to zero and subnormals (fewer than 53 bits of precision) would alter the value.
    let ok = v.is_finite() && (!shape.non_zero || v.abs() >= f64::MIN_POSITIVE);
    ok.then_some(v)
}

/// Correctly rounded conversion of text already checked by [`decimal_shape`] (ASCII only).
fn to_f64(b: &[u8]) -> Option<f64> {
    std::str::from_utf8(b).ok()?.parse::<f64>().ok()
}

pub(crate) fn boolean(b: &[u8]) -> Option<bool> {
    if b.eq_ignore_ascii_case(b"true") {
        Some(true)
    } else if b.eq_ignore_ascii_case(b"false") {
        Some(false)
    } else {
        None
    }
}

fn is_leap_year(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if is_leap_year(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
pub(crate) fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = (y - era * 400) as u32; // 0..=399
    let mp = (m + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe as i32 - 719_468
}

/// `YYYY-MM-DD` at the start of `b` (exactly 10 bytes are read), as days since the epoch.
fn date_prefix(b: &[u8]) -> Option<i32> {
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = (two_digits(b, 0)? * 100 + two_digits(b, 2)?) as i32;
    let month = two_digits(b, 5)?;
    let day = two_digits(b, 8)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

pub(crate) fn date(b: &[u8]) -> Option<i32> {
    if b.len() != 10 {
        return None;
    }
    date_prefix(b)
}

/// `HH:MM` at `b[at..]`, as seconds since midnight.
fn hours_minutes(b: &[u8], at: usize) -> Option<u32> {
    if b.get(at + 2) != Some(&b':') {
        return None;
    }
    let h = two_digits(b, at)?;
    let m = two_digits(b, at + 3)?;
    (h <= 23 && m <= 59).then_some(h * 3600 + m * 60)
}

/// A fraction of a second after the `.`: 1 to `max_digits` digits, of which only the first 6 may be non-zero.
/// Returns (microseconds, bytes read).
fn fraction(b: &[u8], max_digits: usize) -> Option<(u32, usize)> {
    let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 || n > max_digits {
        return None;
    }
    if b[6.min(n)..n].iter().any(|&c| c != b'0') {
        return None; // nanoseconds would be lost
    }
    // Read the first 6 digits, padding a shorter fraction with zeros: `.5` is 500 000 µs.
    let micros =
        b[..n.min(6)].iter().fold(0, |acc, &c| acc * 10 + u32::from(c - b'0')) * 10u32.pow((6 - n.min(6)) as u32);
    Some((micros, n))
}

pub(crate) fn time(b: &[u8]) -> Option<i64> {
    let mut seconds = hours_minutes(b, 0)?;
    let mut micros = 0;
    match b.len() {
        5 => {}
        8.. => {
            if b[5] != b':' {
                return None;
            }
            let s = two_digits(b, 6)?;
            if s > 59 {
                return None;
            }
            seconds += s;
            if b.len() > 8 {
                if b[8] != b'.' {
                    return None;
                }
                let (us, n) = fraction(&b[9..], 6)?;
                if 9 + n != b.len() {
                    return None;
                }
                micros = us;
            }
        }
        _ => return None,
    }
    Some(i64::from(seconds) * MICROS_PER_SECOND + i64::from(micros))
}

/// Resolves an offset-less local date-time to its UTC offset.
pub(crate) trait LocalOffset {
    /// The offset (seconds east of UTC) of local time `seconds` after midnight of day `days`, or `None` when that
    /// local time does not exist or is ambiguous.
    fn offset(&mut self, days: i32, seconds: u32) -> Option<i32>;
}

/// Asks the tz database every time (for the public `parse_datetime`).
pub(crate) struct UncachedZone;

impl LocalOffset for UncachedZone {
    fn offset(&mut self, days: i32, seconds: u32) -> Option<i32> {
        tz_offset(days, seconds)
    }
}

fn tz_offset(days: i32, seconds: u32) -> Option<i32> {
    let date = NaiveDate::from_num_days_from_ce_opt(days.checked_add(719_163)?)?;
    let naive = date.and_hms_opt(seconds / 3600, seconds / 60 % 60, seconds % 60)?;
    let local = LOCAL_TZ.from_local_datetime(&naive).single()?;
    Some(local.offset().fix().local_minus_utc())
}

/// Remembers, per day, the offset of days without a transition, so that a million date-times need a few thousand
/// tz-database lookups, not a million. Days with a transition (Taiwan's daylight-saving years 1945–1979) are
/// resolved exactly by the tz database every time. The answer is the same as [`UncachedZone`]'s (a test checks it
/// day by day): a day is cached only if its first and last second have the same unambiguous offset, and no zone has
/// two transitions within one day.
pub(crate) struct LocalZone {
    slots: Box<[(i32, i32)]>,
}

const ZONE_SLOTS: usize = 4096;
const EMPTY_SLOT: i32 = i32::MAX;
const TRANSITION_DAY: i32 = i32::MIN;

impl LocalZone {
    pub(crate) fn new() -> Self {
        LocalZone { slots: vec![(EMPTY_SLOT, 0); ZONE_SLOTS].into_boxed_slice() }
    }
}

impl Default for LocalZone {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalOffset for LocalZone {
    #[inline]
    fn offset(&mut self, days: i32, seconds: u32) -> Option<i32> {
        let slot = &mut self.slots[(days as u32 as usize) % ZONE_SLOTS];
        if slot.0 != days {
            let uniform = match (tz_offset(days, 0), tz_offset(days, 86_399)) {
                (Some(a), Some(b)) if a == b => a,
                _ => TRANSITION_DAY,
            };
            *slot = (days, uniform);
        }
        if slot.1 == TRANSITION_DAY { tz_offset(days, seconds) } else { Some(slot.1) }
    }
}

/// The parts of a date-time's text.
struct DatetimeParts {
    days: i32,
    seconds: u32,
    micros: u32,
    /// Seconds east of UTC, when the text carries an offset.
    offset: Option<i32>,
}

fn datetime_parts(b: &[u8]) -> Option<DatetimeParts> {
    if b.len() < 16 || !matches!(b[10], b'T' | b' ') {
        return None;
    }
    let days = date_prefix(b)?;
    let mut seconds = hours_minutes(b, 11)?;
    let mut micros = 0;
    let mut i = 16;
    if b.get(i) == Some(&b':') {
        let s = two_digits(b, i + 1)?;
        if s > 59 {
            return None;
        }
        seconds += s;
        i += 3;
        if b.get(i) == Some(&b'.') {
            let (us, n) = fraction(&b[i + 1..], 9)?;
            micros = us;
            i += 1 + n;
        }
    }
    let offset = match b.get(i) {
        None => None,
        Some(b'Z') => {
            i += 1;
            Some(0)
        }
        Some(&sign @ (b'+' | b'-')) => {
            let h = two_digits(b, i + 1)?;
            let m = if b.get(i + 3) == Some(&b':') {
                i += 6;
                two_digits(b, i - 2)?
            } else {
                i += 5;
                two_digits(b, i - 2)?
            };
            if h > 23 || m > 59 {
                return None;
            }
            let secs = (h * 3600 + m * 60) as i32;
            Some(if sign == b'-' { -secs } else { secs })
        }
        Some(_) => return None,
    };
    (i == b.len()).then_some(DatetimeParts { days, seconds, micros, offset })
}

pub(crate) fn datetime(b: &[u8], zone: &mut impl LocalOffset) -> Option<i64> {
    let p = datetime_parts(b)?;
    let offset = match p.offset {
        Some(offset) => offset,
        None => zone.offset(p.days, p.seconds)?,
    };
    let seconds = i64::from(p.days) * SECONDS_PER_DAY + i64::from(p.seconds) - i64::from(offset);
    Some(seconds * MICROS_PER_SECOND + i64::from(p.micros))
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering, as the API renders values (used for column statistics).

/// A decimal as JSON renders it (shortest text that reads back as the same `f64`).
pub(crate) fn render_decimal(v: f64) -> String {
    serde_json::Number::from_f64(v).map_or_else(|| v.to_string(), |n| n.to_string())
}

pub(crate) fn render_date(days: i32) -> String {
    match NaiveDate::from_num_days_from_ce_opt(days.saturating_add(719_163)) {
        Some(d) => d.format("%Y-%m-%d").to_string(),
        None => days.to_string(),
    }
}

/// `.ffffff` when there is a fraction, nothing otherwise.
fn render_fraction(micros: i64) -> String {
    if micros == 0 { String::new() } else { format!(".{micros:06}") }
}

/// `HH:MM:SS[.ffffff]`.
pub(crate) fn render_time(micros: i64) -> String {
    let seconds = micros.div_euclid(MICROS_PER_SECOND);
    format!(
        "{:02}:{:02}:{:02}{}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        render_fraction(micros.rem_euclid(MICROS_PER_SECOND))
    )
}

/// RFC 3339 in local Taiwan time, e.g. `2016-01-01T08:30:00+08:00` (the offset is the tz database's, so `+09:00` for
/// a daylight-saving summer of the 1950s–1970s).
pub(crate) fn render_datetime(micros: i64) -> String {
    match DateTime::from_timestamp_micros(micros) {
        Some(utc) => {
            let local = utc.with_timezone(&LOCAL_TZ);
            format!(
                "{}{}{}",
                local.format("%Y-%m-%dT%H:%M:%S"),
                render_fraction(micros.rem_euclid(MICROS_PER_SECOND)),
                local.format("%:z")
            )
        }
        None => micros.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        let cases: &[(&str, Option<i64>)] = &[
            ("0", Some(0)),
            ("7", Some(7)),
            ("-0", Some(0)),
            ("+0", Some(0)),
            ("+42", Some(42)),
            ("-42", Some(-42)),
            ("1234567890", Some(1_234_567_890)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("-9223372036854775809", None),
            ("99999999999999999999", None),
            ("007", None),
            ("09007030005", None),
            ("-007", None),
            ("00", None),
            ("", None),
            ("-", None),
            ("+", None),
            ("1.0", None),
            ("1e3", None),
            (" 1", None),
            ("1 ", None),
            ("1,234", None),
            ("１２", None), // full-width digits wait for the normalisers
            ("0x10", None),
        ];
        for &(text, want) in cases {
            assert_eq!(parse_integer(text), want, "{text:?}");
        }
    }

    #[test]
    fn decimals() {
        let cases: &[(&str, Option<f64>)] = &[
            ("0", Some(0.0)),
            ("0.5", Some(0.5)),
            ("-0.5", Some(-0.5)),
            ("+0.5", Some(0.5)),
            ("1.50", Some(1.5)),
            ("120.346293", Some(120.346293)),
            ("22.593344", Some(22.593344)),
            ("42", Some(42.0)),
            ("1e3", Some(1000.0)),
            ("1.5E-3", Some(0.0015)),
            ("2.5e+10", Some(2.5e10)),
            ("123456789012345", Some(123_456_789_012_345.0)), // 15 significant digits
            ("0.123456789012345", Some(0.123456789012345)),
            ("0.000000000000000000001", Some(1e-21)),
            ("1000000000000000000000", Some(1e21)), // 1 significant digit
            ("1.500000000000000000", Some(1.5)),
            ("1234567890123456", None), // 16 significant digits: would not round-trip in general
            ("0.1234567890123456", None),
            ("9007199254740993", None),
            ("00.5", None),
            ("01", None),
            (".5", None),
            ("5.", None),
            ("-.5", None),
            ("1e", None),
            ("1e+", None),
            ("NaN", None),
            ("inf", None),
            ("-inf", None),
            ("infinity", None),
            ("1,234", None),
            ("1,5", None),
            ("1e400", None),  // overflows to infinity
            ("1e-400", None), // underflows to zero
            ("1e-310", None), // subnormal: fewer bits of precision
            ("0e-400", Some(0.0)),
            ("", None),
            ("-", None),
            ("1.2.3", None),
            (" 1.5", None),
        ];
        for &(text, want) in cases {
            assert_eq!(parse_decimal(text), want, "{text:?}");
            assert_eq!(is_decimal(text.as_bytes()), want.is_some(), "{text:?}");
        }
    }

    #[test]
    fn decimals_round_trip_through_f64() {
        for text in ["0.1", "0.3", "123.456", "99999.99999", "3.14159265358979", "1.23456789012345e-5"] {
            let v = parse_decimal(text).unwrap();
            assert_eq!(parse_decimal(&render_decimal(v)), Some(v), "{text}");
            // Shortest rendering of a ≤ 15-digit decimal gives back its digits.
            let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
            assert!(digits(&render_decimal(v)).trim_matches('0').len() <= 15, "{text}");
        }
        assert_eq!(render_decimal(120.346293), "120.346293");
        assert_eq!(render_decimal(3.0), "3.0");
    }

    #[test]
    fn booleans() {
        let cases: &[(&str, Option<bool>)] = &[
            ("true", Some(true)),
            ("TRUE", Some(true)),
            ("True", Some(true)),
            ("false", Some(false)),
            ("FALSE", Some(false)),
            ("fAlSe", Some(false)),
            ("Y", None),
            ("N", None),
            ("yes", None),
            ("是", None),
            ("否", None),
            ("0", None),
            ("1", None),
            ("t", None),
            (" true", None),
            ("", None),
        ];
        for &(text, want) in cases {
            assert_eq!(parse_boolean(text), want, "{text:?}");
        }
    }

    #[test]
    fn dates() {
        let cases: &[(&str, Option<i32>)] = &[
            ("1970-01-01", Some(0)),
            ("1970-01-02", Some(1)),
            ("1969-12-31", Some(-1)),
            ("2000-03-01", Some(11_017)),
            ("2016-02-29", Some(16_860)),
            ("2024-12-31", Some(20_088)),
            ("0001-01-01", Some(-719_162)),
            ("2016-02-30", None),
            ("2015-02-29", None),
            ("1900-02-29", None), // not a leap year
            ("2000-02-29", Some(11_016)),
            ("2016-13-01", None),
            ("2016-00-10", None),
            ("2016-01-00", None),
            ("2016-04-31", None),
            ("2016-1-1", Some(16_801)), // local forms are read too (filter values of date columns)
            ("2016/01/01", Some(16_801)),
            ("105/01/01", Some(16_801)),
            ("105年1月1日", Some(16_801)),
            ("１０５/０１/０１", Some(16_801)),
            ("1050101", Some(16_801)),
            ("20160101", Some(16_801)),
            ("105/02/30", None),
            ("2016-01-01T00:00", None),
            ("2016-01-01 ", None),
            ("", None),
        ];
        for &(text, want) in cases {
            assert_eq!(parse_date(text), want, "{text:?}");
        }
        // Agrees with chrono over four centuries.
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let mut d = NaiveDate::from_ymd_opt(1800, 1, 1).unwrap();
        while d < NaiveDate::from_ymd_opt(2200, 1, 1).unwrap() {
            let text = d.format("%Y-%m-%d").to_string();
            assert_eq!(parse_date(&text), Some((d - epoch).num_days() as i32), "{text}");
            assert_eq!(render_date((d - epoch).num_days() as i32), text);
            d = d.succ_opt().unwrap();
        }
    }

    #[test]
    fn times() {
        const S: i64 = 1_000_000;
        let cases: &[(&str, Option<i64>)] = &[
            ("00:00", Some(0)),
            ("08:20", Some((8 * 3600 + 20 * 60) * S)),
            ("23:59", Some((23 * 3600 + 59 * 60) * S)),
            ("23:59:59", Some((23 * 3600 + 59 * 60 + 59) * S)),
            ("12:30:05.5", Some((12 * 3600 + 30 * 60 + 5) * S + 500_000)),
            ("12:30:05.123456", Some((12 * 3600 + 30 * 60 + 5) * S + 123_456)),
            ("12:30:05.1234567", None), // 7 fraction digits
            ("12:30:05.", None),
            ("24:00", None),
            ("24:00:00", None),
            ("12:60", None),
            ("12:30:60", None), // no leap seconds
            ("8:20", None),
            ("08:2", None),
            ("0820", None),
            ("08:20:", None),
            ("08:20:1", None),
            ("08-20", None),
            ("12:30.5", None),
            ("", None),
        ];
        for &(text, want) in cases {
            assert_eq!(parse_time(text), want, "{text:?}");
        }
        assert_eq!(render_time(0), "00:00:00");
        assert_eq!(render_time((12 * 3600 + 30 * 60 + 5) * S + 500_000), "12:30:05.500000");
    }

    fn utc(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text).unwrap().timestamp_micros()
    }

    #[test]
    fn datetimes() {
        let cases: &[(&str, Option<i64>)] = &[
            // Local Taiwan time (UTC+8) without an offset.
            ("2016-01-01T08:00:00", Some(utc("2016-01-01T00:00:00Z"))),
            ("2016-01-01 08:00:00", Some(utc("2016-01-01T00:00:00Z"))),
            ("2016-01-01T08:00", Some(utc("2016-01-01T00:00:00Z"))),
            ("2016-01-01T00:30:00", Some(utc("2015-12-31T16:30:00Z"))),
            ("2016-01-01T08:30:00.25", Some(utc("2016-01-01T00:30:00.25Z"))),
            ("2016-01-01T08:30:00.123456789", None), // nanoseconds would be lost
            ("2016-01-01T08:30:00.123456000", Some(utc("2016-01-01T00:30:00.123456Z"))),
            ("2016-01-01T08:30:00.1234567890", None),
            // Offsets.
            ("2016-01-01T08:00:00+08:00", Some(utc("2016-01-01T00:00:00Z"))),
            ("2016-01-01T08:00:00+0800", Some(utc("2016-01-01T00:00:00Z"))),
            ("2016-01-01T08:00+08:00", Some(utc("2016-01-01T00:00:00Z"))),
            ("2016-01-01T00:00:00Z", Some(utc("2016-01-01T00:00:00Z"))),
            ("2016-01-01T00:00:00-05:30", Some(utc("2016-01-01T05:30:00Z"))),
            ("2015-10-28T11:00:00+08:00", Some(utc("2015-10-28T03:00:00Z"))),
            ("2016-01-01T00:00:00+24:00", None),
            ("2016-01-01T00:00:00+08:60", None),
            ("2016-01-01T00:00:00+08", None),
            ("2016-01-01T00:00:00 +08:00", None),
            ("2016-01-01T00:00:00z", None),
            // Shapes that are not date-times.
            ("2016-01-01", None),
            ("2016-01-01T", None),
            ("2016-01-01T8:00", None),
            ("2016-01-01T24:00", None),
            ("2016-02-30T08:00", None),
            ("2016-01-01t08:00", None),
            ("2016-01-01_08:00", None),
            ("2016-01-01T08:00.5", None),
            ("2016/01/01 08:00", Some(utc("2016-01-01T00:00:00Z"))), // a local form
            ("105/01/01 08:00", Some(utc("2016-01-01T00:00:00Z"))),
            ("105年01月01日 08時00分", Some(utc("2016-01-01T00:00:00Z"))),
            ("105/01/01 24:00", None),
            ("Sat Jan 28 00:00:00 CST 2023", None),
            ("", None),
        ];
        for &(text, want) in cases {
            assert_eq!(parse_datetime(text), want, "{text:?}");
            if !text.contains('/') && !text.contains('年') {
                assert_eq!(datetime(text.as_bytes(), &mut LocalZone::new()), want, "{text:?} (cached zone)");
            }
        }
    }

    #[test]
    fn datetimes_in_taiwan_daylight_saving_years() {
        // Asia/Taipei kept summer time (UTC+9) in some years up to 1979; 1979-07-01 00:00 jumped to 01:00.
        assert_eq!(parse_datetime("1979-07-01T00:30:00"), None, "that local time never happened");
        assert_eq!(parse_datetime("1979-07-01T12:00:00"), Some(utc("1979-07-01T03:00:00Z")));
        assert_eq!(parse_datetime("1979-06-30T12:00:00"), Some(utc("1979-06-30T04:00:00Z")));
        assert_eq!(parse_datetime("1979-09-30T23:30:00"), None, "that local time happened twice");
        assert_eq!(render_datetime(utc("1979-07-01T03:00:00Z")), "1979-07-01T12:00:00+09:00");
        assert_eq!(render_datetime(utc("2016-01-01T00:30:00Z")), "2016-01-01T08:30:00+08:00");
        assert_eq!(render_datetime(utc("2016-01-01T00:30:00.5Z")), "2016-01-01T08:30:00.500000+08:00");
    }

    #[test]
    fn cached_zone_agrees_with_tz_database_every_day() {
        let mut zone = LocalZone::new();
        let start = days_from_civil(1890, 1, 1);
        let end = days_from_civil(2050, 1, 1);
        for days in start..end {
            for seconds in [0, 1_800, 5_400, 43_200, 84_600, 86_399] {
                assert_eq!(zone.offset(days, seconds), tz_offset(days, seconds), "day {days} second {seconds}");
            }
        }
    }
}
