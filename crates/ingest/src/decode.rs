//! Text in any encoding agencies publish, decoded to UTF-8 as a stream.
//!
//! [`open_text`] wraps a file in a `Read` that yields UTF-8 with any byte-order mark removed, decoding one chunk
//! (128 KiB) at a time, so memory stays bounded whatever the file size. What it did is written to a shared
//! [`DecodeLog`]: one `decode` entry naming the conversion, `eudc` entries for user-defined characters (per table
//! used) and a `decode_error` entry for bytes that are not text in the encoding (each became U+FFFD; the row is
//! kept).
//!
//! - **UTF-8** is passed through untouched (the readers check it and name the line of a bad byte); a BOM is skipped.
//! - **UTF-16LE/BE** go through `encoding_rs` (as any other encoding `encoding_rs` knows could, through the same
//!   `RsDecoder`).
//! - **Big5** is decoded here, by a table built once from `encoding_rs`'s Big5 index but restricted to what
//!   Microsoft's CP950 maps — the code page Taiwanese agencies' Windows software writes. `encoding_rs` implements
//!   WHATWG Big5, which puts Hong Kong's HKSCS characters in Big5's user-defined areas: it would silently turn the
//!   0x95CD of Tainan's village 塩行里 into 䋴 and the 0xFA52 of 檨林里 into 𤤳, and it cannot be told not to. In
//!   CP950 those areas (lead bytes 0x81–0xA0 and 0xFA–0xFE, and 0xC6A1–0xC8FE) belong to each office's own
//!   end-user-defined characters (EUDC). A pair there is decoded by, in order: the dataset pipeline's `eudc` table,
//!   tapwater's table of characters Taiwanese agencies are known to put there ([`TAIWAN_EUDC`]), and finally
//!   Microsoft's mapping to the Private Use Area (U+E000–U+F848), from which the byte pair can be recovered.
//!
//! Does not: guess the encoding ([`crate::sniff`] does), repair mojibake from files that were already decoded
//! wrongly once, or replace invalid UTF-8 in UTF-8 files (the CSV reader reports it with its line and column).

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use encoding_rs::{BIG5, Decoder, DecoderResult, UTF_16BE, UTF_16LE};
use tapwater_types::{TRANSFORM_EXAMPLES, TransformEntry, TransformExample};

use crate::{IngestError, Sniffed, TextEncoding};

/// Bytes of the file decoded at a time.
const CHUNK: usize = 128 * 1024;
const REPLACEMENT: &str = "\u{FFFD}";

/// What decoding did, shared with the reader that owns the decoder: filled while the file is read.
#[derive(Debug, Default, Clone)]
pub(crate) struct DecodeLog {
    pub entries: Vec<TransformEntry>,
}

/// A file as a stream of UTF-8, and the log its decoder fills as it is read.
pub(crate) type DecodedText = (Box<dyn Read + Send>, Arc<Mutex<DecodeLog>>);

/// Opens `path` as a UTF-8 byte stream, decoding `encoding` on the fly and skipping any byte-order mark.
/// `eudc` maps Big5 user-defined byte pairs (hex, `95CD`) to characters, ahead of the built-in table.
pub(crate) fn open_text(
    path: &Path,
    encoding: TextEncoding,
    eudc: &BTreeMap<String, String>,
) -> Result<DecodedText, IngestError> {
    open(path, encoding, None, eudc)
}

/// [`open_text`] for a sniffed file: the `decode` entry also gives the detection's confidence.
pub(crate) fn open_sniffed(
    path: &Path,
    sniffed: &Sniffed,
    eudc: &BTreeMap<String, String>,
) -> Result<DecodedText, IngestError> {
    open(path, sniffed.text_encoding, Some(sniffed.confidence), eudc)
}

