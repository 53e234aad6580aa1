//! One column ready to be written cell by cell as JSON or CSV text.
//!
//! A [`ColumnWriter`] is built once per column (downcast once, typed arrays cloned — an `Arc` bump, no copy) and
//! then writes any row. Value rendering is defined here and only here, so every format agrees:
//!
//! | Arrow type | JSON | CSV |
//! |---|---|---|
//! | integers | number | digits |
//! | Float64 / Float32 | shortest round-trip decimal, never exponent notation; NaN/±inf → `null` | same; NaN/±inf → empty |
//! | Boolean | `true` / `false` | `true` / `false` |
//! | Date32 / Date64 | `"YYYY-MM-DD"` | `YYYY-MM-DD` |
//! | Time32 / Time64 | `"HH:MM:SS[.ffffff]"` (fraction only if non-zero, trailing zeros trimmed) | same, unquoted |
//! | Timestamp with time zone | RFC 3339 in that zone, `"2016-01-01T08:30:00+08:00"` | same, unquoted |
//! | Timestamp without time zone | `"YYYY-MM-DDTHH:MM:SS[.fff]"` | same, unquoted |
//! | Utf8 / LargeUtf8 / Utf8View | string | text, RFC 4180 quoting |
//! | Decimal128 / Decimal256 | number (exact decimal text) | same |
//! | Dictionary | as its values | as its values |
//! | anything else (lists, structs, intervals …) | arrow's display text as a string | same |
//! | null | `null` | empty cell |

use arrow::array::timezone::Tz;
use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, LargeStringArray, StringArray, StringBuilder, StringViewArray,
};
use arrow::buffer::{NullBuffer, ScalarBuffer};
use arrow::datatypes::{
    DataType, Date32Type, Float32Type, Float64Type, Int64Type, Time64MicrosecondType, Time64NanosecondType, TimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt64Type,
};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use chrono::{Offset, TimeZone};

use super::text;
use crate::QueryError;

/// The typed data of one column.
enum Kind {
    /// All values null (`DataType::Null`).
    Null,
    Int64(ScalarBuffer<i64>),
    UInt64(ScalarBuffer<u64>),
    Float64(ScalarBuffer<f64>),
    Float32(ScalarBuffer<f32>),
    Boolean(BooleanArray),
    /// Days since the epoch.
    Date32(ScalarBuffer<i32>),
    /// Time of day in units of 10^-digits seconds.
    Time {
        values: ScalarBuffer<i64>,
        per_second: i64,
        digits: u32,
    },
    /// Since the epoch in units of 10^-digits seconds; with the zone to render in, if any.
    Timestamp {
        values: ScalarBuffer<i64>,
        per_second: i64,
        digits: u32,
        tz: Option<Tz>,
    },
    Utf8(StringArray),
    LargeUtf8(LargeStringArray),
    Utf8View(StringViewArray),
    /// Exact decimal text (from Decimal128/256), written unquoted in JSON.
    NumberText(StringArray),
    /// Display text of any other type, written as a string.
    Text(StringArray),
}

/// One column, downcast once, able to write any of its rows.
pub(crate) struct ColumnWriter {
    nulls: Option<NullBuffer>,
    kind: Kind,
}

impl ColumnWriter {
    /// Whether `data_type` is written without converting the array first (O(1) to prepare). Other types are
    /// converted over the whole array, so callers should cut the array down to the rows they need first.
    pub(crate) fn is_direct(data_type: &DataType) -> bool {
        matches!(
            data_type,
            DataType::Null
                | DataType::Int64
                | DataType::UInt64
                | DataType::Float64
                | DataType::Float32
                | DataType::Boolean
                | DataType::Date32
                | DataType::Time64(_)
                | DataType::Timestamp(_, _)
                | DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
        )
    }

