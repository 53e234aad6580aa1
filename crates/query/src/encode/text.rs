//! Byte-level writers for single values: numbers, dates, times, JSON strings and CSV cells.
//!
//! These run once per cell of every response, so they write straight into the output `Vec<u8>` with no
//! intermediate `String` and no `fmt` machinery on the common paths.

use std::num::NonZeroI32;

use lexical_core::{FormattedSize, WriteFloatOptions, format::STANDARD};

/// "00" … "99", so two digits are one copy.
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

#[inline]
pub(crate) fn write_2digits(out: &mut Vec<u8>, value: u32) {
    let i = (value % 100) as usize * 2;
    // A fixed-size array, so the copy is two stores rather than a `memcpy` call.
    out.extend_from_slice(&[DIGIT_PAIRS[i], DIGIT_PAIRS[i + 1]]);
}

#[inline]
pub(crate) fn write_i64(out: &mut Vec<u8>, value: i64) {
    let mut buf = [0u8; i64::FORMATTED_SIZE_DECIMAL];
    out.extend_from_slice(lexical_core::write(value, &mut buf));
}

#[inline]
pub(crate) fn write_u64(out: &mut Vec<u8>, value: u64) {
    let mut buf = [0u8; u64::FORMATTED_SIZE_DECIMAL];
    out.extend_from_slice(lexical_core::write(value, &mut buf));
}

/// lexical writes the same shortest round-trip digits as Rust's `Display` for `f64` except when two shortest
/// candidates are exactly equally close (it rounds such ties to even, `Display` up), which needs 16 or more
/// significant digits; with these options it also drops the `.0` of integral values and avoids exponent notation
/// in the range where we use it. [`write_f64`] falls back to `Display` for long outputs, so the text is
/// byte-identical to `format!("{}", v)` (checked by a unit test over many values).
const FLOAT_OPTIONS: WriteFloatOptions = WriteFloatOptions::builder()
    .trim_floats(true)
    .positive_exponent_break(NonZeroI32::new(16))
    .negative_exponent_break(NonZeroI32::new(-5))
    .build_strict();
const FLOAT_BUF: usize = FLOAT_OPTIONS.buffer_size_const::<f64, STANDARD>();

/// Writes a finite `f64` as its shortest round-trip decimal, never in exponent notation (Rust's `Display`), so
/// `3.0` is `3` and `0.1` is `0.1`: valid JSON numbers and plain CSV text. The caller handles NaN and infinities.
#[inline]
pub(crate) fn write_f64(out: &mut Vec<u8>, value: f64) {
    let magnitude = value.abs();
    if (1e-5..1e15).contains(&magnitude) || magnitude == 0.0 {
        let mut buf = [0u8; FLOAT_BUF];
        let text = lexical_core::write_with_options::<f64, STANDARD>(value, &mut buf, &FLOAT_OPTIONS);
        // A tie needs at least 16 significant digits (with ulp > 10^-k and k decimals, the integer part has more
        // than 15.6 - k digits); counting leading zeros too only makes the check stricter.
        if text.iter().filter(|b| b.is_ascii_digit()).count() < 16 {
            out.extend_from_slice(text);
            return;
        }
    }
    // Very large or very small magnitudes, and 16+ digit values, are rare in open data.
    use std::io::Write as _;
    let _ = write!(out, "{value}");
}

