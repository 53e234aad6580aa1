//! Detecting a file's real format and encoding from its first bytes.
//!
//! Taiwanese files lie about their extension: a 2016 study of the national portal found 8,313 of ~18,500 checkable
//! resources were not in the format they claimed (FIELD-NOTES), and `cec_2022_referendum_rfarea_really_xls.ods` is an
//! XLS named `.ods`. So the reader is chosen from magic numbers, byte-order marks and the shape of the text, never
//! from a name.
//!
//! Order of the checks: magic numbers (ZIP family: XLSX, ODS, other ZIP; OLE2: XLS; PDF and gzip are refused), then
//! the text encoding (byte-order marks; NULs in every other byte for UTF-16 without a BOM; valid UTF-8; otherwise
//! Big5 or another legacy encoding, see [`detect_legacy`]), then the shape of the DECODED text: markup (HTML or
//! XML), JSON/NDJSON, or delimiter-separated values (the delimiter is counted on the decoded text, because a Big5
//! trail byte can be `|` (0x7C) or `@`).
//!
//! Does not: read past the prefix (a file that is ASCII for 64 KiB and Big5 after is taken as UTF-8, and the reader
//! names the line where that stops being true), tell Word documents from XLS (both are OLE2; the spreadsheet reader
//! says so), or trust a declared charset over the bytes (`<meta charset=big5>` on valid UTF-8 is UTF-8).

use std::borrow::Cow;

use encoding_rs::Encoding;

use crate::IngestError;
use crate::decode::{Big5Pair, classify_big5, decode_prefix, whatwg_decodes};

/// How many leading bytes [`sniff`] wants to see.
pub const SNIFF_BYTES: usize = 64 * 1024;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A format tapwater reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    /// Delimiter-separated text with a header row: `,` (CSV), `\t` (TSV), `;` or `|`.
    Csv { delimiter: u8 },
    /// A JSON array of objects, or an object holding one (an API envelope such as `{"items": [...]}`).
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Office Open XML workbook.
    Xlsx,
    /// Excel 97-2003 (BIFF8 in an OLE2 compound file).
    Xls,
    /// OpenDocument spreadsheet.
    Ods,
    /// An HTML page holding one or more `<table>`s (often saved by agencies as `.xls`).
    Html,
    /// XML with repeated record elements.
    Xml,
    /// A ZIP archive of files in any of these formats.
    Zip,
}

/// The character encoding of a text file, as detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextEncoding {
    #[default]
    Utf8,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
    /// Big5 as Taiwanese agencies write it: CP950 (Big5 with Microsoft's and ETEN's extensions), plus user-defined
    /// (EUDC) characters decoded by [`crate::decode`].
    Big5,
}

impl TextEncoding {
    /// The name shown to publishers and stored with the version's original file.
    pub fn name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Utf8Bom => "UTF-8 with BOM",
            TextEncoding::Utf16Le => "UTF-16LE",
            TextEncoding::Utf16Be => "UTF-16BE",
            TextEncoding::Big5 => "Big5",
        }
    }
}

/// What [`sniff`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    pub format: SourceFormat,
    /// `csv`, `tsv`, `json`, `ndjson`, `xlsx`, `xls`, `ods`, `html`, `xml` or `zip`.
    pub format_name: &'static str,
    /// `text/csv`, `text/tab-separated-values`, `application/json`, `application/x-ndjson`, `text/html`,
    /// `application/xml`, `application/zip` or the spreadsheet's own media type.
    pub media_type: &'static str,
    /// The encoding's name ([`TextEncoding::name`]); empty for binary formats (spreadsheets, ZIP).
    pub encoding: &'static str,
    /// The encoding of a text format (`Utf8` for binary formats, which carry their own).
    pub text_encoding: TextEncoding,
    /// How sure the detection is, 0–100 (a byte-order mark or valid UTF-8 is 100; Big5 by statistics less).
    pub confidence: u8,
}

/// Detects the real format and encoding from the first bytes of the file (give it up to [`SNIFF_BYTES`]), never
/// from a file extension.
///
/// Errors: [`IngestError::Empty`] for no bytes or only whitespace; [`IngestError::UnsupportedFormat`] for PDF, gzip
/// and binary data; [`IngestError::UnsupportedEncoding`] for UTF-32, for East Asian encodings other than Big5
/// (`GBK`, `Shift_JIS`, `EUC-JP`, `EUC-KR`, named), and for text in no encoding tapwater recognises (`unknown`).
pub fn sniff(prefix: &[u8]) -> Result<Sniffed, IngestError> {
    if let Some(sniffed) = binary_format(prefix)? {
        return Ok(sniffed);
    }
    let (encoding, confidence, text) = detect_encoding(prefix)?;
    let Some(start) = text.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Err(IngestError::Empty);
    };
    if looks_binary(&text) {
        return Err(unsupported_format("binary"));
    }
    let text = &text[start..];
    let sniffed = match text[0] {
        b'<' => markup_kind(text),
        b'[' | b'{' if opens_json(text) => json_kind(text),
        _ => csv_kind(sniff_delimiter(text)),
    };
    Ok(Sniffed { encoding: encoding.name(), text_encoding: encoding, confidence, ..sniffed })
}