    pub(crate) fn new(array: &ArrayRef) -> Result<Self, QueryError> {
        let nulls = array.logical_nulls();
        let kind = match array.data_type() {
            DataType::Null => Kind::Null,
            DataType::Int64 => Kind::Int64(array.as_primitive::<Int64Type>().values().clone()),
            DataType::UInt64 => Kind::UInt64(array.as_primitive::<UInt64Type>().values().clone()),
            DataType::Float64 => Kind::Float64(array.as_primitive::<Float64Type>().values().clone()),
            DataType::Float32 => Kind::Float32(array.as_primitive::<Float32Type>().values().clone()),
            DataType::Boolean => Kind::Boolean(array.as_boolean().clone()),
            DataType::Date32 => Kind::Date32(array.as_primitive::<Date32Type>().values().clone()),
            DataType::Time64(unit) => {
                let (per_second, digits) = unit_scale(unit);
                let values = match unit {
                    TimeUnit::Nanosecond => array.as_primitive::<Time64NanosecondType>().values().clone(),
                    _ => array.as_primitive::<Time64MicrosecondType>().values().clone(),
                };
                Kind::Time { values, per_second, digits }
            }
            DataType::Timestamp(unit, tz) => {
                let (per_second, digits) = unit_scale(unit);
                let tz =
                    match tz {
                        Some(name) => Some(name.parse::<Tz>().map_err(|e| {
                            QueryError::Internal(format!("column has an unknown time zone {name:?}: {e}"))
                        })?),
                        None => None,
                    };
                let values = match unit {
                    TimeUnit::Second => array.as_primitive::<TimestampSecondType>().values().clone(),
                    TimeUnit::Millisecond => array.as_primitive::<TimestampMillisecondType>().values().clone(),
                    TimeUnit::Microsecond => array.as_primitive::<TimestampMicrosecondType>().values().clone(),
                    TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().values().clone(),
                };
                Kind::Timestamp { values, per_second, digits, tz }
            }
            DataType::Utf8 => Kind::Utf8(array.as_string::<i32>().clone()),
            DataType::LargeUtf8 => Kind::LargeUtf8(array.as_string::<i64>().clone()),
            DataType::Utf8View => Kind::Utf8View(array.as_string_view().clone()),
            // Narrower integers (from SQL) are widened once; exact.
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32 => return ColumnWriter::new(&cast(array, &DataType::Int64)?),
            DataType::Float16 => return ColumnWriter::new(&cast(array, &DataType::Float32)?),
            DataType::Date64 => return ColumnWriter::new(&cast(array, &DataType::Date32)?),
            DataType::Time32(_) => {
                return ColumnWriter::new(&cast(array, &DataType::Time64(TimeUnit::Nanosecond))?);
            }
            DataType::Dictionary(_, value_type) => return ColumnWriter::new(&cast(array, value_type)?),
            DataType::Decimal32(_, _)
            | DataType::Decimal64(_, _)
            | DataType::Decimal128(_, _)
            | DataType::Decimal256(_, _) => Kind::NumberText(display_strings(array)?),
            _ => Kind::Text(display_strings(array)?),
        };
        Ok(ColumnWriter { nulls, kind })
    }

    #[inline]
    pub(crate) fn is_null(&self, row: usize) -> bool {
        matches!(self.kind, Kind::Null) || self.nulls.as_ref().is_some_and(|nulls| nulls.is_null(row))
    }

    /// The value as a JSON number for coordinates; None for null, NaN or a non-numeric column.
    #[inline]
    pub(crate) fn write_coordinate(&self, out: &mut Vec<u8>, row: usize) -> bool {
        if self.is_null(row) {
            return false;
        }
        match &self.kind {
            Kind::Float64(values) if values[row].is_finite() => text::write_f64(out, values[row]),
            Kind::Int64(values) => text::write_i64(out, values[row]),
            _ => return false,
        }
        true
    }

    /// True if the row has a coordinate [`write_coordinate`](Self::write_coordinate) would write.
    #[inline]
    pub(crate) fn has_coordinate(&self, row: usize) -> bool {
        !self.is_null(row)
            && match &self.kind {
                Kind::Float64(values) => values[row].is_finite(),
                Kind::Int64(_) => true,
                _ => false,
            }
    }

    /// Writes the value at `row` as a JSON value.
    #[inline]
    pub(crate) fn write_json(&self, out: &mut Vec<u8>, row: usize) {
        if self.is_null(row) {
            out.extend_from_slice(b"null");
            return;
        }
        match &self.kind {
            Kind::Null => out.extend_from_slice(b"null"),
            Kind::Int64(values) => text::write_i64(out, values[row]),
            Kind::UInt64(values) => text::write_u64(out, values[row]),
            Kind::Float64(values) => {
                let value = values[row];
                if value.is_finite() {
                    text::write_f64(out, value);
                } else {
                    out.extend_from_slice(b"null");
                }
            }
            Kind::Float32(values) => {
                let value = values[row];
                if value.is_finite() {
                    text::write_f32(out, value);
                } else {
                    out.extend_from_slice(b"null");
                }
            }
            Kind::Boolean(values) => {
                out.extend_from_slice(if values.value(row) { b"true" } else { b"false" });
            }
            Kind::NumberText(values) => out.extend_from_slice(values.value(row).as_bytes()),
            Kind::Utf8(values) => text::write_json_str(out, values.value(row)),
            Kind::LargeUtf8(values) => text::write_json_str(out, values.value(row)),
            Kind::Utf8View(values) => text::write_json_str(out, values.value(row)),
            Kind::Text(values) => text::write_json_str(out, values.value(row)),
            Kind::Date32(_) | Kind::Time { .. } | Kind::Timestamp { .. } => {
                // Their text never needs escaping.
                out.push(b'"');
                self.write_temporal(out, row);
                out.push(b'"');
            }
        }
    }