/// As [`write_f64`], for `f32` (its own shortest digits, not those of the widened `f64`).
pub(crate) fn write_f32(out: &mut Vec<u8>, value: f32) {
    use std::io::Write as _;
    let _ = write!(out, "{value}");
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
/// Howard Hinnant's `civil_from_days` (<https://howardhinnant.github.io/date_algorithms.html>), exact for all i64
/// inputs that do not overflow.
#[inline]
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DD`; years outside 0000–9999 are written in full with their sign (ISO 8601 expanded form).
#[inline]
pub(crate) fn write_date(out: &mut Vec<u8>, days: i64) {
    let (year, month, day) = civil_from_days(days);
    if (0..=9999).contains(&year) {
        let year = year as u32;
        write_2digits(out, year / 100);
        write_2digits(out, year % 100);
    } else {
        if year > 0 {
            out.push(b'+');
        }
        write_i64(out, year);
    }
    out.push(b'-');
    write_2digits(out, month);
    out.push(b'-');
    write_2digits(out, day);
}

/// `HH:MM:SS` plus `.fraction` when the fraction is not zero, trimmed of trailing zeros.
/// `seconds` is the second of the day; `fraction` has `digits` decimal digits (3, 6 or 9).
#[inline]
pub(crate) fn write_time_of_day(out: &mut Vec<u8>, seconds: i64, fraction: u32, digits: u32) {
    let hours = seconds / 3600;
    if (0..100).contains(&hours) {
        write_2digits(out, hours as u32);
    } else {
        write_i64(out, hours);
    }
    out.push(b':');
    write_2digits(out, (seconds / 60 % 60) as u32);
    out.push(b':');
    write_2digits(out, (seconds % 60) as u32);
    write_fraction(out, fraction, digits);
}

#[inline]
fn write_fraction(out: &mut Vec<u8>, mut fraction: u32, mut digits: u32) {
    if fraction == 0 {
        return;
    }
    while fraction.is_multiple_of(10) {
        fraction /= 10;
        digits -= 1;
    }
    out.push(b'.');
    let mut buf = [b'0'; 9];
    let mut i = digits as usize;
    while i > 0 {
        i -= 1;
        buf[i] = b'0' + (fraction % 10) as u8;
        fraction /= 10;
    }
    out.extend_from_slice(&buf[..digits as usize]);
}

/// `YYYY-MM-DDTHH:MM:SS[.fff]`, then `±HH:MM` when an offset is given (RFC 3339). `seconds` are local seconds since
/// the epoch (UTC seconds plus the offset).
#[inline]
pub(crate) fn write_datetime(out: &mut Vec<u8>, seconds: i64, fraction: u32, digits: u32, offset: Option<i32>) {
    write_date(out, seconds.div_euclid(86_400));
    out.push(b'T');
    write_time_of_day(out, seconds.rem_euclid(86_400), fraction, digits);
    if let Some(offset) = offset {
        out.push(if offset < 0 { b'-' } else { b'+' });
        let minutes = offset.unsigned_abs() / 60;
        write_2digits(out, minutes / 60);
        out.push(b':');
        write_2digits(out, minutes % 60);
    }
}

/// What a byte needs inside a JSON string: 0 = nothing, `u` = `\u00XX`, else the letter after the backslash.
static JSON_ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = b'u';
        i += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A JSON string literal (RFC 8259): quotes, backslashes and control characters escaped, everything else
/// (including non-ASCII UTF-8 such as Chinese) copied as is, in runs.
#[inline]
pub(crate) fn write_json_str(out: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        let escape = JSON_ESCAPE[byte as usize];
        if escape == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        if escape == b'u' {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(byte >> 4) as usize]);
            out.push(HEX[(byte & 0xf) as usize]);
        } else {
            out.push(b'\\');
            out.push(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Bytes that force a CSV cell to be quoted (RFC 4180 §2.6 plus `\r`).
static CSV_SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    table[b',' as usize] = true;
    table[b'"' as usize] = true;
    table[b'\n' as usize] = true;
    table[b'\r' as usize] = true;
    table
};

/// A CSV cell: as is, or in double quotes with inner quotes doubled (RFC 4180) when it contains a comma, a quote,
/// a line break, or starts or ends with a space or tab (which spreadsheet programs would otherwise trim).
#[inline]
pub(crate) fn write_csv_str(out: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    let padded = matches!(bytes.first(), Some(b' ' | b'\t')) || matches!(bytes.last(), Some(b' ' | b'\t'));
    if !padded && !bytes.iter().any(|&b| CSV_SPECIAL[b as usize]) {
        out.extend_from_slice(bytes);
        return;
    }
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        if byte == b'"' {
            out.extend_from_slice(&bytes[start..=i]);
            out.push(b'"');
            start = i + 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn floats_match_rust_display() {
        let mut values = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            0.2,
            0.3,
            1.5,
            3.0,
            100.0,
            1e15,
            1e16,
            1e21,
            1e22,
            1e-5,
            1e-6,
            1e-7,
            1.0e-300,
            5e-324,
            1.7976931348623157e308,
            120.316249,
            22.658374,
            123456789012345.6,
            0.000012345,
            2.5e-5,
            9999999999999998.0,
            4503599627370497.0,
        ];
        // A deterministic spread over many magnitudes and bit patterns.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let value = f64::from_bits(state);
            if value.is_finite() {
                values.push(value);
            }
            values.push((state % 10_000_000) as f64 / 1000.0);
            values.push((state % 1_000_000_000) as f64 / 1e6 + 120.0);
            // Values whose last bits make exact ties between two shortest candidates likely.
            let exp = (state % 2000) as f64 / 100.0 - 5.0;
            values.push(f64::from_bits((10f64.powf(exp)).to_bits() ^ ((state >> 40) & 0xff)));
        }
        for value in values {
            assert_eq!(text(|o| write_f64(o, value)), format!("{value}"), "bits {:x}", value.to_bits());
        }
    }

    #[test]
    fn dates_match_chrono() {
        for days in (-800_000..3_000_000).step_by(37) {
            let expected = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Duration::days(days);
            let expected = expected.format("%Y-%m-%d").to_string();
            let expected = if expected.starts_with('+') || expected.starts_with('-') {
                continue;
            } else {
                expected
            };
            assert_eq!(text(|o| write_date(o, days)), expected);
        }
    }

    #[test]
    fn times_trim_fraction() {
        assert_eq!(text(|o| write_time_of_day(o, 8 * 3600 + 30 * 60, 0, 6)), "08:30:00");
        assert_eq!(text(|o| write_time_of_day(o, 59, 500_000, 6)), "00:00:59.5");
        assert_eq!(text(|o| write_time_of_day(o, 86_399, 1, 6)), "23:59:59.000001");
        assert_eq!(text(|o| write_time_of_day(o, 1, 120, 9)), "00:00:01.00000012");
    }

    #[test]
    fn json_strings_escape_controls_and_keep_chinese() {
        assert_eq!(text(|o| write_json_str(o, "a\"b\\c\nd\u{1}臺北")), r#""a\"b\\c\nd\u0001臺北""#);
    }

    #[test]
    fn csv_cells_quote_when_needed() {
        assert_eq!(text(|o| write_csv_str(o, "plain 文字")), "plain 文字");
        assert_eq!(text(|o| write_csv_str(o, "a,b")), "\"a,b\"");
        assert_eq!(text(|o| write_csv_str(o, "say \"hi\"")), "\"say \"\"hi\"\"\"");
        assert_eq!(text(|o| write_csv_str(o, " lead")), "\" lead\"");
        assert_eq!(text(|o| write_csv_str(o, "line\r\nbreak")), "\"line\r\nbreak\"");
    }
}