fn unsupported_format(detected: &str) -> IngestError {
    IngestError::UnsupportedFormat {
        detected: detected.to_string(),
        message: format!(
            "{detected} files are not tables tapwater reads: publish CSV, TSV, JSON, NDJSON, XLSX, XLS, ODS, an HTML \
             table, XML, or a ZIP of those"
        ),
    }
}

fn unsupported_encoding(detected: &str) -> IngestError {
    IngestError::UnsupportedEncoding {
        detected: detected.to_string(),
        message: format!(
            "the text is in {detected}, which tapwater cannot decode; save it as UTF-8 (or Big5, UTF-16 with a \
             byte-order mark)"
        ),
    }
}

fn kind(format: SourceFormat, format_name: &'static str, media_type: &'static str) -> Sniffed {
    Sniffed { format, format_name, media_type, encoding: "", text_encoding: TextEncoding::Utf8, confidence: 100 }
}

/// Magic numbers of formats that are not text: `Ok(Some)` for those read, an error for those refused.
fn binary_format(prefix: &[u8]) -> Result<Option<Sniffed>, IngestError> {
    if prefix.starts_with(b"PK\x03\x04") || prefix.starts_with(b"PK\x05\x06") {
        return Ok(Some(zip_kind(prefix)));
    }
    // OLE2 compound file (CDFV2): Excel 97-2003 in open data; Word files are rare enough to share the name.
    if prefix.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        return Ok(Some(kind(SourceFormat::Xls, "xls", "application/vnd.ms-excel")));
    }
    if prefix.starts_with(b"%PDF-") {
        return Err(unsupported_format("pdf"));
    }
    if prefix.starts_with(b"\x1F\x8B") {
        return Err(unsupported_format("gzip"));
    }
    Ok(None)
}

