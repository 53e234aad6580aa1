//! Encoders: Arrow data out as JSON, NDJSON, CSV and GeoJSON bytes.
//!
//! Everything is written straight from the Arrow arrays into a `Vec<u8>`: each column is downcast once per page or
//! per export (see [`value`]), and each cell is written by a small byte-level routine (see [`text`]) — no
//! `serde_json::Value` per row, no `String` per cell. How each Arrow type is rendered is documented (and decided) in
//! [`value`], so `/rows`, `/aggregate`, `/sql` and downloads all agree.
//!
//! Two entry points:
//! - [`encode_page`]: one page of rows (responses of `/rows`, `/aggregate`, `/sql`), in one buffer.
//! - [`export_chunks`]: a whole table for download, as an iterator of ~256 KiB chunks encoded on demand, so memory
//!   stays constant whatever the table size; the concatenated chunks are byte-identical to encoding the table in
//!   one go.
//!
//! CSV follows RFC 4180 except for the line ending: rows end in `\n`, not `\r\n`, which every spreadsheet and CSV
//! library reads and which keeps files diffable with line tools. Line breaks inside quoted cells are kept as
//! published.

mod text;
mod value;

use std::sync::Arc;

use arrow::array::{ArrayRef, UInt32Array};
use arrow::datatypes::{DataType, Schema};
use arrow::record_batch::RecordBatch;
use bytes::Bytes;

use crate::QueryError;
use crate::hot::HotTable;
use value::ColumnWriter;

/// The formats rows can be returned in (`?_format=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    Json,
    Ndjson,
    Csv,
    Geojson,
}

impl OutputFormat {
    pub const ALL: [OutputFormat; 4] =
        [OutputFormat::Json, OutputFormat::Ndjson, OutputFormat::Csv, OutputFormat::Geojson];

    /// The format named in `_format=` (exact, lowercase), if any.
    pub fn from_name(name: &str) -> Option<Self> {
        OutputFormat::ALL.into_iter().find(|format| format.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Json => "json",
            OutputFormat::Ndjson => "ndjson",
            OutputFormat::Csv => "csv",
            OutputFormat::Geojson => "geojson",
        }
    }

    /// The `Content-Type` of a response in this format (always UTF-8).
    pub fn media_type(self) -> &'static str {
        match self {
            OutputFormat::Json => "application/json; charset=utf-8",
            OutputFormat::Ndjson => "application/x-ndjson; charset=utf-8",
            OutputFormat::Csv => "text/csv; charset=utf-8",
            OutputFormat::Geojson => "application/geo+json; charset=utf-8",
        }
    }

    /// File name extension for downloads, without the dot.
    pub fn extension(self) -> &'static str {
        self.name()
    }
}

/// Which rows of a batch to write.
#[derive(Debug, Clone, Copy)]
pub enum RowSet<'a> {
    /// Every row, in order.
    All,
    /// These row indexes, in this order (e.g. the rows the fast path selected from a hot table).
    Ids(&'a [u32]),
}

/// Paging information written next to the rows of a JSON or GeoJSON page. `None` fields are left out.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageMeta<'a> {
    /// The token for the next page; written as `null` on the last page when `total` is given (i.e. for `/rows`).
    pub next_cursor: Option<&'a str>,
    pub total: Option<u64>,
    /// For `/aggregate`: the number of groups before `_limit`/`_offset`.
    pub groups: Option<u64>,
    /// For `/sql`: whether the result was cut at the row limit.
    pub truncated: Option<bool>,
}

/// The coordinate column names tapwater recognises (compared case-insensitively after trimming), from the
/// conventions seen on data.gov.tw: English short and long forms, TWD97-to-WGS84 conversions, and Chinese.
const LON_NAMES: &[&str] = &["lon", "lng", "long", "longitude", "x_wgs84", "經度", "經度座標"];
const LAT_NAMES: &[&str] = &["lat", "latitude", "y_wgs84", "緯度", "緯度座標"];

