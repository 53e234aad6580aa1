//! XML with repeated record elements (CWB weather feeds, MOTC station lists …) as a table, streamed with quick-xml.
//!
//! **Which element is a record.** A first streaming pass counts, for every element path, the most times it occurs
//! under one parent. Paths occurring at least twice under one parent are candidates; a candidate inside another
//! candidate is part of that one's records, not a record itself; of the rest, elements with content (children or
//! attributes) beat bare repeated values, then the most repeated wins. So `cwbopendata/location` (30 stations, each
//! holding 14 `weatherElement`s) and `ArrayOfBaseStation/BaseStation` are the records. A document with no repeated
//! element is one record: its root. Logged as `xml_records` ("records are <location> under <cwbopendata> (30)").
//!
//! **Columns.** A second pass flattens every record to find the columns (first-seen order); the third pass (the
//! reading) flattens each record again. Flattening a record:
//!
//! - a leaf child element is a column named by its path below the record: `lat`, `time/obsTime`; an empty element
//!   (`<InfoDate/>`) or whitespace is an empty cell; text is kept as written (WKT `POINT (120.35 22.56)` stays text);
//! - attributes are columns `@name` (of the record) or `path/@name`; namespace declarations are not data, and
//!   namespaces are stripped from every name;
//! - **key–value elements**: when an element repeats under one parent and each occurrence has a leaf child whose
//!   name ends in `Name` holding distinct texts, that text names the column instead of the element: CWB's
//!   `<weatherElement><elementName>TEMP</elementName><elementValue><value>14.9</value></elementValue></weatherElement>`
//!   is column `TEMP` = `14.9`, and `<parameter><parameterName>CITY</parameterName><parameterValue>…` is `CITY`.
//!   When what remains under the key is one value, the column is the key alone; otherwise the key is a path prefix;
//! - any other element repeated under one parent is numbered from 1: `time[1]/startTime`, `time[2]/startTime`.
//!
//! For the F-C0032 36-hour forecast (location → weatherElement → time → parameter) this gives one row per county
//! (22), the record the publisher made: `locationName`, then per element and period `Wx/time[1]/startTime`,
//! `Wx/time[1]/endTime`, `Wx/time[1]/parameter/parameterName` (`多雲時晴`), `…/parameterValue` (`7`), `MaxT/time[1]/
//! parameter/parameterName` (`30`) … The alternative, one row per county and period, would need a pivot across
//! elements that the file does not state (it only happens that all elements share their periods).
//!
//! **Safety.** Entities are never expanded and DTDs never read: a `<!DOCTYPE` declaring `<!ENTITY` is refused
//! ("entity declarations are not read"), so neither external entities (files, URLs) nor a billion laughs can happen;
//! a reference to an undeclared entity is an error. Memory is bounded per record ([`MAX_RECORD_BYTES`],
//! [`MAX_RECORD_NODES`], [`MAX_DEPTH`]) and per token ([`MAX_TOKEN_BYTES`]: one text or tag longer than that is
//! refused, since the parser holds a token whole).
//!
//! Does not: validate against a schema; read mixed content (text beside child elements is left out); read
//! processing instructions or comments; read SpreadsheetML (Excel 2003 XML) as a sheet — it reads as records of
//! `Row`s.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use quick_xml::events::{BytesStart, Event};
use tapwater_types::TransformEntry;

use super::{OpenOptions, RecordSource, Row};
use crate::{IngestError, MalformedKind, Sniffed, decode};

/// Text of one record (all its values), at most.
pub(crate) const MAX_RECORD_BYTES: usize = 16 << 20;
/// Elements in one record, at most.
pub(crate) const MAX_RECORD_NODES: usize = 100_000;
/// Element nesting, at most.
pub(crate) const MAX_DEPTH: usize = 256;
/// One text node or tag, at most.
pub(crate) const MAX_TOKEN_BYTES: u64 = 64 << 20;
/// Distinct element paths, at most: a table has a few dozen; millions mean the document is not a table.
const MAX_PATHS: usize = 100_000;

// ---------------------------------------------------------------------------------------------------------------
// The byte stream: counts lines and bounds tokens.