/// Office Open XML and OpenDocument files are ZIP archives; their first entries tell them apart (ECMA-376 part 2
/// puts `[Content_Types].xml` first in practice; OpenDocument 1.2 part 3 §3.3 requires an uncompressed `mimetype`
/// entry first).
fn zip_kind(prefix: &[u8]) -> Sniffed {
    let contains = |needle: &[u8]| memchr::memmem::find(prefix, needle).is_some();
    if contains(b"application/vnd.oasis.opendocument.spreadsheet") {
        kind(SourceFormat::Ods, "ods", "application/vnd.oasis.opendocument.spreadsheet")
    } else if contains(b"xl/") || (contains(b"[Content_Types].xml") && !contains(b"word/") && !contains(b"ppt/")) {
        kind(SourceFormat::Xlsx, "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    } else {
        kind(SourceFormat::Zip, "zip", "application/zip")
    }
}

/// The encoding of a text file, its confidence, and the prefix decoded to UTF-8 (byte-order mark removed).
fn detect_encoding(prefix: &[u8]) -> Result<(TextEncoding, u8, Cow<'_, [u8]>), IngestError> {
    // UTF-32LE's BOM starts with UTF-16LE's, so it goes first.
    if prefix.starts_with(b"\xFF\xFE\x00\x00") {
        return Err(unsupported_encoding("UTF-32LE"));
    }
    if prefix.starts_with(b"\x00\x00\xFE\xFF") {
        return Err(unsupported_encoding("UTF-32BE"));
    }
    let decoded = |encoding, confidence| {
        let text = decode_prefix(prefix, encoding).into_bytes();
        Ok((encoding, confidence, Cow::Owned(text)))
    };
    if prefix.starts_with(b"\xFF\xFE") {
        return decoded(TextEncoding::Utf16Le, 100);
    }
    if prefix.starts_with(b"\xFE\xFF") {
        return decoded(TextEncoding::Utf16Be, 100);
    }
    if let Some(rest) = prefix.strip_prefix(UTF8_BOM) {
        return Ok((TextEncoding::Utf8Bom, 100, Cow::Borrowed(rest)));
    }
    if prefix.contains(&0) {
        // Text never holds NUL; UTF-16 without a BOM has one in every other byte (ASCII range).
        return match utf16_without_bom(prefix) {
            Some(encoding) => decoded(encoding, 90),
            None => Err(unsupported_format("binary")),
        };
    }
    match std::str::from_utf8(prefix) {
        Ok(_) => return Ok((TextEncoding::Utf8, 100, Cow::Borrowed(prefix))),
        // `error_len() == None`: only the last character is cut short, because the prefix stops mid-character.
        Err(e) if e.error_len().is_none() => return Ok((TextEncoding::Utf8, 100, Cow::Borrowed(prefix))),
        Err(_) => {}
    }
    let last = prefix.len() < SNIFF_BYTES;
    match detect_legacy(prefix, last) {
        Legacy::Big5(confidence) => decoded(TextEncoding::Big5, confidence),
        Legacy::Other(encoding) => Err(unsupported_encoding(encoding.name())),
        Legacy::Unknown => Err(unsupported_encoding("unknown")),
    }
}

/// UTF-16 without a BOM: most NULs sit at odd (LE) or even (BE) positions.
fn utf16_without_bom(text: &[u8]) -> Option<TextEncoding> {
    let sample = &text[..text.len().min(4096)];
    if sample.len() < 16 {
        return None;
    }
    let (mut even, mut odd) = (0usize, 0usize);
    for (i, &b) in sample.iter().enumerate() {
        if b == 0 {
            if i % 2 == 0 { even += 1 } else { odd += 1 }
        }
    }
    let half = sample.len() / 2;
    if odd * 10 >= half * 3 && even * 10 < odd {
        Some(TextEncoding::Utf16Le)
    } else if even * 10 >= half * 3 && odd * 10 < even {
        Some(TextEncoding::Utf16Be)
    } else {
        None
    }
}

/// What the bytes of a non-UTF-8 prefix look like as Big5.
#[derive(Debug, Default)]
struct Big5Shape {
    /// Pairs CP950 maps.
    standard: usize,
    /// Pairs in the user-defined areas.
    user_defined: usize,
    /// Pairs with a valid shape CP950 does not map, and bytes that cannot start or end a pair.
    invalid: usize,
}

impl Big5Shape {
    /// Classifies the non-ASCII bytes of `text`, and gives a copy where user-defined pairs WHATWG Big5 does not know
    /// are replaced by a common character (一, 0xA440): `chardetng` judges Big5 by WHATWG's table, which lacks part
    /// of the user-defined area (0x8140–0x86FE, 0xC8xx …), so a Taiwanese file using its own characters there would
    /// otherwise not be Big5 to it. Pairs WHATWG knows are left alone, not to skew the statistics of other
    /// encodings (GBK's 人 is Big5's user-defined 0xC8CB).
    fn of(text: &[u8], last: bool) -> (Big5Shape, Vec<u8>) {
        let mut shape = Big5Shape::default();
        let mut sanitized = text.to_vec();
        let mut i = 0;
        while i < text.len() {
            if text[i] < 0x80 {
                i += 1;
                continue;
            }
            let Some(&trail) = text.get(i + 1) else {
                if last {
                    shape.invalid += 1;
                }
                break; // a pair cut by the end of the prefix
            };
            match classify_big5(text[i], trail) {
                Some(Big5Pair::Standard) => shape.standard += 1,
                Some(Big5Pair::UserDefined) => {
                    shape.user_defined += 1;
                    if !whatwg_decodes(text[i], trail) {
                        sanitized[i..i + 2].copy_from_slice(b"\xA4\x40");
                    }
                }
                Some(Big5Pair::Unmapped) => shape.invalid += 1,
                None => {
                    shape.invalid += 1;
                    i += 1;
                    continue;
                }
            }
            i += 2;
        }
        (shape, sanitized)
    }

    fn units(&self) -> usize {
        self.standard + self.user_defined + self.invalid
    }

    /// Share of the non-ASCII units that are valid CP950 pairs (standard or user-defined), 0–1.
    fn valid_share(&self) -> f64 {
        if self.units() == 0 { 0.0 } else { (self.standard + self.user_defined) as f64 / self.units() as f64 }
    }
}

/// Multi-byte East Asian encodings that can win over Big5: their text is often also shaped like Big5 (GB2312 and
/// EUC-KR pairs all are), so only the character statistics tell them apart.
fn is_cjk_multibyte(encoding: &'static Encoding) -> bool {
    [encoding_rs::GBK, encoding_rs::GB18030, encoding_rs::SHIFT_JIS, encoding_rs::EUC_JP, encoding_rs::EUC_KR]
        .contains(&encoding)
}

/// What text that is not UTF-8 is.
enum Legacy {
    /// Big5, with the confidence.
    Big5(u8),
    /// Another East Asian multi-byte encoding. Refused, named: all but absent from Taiwanese open data, and decoding
    /// it would need a variant of [`TextEncoding`] every reader matches on (`encoding_rs` would do the work; see
    /// `decode::RsDecoder`).
    Other(&'static Encoding),
    Unknown,
}

/// Text that is not UTF-8: Big5 (what Taiwanese agencies publish when not UTF-8), another East Asian multi-byte
/// encoding, or unknown.
///
/// Two witnesses: `chardetng`'s guess, and the shape of the bytes as CP950 pairs. `chardetng` is asked as for a
/// `.tw` site, which is how it is meant to be used here but makes it answer Big5 for nearly any CJK text (even
/// plain GBK), and without a domain, which is what lets a GBK or Shift_JIS file be recognised. It is fed the bytes
/// as they are and a copy with user-defined pairs sanitized (see [`Big5Shape::of`]).
///
/// - another East Asian multi-byte encoding (refused by name) wins when `chardetng` without a domain is sure of it and either the
///   bytes are not Big5-shaped (under 95 % valid CP950 pairs), or more than 5 % of the pairs fall in Big5's
///   user-defined areas (real Big5 files have a handful: 7 of 16,800 pairs in the Tainan dengue list; GBK's common
///   characters such as 人 0xC8CB land there), or there is enough text to trust statistics (50 pairs) even after
///   sanitizing;
/// - otherwise Big5, when at least 95 % of the non-ASCII units are valid CP950 pairs, or half of them are and
///   `chardetng` says Big5;
/// - single-byte encodings (windows-1252, ISO-8859-x …) are never chosen: any bytes are valid in them, so on a
///   damaged Big5 file or on binary junk the guess is arbitrary, and they are all but absent from Taiwanese open
///   data.
///
/// Big5 confidence: the share of valid pairs, times 1.0 when both `chardetng` answers are a sure Big5, 0.85 when
/// only the `.tw` one is, 0.8 otherwise; at most 99, and at most 80 on fewer than 10 pairs.
fn detect_legacy(prefix: &[u8], last: bool) -> Legacy {
    let (shape, sanitized) = Big5Shape::of(prefix, last);
    let share = shape.valid_share();
    let pairs = shape.standard + shape.user_defined;
    let other_cjk = |(guess, sure): (&'static Encoding, bool)| {
        (sure && guess != encoding_rs::BIG5 && is_cjk_multibyte(guess)).then_some(guess)
    };
    let mut raw = chardetng::EncodingDetector::new();
    raw.feed(prefix, last);
    if let Some(guess) = other_cjk(raw.guess_assess(None, false))
        && (share < 0.95 || shape.user_defined * 20 > pairs)
    {
        return Legacy::Other(guess);
    }
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(&sanitized, last);
    let (tw_guess, tw_sure) = detector.guess_assess(Some(b"tw"), false);
    let (guess, sure) = detector.guess_assess(None, false);
    if let Some(guess) = other_cjk((guess, sure))
        && (share < 0.95 || pairs >= 50)
    {
        return Legacy::Other(guess);
    }
    let says_big5 = tw_guess == encoding_rs::BIG5 && tw_sure;
    if share >= 0.95 || (says_big5 && share >= 0.5) {
        let factor = match (says_big5, guess == encoding_rs::BIG5 && sure) {
            (true, true) => 1.0,
            (true, false) => 0.85,
            (false, _) => 0.8,
        };
        let mut confidence = (share * factor * 100.0).round().clamp(1.0, 99.0) as u8;
        if pairs < 10 {
            confidence = confidence.min(80);
        }
        return Legacy::Big5(confidence);
    }
    Legacy::Unknown
}

/// Text with many control characters other than tab, line ends, form feed and the DOS end-of-file mark is not a
/// table (an image or an executable without NULs in its first bytes).
fn looks_binary(text: &[u8]) -> bool {
    let sample = &text[..text.len().min(4096)];
    let controls = sample.iter().filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C | 0x1A)).count();
    controls * 10 > sample.len()
}