fn open(
    path: &Path,
    encoding: TextEncoding,
    confidence: Option<u8>,
    eudc: &BTreeMap<String, String>,
) -> Result<DecodedText, IngestError> {
    let decode_entry = TransformEntry {
        rule: "decode".into(),
        count: 1,
        detail: Some(decode_detail(encoding, confidence)),
        ..TransformEntry::default()
    };
    let log = Arc::new(Mutex::new(DecodeLog { entries: vec![decode_entry.clone()] }));
    let file = File::open(path)?;
    let reader: Box<dyn Read + Send> = match encoding {
        TextEncoding::Utf8 => Box::new(BufReader::with_capacity(256 * 1024, file)),
        TextEncoding::Utf8Bom => {
            let mut file = BufReader::with_capacity(256 * 1024, file);
            crate::source::skip_bom(&mut file)?;
            Box::new(file)
        }
        TextEncoding::Utf16Le => {
            Box::new(DecodingReader::new(file, RsDecoder(UTF_16LE.new_decoder_with_bom_removal()), decode_entry, &log))
        }
        TextEncoding::Utf16Be => {
            Box::new(DecodingReader::new(file, RsDecoder(UTF_16BE.new_decoder_with_bom_removal()), decode_entry, &log))
        }
        TextEncoding::Big5 => {
            Box::new(DecodingReader::new(file, Big5Decoder::new(pipeline_eudc(eudc)), decode_entry, &log))
        }
    };
    Ok((reader, log))
}

fn decode_detail(encoding: TextEncoding, confidence: Option<u8>) -> String {
    let confidence = confidence.map(|c| format!(", confidence {c}%")).unwrap_or_default();
    match encoding {
        TextEncoding::Utf8 => "UTF-8, read as is".to_string(),
        TextEncoding::Utf8Bom => "UTF-8 with BOM → UTF-8, byte-order mark removed".to_string(),
        TextEncoding::Utf16Le | TextEncoding::Utf16Be => {
            format!("{} → UTF-8, byte-order mark removed{confidence}", encoding.name())
        }
        TextEncoding::Big5 => format!("Big5 (CP950) → UTF-8{confidence}"),
    }
}

/// Decodes the start of a file for [`crate::sniff`] (no pipeline `eudc` table; a pair cut at the end is dropped).
pub(crate) fn decode_prefix(bytes: &[u8], encoding: TextEncoding) -> String {
    let mut out = Output::default();
    match encoding {
        TextEncoding::Utf8 | TextEncoding::Utf8Bom => return String::from_utf8_lossy(bytes).into_owned(),
        TextEncoding::Utf16Le => RsDecoder(UTF_16LE.new_decoder_with_bom_removal()).decode(bytes, false, &mut out),
        TextEncoding::Utf16Be => RsDecoder(UTF_16BE.new_decoder_with_bom_removal()).decode(bytes, false, &mut out),
        TextEncoding::Big5 => Big5Decoder::new(HashMap::new()).decode(bytes, false, &mut out),
    };
    String::from_utf8_lossy(&out.bytes).into_owned()
}

// ---------------------------------------------------------------------------------------------------------------
// The streaming adapter.

/// Turns a chunk of encoded bytes into UTF-8.
trait ChunkDecoder: Send {
    /// Decodes a prefix of `input` into `out` and returns how many bytes it consumed. Unless `last`, a character
    /// cut at the end of `input` is left unconsumed for the next call; with `last`, everything is consumed.
    fn decode(&mut self, input: &[u8], last: bool, out: &mut Output) -> usize;
}

/// Where a decoder writes: the UTF-8 bytes of one chunk, and what happened on the way, with line numbers.
#[derive(Default)]
struct Output {
    bytes: Vec<u8>,
    /// Lines completed before `bytes[..counted]`.
    line: u64,
    counted: usize,
    tally: Tally,
}

/// Which table decoded a user-defined character, or an error.
#[derive(Clone, Copy)]
enum Event {
    Pipeline,
    Builtin,
    PrivateUse,
    Error,
}

/// Counts and examples of the events of a file, kept until they are published to the shared log.
struct Tally {
    entries: [TransformEntry; 4],
    dirty: bool,
}

impl Default for Tally {
    fn default() -> Self {
        let entry = |rule: &str, detail: &str| TransformEntry {
            rule: rule.into(),
            detail: Some(detail.into()),
            ..TransformEntry::default()
        };
        Tally {
            entries: [
                entry("eudc", "pipeline eudc: Big5 user-defined characters decoded with the dataset's own table"),
                entry(
                    "eudc",
                    "tapwater Taiwan EUDC table: Big5 user-defined characters Taiwanese agencies are known to use",
                ),
                entry(
                    "eudc",
                    "CP950 private use area: unknown Big5 user-defined characters kept as Private Use Area code points \
                     (the byte pair is recoverable); declare the real character in the pipeline's eudc table",
                ),
                entry("decode_error", "bytes that are not text in this encoding, each replaced by U+FFFD"),
            ],
            dirty: false,
        }
    }
}

