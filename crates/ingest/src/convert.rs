//! Pass 2: text cells to typed Arrow columns through each column's reading (decided by [`crate::infer`]), every
//! changed cell counted in the transform log, and each column's statistics gathered on the way.
//!
//! A cell goes: cell-level rules (`trim`, `excel_guard`, `fullwidth`) → declared sentinel? → the plain grammar of
//! the column's type (the fast path: most cells stop here) → missing-value marker? → the reading's normalizer
//! (thousands separators, currency, percent, ROC and local dates) → else null with a logged reason (`invalid_date`,
//! `type_mismatch` for a forced type) or, for a cell pass 1 accepted, an error: the file changed in between. WGS84
//! columns derived from TWD97 ones are computed per row from their source cells.
//!
//! The log is kept per column and rule while the pass runs (a counter and up to
//! [`tapwater_types::TRANSFORM_EXAMPLES`] examples) and merged into the [`TransformLog`] once at the end.
//!
//! Statistics use bounded memory: null counts and min/max are running values; distinct values are remembered only
//! up to [`DISTINCT_LIMIT`], after which the count is given up (`None`) and the set is freed.

use std::collections::HashSet;

use std::sync::Arc;

use arrow::array::builder::NullBufferBuilder;
use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringArray, Time64MicrosecondBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use arrow::compute;
use std::io::Write;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use tapwater_types::{
    ColumnStats, FieldType, LOCAL_TIME_ZONE, TRANSFORM_EXAMPLES, TableSchema, TransformExample, TransformLog,
};

use crate::infer::{ColumnPlan, Inferred, Origin, Plan, Reading};
use crate::normalize::dates::{self, Calendar, DateValue};
use crate::normalize::{self, Rules, geo};
use crate::source::RecordSource;
use crate::value::{self, LocalZone};
use crate::{IngestError, MAX_BATCH_BYTES, MalformedKind, Reporter};

/// Distinct counts are exact up to this many values per column.
pub(crate) const DISTINCT_LIMIT: usize = 10_000;

/// Text bytes reserved per cell of a text column, before the first batch shows the real size.
const TEXT_BYTES_PER_CELL: usize = 16;

enum Builder {
    Integer(Int64Builder),
    Decimal(Float64Builder),
    Boolean(BooleanBuilder),
    Date(Date32Builder),
    Time(Time64MicrosecondBuilder),
    Datetime(TimestampMicrosecondBuilder),
    Text(TextBuilder),
}

/// A string column built from bytes: UTF-8 is checked once per batch over the whole buffer when the array is made
/// (`StringArray::try_new`), instead of once per cell.
struct TextBuilder {
    values: Vec<u8>,
    offsets: Vec<i32>,
    nulls: NullBufferBuilder,
    /// Span of the previous row's value when it was not null, to skip the distinct-set lookup for repeats.
    previous: Option<(usize, usize)>,
}

impl TextBuilder {
    fn with_capacity(rows: usize, bytes: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        TextBuilder { values: Vec::with_capacity(bytes), offsets, nulls: NullBufferBuilder::new(rows), previous: None }
    }

    fn append_null(&mut self) {
        self.offsets.push(self.offsets.last().copied().unwrap_or(0));
        self.nulls.append_null();
        self.previous = None;
    }

    /// Appends a value; returns whether it repeats the previous row's, or `None` when the batch would pass the
    /// 2 GiB an Arrow `Utf8` array can address.
    fn append(&mut self, value: &[u8]) -> Option<bool> {
        let start = self.values.len();
        let end = i32::try_from(start + value.len()).ok()?;
        let repeat = self.previous.is_some_and(|(a, b)| self.values[a..b] == *value);
        self.values.extend_from_slice(value);
        self.offsets.push(end);
        self.nulls.append_non_null();
        self.previous = Some((start, self.values.len()));
        Some(repeat)
    }

    fn finish(self) -> Result<StringArray, arrow::error::ArrowError> {
        let offsets = OffsetBuffer::new(ScalarBuffer::from(self.offsets));
        let mut nulls = self.nulls;
        StringArray::try_new(offsets, Buffer::from_vec(self.values), nulls.finish())
    }
}

impl Builder {
    fn new(field_type: FieldType, rows: usize, text_bytes: usize) -> Self {
        match field_type {
            FieldType::Integer => Builder::Integer(Int64Builder::with_capacity(rows)),
            FieldType::Decimal => Builder::Decimal(Float64Builder::with_capacity(rows)),
            FieldType::Boolean => Builder::Boolean(BooleanBuilder::with_capacity(rows)),
            FieldType::Date => Builder::Date(Date32Builder::with_capacity(rows)),
            FieldType::Time => Builder::Time(Time64MicrosecondBuilder::with_capacity(rows)),
            FieldType::Datetime => {
                Builder::Datetime(TimestampMicrosecondBuilder::with_capacity(rows).with_timezone(LOCAL_TIME_ZONE))
            }
            FieldType::Text => Builder::Text(TextBuilder::with_capacity(rows, text_bytes)),
        }
    }
}

/// Running minimum and maximum.
struct Extremes<T> {
    min: Option<T>,
    max: Option<T>,
}

impl<T> Default for Extremes<T> {
    fn default() -> Self {
        Extremes { min: None, max: None }
    }
}

impl<T: PartialOrd> Extremes<T> {
    fn update(&mut self, min: Option<T>, max: Option<T>) {
        if let Some(v) = min
            && self.min.as_ref().is_none_or(|m| v < *m)
        {
            self.min = Some(v);
        }
        if let Some(v) = max
            && self.max.as_ref().is_none_or(|m| v > *m)
        {
            self.max = Some(v);
        }
    }
}

/// Distinct non-null values seen so far, until there are too many to care.
enum Distinct {
    /// Integers, dates, times, date-times, booleans and decimals (as bits), all fit 64 bits. `previous` skips the
    /// lookup for runs of one value (government files are often sorted by district, year …).
    Values {
        set: HashSet<u64, FastHash>,
        previous: Option<u64>,
    },
    /// Text, as bytes (checked to be UTF-8 with the batch). Values of up to 16 bytes (most codes and names: 三民區 is
    /// 9) are packed into two words and their length, so a lookup needs no heap and no `memcmp`.
    Texts {
        short: HashSet<(u64, u64, u8), FastHash>,
        long: HashSet<Box<[u8]>, FastHash>,
    },
    TooMany,
}

impl Distinct {
    #[inline]
    fn insert_value(&mut self, v: u64) {
        if let Distinct::Values { set, previous } = self
            && *previous != Some(v)
        {
            *previous = Some(v);
            if set.insert(v) && set.len() > DISTINCT_LIMIT {
                *self = Distinct::TooMany;
            }
        }
    }

    #[inline]
    fn insert_text(&mut self, s: &[u8]) {
        if let Distinct::Texts { short, long } = self {
            let added = match pack_short(s) {
                Some(packed) => short.insert(packed),
                None if long.contains(s) => false,
                None => long.insert(s.into()),
            };
            if added && short.len() + long.len() > DISTINCT_LIMIT {
                *self = Distinct::TooMany;
            }
        }
    }

    fn count(&self) -> Option<u64> {
        match self {
            Distinct::Values { set, .. } => Some(set.len() as u64),
            Distinct::Texts { short, long } => Some((short.len() + long.len()) as u64),
            Distinct::TooMany => None,
        }
    }
}

