//! Turns a published file — as agencies really publish them — into a clean typed table, and says what it changed.
//!
//! ```text
//! bytes → sniff (format, encoding + confidence)         sniff.rs, decode.rs (Big5/CP950 + EUDC, UTF-16)
//!       → reader: a grid of raw rows, or records        source/: csv, sheet (XLSX/XLS/ODS), html, json, xml; archive.rs (ZIP)
//!       → shape: title/header/footnote/total rows      shape.rs (grids only)
//!       → chain: several files, renames, source column  chain.rs
//!       → pass 1: a reading per column over EVERY row   infer.rs, normalize/ (ROC dates, full-width, units, TWD97 …)
//!       → pass 2: normalise, type, Parquet + statistics convert.rs, with the transform log
//! ```
//!
//! [`sniff`] looks at the first 64 KiB and decides the real format and encoding from the bytes, never from a file
//! name (a name that disagrees is logged as `format_mismatch`). [`ingest_files`] reads the files twice with bounded
//! memory (one batch of rows and one Parquet row group at a time, whatever the size; spreadsheets and HTML pages are
//! read into memory up to documented caps): the first pass picks each column's type and rule over **every** row, so
//! a late `N/A` is a logged null instead of a failed load; the second converts, writes Parquet with statistics and a
//! page index, and records each changed cell in the [`TransformLog`] (rule, column, count, examples). The dataset's
//! [`Pipeline`] (table choice, header rows, renames, forced types, rules switched off, sentinels, code lists, EUDC
//! characters) steers both. [`check_files`] does the same without writing. The `parse_*` functions are the rules a
//! cell is typed by, shared with the query crate so that filter values are read like cells (`105/12/23` included).
//!
//! Does not: store anything (the caller gives a writer and keeps the original bytes), fetch URLs or query databases
//! (the app crate's sources do, then publish the file), or guess: an ambiguous value keeps its text.
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

mod archive;
mod chain;
mod convert;
mod decode;
mod error;
mod infer;
mod normalize;
mod series;
mod shape;
mod sniff;
mod source;
mod value;

#[cfg(test)]
mod tests;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::{DataType, Field as ArrowField, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use tapwater_types::{ColumnStats, FieldType, LOCAL_TIME_ZONE, Pipeline, TableSchema, TransformLog};

pub use error::{IngestError, MalformedKind};
pub use series::{ColumnProposal, FileHeader, propose_from_headers, propose_mapping, read_header, renames_of};
pub use sniff::{SNIFF_BYTES, Sniffed, SourceFormat, TextEncoding, sniff};
pub use source::TableInfo;
pub use value::{parse_boolean, parse_date, parse_datetime, parse_decimal, parse_integer, parse_time};

use chain::ChainSource;
use source::{OpenOptions, Opened, RecordSource};

/// The Parquet key-value metadata key under which the tapwater [`TableSchema`] is stored as JSON.
pub const SCHEMA_METADATA_KEY: &str = "tapwater.schema";

/// A batch is written early when its cells reach this many bytes (long text), so memory stays bounded.
pub(crate) const MAX_BATCH_BYTES: usize = 64 << 20;
/// Largest dictionary page per column chunk before falling back to plain encoding (see `writer_properties`).
const DICTIONARY_PAGE_BYTES: usize = 256 << 10;
/// A row group is closed early when its encoded size reaches this many bytes.
const MAX_ROW_GROUP_BYTES: usize = 256 << 20;

/// Limits and sizes of an ingest, and the dataset's pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestOptions {
    /// Rows per Arrow record batch handed to the Parquet writer (memory per batch).
    pub batch_rows: usize,
    /// Rows per Parquet row group (the unit a query can skip with statistics).
    pub row_group_rows: usize,
    /// More columns than this is refused: a defence against files that are not tables.
    pub max_columns: usize,
    /// What to do with the file: table choice, header rows, renames, types, normalizers …
    pub pipeline: Pipeline,
    /// Limits on ZIP archives (a ZIP bomb is refused, not unpacked).
    pub archive: ArchiveLimits,
    /// Where members of archives are unpacked while they are read (the system temporary directory if `None`).
    pub scratch_dir: Option<PathBuf>,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            batch_rows: 65_536,
            row_group_rows: 131_072,
            max_columns: 2_000,
            pipeline: Pipeline::default(),
            archive: ArchiveLimits::default(),
            scratch_dir: None,
        }
    }
}

/// Safety limits for ZIP archives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Most members an archive may list.
    pub max_members: usize,
    /// Most bytes one member may unpack to.
    pub max_member_bytes: u64,
    /// Highest unpacked/packed ratio of a member (zip bombs reach thousands; real CSV compresses ~5–20×).
    pub max_ratio: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits { max_members: 1_000, max_member_bytes: 4 << 30, max_ratio: 200 }
    }
}

