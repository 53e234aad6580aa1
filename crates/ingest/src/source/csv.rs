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

/// The longest line read. The `csv` crate grows its record buffer to hold a whole record, so a 2 GB file without
/// a line end would take 2 GB of memory; past this length the file is refused instead (a table's line is rarely
/// more than a few kilobytes; the longest real one we have seen is under 100 KiB).
pub(crate) const MAX_LINE_BYTES: u64 = 64 << 20;

pub(crate) struct CsvSource {
    reader: csv::Reader<Box<dyn Read + Send>>,
    record: ByteRecord,
    spans: Vec<(usize, usize)>,
    check_utf8: bool,
    max_columns: usize,
    /// Lines end with CRLF (see `next_row`).
    crlf: bool,
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
        let (text, decode_log) = decode::open_sniffed(path, sniffed, options.eudc)?;
        let mut text = std::io::BufReader::with_capacity(256 * 1024, LineLimit::new(text, MAX_LINE_BYTES));
        let crlf = {
            use std::io::BufRead;
            let head = text.fill_buf()?;
            memchr::memchr(b'\n', head).is_some_and(|i| i > 0 && head[i - 1] == b'\r')
        };
        let text: Box<dyn Read + Send> = Box::new(text);
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
            crlf,
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
        let line = match self.record.position() {
            // The csv crate ends a record at the `\r` of a CRLF and counts the `\n` only when the next record has
            // begun, so every record after the first reports the line before its own. The first line's ending says
            // which kind of file this is (a file mixing both is rare; its lines after a bare LF read one low).
            Some(p) if self.crlf && p.byte() > 0 => p.line() + 1,
            Some(p) => p.line(),
            None => 0,
        };
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

/// Fails a read once a line (bytes between line ends) grows past `max` bytes, so memory stays bounded on a file
/// without line ends. Counting bytes between `\n`/`\r` is enough: a quoted cell with line ends inside is several
/// lines here, which only makes the limit looser.
struct LineLimit<R> {
    inner: R,
    max: u64,
    current: u64,
    line: u64,
}

impl<R: Read> LineLimit<R> {
    fn new(inner: R, max: u64) -> Self {
        LineLimit { inner, max, current: 0, line: 1 }
    }
}

impl<R: Read> Read for LineLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut rest = &buf[..n];
        while let Some(at) = memchr::memchr2(b'\n', b'\r', rest) {
            self.current += at as u64;
            if self.current > self.max {
                break;
            }
            if rest[at] == b'\n' {
                self.line += 1;
            }
            self.current = 0;
            rest = &rest[at + 1..];
        }
        self.current += rest.len() as u64;
        if self.current > self.max {
            let error = IngestError::malformed(
                self.line,
                None,
                MalformedKind::LineTooLong { max_bytes: self.max },
                format!("this line is longer than {} MiB without a line end", self.max >> 20),
            );
            return Err(std::io::Error::other(error));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_longer_than_the_limit_is_refused_with_its_line_number() {
        let text = format!("a,b\r\n1,2\n{}\n", "x".repeat(5000));
        let mut reader = LineLimit::new(text.as_bytes(), 1000);
        let mut out = Vec::new();
        let err = reader.read_to_end(&mut out).unwrap_err();
        let ours = err.downcast::<IngestError>().unwrap();
        assert!(
            matches!(ours, IngestError::Malformed { line: 3, kind: MalformedKind::LineTooLong { .. }, .. }),
            "{ours:?}"
        );
        // Lines under the limit pass, whatever the total size.
        let text = ("x".repeat(900) + "\n").repeat(100);
        let mut reader = LineLimit::new(text.as_bytes(), 1000);
        let mut out = Vec::new();
        assert_eq!(reader.read_to_end(&mut out).unwrap(), 90_100);
    }
}