/// A reader that counts the lines and bytes the parser consumed and refuses a token longer than
/// [`MAX_TOKEN_BYTES`] (bytes without a `<` or `>`).
struct Guarded<R> {
    inner: R,
    line: u64,
    consumed: u64,
    since_markup: u64,
}

impl<R: BufRead> Read for Guarded<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = {
            let buf = self.fill_buf()?;
            let n = buf.len().min(out.len());
            out[..n].copy_from_slice(&buf[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Guarded<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.since_markup > MAX_TOKEN_BYTES {
            return Err(std::io::Error::other(TokenTooLong));
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        // The bytes consumed are still in the inner buffer: `fill_buf` returns them without reading.
        if let Ok(buf) = self.inner.fill_buf() {
            let part = &buf[..n.min(buf.len())];
            self.line += memchr::memchr_iter(b'\n', part).count() as u64;
            match memchr::memrchr2(b'<', b'>', part) {
                Some(i) => self.since_markup = (part.len() - i - 1) as u64,
                None => self.since_markup += part.len() as u64,
            }
        }
        self.consumed += n as u64;
        self.inner.consume(n);
    }
}

#[derive(Debug)]
struct TokenTooLong;

impl std::fmt::Display for TokenTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a text or tag longer than {} MiB", MAX_TOKEN_BYTES >> 20)
    }
}

impl std::error::Error for TokenTooLong {}

type XmlReader = quick_xml::Reader<Guarded<BufReader<Box<dyn Read + Send>>>>;

/// One pass over the document, event by event, with errors that say the line.
struct Pass {
    reader: XmlReader,
    buf: Vec<u8>,
    /// What decoding did (a `decode` entry, Big5 user-defined characters …), filled as the file is read.
    decode_log: std::sync::Arc<std::sync::Mutex<decode::DecodeLog>>,
}

enum Token {
    Start { name: String, attrs: Vec<(String, String)>, empty: bool },
    End,
    Text(String),
    Eof,
}

impl Pass {
    fn open(path: &Path, sniffed: &Sniffed, options: &OpenOptions<'_>) -> Result<Self, IngestError> {
        let (text, decode_log) = decode::open_sniffed(path, sniffed, options.eudc)?;
        let guarded =
            Guarded { inner: BufReader::with_capacity(256 * 1024, text), line: 1, consumed: 0, since_markup: 0 };
        let reader = quick_xml::Reader::from_reader(guarded);
        Ok(Pass { reader, buf: Vec::new(), decode_log })
    }

    fn line(&self) -> u64 {
        self.reader.get_ref().line
    }

    fn bytes(&self) -> u64 {
        self.reader.get_ref().consumed
    }

    fn error(&self, message: impl Into<String>) -> IngestError {
        IngestError::malformed(self.line(), None, MalformedKind::Syntax, message)
    }

    /// The next event that matters: elements with their attributes, and text (entities resolved).
    fn next(&mut self) -> Result<Token, IngestError> {
        loop {
            self.buf.clear();
            let event = match self.reader.read_event_into(&mut self.buf) {
                Ok(event) => event,
                Err(quick_xml::Error::Io(io)) => {
                    let too_long = io.get_ref().is_some_and(|e| e.is::<TokenTooLong>());
                    return Err(if too_long {
                        self.error(format!(
                            "a text or tag longer than {} MiB; tapwater does not read XML values this large",
                            MAX_TOKEN_BYTES >> 20
                        ))
                    } else {
                        match std::sync::Arc::try_unwrap(io) {
                            Ok(io) => match io.downcast::<IngestError>() {
                                Ok(ours) => ours,
                                Err(io) => IngestError::Io(io),
                            },
                            Err(io) => IngestError::Io(std::io::Error::new(io.kind(), io.to_string())),
                        }
                    });
                }
                Err(e) => return Err(self.error(format!("the XML is not well-formed: {e}"))),
            };
            let line = self.reader.get_ref().line;
            let decoder = self.reader.decoder();
            let error = |message: String| IngestError::malformed(line, None, MalformedKind::Syntax, message);
            return Ok(match event {
                Event::Start(e) => start(&e, false, decoder, line)?,
                Event::Empty(e) => start(&e, true, decoder, line)?,
                Event::End(_) => Token::End,
                Event::Text(t) => Token::Text(t.decode().map_err(|e| error(e.to_string()))?.into_owned()),
                Event::CData(t) => Token::Text(t.decode().map_err(|e| error(e.to_string()))?.into_owned()),
                Event::GeneralRef(r) => {
                    let name = r.decode().map_err(|e| error(e.to_string()))?;
                    if let Some(c) = r.resolve_char_ref().map_err(|e| error(e.to_string()))? {
                        Token::Text(c.to_string())
                    } else if let Some(s) = quick_xml::escape::resolve_predefined_entity(&name) {
                        Token::Text(s.to_string())
                    } else {
                        return Err(error(format!(
                            "the entity &{name}; is not one of XML's own (&amp; &lt; &gt; &quot; &apos;) and entity \
                             declarations are not read"
                        )));
                    }
                }
                Event::DocType(d) => {
                    let text = String::from_utf8_lossy(&d).to_ascii_uppercase();
                    if text.contains("<!ENTITY") {
                        return Err(IngestError::malformed(
                            line,
                            None,
                            MalformedKind::EntityDeclaration,
                            "entity declarations are not read: the document type declaration (<!DOCTYPE …>) declares \
                             entities (<!ENTITY …>), which tapwater never expands because they can read files or \
                             grow without bound; publish the XML without its DOCTYPE",
                        ));
                    }
                    continue; // a DTD is never fetched nor read
                }
                Event::Eof => Token::Eof,
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => continue,
            });
        }
    }
}