/// Up to 16 bytes as two little-endian words and the length (so `a` and `a\0` differ).
#[inline]
fn pack_short(s: &[u8]) -> Option<(u64, u64, u8)> {
    if s.len() > 16 {
        return None;
    }
    let mut buf = [0u8; 16];
    buf[..s.len()].copy_from_slice(s);
    let (lo, hi) = buf.split_at(8);
    let word = |b: &[u8]| b.try_into().map_or(0, u64::from_le_bytes);
    Some((word(lo), word(hi), s.len() as u8))
}

/// Why a cell could not be appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CellProblem {
    /// It does not parse as the column's type: the file changed since the inference pass.
    DoesNotParse,
    /// Text past what one Arrow batch can hold (2 GiB).
    TooLarge,
}

/// rustc's FxHash: much faster than SipHash for the short keys here. Sets are capped at [`DISTINCT_LIMIT`] entries,
/// which bounds the cost of any crafted collisions.
type FastHash = rustc_hash::FxBuildHasher;

/// Builds one column batch by batch and keeps its statistics.
pub(crate) struct ColumnConverter {
    name: String,
    field_type: FieldType,
    builder: Builder,
    batch_rows: usize,
    null_count: u64,
    distinct: Distinct,
    integers: Extremes<i64>,
    decimals: Extremes<f64>,
    booleans: Extremes<bool>,
    texts: Extremes<String>,
}

impl ColumnConverter {
    pub(crate) fn new(name: &str, field_type: FieldType, batch_rows: usize) -> Self {
        let distinct = match field_type {
            FieldType::Text => Distinct::Texts { short: HashSet::default(), long: HashSet::default() },
            _ => Distinct::Values { set: HashSet::default(), previous: None },
        };
        ColumnConverter {
            name: name.to_string(),
            field_type,
            builder: Builder::new(field_type, batch_rows, batch_rows * TEXT_BYTES_PER_CELL),
            batch_rows,
            null_count: 0,
            distinct,
            integers: Extremes::default(),
            decimals: Extremes::default(),
            booleans: Extremes::default(),
            texts: Extremes::default(),
        }
    }

    /// Appends one cell, parsed by the plain grammar of the column's type (tests; pass 2 parses through the
    /// column's reading and appends typed values).
    #[cfg(test)]
    pub(crate) fn push(&mut self, cell: Option<&[u8]>, zone: &mut LocalZone) -> Result<(), CellProblem> {
        let Some(b) = cell else {
            self.push_null();
            return Ok(());
        };
        let bad = CellProblem::DoesNotParse;
        match self.field_type {
            FieldType::Integer => self.push_integer(value::integer(b).ok_or(bad)?),
            FieldType::Decimal => self.push_decimal(value::decimal(b).ok_or(bad)?),
            FieldType::Boolean => self.push_boolean(value::boolean(b).ok_or(bad)?),
            FieldType::Date => self.push_date(value::date(b).ok_or(bad)?),
            FieldType::Time => self.push_time(value::time(b).ok_or(bad)?),
            FieldType::Datetime => self.push_datetime(value::datetime(b, zone).ok_or(bad)?),
            FieldType::Text => return self.push_text(b),
        }
        Ok(())
    }

    #[inline]
    pub(crate) fn push_null(&mut self) {
        self.null_count += 1;
        match &mut self.builder {
            Builder::Integer(x) => x.append_null(),
            Builder::Decimal(x) => x.append_null(),
            Builder::Boolean(x) => x.append_null(),
            Builder::Date(x) => x.append_null(),
            Builder::Time(x) => x.append_null(),
            Builder::Datetime(x) => x.append_null(),
            Builder::Text(x) => x.append_null(),
        }
    }

    // The typed appends below are called only with the builder of the column's own type (pass 2 reads a cell by
    // its column's reading); a mismatch would be a bug, which appends nothing rather than panicking.

    #[inline]
    pub(crate) fn push_integer(&mut self, v: i64) {
        if let Builder::Integer(x) = &mut self.builder {
            x.append_value(v);
            self.distinct.insert_value(v as u64);
        }
    }

    #[inline]
    pub(crate) fn push_decimal(&mut self, v: f64) {
        if let Builder::Decimal(x) = &mut self.builder {
            x.append_value(v);
            // -0.0 and 0.0 are one value.
            self.distinct.insert_value((v + 0.0).to_bits());
        }
    }

    #[inline]
    pub(crate) fn push_boolean(&mut self, v: bool) {
        if let Builder::Boolean(x) = &mut self.builder {
            x.append_value(v);
            self.distinct.insert_value(u64::from(v));
        }
    }

    #[inline]
    pub(crate) fn push_date(&mut self, v: i32) {
        if let Builder::Date(x) = &mut self.builder {
            x.append_value(v);
            self.distinct.insert_value(v as u64);
        }
    }

    #[inline]
    pub(crate) fn push_time(&mut self, v: i64) {
        if let Builder::Time(x) = &mut self.builder {
            x.append_value(v);
            self.distinct.insert_value(v as u64);
        }
    }

    #[inline]
    pub(crate) fn push_datetime(&mut self, v: i64) {
        if let Builder::Datetime(x) = &mut self.builder {
            x.append_value(v);
            self.distinct.insert_value(v as u64);
        }
    }

    #[inline]
    pub(crate) fn push_text(&mut self, b: &[u8]) -> Result<(), CellProblem> {
        if let Builder::Text(x) = &mut self.builder {
            let repeat = x.append(b).ok_or(CellProblem::TooLarge)?;
            if !repeat {
                self.distinct.insert_text(b);
            }
        }
        Ok(())
    }

    /// The column's cells since the last call, as an Arrow array; updates min and max. Fails when a text cell is
    /// not UTF-8 (possible only if the file changed since the inference pass checked every cell).
    pub(crate) fn finish_batch(&mut self) -> Result<ArrayRef, arrow::error::ArrowError> {
        let text_bytes = match &self.builder {
            // Size the next batch's text buffer like this one's, so it rarely grows.
            Builder::Text(x) => x.values.len() + x.values.len() / 8,
            _ => 0,
        };
        let fresh = Builder::new(self.field_type, self.batch_rows, text_bytes);
        Ok(match std::mem::replace(&mut self.builder, fresh) {
            Builder::Integer(mut x) => {
                let a = x.finish();
                self.integers.update(compute::min(&a), compute::max(&a));
                Arc::new(a)
            }
            Builder::Decimal(mut x) => {
                let a = x.finish();
                self.decimals.update(compute::min(&a), compute::max(&a));
                Arc::new(a)
            }
            Builder::Boolean(mut x) => {
                let a = x.finish();
                self.booleans.update(compute::min_boolean(&a), compute::max_boolean(&a));
                Arc::new(a)
            }
            Builder::Date(mut x) => {
                let a = x.finish();
                self.integers.update(compute::min(&a).map(i64::from), compute::max(&a).map(i64::from));
                Arc::new(a)
            }
            Builder::Time(mut x) => {
                let a = x.finish();
                self.integers.update(compute::min(&a), compute::max(&a));
                Arc::new(a)
            }
            Builder::Datetime(mut x) => {
                let a = x.finish();
                self.integers.update(compute::min(&a), compute::max(&a));
                Arc::new(a)
            }
            Builder::Text(x) => {
                let a = x.finish()?;
                let (min, max) = (compute::min_string(&a), compute::max_string(&a));
                let smaller = min.filter(|m| self.texts.min.as_deref().is_none_or(|cur| *m < cur));
                let larger = max.filter(|m| self.texts.max.as_deref().is_none_or(|cur| *m > cur));
                self.texts.update(smaller.map(str::to_string), larger.map(str::to_string));
                Arc::new(a)
            }
        })
    }

