//! Hot tables: one version held in memory as a single Arrow batch, plus indexes built when it is loaded.
//!
//! Versions are immutable, so a hot table is never updated: it is built once from the version's Parquet file and
//! dropped by the engine's LRU when memory is needed.
//!
//! Indexes, per column (see [`ColumnIndex`]):
//! - a **value dictionary** for low-cardinality columns (at most 65,535 distinct values and at most half as many
//!   distinct values as rows; any type but decimal, whose `-0.0`/`0.0` make "equal" and "same bits" disagree): the
//!   distinct values in ascending order, a two-byte code per row (null = the last code) and, per code, the posting
//!   list of its rows (ascending row ids). `district = 苓雅區` is then a slice of row ids, a group-by is an array
//!   indexed by code, and a sort by the column is the concatenation of the posting lists. Cost: 6 bytes per row and
//!   dictionary column;
//! - an **ascending** flag: the column never decreases in file order and has no nulls (an `id` usually), so sorting
//!   by it is file order and a range filter on it is a binary search;
//! - a **sort permutation** per direction, built on first use (a `OnceLock`): row ids ordered by the column, nulls
//!   last, ties by row id. Keyset paging is a binary search in it. 4 bytes per row once built (so
//!   [`HotTable::memory_bytes`] grows then).
//!
//! Build cost, measured on the benchmark's 1M-row, 12-column `accidents` table on one core: 71 ms (release), most
//! of it one hash lookup per row for each text column that turns out to have a dictionary.

use std::cmp::Ordering;
use std::collections::HashMap;

use std::sync::OnceLock;

use arrow::array::{Array, ArrayRef, AsArray, StringArray, UInt32Array};
use arrow::buffer::{BooleanBuffer, NullBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Date32Type, Float64Type, Int64Type, Time64MicrosecondType, TimestampMicrosecondType};
use arrow::record_batch::RecordBatch;
use tapwater_types::{FieldType, TableSchema};

use crate::QueryError;
use crate::params::Value;

/// Most distinct values a column may have to get a value dictionary (so that every code, null's included, fits in
/// two bytes).
pub const MAX_DICTIONARY_VALUES: usize = 65_535;

/// A dictionary code: two bytes per row and column instead of four.
pub(crate) type Code = u16;

/// A version in memory. Columns of `batch` are in the order of `schema.fields`.
#[derive(Debug)]
pub struct HotTable {
    version_id: String,
    seq: i64,
    schema: TableSchema,
    batch: RecordBatch,
    columns: Vec<TypedColumn>,
    indexes: Vec<ColumnIndex>,
    /// Bytes of the data and of the indexes built eagerly.
    base_bytes: usize,
}

impl HotTable {
    /// Builds a hot table (and its indexes) from all rows of a version in one batch.
    ///
    /// Columns whose Arrow type differs from the one their field type maps to (say `Utf8View` or `LargeUtf8` from
    /// another Parquet writer) are cast first.
    pub fn build(version_id: String, seq: i64, schema: TableSchema, batch: RecordBatch) -> Result<Self, QueryError> {
        if batch.num_columns() != schema.fields.len() {
            return Err(QueryError::Internal(format!(
                "batch has {} columns, schema {}",
                batch.num_columns(),
                schema.fields.len()
            )));
        }
        if u32::try_from(batch.num_rows()).is_err() {
            return Err(QueryError::Internal(format!("{} rows do not fit 32-bit row ids", batch.num_rows())));
        }
        let batch = normalize_batch(&schema, batch)?;
        let columns = batch
            .columns()
            .iter()
            .zip(&schema.fields)
            .map(|(array, field)| TypedColumn::new(array, field.field_type))
            .collect::<Result<Vec<_>, _>>()?;
        let rows = batch.num_rows();
        let indexes: Vec<ColumnIndex> = columns
            .iter()
            .zip(batch.columns())
            .zip(&schema.fields)
            .map(|((column, array), field)| ColumnIndex::build(column, array, rows, field.field_type))
            .collect();
        let base_bytes = batch.get_array_memory_size() + indexes.iter().map(ColumnIndex::eager_bytes).sum::<usize>();
        Ok(HotTable { version_id, seq, schema, batch, columns, indexes, base_bytes })
    }

