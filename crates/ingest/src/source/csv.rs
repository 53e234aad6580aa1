//! CSV and other delimiter-separated text (RFC 4180 with the liberties real files take).
//!
//! The `csv` crate does the quoting: quoted cells may hold delimiters, `""` and line ends (the Tainan spraying
//! schedule has a newline inside a header cell), and CRLF, LF and bare CR line ends may mix in one file. Completely
//! empty lines are skipped by the crate. A UTF-8 BOM is stripped here (the crate keeps it as part of the first
//! header name). The first row is the header.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use csv::ByteRecord;

use super::{ColumnNames, OpenOptions, RecordSource, Row};
use crate::{IngestError, MalformedKind};

pub(crate) struct CsvSource {
    reader: csv::Reader<File>,
    headers: Vec<String>,
    record: ByteRecord,
    spans: Vec<(usize, usize)>,
    /// Bytes before what the reader sees (the BOM).
    skipped: u64,
    check_utf8: bool,
}

impl CsvSource {
    pub(crate) fn open(path: &Path, delimiter: u8, options: &OpenOptions<'_>) -> Result<Self, IngestError> {
        let mut file = File::open(path)?;
        let skipped = skip_bom(&mut file)?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false) // read below, so its line counts as line 1 and it gets the same UTF-8 check
            .flexible(true) // short rows are padded and long rows reported by us, with the line number
            .delimiter(delimiter)
            .buffer_capacity(256 * 1024)
            .from_reader(file);
        let mut record = ByteRecord::new();
        if !reader.read_byte_record(&mut record).map_err(csv_error)? {
            return Err(IngestError::Empty);
        }
        if record.len() > options.max_columns {
            return Err(IngestError::TooManyColumns { count: record.len(), max: options.max_columns });
        }
        let mut names = ColumnNames::default();
        for (i, cell) in record.iter().enumerate() {
            let name = std::str::from_utf8(cell).map_err(|_| {
                IngestError::malformed(
                    1,
                    Some(format!("column_{}", i + 1)),
                    MalformedKind::InvalidUtf8,
                    "the header holds bytes that are not UTF-8",
                )
            })?;
            names.push(name);
        }
        let headers = names.names().to_vec();
        if let Some(known) = options.known_columns
            && known != headers.as_slice()
        {
            return Err(IngestError::changed(1, None));
        }
        Ok(CsvSource {
            reader,
            spans: Vec::with_capacity(headers.len()),
            headers,
            record,
            skipped,
            check_utf8: options.check_utf8,
        })
    }

    /// Checks the whole record at once (fast on mostly-ASCII text), then that no cell boundary splits a character.
    /// Only when that fails are cells checked one by one, to name the column.
    fn check_utf8(&self, line: u64) -> Result<(), IngestError> {
        let data = self.record.as_slice();
        let whole_ok = std::str::from_utf8(data).is_ok()
            // A boundary inside a character would mean a cell starting with a continuation byte (0b10xx_xxxx).
            && self.spans.iter().all(|&(start, _)| data.get(start).is_none_or(|&b| (b as i8) >= -0x40));
        if whole_ok {
            return Ok(());
        }
        let column = self
            .spans
            .iter()
            .position(|&(start, end)| std::str::from_utf8(&data[start..end]).is_err())
            .and_then(|i| self.headers.get(i).cloned());
        Err(IngestError::malformed(
            line,
            column,
            MalformedKind::InvalidUtf8,
            "this cell holds bytes that are not UTF-8",
        ))
    }
}

impl RecordSource for CsvSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn next_row(&mut self) -> Result<Option<Row<'_>>, IngestError> {
        if !self.reader.read_byte_record(&mut self.record).map_err(csv_error)? {
            return Ok(None);
        }
        let line = self.record.position().map_or(0, |p| p.line());
        let cells = self.record.len();
        if cells > self.headers.len() {
            return Err(IngestError::too_many_cells(line, cells, self.headers.len()));
        }
        // Cells are stored back to back in the record's buffer.
        self.spans.clear();
        let mut start = 0;
        for cell in self.record.iter() {
            self.spans.push((start, start + cell.len()));
            start += cell.len();
        }
        if self.check_utf8 {
            self.check_utf8(line)?;
        }
        Ok(Some(Row { data: self.record.as_slice(), spans: &self.spans, line, width: self.headers.len() }))
    }

    fn bytes_read(&self) -> u64 {
        self.skipped + self.reader.position().byte()
    }
}

fn skip_bom(file: &mut File) -> std::io::Result<u64> {
    let mut head = [0u8; 3];
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    if n == 3 && head == *b"\xEF\xBB\xBF" {
        Ok(3)
    } else {
        file.seek(SeekFrom::Start(0))?;
        Ok(0)
    }
}

fn csv_error(err: csv::Error) -> IngestError {
    let line = err.position().map_or(0, |p| p.line());
    match err.into_kind() {
        csv::ErrorKind::Io(e) => IngestError::Io(e),
        other => IngestError::malformed(line, None, MalformedKind::Syntax, format!("{other:?}")),
    }
}