/// The (longitude, latitude) column indexes of a table, if it has both: numeric (Float64/Int64) columns named like
/// a coordinate (see `LON_NAMES`/`LAT_NAMES`) or containing 經度 / 緯度. The first match of each wins, exact names
/// before names that merely contain the Chinese words.
pub fn geo_columns(schema: &Schema) -> Option<(usize, usize)> {
    let numeric = |index: usize| matches!(schema.field(index).data_type(), DataType::Float64 | DataType::Int64);
    let find = |names: &[&str], word: &str| {
        let normalized: Vec<String> = schema.fields().iter().map(|f| f.name().trim().to_lowercase()).collect();
        let exact = (0..normalized.len()).find(|&i| numeric(i) && names.contains(&normalized[i].as_str()));
        exact.or_else(|| (0..normalized.len()).find(|&i| numeric(i) && normalized[i].contains(word)))
    };
    // Columns ingestion recognised by their values come first: it also knows when `X` holds latitudes.
    let by_role = |role: &str| {
        schema
            .fields()
            .iter()
            .position(|f| f.metadata().get(tapwater_ingest::ROLE_METADATA_KEY).map(String::as_str) == Some(role))
    };
    if let (Some(lon), Some(lat)) = (by_role("longitude"), by_role("latitude"))
        && numeric(lon)
        && numeric(lat)
    {
        return Some((lon, lat));
    }
    Some((find(LON_NAMES, "經度")?, find(LAT_NAMES, "緯度")?))
}

/// Refusal of `_format=geojson` for a table without coordinates.
fn no_coordinates() -> QueryError {
    QueryError::invalid_parameter(
        "_format",
        "geojson needs longitude and latitude columns (e.g. lon/lat or 經度/緯度), and this table has none",
        "geojson 需要經度與緯度欄位（例如 lon/lat 或 經度/緯度），此資料表沒有",
    )
}

/// The writers for the selected columns of one batch, in one format.
struct RowEncoder {
    format: OutputFormat,
    columns: Vec<ColumnWriter>,
    /// JSON: `"name":` for each column, escaped once.
    keys: Vec<Vec<u8>>,
    /// GeoJSON: the coordinate columns (kept out of `columns`, which are the properties).
    geo: Option<(ColumnWriter, ColumnWriter)>,
    /// The header line for CSV.
    header: Vec<u8>,
}

impl RowEncoder {
    fn new(format: OutputFormat, batch: &RecordBatch, columns: &[usize]) -> Result<Self, QueryError> {
        let schema = batch.schema();
        if let Some(&bad) = columns.iter().find(|&&c| c >= batch.num_columns()) {
            return Err(QueryError::Internal(format!("column {bad} of a batch with {}", batch.num_columns())));
        }
        let mut selected: Vec<usize> = columns.to_vec();
        let geo = if format == OutputFormat::Geojson {
            let (lon, lat) = geo_columns(&schema).ok_or_else(no_coordinates)?;
            selected.retain(|&c| c != lon && c != lat);
            Some((ColumnWriter::new(batch.column(lon))?, ColumnWriter::new(batch.column(lat))?))
        } else {
            None
        };
        let writers = selected.iter().map(|&c| ColumnWriter::new(batch.column(c))).collect::<Result<Vec<_>, _>>()?;
        let names: Vec<&str> = selected.iter().map(|&c| schema.field(c).name().as_str()).collect();
        let keys = names
            .iter()
            .map(|name| {
                let mut key = Vec::with_capacity(name.len() + 3);
                text::write_json_str(&mut key, name);
                key.push(b':');
                key
            })
            .collect();
        let mut header = Vec::new();
        if format == OutputFormat::Csv {
            for (i, name) in names.iter().enumerate() {
                if i > 0 {
                    header.push(b',');
                }
                text::write_csv_str(&mut header, name);
            }
            header.push(b'\n');
        }
        Ok(RowEncoder { format, columns: writers, keys, geo, header })
    }

