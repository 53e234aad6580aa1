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
//! records are the first array of objects found among its members, in file order, searching nested objects up to 4
//! levels deep — except arrays under keys that describe a table rather than hold it (`fields`, `columns`, `schema`,
//! `_links`, `links`, `errors`, `warnings`, `messages`: CKAN's DataStore puts its column list `fields` next to
//! `records`), which are used only when no other array of objects exists. The envelope's other members (counts,
//! flags) are not part of the table; the rule and what it set aside are logged (`json_records`: "records at items
//! (27); other members ignored: success, totalCount"). An object holding no such array is a table of one row.
//!
//! Text in UTF-16 or Big5 is decoded by [`crate::decode`] before it is scanned (see [`JsonSource::open_encoded`]).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde_json::value::RawValue;

use tapwater_types::TransformEntry;

use super::{ColumnNames, OpenOptions, RecordSource, Row, skip_bom};
use crate::decode::{self, DecodeLog};
use crate::{IngestError, MalformedKind, TextEncoding};

/// How deep in nested objects an envelope's records array is looked for.
const MAX_ENVELOPE_DEPTH: u32 = 4;
/// The largest single record (array element or NDJSON line) read: records are copied whole into a buffer, so a
/// file that is one giant value would otherwise take its size in memory.
const MAX_RECORD_BYTES: u64 = 64 << 20;

fn record_too_large(line: u64) -> IngestError {
    IngestError::malformed(
        line,
        None,
        MalformedKind::LineTooLong { max_bytes: MAX_RECORD_BYTES },
        format!("a JSON record is larger than {} MiB", MAX_RECORD_BYTES >> 20),
    )
}
/// Keys whose array of objects describes the table (columns, links, messages) rather than holds it.
const METADATA_KEYS: &[&str] = &["fields", "columns", "schema", "_links", "links", "errors", "warnings", "messages"];
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

/// Walks JSON text structurally over a buffered file (decoded to UTF-8), counting lines for error messages.
struct Scanner {
    reader: BufReader<Box<dyn Read + Send>>,
    pos: u64,
    line: u64,
}

/// A file's UTF-8 text, the bytes skipped (a BOM) and the decoding log.
type OpenedText = (BufReader<Box<dyn Read + Send>>, u64, Arc<Mutex<DecodeLog>>);

/// Opens a file as UTF-8 text, BOM skipped.
fn open_text(path: &Path, encoding: TextEncoding, options: &OpenOptions<'_>) -> Result<OpenedText, IngestError> {
    let (text, log) = decode::open_text(path, encoding, options.eudc)?;
    let mut reader = BufReader::with_capacity(READ_BUFFER, text);
    let pos = skip_bom(&mut reader)?;
    Ok((reader, pos, log))
}

/// What the envelope search found, for the `json_records` log entry.
#[derive(Default)]
struct Envelope {
    /// Keys from the top-level object down to the member being looked at.
    path: Vec<String>,
    /// Where the records are (an array of objects, or the first empty array).
    records_at: Option<String>,
    /// Members passed over (dotted paths), in file order.
    others: Vec<String>,
    /// An array of objects under a metadata key, passed over.
    skipped: Option<String>,
    saw_empty_array: bool,
    /// Whether arrays under [`METADATA_KEYS`] may be the records (the second search, when nothing else was found).
    allow_metadata: bool,
}

impl Envelope {
    fn member(&self, key: &str) -> String {
        let mut path = self.path.join(".");
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
        path
    }
}

fn newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