    /// The column's statistics after the last batch.
    pub(crate) fn stats(&self) -> ColumnStats {
        let render = |f: &dyn Fn(i64) -> String| (self.integers.min.map(f), self.integers.max.map(f));
        let (min, max) = match self.field_type {
            FieldType::Integer => render(&|v| v.to_string()),
            FieldType::Date => render(&|v| value::render_date(v as i32)),
            FieldType::Time => render(&value::render_time),
            FieldType::Datetime => render(&value::render_datetime),
            FieldType::Decimal => {
                (self.decimals.min.map(value::render_decimal), self.decimals.max.map(value::render_decimal))
            }
            FieldType::Boolean => (self.booleans.min.map(|b| b.to_string()), self.booleans.max.map(|b| b.to_string())),
            FieldType::Text => (self.texts.min.clone(), self.texts.max.clone()),
        };
        ColumnStats {
            name: self.name.clone(),
            null_count: self.null_count,
            min,
            max,
            distinct_count: self.distinct.count(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats_of(field_type: FieldType, cells: &[Option<&str>], batch_rows: usize) -> ColumnStats {
        let mut zone = LocalZone::new();
        let mut column = ColumnConverter::new("c", field_type, batch_rows);
        for (i, cell) in cells.iter().enumerate() {
            assert_eq!(column.push(cell.map(str::as_bytes), &mut zone), Ok(()), "{cell:?}");
            if (i + 1) % batch_rows == 0 {
                column.finish_batch().unwrap();
            }
        }
        column.finish_batch().unwrap();
        column.stats()
    }

    #[test]
    fn statistics_are_rendered_as_the_api_renders_values() {
        let s = stats_of(FieldType::Integer, &[Some("5"), None, Some("-3"), Some("5"), Some("12")], 2);
        assert_eq!(
            (s.null_count, s.min.as_deref(), s.max.as_deref(), s.distinct_count),
            (1, Some("-3"), Some("12"), Some(3))
        );

        let s = stats_of(FieldType::Decimal, &[Some("1.50"), Some("-2.5"), Some("1.5"), Some("22.593344")], 3);
        assert_eq!((s.min.as_deref(), s.max.as_deref(), s.distinct_count), (Some("-2.5"), Some("22.593344"), Some(3)));
        let s = stats_of(FieldType::Decimal, &[Some("-0"), Some("0"), Some("0.0")], 3);
        assert_eq!(s.distinct_count, Some(1), "-0 and 0 are one value");

        let s = stats_of(FieldType::Date, &[Some("2016-02-29"), Some("2015-01-01")], 1);
        assert_eq!((s.min.as_deref(), s.max.as_deref()), (Some("2015-01-01"), Some("2016-02-29")));

        let s = stats_of(FieldType::Time, &[Some("08:20"), Some("23:59:59.5")], 10);
        assert_eq!((s.min.as_deref(), s.max.as_deref()), (Some("08:20:00"), Some("23:59:59.500000")));

        let s = stats_of(FieldType::Datetime, &[Some("2016-01-01T08:30:00"), Some("2016-01-01T00:00:00Z")], 10);
        assert_eq!(
            (s.min.as_deref(), s.max.as_deref()),
            (Some("2016-01-01T08:00:00+08:00"), Some("2016-01-01T08:30:00+08:00"))
        );

        let s = stats_of(FieldType::Boolean, &[Some("TRUE"), Some("false"), None], 10);
        assert_eq!((s.min.as_deref(), s.max.as_deref(), s.null_count), (Some("false"), Some("true"), 1));

        // Text compares by bytes: "Z" < "a" < "三民區" (E4 B8 89) < "鳳山區" (E9 B3 B3).
        let s = stats_of(FieldType::Text, &[Some("鳳山區"), Some("a"), Some("三民區"), Some("Z"), Some("a")], 2);
        assert_eq!((s.min.as_deref(), s.max.as_deref(), s.distinct_count), (Some("Z"), Some("鳳山區"), Some(4)));

        let s = stats_of(FieldType::Text, &[None, None], 10);
        assert_eq!((s.min, s.max, s.null_count, s.distinct_count), (None, None, 2, Some(0)));
    }

    #[test]
    fn distinct_texts_short_and_long_are_counted_exactly() {
        let long = "臺南市安南區".repeat(3);
        let cells = [
            Some("a"),
            Some("a\0"),
            Some("a"),
            Some("0123456789abcdef"),  // 16 bytes: packed
            Some("0123456789abcdefg"), // 17 bytes: kept whole
            Some("0123456789abcdefg"),
            Some(long.as_str()),
            Some(long.as_str()),
            Some("b"),
            Some("a"),
        ];
        assert_eq!(stats_of(FieldType::Text, &cells, 3).distinct_count, Some(6));
    }

    #[test]
    fn distinct_count_is_given_up_past_the_limit() {
        let mut zone = LocalZone::new();
        let mut ints = ColumnConverter::new("n", FieldType::Integer, 4096);
        let mut texts = ColumnConverter::new("t", FieldType::Text, 4096);
        for i in 0..DISTINCT_LIMIT {
            let s = i.to_string();
            ints.push(Some(s.as_bytes()), &mut zone).unwrap();
            texts.push(Some(s.as_bytes()), &mut zone).unwrap();
        }
        assert_eq!(ints.stats().distinct_count, Some(DISTINCT_LIMIT as u64));
        assert_eq!(texts.stats().distinct_count, Some(DISTINCT_LIMIT as u64));
        ints.push(Some(b"-1"), &mut zone).unwrap();
        texts.push(Some(b"x"), &mut zone).unwrap();
        assert_eq!(ints.stats().distinct_count, None);
        assert_eq!(texts.stats().distinct_count, None);
        // Once given up, it stays given up.
        ints.push(Some(b"5"), &mut zone).unwrap();
        assert_eq!(ints.stats().distinct_count, None);
    }

    #[test]
    fn a_cell_that_does_not_parse_is_refused_not_dropped() {
        let mut zone = LocalZone::new();
        let mut column = ColumnConverter::new("n", FieldType::Integer, 8);
        assert_eq!(column.push(Some(b"N/A"), &mut zone), Err(CellProblem::DoesNotParse));
    }

    #[test]
    fn text_that_is_not_utf8_fails_the_batch() {
        let mut zone = LocalZone::new();
        let mut column = ColumnConverter::new("t", FieldType::Text, 8);
        column.push(Some(b"caf\xE9"), &mut zone).unwrap();
        assert!(column.finish_batch().is_err());
    }
}

/// The rules pass 2 records, in the order of [`RULE_NAMES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Trim,
    Fullwidth,
    ExcelGuard,
    MissingValue,
    Sentinel,
    Thousands,
    Currency,
    Percent,
    RocDate,
    RocDatetime,
    RocYearMonth,
    LocalDate,
    InvalidDate,
    TypeMismatch,
    Twd97,
}

/// Names in the transform log (the normalizer names are those of [`tapwater_types::NORMALIZER_RULES`]).
const RULE_NAMES: [&str; 15] = [
    "trim",
    "fullwidth",
    "excel_guard",
    "missing_value",
    "sentinel",
    "thousands",
    "currency",
    "percent",
    "roc_date",
    "roc_datetime",
    "roc_year_month",
    "local_date",
    "invalid_date",
    "type_mismatch",
    "twd97",
];

/// One rule's work on one column during the pass: kept locally and merged into the transform log at the end, so a
/// changed cell costs a counter increment (and, for the first few, an example).
#[derive(Debug, Default)]
struct RuleLog {
    count: u64,
    examples: Vec<TransformExample>,
}

/// A column's rule logs, indexed by [`Rule`].
#[derive(Debug, Default)]
struct ColumnLog {
    rules: [RuleLog; RULE_NAMES.len()],
}

impl ColumnLog {
    #[inline]
    fn record(&mut self, rule: Rule, line: u64, before: &[u8], after: impl FnOnce() -> Option<String>) {
        let r = &mut self.rules[rule as usize];
        r.count += 1;
        if r.examples.len() < TRANSFORM_EXAMPLES {
            r.examples.push(TransformExample {
                row: Some(line),
                before: String::from_utf8_lossy(before).into_owned(),
                after: after(),
            });
        }
    }

    /// Logs what the cell-level rules did (`changed` as [`normalize::clean`] returns it).
    fn record_cleaning(&mut self, changed: u8, line: u64, before: &[u8], after: &[u8]) {
        let text = || Some(String::from_utf8_lossy(after).into_owned());
        for (flag, rule) in [
            (normalize::TRIMMED, Rule::Trim),
            (normalize::GUARDED, Rule::ExcelGuard),
            (normalize::FULLWIDTH, Rule::Fullwidth),
        ] {
            if changed & flag != 0 {
                self.record(rule, line, before, text);
            }
        }
    }

    fn record_marks(&mut self, marks: u8, line: u64, before: &[u8], after: impl Fn() -> String) {
        for (flag, rule) in [
            (normalize::THOUSANDS, Rule::Thousands),
            (normalize::CURRENCY, Rule::Currency),
            (normalize::PERCENT, Rule::Percent),
        ] {
            if marks & flag != 0 {
                self.record(rule, line, before, || Some(after()));
            }
        }
    }
}

/// What every cell's conversion shares: the rules and reused buffers.
struct CellContext<'a> {
    rules: &'a Rules,
    missing_values: &'a [Box<[u8]>],
    zone: LocalZone,
    scratch: Vec<u8>,
}

impl CellContext<'_> {
    /// WGS84 (longitude, latitude) of a row's TWD97 cells, rounded to 1e-7° (about 1 cm); `None` without a
    /// coordinate (empty, `0`, or outside Taiwan's range).
    fn wgs84(&mut self, x: Option<&[u8]>, y: Option<&[u8]>) -> Option<(f64, f64)> {
        let mut number = |cell: Option<&[u8]>| {
            let (c, _) = normalize::clean(cell?, self.rules, &mut self.scratch);
            value::decimal(c).filter(|v| *v != 0.0)
        };
        let (x, y) = (number(x)?, number(y)?);
        if !geo::TWD97_X.contains(&x) || !geo::TWD97_Y.contains(&y) {
            return None;
        }
        let (lon, lat) = geo::twd97_to_wgs84(x, y);
        let round = |v: f64| (v * 1e7).round() / 1e7;
        Some((round(lon), round(lat)))
    }
}

