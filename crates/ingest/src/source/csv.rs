//! CSV and other delimiter-separated text (RFC 4180 with the liberties real files take), as a grid of raw rows.
//!
//! The `csv` crate does the quoting: quoted cells may hold delimiters, `""` and line ends (the Tainan spraying
//! schedule has a newline inside a header cell), and CRLF, LF and bare CR line ends may mix in one file. Completely
//! empty lines are skipped by the crate. Text arrives as UTF-8 from [`crate::decode`] whatever the file's encoding
//! (Big5, UTF-16 …), byte-order mark removed. Which row is the header is decided by [`crate::shape`].

use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex};

use csv::ByteRecord;
use tapwater_types::TransformEntry;

use super::{GridSource, OpenOptions, Row};
use crate::decode::{self, DecodeLog};
use crate::{IngestError, MalformedKind, Sniffed};

pub(crate) struct CsvSource {
    reader: csv::Reader<Box<dyn Read + Send>>,
    record: ByteRecord,
    spans: Vec<(usize, usize)>,
    check_utf8: bool,
    max_columns: usize,
    decode_log: Arc<Mutex<DecodeLog>>,
    /// Bytes of the file per byte of decoded text, to report progress in file bytes (UTF-16 is 2 → ~1.5).
    file_bytes: u64,
    decoded_ratio: f64,
}

impl CsvSource {
    pub(crate) fn open(
        path: &Path,
        delimiter: u8,
        sniffed: &Sniffed,
        options: &OpenOptions<'_>,
    ) -> Result<Self, IngestError> {
        let (text, decode_log) = decode::open_text(path, sniffed.text_encoding, options.eudc)?;
        let reader = csv::ReaderBuilder::new()
            .has_headers(false) // the header is found by `shape`, among title rows
            .flexible(true) // short and long rows are handled by `shape`, with the line number
            .delimiter(delimiter)
            .buffer_capacity(256 * 1024)
            .from_reader(text);
        let decoded_ratio = match sniffed.text_encoding {
            crate::TextEncoding::Utf16Le | crate::TextEncoding::Utf16Be => 2.0 / 3.0,
            crate::TextEncoding::Big5 => 2.0 / 3.0,
            _ => 1.0,
        };
        Ok(CsvSource {
            reader,
            record: ByteRecord::new(),
            spans: Vec::new(),
            check_utf8: options.check_utf8,
            max_columns: options.max_columns,
            decode_log,
            file_bytes: std::fs::metadata(path)?.len(),
            decoded_ratio,
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
            .map(|i| format!("column_{}", i + 1));
        Err(IngestError::malformed(
            line,
            column,
            MalformedKind::InvalidUtf8,
            "this cell holds bytes that are not UTF-8",
        ))
    }
}

impl GridSource for CsvSource {
    fn next_row(&mut self) -> Result<Option<Row<'_>>, IngestError> {
        if !self.reader.read_byte_record(&mut self.record).map_err(csv_error)? {
            return Ok(None);
        }
        let line = self.record.position().map_or(0, |p| p.line());
        let cells = self.record.len();
        if cells > self.max_columns {
            return Err(IngestError::TooManyColumns { count: cells, max: self.max_columns });
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
        Ok(Some(Row::new(self.record.as_slice(), &self.spans, line, cells)))
    }

    fn bytes_read(&self) -> u64 {
        let decoded = self.reader.position().byte();
        ((decoded as f64 * self.decoded_ratio) as u64).min(self.file_bytes)
    }

    fn take_log(&mut self) -> Vec<TransformEntry> {
        self.decode_log.lock().map(|mut log| std::mem::take(&mut log.entries)).unwrap_or_default()
    }
}

fn csv_error(err: csv::Error) -> IngestError {
    let line = err.position().map_or(0, |p| p.line());
    match err.into_kind() {
        csv::ErrorKind::Io(e) => match e.downcast::<IngestError>() {
            // A decoding problem surfaces through the reader as an I/O error carrying ours.
            Ok(ours) => ours,
            Err(e) => IngestError::Io(e),
        },
        other => IngestError::malformed(line, None, MalformedKind::Syntax, format!("{other:?}")),
    }
}
