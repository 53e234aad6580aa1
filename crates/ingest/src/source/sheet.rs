//! Spreadsheets — XLSX, XLS (BIFF8, any code page incl. CP950) and ODS — read with calamine, one sheet at a time,
//! as a grid of raw rows.
//!
//! Every cell becomes the text a person sees in the spreadsheet program, in UTF-8:
//!
//! - numbers: an integral value is written without a fraction (`1.0` → `1`, and a 7-digit ROC date typed as a number,
//!   `1040604`, stays `1040604`); other values in their shortest form after rounding to 15 significant digits, the
//!   precision Excel stores and shows (a formula's `0.30000000000000004` is `0.3` on screen, so it is `0.3` here);
//! - date and time cells: ISO 8601 — `2015-07-01`, `2015-07-01T08:30:00`, a time alone `08:30:00`, a duration
//!   `36:00:00`; a cell shown with an ROC format (`[$-404]e/m/d`) is a date serial all the same and reads as ISO;
//! - booleans `true` / `false`; text exactly as stored (embedded newlines and spaces kept: trimming is the
//!   normalizers' job);
//! - error cells (`#N/A`, `#DIV/0!` …) are empty, and logged (`cell_error`, with the cell references);
//! - merged ranges: every covered cell repeats the range's value (`merged_cells`, with the count). calamine gives the
//!   merge list for XLSX and XLS; for ODS it gives none, so ODS merges stay empty covered cells (the shape module's
//!   fill-down covers the common vertical case).
//!
//! Rows are the sheet's rows from its first to its last used row, numbered as in the sheet (`Row::line` = 1-based
//! sheet row); a row with nothing in it is yielded empty, so that the shape module can record it as a blank row;
//! trailing empty cells are left off and columns start at the first used column.
//!
//! Which sheet: `OpenOptions::table` by name or `#N` (1-based, workbook order); by default the first worksheet holding
//! data, logged as `table_choice` when others hold data too (a `範例` example sheet next to the real one).
//!
//! Does not: stream (calamine loads a sheet, and XLS/ODS the whole workbook, at once, so a documented cap applies:
//! [`MAX_WORKBOOK_BYTES`] of file and [`MAX_SHEET_CELLS`] non-empty cells per sheet); evaluate formulas (the cached
//! value Excel saved is read); read cell formats other than dates (a number shown as `001` reads as `1`; a
//! percentage cell shows its fraction `0.47`); read XLSB or password-protected workbooks (refused with a message).
//!
//! The in-memory grid ([`TextGrid`], [`LoadedGrid`]) is shared with the HTML table reader.

use std::fmt::Write as _;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use calamine::{Data, DataRef, Dimensions, ExcelDateTime, Ods, Reader, SheetType, Xls, Xlsx, open_workbook};
use tapwater_types::TransformEntry;

use super::{GridSource, OpenOptions, Row, TableInfo};
use crate::{IngestError, MalformedKind, Sniffed, SourceFormat};

/// Largest workbook file read. calamine holds an XLS or ODS workbook in memory whole, and XLSX shared strings too;
/// 512 MiB of spreadsheet is far beyond what agencies publish as one table (the largest real file seen is < 10 MiB).
pub(crate) const MAX_WORKBOOK_BYTES: u64 = 512 << 20;
/// Most non-empty cells of one sheet (or HTML table) held in memory: about 24 bytes each plus their text, so 20 M
/// cells are ~0.5 GiB plus text. A sheet this large should be published as CSV, which is streamed.
pub(crate) const MAX_SHEET_CELLS: usize = 20_000_000;
/// How many cell references a log entry lists.
const LOG_EXAMPLES: usize = 5;

type FileReader = BufReader<File>;

// ---------------------------------------------------------------------------------------------------------------
// The grid: non-empty cells as text, shared by the spreadsheet and HTML readers.

/// One non-empty cell: its sheet position (0-based) and its text in [`TextGrid::text`].
#[derive(Debug, Clone, Copy)]
struct GridCell {
    row: u32,
    col: u32,
    start: usize,
    end: usize,
}

/// The non-empty cells of a sheet or table, their text in one buffer. Sparse, so a sheet with a cell in A1 and one
/// in XFD1048576 costs two cells, not 17 billion.
#[derive(Debug, Default)]
pub(crate) struct TextGrid {
    text: String,
    cells: Vec<GridCell>,
    sorted: bool,
    /// Error cells read as empty (`#N/A` …).
    errors: Option<TransformEntry>,
    error_refs: Vec<String>,
}

impl TextGrid {
    /// Adds the cell at `(row, col)` (0-based) holding `text`; an empty text is an empty cell and is not stored.
    /// Returns where the text is, for cells that repeat it ([`TextGrid::push_span`]).
    pub(crate) fn push(&mut self, row: u32, col: u32, text: &str) -> Result<Option<(usize, usize)>, IngestError> {
        let start = self.text.len();
        self.text.push_str(text);
        self.commit(row, col, start)?;
        Ok((self.text.len() > start).then_some((start, self.text.len())))
    }

    /// Repeats the text of a cell already stored (a span from [`TextGrid::push`]) at another position: merged and
    /// spanned cells share their bytes.
    pub(crate) fn push_span(&mut self, row: u32, col: u32, span: (usize, usize)) -> Result<(), IngestError> {
        if span.0 == span.1 {
            return Ok(());
        }
        self.cells.push(GridCell { row, col, start: span.0, end: span.1 });
        self.sorted = false;
        self.check_size(row)
    }

    /// Stores the text written to [`TextGrid::text`] since `start` as the cell at `(row, col)`.
    fn commit(&mut self, row: u32, col: u32, start: usize) -> Result<(), IngestError> {
        if self.text.len() == start {
            return Ok(());
        }
        self.cells.push(GridCell { row, col, start, end: self.text.len() });
        self.sorted = false;
        self.check_size(row)
    }

