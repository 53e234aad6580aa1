//! Detecting a file's real format and encoding from its first bytes.
//!
//! Taiwanese files lie about their extension: a 2016 study of the national portal found 8,313 of ~18,500 checkable
//! resources were not in the format they claimed (FIELD-NOTES), and `cec_2022_referendum_rfarea_really_xls.ods` is an
//! XLS named `.ods`. So the reader is chosen from magic numbers, byte-order marks and the shape of the text, never
//! from a name.

use crate::IngestError;

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
    /// `csv`, `tsv`, `json` or `ndjson`.
    pub format_name: &'static str,
    /// `text/csv`, `text/tab-separated-values`, `application/json` or `application/x-ndjson`.
    pub media_type: &'static str,
    /// The encoding's name ([`TextEncoding::name`]); empty for binary formats (spreadsheets, ZIP).
    pub encoding: &'static str,
    /// The encoding of a text format.
    pub text_encoding: TextEncoding,
    /// How sure the detection is, 0–100 (a byte-order mark or valid UTF-8 is 100; Big5 by statistics less).
    pub confidence: u8,
}

/// Detects the real format from the first bytes of the file (give it up to [`SNIFF_BYTES`]), never from a file
/// extension.
///
/// Errors: [`IngestError::Empty`] for no bytes or only whitespace; [`IngestError::UnsupportedFormat`] for
/// spreadsheets, archives, markup, PDF and binary data; [`IngestError::UnsupportedEncoding`] for text that is not
/// UTF-8.
pub fn sniff(prefix: &[u8]) -> Result<Sniffed, IngestError> {
    if let Some(detected) = binary_format(prefix) {
        return Err(unsupported_format(detected));
    }
    if let Some(detected) = non_utf8_bom(prefix) {
        return Err(unsupported_encoding(detected));
    }
    let (text, encoding) = match prefix.strip_prefix(UTF8_BOM) {
        Some(rest) => (rest, "UTF-8 with BOM"),
        None => (prefix, "UTF-8"),
    };
    let Some(start) = text.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Err(IngestError::Empty);
    };
    if text.contains(&0) {
        // Text never holds NUL; UTF-16 without a BOM has one in every other byte (ASCII range).
        return Err(match utf16_without_bom(text) {
            Some(detected) => unsupported_encoding(detected),
            None => unsupported_format("binary"),
        });
    }
    if let Err(e) = std::str::from_utf8(text) {
        // `error_len() == None`: only the last character is cut short, because the prefix stops mid-character.
        if e.error_len().is_some() {
            return Err(unsupported_encoding(guess_legacy_encoding(text)));
        }
    }
    let text = &text[start..];
    match text[0] {
        b'<' => Err(unsupported_format(markup_kind(text))),
        b'[' | b'{' if opens_json(text) => Ok(json_kind(text)),
        _ => Ok(csv_kind(sniff_delimiter(text))),
    }
    // The readers strip a UTF-8 BOM themselves; the encoding is reported for the version's metadata.
    .map(|s| Sniffed {
        encoding,
        text_encoding: if encoding == "UTF-8" { TextEncoding::Utf8 } else { TextEncoding::Utf8Bom },
        ..s
    })
}

fn unsupported_format(detected: &str) -> IngestError {
    IngestError::UnsupportedFormat {
        detected: detected.to_string(),
        message: format!(
            "{detected} files are not read for now: spreadsheets, HTML tables, XML and ZIP arrive with the ingestion issue"
        ),
    }
}

fn unsupported_encoding(detected: &str) -> IngestError {
    IngestError::UnsupportedEncoding {
        detected: detected.to_string(),
        message: format!(
            "the file is not UTF-8 (it looks like {detected}); only UTF-8 is read for now, other encodings arrive with \
             the ingestion issue"
        ),
    }
}

/// Magic numbers of formats that are not text.
fn binary_format(prefix: &[u8]) -> Option<&'static str> {
    if prefix.starts_with(b"PK\x03\x04") {
        return Some(zip_kind(prefix));
    }
    // OLE2 compound file (CDFV2): Excel 97-2003 in open data; Word files are rare enough to share the name.
    if prefix.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        return Some("xls");
    }
    if prefix.starts_with(b"%PDF-") {
        return Some("pdf");
    }
    if prefix.starts_with(b"\x1F\x8B") {
        return Some("gzip");
    }
    None
}

/// Office Open XML and OpenDocument files are ZIP archives; their first entries tell them apart (ECMA-376 part 2
/// puts `[Content_Types].xml` first in practice; OpenDocument 1.2 part 3 §3.3 requires an uncompressed `mimetype`
/// entry first).
fn zip_kind(prefix: &[u8]) -> &'static str {
    let contains = |needle: &[u8]| memchr::memmem::find(prefix, needle).is_some();
    if contains(b"application/vnd.oasis.opendocument.spreadsheet") {
        "ods"
    } else if contains(b"xl/") || (contains(b"[Content_Types].xml") && !contains(b"word/") && !contains(b"ppt/")) {
        "xlsx"
    } else {
        "zip"
    }
}

