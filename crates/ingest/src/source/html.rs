//! HTML tables as grids of raw rows: agencies "export to Excel" by saving an HTML page named `.xls`.
//!
//! The page is parsed by `scraper` (html5ever, the HTML5 parsing algorithm browsers use, so unclosed `<td>`,
//! missing `<tbody>` and other tag soup read as a browser shows them). Every `<table>` of the page is a table, in
//! document order (`#1`, `#2` …, named by its `<caption>` or `id`), nested ones included. Default: the table with the
//! most cells — a layout table wrapping the data has few — logged as `table_choice` when the page has several.
//!
//! Rows are the table's own `<tr>` (in `<thead>`, `<tbody>`, `<tfoot>` or directly in the table), cells its `<td>`
//! and `<th>`. A cell's text is its text content with runs of whitespace collapsed to one space, `<br>` and block
//! boundaries (`<p>`, `<div>`, `<li>`, rows of a nested table) as newlines, trimmed; `<script>`/`<style>` text and
//! comments are left out. A nested table's text belongs to the cell holding it (and the nested table is also a
//! table of its own). `colspan`/`rowspan` are expanded: every covered cell repeats the spanning cell's value
//! (`merged_cells`), with spans capped as the HTML standard caps them (colspan ≤ 1000, rowspan ≤ 65534, and never
//! past the table's last row; `rowspan="0"` reaches the last row).
//!
//! Bytes are decoded by the sniffed encoding, or by the page's `<meta charset>` when the bytes are not UTF-8 (Big5
//! pages exist), through [`crate::decode`] (which knows Big5 user-defined characters), falling back to encoding_rs.
//!
//! Does not: stream — the page is parsed whole, and a DOM takes 10–20 times the page's size, so pages over
//! [`MAX_HTML_BYTES`] are refused (publish such a table as CSV); read values behind the text (`x:num`, `title`,
//! links: the text a person sees is the cell); follow links or load anything.

use std::io::Read;
use std::path::Path;

use encoding_rs::Encoding;
use scraper::{ElementRef, Html, Node};
use tapwater_types::TransformEntry;

use super::sheet::{LoadedGrid, TextGrid, find_table};
use super::{OpenOptions, TableInfo};
use crate::{IngestError, MalformedKind, Sniffed, TextEncoding, decode};

/// Largest HTML page read (see the module doc for why HTML has a cap at all).
pub(crate) const MAX_HTML_BYTES: u64 = 64 << 20;
/// The HTML standard's limits on spans (WHATWG HTML, "processing model" of tables): larger values are clamped.
const MAX_COLSPAN: u32 = 1_000;
const MAX_ROWSPAN: u32 = 65_534;

/// Opens the table chosen by `options.table` (or the largest) of an HTML page.
pub(crate) fn open(path: &Path, sniffed: &Sniffed, options: &OpenOptions<'_>) -> Result<LoadedGrid, IngestError> {
    let (text, mut log) = read_page(path, sniffed, options.eudc)?;
    let document = Html::parse_document(&text);
    drop(text);
    let tables = tables(&document);
    if tables.is_empty() {
        return Err(IngestError::Empty);
    }
    let index = match options.table {
        Some(requested) => find_table(requested, &table_names(&tables))?,
        None => {
            let sizes: Vec<usize> = tables.iter().map(|t| cell_count(*t)).collect();
            // The largest; of equal ones, the first.
            let index = (0..tables.len()).rev().max_by_key(|&i| sizes[i]).unwrap_or(0);
            if sizes[index] == 0 {
                return Err(IngestError::Empty);
            }
            let names = table_names(&tables);
            let others: Vec<String> = (0..tables.len())
                .filter(|&i| i != index && sizes[i] > 0)
                .map(|i| format!("{} ({} cells)", describe(&names, i), sizes[i]))
                .collect();
            if !others.is_empty() {
                log.insert(
                    0,
                    TransformEntry {
                        rule: "table_choice".into(),
                        count: others.len() as u64 + 1,
                        detail: Some(format!(
                            "read table {} ({} cells), the largest of the page; the others: {} — the pipeline's \
                             `table` picks another",
                            describe(&names, index),
                            sizes[index],
                            others.join(", ")
                        )),
                        ..Default::default()
                    },
                );
            }
            index
        }
    };
    let (grid, spans) = read_table(tables[index], options.max_columns)?;
    if let Some(entry) = spans {
        log.push(entry);
    }
    let bytes = std::fs::metadata(path)?.len();
    Ok(LoadedGrid::new(grid, bytes, log, options.max_columns))
}