/// Converts one cell through its column's reading: cell-level rules, sentinels, then the reading's parse; what
/// changed is logged. A cell the reading cannot take fails with [`CellProblem::DoesNotParse`] (the file changed
/// since pass 1, which accepted it), unless the type was forced (then it becomes null, `type_mismatch`).
#[inline]
fn convert_cell(
    column: &mut ColumnConverter,
    plan: &ColumnPlan,
    ctx: &mut CellContext<'_>,
    log: &mut ColumnLog,
    raw: Option<&[u8]>,
    line: u64,
) -> Result<(), CellProblem> {
    let Some(raw) = raw else {
        column.push_null();
        return Ok(());
    };
    let CellContext { rules, missing_values, zone, scratch } = ctx;
    let (c, changed) = if rules.cleans_cells() && normalize::may_need_cleaning(raw) {
        normalize::clean(raw, rules, scratch)
    } else {
        (raw, 0)
    };
    if changed != 0 {
        log.record_cleaning(changed, line, raw, c);
    }
    if c.is_empty() {
        column.push_null();
        return Ok(());
    }
    if !plan.sentinels.is_empty() && plan.sentinels.iter().any(|s| **s == *c) {
        log.record(Rule::Sentinel, line, raw, || None);
        column.push_null();
        return Ok(());
    }
    // Fast paths: the plain grammar.
    match plan.reading {
        Reading::Text => return column.push_text(c),
        Reading::Integer => {
            if let Some(v) = value::integer(c) {
                column.push_integer(v);
                return Ok(());
            }
        }
        Reading::Decimal => {
            if let Some(v) = value::decimal(c) {
                column.push_decimal(v);
                return Ok(());
            }
        }
        Reading::Boolean => {
            if let Some(v) = value::boolean(c) {
                column.push_boolean(v);
                return Ok(());
            }
        }
        Reading::Date => {
            if let Some(v) = value::date(c) {
                column.push_date(v);
                return Ok(());
            }
        }
        Reading::Datetime => {
            if let Some(v) = value::datetime(c, zone) {
                column.push_datetime(v);
                return Ok(());
            }
        }
        Reading::Time => {
            if let Some(v) = value::time(c) {
                column.push_time(v);
                return Ok(());
            }
        }
        Reading::YearMonth => {}
    }
    if rules.missing_value && normalize::is_missing_marker(c, missing_values) {
        log.record(Rule::MissingValue, line, raw, || None);
        column.push_null();
        return Ok(());
    }
    match plan.reading {
        Reading::Integer => {
            if let Some(d) = normalize::decorated_number(c, rules)
                && d.marks & normalize::PERCENT == 0
                && let Some(v) = d.integer
            {
                log.record_marks(d.marks, line, c, || v.to_string());
                column.push_integer(v);
                return Ok(());
            }
        }
        Reading::Decimal => {
            if let Some(d) = normalize::decorated_number(c, rules)
                && let Some(v) = d.decimal
            {
                log.record_marks(d.marks, line, c, || value::render_decimal(v));
                column.push_decimal(v);
                return Ok(());
            }
        }
        Reading::Date | Reading::Datetime | Reading::YearMonth => {
            if let Some((v, calendar)) = dates::read_date(c, &plan.date_rules) {
                let roc = calendar == Calendar::Roc;
                match (plan.reading, v) {
                    (Reading::Date, DateValue::Date(days)) => {
                        let rule = if roc { Rule::RocDate } else { Rule::LocalDate };
                        log.record(rule, line, c, || Some(value::render_date(days)));
                        column.push_date(days);
                        return Ok(());
                    }
                    (Reading::Datetime, DateValue::Datetime { days, seconds }) => {
                        if let Some(v) = value::local_micros(days, seconds, zone) {
                            let rule = if roc { Rule::RocDatetime } else { Rule::LocalDate };
                            log.record(rule, line, c, || Some(value::render_datetime(v)));
                            column.push_datetime(v);
                        } else {
                            // A local time that never happened (or happened twice) in a daylight-saving year.
                            log.record(Rule::InvalidDate, line, raw, || None);
                            column.push_null();
                        }
                        return Ok(());
                    }
                    (Reading::YearMonth, DateValue::YearMonth { year, month }) => {
                        let mut buf = [0u8; 16];
                        let text = year_month_text(&mut buf, year, month);
                        let rule = if roc { Rule::RocYearMonth } else { Rule::LocalDate };
                        log.record(rule, line, c, || Some(String::from_utf8_lossy(text).into_owned()));
                        return column.push_text(text);
                    }
                    (_, DateValue::Invalid) => {
                        log.record(Rule::InvalidDate, line, raw, || None);
                        column.push_null();
                        return Ok(());
                    }
                    _ => {}
                }
            }
        }
        Reading::Text | Reading::Boolean | Reading::Time => {}
    }
    if plan.forced {
        log.record(Rule::TypeMismatch, line, raw, || None);
        column.push_null();
        return Ok(());
    }
    Err(CellProblem::DoesNotParse)
}