impl Output {
    fn push_str(&mut self, s: &str) {
        self.bytes.extend_from_slice(s.as_bytes());
    }

    fn push_char(&mut self, c: char) {
        let mut buf = [0u8; 4];
        self.bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }

    /// Records an event at the end of the output so far; `before` is built only when an example is kept.
    fn event(&mut self, event: Event, before: impl FnOnce() -> String, after: &str) {
        self.tally.dirty = true;
        let entry = &mut self.tally.entries[event as usize];
        entry.count += 1;
        if entry.examples.len() >= TRANSFORM_EXAMPLES {
            return;
        }
        let before = before();
        if entry.examples.iter().any(|e| e.before == before) {
            return; // one example per byte sequence: the same village name repeated says nothing more
        }
        self.line += count_lines(&self.bytes[self.counted..]);
        self.counted = self.bytes.len();
        let line = self.line + 1;
        entry.examples.push(TransformExample { row: Some(line), before, after: Some(after.to_string()) });
    }

    /// Starts a new chunk: lines of the previous one are counted, its bytes dropped.
    fn clear(&mut self) {
        self.line += count_lines(&self.bytes[self.counted..]);
        self.bytes.clear();
        self.counted = 0;
    }
}

fn count_lines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// A `Read` of UTF-8 over a file in another encoding, one chunk at a time.
struct DecodingReader<D> {
    file: File,
    input: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    done: bool,
    out: Output,
    pos: usize,
    decoder: D,
    decode_entry: TransformEntry,
    log: Arc<Mutex<DecodeLog>>,
}

impl<D: ChunkDecoder> DecodingReader<D> {
    fn new(file: File, decoder: D, decode_entry: TransformEntry, log: &Arc<Mutex<DecodeLog>>) -> Self {
        DecodingReader {
            file,
            input: vec![0; CHUNK],
            start: 0,
            end: 0,
            eof: false,
            done: false,
            out: Output::default(),
            pos: 0,
            decoder,
            decode_entry,
            log: Arc::clone(log),
        }
    }