    fn check_size(&self, row: u32) -> Result<(), IngestError> {
        if self.cells.len() > MAX_SHEET_CELLS {
            return Err(too_many_cells(row));
        }
        Ok(())
    }

    /// Adds a spreadsheet cell, as the text a person sees (see the module doc).
    fn push_data(&mut self, row: u32, col: u32, value: &Data) -> Result<(), IngestError> {
        let start = self.text.len();
        match value {
            Data::Empty => return Ok(()),
            Data::String(s) | Data::DateTimeIso(s) => self.text.push_str(s),
            Data::Int(i) => {
                let _ = write!(self.text, "{i}");
            }
            Data::Float(f) => push_number(&mut self.text, *f),
            Data::Bool(b) => self.text.push_str(if *b { "true" } else { "false" }),
            Data::DateTime(dt) => push_datetime(&mut self.text, dt),
            Data::DurationIso(s) => push_iso_duration(&mut self.text, s),
            Data::Error(e) => {
                self.record_error(row, col, &e.to_string());
                return Ok(());
            }
        }
        self.commit(row, col, start)
    }

    /// [`TextGrid::push_data`] for calamine's borrowed cells (XLSX streaming), without copying shared strings twice.
    fn push_data_ref(&mut self, row: u32, col: u32, value: DataRef<'_>) -> Result<(), IngestError> {
        match value {
            DataRef::SharedString(s) => self.push(row, col, s).map(drop),
            DataRef::String(s) => self.push(row, col, &s).map(drop),
            other => self.push_data(row, col, &Data::from(other)),
        }
    }

    fn record_error(&mut self, row: u32, col: u32, shown: &str) {
        let entry =
            self.errors.get_or_insert_with(|| TransformEntry { rule: "cell_error".into(), ..Default::default() });
        entry.record(Some(u64::from(row) + 1), shown, None);
        if self.error_refs.len() < LOG_EXAMPLES {
            self.error_refs.push(format!("{shown} at {}", cell_ref(row, col)));
        }
    }

    /// Fills every cell covered by a merged range with the range's value (the top-left cell's). Returns the
    /// `merged_cells` log entry when something was filled. Ranges are clipped to the used part of the sheet: a
    /// formatting merge over empty columns fills nothing.
    fn fill_merged(&mut self, regions: &[Dimensions]) -> Result<Option<TransformEntry>, IngestError> {
        if regions.is_empty() || self.cells.is_empty() {
            return Ok(None);
        }
        self.sort();
        let (Some(first), Some(last)) = (self.cells.first(), self.cells.last()) else { return Ok(None) };
        let (min_row, max_row) = (first.row, last.row);
        let max_col = self.cells.iter().map(|c| c.col).max().unwrap_or(0);
        let mut added = Vec::new();
        let mut ranges = Vec::new();
        let mut count_ranges = 0u64;
        for region in regions {
            let (r0, c0) = region.start;
            let Some((start, end)) = self.span_at(r0, c0) else { continue }; // an empty merged range fills nothing
            let r1 = region.end.0.min(max_row);
            let c1 = region.end.1.min(max_col);
            let before = added.len();
            for row in r0.max(min_row)..=r1 {
                for col in c0..=c1 {
                    if (row, col) != (r0, c0) && self.span_at(row, col).is_none() {
                        added.push(GridCell { row, col, start, end });
                        if self.cells.len() + added.len() > MAX_SHEET_CELLS {
                            return Err(too_many_cells(row));
                        }
                    }
                }
            }
            if added.len() > before {
                count_ranges += 1;
                if ranges.len() < LOG_EXAMPLES {
                    ranges.push(format!("{}:{}", cell_ref(r0, c0), cell_ref(region.end.0, region.end.1)));
                }
            }
        }
        let filled = added.len() as u64;
        self.cells.extend(added);
        self.sorted = false;
        self.sort();
        if filled == 0 {
            return Ok(None);
        }
        let more = if count_ranges as usize > ranges.len() { ", …" } else { "" };
        Ok(Some(TransformEntry {
            rule: "merged_cells".into(),
            count: filled,
            detail: Some(format!(
                "{count_ranges} merged ranges ({}{more}): each covered cell repeats the range's value",
                ranges.join(", ")
            )),
            ..Default::default()
        }))
    }

    /// The text span of the cell at `(row, col)`, if it holds something. The grid must be sorted.
    fn span_at(&self, row: u32, col: u32) -> Option<(usize, usize)> {
        let i = self.cells.binary_search_by_key(&(row, col), |c| (c.row, c.col)).ok()?;
        Some((self.cells[i].start, self.cells[i].end))
    }

