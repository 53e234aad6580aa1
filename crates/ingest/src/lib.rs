//! Turns a published file into a typed table: sniffing, reading, whole-column type inference, Parquet.
//!
//! ```text
//! bytes → sniff (format, encoding, delimiter) → reader (rows of text cells)
//!       → pass 1: every cell narrows its column's possible types → schema
//!       → pass 2: cells → typed Arrow batches → Parquet (+ column statistics)
//! ```
//!
//! [`sniff`] looks at the first 64 KiB and decides the real format from the bytes, never from a file name.
//! [`ingest_file`] reads the file twice with bounded memory (one batch of rows and one Parquet row group at a time,
//! whatever the file size): the first pass infers each column's type over **every** row, so a late `N/A` makes a
//! column text instead of failing the load, the second converts and writes Parquet with statistics and a page index.
//! The `parse_*` functions are the exact rules a cell is typed by, shared with the query crate so that filter values
//! are read like cells.
//!
//! Reads: CSV/TSV (`,` `\t` `;` `|`) and JSON/NDJSON, in UTF-8 with or without a BOM.
//!
//! Does not (yet): decode Big5/CP950 or UTF-16, read spreadsheets (XLSX/XLS/ODS), HTML tables, XML or ZIP — those
//! are refused with [`IngestError::UnsupportedFormat`] / [`IngestError::UnsupportedEncoding`]; normalise values
//! (ROC dates, full-width digits, thousands separators, trimming) — no cell is altered; find a header that is not on
//! the first line; store anything (the caller gives a writer and keeps the original bytes).
//!
//! ```no_run
//! use tapwater_ingest::{IngestOptions, ingest_file};
//! let out = std::fs::File::create("accidents.parquet")?;
//! let report = ingest_file("accidents.csv".as_ref(), out, &IngestOptions::default(), &mut |p| {
//!     eprintln!("{:?} {}/{} bytes", p.pass, p.bytes_read, p.total_bytes);
//! })?;
//! println!("{} rows, {} columns", report.row_count, report.schema.fields.len());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod convert;
mod error;
mod infer;
mod sniff;
mod source;
mod value;

#[cfg(test)]
mod tests;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field as ArrowField, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use tapwater_types::{ColumnStats, Field, FieldType, LOCAL_TIME_ZONE, TableSchema};

pub use error::{IngestError, MalformedKind};
pub use sniff::{SNIFF_BYTES, Sniffed, SourceFormat, sniff};
pub use value::{parse_boolean, parse_date, parse_datetime, parse_decimal, parse_integer, parse_time};

use convert::{CellProblem, ColumnConverter};
use infer::ColumnInference;
use source::{OpenOptions, RecordSource};
use value::LocalZone;

/// The Parquet key-value metadata key under which the tapwater [`TableSchema`] is stored as JSON.
pub const SCHEMA_METADATA_KEY: &str = "tapwater.schema";

/// A batch is written early when its cells reach this many bytes (long text), so memory stays bounded.
const MAX_BATCH_BYTES: usize = 64 << 20;
/// Largest dictionary page per column chunk before falling back to plain encoding (see `writer_properties`).
const DICTIONARY_PAGE_BYTES: usize = 256 << 10;
/// A row group is closed early when its encoded size reaches this many bytes.
const MAX_ROW_GROUP_BYTES: usize = 256 << 20;

/// Limits and sizes of an ingest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestOptions {
    /// Rows per Arrow record batch handed to the Parquet writer (memory per batch).
    pub batch_rows: usize,
    /// Rows per Parquet row group (the unit a query can skip with statistics).
    pub row_group_rows: usize,
    /// More columns than this is refused: a defence against files that are not tables.
    pub max_columns: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions { batch_rows: 65_536, row_group_rows: 131_072, max_columns: 2_000 }
    }
}