    /// Decodes the next chunk into `out`.
    fn fill(&mut self) -> io::Result<()> {
        if !self.eof {
            // Keep the undecoded tail (a character cut by the chunk) and top the buffer up.
            self.input.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            while self.end < self.input.len() {
                match self.file.read(&mut self.input[self.end..]) {
                    Ok(0) => {
                        self.eof = true;
                        break;
                    }
                    Ok(n) => self.end += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
        self.out.clear();
        self.pos = 0;
        let consumed = self.decoder.decode(&self.input[self.start..self.end], self.eof, &mut self.out);
        self.start += consumed;
        if self.eof && self.start == self.end {
            self.done = true;
        }
        if self.out.tally.dirty {
            self.publish();
        }
        Ok(())
    }

    /// Writes the counts so far to the shared log: the `decode` entry, then every table used and the errors.
    fn publish(&mut self) {
        self.out.tally.dirty = false;
        let mut entries = vec![self.decode_entry.clone()];
        entries.extend(self.out.tally.entries.iter().filter(|e| e.count > 0).cloned());
        if let Ok(mut log) = self.log.lock() {
            log.entries = entries;
        }
    }
}

impl<D: ChunkDecoder> Read for DecodingReader<D> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let available = &self.out.bytes[self.pos..];
            if !available.is_empty() {
                let n = available.len().min(buf.len());
                buf[..n].copy_from_slice(&available[..n]);
                self.pos += n;
                return Ok(n);
            }
            if self.done {
                return Ok(0);
            }
            self.fill()?;
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// UTF-16 and other encodings: encoding_rs.

struct RsDecoder(Decoder);

impl ChunkDecoder for RsDecoder {
    fn decode(&mut self, input: &[u8], last: bool, out: &mut Output) -> usize {
        let mut read_total = 0;
        loop {
            let rest = &input[read_total..];
            let room = self.0.max_utf8_buffer_length_without_replacement(rest.len()).unwrap_or(rest.len() * 4 + 16);
            let start = out.bytes.len();
            out.bytes.resize(start + room.max(16), 0);
            let (result, read, written) =
                self.0.decode_to_utf8_without_replacement(rest, &mut out.bytes[start..], last);
            out.bytes.truncate(start + written);
            read_total += read;
            match result {
                DecoderResult::InputEmpty => return read_total,
                DecoderResult::OutputFull => {}
                DecoderResult::Malformed(bad, extra) => {
                    out.push_str(REPLACEMENT);
                    let end = read_total.saturating_sub(extra as usize);
                    let bytes = &input[end.saturating_sub(bad as usize)..end];
                    out.event(Event::Error, || hex_bytes(bytes), REPLACEMENT);
                }
            }
        }
    }
}

fn hex_bytes(bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
    format!("0x{hex}")
}

// ---------------------------------------------------------------------------------------------------------------
// Big5 as CP950, with user-defined characters.

/// Characters Taiwanese agencies put in Big5's user-defined areas, as byte pair → character. Only pairs proven by a
/// real published file belong here: a wrong guess would silently corrupt names.
pub(crate) const TAIWAN_EUDC: &[(u16, char)] = &[
    // 塩 (U+5869) in the village names 塩行里 (永康區) and 塩洲里: Tainan City Public Health Bureau, dengue cases
    // 1040826 (tests/fixtures/tainan_dengue_cases_roc1040826_big5.csv, 7 cells; also tainan_dengue_cases_0829_big5.csv).
    // WHATWG Big5 (HKSCS) would make it 䋴.
    (0x95CD, '塩'),
    // 檨 (U+6AA8) in 檨林里 (西港區): Central Election Commission, 2019 Tainan 2nd district legislator by-election
    // results by polling station (tests/fixtures/cec_2019_tainan_legislator_byelection_prof_big5_eudc.csv). WHATWG
    // Big5 (HKSCS) would make it 𤤳.
    (0xFA52, '檨'),
];

/// Trail bytes of a Big5 pair per lead byte: 0x40–0x7E then 0xA1–0xFE.
const TRAILS: usize = 157;
/// Table values below 0x20 are markers, not characters (no Big5 pair decodes to a C0 control).
const UNMAPPED: u32 = 0;
const USER_DEFINED: u32 = 1;

/// Position of a trail byte among the 157 valid ones.
#[inline]
fn trail_index(trail: u8) -> Option<usize> {
    match trail {
        0x40..=0x7E => Some((trail - 0x40) as usize),
        0xA1..=0xFE => Some((trail - 0xA1) as usize + 63),
        _ => None,
    }
}

/// Whether a pair lies in one of CP950's end-user-defined areas (Microsoft's bestfit950.txt marks exactly these
/// `EUDC`). Python's `cp950` maps 0xC6A1–0xC7FC through the obsolete unicode.org BIG5.TXT kana block and WHATWG
/// through ETEN's symbols; Windows, which writes the agencies' files, does neither, so the whole range is
/// user-defined here.
#[inline]
pub(crate) fn is_user_defined(lead: u8, trail: u8) -> bool {
    let pair = u16::from_be_bytes([lead, trail]);
    (0x81..=0xA0).contains(&lead) || (0xFA..=0xFE).contains(&lead) || (0xC6A1..=0xC8FE).contains(&pair)
}

/// Microsoft's CP950 mapping of a user-defined pair to the Private Use Area (bestfit950.txt): four areas, each
/// laid out row by row with 157 cells per lead byte.
pub(crate) fn private_use(lead: u8, trail: u8) -> Option<char> {
    let cell = trail_index(trail)? as u32;
    let row = |first: u8| (lead - first) as u32 * TRAILS as u32;
    let code = match lead {
        0xFA..=0xFE => 0xE000 + row(0xFA) + cell,
        0x8E..=0xA0 => 0xE311 + row(0x8E) + cell,
        0x81..=0x8D => 0xEEB8 + row(0x81) + cell,
        // This area starts at trail 0xA1 of lead 0xC6.
        0xC6..=0xC8 if is_user_defined(lead, trail) => 0xF6B1 + row(0xC6) + cell - 63,
        _ => return None,
    };
    char::from_u32(code)
}

/// Big5 pair → character as CP950 maps it, [`USER_DEFINED`] or [`UNMAPPED`]; index `(lead - 0x81) * 157 + trail`.
fn cp950_table() -> &'static [u32] {
    &tables().0
}

type Tables = (Box<[u32]>, Box<[bool]>);

/// The CP950 table, and for each pair whether WHATWG Big5 (`encoding_rs`, `chardetng`) decodes it.
fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut table = vec![UNMAPPED; 126 * TRAILS];
        let mut whatwg = vec![false; 126 * TRAILS];
        for lead in 0x81..=0xFEu8 {
            for trail in (0x40..=0x7Eu8).chain(0xA1..=0xFE) {
                let Some(cell) = trail_index(trail) else { continue };
                let index = (lead - 0x81) as usize * TRAILS + cell;
                let pair = [lead, trail];
                let decoded = BIG5.decode_without_bom_handling_and_without_replacement(&pair);
                whatwg[index] = decoded.is_some();
                if is_user_defined(lead, trail) {
                    table[index] = USER_DEFINED;
                    continue;
                }
                if let Some(text) = decoded {
                    let mut chars = text.chars();
                    if let (Some(c), None) = (chars.next(), chars.next()) {
                        table[index] = c as u32;
                    }
                }
            }
        }
        // Outside the user-defined areas WHATWG Big5 and CP950 differ in exactly these pairs (checked over every
        // pair against Python's cp950): 0xF9FE is ▓ (U+2593) in CP950, ￭ (U+FFED) in WHATWG; 0xA3C0–0xA3E0 are
        // control pictures in WHATWG (Big5-2003) and unmapped in CP950.
        table[(0xF9 - 0x81) * TRAILS + 156] = 0x2593;
        for trail in 0xC0..=0xE0u8 {
            table[(0xA3 - 0x81) * TRAILS + (trail - 0xA1) as usize + 63] = UNMAPPED;
        }
        (table.into_boxed_slice(), whatwg.into_boxed_slice())
    })
}