    /// Orders cells by row then column (XLSX and XLS give them in order already; merges and spans add some after).
    fn sort(&mut self) {
        if !self.sorted {
            // Stable: of two cells at one position (a damaged file), the later one wins below.
            self.cells.sort_by_key(|c| (c.row, c.col));
            self.sorted = true;
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Rows from the first used to the last used, as [`LoadedGrid`] yields them.
    pub(crate) fn rows(&mut self) -> u64 {
        self.sort();
        match (self.cells.first(), self.cells.last()) {
            (Some(first), Some(last)) => u64::from(last.row - first.row) + 1,
            _ => 0,
        }
    }

    /// The `cell_error` log entry, if error cells were read.
    fn take_error_log(&mut self) -> Option<TransformEntry> {
        let mut entry = self.errors.take()?;
        let more = if entry.count as usize > self.error_refs.len() { ", …" } else { "" };
        entry.detail = Some(format!("error cells read as empty: {}{more}", self.error_refs.join(", ")));
        Some(entry)
    }
}

/// A loaded grid handed out row by row.
pub(crate) struct LoadedGrid {
    grid: TextGrid,
    /// The next row to yield, and the index of its first cell.
    next: u32,
    cursor: usize,
    last: u32,
    first_col: u32,
    spans: Vec<(usize, usize)>,
    max_columns: usize,
    file_bytes: u64,
    log: Vec<TransformEntry>,
}

impl LoadedGrid {
    pub(crate) fn new(mut grid: TextGrid, file_bytes: u64, log: Vec<TransformEntry>, max_columns: usize) -> Self {
        grid.sort();
        let next = grid.cells.first().map_or(1, |c| c.row);
        let last = grid.cells.last().map_or(0, |c| c.row);
        let first_col = grid.cells.iter().map(|c| c.col).min().unwrap_or(0);
        LoadedGrid { grid, next, cursor: 0, last, first_col, spans: Vec::new(), max_columns, file_bytes, log }
    }
}

impl GridSource for LoadedGrid {
    fn next_row(&mut self) -> Result<Option<Row<'_>>, IngestError> {
        if self.grid.cells.is_empty() || self.next > self.last {
            return Ok(None);
        }
        let row = self.next;
        self.next += 1;
        self.spans.clear();
        while let Some(cell) = self.grid.cells.get(self.cursor)
            && cell.row == row
        {
            let col = (cell.col - self.first_col) as usize;
            if col >= self.max_columns {
                return Err(IngestError::TooManyColumns { count: col + 1, max: self.max_columns });
            }
            if self.spans.len() <= col {
                self.spans.resize(col + 1, (0, 0));
            }
            self.spans[col] = (cell.start, cell.end);
            self.cursor += 1;
        }
        let width = self.spans.len();
        Ok(Some(Row::new(self.grid.text.as_bytes(), &self.spans, u64::from(row) + 1, width)))
    }

    fn bytes_read(&self) -> u64 {
        // The file was read whole when the grid was loaded.
        self.file_bytes
    }

    fn take_log(&mut self) -> Vec<TransformEntry> {
        std::mem::take(&mut self.log)
    }
}

fn too_many_cells(row: u32) -> IngestError {
    IngestError::malformed(
        u64::from(row) + 1,
        None,
        MalformedKind::TooLarge,
        format!(
            "the sheet holds more than {MAX_SHEET_CELLS} non-empty cells, the most tapwater reads from a spreadsheet \
             or HTML table; publish it as CSV, which has no such limit"
        ),
    )
}

// ---------------------------------------------------------------------------------------------------------------
// Cell text.

/// A number as Excel shows it in the General format, to its 15 significant digits (see the module doc).
fn push_number(out: &mut String, value: f64) {
    if !value.is_finite() {
        return; // no spreadsheet stores NaN or infinity in a cell; read as empty rather than as "NaN"
    }
    // Rounding through the shortest decimal of 15 significant digits: `{:.14e}` gives exactly that.
    let rounded: f64 = format!("{value:.14e}").parse().unwrap_or(value);
    if rounded.fract() == 0.0 && rounded.abs() < 9.0e15 {
        let _ = write!(out, "{}", rounded as i64);
    } else {
        // `Display` for f64 is the shortest text that reads back as the same value, never in exponent form.
        let _ = write!(out, "{rounded}");
    }
}

/// A date/time cell as ISO 8601: the date alone at midnight, the time alone below one day.
fn push_datetime(out: &mut String, dt: &ExcelDateTime) {
    let value = dt.as_f64();
    if dt.is_duration() {
        push_clock(out, (value * 86_400.0).round() as i64);
        return;
    }
    // Excel's calendar runs from serial 0 to 9999-12-31 (2,958,465); outside it, the cell is just a number.
    if !(0.0..2_958_466.0).contains(&value) {
        push_number(out, value);
        return;
    }
    let (year, month, day, ..) = dt.to_ymd_hms_milli();
    // The time of day from the fraction, rounded to the millisecond (calamine's own split can give `08:29:59.1000`
    // for 08:30, a float artefact); a time that rounds up to midnight stays in its day as 23:59:59.999.
    let millis = (((value - value.floor()) * 86_400_000.0).round() as u64).min(86_399_999);
    let (hour, minute, second, milli) = (millis / 3_600_000, millis / 60_000 % 60, millis / 1000 % 60, millis % 1000);
    let has_time = millis != 0;
    if value >= 1.0 {
        let _ = write!(out, "{year:04}-{month:02}-{day:02}");
        if !has_time {
            return;
        }
        out.push('T');
    }
    let _ = write!(out, "{hour:02}:{minute:02}:{second:02}");
    if milli != 0 {
        let _ = write!(out, ".{milli:03}");
    }
}

/// Seconds as `HH:MM:SS` (hours may pass 24: a duration).
fn push_clock(out: &mut String, seconds: i64) {
    let sign = if seconds < 0 { "-" } else { "" };
    let s = seconds.unsigned_abs();
    let _ = write!(out, "{sign}{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
}

/// ODS keeps time cells as ISO durations (`PT08H30M00S`): shown as `08:30:00`; anything else as it is.
fn push_iso_duration(out: &mut String, text: &str) {
    let parsed = (|| {
        let rest = text.strip_prefix("PT")?;
        let (h, rest) = rest.split_once('H')?;
        let (m, rest) = rest.split_once('M')?;
        let s = rest.strip_suffix('S')?;
        let seconds: f64 = s.parse().ok()?;
        Some(h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60 + seconds.round() as i64)
    })();
    match parsed {
        Some(seconds) => push_clock(out, seconds),
        None => out.push_str(text),
    }
}

/// `A1`-style reference of a 0-based cell position.
fn cell_ref(row: u32, col: u32) -> String {
    let mut letters = Vec::new();
    let mut n = col + 1;
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    format!("{}{}", String::from_utf8_lossy(&letters), u64::from(row) + 1)
}

// ---------------------------------------------------------------------------------------------------------------
// Workbooks.

enum Workbook {
    Xlsx(Xlsx<FileReader>),
    Xls(Xls<FileReader>),
    Ods(Ods<FileReader>),
}

/// A sheet of a workbook: its name and whether it is a worksheet (not a chart, macro or dialog sheet).
struct SheetEntry {
    name: String,
    worksheet: bool,
}

impl Workbook {
    fn open(path: &Path, format: SourceFormat) -> Result<Self, IngestError> {
        let size = std::fs::metadata(path)?.len();
        if size > MAX_WORKBOOK_BYTES {
            return Err(IngestError::malformed(
                0,
                None,
                MalformedKind::TooLarge,
                format!(
                    "the workbook is {} MiB, more than the {} MiB tapwater reads as a spreadsheet; publish it as CSV",
                    size >> 20,
                    MAX_WORKBOOK_BYTES >> 20
                ),
            ));
        }
        match format {
            SourceFormat::Xlsx => open_workbook::<Xlsx<_>, _>(path)
                .map(Workbook::Xlsx)
                .map_err(|e| damaged("XLSX", &e, matches!(e, calamine::XlsxError::Password))),
            SourceFormat::Xls => open_workbook::<Xls<_>, _>(path)
                .map(Workbook::Xls)
                .map_err(|e| damaged("XLS", &e, matches!(e, calamine::XlsError::Password))),
            SourceFormat::Ods => open_workbook::<Ods<_>, _>(path)
                .map(Workbook::Ods)
                .map_err(|e| damaged("ODS", &e, matches!(e, calamine::OdsError::Password))),
            other => Err(IngestError::UnsupportedFormat {
                detected: format!("{other:?}").to_lowercase(),
                message: "not a spreadsheet".into(),
            }),
        }
    }

    fn sheets(&self) -> Vec<SheetEntry> {
        let metadata = match self {
            Workbook::Xlsx(wb) => wb.sheets_metadata(),
            Workbook::Xls(wb) => wb.sheets_metadata(),
            Workbook::Ods(wb) => wb.sheets_metadata(),
        };
        metadata.iter().map(|s| SheetEntry { name: s.name.clone(), worksheet: s.typ == SheetType::WorkSheet }).collect()
    }

    /// Loads one sheet's cells as text, merged ranges filled. Returns the grid and what was logged.
    fn load(&mut self, name: &str) -> Result<(TextGrid, Vec<TransformEntry>), IngestError> {
        let mut grid = TextGrid::default();
        let merges = match self {
            Workbook::Xlsx(wb) => {
                // Streamed cell by cell: the sheet never exists as calamine's dense `Range` (a damaged or hostile
                // file with one cell in A1 and one in XFD1048576 would make that 17 billion cells).
                let mut reader = wb.worksheet_cells_reader(name).map_err(|e| sheet_damaged(name, 0, &e))?;
                loop {
                    let row = grid.cells.last().map_or(0, |c| c.row);
                    match reader.next_cell() {
                        Ok(Some(cell)) => {
                            let (r, c) = cell.get_position();
                            grid.push_data_ref(r, c, cell.get_value().clone())?;
                        }
                        Ok(None) => break,
                        Err(e) => return Err(sheet_damaged(name, row + 1, &e)),
                    }
                }
                drop(reader);
                match wb.worksheet_merge_cells(name) {
                    Some(Ok(merges)) => merges,
                    // Merge information is an extra: a sheet whose merge list is unreadable is still read.
                    _ => Vec::new(),
                }
            }
            Workbook::Xls(wb) => {
                let range = wb.worksheet_range(name).map_err(|e| sheet_damaged(name, 0, &e))?;
                push_range(&mut grid, &range)?;
                wb.worksheet_merge_cells(name).unwrap_or_default()
            }
            Workbook::Ods(wb) => {
                let range = wb.worksheet_range(name).map_err(|e| sheet_damaged(name, 0, &e))?;
                push_range(&mut grid, &range)?;
                Vec::new() // calamine does not report ODS merges (see the module doc)
            }
        };
        let mut log = Vec::new();
        if let Some(entry) = grid.fill_merged(&merges)? {
            log.push(entry);
        }
        if let Some(entry) = grid.take_error_log() {
            log.push(entry);
        }
        grid.sort();
        Ok((grid, log))
    }

    /// Whether a sheet holds at least one non-empty cell (a sheet that cannot be read holds none, for this).
    fn has_data(&mut self, name: &str) -> bool {
        match self {
            Workbook::Xlsx(wb) => {
                let Ok(mut reader) = wb.worksheet_cells_reader(name) else { return false };
                while let Ok(Some(cell)) = reader.next_cell() {
                    match cell.get_value() {
                        DataRef::Empty | DataRef::Error(_) => {}
                        DataRef::SharedString("") => {}
                        DataRef::String(s) if s.is_empty() => {}
                        _ => return true,
                    }
                }
                false
            }
            Workbook::Xls(_) | Workbook::Ods(_) => self.load(name).is_ok_and(|(grid, _)| !grid.is_empty()),
        }
    }
}

fn push_range(grid: &mut TextGrid, range: &calamine::Range<Data>) -> Result<(), IngestError> {
    let (row0, col0) = range.start().unwrap_or((0, 0));
    for (r, c, value) in range.used_cells() {
        grid.push_data(row0 + r as u32, col0 + c as u32, value)?;
    }
    Ok(())
}

fn damaged(kind: &str, error: &dyn std::fmt::Display, password: bool) -> IngestError {
    let message = if password {
        format!("the {kind} workbook is password-protected; save it without a password and publish it again")
    } else {
        format!("the {kind} workbook cannot be opened: it is damaged or truncated ({error})")
    };
    IngestError::malformed(0, None, MalformedKind::Damaged { password }, message)
}

fn sheet_damaged(sheet: &str, row: u32, error: &dyn std::fmt::Display) -> IngestError {
    IngestError::malformed(
        u64::from(row),
        None,
        MalformedKind::Damaged { password: false },
        format!("sheet \"{sheet}\" cannot be read: it is damaged or truncated ({error})"),
    )
}

/// The index of the table `requested` (`name`, or `#N` 1-based) among `names`.
pub(crate) fn find_table(requested: &str, names: &[String]) -> Result<usize, IngestError> {
    let not_found = || IngestError::TableNotFound { requested: requested.to_string(), available: names.to_vec() };
    if let Some(n) = requested.strip_prefix('#').and_then(|n| n.trim().parse::<usize>().ok()) {
        return if (1..=names.len()).contains(&n) { Ok(n - 1) } else { Err(not_found()) };
    }
    names
        .iter()
        .position(|n| n == requested)
        // Sheet names picked by hand often lose or gain a space (`工作表1 `).
        .or_else(|| names.iter().position(|n| n.trim() == requested.trim()))
        .ok_or_else(not_found)
}

/// Whether a sheet's name says it is an example, a template or instructions rather than the data (Taiwanese
/// agency workbooks often carry a `範例` or `填表說明` sheet beside the real one).
fn is_example_sheet(name: &str) -> bool {
    const MARKERS: [&str; 8] = ["範例", "範本", "說明", "example", "sample", "template", "instruction", "readme"];
    let lower = name.to_lowercase();
    MARKERS.iter().any(|m| lower.contains(m))
}

/// Runs calamine on a file: calamine indexes into damaged files without checking (a truncated XLS panics in its
/// compound-file reader, `cfb.rs`), so a panic in it is caught and reported as a damaged workbook rather than taking
/// the process down.
fn guarded<T>(kind: SourceFormat, read: impl FnOnce() -> Result<T, IngestError>) -> Result<T, IngestError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or_else(|_| {
        let kind = format!("{kind:?}").to_uppercase();
        Err(damaged(&kind, &"the spreadsheet reader stopped on it", false))
    })
}

/// Opens the sheet chosen by `options.table` (or the first holding data) of a workbook.
pub(crate) fn open(path: &Path, sniffed: &Sniffed, options: &OpenOptions<'_>) -> Result<LoadedGrid, IngestError> {
    guarded(sniffed.format, || open_sheet(path, sniffed, options))
}

fn open_sheet(path: &Path, sniffed: &Sniffed, options: &OpenOptions<'_>) -> Result<LoadedGrid, IngestError> {
    let mut workbook = Workbook::open(path, sniffed.format)?;
    let sheets = workbook.sheets();
    let names: Vec<String> = sheets.iter().map(|s| s.name.clone()).collect();
    let (grid, log) = match options.table {
        Some(requested) => {
            let index = find_table(requested, &names)?;
            workbook.load(&names[index])?
        }
        None => {
            let mut chosen = None;
            let mut others = Vec::new();
            // Example and instruction sheets come last: a template's `範例` sheet is often first and holds data.
            let mut order: Vec<usize> = (0..sheets.len()).filter(|&i| sheets[i].worksheet).collect();
            order.sort_by_key(|&i| is_example_sheet(&sheets[i].name));
            for (i, sheet) in order.into_iter().map(|i| (i, &sheets[i])) {
                if chosen.is_none() {
                    let (grid, log) = workbook.load(&sheet.name)?;
                    if !grid.is_empty() {
                        chosen = Some((i, grid, log));
                    }
                } else if workbook.has_data(&sheet.name) {
                    others.push(format!("「{}」 (#{})", sheet.name, i + 1));
                }
            }
            let Some((index, grid, mut log)) = chosen else { return Err(IngestError::Empty) };
            if !others.is_empty() {
                log.insert(
                    0,
                    TransformEntry {
                        rule: "table_choice".into(),
                        count: others.len() as u64 + 1,
                        detail: Some(format!(
                            "read sheet 「{}」 (#{}), the first holding data (example and instruction sheets last); these sheets hold data too: {} — the \
                             pipeline's `table` picks another",
                            names[index],
                            index + 1,
                            others.join(", ")
                        )),
                        ..Default::default()
                    },
                );
            }
            (grid, log)
        }
    };
    drop(workbook);
    let bytes = std::fs::metadata(path)?.len();
    Ok(LoadedGrid::new(grid, bytes, log, options.max_columns))
}

/// Every sheet of a workbook, with its row count (worksheets only; other sheets have none).
pub(crate) fn list_tables(path: &Path, sniffed: &Sniffed) -> Result<Vec<TableInfo>, IngestError> {
    guarded(sniffed.format, || list_sheets(path, sniffed))
}

fn list_sheets(path: &Path, sniffed: &Sniffed) -> Result<Vec<TableInfo>, IngestError> {
    let mut workbook = Workbook::open(path, sniffed.format)?;
    let sheets = workbook.sheets();
    let mut tables = Vec::with_capacity(sheets.len());
    for (i, sheet) in sheets.iter().enumerate() {
        let rows = if sheet.worksheet { Some(workbook.load(&sheet.name)?.0.rows()) } else { None };
        tables.push(TableInfo { id: format!("#{}", i + 1), name: sheet.name.clone(), kind: "sheet", rows });
    }
    Ok(tables)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use calamine::ExcelDateTimeType;

    use super::*;
    use crate::TextEncoding;

    pub(crate) fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
    }