    /// One JSON object `{"col":value,…}`.
    #[inline]
    fn write_object(&self, out: &mut Vec<u8>, row: usize) {
        out.push(b'{');
        for (i, (column, key)) in self.columns.iter().zip(&self.keys).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(key);
            column.write_json(out, row);
        }
        out.push(b'}');
    }

    /// One CSV line, with its `\n`.
    #[inline]
    fn write_csv_line(&self, out: &mut Vec<u8>, row: usize) {
        for (i, column) in self.columns.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            column.write_csv(out, row);
        }
        out.push(b'\n');
    }

    /// One GeoJSON Feature (RFC 7946 §3.2) with a Point geometry, or a null geometry when a coordinate is missing.
    #[inline]
    fn write_feature(&self, out: &mut Vec<u8>, row: usize) {
        out.extend_from_slice(b"{\"type\":\"Feature\",\"geometry\":");
        match &self.geo {
            Some((lon, lat)) if lon.has_coordinate(row) && lat.has_coordinate(row) => {
                out.extend_from_slice(b"{\"type\":\"Point\",\"coordinates\":[");
                lon.write_coordinate(out, row);
                out.push(b',');
                lat.write_coordinate(out, row);
                out.extend_from_slice(b"]}");
            }
            _ => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"properties\":");
        self.write_object(out, row);
        out.push(b'}');
    }

    /// Everything before the first row.
    fn write_prologue(&self, out: &mut Vec<u8>, page: bool) {
        match self.format {
            OutputFormat::Json if page => out.extend_from_slice(b"{\"rows\":["),
            OutputFormat::Json => out.push(b'['),
            OutputFormat::Ndjson => {}
            OutputFormat::Csv => out.extend_from_slice(&self.header),
            OutputFormat::Geojson => out.extend_from_slice(b"{\"type\":\"FeatureCollection\",\"features\":["),
        }
    }

    /// One row, preceded by its separator when it is not the first.
    #[inline]
    fn write_row(&self, out: &mut Vec<u8>, row: usize, first: bool) {
        match self.format {
            OutputFormat::Json => {
                if !first {
                    out.push(b',');
                }
                self.write_object(out, row);
            }
            OutputFormat::Ndjson => {
                self.write_object(out, row);
                out.push(b'\n');
            }
            OutputFormat::Csv => self.write_csv_line(out, row),
            OutputFormat::Geojson => {
                if !first {
                    out.push(b',');
                }
                self.write_feature(out, row);
            }
        }
    }

    /// Everything after the last row: closes the array and, for pages, adds the paging members.
    fn write_epilogue(&self, out: &mut Vec<u8>, meta: Option<&PageMeta<'_>>) {
        match self.format {
            OutputFormat::Json | OutputFormat::Geojson => {
                out.push(b']');
                if let Some(meta) = meta {
                    write_meta(out, meta);
                }
                if meta.is_some() || self.format == OutputFormat::Geojson {
                    out.push(b'}');
                }
            }
            OutputFormat::Ndjson | OutputFormat::Csv => {}
        }
    }
}

fn write_meta(out: &mut Vec<u8>, meta: &PageMeta<'_>) {
    match meta.next_cursor {
        Some(cursor) => {
            out.extend_from_slice(b",\"next_cursor\":");
            text::write_json_str(out, cursor);
        }
        None if meta.total.is_some() => out.extend_from_slice(b",\"next_cursor\":null"),
        None => {}
    }
    if let Some(total) = meta.total {
        out.extend_from_slice(b",\"total\":");
        text::write_u64(out, total);
    }
    if let Some(groups) = meta.groups {
        out.extend_from_slice(b",\"groups\":");
        text::write_u64(out, groups);
    }
    if let Some(truncated) = meta.truncated {
        out.extend_from_slice(if truncated { b",\"truncated\":true" } else { b",\"truncated\":false" });
    }
}