    pub fn version_id(&self) -> &str {
        &self.version_id
    }

    /// The per-dataset version number.
    pub fn seq(&self) -> i64 {
        self.seq
    }

    pub fn schema(&self) -> &TableSchema {
        &self.schema
    }

    pub fn batch(&self) -> &RecordBatch {
        &self.batch
    }

    pub fn row_count(&self) -> usize {
        self.batch.num_rows()
    }

    /// Bytes held by the data and its indexes (the LRU's weight), including sort permutations built so far.
    pub fn memory_bytes(&self) -> usize {
        self.base_bytes + self.indexes.iter().map(ColumnIndex::lazy_bytes).sum::<usize>()
    }

    /// The indexes of column `column` (schema order), if it exists.
    pub fn index(&self, column: usize) -> Option<&ColumnIndex> {
        self.indexes.get(column)
    }

    /// Typed access to a column for the fast path. `column` must be a valid index (the parser checked it).
    pub(crate) fn column(&self, column: usize) -> Option<Column<'_>> {
        let typed = self.columns.get(column)?;
        let index = self.indexes.get(column)?;
        let field_type = self.schema.fields.get(column)?.field_type;
        let array = self.batch.columns().get(column)?;
        Some(Column { values: typed.values(), nulls: typed.nulls.as_ref(), index, field_type, array })
    }

    /// Row ids ordered by `column` (nulls last, ties by row id), built on first use.
    pub(crate) fn permutation(&self, column: usize, descending: bool) -> Option<&[u32]> {
        let col = self.column(column)?;
        let index = col.index;
        if let (Some(dict), false) = (&index.dictionary, descending) {
            return Some(&dict.rows);
        }
        let slot = &index.permutations[usize::from(descending)];
        Some(slot.get_or_init(|| build_permutation(&col, self.row_count(), descending)))
    }
}

/// The indexes of one column.
#[derive(Debug)]
pub struct ColumnIndex {
    pub(crate) dictionary: Option<Dictionary>,
    /// Non-decreasing in file order, no nulls.
    pub(crate) ascending: bool,
    /// Strictly increasing in file order, no nulls.
    pub(crate) strictly_ascending: bool,
    pub(crate) null_count: usize,
    /// Sort permutations, ascending and descending, built on first use.
    permutations: [OnceLock<Vec<u32>>; 2],
}

impl ColumnIndex {
    fn build(column: &TypedColumn, array: &ArrayRef, rows: usize, field_type: FieldType) -> ColumnIndex {
        let null_count = column.nulls.as_ref().map_or(0, NullBuffer::null_count);
        let (ascending, strictly_ascending) =
            if null_count == 0 && rows > 0 { ascending_flags(&column.values(), rows) } else { (false, false) };
        let dictionary = build_dictionary(column, array, rows, field_type);
        ColumnIndex {
            dictionary,
            ascending,
            strictly_ascending,
            null_count,
            permutations: [OnceLock::new(), OnceLock::new()],
        }
    }

    /// Whether the column has a value dictionary with posting lists.
    pub fn has_dictionary(&self) -> bool {
        self.dictionary.is_some()
    }

    /// Number of distinct non-null values, when the column has a dictionary.
    pub fn distinct_values(&self) -> Option<usize> {
        self.dictionary.as_ref().map(Dictionary::len)
    }

    /// Whether the column never decreases in file order and has no nulls.
    pub fn is_ascending(&self) -> bool {
        self.ascending
    }

    pub fn null_count(&self) -> usize {
        self.null_count
    }

    fn eager_bytes(&self) -> usize {
        self.dictionary.as_ref().map_or(0, |d| {
            d.codes.capacity() * size_of::<Code>()
                + (d.rows.capacity() + d.offsets.capacity()) * 4
                + d.values.get_array_memory_size()
        })
    }

    fn lazy_bytes(&self) -> usize {
        self.permutations.iter().filter_map(OnceLock::get).map(|p| p.capacity() * 4).sum()
    }
}