    pub(crate) fn sniffed(format: SourceFormat, name: &'static str) -> Sniffed {
        Sniffed {
            format,
            format_name: name,
            media_type: "application/octet-stream",
            encoding: "",
            text_encoding: TextEncoding::Utf8,
            confidence: 100,
        }
    }

    pub(crate) fn options<'a>(table: Option<&'a str>, eudc: &'a BTreeMap<String, String>) -> OpenOptions<'a> {
        OpenOptions { check_utf8: true, known_columns: None, max_columns: 2_000, table, eudc }
    }

    /// Every row of a grid as `(line, cells)`, an empty cell as `""`.
    pub(crate) fn collect(grid: &mut dyn GridSource) -> Vec<(u64, Vec<String>)> {
        let mut rows = Vec::new();
        while let Some(row) = grid.next_row().expect("row") {
            let cells = (0..row.len()).map(|i| row.text(i).unwrap_or_default().to_string()).collect();
            rows.push((row.line(), cells));
        }
        rows
    }

    fn read(name: &str, format: SourceFormat, table: Option<&str>) -> (Vec<(u64, Vec<String>)>, Vec<TransformEntry>) {
        let eudc = BTreeMap::new();
        let mut grid = open(&fixture(name), &sniffed(format, "sheet"), &options(table, &eudc)).expect("open");
        let rows = collect(&mut grid);
        (rows, grid.take_log())
    }

