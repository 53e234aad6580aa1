//! Conversion of text cells to typed Arrow columns, with each column's statistics gathered on the way.
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
use tapwater_types::{ColumnStats, FieldType, LOCAL_TIME_ZONE, TransformLog};

use crate::infer::Inferred;
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

    /// Appends one cell.
    #[inline]
    pub(crate) fn push(&mut self, cell: Option<&[u8]>, zone: &mut LocalZone) -> Result<(), CellProblem> {
        let Some(b) = cell else {
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
            return Ok(());
        };
        let bad = CellProblem::DoesNotParse;
        match &mut self.builder {
            Builder::Integer(x) => {
                let Some(v) = value::integer(b) else { return Err(bad) };
                x.append_value(v);
                self.distinct.insert_value(v as u64);
            }
            Builder::Decimal(x) => {
                let Some(v) = value::decimal(b) else { return Err(bad) };
                x.append_value(v);
                // -0.0 and 0.0 are one value.
                self.distinct.insert_value((v + 0.0).to_bits());
            }
            Builder::Boolean(x) => {
                let Some(v) = value::boolean(b) else { return Err(bad) };
                x.append_value(v);
                self.distinct.insert_value(u64::from(v));
            }
            Builder::Date(x) => {
                let Some(v) = value::date(b) else { return Err(bad) };
                x.append_value(v);
                self.distinct.insert_value(v as u64);
            }
            Builder::Time(x) => {
                let Some(v) = value::time(b) else { return Err(bad) };
                x.append_value(v);
                self.distinct.insert_value(v as u64);
            }
            Builder::Datetime(x) => {
                let Some(v) = value::datetime(b, zone) else { return Err(bad) };
                x.append_value(v);
                self.distinct.insert_value(v as u64);
            }
            Builder::Text(x) => {
                let repeat = x.append(b).ok_or(CellProblem::TooLarge)?;
                if !repeat {
                    self.distinct.insert_text(b);
                }
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

/// Pass 2: typed batches to Parquet, statistics on the way; what a normalizer changed goes to `log`.
pub(crate) fn convert_pass<W: Write + Send>(
    source: &mut dyn RecordSource,
    inferred: &Inferred,
    arrow_schema: &SchemaRef,
    mut writer: ArrowWriter<W>,
    batch_rows: usize,
    reporter: &mut Reporter<'_>,
    _log: &mut TransformLog,
) -> Result<Vec<ColumnStats>, IngestError> {
    let schema = &inferred.schema;
    let expected_rows = inferred.row_count;
    reporter.report(source.bytes_read(), 0);
    let mut columns: Vec<ColumnConverter> =
        schema.fields.iter().map(|f| ColumnConverter::new(&f.name, f.field_type, batch_rows)).collect();
    let mut zone = LocalZone::new();
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
        if in_batch == 0 {
            first_line = row.line();
        }
        for (i, column) in columns.iter_mut().enumerate() {
            match column.push(row.cell(i), &mut zone) {
                Ok(()) => {}
                Err(CellProblem::DoesNotParse) => {
                    return Err(IngestError::changed(row.line(), Some(schema.fields[i].name.clone())));
                }
                Err(CellProblem::TooLarge) => {
                    return Err(IngestError::malformed(
                        row.line(),
                        Some(schema.fields[i].name.clone()),
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
    Ok(columns.iter().map(ColumnConverter::stats).collect())
}