/// A start (or empty) tag: its local name and attributes, namespace declarations left out.
fn start(
    e: &BytesStart<'_>,
    empty: bool,
    decoder: quick_xml::encoding::Decoder,
    line: u64,
) -> Result<Token, IngestError> {
    let name = local(e.local_name().as_ref());
    let error = |err: &dyn std::fmt::Display| {
        IngestError::malformed(line, None, MalformedKind::Syntax, format!("bad attribute in <{name}>: {err}"))
    };
    let mut attrs = Vec::new();
    for attr in e.attributes() {
        let attr = attr.map_err(|err| error(&err))?;
        if attr.key.as_namespace_binding().is_some() {
            continue; // xmlns, xmlns:x — namespace declarations, not data
        }
        let value = attr.decode_and_unescape_value(decoder).map_err(|err| error(&err))?;
        attrs.push((local(attr.key.local_name().as_ref()), value.into_owned()));
    }
    Ok(Token::Start { name, attrs, empty })
}

fn local(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

// ---------------------------------------------------------------------------------------------------------------
// Pass 1: which element is the record.

#[derive(Default)]
struct PathStat {
    /// Most occurrences under one parent element.
    most_under_parent: u64,
    total: u64,
    first_seen: usize,
    has_content: bool,
}

/// The record element's path (names from the root) and how many records there are.
struct RecordPath {
    path: Vec<String>,
    count: u64,
}

fn find_records(pass: &mut Pass) -> Result<RecordPath, IngestError> {
    let mut stats: HashMap<String, PathStat> = HashMap::new();
    // Open elements: path, and how many times each child name occurred so far.
    let mut stack: Vec<(String, HashMap<String, u64>)> = Vec::new();
    let mut root = None;
    loop {
        match pass.next()? {
            Token::Start { name, attrs, empty } => {
                if stack.len() >= MAX_DEPTH {
                    return Err(pass.error(format!("elements nest deeper than {MAX_DEPTH} levels")));
                }
                let path = match stack.last_mut() {
                    Some((parent, counts)) => {
                        *counts.entry(name.clone()).or_default() += 1;
                        let parent_path = parent.clone();
                        if let Some(stat) = stats.get_mut(&parent_path) {
                            stat.has_content = true;
                        }
                        format!("{parent_path}/{name}")
                    }
                    None => {
                        root.get_or_insert_with(|| name.clone());
                        name.clone()
                    }
                };
                let order = stats.len();
                if order >= MAX_PATHS {
                    return Err(pass.error(format!(
                        "more than {MAX_PATHS} different element paths: this XML is not a table of records"
                    )));
                }
                let stat =
                    stats.entry(path.clone()).or_insert_with(|| PathStat { first_seen: order, ..Default::default() });
                stat.total += 1;
                stat.has_content |= !attrs.is_empty();
                if !empty {
                    stack.push((path, HashMap::new()));
                    continue;
                }
                stack.push((path, HashMap::new()));
                close(&mut stack, &mut stats);
            }
            Token::End => close(&mut stack, &mut stats),
            Token::Text(_) => {}
            Token::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(pass.error("the document ends inside an element: the file is truncated"));
    }
    let Some(root) = root else { return Err(IngestError::Empty) };
    let candidates: Vec<(&String, &PathStat)> = stats.iter().filter(|(_, s)| s.most_under_parent >= 2).collect();
    let best = candidates
        .iter()
        .filter(|(path, _)| !candidates.iter().any(|(other, _)| path.starts_with(&format!("{other}/"))))
        .max_by_key(|(_, s)| (s.has_content, s.most_under_parent, std::cmp::Reverse(s.first_seen)));
    let (path, count) = match best {
        Some((path, stat)) => ((*path).clone(), stat.total),
        None if stats.get(&root).is_some_and(|s| s.has_content) => (root, 1),
        None => return Err(IngestError::Empty),
    };
    Ok(RecordPath { path: path.split('/').map(str::to_string).collect(), count })
}

fn close(stack: &mut Vec<(String, HashMap<String, u64>)>, stats: &mut HashMap<String, PathStat>) {
    let Some((path, counts)) = stack.pop() else { return };
    for (child, count) in counts {
        if let Some(stat) = stats.get_mut(&format!("{path}/{child}")) {
            stat.most_under_parent = stat.most_under_parent.max(count);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// A record as a small tree, and its flattening.

struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<usize>,
}

#[derive(Default)]
struct Record {
    nodes: Vec<Node>,
    line: u64,
}

impl Record {
    fn is_leaf(&self, id: usize) -> bool {
        self.nodes[id].children.is_empty()
    }

    /// A leaf's value: whitespace alone is no value.
    fn value(&self, id: usize) -> &str {
        let text = self.nodes[id].text.as_str();
        if text.trim().is_empty() { "" } else { text }
    }

    /// Every column of the record with its value, in document order.
    fn flatten(&self) -> Vec<(String, &str)> {
        let mut out = Vec::new();
        if !self.nodes.is_empty() {
            if self.is_leaf(0) && self.nodes[0].attrs.is_empty() {
                out.push((self.nodes[0].name.clone(), self.value(0)));
            } else {
                self.flatten_node(0, "", None, &mut out);
            }
        }
        // A path met twice in one record (a key equal to a leaf's name): later ones get `_2`, `_3` …
        let mut seen = HashSet::new();
        for (name, _) in &mut out {
            if !seen.insert(name.clone()) {
                let mut n = 2;
                while seen.contains(&format!("{name}_{n}")) {
                    n += 1;
                }
                *name = format!("{name}_{n}");
                seen.insert(name.clone());
            }
        }
        out
    }

    fn flatten_node<'r>(&'r self, id: usize, prefix: &str, skip: Option<usize>, out: &mut Vec<(String, &'r str)>) {
        let node = &self.nodes[id];
        for (key, value) in &node.attrs {
            out.push((join(prefix, &format!("@{key}")), value.as_str()));
        }
        if node.children.is_empty() {
            if !prefix.is_empty() {
                out.push((prefix.to_string(), self.value(id)));
            }
            return;
        }
        let children: Vec<usize> = node.children.iter().copied().filter(|&c| Some(c) != skip).collect();
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for &c in &children {
            *counts.entry(self.nodes[c].name.as_str()).or_default() += 1;
        }
        let mut keys: HashMap<&str, Option<&str>> = HashMap::new();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for &c in &children {
            let name = self.nodes[c].name.as_str();
            let count = counts[name];
            let key = *keys
                .entry(name)
                .or_insert_with(|| if count > 1 { self.key_child_name(&children, name) } else { None });
            if let Some(key_name) = key
                && let Some(key_child) = self.leaf_child(c, key_name)
            {
                let path = join(prefix, self.value(key_child).trim());
                match self.single_value(c, key_child) {
                    Some(value) => out.push((path, value)),
                    None => self.flatten_node(c, &path, Some(key_child), out),
                }
            } else if count > 1 {
                let i = seen.entry(name).or_default();
                *i += 1;
                self.flatten_node(c, &join(prefix, &format!("{name}[{i}]")), None, out);
            } else {
                self.flatten_node(c, &join(prefix, name), None, out);
            }
        }
    }

    /// For siblings named `name` (repeated), the name of the leaf child that keys them: it ends in `Name` and holds
    /// a distinct, non-empty text in each of them.
    fn key_child_name<'r>(&'r self, siblings: &[usize], name: &str) -> Option<&'r str> {
        let members: Vec<usize> = siblings.iter().copied().filter(|&c| self.nodes[c].name == name).collect();
        let first = *members.first()?;
        self.nodes[first].children.iter().map(|&k| self.nodes[k].name.as_str()).find(|candidate| {
            if !candidate.to_ascii_lowercase().ends_with("name") {
                return false;
            }
            let mut texts = HashSet::new();
            members.iter().all(|&m| {
                self.leaf_child(m, candidate)
                    .map(|k| self.value(k).trim())
                    .is_some_and(|text| !text.is_empty() && !text.contains('/') && texts.insert(text))
            })
        })
    }

    /// The only leaf child of `id` named `name`.
    fn leaf_child(&self, id: usize, name: &str) -> Option<usize> {
        let mut found = self.nodes[id].children.iter().copied().filter(|&c| self.nodes[c].name == name);
        let child = found.next()?;
        (found.next().is_none() && self.is_leaf(child)).then_some(child)
    }

    /// The value under a keyed element when it holds exactly one (one leaf, no attributes) besides its key.
    fn single_value(&self, id: usize, skip: usize) -> Option<&str> {
        let mut leaf = None;
        let mut stack: Vec<usize> = self.nodes[id].children.iter().copied().filter(|&c| c != skip).collect();
        if !self.nodes[id].attrs.is_empty() {
            return None;
        }
        while let Some(n) = stack.pop() {
            if !self.nodes[n].attrs.is_empty() {
                return None;
            }
            if self.is_leaf(n) {
                if leaf.replace(n).is_some() {
                    return None;
                }
            } else {
                stack.extend(self.nodes[n].children.iter().copied());
            }
        }
        leaf.map(|l| self.value(l))
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_string() } else { format!("{prefix}/{name}") }
}

/// Reads records one at a time.
struct Records {
    pass: Pass,
    target: Vec<String>,
    /// Names of the open elements outside a record.
    stack: Vec<String>,
    record: Record,
}

impl Records {
    /// The next record, or `false` at the end of the document.
    fn next(&mut self) -> Result<bool, IngestError> {
        loop {
            match self.pass.next()? {
                Token::Start { name, attrs, empty } => {
                    if self.stack.len() >= MAX_DEPTH {
                        return Err(self.pass.error(format!("elements nest deeper than {MAX_DEPTH} levels")));
                    }
                    self.stack.push(name);
                    if self.stack == self.target {
                        let name = self.stack.pop().unwrap_or_default();
                        self.read_record(name, attrs, empty)?;
                        return Ok(true);
                    }
                    if empty {
                        self.stack.pop();
                    }
                }
                Token::End => {
                    self.stack.pop();
                }
                Token::Text(_) => {}
                Token::Eof => return Ok(false),
            }
        }
    }

    /// Reads the record whose start tag was just read into a tree.
    fn read_record(&mut self, name: String, attrs: Vec<(String, String)>, empty: bool) -> Result<(), IngestError> {
        let record = &mut self.record;
        record.nodes.clear();
        record.line = self.pass.line();
        let mut bytes = attrs.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
        record.nodes.push(Node { name, attrs, text: String::new(), children: Vec::new() });
        if empty {
            return Ok(());
        }
        let mut open = vec![0usize];
        while let Some(&top) = open.last() {
            match self.pass.next()? {
                Token::Start { name, attrs, empty } => {
                    if open.len() + self.stack.len() >= MAX_DEPTH {
                        return Err(self.pass.error(format!("elements nest deeper than {MAX_DEPTH} levels")));
                    }
                    if record.nodes.len() >= MAX_RECORD_NODES {
                        return Err(self.pass.error(format!(
                            "a record holds more than {MAX_RECORD_NODES} elements: this is not a table of records"
                        )));
                    }
                    bytes += name.len() + attrs.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
                    let id = record.nodes.len();
                    record.nodes.push(Node { name, attrs, text: String::new(), children: Vec::new() });
                    record.nodes[top].children.push(id);
                    if !empty {
                        open.push(id);
                    }
                }
                Token::End => {
                    open.pop();
                }
                Token::Text(text) => {
                    bytes += text.len();
                    record.nodes[top].text.push_str(&text);
                }
                Token::Eof => return Err(self.pass.error("the document ends inside a record: the file is truncated")),
            }
            if bytes > MAX_RECORD_BYTES {
                return Err(self.pass.error(format!(
                    "a record holds more than {} MiB of text; tapwater reads XML records up to that size",
                    MAX_RECORD_BYTES >> 20
                )));
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The source.

/// An XML document read as a table of its repeated records.
pub(crate) struct XmlSource {
    records: Records,
    columns: Vec<String>,
    index: HashMap<String, usize>,
    data: Vec<u8>,
    spans: Vec<(usize, usize)>,
    log: Vec<TransformEntry>,
}

impl XmlSource {
    pub(crate) fn open(path: &Path, sniffed: &Sniffed, options: &OpenOptions<'_>) -> Result<Self, IngestError> {
        let mut scan = Pass::open(path, sniffed, options)?;
        let found = find_records(&mut scan)?;
        drop(scan);
        let records = |pass| Records { pass, target: found.path.clone(), stack: Vec::new(), record: Record::default() };
        let columns = match options.known_columns {
            Some(known) => known.to_vec(),
            None => {
                let mut columns = Vec::new();
                let mut seen = HashSet::new();
                let mut reader = records(Pass::open(path, sniffed, options)?);
                while reader.next()? {
                    for (name, _) in reader.record.flatten() {
                        if !seen.contains(&name) {
                            seen.insert(name.clone());
                            columns.push(name);
                            if columns.len() > options.max_columns {
                                return Err(IngestError::TooManyColumns {
                                    count: columns.len(),
                                    max: options.max_columns,
                                });
                            }
                        }
                    }
                }
                columns
            }
        };
        if columns.is_empty() {
            return Err(IngestError::Empty);
        }
        let record_name = found.path.last().cloned().unwrap_or_default();
        let parent = if found.path.len() > 1 { found.path[..found.path.len() - 1].join("/") } else { String::new() };
        let detail = if parent.is_empty() {
            format!("the record is the root element <{record_name}> (no element repeats)")
        } else {
            format!("records are <{record_name}> under <{parent}> ({})", found.count)
        };
        let log = vec![TransformEntry {
            rule: "xml_records".into(),
            count: found.count,
            detail: Some(detail),
            ..Default::default()
        }];
        let index = columns.iter().enumerate().map(|(i, c)| (c.clone(), i)).collect();
        Ok(XmlSource {
            records: records(Pass::open(path, sniffed, options)?),
            columns,
            index,
            data: Vec::new(),
            spans: Vec::new(),
            log,
        })
    }
}

impl RecordSource for XmlSource {
    fn headers(&self) -> &[String] {
        &self.columns
    }

    fn next_row(&mut self) -> Result<Option<Row<'_>>, IngestError> {
        if !self.records.next()? {
            return Ok(None);
        }
        let line = self.records.record.line;
        self.data.clear();
        self.spans.clear();
        self.spans.resize(self.columns.len(), (0, 0));
        for (name, value) in self.records.record.flatten() {
            let Some(&i) = self.index.get(&name) else {
                // The first pass saw every column: a new one means the file changed in between.
                return Err(IngestError::changed(line, Some(name)));
            };
            let start = self.data.len();
            self.data.extend_from_slice(value.as_bytes());
            self.spans[i] = (start, self.data.len());
        }
        Ok(Some(Row::new(&self.data, &self.spans, line, self.columns.len())))
    }

    fn bytes_read(&self) -> u64 {
        self.records.pass.bytes()
    }

    fn take_log(&mut self) -> Vec<TransformEntry> {
        let mut log =
            self.records.pass.decode_log.lock().map(|mut d| std::mem::take(&mut d.entries)).unwrap_or_default();
        log.append(&mut self.log);
        log
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::io::Write;

    use super::*;
    use crate::SourceFormat;
    use crate::source::sheet::tests::{fixture, options, sniffed};

    /// Headers, rows as `(line, [(column, value)])` with empty cells left out, and the log.
    type Table = (Vec<String>, Vec<(u64, Vec<(String, String)>)>, Vec<TransformEntry>);

    fn read(path: &Path) -> Result<Table, IngestError> {
        let eudc = BTreeMap::new();
        let mut source = XmlSource::open(path, &sniffed(SourceFormat::Xml, "xml"), &options(None, &eudc))?;
        let headers = source.headers().to_vec();
        let mut rows = Vec::new();
        while let Some(row) = source.next_row()? {
            let cells =
                (0..row.len()).filter_map(|i| row.text(i).map(|t| (headers[i].clone(), t.to_string()))).collect();
            rows.push((row.line(), cells));
        }
        let log: Vec<TransformEntry> = source.take_log().into_iter().filter(|e| e.rule != "decode").collect();
        Ok((headers, rows, log))
    }

    fn read_str(xml: &str) -> Result<Table, IngestError> {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(xml.as_bytes()).unwrap();
        read(file.path())
    }

    fn get<'a>(row: &'a [(String, String)], column: &str) -> Option<&'a str> {
        row.iter().find(|(c, _)| c == column).map(|(_, v)| v.as_str())
    }

    #[test]
    fn real_cwb_station_observations() {
        let (headers, rows, log) = read(&fixture("cwb_O-A0003-001_station_obs_2014-03-14.xml")).unwrap();
        assert_eq!(rows.len(), 30);
        assert_eq!(&headers[..6], ["lat", "lon", "locationName", "stationId", "time/obsTime", "TIME"]);
        assert!(headers.iter().any(|h| h == "TEMP") && headers.iter().any(|h| h == "CITY_SN"), "{headers:?}");
        let first = &rows[0].1;
        assert_eq!(get(first, "locationName"), Some("基隆"));
        assert_eq!(get(first, "lat"), Some("25.1348"));
        assert_eq!(get(first, "TEMP"), Some("14.9"));
        assert_eq!(get(first, "time/obsTime"), Some("2014-03-14T00:00:00+08:00"));
        assert_eq!(get(first, "CITY"), Some("基隆市"));
        assert_eq!(get(first, "CITY_SN"), Some("03"), "codes keep their leading zeros");
        assert_eq!(get(first, "TOWN_SN"), Some("010"));
        assert_eq!(rows[0].0, 10, "the first <location> starts on line 10");
        assert!(rows.iter().all(|(_, r)| get(r, "TEMP").is_some()));
        assert_eq!(log[0].rule, "xml_records");
        assert_eq!(log[0].detail.as_deref(), Some("records are <location> under <cwbopendata> (30)"));
    }

    #[test]
    fn real_cwb_36h_forecast() {
        let (headers, rows, log) = read(&fixture("cwb_F-C0032-001_36h_forecast_2015-10-28.xml")).unwrap();
        assert_eq!(rows.len(), 22);
        assert_eq!(log[0].detail.as_deref(), Some("records are <location> under <cwbopendata/dataset> (22)"));
        assert_eq!(headers[0], "locationName");
        let taipei = &rows[0].1;
        assert_eq!(get(taipei, "locationName"), Some("臺北市"));
        assert_eq!(get(taipei, "Wx/time[1]/startTime"), Some("2015-10-29T00:00:00+08:00"));
        assert_eq!(get(taipei, "Wx/time[2]/parameter/parameterName"), Some("多雲時晴"));
        assert_eq!(get(taipei, "Wx/time[2]/parameter/parameterValue"), Some("7"));
        assert_eq!(get(taipei, "MaxT/time[1]/parameter/parameterName"), Some("23"));
        assert_eq!(get(taipei, "MaxT/time[1]/parameter/parameterUnit"), Some("C"));
        assert_eq!(get(taipei, "CI/time[2]/parameter/parameterName"), Some("舒適至悶熱"));
        // The name, then 5 elements × 3 periods × (start, end, name, value or unit) — CI has no value nor unit.
        assert_eq!(headers.len(), 1 + 4 * 3 * 4 + 3 * 3, "{headers:?}");
    }

    #[test]
    fn real_krtc_stations_keep_wkt_as_text() {
        let (headers, rows, log) = read(&fixture("kaohsiung_krtc_metro_stations_wkt.xml")).unwrap();
        assert_eq!(headers, ["StationID", "StationName", "Geometry", "InfoDate", "UpdateDate", "CheckDate"]);
        assert_eq!(get(&rows[0].1, "Geometry"), Some("POINT (120.353802 22.56459)"));
        assert_eq!(get(&rows[0].1, "StationName"), Some("小港"));
        assert_eq!(get(&rows[2].1, "StationID"), Some("R4A"));
        assert_eq!(get(&rows[0].1, "InfoDate"), None, "an empty element is an empty cell");
        assert!(
            log[0].detail.as_deref().unwrap().starts_with("records are <BaseStation> under <ArrayOfBaseStation> (")
        );
        assert_eq!(log[0].count, rows.len() as u64);
    }

    #[test]
    fn external_entities_are_refused() {
        let xxe = r#"<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<r><i><a>&xxe;</a></i><i><a>2</a></i></r>"#;
        let err = read_str(xxe).err().unwrap();
        assert!(
            matches!(&err, IngestError::Malformed { line: 2, message, .. } if message.starts_with("entity declarations are not read")),
            "{err:?}"
        );
        let laughs =
            r#"<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]><r><a>&lol2;</a></r>"#;
        assert!(read_str(laughs).is_err());
        // An undeclared entity (no DOCTYPE at all) is an error too, not silently dropped.
        let err = read_str("<r><i><a>&nbsp;</a></i><i><a>1</a></i></r>").err().unwrap();
        assert!(err.to_string().contains("&nbsp;"), "{err}");
    }

    #[test]
    fn attributes_namespaces_and_entities() {
        let xml = r#"<?xml version="1.0"?>
<ns:rows xmlns:ns="urn:x" xmlns="urn:y">
  <ns:row id="1" ns:kind="a"><name>A &amp; B &#x6771;</name><geo><lat>22.5</lat></geo></ns:row>
  <ns:row id="2"><name><![CDATA[<b>]]></name><extra/></ns:row>
</ns:rows>"#;
        let (headers, rows, _) = read_str(xml).unwrap();
        assert_eq!(headers, ["@id", "@kind", "name", "geo/lat", "extra"]);
        assert_eq!(get(&rows[0].1, "name"), Some("A & B 東"));
        assert_eq!(get(&rows[1].1, "name"), Some("<b>"));
        assert_eq!(get(&rows[1].1, "@id"), Some("2"));
    }

    #[test]
    fn truncated_and_broken_xml() {
        let err = read_str("<r><i><a>1</a></i><i><a>2</a></i><i><a>").err().unwrap();
        assert!(matches!(err, IngestError::Malformed { .. }), "{err:?}");
        let err = read_str("<r>\n<i><a>1</b></i>\n</r>").err().unwrap();
        assert!(matches!(err, IngestError::Malformed { line: 2, .. }), "{err:?}");
        assert!(matches!(read_str("  ").err().unwrap(), IngestError::Empty));
    }

    #[test]
    fn a_document_without_repetition_is_one_record() {
        let (headers, rows, log) = read_str("<root><a>1</a><b><c>2</c></b></root>").unwrap();
        assert_eq!(headers, ["a", "b/c"]);
        assert_eq!(rows.len(), 1);
        assert!(log[0].detail.as_deref().unwrap().contains("root element <root>"));
    }

    #[test]
    fn repeated_children_are_numbered_and_keys_must_be_distinct() {
        let xml = "<r><i><tag>x</tag><tag>y</tag><p><pName>k</pName><v>1</v></p><p><pName>k</pName><v>2</v></p></i>\
                   <i><tag>z</tag></i></r>";
        let (headers, rows, _) = read_str(xml).unwrap();
        assert_eq!(headers, ["tag[1]", "tag[2]", "p[1]/pName", "p[1]/v", "p[2]/pName", "p[2]/v", "tag"]);
        assert_eq!(get(&rows[1].1, "tag"), Some("z"));
    }
}