/// Which of the two passes over the file is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestPass {
    /// Pass 1: reading every cell to infer the column types.
    Inferring,
    /// Pass 2: converting to typed columns and writing Parquet.
    Converting,
}

/// Progress of an ingest, reported at the start and end of each pass and after every batch of rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestProgress {
    pub pass: IngestPass,
    pub bytes_read: u64,
    pub total_bytes: u64,
    /// Rows read so far in this pass.
    pub rows: u64,
}

/// What an ingest produced.
#[derive(Debug, Clone)]
pub struct IngestReport {
    pub sniffed: Sniffed,
    pub schema: TableSchema,
    pub arrow_schema: SchemaRef,
    pub row_count: u64,
    /// One entry per column, in schema order.
    pub stats: Vec<ColumnStats>,
}

/// The Arrow type a [`FieldType`] is stored as.
pub fn arrow_type(t: FieldType) -> DataType {
    match t {
        FieldType::Integer => DataType::Int64,
        FieldType::Decimal => DataType::Float64,
        FieldType::Boolean => DataType::Boolean,
        FieldType::Date => DataType::Date32,
        FieldType::Time => DataType::Time64(TimeUnit::Microsecond),
        FieldType::Datetime => DataType::Timestamp(TimeUnit::Microsecond, Some(LOCAL_TIME_ZONE.into())),
        FieldType::Text => DataType::Utf8,
    }
}

/// The Arrow schema of a table: field names exactly as published, every field nullable.
pub fn arrow_schema(schema: &TableSchema) -> SchemaRef {
    Arc::new(Schema::new(
        schema.fields.iter().map(|f| ArrowField::new(&f.name, arrow_type(f.field_type), true)).collect::<Vec<_>>(),
    ))
}

/// Reads the file at `path` twice: pass 1 infers each column's type over EVERY row; pass 2 converts to typed Arrow
/// batches and writes Parquet to `out`. Memory stays bounded whatever the file size (no whole-file buffering).
///
/// The Parquet file is ZSTD-compressed, has page-level statistics and a page index, row groups of
/// `options.row_group_rows` rows, and the [`TableSchema`] as JSON under [`SCHEMA_METADATA_KEY`].
pub fn ingest_file<W: Write + Send>(
    path: &Path,
    out: W,
    options: &IngestOptions,
    progress: &mut dyn FnMut(IngestProgress),
) -> Result<IngestReport, IngestError> {
    let total_bytes = std::fs::metadata(path)?.len();
    let sniffed = sniff(&read_prefix(path)?)?;
    let batch_rows = options.batch_rows.max(1);

    // Pass 1: types.
    let mut reporter = Reporter { progress, pass: IngestPass::Inferring, total_bytes, every: batch_rows as u64 };
    let open_options = OpenOptions { check_utf8: true, known_columns: None, max_columns: options.max_columns };
    let mut source = source::open(path, &sniffed, open_options)?;
    let (columns, row_count) = infer_types(source.as_mut(), options.max_columns, &mut reporter)?;
    let schema = TableSchema {
        fields: source
            .headers()
            .iter()
            .zip(&columns)
            .map(|(name, column)| Field { name: name.clone(), field_type: column.field_type(), description: None })
            .collect(),
    };
    drop(source);
    if schema.fields.is_empty() {
        return Err(IngestError::Empty); // e.g. `[]`: no row, so no column either
    }

    // Pass 2: conversion.
    let arrow_schema = arrow_schema(&schema);
    let names: Vec<String> = schema.fields.iter().map(|f| f.name.clone()).collect();
    let open_options = OpenOptions { check_utf8: false, known_columns: Some(&names), max_columns: options.max_columns };
    let mut source = source::open(path, &sniffed, open_options)?;
    reporter.pass = IngestPass::Converting;
    let writer = ArrowWriter::try_new(out, arrow_schema.clone(), Some(writer_properties(&schema, options)?))?;
    let stats = convert(source.as_mut(), &schema, &arrow_schema, writer, batch_rows, row_count, &mut reporter)?;

    Ok(IngestReport { sniffed, schema, arrow_schema, row_count, stats })
}