    fn text(f: impl FnOnce(&mut String)) -> String {
        let mut s = String::new();
        f(&mut s);
        s
    }

    #[test]
    fn numbers_read_as_excel_shows_them() {
        assert_eq!(text(|s| push_number(s, 1.0)), "1");
        assert_eq!(text(|s| push_number(s, 1040604.0)), "1040604");
        assert_eq!(text(|s| push_number(s, -3.0)), "-3");
        assert_eq!(text(|s| push_number(s, 14.9)), "14.9");
        assert_eq!(text(|s| push_number(s, 0.1 + 0.2)), "0.3");
        assert_eq!(text(|s| push_number(s, 1.0 / 3.0)), "0.333333333333333");
        assert_eq!(text(|s| push_number(s, 0.000_001_5)), "0.0000015");
        assert_eq!(text(|s| push_number(s, 1e20)), "100000000000000000000");
        assert_eq!(text(|s| push_number(s, f64::NAN)), "");
    }

    #[test]
    fn date_cells_read_as_iso() {
        let dt = |v| text(|s| push_datetime(s, &ExcelDateTime::new(v, ExcelDateTimeType::DateTime, false)));
        assert_eq!(dt(42186.0), "2015-07-01");
        assert_eq!(dt(42186.0 + 8.5 / 24.0), "2015-07-01T08:30:00");
        assert_eq!(dt(8.5 / 24.0), "08:30:00");
        assert_eq!(dt(42186.0 + 0.5 / 86_400.0), "2015-07-01T00:00:00.500");
        assert_eq!(dt(42186.0 - 0.000_000_001), "2015-06-30T23:59:59.999");
        let duration = text(|s| push_datetime(s, &ExcelDateTime::new(1.5, ExcelDateTimeType::TimeDelta, false)));
        assert_eq!(duration, "36:00:00");
        assert_eq!(text(|s| push_iso_duration(s, "PT08H30M00S")), "08:30:00");
        assert_eq!(text(|s| push_iso_duration(s, "P1D")), "P1D");
    }