/// HTML tags that open an agency's "Excel" page or table fragment.
const HTML_STARTS: &[&[u8]] = &[
    b"<!doctype html",
    b"<html",
    b"<table",
    b"<head",
    b"<body",
    b"<meta",
    b"<title",
    b"<style",
    b"<script",
    b"<link",
    b"<div",
    b"<tr",
    b"<font",
    b"<center",
    b"<form",
    b"<br",
    b"<p>",
];

/// `<?xml …`, `<!DOCTYPE html>`, `<html>`, `<table>` …: HTML when the root (after any XML declaration and comments)
/// is an HTML element or the page declares the XHTML namespace; anything else is XML.
fn markup_kind(text: &[u8]) -> Sniffed {
    let head: Vec<u8> = text[..text.len().min(2048)].to_ascii_lowercase();
    let mut root: &[u8] = &head;
    // Skip the XML declaration, processing instructions and comments before the root element.
    loop {
        root = root.trim_ascii_start();
        let end = if root.starts_with(b"<?") {
            memchr::memmem::find(root, b"?>").map(|i| i + 2)
        } else if root.starts_with(b"<!--") {
            memchr::memmem::find(root, b"-->").map(|i| i + 3)
        } else {
            break;
        };
        match end {
            Some(end) => root = &root[end..],
            None => break,
        }
    }
    let html = HTML_STARTS.iter().any(|tag| {
        root.starts_with(tag) && root.get(tag.len()).is_none_or(|&b| !b.is_ascii_alphanumeric() || tag.ends_with(b">"))
    }) || memchr::memmem::find(&head, b"http://www.w3.org/1999/xhtml").is_some();
    if html { kind(SourceFormat::Html, "html", "text/html") } else { kind(SourceFormat::Xml, "xml", "application/xml") }
}