/// One file to ingest, with the name it was published under (file names carry meaning: ROC dates, the declared
/// format, the member of a series).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    pub path: PathBuf,
    /// The name the publisher gave the file (`104年7月.xlsx`); defaults to the path's file name.
    pub name: String,
}

impl InputFile {
    pub fn new(path: impl Into<PathBuf>) -> InputFile {
        let path = path.into();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        InputFile { path, name }
    }

    pub fn named(path: impl Into<PathBuf>, name: impl Into<String>) -> InputFile {
        InputFile { path: path.into(), name: name.into() }
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

/// What was found in one input file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FileReport {
    pub name: String,
    /// `csv`, `tsv`, `json`, `ndjson`, `xlsx`, `xls`, `ods`, `html`, `xml`, `zip`.
    pub format: &'static str,
    pub media_type: &'static str,
    /// The text encoding (empty for binary formats).
    pub encoding: &'static str,
    /// Confidence of the encoding detection, 0–100.
    pub confidence: u8,
    /// The tables the file holds (sheets, HTML tables, ZIP members), and which was read.
    pub tables: Vec<TableInfo>,
    pub table: Option<String>,
    /// Data rows read from this file.
    pub rows: u64,
}

/// What an ingest produced.
#[derive(Debug, Clone)]
pub struct IngestReport {
    /// What the first file was sniffed as (the version's "original" when there is one file).
    pub sniffed: Sniffed,
    pub files: Vec<FileReport>,
    pub schema: TableSchema,
    pub arrow_schema: SchemaRef,
    pub row_count: u64,
    /// One entry per column, in schema order.
    pub stats: Vec<ColumnStats>,
    /// Everything ingestion decided or changed, in order.
    pub transform_log: TransformLog,
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
        schema
            .fields
            .iter()
            .map(|f| {
                let field = ArrowField::new(&f.name, arrow_type(f.field_type), true);
                match &f.role {
                    // Readers of the Arrow schema (the GeoJSON encoder) learn which columns are coordinates by
                    // their values, not only by their names.
                    Some(role) => field.with_metadata([(ROLE_METADATA_KEY.to_string(), role.clone())].into()),
                    None => field,
                }
            })
            .collect::<Vec<_>>(),
    ))
}

/// The Arrow field metadata key holding a column's [`tapwater_types::Field::role`] (`longitude`, `latitude` …).
pub const ROLE_METADATA_KEY: &str = "tapwater.role";

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
    ingest_files(&[InputFile::new(path)], out, options, progress).map_err(|e| match e {
        // One file: the caller knows which; keep errors as they were.
        IngestError::InFile { error, .. } => *error,
        e => e,
    })
}

/// Ingests several files of one table as one version (a yearly series, or the files of an `append`): each is read
/// through the same pipeline, columns are matched by name after renames, and a source column says which file each
/// row came from. With one file, there is no source column.
pub fn ingest_files<W: Write + Send>(
    inputs: &[InputFile],
    out: W,
    options: &IngestOptions,
    progress: &mut dyn FnMut(IngestProgress),
) -> Result<IngestReport, IngestError> {
    if inputs.is_empty() {
        return Err(IngestError::Empty);
    }
    let mut prepared = Vec::with_capacity(inputs.len());
    for input in inputs {
        prepared.push(prepare(input, options).map_err(|e| e.in_file(&input.name))?);
    }
    let total_bytes = prepared.iter().map(|p| p.bytes).sum();
    let batch_rows = options.batch_rows.max(1);
    let mut log = TransformLog::default();
    for p in &prepared {
        log.entries.extend(p.log.iter().cloned());
    }

    // Pass 1: shapes and types.
    let mut reporter = Reporter { progress, pass: IngestPass::Inferring, total_bytes, every: batch_rows as u64 };
    let mut source = ChainSource::open(&prepared, options, None)?;
    let mut inferred = infer::infer_pass(&mut source, &options.pipeline, options.max_columns, &mut reporter)?;
    log.entries.extend(source.take_log());
    let file_rows = source.rows_per_file().to_vec();
    let layout = source.layout();
    drop(source);
    if prepared.len() > 1
        && let Some(field) = inferred.schema.fields.first_mut()
    {
        field.role = Some("source_file".into());
    }
    if inferred.schema.fields.is_empty() {
        return Err(IngestError::Empty); // e.g. `[]`: no row, so no column either
    }

    // Pass 2: conversion.
    let arrow_schema = arrow_schema(&inferred.schema);
    let mut source = ChainSource::open(&prepared, options, Some(&layout))?;
    source.discard_log();
    reporter.pass = IngestPass::Converting;
    let writer = ArrowWriter::try_new(out, arrow_schema.clone(), Some(writer_properties(&inferred.schema, options)?))?;
    let stats =
        convert::convert_pass(&mut source, &inferred, &arrow_schema, writer, batch_rows, &mut reporter, &mut log)?;

    let files = prepared
        .iter()
        .zip(file_rows)
        .map(|(p, rows)| FileReport {
            name: p.input.name.clone(),
            format: p.sniffed.format_name,
            media_type: p.sniffed.media_type,
            encoding: p.sniffed.encoding,
            confidence: p.sniffed.confidence,
            tables: p.tables.clone(),
            table: p.member.clone().or_else(|| p.table.clone()),
            rows,
        })
        .collect();
    Ok(IngestReport {
        sniffed: prepared[0].sniffed,
        files,
        schema: inferred.schema.clone(),
        arrow_schema,
        row_count: inferred.row_count,
        stats,
        transform_log: log,
    })
}

