//! Readers: one module per format, each turning a file into rows of text cells.
//!
//! Two shapes of reader exist, because two shapes of file exist:
//!
//! - a [`GridSource`] yields raw rows with no idea which one is the header: CSV/TSV (`csv`), spreadsheet sheets
//!   (`sheet`: XLSX, XLS, ODS), HTML tables (`html`). [`crate::shape`] looks at the first rows to find the title
//!   rows, the header (one or two rows, a machine-name row) and then drops footnote, blank and total rows;
//! - a [`RecordSource`] already knows its columns: JSON/NDJSON (`json`, keys), XML (`xml`, element names), and the
//!   shaped grid.
//!
//! A source hands out one row at a time as byte slices of a buffer it reuses, so the hot loops allocate nothing per
//! cell. Cells are UTF-8 (text in other encodings is decoded by [`crate::decode`] before it gets here); an empty cell
//! is null.

mod csv;
mod html;
mod json;
mod sheet;
mod xml;

use std::collections::HashSet;
use std::path::Path;

use tapwater_types::TransformEntry;

use crate::{IngestError, Sniffed, SourceFormat};

/// One row, borrowed from its source until the next call to [`RecordSource::next_row`].
pub(crate) struct Row<'a> {
    data: &'a [u8],
    /// `(start, end)` of each cell in `data`; an empty span is a null cell.
    spans: &'a [(usize, usize)],
    line: u64,
    width: usize,
}

impl<'a> Row<'a> {
    /// A row over `data`, its cells at `spans`; `width` is the number of columns known after it.
    pub(crate) fn new(data: &'a [u8], spans: &'a [(usize, usize)], line: u64, width: usize) -> Self {
        Row { data, spans, line, width }
    }

    /// How many cells the row holds (a grid row may be shorter or longer than the header).
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    /// Cell `i` as text (cells are UTF-8 by the sources' contract; a cell that is not reads as null).
    #[inline]
    pub(crate) fn text(&self, i: usize) -> Option<&'a str> {
        self.cell(i).and_then(|c| std::str::from_utf8(c).ok())
    }

    /// Cell `i`, or `None` when it is empty or past the end of a short row (government files often drop trailing
    /// empty cells; nothing is lost by reading them as null).
    #[inline]
    pub(crate) fn cell(&self, i: usize) -> Option<&'a [u8]> {
        let &(start, end) = self.spans.get(i)?;
        if start == end { None } else { self.data.get(start..end) }
    }

    /// The line the row starts on (1-based; the header is line 1).
    pub(crate) fn line(&self) -> u64 {
        self.line
    }

    /// Bytes of cell text in the row.
    pub(crate) fn bytes(&self) -> usize {
        self.data.len()
    }

    /// How many columns the source knows after this row (JSON discovers columns as it goes).
    pub(crate) fn width(&self) -> usize {
        self.width
    }
}

/// A file read as a table of text: headers, then rows.
pub(crate) trait RecordSource: Send {
    /// The column names known so far, unique and non-empty.
    fn headers(&self) -> &[String];
    /// The next row, or `None` after the last.
    fn next_row(&mut self) -> Result<Option<Row<'_>>, IngestError>;
    /// Bytes of the file consumed so far, for progress.
    fn bytes_read(&self) -> u64;
    /// Other names of each column (index-aligned with `headers`; may be shorter): the machine-name row of a file
    /// that has one beside its Chinese labels.
    fn aliases(&self) -> &[Vec<String>] {
        &[]
    }
    /// What the source decided or changed so far (header found, footnote rows dropped, records found in an
    /// envelope …), taken once after the pass that produced it.
    fn take_log(&mut self) -> Vec<TransformEntry> {
        Vec::new()
    }
}

/// A table read as raw rows, before a header is known (see the module doc).
pub(crate) trait GridSource: Send {
    /// The next raw row, cells in order; trailing empty cells may be missing. `Row::line` is the line (CSV) or the
    /// sheet row (spreadsheets, HTML), 1-based. `Row::width` is the number of cells.
    fn next_row(&mut self) -> Result<Option<Row<'_>>, IngestError>;
    /// Bytes of the file consumed so far, for progress (a reader that loads its file at once reports the whole
    /// size after the first row).
    fn bytes_read(&self) -> u64;
    /// What the reader decided or changed (`merged_cells` filled, a sheet chosen among several …), taken once.
    fn take_log(&mut self) -> Vec<TransformEntry> {
        Vec::new()
    }
}

/// A source opened for one pass.
pub(crate) enum Opened {
    Grid(Box<dyn GridSource>),
    Records(Box<dyn RecordSource>),
}