    /// Writes the value at `row` as a CSV cell (empty for null).
    #[inline]
    pub(crate) fn write_csv(&self, out: &mut Vec<u8>, row: usize) {
        if self.is_null(row) {
            return;
        }
        match &self.kind {
            Kind::Null => {}
            Kind::Int64(values) => text::write_i64(out, values[row]),
            Kind::UInt64(values) => text::write_u64(out, values[row]),
            Kind::Float64(values) => {
                let value = values[row];
                if value.is_finite() {
                    text::write_f64(out, value);
                }
            }
            Kind::Float32(values) => {
                let value = values[row];
                if value.is_finite() {
                    text::write_f32(out, value);
                }
            }
            Kind::Boolean(values) => {
                out.extend_from_slice(if values.value(row) { b"true" } else { b"false" });
            }
            Kind::NumberText(values) => out.extend_from_slice(values.value(row).as_bytes()),
            Kind::Utf8(values) => text::write_csv_str(out, values.value(row)),
            Kind::LargeUtf8(values) => text::write_csv_str(out, values.value(row)),
            Kind::Utf8View(values) => text::write_csv_str(out, values.value(row)),
            Kind::Text(values) => text::write_csv_str(out, values.value(row)),
            Kind::Date32(_) | Kind::Time { .. } | Kind::Timestamp { .. } => self.write_temporal(out, row),
        }
    }

    #[inline]
    fn write_temporal(&self, out: &mut Vec<u8>, row: usize) {
        match &self.kind {
            Kind::Date32(values) => text::write_date(out, i64::from(values[row])),
            Kind::Time { values, per_second, digits } => {
                let value = values[row];
                let fraction = value.rem_euclid(*per_second) as u32;
                text::write_time_of_day(out, value.div_euclid(*per_second), fraction, *digits);
            }
            Kind::Timestamp { values, per_second, digits, tz } => {
                let value = values[row];
                let seconds = value.div_euclid(*per_second);
                let fraction = value.rem_euclid(*per_second) as u32;
                match tz {
                    Some(tz) => {
                        let offset = utc_offset(tz, seconds);
                        text::write_datetime(out, seconds + i64::from(offset), fraction, *digits, Some(offset));
                    }
                    None => text::write_datetime(out, seconds, fraction, *digits, None),
                }
            }
            _ => {}
        }
    }
}

/// The zone's offset from UTC at `seconds` past the epoch, rounded to whole minutes (RFC 3339 offsets have no
/// seconds; rounding the local time by the same amount keeps the text naming the same instant, which matters only
/// for local mean times before 1900). Out-of-range instants use UTC.
#[inline]
fn utc_offset(tz: &Tz, seconds: i64) -> i32 {
    match chrono::DateTime::from_timestamp(seconds, 0) {
        Some(utc) => {
            let offset = tz.offset_from_utc_datetime(&utc.naive_utc()).fix().local_minus_utc();
            (offset + if offset >= 0 { 30 } else { -30 }) / 60 * 60
        }
        None => 0,
    }
}

fn unit_scale(unit: &TimeUnit) -> (i64, u32) {
    match unit {
        TimeUnit::Second => (1, 0),
        TimeUnit::Millisecond => (1_000, 3),
        TimeUnit::Microsecond => (1_000_000, 6),
        TimeUnit::Nanosecond => (1_000_000_000, 9),
    }
}

fn cast(array: &ArrayRef, to: &DataType) -> Result<ArrayRef, QueryError> {
    arrow::compute::cast(array, to)
        .map_err(|e| QueryError::Internal(format!("cannot convert {} to {to} for output: {e}", array.data_type())))
}

/// The display text of every value of an array of an unusual type (lists, intervals …), computed once.
fn display_strings(array: &ArrayRef) -> Result<StringArray, QueryError> {
    let options = FormatOptions::default();
    let formatter = ArrayFormatter::try_new(array.as_ref(), &options)
        .map_err(|e| QueryError::Internal(format!("cannot display {}: {e}", array.data_type())))?;
    let mut builder = StringBuilder::with_capacity(array.len(), array.len() * 8);
    let mut cell = String::new();
    for row in 0..array.len() {
        if array.is_null(row) {
            builder.append_null();
            continue;
        }
        cell.clear();
        use std::fmt::Write as _;
        write!(cell, "{}", formatter.value(row))
            .map_err(|_| QueryError::Internal(format!("cannot display a {} value", array.data_type())))?;
        builder.append_value(&cell);
    }
    Ok(builder.finish())
}
