//! JSON (an array of objects, or an API envelope holding one) and NDJSON (one object per line).
//!
//! Files are streamed one record at a time, whatever their size: a small scanner finds where each array element
//! starts and ends (tracking strings, escapes and nesting), copies just that element into a reused buffer, and
//! serde_json reads it. The whole array is never in memory.
//!
//! Columns are the union of the records' keys, in first-seen order. Cell text: a string is itself; a number is its
//! JSON text exactly as written (via `RawValue`, so `1e3` and `1.50` are not re-printed); `true`/`false`; `null`, a
//! missing key and `""` are null; a nested object or array is its compact JSON text (a text column).
//!
//! Envelopes: Taiwanese APIs often wrap records, e.g. Kaohsiung's playground list
//! `{"success":true,"totalCount":27,"items":[…]}` or CKAN's `{"result":{"records":[…]}}`. For a top-level object the
//! records are the first array of objects found among its members (searching nested objects up to 4 levels deep);
//! the envelope's other members (counts, flags) are not part of the table. An object holding no such array is a
//! table of one row.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::{ColumnNames, OpenOptions, RecordSource, Row, skip_bom};
use crate::{IngestError, MalformedKind};

/// How deep in nested objects an envelope's records array is looked for.
const MAX_ENVELOPE_DEPTH: u32 = 4;
const READ_BUFFER: usize = 256 * 1024;

// ---------------------------------------------------------------------------------------------------------------
// Columns and cells, shared by JSON and NDJSON.

/// The columns found so far and the key each comes from.
struct Columns {
    names: ColumnNames,
    by_key: HashMap<String, usize>,
    /// On the conversion pass, the columns of the inference pass: keys are discovered again in the same order, and
    /// a key that does not get the same name at the same position means the file changed.
    known: Option<Vec<String>>,
    max: usize,
}

/// Why a key could not be given a column.
enum KeyProblem {
    Unknown(String),
    TooMany(usize),
}

impl Columns {
    fn new(options: &OpenOptions<'_>) -> Self {
        Columns {
            names: ColumnNames::default(),
            by_key: HashMap::new(),
            known: options.known_columns.map(<[String]>::to_vec),
            max: options.max_columns,
        }
    }

    fn index(&mut self, key: &str) -> Result<usize, KeyProblem> {
        if let Some(&i) = self.by_key.get(key) {
            return Ok(i);
        }
        let index = self.names.len();
        if self.known.is_none() && index >= self.max {
            return Err(KeyProblem::TooMany(index + 1));
        }
        // An empty key gets a `column_N` name like an empty CSV header cell; the key itself still maps to it.
        self.names.push(key);
        if let Some(known) = &self.known
            && known.get(index) != self.names.names().get(index)
        {
            return Err(KeyProblem::Unknown(key.to_string()));
        }
        self.by_key.insert(key.to_string(), index);
        Ok(index)
    }
}

/// The cells of the current record, by column, as text in one reused buffer.
#[derive(Default)]
struct Cells {
    data: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

impl Cells {
    fn clear(&mut self, width: usize) {
        self.data.clear();
        self.spans.clear();
        self.spans.resize(width, (0, 0));
    }

    /// Stores one JSON value, raw as serde_json found it, as the text of `column`.
    fn set(&mut self, column: usize, raw: &str) -> Result<(), serde_json::Error> {
        if column >= self.spans.len() {
            self.spans.resize(column + 1, (0, 0));
        }
        let start = self.data.len();
        match raw.as_bytes().first() {
            None | Some(b'n') => {} // null
            Some(b'"') => {
                let inner = &raw[1..raw.len().saturating_sub(1).max(1)];
                if inner.contains('\\') {
                    let unescaped: String = serde_json::from_str(raw)?;
                    self.data.extend_from_slice(unescaped.as_bytes());
                } else {
                    self.data.extend_from_slice(inner.as_bytes());
                }
            }
            Some(b'{' | b'[') => compact_json(raw.as_bytes(), &mut self.data),
            // Numbers, `true` and `false`: the text as written.
            Some(_) => self.data.extend_from_slice(raw.as_bytes()),
        }
        // A later duplicate key wins, as in most JSON readers; `""` and null leave an empty span (null).
        self.spans[column] = (start, self.data.len());
        Ok(())
    }

    fn row(&self, line: u64, width: usize) -> Row<'_> {
        Row { data: &self.data, spans: &self.spans, line, width }
    }
}