    #[test]
    fn error_cells_are_empty_and_logged() {
        let mut grid = TextGrid::default();
        grid.push_data(0, 0, &Data::String("a".into())).unwrap();
        grid.push_data(0, 1, &Data::Error(calamine::CellErrorType::NA)).unwrap();
        grid.push_data(4, 2, &Data::Error(calamine::CellErrorType::Div0)).unwrap();
        grid.push_data(4, 3, &Data::Bool(true)).unwrap();
        let entry = grid.take_error_log().unwrap();
        assert_eq!(entry.rule, "cell_error");
        assert_eq!(entry.count, 2);
        assert_eq!(entry.detail.as_deref(), Some("error cells read as empty: #N/A at B1, #DIV/0! at C5"));
        let mut rows = LoadedGrid::new(grid, 0, Vec::new(), 10);
        assert_eq!(
            collect(&mut rows),
            [
                (1, vec!["a".to_string()]),
                (2, vec![]),
                (3, vec![]),
                (4, vec![]),
                (5, vec!["".into(), "".into(), "".into(), "true".into()])
            ]
        );
    }

    #[test]
    fn merged_ranges_are_filled_and_clipped() {
        let mut grid = TextGrid::default();
        grid.push(0, 0, "title").unwrap();
        grid.push(1, 0, "a").unwrap();
        grid.push(1, 1, "b").unwrap();
        grid.push(2, 1, "c").unwrap();
        // A1:XFD1 (a title merged over the whole width) and A2:A3; an empty range C5:D6 fills nothing.
        let regions =
            [Dimensions::new((0, 0), (0, 16_383)), Dimensions::new((1, 0), (2, 0)), Dimensions::new((4, 2), (5, 3))];
        let entry = grid.fill_merged(&regions).unwrap().unwrap();
        assert_eq!(entry.count, 2);
        assert_eq!(
            entry.detail.as_deref(),
            Some("2 merged ranges (A1:XFD1, A2:A3): each covered cell repeats the range's value")
        );
        let mut rows = LoadedGrid::new(grid, 0, Vec::new(), 10);
        let rows = collect(&mut rows);
        assert_eq!(rows[0].1, ["title", "title"]);
        assert_eq!(rows[2].1, ["a", "c"]);
    }

    #[test]
    fn cell_references() {
        assert_eq!(cell_ref(0, 0), "A1");
        assert_eq!(cell_ref(9, 25), "Z10");
        assert_eq!(cell_ref(0, 26), "AA1");
        assert_eq!(cell_ref(1_048_575, 16_383), "XFD1048576");
    }

    #[test]
    fn tables_by_name_or_number() {
        let names = ["工作表1".to_string(), "範例".to_string()];
        assert_eq!(find_table("#2", &names).unwrap(), 1);
        assert_eq!(find_table("範例", &names).unwrap(), 1);
        assert_eq!(find_table(" 工作表1", &names).unwrap(), 0);
        assert!(matches!(find_table("#3", &names), Err(IngestError::TableNotFound { .. })));
        let Err(IngestError::TableNotFound { available, .. }) = find_table("Sheet9", &names) else { panic!() };
        assert_eq!(available, names);
    }

    fn cells(rows: &[(u64, Vec<String>)], line: u64) -> Vec<&str> {
        let (_, cells) = rows.iter().find(|(l, _)| *l == line).expect("line");
        cells.iter().map(String::as_str).collect()
    }