/// `YYYY-MM` into `buf` (years 0–9999; the date readers give 1800–2200).
fn year_month_text(buf: &mut [u8; 16], year: i32, month: u32) -> &[u8] {
    let mut w = std::io::Cursor::new(&mut buf[..]);
    let _ = write!(w, "{year:04}-{month:02}");
    let n = w.position() as usize;
    &buf[..n]
}

/// Pass 2: typed batches to Parquet, statistics on the way; what a normalizer changed goes to `log`.
pub(crate) fn convert_pass<W: Write + Send>(
    source: &mut dyn RecordSource,
    inferred: &Inferred,
    arrow_schema: &SchemaRef,
    mut writer: ArrowWriter<W>,
    batch_rows: usize,
    reporter: &mut Reporter<'_>,
    log: &mut TransformLog,
) -> Result<Vec<ColumnStats>, IngestError> {
    let schema = &inferred.schema;
    let plan = &inferred.plan;
    let expected_rows = inferred.row_count;
    reporter.report(source.bytes_read(), 0);
    log.entries.extend(plan.decisions.iter().cloned());
    let mut columns: Vec<ColumnConverter> =
        schema.fields.iter().map(|f| ColumnConverter::new(&f.name, f.field_type, batch_rows)).collect();
    let mut logs: Vec<ColumnLog> = schema.fields.iter().map(|_| ColumnLog::default()).collect();
    let mut ctx = CellContext {
        rules: &plan.rules,
        missing_values: &plan.missing_values,
        zone: LocalZone::new(),
        scratch: Vec::new(),
    };
    let mut rows = 0u64;
    let mut in_batch = 0usize;
    let mut batch_bytes = 0usize;
    let mut first_line = 0u64;
    let write_batch = |columns: &mut [ColumnConverter], writer: &mut ArrowWriter<W>, first_line: u64| {
        let arrays = columns
            .iter_mut()
            .map(ColumnConverter::finish_batch)
            .collect::<Result<Vec<_>, _>>()
            // Pass 1 checked every cell for UTF-8; text that fails now was changed in between.
            .map_err(|_| IngestError::changed(first_line, None))?;
        writer.write(&RecordBatch::try_new(arrow_schema.clone(), arrays)?).map_err(IngestError::from)
    };
    while let Some(row) = source.next_row()? {
        let line = row.line();
        if in_batch == 0 {
            first_line = line;
        }
        // The WGS84 pair of the row's TWD97 cells, computed once for both derived columns.
        let mut pair: Option<Option<(f64, f64)>> = None;
        for (j, (column, column_plan)) in columns.iter_mut().zip(&plan.columns).enumerate() {
            let result = match column_plan.origin {
                Origin::Cell(i) => convert_cell(column, column_plan, &mut ctx, &mut logs[j], row.cell(i), line),
                Origin::Longitude { x, y } | Origin::Latitude { x, y } => {
                    let computed = *pair.get_or_insert_with(|| ctx.wgs84(row.cell(x), row.cell(y)));
                    match (computed, column_plan.origin) {
                        (Some((lon, lat)), Origin::Longitude { .. }) => {
                            column.push_decimal(lon);
                            let before = || {
                                let text = |i| row.text(i).unwrap_or_default();
                                format!("{}, {}", text(x), text(y))
                            };
                            logs[j].record(Rule::Twd97, line, before().as_bytes(), || Some(format!("{lon}, {lat}")));
                        }
                        (Some((_, lat)), _) => column.push_decimal(lat),
                        (None, _) => column.push_null(),
                    }
                    Ok(())
                }
            };
            match result {
                Ok(()) => {}
                Err(CellProblem::DoesNotParse) => {
                    return Err(IngestError::changed(line, Some(schema.fields[j].name.clone())));
                }
                Err(CellProblem::TooLarge) => {
                    return Err(IngestError::malformed(
                        line,
                        Some(schema.fields[j].name.clone()),
                        MalformedKind::CellTooLarge,
                        "this cell is larger than 2 GiB",
                    ));
                }
            }
        }
        rows += 1;
        in_batch += 1;
        batch_bytes += row.bytes();
        // Rows of long text could make a batch of `batch_rows` rows huge: cut it by bytes too.
        if in_batch == batch_rows || batch_bytes >= MAX_BATCH_BYTES {
            write_batch(&mut columns, &mut writer, first_line)?;
            in_batch = 0;
            batch_bytes = 0;
            reporter.report(source.bytes_read(), rows);
        }
    }
    if in_batch > 0 {
        write_batch(&mut columns, &mut writer, first_line)?;
    }
    if rows != expected_rows {
        return Err(IngestError::changed(rows + 1, None));
    }
    writer.close()?;
    reporter.report(source.bytes_read(), rows);
    write_log(log, schema, plan, logs);
    Ok(columns.iter().map(ColumnConverter::stats).collect())
}

/// Merges the pass's rule logs into the transform log, column by column.
fn write_log(log: &mut TransformLog, schema: &TableSchema, plan: &Plan, logs: Vec<ColumnLog>) {
    for (j, column_log) in logs.into_iter().enumerate() {
        let column_plan = &plan.columns[j];
        // A derived column's conversions are logged under the TWD97 column they came from (with the decision).
        let name = match column_plan.origin {
            Origin::Longitude { x, .. } | Origin::Latitude { x, .. } => {
                plan.columns.iter().position(|p| p.origin == Origin::Cell(x)).map_or(j, |k| k)
            }
            Origin::Cell(_) => j,
        };
        let name = &schema.fields[name].name;
        for (r, rule_log) in column_log.rules.into_iter().enumerate() {
            if rule_log.count == 0 {
                continue;
            }
            let entry = log.entry(None, Some(name), RULE_NAMES[r]);
            entry.count += rule_log.count;
            let room = TRANSFORM_EXAMPLES.saturating_sub(entry.examples.len());
            entry.examples.extend(rule_log.examples.into_iter().take(room));
            if entry.detail.is_none() {
                entry.detail = match RULE_NAMES[r] {
                    "sentinel" => Some(format!(
                        "declared sentinel values ({}) read as null",
                        column_plan.sentinels.iter().map(|s| String::from_utf8_lossy(s)).collect::<Vec<_>>().join(", ")
                    )),
                    "invalid_date" => Some(
                        "no such day or time (e.g. 105/02/30): the cell is null, its text is kept in the examples"
                            .to_string(),
                    ),
                    "type_mismatch" => Some(format!(
                        "does not fit the type {} the pipeline sets: the cell is null",
                        schema.fields[j].field_type.as_str()
                    )),
                    _ => None,
                };
            }
        }
    }
}

