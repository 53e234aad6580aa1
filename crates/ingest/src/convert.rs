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
        for (flag, rule) in
            [(normalize::TRIMMED, Rule::Trim), (normalize::GUARDED, Rule::ExcelGuard), (normalize::FULLWIDTH, Rule::Fullwidth)]
        {
            if changed & flag != 0 {
                self.record(rule, line, before, text);
            }
        }
    }

    fn record_marks(&mut self, marks: u8, line: u64, before: &[u8], after: impl Fn() -> String) {
        for (flag, rule) in
            [(normalize::THOUSANDS, Rule::Thousands), (normalize::CURRENCY, Rule::Currency), (normalize::PERCENT, Rule::Percent)]
        {
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
    let mut ctx =
        CellContext { rules: &plan.rules, missing_values: &plan.missing_values, zone: LocalZone::new(), scratch: Vec::new() };
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
mod explore {
    #[test]
    #[ignore]
    fn explore_fixtures() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let only = std::env::var("ONLY").unwrap_or_default();
        let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        for name in names {
            if name.ends_with(".md") || !name.contains(&only) {
                continue;
            }
            let mut options = crate::IngestOptions::default();
            if let Ok(col) = std::env::var("FORCE_DATE") {
                options.pipeline.types.insert(col, tapwater_types::FieldType::Date);
            }
            match crate::check_files(&[crate::InputFile::new(dir.join(&name))], &options) {
                Err(e) => println!("== {name}: ERROR {e}"),
                Ok(r) => {
                    println!("== {name}: {} rows", r.row_count);
                    for f in &r.schema.fields {
                        println!("   {:?} {:?} unit={:?} role={:?} from={:?}", f.name, f.field_type, f.unit, f.role, f.derived_from);
                    }
                    for st in &r.stats {
                        if std::env::var("COL").is_ok_and(|c| c == st.name) {
                            println!("   STATS {st:?}");
                        }
                    }
                    for e in &r.transform_log.entries {
                        let ex: Vec<_> = e.examples.iter().take(5).map(|x| format!("{:?}→{:?}@{:?}", x.before, x.after, x.row)).collect();
                        println!("   LOG {:?} {} ×{} {:?} {}", e.column, e.rule, e.count, e.detail, ex.join(" | "));
                    }
                }
            }
        }
    }
}