fn read_prefix(path: &Path) -> Result<Vec<u8>, IngestError> {
    use std::io::Read;
    let mut prefix = Vec::with_capacity(SNIFF_BYTES);
    std::fs::File::open(path)?.take(SNIFF_BYTES as u64).read_to_end(&mut prefix)?;
    Ok(prefix)
}

fn writer_properties(schema: &TableSchema, options: &IngestOptions) -> Result<WriterProperties, IngestError> {
    let schema_json = serde_json::to_string(schema).map_err(|e| IngestError::Parquet(e.to_string()))?;
    Ok(WriterProperties::builder()
        // Level 1: publish-to-first-answer is what users wait for; higher levels cost far more time than they save.
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1)?))
        // Page statistics give the column index and offset index, so readers skip pages, not only row groups.
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(options.row_group_rows.max(1)))
        .set_max_row_group_bytes(Some(MAX_ROW_GROUP_BYTES))
        // Dictionary encoding stays on, but a column chunk falls back to plain pages once its dictionary passes
        // 256 KiB instead of 1 MiB. Columns with few values (districts, years, codes) are unaffected; ids,
        // timestamps and coordinates stop paying for a dictionary that does not help them. Measured on the 1M-row
        // benchmark file: pass 2 −17 % time and a 10 % smaller file (28.8 → 25.8 MB).
        .set_dictionary_page_size_limit(DICTIONARY_PAGE_BYTES)
        .set_key_value_metadata(Some(vec![KeyValue::new(SCHEMA_METADATA_KEY.to_string(), schema_json)]))
        .build())
}

/// Calls the progress callback at pass boundaries and every `every` rows.
struct Reporter<'a> {
    progress: &'a mut dyn FnMut(IngestProgress),
    pass: IngestPass,
    total_bytes: u64,
    every: u64,
}

impl Reporter<'_> {
    fn report(&mut self, bytes_read: u64, rows: u64) {
        (self.progress)(IngestProgress { pass: self.pass, bytes_read, total_bytes: self.total_bytes, rows });
    }
}

/// Pass 1: every non-null cell narrows its column's possible types.
fn infer_types(
    source: &mut dyn RecordSource,
    max_columns: usize,
    reporter: &mut Reporter<'_>,
) -> Result<(Vec<ColumnInference>, u64), IngestError> {
    reporter.report(source.bytes_read(), 0);
    let mut columns = vec![ColumnInference::default(); source.headers().len()];
    let mut zone = LocalZone::new();
    let mut rows = 0u64;
    while let Some(row) = source.next_row()? {
        if row.width() > columns.len() {
            if row.width() > max_columns {
                return Err(IngestError::TooManyColumns { count: row.width(), max: max_columns });
            }
            columns.resize(row.width(), ColumnInference::default());
        }
        for (i, column) in columns.iter_mut().enumerate() {
            if let Some(cell) = row.cell(i) {
                column.observe(cell, &mut zone);
            }
        }
        rows += 1;
        if rows.is_multiple_of(reporter.every) {
            reporter.report(source.bytes_read(), rows);
        }
    }
    // Columns a JSON source discovered after the last row that had them are covered by `resize` above.
    columns.resize(source.headers().len(), ColumnInference::default());
    reporter.report(source.bytes_read(), rows);
    Ok((columns, rows))
}

/// Pass 2: typed batches to Parquet, statistics on the way.
fn convert<W: Write + Send>(
    source: &mut dyn RecordSource,
    schema: &TableSchema,
    arrow_schema: &SchemaRef,
    mut writer: ArrowWriter<W>,
    batch_rows: usize,
    expected_rows: u64,
    reporter: &mut Reporter<'_>,
) -> Result<Vec<ColumnStats>, IngestError> {
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