#[cfg(test)]
mod real_files {
    //! End to end through [`crate::ingest_file`]: what the normalizers make of real files (tests/fixtures) and of
    //! small files holding each quirk.

    use std::fs::File;
    use std::path::{Path, PathBuf};

    use arrow::array::{Array, Date32Array, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray};
    use arrow::record_batch::RecordBatch;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use tapwater_types::{FieldType, TransformEntry};

    use crate::{IngestOptions, IngestReport, ingest_file, parse_date, parse_datetime};

    struct Table {
        report: IngestReport,
        batch: RecordBatch,
    }

    impl Table {
        fn column<T: 'static>(&self, name: &str) -> &T {
            let column = self.batch.column_by_name(name).unwrap_or_else(|| panic!("no column {name}"));
            column.as_any().downcast_ref::<T>().unwrap_or_else(|| panic!("{name} is {:?}", column.data_type()))
        }

        fn texts(&self, name: &str) -> Vec<Option<String>> {
            self.column::<StringArray>(name).iter().map(|v| v.map(str::to_string)).collect()
        }

        fn dates(&self, name: &str) -> Vec<Option<String>> {
            let a = self.column::<Date32Array>(name);
            a.iter().map(|v| v.map(crate::value::render_date)).collect()
        }

        fn datetimes(&self, name: &str) -> Vec<Option<String>> {
            let a = self.column::<TimestampMicrosecondArray>(name);
            a.iter().map(|v| v.map(crate::value::render_datetime)).collect()
        }

        fn ints(&self, name: &str) -> Vec<Option<i64>> {
            self.column::<Int64Array>(name).iter().collect()
        }

        fn decimals(&self, name: &str) -> Vec<Option<f64>> {
            self.column::<Float64Array>(name).iter().collect()
        }

        fn field(&self, name: &str) -> &tapwater_types::Field {
            self.report.schema.field(name).unwrap_or_else(|| panic!("no field {name}"))
        }

        fn log(&self, column: &str, rule: &str) -> &TransformEntry {
            self.report
                .transform_log
                .entries
                .iter()
                .find(|e| e.rule == rule && e.column.as_deref() == Some(column))
                .unwrap_or_else(|| panic!("no {rule} entry for {column}: {:#?}", self.report.transform_log))
        }