/// Whether text starting with `[` or `{` opens a JSON value: the next token must be one JSON allows there. A CSV
/// whose header starts with a bracket (`[編號],名稱`) is not JSON; a JSON file broken further on still is, so its
/// error names the JSON problem.
fn opens_json(text: &[u8]) -> bool {
    let next = text[1..].iter().find(|b| !b.is_ascii_whitespace());
    match (text[0], next) {
        (b'{', Some(b'"' | b'}')) => true,
        (b'[', Some(b'{' | b'[' | b'"' | b']' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n')) => true,
        (_, None) => true, // `[` alone in the prefix: nothing else it could be
        _ => false,
    }
}

/// A top-level array is JSON; an object followed by anything is NDJSON; a lone object is JSON (an envelope, or a
/// record too large for the prefix).
fn json_kind(text: &[u8]) -> Sniffed {
    let ndjson = text[0] == b'{' && {
        let mut values = serde_json::Deserializer::from_slice(text).into_iter::<serde::de::IgnoredAny>();
        matches!(values.next(), Some(Ok(_))) && {
            let rest = &text[values.byte_offset()..];
            rest.iter().any(|b| !b.is_ascii_whitespace())
        }
    };
    if ndjson {
        Sniffed {
            format: SourceFormat::Ndjson,
            format_name: "ndjson",
            media_type: "application/x-ndjson",
            encoding: "",
            text_encoding: TextEncoding::Utf8,
            confidence: 100,
        }
    } else {
        Sniffed {
            format: SourceFormat::Json,
            format_name: "json",
            media_type: "application/json",
            encoding: "",
            text_encoding: TextEncoding::Utf8,
            confidence: 100,
        }
    }
}

fn csv_kind(delimiter: u8) -> Sniffed {
    let (format_name, media_type) =
        if delimiter == b'\t' { ("tsv", "text/tab-separated-values") } else { ("csv", "text/csv") };
    Sniffed {
        format: SourceFormat::Csv { delimiter },
        format_name,
        media_type,
        encoding: "",
        text_encoding: TextEncoding::Utf8,
        confidence: 100,
    }
}

const DELIMITERS: [u8; 4] = [b',', b'\t', b';', b'|'];
const SNIFF_RECORDS: usize = 100;

/// Picks the delimiter that splits the first records into the same number of cells as the header (at least two),
/// counting only delimiters outside quoted cells. Ties go to the earlier of `,` `\t` `;` `|`; with no candidate the
/// file is one column of comma-separated values.
fn sniff_delimiter(text: &[u8]) -> u8 {
    let mut best = (b',', 0usize, 0usize);
    for delimiter in DELIMITERS {
        let counts = cells_per_record(text, delimiter);
        let Some(&header) = counts.first() else { continue };
        if header < 2 {
            continue;
        }
        let agreeing = counts.iter().filter(|&&c| c == header).count();
        if (agreeing, header) > (best.1, best.2) {
            best = (delimiter, agreeing, header);
        }
    }
    best.0
}

/// Cells per record of the first records, with csv-core's quoting rules: a quote opens a quoted cell only at the
/// start of a cell, `""` inside it is a quote, and line ends inside quotes belong to the cell. Empty lines are
/// skipped, like the reader does. The last record is dropped when the text stops inside it.
fn cells_per_record(text: &[u8], delimiter: u8) -> Vec<usize> {
    #[derive(PartialEq)]
    enum State {
        StartRecord,
        StartCell,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut counts = Vec::new();
    let mut state = State::StartRecord;
    let mut cells = 0;
    for &b in text {
        let newline = b == b'\n' || b == b'\r';
        state = match state {
            State::StartRecord if newline => State::StartRecord,
            State::StartRecord | State::StartCell if b == b'"' => State::Quoted,
            State::StartRecord | State::StartCell | State::Unquoted | State::QuoteInQuoted if b == delimiter => {
                cells += 1;
                State::StartCell
            }
            State::StartRecord | State::StartCell | State::Unquoted | State::QuoteInQuoted if newline => {
                counts.push(cells + 1);
                cells = 0;
                if counts.len() == SNIFF_RECORDS {
                    return counts;
                }
                State::StartRecord
            }
            State::Quoted if b == b'"' => State::QuoteInQuoted,
            State::Quoted => State::Quoted,
            State::QuoteInQuoted if b == b'"' => State::Quoted,
            _ => State::Unquoted,
        };
    }
    // A final record without a line end is complete only if it is the only one (a one-line file).
    if state != State::StartRecord && counts.is_empty() && state != State::Quoted {
        counts.push(cells + 1);
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format_of(bytes: &[u8]) -> Result<(SourceFormat, &'static str), String> {
        sniff(bytes).map(|s| (s.format, s.encoding)).map_err(|e| match e {
            IngestError::UnsupportedFormat { detected, .. } => format!("format:{detected}"),
            IngestError::UnsupportedEncoding { detected, .. } => format!("encoding:{detected}"),
            other => other.code().to_string(),
        })
    }

    const COMMA: SourceFormat = SourceFormat::Csv { delimiter: b',' };
    const TAB: SourceFormat = SourceFormat::Csv { delimiter: b'\t' };

    #[test]
    fn detects_text_formats() {
        assert_eq!(format_of(b"a,b\n1,2\n"), Ok((COMMA, "UTF-8")));
        assert_eq!(format_of(b"\xEF\xBB\xBFa,b\r\n1,2\r\n"), Ok((COMMA, "UTF-8 with BOM")));
        assert_eq!(format_of(b"a\tb\n1\t2\n"), Ok((TAB, "UTF-8")));
        assert_eq!(format_of(b"a;b\n1;2\n"), Ok((SourceFormat::Csv { delimiter: b';' }, "UTF-8")));
        assert_eq!(format_of(b"a|b|c\n1|2|3\n"), Ok((SourceFormat::Csv { delimiter: b'|' }, "UTF-8")));
        assert_eq!(format_of(b"[{\"a\":1},{\"a\":2}]"), Ok((SourceFormat::Json, "UTF-8")));
        assert_eq!(format_of(b"  \n[\n  {\"a\": 1}\n]\n"), Ok((SourceFormat::Json, "UTF-8")));
        assert_eq!(format_of(b"{\"items\":[{\"a\":1}]}"), Ok((SourceFormat::Json, "UTF-8")));
        assert_eq!(format_of(b"{\"a\":1}\n{\"a\":2}\n"), Ok((SourceFormat::Ndjson, "UTF-8")));
        assert_eq!(format_of(b"\xEF\xBB\xBF{\"a\":1}\r\n\r\n{\"a\":2}"), Ok((SourceFormat::Ndjson, "UTF-8 with BOM")));
        // A prefix cut inside the first value is still JSON.
        assert_eq!(format_of(b"[{\"a\":1},{\"a\":"), Ok((SourceFormat::Json, "UTF-8")));
        // A CSV header that starts with a bracket is not JSON.
        assert_eq!(format_of("[編號],名稱\n1,2\n".as_bytes()), Ok((COMMA, "UTF-8")));
        assert_eq!(format_of(b"{x},y\n1,2\n"), Ok((COMMA, "UTF-8")));
        // JSON broken further on is still JSON, so the reader can say what is wrong.
        assert_eq!(format_of(b"[\n{\"a\": tru}]"), Ok((SourceFormat::Json, "UTF-8")));
        // One column: no delimiter anywhere.
        assert_eq!(format_of(b"name\nx\ny\n"), Ok((COMMA, "UTF-8")));
    }

    #[test]
    fn sniffs_the_delimiter_outside_quotes() {
        // Commas inside quoted cells do not make this a comma file.
        assert_eq!(sniff_delimiter(b"a\tb\tc\n\"x,y,z,w\"\t2\t3\n\"p,q\"\t5\t6\n"), b'\t');
        // Tabs inside quoted cells do not make this a tab file.
        assert_eq!(sniff_delimiter(b"a,b\n\"x\ty\tz\",2\n"), b',');
        // Quoted line ends do not split records.
        assert_eq!(sniff_delimiter(b"\"a\nb\",c;d\n1,\"2\n3\";x\n"), b',');
        // Semicolons in text, commas as delimiter, with CRLF.
        assert_eq!(sniff_delimiter(b"name,note\r\nx,a;b\r\ny,c\r\n"), b',');
        assert_eq!(sniff_delimiter("區;人口\n三民區;1\n".as_bytes()), b';');
    }

    #[test]
    fn detects_binary_formats_by_magic_number() {
        let ods = b"PK\x03\x04\x14\0\0\0\0\0mimetypeapplication/vnd.oasis.opendocument.spreadsheetPK";
        let sniffed = sniff(ods).unwrap();
        assert_eq!((sniffed.format, sniffed.format_name, sniffed.encoding), (SourceFormat::Ods, "ods", ""));
        assert_eq!(sniffed.media_type, "application/vnd.oasis.opendocument.spreadsheet");
        let xlsx = sniff(b"PK\x03\x04\x14\0\0\0[Content_Types].xml\0\0xl/workbook.xml").unwrap();
        assert_eq!((xlsx.format, xlsx.format_name, xlsx.encoding), (SourceFormat::Xlsx, "xlsx", ""));
        let zip = sniff(b"PK\x03\x04\x14\0\0\0data.csv").unwrap();
        assert_eq!((zip.format, zip.format_name, zip.media_type), (SourceFormat::Zip, "zip", "application/zip"));
        assert_eq!(format_of(b"PK\x05\x06\0\0\0\0\0\0\0\0"), Ok((SourceFormat::Zip, ""))); // an empty ZIP
        let xls = sniff(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0\0").unwrap();
        assert_eq!(
            (xls.format, xls.format_name, xls.media_type),
            (SourceFormat::Xls, "xls", "application/vnd.ms-excel")
        );
        assert_eq!(format_of(b"%PDF-1.4\n"), Err("format:pdf".into()));
        assert_eq!(format_of(b"\x1F\x8B\x08\0"), Err("format:gzip".into()));
        assert_eq!(format_of(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x01\0"), Err("format:binary".into()));
        // Control characters without NULs: not text either.
        assert_eq!(
            format_of(&[0x01, 0x02, 0x03, 0x04, b'a', 0x05, 0x06, 0x07, 0x08, 0x0E]),
            Err("format:binary".into())
        );
    }

    #[test]
    fn detects_markup() {
        let html = |bytes: &[u8]| format_of(bytes).map(|(f, _)| f);
        assert_eq!(html(b"<!DOCTYPE html><html><table>"), Ok(SourceFormat::Html));
        assert_eq!(html(b"\n  <html lang=zh-TW>"), Ok(SourceFormat::Html));
        assert_eq!(html(b"<table><tr><td>1</td></tr></table>"), Ok(SourceFormat::Html));
        assert_eq!(html(b"<html xmlns:o=\"urn:schemas-microsoft-com:office:office\">"), Ok(SourceFormat::Html));
        assert_eq!(html(b"<!-- saved by ASP -->\r\n<table border=1>"), Ok(SourceFormat::Html));
        assert_eq!(
            html(b"<?xml version=\"1.0\"?><!DOCTYPE html><html xmlns=\"http://www.w3.org/1999/xhtml\">"),
            Ok(SourceFormat::Html)
        );
        assert_eq!(html(b"<?xml version=\"1.0\"?><cwbopendata/>"), Ok(SourceFormat::Xml));
        assert_eq!(html(b"\xEF\xBB\xBF<ArrayOfBaseStation>"), Ok(SourceFormat::Xml));
        assert_eq!(html(b"<track><point/></track>"), Ok(SourceFormat::Xml)); // not <tr>
        let sniffed = sniff(b"<?xml version=\"1.0\"?><cwbopendata/>").unwrap();
        assert_eq!((sniffed.format_name, sniffed.media_type, sniffed.encoding), ("xml", "application/xml", "UTF-8"));
    }

    #[test]
    fn html_saved_as_xls_in_big5() {
        // An agency's "Excel" export: an HTML table in Big5 declaring its charset, with 臺南市 and 人口 cells.
        let mut page =
            b"<html><head><meta http-equiv=Content-Type content=\"text/html; charset=big5\"></head>\r\n".to_vec();
        page.extend_from_slice(b"<body><table><tr><td>\xBB\x4F\xAB\x6E\xA5\xAB</td><td>\xA4\x48\xA4\x66</td></tr>\r\n");
        page.extend_from_slice(b"<tr><td>\xA6\x77\xA5\xAD\xB0\xCF</td><td>1234</td></tr></table></body></html>");
        let sniffed = sniff(&page).unwrap();
        assert_eq!(
            (sniffed.format, sniffed.encoding, sniffed.text_encoding),
            (SourceFormat::Html, "Big5", TextEncoding::Big5)
        );
    }

    #[test]
    fn decodes_other_encodings() {
        assert_eq!(format_of(b"\xFF\xFEa\0,\0b\0\n\0"), Ok((COMMA, "UTF-16LE")));
        assert_eq!(format_of(b"\xFE\xFF\0a\0\t\0b\0\n"), Ok((TAB, "UTF-16BE")));
        assert_eq!(format_of(b"\xFF\xFE\0\0a\0\0\0"), Err("encoding:UTF-32LE".into()));
        let no_bom: Vec<u8> = "a\tb\n1\t2\n三民區\t3\n".encode_utf16().flat_map(u16::to_le_bytes).collect();
        let sniffed = sniff(&no_bom).unwrap();
        assert_eq!((sniffed.format, sniffed.encoding, sniffed.confidence), (TAB, "UTF-16LE", 90));
        // JSON in UTF-16 is still JSON.
        let json: Vec<u8> = "\u{FEFF}[{\"a\":1}]".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(format_of(&json), Ok((SourceFormat::Json, "UTF-16LE")));
        // 臺南市 in Big5: too short for statistics, so Big5 with a modest confidence.
        let short = sniff(b"\xBB\x4F\xAB\x6E\xA5\xAB,b\n1,2\n").unwrap();
        assert_eq!((short.format, short.encoding), (COMMA, "Big5"));
        assert!((50..=80).contains(&short.confidence), "{}", short.confidence);
        // Bytes that are no text at all.
        assert_eq!(format_of(b"a,b\n\xFF\xFF\xFF,2\n"), Err("encoding:unknown".into()));
    }

    #[test]
    fn big5_delimiter_is_found_on_decoded_text() {
        // 功 is 0xA55C and 院 is 0xB07C: the trail byte 0x7C is `|` in ASCII. Counted on raw bytes, the header
        // would have three `|`-separated cells per line and win over the comma.
        let mut text = Vec::new();
        for _ in 0..20 {
            text.extend_from_slice(b"\xA5\x5C\xB0\x7C\xB0\x7C,x\r\n");
        }
        let sniffed = sniff(&text).unwrap();
        assert_eq!((sniffed.format, sniffed.encoding), (COMMA, "Big5"));
    }

    #[test]
    fn gbk_is_named_when_chardetng_is_sure() {
        // 人口统计数据，北京市朝阳区 in GBK, repeated: Simplified Chinese, not Big5.
        let (gbk, _, _) = encoding_rs::GBK.encode("地区,人口统计数据\n北京市朝阳区,这是简体中文的统计资料说明\n");
        let text = gbk.repeat(20);
        assert_eq!(format_of(&text), Err("encoding:GBK".into()));
        // Shift_JIS: not Big5-shaped at all (trail bytes 0x80–0xA0).
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("地域,人口統計\n東京都渋谷区,これは日本語のデータです\n");
        assert_eq!(format_of(&sjis.repeat(20)), Err("encoding:Shift_JIS".into()));
    }

    #[test]
    fn a_prefix_cut_inside_a_character_is_fine() {
        let text = "a,b\n臺南市,2\n".as_bytes();
        let cut = &text[..text.len() - 4]; // inside 市
        assert!(std::str::from_utf8(cut).is_err());
        assert_eq!(format_of(cut), Ok((COMMA, "UTF-8")));
    }

    #[test]
    fn nothing_but_whitespace_is_empty() {
        assert_eq!(format_of(b""), Err("empty_file".into()));
        assert_eq!(format_of(b" \r\n\t"), Err("empty_file".into()));
        assert_eq!(format_of(b"\xEF\xBB\xBF"), Err("empty_file".into()));
        assert_eq!(format_of(b"\xFF\xFE"), Err("empty_file".into()));
        assert_eq!(format_of(b"\xFF\xFE \0\n\0"), Err("empty_file".into()));
    }

    /// Every real fixture file, by content: format, encoding and how sure.
    #[test]
    fn every_real_fixture_sniffs_to_its_real_format() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let expected: &[(&str, &str, &str)] = &[
            ("cec_2016_legislator_candidates_elcand_T1.csv", "csv", "UTF-8"),
            ("cec_2019_tainan_legislator_byelection_prof_big5_eudc.csv", "csv", "Big5"),
            ("cec_2020_polling_station_cross_village.ods", "ods", ""),
            ("cec_2020_polling_station_cross_village_big5.csv", "csv", "Big5"),
            ("cec_2022_election_type_codes.xlsx", "xlsx", ""),
            ("cec_2022_referendum_rfarea_really_xls.ods", "xls", ""),
            ("cec_2023_hualien_fuli_byelection_prof_big5.csv", "csv", "Big5"),
            ("cwb_F-C0032-001_36h_forecast_2015-10-28.xml", "xml", "UTF-8"),
            ("cwb_O-A0003-001_station_obs_2014-03-14.xml", "xml", "UTF-8"),
            ("kaohsiung_inclusive_playgrounds_pwbmo_2023-02.json", "json", "UTF-8"),
            ("kaohsiung_krtc_metro_stations_wkt.xml", "xml", "UTF-8"),
            ("moi_segis_tainan_district_population_97Y-99Y_big5.csv", "csv", "Big5"),
            ("moi_segis_tainan_population_by_statistical_area_105Y12M_big5.csv", "csv", "Big5"),
            ("moi_village_births_deaths_marriages_2014-04.csv", "csv", "UTF-8 with BOM"),
            ("moi_village_births_deaths_marriages_2016-04.csv", "csv", "UTF-8 with BOM"),
            ("moi_village_births_deaths_marriages_2020-10.csv", "csv", "UTF-8 with BOM"),
            ("moi_village_births_deaths_marriages_2024-10.csv", "csv", "UTF-8 with BOM"),
            ("moi_village_education_level_roc102_2013_utf16_tab.csv", "tsv", "UTF-16LE"),
            ("moi_village_education_level_roc104_2015.csv", "csv", "UTF-8 with BOM"),
            ("npa_a1_traffic_accidents_2018.csv", "csv", "UTF-8 with BOM"),
            ("npa_a1_traffic_accidents_roc102_2013.csv", "csv", "UTF-8 with BOM"),
            ("npa_a1_traffic_accidents_roc105_2016.csv", "csv", "UTF-8 with BOM"),
            ("tainan_apartment_management_committees_roc_slash_dates.csv", "csv", "UTF-8 with BOM"),
            ("tainan_dengue_cases_0829_big5.csv", "csv", "Big5"),
            ("tainan_dengue_cases_by_district_roc1040822.xls", "xls", ""),
            ("tainan_dengue_cases_roc1040826_big5.csv", "csv", "Big5"),
            ("tainan_dengue_insecticide_spraying_2015-08.csv", "csv", "UTF-8"),
            ("tainan_labor_violations_roc103-07-08.xls", "xls", ""),
            ("tainan_labor_violations_roc104-07.xlsx", "xlsx", ""),
            ("tainan_labor_violations_roc105_full_year.xls", "xls", ""),
            ("tainan_labor_violations_roc106-11.xls", "xls", ""),
            ("taipei_parking_lots_TCMSV_alldesc_2023-01-28.json", "json", "UTF-8"),
            ("twc_tainan_temporary_water_stations_roc105-02-09.xls", "xls", ""),
        ];
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".md") {
                continue;
            }
            let Some(&(_, format, encoding)) = expected.iter().find(|(n, _, _)| *n == name) else {
                panic!("{name}: a new fixture; add it to this test");
            };
            seen += 1;
            let mut prefix = std::fs::read(dir.join(&name)).unwrap();
            prefix.truncate(SNIFF_BYTES);
            let sniffed = sniff(&prefix).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!((sniffed.format_name, sniffed.encoding), (format, encoding), "{name}");
            let least = if encoding == "Big5" { 90 } else { 100 };
            assert!(sniffed.confidence >= least, "{name}: confidence {}", sniffed.confidence);
        }
        assert_eq!(seen, expected.len());
    }
}