/// A value dictionary: sorted distinct values, a code per row and a posting list per code.
#[derive(Debug)]
pub(crate) struct Dictionary {
    /// The distinct non-null values, ascending; `values[code]`.
    pub(crate) values: ArrayRef,
    typed: TypedColumn,
    /// The code of each row; nulls have code `len()` (they sort last).
    pub(crate) codes: Vec<Code>,
    /// `rows[offsets[c]..offsets[c + 1]]` are the rows with code `c`, ascending; `len() + 2` entries.
    pub(crate) offsets: Vec<u32>,
    /// All row ids grouped by code (so also the ascending sort permutation, nulls last).
    pub(crate) rows: Vec<u32>,
}

impl Dictionary {
    /// Number of distinct non-null values.
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// The ordering key of the value with code `code` (< `len()`).
    pub(crate) fn value_key(&self, code: u32) -> Key<'_> {
        key_at(self.typed.values(), code as usize)
    }

    pub(crate) fn null_code(&self) -> u32 {
        self.values.len() as u32
    }

    /// The rows having code `code` (`null_code()` for nulls), ascending.
    pub(crate) fn postings(&self, code: u32) -> &[u32] {
        let c = code as usize;
        match (self.offsets.get(c), self.offsets.get(c + 1)) {
            (Some(&lo), Some(&hi)) => self.rows.get(lo as usize..hi as usize).unwrap_or(&[]),
            _ => &[],
        }
    }
}

/// A column's values as plain slices, for tight loops.
#[derive(Debug)]
struct TypedColumn {
    values: OwnedValues,
    /// `None` when the column has no nulls.
    nulls: Option<NullBuffer>,
}

#[derive(Debug)]
enum OwnedValues {
    Int(ScalarBuffer<i64>),
    Date(ScalarBuffer<i32>),
    Float(ScalarBuffer<f64>),
    Bool(BooleanBuffer),
    Text(StringArray),
}

impl TypedColumn {
    fn new(array: &ArrayRef, field_type: FieldType) -> Result<TypedColumn, QueryError> {
        let mismatch = || QueryError::Internal(format!("column of type {:?} is {:?}", field_type, array.data_type()));
        let values = match field_type {
            FieldType::Integer => {
                OwnedValues::Int(array.as_primitive_opt::<Int64Type>().ok_or_else(mismatch)?.values().clone())
            }
            FieldType::Time => OwnedValues::Int(
                array.as_primitive_opt::<Time64MicrosecondType>().ok_or_else(mismatch)?.values().clone(),
            ),
            FieldType::Datetime => OwnedValues::Int(
                array.as_primitive_opt::<TimestampMicrosecondType>().ok_or_else(mismatch)?.values().clone(),
            ),
            FieldType::Date => {
                OwnedValues::Date(array.as_primitive_opt::<Date32Type>().ok_or_else(mismatch)?.values().clone())
            }
            FieldType::Decimal => {
                OwnedValues::Float(array.as_primitive_opt::<Float64Type>().ok_or_else(mismatch)?.values().clone())
            }
            FieldType::Boolean => OwnedValues::Bool(array.as_boolean_opt().ok_or_else(mismatch)?.values().clone()),
            FieldType::Text => OwnedValues::Text(array.as_string_opt::<i32>().ok_or_else(mismatch)?.clone()),
        };
        let nulls = array.nulls().filter(|n| n.null_count() > 0).cloned();
        Ok(TypedColumn { values, nulls })
    }

    fn values(&self) -> Values<'_> {
        match &self.values {
            OwnedValues::Int(v) => Values::Int(v),
            OwnedValues::Date(v) => Values::Date(v),
            OwnedValues::Float(v) => Values::Float(v),
            OwnedValues::Bool(v) => Values::Bool(v),
            OwnedValues::Text(v) => Values::Text(v),
        }
    }
}