/// Every table of the page, with its row count.
pub(crate) fn list_tables(path: &Path, sniffed: &Sniffed) -> Result<Vec<TableInfo>, IngestError> {
    let (text, _) = read_page(path, sniffed, &Default::default())?;
    let document = Html::parse_document(&text);
    let tables = tables(&document);
    let names = table_names(&tables);
    Ok(tables
        .iter()
        .zip(names)
        .enumerate()
        .map(|(i, (table, name))| TableInfo {
            id: format!("#{}", i + 1),
            name,
            kind: "html_table",
            rows: Some(rows(*table).len() as u64),
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding.

/// The page as UTF-8, and what decoding it did.
fn read_page(
    path: &Path,
    sniffed: &Sniffed,
    eudc: &std::collections::BTreeMap<String, String>,
) -> Result<(String, Vec<TransformEntry>), IngestError> {
    let size = std::fs::metadata(path)?.len();
    if size > MAX_HTML_BYTES {
        return Err(IngestError::malformed(
            0,
            None,
            MalformedKind::TooLarge,
            format!(
                "the HTML page is {} MiB, more than the {} MiB tapwater reads as an HTML table; publish the table as \
                 CSV",
                size >> 20,
                MAX_HTML_BYTES >> 20
            ),
        ));
    }
    let raw = std::fs::read(path)?;
    let (encoding, declared) = match sniffed.text_encoding {
        TextEncoding::Utf8 | TextEncoding::Utf8Bom => {
            let body = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&raw);
            match std::str::from_utf8(body) {
                Ok(text) => return Ok((text.to_string(), Vec::new())),
                Err(e) => match meta_charset(&raw).filter(|enc| *enc != encoding_rs::UTF_8) {
                    Some(enc) => (enc, true),
                    None => {
                        let line = body[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
                        return Err(IngestError::malformed(
                            line,
                            None,
                            MalformedKind::InvalidUtf8,
                            "the page holds bytes that are not UTF-8 and declares no other charset",
                        ));
                    }
                },
            }
        }
        TextEncoding::Big5 => (encoding_rs::BIG5, false),
        TextEncoding::Utf16Le => (encoding_rs::UTF_16LE, false),
        TextEncoding::Utf16Be => (encoding_rs::UTF_16BE, false),
    };
    let text_encoding = if encoding == encoding_rs::BIG5 {
        Some(TextEncoding::Big5)
    } else if encoding == encoding_rs::UTF_16LE {
        Some(TextEncoding::Utf16Le)
    } else if encoding == encoding_rs::UTF_16BE {
        Some(TextEncoding::Utf16Be)
    } else {
        None
    };
    // The shared decoder first: it knows Big5 user-defined characters and logs what it did.
    if let Some(text_encoding) = text_encoding {
        let (mut reader, decode_log) = decode::open_text(path, text_encoding, eudc)?;
        let mut decoded = Vec::new();
        reader.by_ref().take(MAX_HTML_BYTES * 2).read_to_end(&mut decoded)?;
        if let Ok(text) = String::from_utf8(decoded) {
            let mut log = decode_log.lock().map(|mut l| std::mem::take(&mut l.entries)).unwrap_or_default();
            if declared {
                log.push(declared_entry(encoding, 0));
            }
            return Ok((text, log));
        }
    }
    // Any other charset a page may declare (windows-1252, GBK …): encoding_rs, with U+FFFD for bad bytes, counted.
    let (text, _, had_errors) = encoding.decode(&raw);
    let replaced = if had_errors { text.matches('\u{FFFD}').count() as u64 } else { 0 };
    Ok((text.into_owned(), vec![declared_entry(encoding, replaced)]))
}

fn declared_entry(encoding: &'static Encoding, replaced: u64) -> TransformEntry {
    let bad = if replaced > 0 { format!("; {replaced} undecodable bytes became U+FFFD") } else { String::new() };
    TransformEntry {
        rule: "decode".into(),
        count: 1,
        detail: Some(format!("{} (declared by the page's <meta charset>) → UTF-8{bad}", encoding.name())),
        ..Default::default()
    }
}

/// The charset a page declares in its first 4 KiB (`<meta charset="big5">` or `content="text/html; charset=big5"`),
/// as the HTML standard's prescan does.
fn meta_charset(raw: &[u8]) -> Option<&'static Encoding> {
    let head = String::from_utf8_lossy(&raw[..raw.len().min(4096)]).to_ascii_lowercase();
    let mut rest = head.as_str();
    while let Some(at) = rest.find("charset") {
        rest = &rest[at + "charset".len()..];
        let value = rest.trim_start().strip_prefix('=')?.trim_start().trim_start_matches(['"', '\'']);
        let end = value.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')).unwrap_or(value.len());
        if let Some(encoding) = Encoding::for_label(&value.as_bytes()[..end]) {
            return Some(encoding);
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------------------------
// Tables.

fn is_element(element: &ElementRef<'_>, names: &[&str]) -> bool {
    names.contains(&element.value().name())
}

/// Every `<table>` of the document, in document order.
fn tables(document: &Html) -> Vec<ElementRef<'_>> {
    document.root_element().descendent_elements().filter(|e| is_element(e, &["table"])).collect()
}

/// A table's own rows: `<tr>` children of the table or of its row groups, not those of nested tables.
fn rows(table: ElementRef<'_>) -> Vec<ElementRef<'_>> {
    let mut rows = Vec::new();
    for child in table.child_elements() {
        if is_element(&child, &["tr"]) {
            rows.push(child);
        } else if is_element(&child, &["thead", "tbody", "tfoot"]) {
            rows.extend(child.child_elements().filter(|e| is_element(e, &["tr"])));
        }
    }
    rows
}

fn cells(row: ElementRef<'_>) -> impl Iterator<Item = ElementRef<'_>> {
    row.child_elements().filter(|e| is_element(e, &["td", "th"]))
}

fn cell_count(table: ElementRef<'_>) -> usize {
    rows(table).into_iter().map(|r| cells(r).count()).sum()
}

/// Each table's name: its caption, else its `id`, else its number.
fn table_names(tables: &[ElementRef<'_>]) -> Vec<String> {
    tables
        .iter()
        .enumerate()
        .map(|(i, table)| {
            let caption = table.child_elements().find(|e| is_element(e, &["caption"])).map(cell_text);
            caption
                .filter(|c| !c.is_empty())
                .or_else(|| table.value().attr("id").map(str::to_string))
                .unwrap_or_else(|| format!("#{}", i + 1))
        })
        .collect()
}

fn describe(names: &[String], index: usize) -> String {
    let id = format!("#{}", index + 1);
    if names[index] == id { id } else { format!("{id} 「{}」", names[index]) }
}

/// A span attribute as the HTML standard reads it: digits after optional spaces; anything else is the default.
fn span(element: &ElementRef<'_>, name: &str) -> Option<u32> {
    let value = element.value().attr(name)?.trim_start();
    let digits = value.find(|c: char| !c.is_ascii_digit()).map_or(value, |end| &value[..end]);
    // Digits beyond u32 are clamped below anyway.
    Some(digits.parse::<u64>().ok()?.min(u64::from(u32::MAX)) as u32)
}

/// One table as a grid: spans expanded. Returns the grid and the `merged_cells` entry if spans were expanded.
fn read_table(table: ElementRef<'_>, max_columns: usize) -> Result<(TextGrid, Option<TransformEntry>), IngestError> {
    let rows = rows(table);
    let row_count = rows.len() as u32;
    let mut grid = TextGrid::default();
    // Per column: rows still covered by a rowspan from above, and the spanning cell's text.
    let mut pending: Vec<(u32, (usize, usize))> = Vec::new();
    let mut covered: Vec<bool> = Vec::new();
    let mut filled = 0u64;
    let mut spanning = 0u64;
    for (r, tr) in rows.into_iter().enumerate() {
        let r = r as u32;
        covered.clear();
        covered.resize(pending.len(), false);
        for (c, (left, text)) in pending.iter_mut().enumerate() {
            if *left > 0 {
                *left -= 1;
                covered[c] = true;
                if text.0 != text.1 {
                    grid.push_span(r, c as u32, *text)?;
                    filled += 1;
                }
            }
        }
        let mut col = 0usize;
        for td in cells(tr) {
            while covered.get(col).copied().unwrap_or(false) {
                col += 1;
            }
            let colspan = span(&td, "colspan").unwrap_or(1).clamp(1, MAX_COLSPAN) as usize;
            let rowspan = match span(&td, "rowspan") {
                Some(0) => row_count - r, // to the last row
                Some(n) => n.min(MAX_ROWSPAN).min(row_count - r),
                None => 1,
            }
            .max(1);
            if col + colspan > max_columns {
                return Err(IngestError::TooManyColumns { count: col + colspan, max: max_columns });
            }
            let text = grid.push(r, col as u32, &cell_text(td))?.unwrap_or((0, 0));
            if colspan > 1 || rowspan > 1 {
                spanning += 1;
            }
            for c in col..col + colspan {
                if c != col && text.0 != text.1 {
                    grid.push_span(r, c as u32, text)?;
                    filled += 1;
                }
                if rowspan > 1 {
                    if pending.len() <= c {
                        pending.resize(c + 1, (0, (0, 0)));
                    }
                    pending[c] = (rowspan - 1, text);
                }
            }
            col += colspan;
        }
    }
    let entry = (filled > 0).then(|| TransformEntry {
        rule: "merged_cells".into(),
        count: filled,
        detail: Some(format!(
            "{spanning} cells with colspan/rowspan: each covered cell repeats the spanning cell's value"
        )),
        ..Default::default()
    });
    Ok((grid, entry))
}

/// A cell's text as a person reads it (see the module doc).
fn cell_text(cell: ElementRef<'_>) -> String {
    let mut out = String::new();
    let mut space = false;
    let mut skip = 0usize; // inside <script>/<style>
    let line_break = |out: &mut String, space: &mut bool| {
        *space = false;
        while out.ends_with(' ') {
            out.pop();
        }
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
    };
    // Depth-first with an explicit stack: a hostile page may nest elements thousands deep.
    let mut stack = vec![(cell, cell.children())];
    while let Some((element, children)) = stack.last_mut() {
        let Some(child) = children.next() else {
            let name = element.value().name();
            let nested_cell = element.id() != cell.id() && matches!(name, "td" | "th");
            match name {
                "script" | "style" => skip = skip.saturating_sub(1),
                _ if nested_cell => space = true,
                name if is_block(name) => line_break(&mut out, &mut space),
                _ => {}
            }
            stack.pop();
            continue;
        };
        match child.value() {
            Node::Text(text) if skip == 0 => {
                for c in text.chars() {
                    // HTML's ASCII whitespace; U+3000 and no-break spaces are content (the normalizers trim).
                    if matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0C') {
                        space = true;
                    } else {
                        if space && !out.is_empty() && !out.ends_with('\n') {
                            out.push(' ');
                        }
                        space = false;
                        out.push(c);
                    }
                }
            }
            Node::Element(e) => {
                match e.name() {
                    "br" => {
                        while out.ends_with(' ') {
                            out.pop();
                        }
                        out.push('\n');
                        space = false;
                    }
                    "script" | "style" => skip += 1,
                    name if is_block(name) => line_break(&mut out, &mut space),
                    _ => {}
                }
                if let Some(element) = ElementRef::wrap(child) {
                    stack.push((element, child.children()));
                }
            }
            _ => {}
        }
    }
    out.trim_matches(|c| c == ' ' || c == '\n').to_string()
}

/// Elements whose boundaries are line breaks in a cell's text.
fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "li"
            | "ul"
            | "ol"
            | "tr"
            | "table"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "pre"
            | "blockquote"
            | "dl"
            | "dt"
            | "dd"
            | "caption"
            | "hr"
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::io::Write;

    use super::*;
    use crate::SourceFormat;
    use crate::source::GridSource;
    use crate::source::sheet::tests::{collect, options, sniffed};

    fn page(html: &[u8]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(html).unwrap();
        file
    }

    fn read(html: &str, table: Option<&str>) -> (Vec<(u64, Vec<String>)>, Vec<TransformEntry>) {
        let file = page(html.as_bytes());
        let eudc = BTreeMap::new();
        let mut grid = open(file.path(), &sniffed(SourceFormat::Html, "html"), &options(table, &eudc)).unwrap();
        let rows = collect(&mut grid);
        (rows, grid.take_log())
    }

    const TWO_TABLES: &str = r#"<html><head><meta charset="utf-8"><title>x</title></head><body>
        <table id="nav"><tr><td>首頁</td><td>下載</td></tr></table>
        <table border=1>
          <caption>各區病例數</caption>
          <thead><tr><th rowspan=2>區別</th><th colspan=2>病例數</th></tr>
          <tr><th>本土<th>境外</tr></thead>
          <tbody>
          <tr><td>北區</td><td> 833 </td><td>0</td></tr>
          <tr><td rowspan="2">東區</td><td>10</td><td>1</td></tr>
          <tr><td>2<br>（含疑似）</td><td>
                 <p>first   line</p><p>second</p></td></tr>
          <tr><td colspan=3>資料來源：  衛生局</td></tr>
          </tbody>
        </table></body></html>"#;

    #[test]
    fn spans_are_expanded_and_the_largest_table_is_read() {
        let (rows, log) = read(TWO_TABLES, None);
        let cells = |i: usize| rows[i].1.iter().map(String::as_str).collect::<Vec<_>>();
        assert_eq!(rows.len(), 6);
        assert_eq!(cells(0), ["區別", "病例數", "病例數"]);
        assert_eq!(cells(1), ["區別", "本土", "境外"]);
        assert_eq!(cells(2), ["北區", "833", "0"]);
        assert_eq!(cells(3), ["東區", "10", "1"]);
        assert_eq!(cells(4), ["東區", "2\n（含疑似）", "first line\nsecond"]);
        assert_eq!(cells(5), ["資料來源： 衛生局", "資料來源： 衛生局", "資料來源： 衛生局"]);
        assert_eq!(rows[5].0, 6);
        assert_eq!(log[0].rule, "table_choice");
        assert_eq!(
            log[0].detail.as_deref(),
            Some(
                "read table #2 「各區病例數」 (13 cells), the largest of the page; the others: #1 「nav」 (2 cells) — \
                 the pipeline's `table` picks another"
            )
        );
        assert_eq!(log[1].rule, "merged_cells");
        assert_eq!(log[1].count, 5);
    }

    #[test]
    fn a_table_is_chosen_by_number_or_name() {
        let (rows, log) = read(TWO_TABLES, Some("#1"));
        assert_eq!(rows, [(1, vec!["首頁".to_string(), "下載".into()])]);
        assert!(log.is_empty());
        let (rows, _) = read(TWO_TABLES, Some("各區病例數"));
        assert_eq!(rows.len(), 6);
        let file = page(TWO_TABLES.as_bytes());
        let eudc = BTreeMap::new();
        let err = open(file.path(), &sniffed(SourceFormat::Html, "html"), &options(Some("#3"), &eudc)).err().unwrap();
        assert!(matches!(err, IngestError::TableNotFound { available, .. } if available == ["nav", "各區病例數"]));
        let tables = list_tables(file.path(), &sniffed(SourceFormat::Html, "html")).unwrap();
        assert_eq!(tables.len(), 2);
        assert_eq!(
            (tables[1].id.as_str(), tables[1].name.as_str(), tables[1].kind),
            ("#2", "各區病例數", "html_table")
        );
        assert_eq!(tables[1].rows, Some(6));
    }

    #[test]
    fn nested_table_text_belongs_to_its_cell() {
        let html = "<table><tr><td>a</td><td><table><tr><td>x</td><td>y</td></tr><tr><td>z</td></tr></table></td></tr>\
                    <tr><td>b</td><td>c</td></tr><tr><td>d</td><td>e</td></tr></table>";
        let (rows, _) = read(html, None);
        assert_eq!(rows[0].1, ["a", "x y\nz"]);
        assert_eq!(rows.len(), 3);
    }

    #[test]
    fn hostile_spans_are_capped() {
        // rowspan past the end and a huge colspan: clamped, not 65534 × 1000 cells.
        let html = r#"<table><tr><td rowspan=99999 colspan=99999>x</td></tr><tr></tr></table>"#;
        let (rows, _) = read(html, None);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].1.len(), 1000);
    }

    #[test]
    fn big5_page_declared_by_meta_charset() {
        let (body, _, _) = encoding_rs::BIG5.encode("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=big5\"></head><table><tr><td>臺南市</td><td>東區</td></tr></table></html>");
        let file = page(&body);
        let eudc = BTreeMap::new();
        let mut grid = open(file.path(), &sniffed(SourceFormat::Html, "html"), &options(None, &eudc)).unwrap();
        assert_eq!(collect(&mut grid), [(1, vec!["臺南市".to_string(), "東區".into()])]);
        let log = grid.take_log();
        assert_eq!(log[0].rule, "decode");
        assert!(log[0].detail.as_deref().unwrap().starts_with("Big5"));
    }

    #[test]
    fn a_page_without_tables_is_empty() {
        let file = page(b"<html><body><p>nothing</p></body></html>");
        let eudc = BTreeMap::new();
        let err = open(file.path(), &sniffed(SourceFormat::Html, "html"), &options(None, &eudc)).err().unwrap();
        assert!(matches!(err, IngestError::Empty));
    }
}