fn non_utf8_bom(prefix: &[u8]) -> Option<&'static str> {
    // UTF-32LE's BOM starts with UTF-16LE's, so it goes first.
    if prefix.starts_with(b"\xFF\xFE\x00\x00") {
        Some("UTF-32LE")
    } else if prefix.starts_with(b"\x00\x00\xFE\xFF") {
        Some("UTF-32BE")
    } else if prefix.starts_with(b"\xFF\xFE") {
        Some("UTF-16LE")
    } else if prefix.starts_with(b"\xFE\xFF") {
        Some("UTF-16BE")
    } else {
        None
    }
}

/// UTF-16 without a BOM: most NULs sit at odd (LE) or even (BE) positions.
fn utf16_without_bom(text: &[u8]) -> Option<&'static str> {
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
        Some("UTF-16LE")
    } else if even * 10 >= half * 3 && odd * 10 < even {
        Some("UTF-16BE")
    } else {
        None
    }
}

/// Names the likely encoding of text that is not UTF-8, for the error message. Big5 (and CP950, its Microsoft
/// superset) is what Taiwanese agencies publish when not UTF-8: a lead byte 0x81–0xFE followed by a trail byte
/// 0x40–0x7E or 0xA1–0xFE.
fn guess_legacy_encoding(text: &[u8]) -> &'static str {
    let mut i = 0;
    let mut pairs = 0;
    while i < text.len() {
        let b = text[i];
        if b < 0x80 {
            i += 1;
            continue;
        }
        match text.get(i + 1) {
            Some(&t) if (0x81..=0xFE).contains(&b) && ((0x40..=0x7E).contains(&t) || (0xA1..=0xFE).contains(&t)) => {
                pairs += 1;
                i += 2;
            }
            None => break, // cut at the end of the prefix
            _ => return "unknown",
        }
    }
    if pairs > 0 { "Big5" } else { "unknown" }
}

/// `<?xml …`, `<!DOCTYPE html>`, `<html>`, `<table>` …
fn markup_kind(text: &[u8]) -> &'static str {
    let head: Vec<u8> = text[..text.len().min(1024)].to_ascii_lowercase();
    let starts = |p: &[u8]| head.starts_with(p);
    let contains = |p: &[u8]| memchr::memmem::find(&head, p).is_some();
    if starts(b"<!doctype html")
        || starts(b"<html")
        || starts(b"<table")
        || starts(b"<head")
        || starts(b"<body")
        || starts(b"<meta")
        || (starts(b"<!--") && contains(b"<html"))
        || (starts(b"<?xml") && contains(b"<html"))
    {
        "html"
    } else {
        "xml"
    }
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

    #[test]
    fn detects_text_formats() {
        assert_eq!(format_of(b"a,b\n1,2\n"), Ok((COMMA, "UTF-8")));
        assert_eq!(format_of(b"\xEF\xBB\xBFa,b\r\n1,2\r\n"), Ok((COMMA, "UTF-8 with BOM")));
        assert_eq!(format_of(b"a\tb\n1\t2\n"), Ok((SourceFormat::Csv { delimiter: b'\t' }, "UTF-8")));
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
    fn refuses_binary_formats_by_magic_number() {
        let ods = b"PK\x03\x04\x14\0\0\0\0\0mimetypeapplication/vnd.oasis.opendocument.spreadsheetPK";
        assert_eq!(format_of(ods), Err("format:ods".into()));
        assert_eq!(format_of(b"PK\x03\x04\x14\0\0\0[Content_Types].xml\0\0xl/workbook.xml"), Err("format:xlsx".into()));
        assert_eq!(format_of(b"PK\x03\x04\x14\0\0\0data.csv"), Err("format:zip".into()));
        assert_eq!(format_of(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0\0"), Err("format:xls".into()));
        assert_eq!(format_of(b"%PDF-1.4\n"), Err("format:pdf".into()));
        assert_eq!(format_of(b"\x1F\x8B\x08\0"), Err("format:gzip".into()));
        assert_eq!(format_of(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x01\0"), Err("format:binary".into()));
    }

    #[test]
    fn refuses_markup() {
        assert_eq!(format_of(b"<!DOCTYPE html><html><table>"), Err("format:html".into()));
        assert_eq!(format_of(b"\n  <html lang=zh-TW>"), Err("format:html".into()));
        assert_eq!(format_of(b"<table><tr><td>1</td></tr></table>"), Err("format:html".into()));
        assert_eq!(format_of(b"<?xml version=\"1.0\"?><cwbopendata/>"), Err("format:xml".into()));
        assert_eq!(format_of(b"\xEF\xBB\xBF<ArrayOfBaseStation>"), Err("format:xml".into()));
    }

    #[test]
    fn refuses_other_encodings() {
        assert_eq!(format_of(b"\xFF\xFEa\0,\0b\0"), Err("encoding:UTF-16LE".into()));
        assert_eq!(format_of(b"\xFE\xFF\0a\0,\0b"), Err("encoding:UTF-16BE".into()));
        assert_eq!(format_of(b"\xFF\xFE\0\0a\0\0\0"), Err("encoding:UTF-32LE".into()));
        assert_eq!(
            format_of("a,b\n1,2\n三民區,3\n".encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<_>>().as_slice()),
            Err("encoding:UTF-16LE".into())
        );
        // 臺南市 in Big5.
        assert_eq!(format_of(b"\xBB\x4F\xAB\x6E\xA5\xAB,b\n1,2\n"), Err("encoding:Big5".into()));
        assert_eq!(format_of(b"a,b\n\xFF\xFF\xFF,2\n"), Err("encoding:unknown".into()));
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
    }
}