    #[test]
    fn real_labor_violations_xlsx_merged_cells_and_roc_integers() {
        let (rows, log) = read("tainan_labor_violations_roc104-07.xlsx", SourceFormat::Xlsx, None);
        assert_eq!(rows.len(), 8);
        assert_eq!(cells(&rows, 1), ["104年7月違反勞動基準法而依第80-1條公布之相關資料"]);
        assert_eq!(cells(&rows, 2)[1], "事業單位名稱\n（負責人姓名）", "newlines in cells are kept");
        // A3:A4, B3:B4, E3:E4, F3:F4 are merged: row 4 repeats the employer of row 3.
        assert_eq!(
            cells(&rows, 3),
            [
                "1",
                "蔡丞恩（即中正冷飲店）",
                "勞動基準法第23條第2項",
                "未依規定置備勞工工資清冊。",
                "府勞條字 第1040542176號",
                "1040604"
            ]
        );
        assert_eq!(
            cells(&rows, 4),
            [
                "1",
                "蔡丞恩（即中正冷飲店）",
                "勞動基準法第30條第5項",
                "未依規定置備勞工出勤紀錄表。",
                "府勞條字 第1040542176號",
                "1040604"
            ]
        );
        assert_eq!(cells(&rows, 8)[5], "1040629", "a 7-digit ROC date typed as a number stays as written");
        assert_eq!(log.len(), 1);
        assert_eq!((log[0].rule.as_str(), log[0].count), ("merged_cells", 4));
        assert!(log[0].detail.as_deref().unwrap().starts_with("4 merged ranges (A3:A4, B3:B4, E3:E4, F3:F4)"));
    }

    #[test]
    fn real_labor_violations_xls_skips_the_example_sheet() {
        let name = "tainan_labor_violations_roc103-07-08.xls";
        let tables = list_tables(&fixture(name), &sniffed(SourceFormat::Xls, "xls")).unwrap();
        let names: Vec<_> = tables.iter().map(|t| (t.id.as_str(), t.name.as_str(), t.kind, t.rows)).collect();
        assert_eq!(
            names,
            [
                ("#1", "範例", "sheet", Some(28)),
                ("#2", "103.01-02", "sheet", Some(25)),
                ("#3", "103.03-04", "sheet", Some(22)),
                ("#4", "103.05-06", "sheet", Some(17))
            ]
        );
        let (rows, log) = read(name, SourceFormat::Xls, None);
        assert_eq!(rows.len(), 25);
        assert_eq!(cells(&rows, 4)[..3], ["1", "信宇科技股份有限公司", "勞動基準法第24條"]);
        assert_eq!(cells(&rows, 4)[5], "103/01/09");
        assert_eq!(log[0].rule, "table_choice");
        let detail = log[0].detail.as_deref().unwrap();
        assert!(detail.starts_with("read sheet 「103.01-02」 (#2)"), "{detail}");
        assert!(detail.contains("「範例」 (#1)"), "{detail}");
        // Two-row header: 違反 / 法令條款 in C2 and C3; F2:F3 is merged.
        assert_eq!(cells(&rows, 2)[2], "違反");
        assert_eq!(cells(&rows, 3)[2], "法令條款");
        assert_eq!(cells(&rows, 3)[5], "處分日期");

        // Chosen by name or number, the example sheet is read like any other.
        let (rows, log) = read(name, SourceFormat::Xls, Some("範例"));
        assert_eq!(rows.len(), 28);
        assert_eq!(cells(&rows, 4)[5], "102年9月5日");
        assert!(log.iter().all(|e| e.rule != "table_choice"));
        let (rows, _) = read(name, SourceFormat::Xls, Some("#4"));
        assert_eq!(rows.len(), 17);
        let eudc = BTreeMap::new();
        let err = open(&fixture(name), &sniffed(SourceFormat::Xls, "xls"), &options(Some("103.07-08"), &eudc));
        let Err(IngestError::TableNotFound { requested, available }) = err else { panic!("expected TableNotFound") };
        assert_eq!(requested, "103.07-08");
        assert_eq!(available, ["範例", "103.01-02", "103.03-04", "103.05-06"]);
    }

    #[test]
    fn real_labor_violations_full_year_xls() {
        let (rows, log) = read("tainan_labor_violations_roc105_full_year.xls", SourceFormat::Xls, None);
        assert_eq!(rows.len(), 1295);
        assert_eq!(cells(&rows, 3)[5], "104/11/30", "text dates stay text");
        assert_eq!(cells(&rows, 1295)[..2], ["1293", "崇學聖保羅企業有限公司(蘇勁威)"]);
        assert_eq!(cells(&rows, 1295)[5], "1051123", "1051123.0 reads as a person sees it");
        assert_eq!(
            cells(&rows, 4)[3],
            "\n正常工作時間超過法令規定。                             \n延長工作時間超過法令規定。\n\n"
        );
        assert_eq!(log[0].rule, "table_choice");
        assert!(log[0].detail.as_deref().unwrap().contains("「專案檢查」 (#2)"));
    }

    #[test]
    fn real_labor_violations_roc106_xls_keeps_no_break_spaces() {
        let (rows, _) = read("tainan_labor_violations_roc106-11.xls", SourceFormat::Xls, None);
        assert_eq!(rows.len(), 46);
        assert_eq!(cells(&rows, 3)[1], "沈沛瑄 (即阿安牛肉湯店)\u{a0}");
        assert_eq!(cells(&rows, 3)[5], "1061018");
        assert_eq!(cells(&rows, 46)[4], "府勞條字第\n1061011542號");
    }