/// Whether WHATWG Big5 decodes a pair with a valid shape (for [`crate::sniff`], which feeds `chardetng`).
pub(crate) fn whatwg_decodes(lead: u8, trail: u8) -> bool {
    let (Some(cell), true) = (trail_index(trail), (0x81..=0xFE).contains(&lead)) else { return false };
    tables().1[(lead - 0x81) as usize * TRAILS + cell]
}

/// How a Big5 pair decodes; for [`crate::sniff`]'s statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Big5Pair {
    Standard,
    UserDefined,
    Unmapped,
}

pub(crate) fn classify_big5(lead: u8, trail: u8) -> Option<Big5Pair> {
    if !(0x81..=0xFE).contains(&lead) {
        return None;
    }
    let cell = trail_index(trail)?;
    Some(match cp950_table()[(lead - 0x81) as usize * TRAILS + cell] {
        UNMAPPED => Big5Pair::Unmapped,
        USER_DEFINED => Big5Pair::UserDefined,
        _ => Big5Pair::Standard,
    })
}

struct Big5Decoder {
    table: &'static [u32],
    pipeline: HashMap<u16, String>,
}

/// The pipeline's `eudc` table with its keys parsed (`95CD`, `0x95cd`); keys that are not a byte pair are skipped
/// (the pipeline is validated where it is edited).
fn pipeline_eudc(eudc: &BTreeMap<String, String>) -> HashMap<u16, String> {
    eudc.iter()
        .filter_map(|(key, value)| {
            let hex = key.trim().trim_start_matches("0x").trim_start_matches("0X");
            (hex.len() == 4).then(|| u16::from_str_radix(hex, 16).ok()).flatten().map(|pair| (pair, value.clone()))
        })
        .collect()
}

impl Big5Decoder {
    fn new(pipeline: HashMap<u16, String>) -> Self {
        Big5Decoder { table: cp950_table(), pipeline }
    }

    /// A pair CP950 leaves to the user (or does not map): the pipeline's table, tapwater's, then the Private Use
    /// Area; an unmapped pair nobody declared is an error.
    #[cold]
    fn special(&self, lead: u8, trail: u8, user_defined: bool, out: &mut Output) {
        let pair = u16::from_be_bytes([lead, trail]);
        let before = || format!("0x{pair:04X}");
        if let Some(text) = self.pipeline.get(&pair) {
            out.push_str(text);
            out.event(Event::Pipeline, before, text);
            return;
        }
        if user_defined {
            if let Some(&(_, c)) = TAIWAN_EUDC.iter().find(|(p, _)| *p == pair) {
                out.push_char(c);
                out.event(Event::Builtin, before, c.encode_utf8(&mut [0; 4]));
                return;
            }
            if let Some(c) = private_use(lead, trail) {
                out.push_char(c);
                out.event(Event::PrivateUse, before, c.encode_utf8(&mut [0; 4]));
                return;
            }
        }
        out.push_str(REPLACEMENT);
        out.event(Event::Error, before, REPLACEMENT);
    }
}