impl Scanner {
    fn open(
        path: &Path,
        encoding: TextEncoding,
        options: &OpenOptions<'_>,
    ) -> Result<(Self, Arc<Mutex<DecodeLog>>), IngestError> {
        let (reader, pos, log) = open_text(path, encoding, options)?;
        Ok((Scanner { reader, pos, line: 1 }, log))
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
                if out.len() as u64 > MAX_RECORD_BYTES {
                    return Err(record_too_large(self.line));
                }
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
    /// stops just before that element. Returns whether one was found; `envelope` collects where it is, what was
    /// passed over, and whether an empty array was (an envelope with no records).
    fn find_records(&mut self, depth: u32, envelope: &mut Envelope) -> Result<bool, IngestError> {
        self.expect(b'{')?;
        if self.skip_ws()? == Some(b'}') {
            self.bump();
            return Ok(false);
        }
        let mut key_bytes = Vec::new();
        loop {
            if self.skip_ws()? != Some(b'"') {
                return Err(self.syntax("expected a key"));
            }
            key_bytes.clear();
            self.take_value(Some(&mut key_bytes), 0)?;
            let key: String =
                serde_json::from_slice(&key_bytes).unwrap_or_else(|_| String::from_utf8_lossy(&key_bytes).into_owned());
            self.expect(b':')?;
            let member = envelope.member(&key);
            match self.skip_ws()? {
                Some(b'[') => {
                    self.bump();
                    match self.skip_ws()? {
                        Some(b'{') if envelope.allow_metadata || !METADATA_KEYS.contains(&key.as_str()) => {
                            envelope.records_at = Some(member);
                            return Ok(true);
                        }
                        Some(b'{') => {
                            self.take_value(None, 1)?;
                            envelope.skipped.get_or_insert_with(|| member.clone());
                            envelope.others.push(member);
                        }
                        Some(b']') => {
                            self.bump();
                            if !envelope.saw_empty_array {
                                envelope.saw_empty_array = true;
                                envelope.records_at = Some(member);
                            } else {
                                envelope.others.push(member);
                            }
                        }
                        Some(_) => {
                            self.take_value(None, 1)?;
                            envelope.others.push(member);
                        }
                        None => return Err(self.syntax("the file ends inside an array")),
                    }
                }
                Some(b'{') if depth < MAX_ENVELOPE_DEPTH => {
                    let before = envelope.others.len();
                    let empty_before = envelope.saw_empty_array;
                    envelope.path.push(key);
                    if self.find_records(depth + 1, envelope)? {
                        return Ok(true);
                    }
                    envelope.path.pop();
                    // An object without records is one member set aside, not each of its own (unless it holds the
                    // empty records array, which the log names).
                    if envelope.saw_empty_array == empty_before {
                        envelope.others.truncate(before);
                        envelope.others.push(member);
                    }
                }
                Some(_) => {
                    self.take_value(None, 0)?;
                    envelope.others.push(member);
                }
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

    /// After the records array of an envelope: the names of the members that follow it, up to the end of the
    /// top-level object. Only for the log, so a problem there ends the listing instead of failing the file.
    fn rest_of_envelope(&mut self, mut path: Vec<String>) -> Vec<String> {
        let mut others = Vec::new();
        let mut key_bytes = Vec::new();
        while !path.is_empty() {
            match self.skip_ws() {
                Ok(Some(b',')) => self.bump(),
                Ok(Some(b'}')) => {
                    self.bump();
                    path.pop();
                    continue;
                }
                _ => break,
            }
            key_bytes.clear();
            if !matches!(self.skip_ws(), Ok(Some(b'"')))
                || self.take_value(Some(&mut key_bytes), 0).is_err()
                || self.expect(b':').is_err()
                || !matches!(self.skip_ws(), Ok(Some(_)))
                || self.take_value(None, 0).is_err()
            {
                break;
            }
            let key: String = serde_json::from_slice(&key_bytes).unwrap_or_default();
            // `path[0]` is the top-level object, which has no key.
            let mut member = path[1..].join(".");
            if !member.is_empty() {
                member.push('.');
            }
            member.push_str(&key);
            others.push(member);
        }
        others
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
    decode_log: Arc<Mutex<DecodeLog>>,
    /// For an envelope: where the records are and what else it holds; `None` for a top-level array.
    envelope: Option<Envelope>,
    layout: Layout,
    /// The records array is the top-level value, so nothing may follow it.
    top_level: bool,
    columns: Columns,
    cells: Cells,
    element: Vec<u8>,
    /// 1-based index of the current record.
    index: u64,
    /// The records are arrays (`[["區","人口"],["三民區",1]]`, the row export of Socrata-like APIs): the first
    /// array named the columns, each later one holds a row's cells by position.
    array_rows: bool,
}

impl JsonSource {
    /// Opens a file in the sniffed encoding (UTF-16 and Big5 JSON are decoded on the fly).
    pub(crate) fn open_encoded(
        path: &Path,
        encoding: TextEncoding,
        options: &OpenOptions<'_>,
    ) -> Result<Self, IngestError> {
        let (mut scanner, mut decode_log) = Scanner::open(path, encoding, options)?;
        let mut envelope = None;
        let (layout, top_level) = match scanner.skip_ws()? {
            None => return Err(IngestError::Empty),
            Some(b'[') => {
                scanner.bump();
                (Layout::First, true)
            }
            Some(b'{') => {
                let mut found = Envelope::default();
                let layout = if scanner.find_records(0, &mut found)? {
                    (Layout::First, false)
                } else if found.saw_empty_array {
                    (Layout::Done, false)
                } else if found.skipped.is_some() {
                    // Only a metadata array holds objects: it is all there is to read.
                    (scanner, decode_log) = Scanner::open(path, encoding, options)?;
                    scanner.skip_ws()?;
                    found = Envelope { allow_metadata: true, ..Envelope::default() };
                    if scanner.find_records(0, &mut found)? { (Layout::First, false) } else { (Layout::Done, false) }
                } else {
                    (scanner, decode_log) = Scanner::open(path, encoding, options)?;
                    scanner.skip_ws()?;
                    found.records_at = None;
                    (Layout::Single, true)
                };
                envelope = Some(found);
                layout
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
            decode_log,
            envelope,
            layout,
            top_level,
            columns: Columns::new(options),
            cells: Cells::default(),
            element: Vec::new(),
            index: 0,
            array_rows: false,
        })
    }

    fn finish(&mut self) -> Result<(), IngestError> {
        self.layout = Layout::Done;
        if self.top_level {
            return self.scanner.expect_end();
        }
        // After an envelope's records the rest of the envelope is only listed for the log, never validated.
        if let Some(envelope) = self.envelope.as_mut() {
            let path = envelope.records_at.as_deref().map(|p| p.split('.').map(str::to_string).collect::<Vec<_>>());
            if let Some(mut path) = path {
                path.pop(); // the records' own key: the array is closed, the object holding it is open
                path.insert(0, String::new()); // the top-level object
                let rest = self.scanner.rest_of_envelope(path);
                envelope.others.extend(rest);
            }
        }
        Ok(())
    }

    /// Reads the next value as a record.
    /// Reads the next record; `None` when it was the header array of an array-of-arrays file (no row).
    fn read_record(&mut self) -> Result<Option<u64>, IngestError> {
        let line = self.scanner.line;
        self.index += 1;
        self.element.clear();
        self.scanner.take_value(Some(&mut self.element), 0)?;
        if self.element.first() == Some(&b'[') && (self.array_rows || self.index == 1) {
            return self.read_array(line);
        }
        if self.element.first() != Some(&b'{') || self.array_rows {
            return Err(IngestError::malformed(
                line,
                None,
                MalformedKind::NotAnObject { index: self.index },
                format!("record {} is not a JSON object", self.index),
            ));
        }
        read_object(&self.element, &mut self.columns, &mut self.cells, line)?;
        Ok(Some(line))
    }

    /// An array record: the first names the columns (strings as they are, other values as their JSON text), the
    /// others are rows whose cells follow the columns by position.
    fn read_array(&mut self, line: u64) -> Result<Option<u64>, IngestError> {
        let values: Vec<Box<RawValue>> = serde_json::from_slice(&self.element).map_err(|e| json_error(&e, line))?;
        if !self.array_rows {
            self.array_rows = true;
            for value in &values {
                let name = serde_json::from_str::<String>(value.get()).unwrap_or_else(|_| value.get().to_string());
                match self.columns.index(&name) {
                    Ok(_) => {}
                    Err(KeyProblem::Unknown(key)) => return Err(IngestError::changed(line, Some(key))),
                    Err(KeyProblem::TooMany(count)) => {
                        return Err(IngestError::TooManyColumns { count, max: self.columns.max });
                    }
                }
            }
            self.index -= 1; // the header is not a record
            return Ok(None);
        }
        let width = self.columns.names.len();
        if values.len() > width {
            return Err(IngestError::too_many_cells(line, values.len(), width));
        }
        self.cells.clear(width);
        for (column, value) in values.iter().enumerate() {
            self.cells.set(column, value.get()).map_err(|e| json_error(&e, line))?;
        }
        Ok(Some(line))
    }
}

impl RecordSource for JsonSource {
    fn headers(&self) -> &[String] {
        self.columns.names.names()
    }

    fn next_row(&mut self) -> Result<Option<Row<'_>>, IngestError> {
        let line = loop {
            match self.next_record()? {
                Some(Some(line)) => break line,
                Some(None) => continue, // the header array of an array-of-arrays file
                None => return Ok(None),
            }
        };
        Ok(Some(self.cells.row(line, self.columns.names.len())))
    }

    fn bytes_read(&self) -> u64 {
        self.scanner.pos
    }

    fn take_log(&mut self) -> Vec<TransformEntry> {
        self.log_entries()
    }
}

impl JsonSource {
    /// The next record of the array: `None` after the last, `Some(None)` for a header array.
    fn next_record(&mut self) -> Result<Option<Option<u64>>, IngestError> {
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
        Ok(Some(line))
    }

    fn log_entries(&mut self) -> Vec<TransformEntry> {
        let mut log = take_decode_log(&self.decode_log);
        if self.array_rows {
            log.push(TransformEntry {
                rule: "json_records".into(),
                count: self.index,
                detail: Some(format!("records are arrays: the first names the columns, {} rows follow", self.index)),
                ..TransformEntry::default()
            });
        }
        if let Some(envelope) = self.envelope.take() {
            let detail = match &envelope.records_at {
                Some(at) => {
                    let mut detail = format!("records at {at} ({})", self.index);
                    if !envelope.others.is_empty() {
                        detail.push_str("; other members ignored: ");
                        detail.push_str(&envelope.others.join(", "));
                    }
                    detail
                }
                None => "the object holds no array of objects: read as one record".to_string(),
            };
            log.push(TransformEntry {
                rule: "json_records".into(),
                count: self.index,
                detail: Some(detail),
                ..TransformEntry::default()
            });
        }
        log
    }
}

fn take_decode_log(log: &Arc<Mutex<DecodeLog>>) -> Vec<TransformEntry> {
    log.lock().map(|mut log| std::mem::take(&mut log.entries)).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------------------------
// NDJSON.

pub(crate) struct NdjsonSource {
    reader: BufReader<Box<dyn Read + Send>>,
    decode_log: Arc<Mutex<DecodeLog>>,
    pos: u64,
    line: u64,
    buffer: Vec<u8>,
    columns: Columns,
    cells: Cells,
    index: u64,
}

impl NdjsonSource {
    /// Opens a file in the sniffed encoding.
    pub(crate) fn open_encoded(
        path: &Path,
        encoding: TextEncoding,
        options: &OpenOptions<'_>,
    ) -> Result<Self, IngestError> {
        let (reader, pos, decode_log) = open_text(path, encoding, options)?;
        Ok(NdjsonSource {
            reader,
            decode_log,
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
            let n = (&mut self.reader).take(MAX_RECORD_BYTES + 1).read_until(b'\n', &mut self.buffer)?;
            if n as u64 > MAX_RECORD_BYTES {
                return Err(record_too_large(self.line + 1));
            }
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

    fn take_log(&mut self) -> Vec<TransformEntry> {
        take_decode_log(&self.decode_log)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Reads a whole JSON file: headers, rows as text, and the log of the pass.
    fn read_json(bytes: &[u8], encoding: TextEncoding) -> (Vec<String>, Vec<Vec<Option<String>>>, Vec<TransformEntry>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.json");
        std::fs::write(&path, bytes).unwrap();
        let eudc = BTreeMap::new();
        let options = OpenOptions { check_utf8: true, known_columns: None, max_columns: 100, table: None, eudc: &eudc };
        let mut source = JsonSource::open_encoded(&path, encoding, &options).unwrap();
        let mut rows = Vec::new();
        while let Some(row) = source.next_row().unwrap() {
            rows.push((0..row.width()).map(|i| row.text(i).map(str::to_string)).collect());
        }
        (source.headers().to_vec(), rows, source.take_log())
    }

    fn records_detail(log: &[TransformEntry]) -> (u64, String) {
        let entry = log.iter().find(|e| e.rule == "json_records").expect("a json_records entry");
        (entry.count, entry.detail.clone().unwrap_or_default())
    }

    #[test]
    fn an_array_of_arrays_is_a_header_then_rows() {
        let (headers, rows, log) = read_json(
            "[[\"區\",\"人口\",\"備註\"],[\"三民區\",330000,null],[\"苓雅區\",\"163,000\"]]".as_bytes(),
            TextEncoding::Utf8,
        );
        assert_eq!(headers, ["區", "人口", "備註"]);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0][0].as_deref(), rows[0][1].as_deref(), rows[0][2].as_deref()),
            (Some("三民區"), Some("330000"), None)
        );
        assert_eq!(rows[1][1].as_deref(), Some("163,000"), "a short row's missing cells are null");
        let entry = log.iter().find(|e| e.rule == "json_records").unwrap();
        assert_eq!(entry.count, 2);
        // A row longer than the header names its line; an object among arrays is refused.
        let dir = tempfile::tempdir().unwrap();
        for (text, code) in [("[[\"a\"],[1,2]]", "malformed_file"), ("[[\"a\"],{\"a\":1}]", "malformed_file")] {
            let path = dir.path().join("x.json");
            std::fs::write(&path, text).unwrap();
            let eudc = BTreeMap::new();
            let options =
                OpenOptions { check_utf8: true, known_columns: None, max_columns: 100, table: None, eudc: &eudc };
            let mut source = JsonSource::open_encoded(&path, TextEncoding::Utf8, &options).unwrap();
            let mut error = None;
            loop {
                match source.next_row() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
            }
            assert_eq!(error.map(|e| e.code()), Some(code), "{text}");
        }
    }

    #[test]
    fn real_envelope_is_logged_with_what_it_set_aside() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/kaohsiung_inclusive_playgrounds_pwbmo_2023-02.json");
        let (headers, rows, log) = read_json(&std::fs::read(path).unwrap(), TextEncoding::Utf8);
        assert_eq!(rows.len(), 27);
        assert!(headers.iter().any(|h| h == "Longitude"), "{headers:?}");
        assert_eq!(
            records_detail(&log),
            (27, "records at items (27); other members ignored: success, totalCount".into())
        );
        assert_eq!(log[0].rule, "decode");
    }

    #[test]
    fn ckan_fields_beside_records_are_not_the_records() {
        let ckan =
            br#"{"help":"https://data.tainan.gov.tw/api/3/action/help_show?name=datastore_search","success":true,
            "result":{"resource_id":"r1","fields":[{"id":"_id","type":"int"},{"id":"district","type":"text"}],
            "records":[{"_id":1,"district":"North"},{"_id":2,"district":"East"}],
            "_links":{"start":"/api/3/action/datastore_search"},"total":2}}"#;
        let (headers, rows, log) = read_json(ckan, TextEncoding::Utf8);
        assert_eq!(headers, ["_id", "district"]);
        assert_eq!(rows[1], [Some("2".to_string()), Some("East".to_string())]);
        assert_eq!(
            records_detail(&log),
            (
                2,
                "records at result.records (2); other members ignored: help, success, result.resource_id, \
                 result.fields, result._links, result.total"
                    .into()
            )
        );
        // With no records, the table is empty (not the column list) …
        let (_, rows, log) = read_json(br#"{"result":{"fields":[{"id":"a"}],"records":[]}}"#, TextEncoding::Utf8);
        assert!(rows.is_empty());
        assert_eq!(records_detail(&log).1, "records at result.records (0); other members ignored: result.fields");
        // … and when an array under a metadata key is all there is, it is the table.
        let (headers, rows, log) = read_json(br#"{"count":1,"fields":[{"id":"a","type":"text"}]}"#, TextEncoding::Utf8);
        assert_eq!((headers.len(), rows.len()), (2, 1));
        assert_eq!(records_detail(&log).1, "records at fields (1); other members ignored: count");
    }

    #[test]
    fn nested_objects_without_records_are_one_member() {
        let json = br#"{"meta":{"page":1,"size":2},"data":{"rows":[{"a":1}],"next":null},"ok":true}"#;
        let (_, rows, log) = read_json(json, TextEncoding::Utf8);
        assert_eq!(rows.len(), 1);
        assert_eq!(records_detail(&log).1, "records at data.rows (1); other members ignored: meta, data.next, ok");
        let (_, rows, log) = read_json(br#"{"a":1,"b":"x"}"#, TextEncoding::Utf8);
        assert_eq!(rows.len(), 1);
        assert_eq!(records_detail(&log), (1, "the object holds no array of objects: read as one record".into()));
        // A top-level array is no envelope: nothing to log beyond the decoding.
        let (_, _, log) = read_json(br#"[{"a":1}]"#, TextEncoding::Utf8);
        assert!(log.iter().all(|e| e.rule != "json_records"));
    }

    #[test]
    fn json_in_utf16_and_big5_is_decoded() {
        let text = "{\"success\":true,\"items\":[{\"區\":\"三民區\",\"人口\":1}]}";
        let utf16: Vec<u8> =
            b"\xFF\xFE".iter().copied().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect();
        let (headers, rows, log) = read_json(&utf16, TextEncoding::Utf16Le);
        assert_eq!(headers, ["區", "人口"]);
        assert_eq!(rows[0][0].as_deref(), Some("三民區"));
        assert_eq!(log[0].detail.as_deref(), Some("UTF-16LE → UTF-8, byte-order mark removed"));
        // {"村里":"塩行里"} in Big5 with the user-defined 塩.
        let big5 = b"[{\"\xA7\xF8\xA8\xBD\":\"\x95\xCD\xA6\xE6\xA8\xBD\"}]";
        let (headers, rows, log) = read_json(big5, TextEncoding::Big5);
        assert_eq!(headers, ["村里"]);
        assert_eq!(rows[0][0].as_deref(), Some("塩行里"));
        assert_eq!(log.iter().find(|e| e.rule == "eudc").map(|e| e.count), Some(1));
    }
}