/// Reads the files exactly as [`ingest_files`] does, without writing anything: what tapwater would make of them.
pub fn check_files(inputs: &[InputFile], options: &IngestOptions) -> Result<IngestReport, IngestError> {
    ingest_files(inputs, std::io::sink(), options, &mut |_| {})
}

/// The tables a file holds (sheets of a workbook, tables of an HTML page, members of a ZIP), for a publisher to
/// choose one (`Pipeline::table`).
pub fn list_tables(path: &Path) -> Result<Vec<TableInfo>, IngestError> {
    list_tables_with(path, &IngestOptions::default())
}

/// [`list_tables`] with the archive limits of `options`.
pub fn list_tables_with(path: &Path, options: &IngestOptions) -> Result<Vec<TableInfo>, IngestError> {
    let sniffed = sniff(&read_prefix(path)?)?;
    match sniffed.format {
        SourceFormat::Zip => archive::list_members(path, &options.archive),
        _ => source::list_tables(path, &sniffed),
    }
}

/// One input, sniffed, with the file to read (a ZIP member is unpacked to a scratch file first).
pub(crate) struct Prepared {
    pub input: InputFile,
    /// The file read: the input itself, or the unpacked ZIP member.
    pub path: PathBuf,
    pub sniffed: Sniffed,
    pub bytes: u64,
    pub tables: Vec<TableInfo>,
    /// The table read, when the file holds several.
    pub table: Option<String>,
    /// The ZIP member read, when the input is an archive.
    pub member: Option<String>,
    /// Decisions made before reading (format mismatch, member chosen …).
    pub log: Vec<tapwater_types::TransformEntry>,
    /// Keeps an unpacked member alive while it is read.
    _scratch: Option<tempfile::TempPath>,
}

fn prepare(input: &InputFile, options: &IngestOptions) -> Result<Prepared, IngestError> {
    let mut sniffed = sniff(&read_prefix(&input.path)?)?;
    let mut log = Vec::new();
    if let Some(entry) = format_mismatch(&input.name, &sniffed) {
        log.push(entry);
    }
    if let Some((date, matched)) = normalize::dates::date_in_file_name(&input.name) {
        // Agencies date their releases in the file name (`…1040826.csv`): the version remembers it.
        log.push(tapwater_types::TransformEntry {
            file: Some(input.name.clone()),
            rule: "file_name_date".into(),
            count: 1,
            detail: Some(format!("the file name says {matched} (ROC) = {date}")),
            examples: vec![tapwater_types::TransformExample {
                row: None,
                before: matched,
                after: Some(date.to_string()),
            }],
            ..Default::default()
        });
    }
    let mut path = input.path.clone();
    let mut scratch = None;
    let mut table = options.pipeline.table.clone();
    let mut member_name = None;
    let tables;
    if sniffed.format == SourceFormat::Zip {
        let member =
            archive::extract_member(&input.path, table.as_deref(), &options.archive, options.scratch_dir.as_deref())?;
        log.extend(member.log);
        tables = member.tables;
        path = member.path.to_path_buf();
        sniffed = sniff(&read_prefix(&path)?)?;
        scratch = Some(member.path);
        // The member was the choice; a workbook inside it gets the pipeline's table, if any, by `#N` or name.
        table = table.filter(|t| tables.iter().all(|m: &TableInfo| &m.name != t && &m.id != t));
        member_name = Some(member.name);
        if sniffed.format == SourceFormat::Zip {
            return Err(IngestError::ArchiveLimit {
                message: "a ZIP inside a ZIP is not unpacked".into(),
                message_zh: "不解開壓縮檔內的壓縮檔".into(),
            });
        }
    } else {
        tables = source::list_tables(&path, &sniffed)?;
    }
    if let Some(declared) = &options.pipeline.encoding
        && !sniffed.encoding.is_empty()
        && !same_encoding(declared, sniffed.encoding)
    {
        let entry = tapwater_types::TransformEntry {
            file: Some(input.name.clone()),
            rule: "encoding_mismatch".into(),
            count: 1,
            detail: Some(format!(
                "declared {declared}, but the bytes are {} (confidence {}%); read as {}",
                sniffed.encoding, sniffed.confidence, sniffed.encoding
            )),
            ..Default::default()
        };
        log.push(entry);
    }
    let bytes = std::fs::metadata(&path)?.len();
    Ok(Prepared {
        input: input.clone(),
        path,
        sniffed,
        bytes,
        tables,
        table,
        member: member_name,
        log,
        _scratch: scratch,
    })
}