/// Length of the run of ASCII bytes at the start of `bytes`, eight at a time.
#[inline]
fn ascii_run(bytes: &[u8]) -> usize {
    let mut n = 0;
    for chunk in bytes.chunks_exact(8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        if u64::from_ne_bytes(word) & 0x8080_8080_8080_8080 != 0 {
            break;
        }
        n += 8;
    }
    n + bytes[n..].iter().take_while(|b| b.is_ascii()).count()
}

impl ChunkDecoder for Big5Decoder {
    fn decode(&mut self, input: &[u8], last: bool, out: &mut Output) -> usize {
        out.bytes.reserve(input.len() * 3 / 2 + 8);
        let mut i = 0;
        while i < input.len() {
            let run = ascii_run(&input[i..]);
            if run > 0 {
                out.bytes.extend_from_slice(&input[i..i + run]);
                i += run;
                continue;
            }
            let lead = input[i];
            if !(0x81..=0xFE).contains(&lead) {
                // 0x80 and 0xFF never start a character.
                out.push_str(REPLACEMENT);
                out.event(Event::Error, || format!("0x{lead:02X}"), REPLACEMENT);
                i += 1;
                continue;
            }
            let Some(&trail) = input.get(i + 1) else {
                if last {
                    out.push_str(REPLACEMENT);
                    out.event(Event::Error, || format!("0x{lead:02X}"), REPLACEMENT);
                    i += 1;
                    continue;
                }
                break; // the pair continues in the next chunk
            };
            let Some(cell) = trail_index(trail) else {
                // A lead byte without a valid trail: only the lead is replaced, the next byte is read again (it may
                // be the delimiter or line end the row needs).
                out.push_str(REPLACEMENT);
                out.event(Event::Error, || format!("0x{lead:02X}"), REPLACEMENT);
                i += 1;
                continue;
            };
            let code = self.table[(lead - 0x81) as usize * TRAILS + cell];
            match char::from_u32(code) {
                Some(c) if code > USER_DEFINED => out.push_char(c),
                _ => self.special(lead, trail, code == USER_DEFINED, out),
            }
            i += 2;
        }
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8], encoding: TextEncoding, eudc: &[(&str, &str)]) -> (String, Vec<TransformEntry>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("text");
        std::fs::write(&path, bytes).unwrap();
        let eudc = eudc.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let (mut reader, log) = open_text(&path, encoding, &eudc).unwrap();
        let mut text = String::new();
        reader.read_to_string(&mut text).unwrap();
        let entries = log.lock().unwrap().entries.clone();
        (text, entries)
    }

    fn big5(bytes: &[u8]) -> String {
        decode_all(bytes, TextEncoding::Big5, &[]).0
    }

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
    }

    #[test]
    fn standard_pairs_decode_as_cp950() {
        assert_eq!(big5(b"\xA4\xA4\xA4\xE5"), "中文");
        assert_eq!(big5(b"\xBB\x4F\xAB\x6E\xA5\xAB"), "臺南市");
        // Where CP950 and WHATWG Big5 differ outside the user-defined areas, CP950 wins.
        assert_eq!(big5(b"\xF9\xFE"), "▓");
        assert_eq!(big5(b"\xA3\xE1"), "€");
        assert_eq!(big5(b"\xA1\x45"), "\u{2027}");
        assert_eq!(big5(b"\xA1\xC3"), "\u{FFE3}");
        assert_eq!(big5(b"\xF9\xD6"), "\u{7881}"); // ETEN extension, in CP950
        assert_eq!(big5(b"\xA3\xC0"), "\u{FFFD}"); // a control picture in WHATWG, unmapped in CP950
    }

    #[test]
    fn user_defined_pairs_never_go_to_hkscs() {
        // Built-in table, proven by real files.
        assert_eq!(big5(b"\x95\xCD\xA6\xE6\xA8\xBD"), "塩行里");
        assert_eq!(big5(b"\xFA\x52\xAA\x4C\xA8\xBD"), "檨林里");
        // Anything else: Microsoft's Private Use Area mapping, both ends of every area.
        assert_eq!(big5(b"\xFA\x40"), "\u{E000}");
        assert_eq!(big5(b"\xFE\xFE"), "\u{E310}");
        assert_eq!(big5(b"\x8E\x40"), "\u{E311}");
        assert_eq!(big5(b"\xA0\xFE"), "\u{EEB7}");
        assert_eq!(big5(b"\x81\x40"), "\u{EEB8}");
        assert_eq!(big5(b"\x8D\xFE"), "\u{F6B0}");
        assert_eq!(big5(b"\xC6\xA1"), "\u{F6B1}");
        assert_eq!(big5(b"\xC7\x40"), "\u{F70F}");
        assert_eq!(big5(b"\xC8\xFE"), "\u{F848}");
        // 0xC640–0xC67E is standard Big5, just before the area.
        assert_eq!(classify_big5(0xC6, 0x7E), Some(Big5Pair::Standard));
        assert_eq!(classify_big5(0xC6, 0xA1), Some(Big5Pair::UserDefined));
    }

    #[test]
    fn pipeline_table_comes_first_and_every_table_is_logged() {
        let bytes = b"a,b\n\x95\xCD,\xFA\x40\n\x95\xCD,\x87\x40\n";
        let (text, log) = decode_all(bytes, TextEncoding::Big5, &[("0x8740", "𠀋")]);
        assert_eq!(text, "a,b\n塩,\u{E000}\n塩,𠀋\n");
        let rules: Vec<_> = log.iter().map(|e| (e.rule.as_str(), e.count)).collect();
        assert_eq!(rules, [("decode", 1), ("eudc", 1), ("eudc", 2), ("eudc", 1)]);
        assert_eq!(log[0].detail.as_deref(), Some("Big5 (CP950) → UTF-8"));
        assert!(log[1].detail.as_deref().unwrap().starts_with("pipeline eudc"));
        assert_eq!(log[1].examples[0].before, "0x8740");
        assert_eq!(log[1].examples[0].row, Some(3));
        let builtin = &log[2];
        assert!(builtin.detail.as_deref().unwrap().starts_with("tapwater Taiwan EUDC table"));
        assert_eq!(builtin.examples.len(), 1, "one example per byte pair");
        assert_eq!(
            builtin.examples[0],
            TransformExample { row: Some(2), before: "0x95CD".into(), after: Some("塩".into()) }
        );
        assert!(log[3].detail.as_deref().unwrap().starts_with("CP950 private use area"));
        assert_eq!(log[3].examples[0].after.as_deref(), Some("\u{E000}"));
    }

    #[test]
    fn invalid_bytes_become_replacement_characters_and_keep_the_row() {
        // A lone lead before a comma, 0x80, 0xFF, and a lead cut by the end of the file.
        let (text, log) = decode_all(b"x\xA4,y\n\x80z\xFF\n\xA4", TextEncoding::Big5, &[]);
        assert_eq!(text, "x\u{FFFD},y\n\u{FFFD}z\u{FFFD}\n\u{FFFD}");
        let errors = log.iter().find(|e| e.rule == "decode_error").unwrap();
        assert_eq!(errors.count, 4);
        let rows: Vec<_> = errors.examples.iter().map(|e| (e.row, e.before.as_str())).collect();
        assert_eq!(rows, [(Some(1), "0xA4"), (Some(2), "0x80"), (Some(2), "0xFF")]);
    }

    #[test]
    fn pairs_cut_by_chunk_boundaries_decode() {
        // 中 repeated so that pairs straddle every 128 KiB chunk boundary, after one ASCII byte.
        let mut bytes = b"x".to_vec();
        for _ in 0..200_000 {
            bytes.extend_from_slice(b"\xA4\xA4");
        }
        let text = big5(&bytes);
        assert_eq!(text.chars().count(), 200_001);
        assert!(text[1..].chars().all(|c| c == '中'));
    }

    #[test]
    fn utf16_with_and_without_bom() {
        let text = "區域,人口\r\n三民區,1\r\n";
        let le: Vec<u8> = b"\xFF\xFE".iter().copied().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect();
        let be: Vec<u8> = b"\xFE\xFF".iter().copied().chain(text.encode_utf16().flat_map(u16::to_be_bytes)).collect();
        let (decoded, log) = decode_all(&le, TextEncoding::Utf16Le, &[]);
        assert_eq!(decoded, text);
        assert_eq!(log[0].detail.as_deref(), Some("UTF-16LE → UTF-8, byte-order mark removed"));
        assert_eq!(decode_all(&be, TextEncoding::Utf16Be, &[]).0, text);
        let no_bom: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(decode_all(&no_bom, TextEncoding::Utf16Le, &[]).0, text);
        // An unpaired surrogate on line 2.
        let mut bad = le.clone();
        bad.extend_from_slice(b"\x00\xD8,\x00");
        let (decoded, log) = decode_all(&bad, TextEncoding::Utf16Le, &[]);
        assert!(decoded.ends_with("\n\u{FFFD},"));
        let errors = log.iter().find(|e| e.rule == "decode_error").unwrap();
        assert_eq!((errors.count, errors.examples[0].row), (1, Some(3)));
    }

    #[test]
    fn utf8_bom_is_skipped_and_logged() {
        let (text, log) = decode_all(b"\xEF\xBB\xBFa,b\n", TextEncoding::Utf8Bom, &[]);
        assert_eq!(text, "a,b\n");
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].rule, "decode");
    }

    /// FNV-1a 64 of a text, to compare whole files with what Python produced.
    fn fnv1a(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
    }

    /// Every real Big5 fixture decodes byte for byte as Python's `cp950` does, with the two user-defined characters
    /// of the built-in table. Expected values from
    /// `python3 -c "import codecs,sys; codecs.register_error('tw', lambda e: ({b'\x95\xcd':'塩', b'\xfa\x52':'檨'}[e.object[e.start:e.start+2]], e.start+2)); t=open(sys.argv[1],'rb').read().decode('cp950','tw').encode(); h=0xcbf29ce484222325
    /// for b in t: h=((h^b)*0x100000001b3)%2**64
    /// print(len(t), hex(h))" FILE`.
    #[test]
    fn real_big5_files_decode_exactly_as_cp950() {
        let expected: &[(&str, usize, u64)] = &[
            ("cec_2019_tainan_legislator_byelection_prof_big5_eudc.csv", 22653, 0xda960455aa4a9203),
            ("cec_2020_polling_station_cross_village_big5.csv", 1132, 0x5195c3421db37cf5),
            ("cec_2023_hualien_fuli_byelection_prof_big5.csv", 1197, 0x066610cc5b2d2317),
            ("moi_segis_tainan_district_population_97Y-99Y_big5.csv", 3085, 0x75ae7762c082c0c6),
            ("moi_segis_tainan_population_by_statistical_area_105Y12M_big5.csv", 712424, 0x20971fb643dd1cb7),
            ("tainan_dengue_cases_0829_big5.csv", 48332, 0x5259943744ffbd43),
            ("tainan_dengue_cases_roc1040826_big5.csv", 126895, 0x8e287b6bb42e3497),
        ];
        for &(name, len, hash) in expected {
            let bytes = std::fs::read(fixture(name)).unwrap();
            let (text, log) = decode_all(&bytes, TextEncoding::Big5, &[]);
            assert_eq!((text.len(), fnv1a(text.as_bytes())), (len, hash), "{name}");
            assert!(log.iter().all(|e| e.rule != "decode_error"), "{name}: {log:?}");
        }
    }

    #[test]
    fn real_eudc_cells_and_their_log() {
        let bytes = std::fs::read(fixture("tainan_dengue_cases_roc1040826_big5.csv")).unwrap();
        let (text, log) = decode_all(&bytes, TextEncoding::Big5, &[]);
        // 塩行里 ×4, 塩洲里 ×2 and the street 塩埕路.
        assert_eq!(text.matches("塩行里").count() + text.matches("塩洲里").count(), 6);
        assert!(text.contains("塩埕路"));
        assert!(!text.contains('䋴'));
        let eudc = log.iter().find(|e| e.rule == "eudc").unwrap();
        assert_eq!(eudc.count, 7);
        assert_eq!(eudc.examples[0].before, "0x95CD");
        let bytes = std::fs::read(fixture("cec_2019_tainan_legislator_byelection_prof_big5_eudc.csv")).unwrap();
        let (text, log) = decode_all(&bytes, TextEncoding::Big5, &[]);
        assert!(text.contains("西港區,檨林里,"));
        assert_eq!(log.iter().find(|e| e.rule == "eudc").map(|e| e.count), Some(2));
    }
}