/// Borrowed typed values of a column. Integers, times and date-times are `Int` (i64), dates `Date` (i32).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Values<'a> {
    Int(&'a [i64]),
    Date(&'a [i32]),
    Float(&'a [f64]),
    Bool(&'a BooleanBuffer),
    Text(&'a StringArray),
}

/// A column of a hot table, with its indexes, for the fast path.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column<'a> {
    pub(crate) values: Values<'a>,
    pub(crate) nulls: Option<&'a NullBuffer>,
    pub(crate) index: &'a ColumnIndex,
    pub(crate) field_type: FieldType,
    pub(crate) array: &'a ArrayRef,
}

/// The ordering key of a value: numbers (and dates, times, booleans) as an `i64` whose order is the value order
/// (IEEE-754 total order for decimals), text as itself (UTF-8 byte order).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Key<'a> {
    Num(i64),
    Text(&'a str),
}

/// An `i64` whose order is the IEEE-754 total order of `f` (what Arrow and DataFusion sort floats by).
#[inline]
pub(crate) fn float_key(f: f64) -> i64 {
    let bits = f.to_bits() as i64;
    bits ^ ((((bits >> 63) as u64) >> 1) as i64)
}

/// The ordering key of a cell (nulls read as whatever the buffer holds).
#[inline]
fn key_at(values: Values<'_>, row: usize) -> Key<'_> {
    match values {
        Values::Int(v) => Key::Num(v[row]),
        Values::Date(v) => Key::Num(i64::from(v[row])),
        Values::Float(v) => Key::Num(float_key(v[row])),
        Values::Bool(v) => Key::Num(i64::from(v.value(row))),
        Values::Text(a) => Key::Text(a.value(row)),
    }
}

/// The ordering key of a filter or cursor value.
pub(crate) fn value_key(value: &Value) -> Key<'_> {
    match value {
        Value::Int(i) | Value::Time(i) | Value::Timestamp(i) => Key::Num(*i),
        Value::Float(f) => Key::Num(float_key(*f)),
        Value::Bool(b) => Key::Num(i64::from(*b)),
        Value::Date(d) => Key::Num(i64::from(*d)),
        Value::Text(s) => Key::Text(s),
    }
}

impl<'a> Column<'a> {
    #[inline]
    pub(crate) fn is_null(&self, row: usize) -> bool {
        self.nulls.is_some_and(|n| n.is_null(row))
    }

    /// The ordering key of a non-text cell (nulls read as whatever the buffer holds).
    #[inline]
    pub(crate) fn num(&self, row: usize) -> i64 {
        match self.values {
            Values::Int(v) => v[row],
            Values::Date(v) => i64::from(v[row]),
            Values::Float(v) => float_key(v[row]),
            Values::Bool(v) => i64::from(v.value(row)),
            Values::Text(_) => 0,
        }
    }

    #[inline]
    pub(crate) fn key(&self, row: usize) -> Key<'a> {
        key_at(self.values, row)
    }

    /// Compares two non-null cells.
    #[inline]
    pub(crate) fn cmp_cells(&self, a: usize, b: usize) -> Ordering {
        if let Some(dict) = &self.index.dictionary {
            return dict.codes[a].cmp(&dict.codes[b]);
        }
        match self.values {
            Values::Text(s) => s.value(a).cmp(s.value(b)),
            _ => self.num(a).cmp(&self.num(b)),
        }
    }

    /// Compares two rows in this column's sort order: ascending or descending, nulls last either way.
    #[inline]
    pub(crate) fn cmp_rows(&self, a: usize, b: usize, descending: bool) -> Ordering {
        match (self.is_null(a), self.is_null(b)) {
            (false, false) => {
                let o = self.cmp_cells(a, b);
                if descending { o.reverse() } else { o }
            }
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
        }
    }

    /// Compares a row with a key value (`None` = null) in this column's sort order, nulls last.
    pub(crate) fn cmp_row_key(&self, row: usize, key: Option<&Key<'_>>, descending: bool) -> Ordering {
        match (self.is_null(row), key) {
            (false, Some(k)) => {
                let o = self.key(row).cmp(k);
                if descending { o.reverse() } else { o }
            }
            (true, None) => Ordering::Equal,
            (true, Some(_)) => Ordering::Greater,
            (false, None) => Ordering::Less,
        }
    }

    /// The cell as a typed value (`None` for null).
    pub(crate) fn value(&self, row: usize) -> Option<Value> {
        if self.is_null(row) {
            return None;
        }
        Some(match (self.values, self.field_type) {
            (Values::Int(v), FieldType::Time) => Value::Time(v[row]),
            (Values::Int(v), FieldType::Datetime) => Value::Timestamp(v[row]),
            (Values::Int(v), _) => Value::Int(v[row]),
            (Values::Date(v), _) => Value::Date(v[row]),
            (Values::Float(v), _) => Value::Float(v[row]),
            (Values::Bool(v), _) => Value::Bool(v.value(row)),
            (Values::Text(v), _) => Value::Text(v.value(row).to_string()),
        })
    }
}

/// Casts columns to the Arrow type their field type maps to, where a reader produced another one.
fn normalize_batch(schema: &TableSchema, batch: RecordBatch) -> Result<RecordBatch, QueryError> {
    let wanted: Vec<DataType> = schema.fields.iter().map(|f| tapwater_ingest::arrow_type(f.field_type)).collect();
    if batch.columns().iter().zip(&wanted).all(|(a, t)| a.data_type() == t) {
        return Ok(batch);
    }
    let internal = |e: arrow::error::ArrowError| QueryError::Internal(format!("normalizing hot table: {e}"));
    let mut columns = Vec::with_capacity(wanted.len());
    let mut fields = Vec::with_capacity(wanted.len());
    for ((array, field), t) in batch.columns().iter().zip(batch.schema().fields()).zip(&wanted) {
        let array =
            if array.data_type() == t { array.clone() } else { arrow::compute::cast(array, t).map_err(internal)? };
        fields.push(field.as_ref().clone().with_data_type(t.clone()).with_nullable(true));
        columns.push(array);
    }
    let arrow_schema = arrow::datatypes::Schema::new_with_metadata(fields, batch.schema().metadata().clone());
    RecordBatch::try_new(std::sync::Arc::new(arrow_schema), columns).map_err(internal)
}

/// (non-decreasing, strictly increasing) over all rows of a column without nulls.
fn ascending_flags(values: &Values<'_>, rows: usize) -> (bool, bool) {
    fn scan<T: PartialOrd>(mut next: impl FnMut(usize) -> T, rows: usize) -> (bool, bool) {
        let mut strict = true;
        let mut previous = next(0);
        for row in 1..rows {
            let current = next(row);
            match previous.partial_cmp(&current) {
                Some(Ordering::Less) => {}
                Some(Ordering::Equal) => strict = false,
                _ => return (false, false),
            }
            previous = current;
        }
        (true, strict)
    }
    match *values {
        Values::Int(v) => scan(|i| v[i], rows),
        Values::Date(v) => scan(|i| v[i], rows),
        Values::Float(v) => scan(|i| float_key(v[i]), rows),
        Values::Bool(v) => scan(|i| v.value(i), rows),
        Values::Text(v) => scan(|i| v.value(i), rows),
    }
}

/// FxHash (rustc's hasher, from `rustc-hash`): much faster than SipHash on short keys, and the keys are the
/// publisher's data, not an attacker's choice per request.
pub(crate) type FxBuild = rustc_hash::FxBuildHasher;
pub(crate) type FxHashMap<K, V> = HashMap<K, V, FxBuild>;

/// Builds the value dictionary of a column, or `None` when it has too many distinct values (or is decimal).
fn build_dictionary(column: &TypedColumn, array: &ArrayRef, rows: usize, field_type: FieldType) -> Option<Dictionary> {
    let max_distinct = (rows / 2).min(MAX_DICTIONARY_VALUES);
    if max_distinct == 0 {
        return None;
    }
    let nulls = column.nulls.as_ref();
    let is_null = |row: usize| nulls.is_some_and(|n| n.is_null(row));
    // First pass: provisional codes in order of first appearance (0 = null, c + 1 = provisional code c).
    let mut provisional = vec![0u32; rows];
    let mut first_rows: Vec<u32> = Vec::new();
    let values = column.values();
    match values {
        Values::Float(_) => return None,
        Values::Text(strings) => {
            // Strings of up to 16 bytes (most codes and names: 5 CJK characters are 15 bytes) are looked up as one
            // u128 in a map per length, which is three times faster than hashing and comparing byte strings.
            let mut short: Vec<FxHashMap<u128, u32>> = (0..=16).map(|_| FxHashMap::default()).collect();
            let mut long: FxHashMap<&str, u32> = FxHashMap::default();
            for (row, slot) in provisional.iter_mut().enumerate() {
                if is_null(row) {
                    continue;
                }
                let next = first_rows.len() as u32;
                let text = strings.value(row);
                let bytes = text.as_bytes();
                let entry = match short.get_mut(bytes.len()) {
                    Some(map) => map.entry(pack_short(bytes)).or_insert(u32::MAX),
                    None => long.entry(text).or_insert(u32::MAX),
                };
                if *entry == u32::MAX {
                    *entry = next;
                    first_rows.push(row as u32);
                }
                let code = *entry;
                if first_rows.len() > max_distinct {
                    return None;
                }
                *slot = code + 1;
            }
        }
        _ => {
            let key = |row: usize| match values {
                Values::Int(v) => v[row],
                Values::Date(v) => i64::from(v[row]),
                Values::Bool(v) => i64::from(v.value(row)),
                Values::Float(_) | Values::Text(_) => 0,
            };
            let (mut min, mut max) = (i64::MAX, i64::MIN);
            for row in (0..rows).filter(|r| !is_null(*r)) {
                let k = key(row);
                min = min.min(k);
                max = max.max(k);
            }
            let span = (i128::from(max) - i128::from(min)).max(0) as u128;
            if span < (4 * max_distinct) as u128 {
                // Small range of integers: index an array by value instead of hashing.
                let mut table = vec![u32::MAX; span as usize + 1];
                for (row, slot) in provisional.iter_mut().enumerate() {
                    if is_null(row) {
                        continue;
                    }
                    let entry = &mut table[(key(row) - min) as usize];
                    if *entry == u32::MAX {
                        *entry = first_rows.len() as u32;
                        first_rows.push(row as u32);
                        if first_rows.len() > max_distinct {
                            return None;
                        }
                    }
                    *slot = *entry + 1;
                }
            } else {
                let mut map: FxHashMap<i64, u32> = FxHashMap::with_capacity_and_hasher(1024, FxBuild::default());
                for (row, slot) in provisional.iter_mut().enumerate() {
                    if is_null(row) {
                        continue;
                    }
                    let next = first_rows.len() as u32;
                    let code = *map.entry(key(row)).or_insert_with(|| {
                        first_rows.push(row as u32);
                        next
                    });
                    if first_rows.len() > max_distinct {
                        return None;
                    }
                    *slot = code + 1;
                }
            }
        }
    }
    // Final codes follow value order, so comparing codes compares values.
    let distinct = first_rows.len();
    let mut order: Vec<u32> = (0..distinct as u32).collect();
    order.sort_unstable_by(|&a, &b| {
        let (ra, rb) = (first_rows[a as usize] as usize, first_rows[b as usize] as usize);
        match values {
            Values::Text(s) => s.value(ra).cmp(s.value(rb)),
            Values::Int(v) => v[ra].cmp(&v[rb]),
            Values::Date(v) => v[ra].cmp(&v[rb]),
            Values::Bool(v) => v.value(ra).cmp(&v.value(rb)),
            Values::Float(_) => Ordering::Equal,
        }
    });
    let mut remap = vec![0u32; distinct + 1];
    remap[0] = distinct as u32; // null
    for (code, old) in order.iter().enumerate() {
        remap[*old as usize + 1] = code as u32;
    }
    let mut counts = vec![0u32; distinct + 1];
    let codes: Vec<Code> = provisional
        .iter()
        .map(|p| {
            let code = remap[*p as usize];
            counts[code as usize] += 1;
            code as Code
        })
        .collect();
    drop(provisional);
    let mut offsets = Vec::with_capacity(distinct + 2);
    let mut total = 0u32;
    offsets.push(0);
    for count in &counts {
        total += count;
        offsets.push(total);
    }
    let mut next = offsets.clone();
    let mut posting_rows = vec![0u32; rows];
    for (row, code) in codes.iter().enumerate() {
        let slot = &mut next[*code as usize];
        posting_rows[*slot as usize] = row as u32;
        *slot += 1;
    }
    let representatives = UInt32Array::from(order.iter().map(|o| first_rows[*o as usize]).collect::<Vec<u32>>());
    let dictionary_values = arrow::compute::take(array.as_ref(), &representatives, None).ok()?;
    let typed = TypedColumn::new(&dictionary_values, field_type).ok()?;
    Some(Dictionary { values: dictionary_values, typed, codes, offsets, rows: posting_rows })
}

/// Packs a string of at most 16 bytes into a `u128` that differs for any two strings of the same length (the first
/// and the last 8 — or 4 — bytes overlap, and together cover the string).
#[inline]
fn pack_short(b: &[u8]) -> u128 {
    let n = b.len();
    if n >= 8 {
        let (mut head, mut tail) = ([0u8; 8], [0u8; 8]);
        head.copy_from_slice(&b[..8]);
        tail.copy_from_slice(&b[n - 8..]);
        u128::from(u64::from_le_bytes(head)) | (u128::from(u64::from_le_bytes(tail)) << 64)
    } else if n >= 4 {
        let (mut head, mut tail) = ([0u8; 4], [0u8; 4]);
        head.copy_from_slice(&b[..4]);
        tail.copy_from_slice(&b[n - 4..]);
        u128::from(u32::from_le_bytes(head)) | (u128::from(u32::from_le_bytes(tail)) << 32)
    } else {
        b.iter().enumerate().fold(0u128, |acc, (i, x)| acc | (u128::from(*x) << (8 * i)))
    }
}

/// Row ids ordered by the column, nulls last, ties by row id.
fn build_permutation(column: &Column<'_>, rows: usize, descending: bool) -> Vec<u32> {
    let mut out = Vec::with_capacity(rows);
    if let Some(dict) = &column.index.dictionary {
        let null_code = dict.null_code();
        if descending {
            for code in (0..null_code).rev() {
                out.extend_from_slice(dict.postings(code));
            }
        } else {
            for code in 0..null_code {
                out.extend_from_slice(dict.postings(code));
            }
        }
        out.extend_from_slice(dict.postings(null_code));
        return out;
    }
    let non_null = (0..rows).filter(|r| !column.is_null(*r));
    match column.values {
        Values::Text(strings) => {
            out.extend(non_null.map(|r| r as u32));
            if descending {
                out.sort_unstable_by(|&a, &b| strings.value(b as usize).cmp(strings.value(a as usize)).then(a.cmp(&b)));
            } else {
                out.sort_unstable_by(|&a, &b| strings.value(a as usize).cmp(strings.value(b as usize)).then(a.cmp(&b)));
            }
        }
        _ => {
            // `!k` reverses the order of an i64 exactly; the row id stays ascending.
            let mut pairs: Vec<(i64, u32)> = non_null
                .map(|r| {
                    let k = column.num(r);
                    (if descending { !k } else { k }, r as u32)
                })
                .collect();
            pairs.sort_unstable();
            out.extend(pairs.into_iter().map(|(_, r)| r));
        }
    }
    out.extend((0..rows).filter(|r| column.is_null(*r)).map(|r| r as u32));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_strings_pack_uniquely_per_length() {
        for n in 0..=16usize {
            let base = vec![b'a'; n];
            let mut seen = std::collections::HashSet::new();
            assert!(seen.insert(pack_short(&base)));
            for i in 0..n {
                for byte in [0u8, b'b', 0xe5] {
                    let mut s = base.clone();
                    s[i] = byte;
                    assert!(seen.insert(pack_short(&s)), "length {n}, position {i}, byte {byte}");
                }
            }
        }
    }

    #[test]
    fn float_keys_follow_total_order() {
        let values = [f64::NEG_INFINITY, -1e300, -1.5, -0.0, 0.0, 1e-300, 2.5, f64::INFINITY];
        for pair in values.windows(2) {
            assert!(float_key(pair[0]) < float_key(pair[1]), "{pair:?}");
            assert_eq!(pair[0].total_cmp(&pair[1]), float_key(pair[0]).cmp(&float_key(pair[1])));
        }
    }
}