/// Copies JSON text without the whitespace between tokens (strings are kept as they are), preserving key order.
fn compact_json(raw: &[u8], out: &mut Vec<u8>) {
    let mut in_string = false;
    let mut escaped = false;
    for &b in raw {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else if matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
            continue;
        }
        out.push(b);
    }
}

/// Reads one JSON object (already known to start with `{`) into `cells`.
fn read_object(bytes: &[u8], columns: &mut Columns, cells: &mut Cells, line: u64) -> Result<(), IngestError> {
    cells.clear(columns.names.len());
    let mut problem = None;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result = de::Deserializer::deserialize_map(&mut de, ObjectVisitor { columns, cells, problem: &mut problem })
        .and_then(|()| de.end());
    match (problem, result) {
        (Some(KeyProblem::Unknown(key)), _) => Err(IngestError::changed(line, Some(key))),
        (Some(KeyProblem::TooMany(count)), _) => Err(IngestError::TooManyColumns { count, max: columns.max }),
        (None, Err(e)) => Err(json_error(&e, line)),
        (None, Ok(())) => Ok(()),
    }
}

/// A serde_json error inside a record that starts at `line`, with the position made absolute.
fn json_error(e: &serde_json::Error, line: u64) -> IngestError {
    let text = e.to_string();
    // serde_json appends " at line L column C" relative to the record; keep the message, recompute the line.
    let message = text.rfind(" at line ").map_or(text.as_str(), |at| &text[..at]).to_string();
    let line = line + (e.line() as u64).saturating_sub(1);
    IngestError::malformed(line, None, MalformedKind::Syntax, format!("invalid JSON: {message}"))
}

struct ObjectVisitor<'a> {
    columns: &'a mut Columns,
    cells: &'a mut Cells,
    problem: &'a mut Option<KeyProblem>,
}

impl<'de> Visitor<'de> for ObjectVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(KeySeed { columns: self.columns })? {
            let raw: &RawValue = map.next_value()?;
            match key {
                Ok(column) => self.cells.set(column, raw.get()).map_err(de::Error::custom)?,
                Err(problem) => {
                    *self.problem = Some(problem);
                    return Err(de::Error::custom("unusable key"));
                }
            }
        }
        Ok(())
    }
}

/// Maps a key to its column without allocating for keys already seen.
struct KeySeed<'a> {
    columns: &'a mut Columns,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Result<usize, KeyProblem>;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Result<usize, KeyProblem>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self.columns.index(key))
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The byte scanner.

/// Walks JSON text structurally over a buffered file, counting lines for error messages.
struct Scanner {
    reader: BufReader<File>,
    pos: u64,
    line: u64,
}

fn newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

impl Scanner {
    fn open(path: &Path) -> Result<Self, IngestError> {
        let mut reader = BufReader::with_capacity(READ_BUFFER, File::open(path)?);
        let pos = skip_bom(&mut reader)?;
        Ok(Scanner { reader, pos, line: 1 })
    }

    fn syntax(&self, message: impl Into<String>) -> IngestError {
        IngestError::malformed(self.line, None, MalformedKind::Syntax, format!("invalid JSON: {}", message.into()))
    }