        fn has_log(&self, column: &str, rule: &str) -> bool {
            self.report.transform_log.entries.iter().any(|e| e.rule == rule && e.column.as_deref() == Some(column))
        }
    }

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
    }

    fn ingest_with(path: &Path, options: &IngestOptions) -> Table {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.parquet");
        let report = ingest_file(path, File::create(&out).unwrap(), options, &mut |_| {})
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&out).unwrap()).unwrap();
        let schema = reader.schema().clone();
        let batches: Vec<RecordBatch> = reader.build().unwrap().collect::<Result<_, _>>().unwrap();
        Table { report, batch: arrow::compute::concat_batches(&schema, &batches).unwrap() }
    }

    fn ingest(path: &Path) -> Table {
        ingest_with(path, &IngestOptions::default())
    }

    fn ingest_text_with(text: &str, options: &IngestOptions) -> Table {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("upload.csv");
        std::fs::write(&path, text).unwrap();
        ingest_with(&path, options)
    }

    fn ingest_text(text: &str) -> Table {
        ingest_text_with(text, &IngestOptions::default())
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    #[test]
    fn real_tainan_apartment_committees_roc_slash_dates_become_dates() {
        let t = ingest(&fixture("tainan_apartment_management_committees_roc_slash_dates.csv"));
        assert_eq!(t.report.row_count, 2919);
        assert_eq!(t.field("成立核准日期").field_type, FieldType::Date);
        let dates = t.dates("成立核准日期");
        assert_eq!(dates[0], None, "`//` is no date: null");
        assert_eq!(dates[14], s("1988-11-29"), "077/11/29, zero-padded ROC year 77");
        assert_eq!(dates.iter().filter(|d| d.is_none()).count(), 15, "14 `//` and one 086/08/00");
        let missing = t.log("成立核准日期", "missing_value");
        assert_eq!(
            (missing.count, missing.examples[0].before.as_str(), missing.examples[0].after.as_deref()),
            (14, "//", None)
        );
        let invalid = t.log("成立核准日期", "invalid_date");
        assert_eq!(
            (invalid.count, invalid.examples[0].before.as_str(), invalid.examples[0].row),
            (1, "086/08/00", Some(109))
        );
        let roc = t.log("成立核准日期", "roc_date");
        assert_eq!(roc.count, 2919 - 15);
        assert_eq!(
            (roc.examples[0].before.as_str(), roc.examples[0].after.as_deref()),
            ("077/11/29", Some("1988-11-29"))
        );
        // The Excel apostrophes are unwrapped; the numbers keep their leading zero (a document number is text).
        assert_eq!(t.field("成立核准文號").field_type, FieldType::Text);
        assert_eq!(t.texts("成立核准文號")[0], s("0943201436"));
        let guard = t.log("成立核准文號", "excel_guard");
        assert_eq!(guard.count, 2739);
        assert_eq!(
            (guard.examples[0].before.as_str(), guard.examples[0].after.as_deref()),
            ("'0943201436", Some("0943201436"))
        );
        // Full-width letters and digits inside names and addresses.
        assert!(t.texts("管理委員會").contains(&s("聯上W1大廈管理委員會")));
        assert_eq!(t.log("建築物地址", "fullwidth").count, 3);
        assert_eq!(t.field("棟數").field_type, FieldType::Integer);
    }

    #[test]
    fn real_npa_accidents_roc_datetimes_with_and_without_seconds() {
        let t = ingest(&fixture("npa_a1_traffic_accidents_roc102_2013.csv"));
        assert_eq!(t.field("發生時間").field_type, FieldType::Datetime);
        let times = t.datetimes("發生時間");
        assert_eq!(times[0], s("2013-01-01T03:00:00+08:00"), "102年01月01日 03時00分");
        assert!(times.iter().all(Option::is_some));
        assert_eq!(t.log("發生時間", "roc_datetime").count, t.report.row_count);

        let t = ingest(&fixture("npa_a1_traffic_accidents_roc105_2016.csv"));
        assert_eq!(t.datetimes("發生時間")[0], s("2016-01-01T02:45:00+08:00"), "105年01月01日 02時45分00秒");
        assert_eq!(t.field("死亡受傷人數").field_type, FieldType::Text, "死亡1;受傷1 is no number");
    }

    #[test]
    fn real_npa_2018_compact_gregorian_dates_and_coordinates() {
        let t = ingest(&fixture("npa_a1_traffic_accidents_2018.csv"));
        assert_eq!(t.field("發生日期").field_type, FieldType::Date, "20180101 under 發生日期");
        assert_eq!(t.dates("發生日期")[0], s("2018-01-01"));
        assert_eq!(t.log("發生日期", "local_date").count, t.report.row_count);
        assert_eq!(t.field("發生年度").field_type, FieldType::Integer, "2018 is a year, not a date");
        assert_eq!(t.field("發生月份").field_type, FieldType::Integer);
        assert_eq!(t.field("發生時間").field_type, FieldType::Text, "051200 (HHMMSS) keeps its leading zero");
        assert_eq!(t.field("經度").role.as_deref(), Some("longitude"));
        assert_eq!(t.field("緯度").role.as_deref(), Some("latitude"));
        // Two rows hold the pair the other way round: logged, not changed.
        assert_eq!(t.log("經度", "swapped_coordinates").count, 2);
        assert!(t.decimals("經度").contains(&Some(24.140329)));
        assert_eq!(t.decimals("經度")[0], Some(120.578892));
    }

    #[test]
    fn real_moi_births_roc_year_months_under_a_year_month_name() {
        let t = ingest(&fixture("moi_village_births_deaths_marriages_2014-04.csv"));
        assert_eq!(t.report.row_count, 7850);
        assert_eq!(t.field("統計年月").field_type, FieldType::Text);
        assert!(t.texts("統計年月").iter().all(|v| v.as_deref() == Some("2014-04")));
        let log = t.log("統計年月", "roc_year_month");
        assert_eq!(
            (log.count, log.examples[0].before.as_str(), log.examples[0].after.as_deref()),
            (7850, "10304", Some("2014-04"))
        );
        assert_eq!(t.field("出生數").field_type, FieldType::Integer);

        // The 2016 file names the column in its machine-name row too (statistic_yyymm).
        let t = ingest(&fixture("moi_village_births_deaths_marriages_2016-04.csv"));
        assert_eq!(t.texts("統計年月")[0], s("2016-04"));
        assert!(t.field("統計年月").aliases.contains(&"statistic_yyymm".to_string()));
    }

    #[test]
    fn real_taipei_parking_twd97_gains_wgs84_columns() {
        let t = ingest(&fixture("taipei_parking_lots_TCMSV_alldesc_2023-01-28.json"));
        assert_eq!(t.report.row_count, 1894);
        let names: Vec<&str> = t.report.schema.names().collect();
        let x = names.iter().position(|n| *n == "tw97x").unwrap();
        assert_eq!(&names[x..x + 4], ["tw97x", "tw97y", "tw97x_lon", "tw97y_lat"], "derived columns right after");
        assert_eq!(t.field("tw97x").role.as_deref(), Some("twd97_x"));
        assert_eq!(t.field("tw97y").role.as_deref(), Some("twd97_y"));
        let lon = t.field("tw97x_lon");
        assert_eq!((lon.field_type, lon.role.as_deref()), (FieldType::Decimal, Some("longitude")));
        assert_eq!(lon.derived_from, ["tw97x", "tw97y"]);
        assert_eq!(t.field("tw97y_lat").role.as_deref(), Some("latitude"));
        // 府前廣場地下停車場 (306812.928, 2769892.95); its first entrance is published in WGS84 (with Xcod and Ycod
        // swapped) at 25.03648987 N, 121.5621068 E: the computed point lies within 200 m of it.
        let (lons, lats) = (t.decimals("tw97x_lon"), t.decimals("tw97y_lat"));
        let (lon0, lat0) = (lons[0].unwrap(), lats[0].unwrap());
        let dx = (lon0 - 121.5621068).to_radians() * 25.036_f64.to_radians().cos() * 6_371_000.0;
        let dy = (lat0 - 25.03648987).to_radians() * 6_371_000.0;
        assert!((dx * dx + dy * dy).sqrt() < 200.0, "({lon0}, {lat0})");
        let (want_lon, want_lat) = crate::normalize::geo::twd97_to_wgs84(306_812.928, 2_769_892.95);
        assert!((lon0 - want_lon).abs() < 1e-7 && (lat0 - want_lat).abs() < 1e-7);
        // Two lots have 0/0 and one an easting in tw97y: no WGS84 point for them.
        assert_eq!(lons.iter().filter(|v| v.is_none()).count(), 3);
        assert!(lons.iter().flatten().all(|v| (121.4..=121.7).contains(v)), "all in Taipei");
        let log = t.log("tw97x", "twd97");
        assert_eq!(log.count, 1891);
        assert_eq!(log.examples[0].before, "306812.928, 2769892.95");
        assert_eq!(t.log("tw97y", "swapped_coordinates").count, 1);
    }

    #[test]
    fn real_kaohsiung_and_tainan_wgs84_columns_get_roles() {
        let t = ingest(&fixture("kaohsiung_inclusive_playgrounds_pwbmo_2023-02.json"));
        assert_eq!(t.field("Longitude").role.as_deref(), Some("longitude"));
        assert_eq!(t.field("Latitude").role.as_deref(), Some("latitude"));
        assert!(!t.report.transform_log.entries.iter().any(|e| e.rule == "swapped_coordinates"));
        let t = ingest(&fixture("tainan_dengue_insecticide_spraying_2015-08.csv"));
        assert_eq!(t.field("緯度").role.as_deref(), Some("latitude"));
        assert_eq!(t.field("經度").role.as_deref(), Some("longitude"));
        assert_eq!(t.field("日期").field_type, FieldType::Text, "08月13日 has no year");
        assert_eq!(t.texts("日期")[0], s("08月13日"));
    }

    #[test]
    fn real_tainan_dengue_padded_district_names_are_trimmed() {
        let t = ingest(&fixture("tainan_dengue_cases_0829_big5.csv"));
        let districts = t.texts("區別");
        assert!(districts.contains(&s("北區")) && districts.contains(&s("東區")));
        assert!(!districts.iter().flatten().any(|d| d.contains('\u{3000}')), "no 北　區 left");
        let trim = t.log("區別", "trim");
        assert_eq!(trim.count, 70);
        assert_eq!(trim.examples[0].after.as_deref().map(|a| a.chars().count()), Some(2));
        assert_eq!(t.field("確診日期").field_type, FieldType::Date, "2015/8/25");
        assert_eq!(t.field("緯度座標").role.as_deref(), Some("latitude"));
    }

    #[test]
    fn numbers_with_decorations_and_missing_markers() {
        let t = ingest_text(
            "區,人數,金額(千元),投票率,備註,代碼\n             三民區,１２,\"1,234\",47.12%,無,=\"1101\"\n\
             鳳山區,-,NT$5,0.5%,有,1102\n\
             苓雅區, 7 ,300元,100％,-,1103\n",
        );
        assert_eq!(t.ints("人數"), [Some(12), None, Some(7)]);
        assert_eq!(t.log("人數", "fullwidth").examples[0].after.as_deref(), Some("12"));
        assert_eq!(t.log("人數", "missing_value").count, 1);
        assert_eq!(t.log("人數", "trim").count, 1);
        assert_eq!(t.ints("金額(千元)"), [Some(1234), Some(5), Some(300)]);
        let amount = t.field("金額(千元)");
        assert_eq!((amount.name.as_str(), amount.unit.as_deref()), ("金額(千元)", Some("千元")), "name as published");
        assert_eq!(t.log("金額(千元)", "header_unit").detail.as_deref(), Some("金額(千元) → unit 千元"));
        assert_eq!(t.log("金額(千元)", "thousands").count, 1);
        assert_eq!(t.log("金額(千元)", "currency").count, 2);
        assert_eq!(t.decimals("投票率"), [Some(47.12), Some(0.5), Some(100.0)]);
        assert_eq!(t.field("投票率").unit.as_deref(), Some("%"));
        assert_eq!(t.log("投票率", "percent").count, 3);
        assert_eq!(t.texts("備註"), [s("無"), s("有"), s("-")], "a text column keeps its markers");
        assert!(!t.has_log("備註", "missing_value"));
        assert_eq!(t.texts("代碼"), [s("1101"), s("1102"), s("1103")], "a guarded column stays text");
    }

    #[test]
    fn an_integer_column_not_named_as_a_date_stays_integer() {
        let t = ingest_text("人數,成立日期\n1051223,1051223\n1060101,1060101\n");
        assert_eq!(t.ints("人數"), [Some(1_051_223), Some(1_060_101)]);
        assert_eq!(t.dates("成立日期"), [s("2016-12-23"), s("2017-01-01")]);
    }

    #[test]
    fn gen_messy_style_rows_with_five_roc_spellings() {
        let t = ingest_text(
            "發生日期,行政區,地址,受傷人數,死亡人數,財損金額,備註\n\
             1080912,苓雅區,建國二路286號,2,0,\"763,708\",\n\
             102/03/06,楠梓區,中山二路223號,１,0,\"1,899,284\",\n\
             105年1月2日,旗津區,中山二路２２５號,-,－,\"252092\",\"肇事逃逸,待查\"\n\
             112.7.4,前鎮區,九如一路２３８號,3,0,無,\n\
             １１０/１/５,前鎮區,九如一路1號,3,0,5,\n",
        );
        assert_eq!(
            t.dates("發生日期"),
            [s("2019-09-12"), s("2013-03-06"), s("2016-01-02"), s("2023-07-04"), s("2021-01-05")]
        );
        assert_eq!(t.log("發生日期", "roc_date").count, 5);
        assert_eq!(t.log("發生日期", "fullwidth").count, 1);
        assert_eq!(t.ints("受傷人數"), [Some(2), Some(1), None, Some(3), Some(3)]);
        assert_eq!(t.ints("死亡人數"), [Some(0), Some(0), None, Some(0), Some(0)]);
        assert_eq!(t.ints("財損金額"), [Some(763_708), Some(1_899_284), Some(252_092), None, Some(5)]);
        assert_eq!(t.texts("地址")[2], s("中山二路225號"));
        assert_eq!(t.texts("備註")[2], s("肇事逃逸,待查"));
    }

    #[test]
    fn the_pipeline_forces_types_declares_sentinels_and_switches_rules_off() {
        let mut options = IngestOptions::default();
        options.pipeline.types.insert("溫度".into(), FieldType::Decimal);
        options.pipeline.types.insert("郵遞區號".into(), FieldType::Text);
        options.pipeline.sentinels.insert("*".into(), vec!["-99".into()]);
        options.pipeline.sentinels.insert("雨量".into(), vec!["-998".into()]);
        options.pipeline.missing_values.push("不明".into());
        options.pipeline.normalizers.insert("fullwidth".into(), false);
        options.pipeline.code_lists.insert("性別".into(), [("1".to_string(), "男".to_string())].into());
        let t = ingest_text_with(
            "溫度,雨量,郵遞區號,名稱,性別,人數\n14.9,-998,100,Ａ棟,1,不明\n-99,3.5,800,B棟,2,3\nX,0,801,C棟,1,4\n",
            &options,
        );
        assert_eq!(t.decimals("溫度"), [Some(14.9), None, None]);
        assert_eq!(t.log("溫度", "sentinel").count, 1);
        assert!(t.log("溫度", "sentinel").detail.as_deref().unwrap().contains("-99"));
        let mismatch = t.log("溫度", "type_mismatch");
        assert_eq!((mismatch.count, mismatch.examples[0].before.as_str(), mismatch.examples[0].row), (1, "X", Some(4)));
        assert_eq!(t.decimals("雨量"), [None, Some(3.5), Some(0.0)]);
        assert_eq!(t.texts("郵遞區號"), [s("100"), s("800"), s("801")]);
        assert_eq!(t.texts("名稱")[0], s("Ａ棟"), "fullwidth switched off");
        assert_eq!(t.field("性別").field_type, FieldType::Text, "a code list keeps codes as text");
        assert_eq!(t.ints("人數"), [None, Some(3), Some(4)], "the pipeline's own marker");
    }

    #[test]
    fn impossible_dates_stay_text_when_common() {
        let t = ingest_text("日期,值\n105/02/30,1\n105/01/01,2\n");
        assert_eq!(t.field("日期").field_type, FieldType::Text);
        assert_eq!(t.texts("日期"), [s("105/02/30"), s("105/01/01")]);
    }

    #[test]
    fn filter_values_read_like_cells() {
        assert_eq!(parse_date("105/12/23"), parse_date("2016-12-23"));
        assert_eq!(parse_date("民國105年12月23日"), parse_date("2016-12-23"));
        assert_eq!(parse_datetime("102年01月01日 03時00分"), parse_datetime("2013-01-01T03:00:00+08:00"));
        assert_eq!(parse_date("105/02/30"), None);
    }

    #[test]
    fn year_month_text_is_iso() {
        let mut buf = [0u8; 16];
        assert_eq!(super::year_month_text(&mut buf, 2014, 4), b"2014-04");
    }

    /// Throughput of both passes on the benchmark's messy file, converted to UTF-8 and without its title and
    /// footnote rows: `MESSY_CSV=/path cargo test --release -p tapwater-ingest messy_throughput -- --ignored
    /// --nocapture`.
    #[test]
    #[ignore]
    fn messy_throughput() {
        let Ok(path) = std::env::var("MESSY_CSV") else { return };
        let bytes = std::fs::metadata(&path).unwrap().len() as f64;
        let mut options = IngestOptions::default();
        if std::env::var("NORMALIZERS_OFF").is_ok() {
            // The cost without normalizers, for comparison (cells are then typed by the plain grammar only).
            for (rule, _) in tapwater_types::NORMALIZER_RULES {
                options.pipeline.normalizers.insert(rule.to_string(), false);
            }
        }
        for _ in 0..3 {
            let start = std::time::Instant::now();
            let report = ingest_file(Path::new(&path), std::io::sink(), &options, &mut |_| {}).unwrap();
            let seconds = start.elapsed().as_secs_f64();
            println!(
                "{} rows, {:.1} MB in {seconds:.2} s: {:.1} MB/s",
                report.row_count,
                bytes / 1e6,
                bytes / 1e6 / seconds
            );
            let types: Vec<_> =
                report.schema.fields.iter().map(|f| format!("{} {}", f.name, f.field_type.as_str())).collect();
            println!("  {}", types.join(", "));
            for e in report.transform_log.entries.iter().filter(|e| e.column.is_some()) {
                println!("  {} {} ×{}", e.column.as_deref().unwrap_or_default(), e.rule, e.count);
            }
        }
    }
}
