//! Readers: one module per format, each turning a file into rows of text cells behind [`RecordSource`].
//!
//! This is the seam for formats to come (Big5/UTF-16 decoding, XLSX/XLS/ODS, HTML tables, XML, ZIP): a new format
//! is one more module implementing [`RecordSource`], one more branch in [`crate::sniff`] and one more arm in
//! [`open`]. Inference, conversion, statistics and Parquet never see the format.
//!
//! A source hands out one row at a time as byte slices of a buffer it reuses, so the hot loops allocate nothing per
//! cell. Cells are UTF-8 (a source with `check_utf8` says where it is not); an empty cell is null.

mod csv;
mod json;

use std::collections::HashSet;
use std::path::Path;

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
pub(crate) trait RecordSource {
    /// The column names known so far, unique and non-empty.
    fn headers(&self) -> &[String];
    /// The next row, or `None` after the last.
    fn next_row(&mut self) -> Result<Option<Row<'_>>, IngestError>;
    /// Bytes of the file consumed so far, for progress.
    fn bytes_read(&self) -> u64;
}

/// How a source is opened for a pass.
pub(crate) struct OpenOptions<'a> {
    /// Check that every cell is UTF-8 (the inference pass does; the conversion pass re-checks only text cells).
    pub check_utf8: bool,
    /// The columns found by the inference pass, when reading again: a source that discovers columns as it goes
    /// (JSON) must then find the same ones.
    pub known_columns: Option<&'a [String]>,
    pub max_columns: usize,
}

/// Opens the reader for a sniffed format.
pub(crate) fn open(
    path: &Path,
    sniffed: &Sniffed,
    options: OpenOptions<'_>,
) -> Result<Box<dyn RecordSource>, IngestError> {
    Ok(match sniffed.format {
        SourceFormat::Csv { delimiter } => Box::new(csv::CsvSource::open(path, delimiter, &options)?),
        SourceFormat::Json => Box::new(json::JsonSource::open(path, &options)?),
        SourceFormat::Ndjson => Box::new(json::NdjsonSource::open(path, &options)?),
    })
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