    /// Skips whitespace; returns the next byte without consuming it.
    fn skip_ws(&mut self) -> Result<Option<u8>, IngestError> {
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(None);
            }
            let found = buf.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
            let skip = found.unwrap_or(buf.len());
            let next = found.map(|i| buf[i]);
            self.line += newlines(&buf[..skip]);
            self.pos += skip as u64;
            self.reader.consume(skip);
            if next.is_some() {
                return Ok(next);
            }
        }
    }

    /// Consumes one byte already seen by [`Scanner::skip_ws`] (never a line end).
    fn bump(&mut self) {
        self.reader.consume(1);
        self.pos += 1;
    }

    /// Consumes the next non-whitespace byte, which must be `expected`.
    fn expect(&mut self, expected: u8) -> Result<(), IngestError> {
        match self.skip_ws()? {
            Some(b) if b == expected => {
                self.bump();
                Ok(())
            }
            Some(b) => Err(self.syntax(format!("expected '{}' but found '{}'", expected as char, b as char))),
            None => Err(self.syntax(format!("expected '{}' but the file ends", expected as char))),
        }
    }

    /// Consumes one JSON value starting at the next byte (whitespace already skipped), copying it into `out` if
    /// given. With `depth = 1` it consumes the rest of an array or object whose opening bracket was consumed.
    /// Only the structure is followed here; serde_json checks the copied text.
    fn take_value(&mut self, mut out: Option<&mut Vec<u8>>, depth: u32) -> Result<(), IngestError> {
        let mut depth = depth;
        let mut started = depth > 0;
        let mut in_string = false;
        let mut escaped = false;
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                if depth == 0 && !in_string && started {
                    return Ok(()); // a number or literal ending the file
                }
                return Err(self.syntax("the file ends inside a value"));
            }
            let mut i = 0;
            let mut done = false;
            while i < buf.len() {
                let b = buf[i];
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                        if depth == 0 {
                            i += 1;
                            done = true;
                            break;
                        }
                    }
                } else {
                    match b {
                        b'"' | b'{' | b'[' if depth == 0 && started => {
                            done = true; // a scalar followed by garbage; the caller reports it
                            break;
                        }
                        b'"' => {
                            in_string = true;
                            started = true;
                        }
                        b'{' | b'[' => {
                            depth += 1;
                            started = true;
                        }
                        b'}' | b']' if depth == 0 => {
                            done = true;
                            break;
                        }
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                i += 1;
                                done = true;
                                break;
                            }
                        }
                        b',' | b' ' | b'\t' | b'\r' | b'\n' if depth == 0 => {
                            done = true;
                            break;
                        }
                        _ => started = true,
                    }
                }
                i += 1;
            }
            let chunk = &buf[..i];
            self.line += newlines(chunk);
            if let Some(out) = out.as_deref_mut() {
                out.extend_from_slice(chunk);
            }
            self.pos += i as u64;
            self.reader.consume(i);
            if done {
                if !started {
                    return Err(self.syntax("expected a value"));
                }
                return Ok(());
            }
        }
    }

    /// At a `{`: walks the object's members looking for the first array whose first element is an object, and
    /// stops just before that element. Returns whether one was found; `saw_empty_array` tells that an empty
    /// array was passed (an envelope with no records).
    fn find_records(&mut self, depth: u32, saw_empty_array: &mut bool) -> Result<bool, IngestError> {
        self.expect(b'{')?;
        if self.skip_ws()? == Some(b'}') {
            self.bump();
            return Ok(false);
        }
        loop {
            if self.skip_ws()? != Some(b'"') {
                return Err(self.syntax("expected a key"));
            }
            self.take_value(None, 0)?;
            self.expect(b':')?;
            match self.skip_ws()? {
                Some(b'[') => {
                    self.bump();
                    match self.skip_ws()? {
                        Some(b'{') => return Ok(true),
                        Some(b']') => {
                            self.bump();
                            *saw_empty_array = true;
                        }
                        Some(_) => self.take_value(None, 1)?,
                        None => return Err(self.syntax("the file ends inside an array")),
                    }
                }
                Some(b'{') if depth < MAX_ENVELOPE_DEPTH => {
                    if self.find_records(depth + 1, saw_empty_array)? {
                        return Ok(true);
                    }
                }
                Some(_) => self.take_value(None, 0)?,
                None => return Err(self.syntax("the file ends inside an object")),
            }
            match self.skip_ws()? {
                Some(b',') => self.bump(),
                Some(b'}') => {
                    self.bump();
                    return Ok(false);
                }
                _ => return Err(self.syntax("expected ',' or '}' after a member")),
            }
        }
    }

    fn expect_end(&mut self) -> Result<(), IngestError> {
        match self.skip_ws()? {
            None => Ok(()),
            Some(_) => Err(self.syntax("unexpected data after the end of the JSON value")),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// JSON.

enum Layout {
    /// Inside the records array, before its first element.
    First,
    /// Inside the records array, after an element.
    Next,
    /// The whole file is one object: one row.
    Single,
    Done,
}

pub(crate) struct JsonSource {
    scanner: Scanner,
    layout: Layout,
    /// The records array is the top-level value, so nothing may follow it.
    top_level: bool,
    columns: Columns,
    cells: Cells,
    element: Vec<u8>,
    /// 1-based index of the current record.
    index: u64,
}

impl JsonSource {
    pub(crate) fn open(path: &Path, options: &OpenOptions<'_>) -> Result<Self, IngestError> {
        let mut scanner = Scanner::open(path)?;
        let (layout, top_level) = match scanner.skip_ws()? {
            None => return Err(IngestError::Empty),
            Some(b'[') => {
                scanner.bump();
                (Layout::First, true)
            }
            Some(b'{') => {
                let mut saw_empty_array = false;
                if scanner.find_records(0, &mut saw_empty_array)? {
                    (Layout::First, false)
                } else if saw_empty_array {
                    (Layout::Done, false)
                } else {
                    scanner = Scanner::open(path)?;
                    scanner.skip_ws()?;
                    (Layout::Single, true)
                }
            }
            Some(_) => {
                return Err(IngestError::malformed(
                    scanner.line,
                    None,
                    MalformedKind::NoRecords,
                    "JSON must be an array of objects or an object holding one",
                ));
            }
        };
        Ok(JsonSource {
            scanner,
            layout,
            top_level,
            columns: Columns::new(options),
            cells: Cells::default(),
            element: Vec::new(),
            index: 0,
        })
    }

    fn finish(&mut self) -> Result<(), IngestError> {
        self.layout = Layout::Done;
        // After an envelope's records the rest of the envelope is not read.
        if self.top_level { self.scanner.expect_end() } else { Ok(()) }
    }

    /// Reads the next value as a record.
    fn read_record(&mut self) -> Result<u64, IngestError> {
        let line = self.scanner.line;
        self.index += 1;
        self.element.clear();
        self.scanner.take_value(Some(&mut self.element), 0)?;
        if self.element.first() != Some(&b'{') {
            return Err(IngestError::malformed(
                line,
                None,
                MalformedKind::NotAnObject { index: self.index },
                format!("record {} is not a JSON object", self.index),
            ));
        }
        read_object(&self.element, &mut self.columns, &mut self.cells, line)?;
        Ok(line)
    }
}

impl RecordSource for JsonSource {
    fn headers(&self) -> &[String] {
        self.columns.names.names()
    }

    fn next_row(&mut self) -> Result<Option<Row<'_>>, IngestError> {
        let line = match self.layout {
            Layout::Done => return Ok(None),
            Layout::Single => {
                let line = self.read_record()?;
                self.finish()?;
                line
            }
            Layout::First | Layout::Next => {
                let next = self.scanner.skip_ws()?;
                let first = matches!(self.layout, Layout::First);
                match next {
                    Some(b']') => {
                        self.scanner.bump();
                        self.finish()?;
                        return Ok(None);
                    }
                    Some(b',') if !first => {
                        self.scanner.bump();
                        self.scanner.skip_ws()?;
                    }
                    None => return Err(self.scanner.syntax("the file ends inside the array of records")),
                    Some(_) if first => {}
                    Some(_) => return Err(self.scanner.syntax("expected ',' or ']' after a record")),
                }
                self.layout = Layout::Next;
                self.read_record()?
            }
        };
        Ok(Some(self.cells.row(line, self.columns.names.len())))
    }

    fn bytes_read(&self) -> u64 {
        self.scanner.pos
    }
}

// ---------------------------------------------------------------------------------------------------------------
// NDJSON.

pub(crate) struct NdjsonSource {
    reader: BufReader<File>,
    pos: u64,
    line: u64,
    buffer: Vec<u8>,
    columns: Columns,
    cells: Cells,
    index: u64,
}

impl NdjsonSource {
    pub(crate) fn open(path: &Path, options: &OpenOptions<'_>) -> Result<Self, IngestError> {
        let mut reader = BufReader::with_capacity(READ_BUFFER, File::open(path)?);
        let pos = skip_bom(&mut reader)?;
        Ok(NdjsonSource {
            reader,
            pos,
            line: 0,
            buffer: Vec::new(),
            columns: Columns::new(options),
            cells: Cells::default(),
            index: 0,
        })
    }
}

impl RecordSource for NdjsonSource {
    fn headers(&self) -> &[String] {
        self.columns.names.names()
    }

    fn next_row(&mut self) -> Result<Option<Row<'_>>, IngestError> {
        loop {
            self.buffer.clear();
            let n = self.reader.read_until(b'\n', &mut self.buffer)?;
            if n == 0 {
                return Ok(None);
            }
            self.pos += n as u64;
            self.line += 1;
            let text = self.buffer.trim_ascii();
            if text.is_empty() {
                continue; // blank lines are allowed between records
            }
            self.index += 1;
            if text[0] != b'{' {
                return Err(IngestError::malformed(
                    self.line,
                    None,
                    MalformedKind::NotAnObject { index: self.index },
                    format!("record {} is not a JSON object", self.index),
                ));
            }
            read_object(text, &mut self.columns, &mut self.cells, self.line)?;
            return Ok(Some(self.cells.row(self.line, self.columns.names.len())));
        }
    }

    fn bytes_read(&self) -> u64 {
        self.pos
    }
}