/// Encodes one page of rows of `batch` (the columns `columns`, in that order) as a complete response body:
///
/// - json: `{"rows":[{col: value, …}, …], "next_cursor": …, "total": N, "groups": G, "truncated": b}` — the paging keys only
///   when given in `meta`; `next_cursor` is `null` on the last page when `total` is given;
/// - ndjson: one JSON object per line, nothing else;
/// - csv: a header line with the column names, then one line per row (`\n` line ends);
/// - geojson: a FeatureCollection of Point features from the table's coordinate columns ([`geo_columns`]; refused
///   with `invalid_parameter` on `_format` when there are none); properties are the other selected columns; the
///   paging keys are foreign members of the collection.
pub fn encode_page(
    format: OutputFormat,
    batch: &RecordBatch,
    rows: RowSet<'_>,
    columns: &[usize],
    meta: &PageMeta<'_>,
) -> Result<Bytes, QueryError> {
    if let RowSet::Ids(ids) = rows {
        if let Some(&bad) = ids.iter().find(|&&id| id as usize >= batch.num_rows()) {
            return Err(QueryError::Internal(format!("row {bad} of a batch with {} rows", batch.num_rows())));
        }
        // Types that need converting are converted over the whole array: cut the batch down to the page first
        // so a 100-row page of a million-row SQL result does not convert a million values.
        let needs_cut =
            columns.iter().any(|&c| c < batch.num_columns() && !ColumnWriter::is_direct(batch.column(c).data_type()));
        if needs_cut {
            let indices = UInt32Array::from(ids.to_vec());
            let taken = batch
                .columns()
                .iter()
                .map(|column| arrow::compute::take(column.as_ref(), &indices, None))
                .collect::<Result<Vec<ArrayRef>, _>>()
                .and_then(|columns| RecordBatch::try_new(batch.schema(), columns))
                .map_err(|e| QueryError::Internal(format!("cannot select page rows: {e}")))?;
            return encode_page(format, &taken, RowSet::All, columns, meta);
        }
    }
    let encoder = RowEncoder::new(format, batch, columns)?;
    let row_count = match rows {
        RowSet::All => batch.num_rows(),
        RowSet::Ids(ids) => ids.len(),
    };
    let mut out = Vec::with_capacity(64 + row_count * (16 + 12 * columns.len()));
    encoder.write_prologue(&mut out, true);
    match rows {
        RowSet::All => {
            for row in 0..batch.num_rows() {
                encoder.write_row(&mut out, row, row == 0);
            }
        }
        RowSet::Ids(ids) => {
            for (i, &row) in ids.iter().enumerate() {
                encoder.write_row(&mut out, row as usize, i == 0);
            }
        }
    }
    encoder.write_epilogue(&mut out, Some(meta));
    Ok(Bytes::from(out))
}

/// Target size of one export chunk: large enough that per-chunk overhead vanishes, small enough for constant memory
/// and a steady stream. A chunk ends at the first row boundary past this size.
const CHUNK_BYTES: usize = 256 * 1024;

/// A UTF-8 byte order mark, which Excel needs to read a CSV file as UTF-8 rather than Big5 on Taiwanese Windows.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A whole table encoded for download, chunk by chunk (see [`export_chunks`]).
pub struct ExportChunks {
    /// Keeps the arrays the writers point into alive (they also hold their own references).
    _table: Arc<HotTable>,
    encoder: RowEncoder,
    next_row: usize,
    row_count: usize,
    bom: bool,
    started: bool,
    done: bool,
}

impl std::fmt::Debug for ExportChunks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportChunks")
            .field("format", &self.encoder.format)
            .field("next_row", &self.next_row)
            .field("row_count", &self.row_count)
            .finish()
    }
}

impl Iterator for ExportChunks {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        if self.done {
            return None;
        }
        let mut out = Vec::with_capacity(CHUNK_BYTES + 16 * 1024);
        if !self.started {
            if self.bom {
                out.extend_from_slice(UTF8_BOM);
            }
            self.encoder.write_prologue(&mut out, false);
        }
        while self.next_row < self.row_count && out.len() < CHUNK_BYTES {
            let first = !self.started && self.next_row == 0;
            self.encoder.write_row(&mut out, self.next_row, first);
            self.next_row += 1;
        }
        self.started = true;
        if self.next_row >= self.row_count {
            self.encoder.write_epilogue(&mut out, None);
            self.done = true;
        }
        Some(Bytes::from(out))
    }
}

/// Encodes a whole hot table for download, lazily: each `next()` encodes the next ~256 KiB (whole rows), so memory
/// stays constant at any table size. Formats: json (one JSON array of row objects), ndjson, csv (with a UTF-8 BOM
/// first when `bom`; ignored for other formats, where a BOM is invalid JSON) and geojson (a FeatureCollection,
/// refused like [`encode_page`] when the table has no coordinates). Always yields at least one chunk.
pub fn export_chunks(table: Arc<HotTable>, format: OutputFormat, bom: bool) -> Result<ExportChunks, QueryError> {
    let batch = table.batch();
    let columns: Vec<usize> = (0..batch.num_columns()).collect();
    let encoder = RowEncoder::new(format, batch, &columns)?;
    let row_count = batch.num_rows();
    Ok(ExportChunks {
        _table: table,
        encoder,
        next_row: 0,
        row_count,
        bom: bom && format == OutputFormat::Csv,
        started: false,
        done: false,
    })
}

/// [`geo_columns`] of a version's table, from its tapwater schema (no data needed), e.g. to offer GeoJSON links.
pub fn geo_columns_of(schema: &tapwater_types::TableSchema) -> Option<(usize, usize)> {
    geo_columns(&tapwater_ingest::arrow_schema(schema))
}