/// How a source is opened for a pass.
pub(crate) struct OpenOptions<'a> {
    /// Check that every cell is UTF-8 (the inference pass does; the conversion pass re-checks only text cells).
    pub check_utf8: bool,
    /// The columns found by the inference pass, when reading again: a source that discovers columns as it goes
    /// (JSON) must then find the same ones.
    pub known_columns: Option<&'a [String]>,
    pub max_columns: usize,
    /// The sheet / HTML table to read (`name` or `#N`, 1-based); `None`: the first one holding data.
    pub table: Option<&'a str>,
    /// Big5 user-defined characters declared by the pipeline (hex byte pair → character).
    pub eudc: &'a std::collections::BTreeMap<String, String>,
}

/// One table of a file that holds several (sheets of a workbook, tables of an HTML page, members of a ZIP).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TableInfo {
    /// `#1`, `#2` … in file order.
    pub id: String,
    /// The sheet name, the table's caption or id, the member's path.
    pub name: String,
    /// `sheet`, `html_table`, `zip_member`, or `table` for formats that hold exactly one.
    pub kind: &'static str,
    /// Rows (including header rows) when cheap to know.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

/// Opens the reader for a sniffed format.
pub(crate) fn open(path: &Path, sniffed: &Sniffed, options: OpenOptions<'_>) -> Result<Opened, IngestError> {
    Ok(match sniffed.format {
        SourceFormat::Csv { delimiter } => {
            Opened::Grid(Box::new(csv::CsvSource::open(path, delimiter, sniffed, &options)?))
        }
        SourceFormat::Json => {
            Opened::Records(Box::new(json::JsonSource::open_encoded(path, sniffed.text_encoding, &options)?))
        }
        SourceFormat::Ndjson => {
            Opened::Records(Box::new(json::NdjsonSource::open_encoded(path, sniffed.text_encoding, &options)?))
        }
        SourceFormat::Xlsx | SourceFormat::Xls | SourceFormat::Ods => {
            Opened::Grid(Box::new(sheet::open(path, sniffed, &options)?))
        }
        SourceFormat::Html => Opened::Grid(Box::new(html::open(path, sniffed, &options)?)),
        SourceFormat::Xml => Opened::Records(Box::new(xml::XmlSource::open(path, sniffed, &options)?)),
        other => {
            return Err(IngestError::UnsupportedFormat {
                detected: format!("{other:?}").to_lowercase(),
                message: "no reader for this format yet".into(),
            });
        }
    })
}

/// The tables a file holds, for a publisher to pick one. Formats with one table give one entry.
pub(crate) fn list_tables(path: &Path, sniffed: &Sniffed) -> Result<Vec<TableInfo>, IngestError> {
    match sniffed.format {
        SourceFormat::Xlsx | SourceFormat::Xls | SourceFormat::Ods => sheet::list_tables(path, sniffed),
        SourceFormat::Html => html::list_tables(path, sniffed),
        _ => Ok(vec![TableInfo { id: "#1".into(), name: sniffed.format_name.to_string(), kind: "table", rows: None }]),
    }
}

/// Column names as published, made usable: an empty name becomes `column_N` (N is the 1-based position) and a
/// repeated name gets `_2`, `_3` … (the first keeps its name), because Arrow, Parquet and SQL need unique names.
#[derive(Default)]
pub(crate) struct ColumnNames {
    names: Vec<String>,
    used: HashSet<String>,
}

impl ColumnNames {
    pub(crate) fn push(&mut self, raw: &str) {
        let base = if raw.is_empty() { format!("column_{}", self.names.len() + 1) } else { raw.to_string() };
        let mut name = base.clone();
        let mut n = 2;
        while self.used.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.used.insert(name.clone());
        self.names.push(name);
    }

    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }
}

/// Skips a UTF-8 byte-order mark at the start of a reader; returns how many bytes it skipped.
pub(crate) fn skip_bom(reader: &mut impl std::io::BufRead) -> std::io::Result<u64> {
    let buf = reader.fill_buf()?;
    if buf.starts_with(b"\xEF\xBB\xBF") {
        reader.consume(3);
        Ok(3)
    } else {
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_repeated_names_are_made_unique() {
        let mut names = ColumnNames::default();
        for raw in ["a", "", "a", "b", "a", "a_2", ""] {
            names.push(raw);
        }
        assert_eq!(names.names(), ["a", "column_2", "a_2", "b", "a_3", "a_2_2", "column_7"]);
    }
}