/// Whether a declared encoding name means the detected one (`big5`, `BIG-5`, `cp950` are all Big5).
fn same_encoding(declared: &str, detected: &str) -> bool {
    let norm = |s: &str| s.to_ascii_lowercase().replace(['-', '_', ' '], "");
    let (d, e) = (norm(declared), norm(detected));
    let family = |s: &str| match s {
        "big5" | "cp950" | "big5hkscs" | "ms950" => "big5".to_string(),
        "utf8" | "utf8withbom" | "utf8bom" => "utf8".to_string(),
        other => other.to_string(),
    };
    family(&d) == family(&e)
}

/// A file whose name says one format and whose bytes say another: recorded for the publisher, not fatal.
fn format_mismatch(name: &str, sniffed: &Sniffed) -> Option<tapwater_types::TransformEntry> {
    let ext = Path::new(name).extension()?.to_str()?.to_ascii_lowercase();
    let declared = match ext.as_str() {
        "csv" | "txt" => "csv",
        "tsv" | "tab" => "tsv",
        "json" => "json",
        "ndjson" | "jsonl" => "ndjson",
        "xlsx" => "xlsx",
        "xls" => "xls",
        "ods" => "ods",
        "html" | "htm" => "html",
        "xml" => "xml",
        "zip" => "zip",
        _ => return None,
    };
    let real = sniffed.format_name;
    let compatible = declared == real || matches!((declared, real), ("csv", "tsv") | ("json", "ndjson"));
    if declared == "csv" && real == "tsv" {
        // Excel's "Unicode text" export is tab-separated and often named .csv: worth saying, still a CSV family.
        return Some(tapwater_types::TransformEntry {
            file: Some(name.to_string()),
            rule: "format_mismatch".into(),
            count: 1,
            detail: Some(format!("named .{ext}, but the bytes are tab-separated (TSV); read as TSV")),
            ..Default::default()
        });
    }
    (!compatible).then(|| tapwater_types::TransformEntry {
        file: Some(name.to_string()),
        rule: "format_mismatch".into(),
        count: 1,
        detail: Some(format!("named .{ext}, but the bytes are {real}; read as {real}")),
        ..Default::default()
    })
}

/// Opens one prepared input for a pass: a grid is shaped into a table, a record source is used as it is.
pub(crate) fn open_table(
    prepared: &Prepared,
    options: &IngestOptions,
    check_utf8: bool,
    known_columns: Option<&[String]>,
) -> Result<Box<dyn RecordSource>, IngestError> {
    let open_options = OpenOptions {
        check_utf8,
        known_columns,
        max_columns: options.max_columns,
        table: prepared.table.as_deref(),
        eudc: &options.pipeline.eudc,
    };
    Ok(match source::open(&prepared.path, &prepared.sniffed, open_options)? {
        Opened::Records(records) => records,
        Opened::Grid(grid) => {
            let on = |rule: &str| options.pipeline.normalizers.get(rule).copied().unwrap_or(true);
            let shape_options = shape::ShapeOptions {
                header_rows: options.pipeline.header_rows,
                skip_rows: options.pipeline.skip_rows,
                max_columns: options.max_columns,
                known_columns,
                fill_down: on("fill_down"),
                total_rows: on("total_row"),
                footnote_rows: on("footnote_row"),
            };
            Box::new(shape::ShapedSource::new(grid, &shape_options)?)
        }
    })
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
pub(crate) struct Reporter<'a> {
    progress: &'a mut dyn FnMut(IngestProgress),
    pub pass: IngestPass,
    total_bytes: u64,
    pub every: u64,
}

impl Reporter<'_> {
    pub(crate) fn report(&mut self, bytes_read: u64, rows: u64) {
        (self.progress)(IngestProgress { pass: self.pass, bytes_read, total_bytes: self.total_bytes, rows });
    }
}