    #[test]
    fn real_water_stations_xls() {
        let (rows, log) = read("twc_tainan_temporary_water_stations_roc105-02-09.xls", SourceFormat::Xls, None);
        assert_eq!(rows.len(), 99);
        assert_eq!(rows.last().unwrap().0, 99);
        assert_eq!(cells(&rows, 1)[0], "第六區管理處臨時供水站清冊");
        assert_eq!(cells(&rows, 2)[7], "105.02.09   19:20");
        assert_eq!(cells(&rows, 3)[5..7], ["儲水桶", "儲水桶"]);
        assert_eq!(cells(&rows, 4)[5..7], ["噸數", "數量"]);
        assert_eq!(
            cells(&rows, 5),
            [
                "1",
                "台南所",
                "中西區",
                "中西區公所",
                "台南市中西區開山路1號-中西區公所",
                "1",
                "1",
                "楊股長",
                "06-2370021"
            ]
        );
        // 所別 is merged down its group (B57:B75 …): every row names its office.
        assert_eq!(cells(&rows, 99)[..3], ["95", "歸仁所", "仁德區"]);
        assert!(rows.iter().skip(4).all(|(_, c)| c.get(1).is_some_and(|office| office.ends_with('所'))));
        assert_eq!(log[0].rule, "merged_cells");
    }

    #[test]
    fn real_dengue_by_district_xls() {
        let (rows, log) = read("tainan_dengue_cases_by_district_roc1040822.xls", SourceFormat::Xls, None);
        assert_eq!(rows.len(), 35);
        assert_eq!(cells(&rows, 1), ["統計日期：104/1/1起(研判日)"]);
        assert_eq!(cells(&rows, 2), ["區別\n", "104年\n全年個案數", "104年\n入夏個案數", "已解除區別"]);
        // The empty first column of the sheet is not a column; E2:E3 is merged.
        assert_eq!(cells(&rows, 3), ["總計", "1668", "1666", "已解除區別"]);
        assert_eq!(cells(&rows, 4), ["關廟區", "2", "1", "◎"]);
        assert_eq!(cells(&rows, 6), ["北區", "833", "833"]);
        assert!(cells(&rows, 35)[0].starts_with("入夏截至0822尚有病例區域：共25 區\n東區、"));
        assert_eq!(log[0].count, 4);
    }

    #[test]
    fn real_referendum_areas_xls_named_ods() {
        // The bytes are XLS (the sniffer says so); the name says .ods.
        let (rows, log) = read("cec_2022_referendum_rfarea_really_xls.ods", SourceFormat::Xls, None);
        assert_eq!(rows.len(), 8148);
        assert_eq!(cells(&rows, 1), ["prv_code", "city_code", "area_code", "dept_code", "li_code", "area_name"]);
        assert_eq!(cells(&rows, 2), ["00", "000", "00", "000", "0000", "全國"], "codes keep their leading zeros");
        assert_eq!(cells(&rows, 5), ["63", "000", "00", "010", "0002", "莊敬里"]);
        assert_eq!(cells(&rows, 8148), ["09", "007", "00", "040", "0003", "中柳村、樂華村"]);
        assert!(log.is_empty());
    }

    #[test]
    fn real_polling_stations_ods_match_the_big5_csv() {
        let (rows, log) = read("cec_2020_polling_station_cross_village.ods", SourceFormat::Ods, None);
        let bytes = std::fs::read(fixture("cec_2020_polling_station_cross_village_big5.csv")).unwrap();
        let (csv, _, bad) = encoding_rs::BIG5.decode(&bytes);
        assert!(!bad);
        let mut expected: Vec<Vec<&str>> =
            csv.lines().filter(|l| !l.is_empty()).map(|l| l.split(',').collect()).collect();
        // The Big5 CSV lost 坂 (not in Big5) as `?`; the ODS edition of the same table kept it.
        assert_eq!(expected[4][5], "橋仔村、芹壁村、?里村、白沙村");
        expected[4][5] = "橋仔村、芹壁村、坂里村、白沙村";
        assert_eq!(rows.len(), 25);
        assert_eq!(rows.len(), expected.len());
        for ((line, got), want) in rows.iter().zip(&expected) {
            assert_eq!(got, want, "line {line}");
        }
        assert_eq!(cells(&rows, 1), ["09", "007", "00", "020", "A001", "塘岐村、后沃村"]);
        assert!(log.is_empty());
        let tables =
            list_tables(&fixture("cec_2020_polling_station_cross_village.ods"), &sniffed(SourceFormat::Ods, "ods"));
        assert_eq!(tables.unwrap()[0].name, "elbase");
    }

    #[test]
    fn truncated_workbooks_are_malformed_not_a_panic() {
        let eudc = BTreeMap::new();
        for (name, format) in [
            ("cec_2022_election_type_codes.xlsx", SourceFormat::Xlsx),
            ("tainan_labor_violations_roc104-07.xlsx", SourceFormat::Xlsx),
            ("tainan_labor_violations_roc106-11.xls", SourceFormat::Xls),
            ("cec_2020_polling_station_cross_village.ods", SourceFormat::Ods),
        ] {
            let bytes = std::fs::read(fixture(name)).unwrap();
            for cut in [bytes.len() / 2, bytes.len() - 100, 600] {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join(name);
                std::fs::write(&path, &bytes[..cut]).unwrap();
                let result = open(&path, &sniffed(format, "sheet"), &options(None, &eudc));
                let err = result.err().unwrap_or_else(|| panic!("{name} cut at {cut} was read"));
                let IngestError::Malformed { message, .. } = &err else { panic!("{name}: {err:?}") };
                assert!(message.contains("damaged or truncated"), "{name}: {message}");
                assert!(list_tables(&path, &sniffed(format, "sheet")).is_err());
            }
        }
    }

    #[test]
    fn real_cec_election_type_codes_xlsx() {
        let (rows, log) = read("cec_2022_election_type_codes.xlsx", SourceFormat::Xlsx, None);
        assert_eq!(rows.len(), 11, "{rows:?}");
        assert_eq!(rows[0], (1, vec!["代碼".to_string(), "選舉種類".into(), "備註".into()]));
        assert!(rows.iter().all(|(_, cells)| cells.len() <= 3));
        assert!(log.is_empty(), "{log:?}");
    }
}
