//! Finding the table in a grid of raw rows: title rows, the header (one or two rows, a machine-name row), then the
//! data rows without their blank, footnote, total and repeated-header rows, and with grouped cells filled down.
//!
//! Agencies publish what their office software prints: a title and a date above the header, a group row over a
//! detail row (`違反` / `法令條款`), an English machine-name row beside the Chinese labels, notes and totals below the
//! data, a key written once per group of rows. A person reading such a file sees the table at once; this module
//! makes the same decisions from the data alone, and writes each one to the transform log (rule, count, up to
//! five examples with their line) so that nothing is dropped or changed silently.
//!
//! ## How
//!
//! [`ShapedSource::new`] reads a bounded **lookahead window** (the first [`LOOKAHEAD_ROWS`] rows, at most
//! [`LOOKAHEAD_BYTES`] of cell text) and decides, on those rows only:
//!
//! - **title rows** (`title_row`): the rows before the first row that spans the table. The table's width `W` is the
//!   largest number of filled cells in a window row; the header is the first row with at least `max(2, W/4 + 1)`
//!   distinct filled cells that is not title-like (one distinct value, or two with a `label：value` note);
//! - **no header** (`no_header`): the first row reads like data when no text label sits over a column of numbers or
//!   codes, at least one of its cells has the type of its column, and one of its values recurs in its column (codes
//!   like `01`, `000`) or its numbers have the shape of their columns (`0430901` over `0630528`, not a year over
//!   counts). Columns are then `column_1 … column_N`. Conservative: a file that is all text keeps its first row as
//!   the header;
//! - **two header rows**: a **machine-name row** (`machine_name_row`: every cell an ASCII identifier such as
//!   `statistic_yyymm`) beside a **label row** (Chinese) in either order: the label is the column name, the machine
//!   name its alias. Otherwise a **detail row** under the header, or a **group row** over it, merge
//!   (`header_merge`): see [`join_label`] for the separator; a blank upper cell over a detail cell takes the group
//!   label from its left (a horizontally merged group). A detail row never holds a number, a `：`, or a value in the
//!   first column other than the header's own (data rows have their key there);
//! - **header cells** are trimmed, their line breaks joined (`header_newline`), empty ones named `column_N`
//!   (`empty_name`) and repeated ones numbered (`duplicate_name`);
//! - **fill-down** (`fill_down`) of a leading key column (one of the first three, every column left of it always
//!   filled or itself filled down): it is filled on the first data row, blank on some rows of the window that hold
//!   values in at least two columns right of it (continuation rows of a group), and never holds the same value on two
//!   consecutive rows (a sheet that repeats the key does not group by it). A blank cell of such a column is filled
//!   from the row above only when the row has values right of it.
//!
//! Then each row costs a few comparisons: it is dropped when it is **blank** (`blank_row`), equal to a header or
//! title row (`repeated_header`, `title_row`: a header block printed again on each page), a **total row**
//! (`total_row`: its label, the first filled cell when it is one of the first two, is 總計, 合計, 小計, 總和, 共計 or
//! Total, spaces ignored), or a **footnote** (`footnote_row`: one value, possibly repeated over merged cells, that
//! reads like a note: 資料來源, 註, 說明, 備註, `*`, 資料提供日期…, a `label：value`, a line break or over 40
//! characters; once a footnote is met, later one-value rows are notes too). A row with values in several columns is
//! always data. Cells past the header that are empty are ignored; an unnamed header column that is empty in the
//! window is left out until a row fills it (it then appears, named `column_N`); a non-empty cell past the header
//! is an error naming the line.
//!
//! Both passes over a file build a `ShapedSource` over a fresh grid and, since the decisions depend only on the
//! rows, make the same ones; the conversion pass checks that it finds the columns of the inference pass.
//!
//! ## What it does not do
//!
//! It never alters a data cell other than by filling down (normalizers trim and convert later), never merges more
//! than two header rows on its own (`Pipeline::header_rows` can ask for more), and does not look past the window to
//! change its mind: a pipeline's `skip_rows` / `header_rows` override the detection when it is wrong.

use std::collections::VecDeque;

use tapwater_types::TransformEntry;

use crate::IngestError;
use crate::source::{ColumnNames, GridSource, RecordSource, Row};

/// Rows read ahead to find the header and decide the table's shape.
pub(crate) const LOOKAHEAD_ROWS: usize = 50;
/// Cell bytes read ahead at most, so that a file of huge rows does not fill memory before its header is known.
pub(crate) const LOOKAHEAD_BYTES: usize = 16 << 20;
/// Key columns that can be filled down sit among the first few columns.
const LEADING_KEY_COLUMNS: usize = 3;
/// Longest header label of a group or detail row, in characters.
const LABEL_MAX_CHARS: usize = 24;
/// Beside one other value, a cell longer than this reads like a title (header labels of such sparse rows are short).
const TITLE_MIN_CHARS: usize = 16;
/// A one-value row longer than this reads like a note.
const NOTE_MIN_CHARS: usize = 40;

/// What the pipeline says about a grid's shape.
#[derive(Debug, Clone)]
pub(crate) struct ShapeOptions<'a> {
    /// Header rows below the title rows: `Some(0)` for none, `None` to detect.
    pub header_rows: Option<u8>,
    /// Title rows above the header: `None` to detect.
    pub skip_rows: Option<u32>,
    pub max_columns: usize,
    /// On the conversion pass: the headers the inference pass found; a grid that now gives others has changed.
    pub known_columns: Option<&'a [String]>,
    /// Row rules the pipeline may switch off (see [`tapwater_types::SHAPE_RULES`]); all on by default. A table made
    /// by a program (a database query) has no footnotes, totals or grouped cells, and a NULL must stay NULL.
    pub fill_down: bool,
    pub total_rows: bool,
    pub footnote_rows: bool,
}

impl Default for ShapeOptions<'_> {
    fn default() -> Self {
        ShapeOptions {
            header_rows: None,
            skip_rows: None,
            max_columns: 2_000,
            known_columns: None,
            fill_down: true,
            total_rows: true,
            footnote_rows: true,
        }
    }
}

/// A grid read as a table: [`RecordSource`] over the data rows.
pub(crate) struct ShapedSource {
    grid: Box<dyn GridSource>,
    names: ColumnNames,
    aliases: Vec<Vec<String>>,
    /// Columns of the table so far; rows are cut (or padded) to this width.
    width: usize,
    /// A row may fill columns up to this width (unnamed header columns left out while empty, or any column of a
    /// file without a header); a non-empty cell past it is an error.
    max_width: usize,
    /// On the conversion pass the columns are known: none may appear.
    fixed_width: bool,
    /// Window rows not yet served, in order.
    pending: VecDeque<OwnedRow>,
    /// The current row: cells at `spans` in `buf`.
    buf: Vec<u8>,
    spans: Vec<(usize, usize)>,
    /// The header rows as published (trimmed cells), to recognise a repeated header block.
    header_rows: Vec<Vec<String>>,
    /// One-value title rows, to recognise a title printed again above a repeated header.
    titles: Vec<String>,
    fill: Vec<FillColumn>,
    footnotes: bool,
    total_rows: bool,
    in_notes: bool,
    logging: bool,
    log: Vec<TransformEntry>,
}

/// A column filled down, and the value it carries.
struct FillColumn {
    index: usize,
    value: Vec<u8>,
}

/// A row copied out of the grid.
struct OwnedRow {
    line: u64,
    data: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

impl OwnedRow {
    fn copy(row: &Row<'_>) -> OwnedRow {
        let mut owned = OwnedRow { line: row.line(), data: Vec::with_capacity(row.bytes()), spans: Vec::new() };
        copy_cells(row, &mut owned.data, &mut owned.spans);
        owned
    }

    fn len(&self) -> usize {
        self.spans.len()
    }

    /// Cell `i` as published ("" when empty, missing or not UTF-8).
    fn raw(&self, i: usize) -> &str {
        self.spans
            .get(i)
            .and_then(|&(s, e)| self.data.get(s..e))
            .and_then(|c| std::str::from_utf8(c).ok())
            .unwrap_or("")
    }

    /// Cell `i` trimmed.
    fn text(&self, i: usize) -> &str {
        trim(self.raw(i))
    }

    /// Cells up to the last one that holds anything (spaces count: a column of `" "` is still a column).
    fn raw_len(&self) -> usize {
        (0..self.len()).rev().find(|&i| !self.raw(i).is_empty()).map_or(0, |i| i + 1)
    }

    /// Trimmed cells, trailing empty ones left out.
    fn texts(&self) -> Vec<&str> {
        let mut cells: Vec<&str> = (0..self.len()).map(|i| self.text(i)).collect();
        while cells.last().is_some_and(|c| c.is_empty()) {
            cells.pop();
        }
        cells
    }

    fn filled(&self) -> usize {
        (0..self.len()).filter(|&i| !self.text(i).is_empty()).count()
    }

    fn distinct_filled(&self) -> usize {
        let mut seen: Vec<&str> = Vec::new();
        for i in 0..self.len() {
            let t = self.text(i);
            if !t.is_empty() && !seen.contains(&t) {
                seen.push(t);
            }
        }
        seen.len()
    }

    fn is_blank(&self) -> bool {
        self.filled() == 0
    }

    /// The one value of a row whose filled cells all hold the same text (one cell, or a merged range filled).
    fn single_value(&self) -> Option<&str> {
        let mut value = None;
        for i in 0..self.len() {
            let t = self.text(i);
            if t.is_empty() {
                continue;
            }
            match value {
                None => value = Some(t),
                Some(v) if v == t => {}
                Some(_) => return None,
            }
        }
        value
    }

    /// The row's filled cells, for a log example.
    fn summary(&self) -> String {
        summarize((0..self.len()).map(|i| self.text(i)))
    }
}

fn copy_cells(row: &Row<'_>, data: &mut Vec<u8>, spans: &mut Vec<(usize, usize)>) {
    data.clear();
    spans.clear();
    for i in 0..row.len() {
        let start = data.len();
        if let Some(cell) = row.cell(i) {
            data.extend_from_slice(cell);
        }
        spans.push((start, data.len()));
    }
}

/// What the window said about the table.
#[derive(Default)]
struct Layout {
    /// Index in the window of the first row after the header (the first data row candidate).
    data_start: usize,
    /// Column names before de-duplication.
    names: Vec<String>,
    aliases: Vec<Vec<String>>,
    header_rows: Vec<Vec<String>>,
    titles: Vec<String>,
    /// Unnamed columns may appear up to this width.
    max_width: usize,
    header_less: bool,
}

impl ShapedSource {
    pub(crate) fn new(mut grid: Box<dyn GridSource>, options: &ShapeOptions<'_>) -> Result<Self, IngestError> {
        let mut window = Vec::new();
        let mut bytes = 0;
        while window.len() < LOOKAHEAD_ROWS && bytes < LOOKAHEAD_BYTES {
            let Some(row) = grid.next_row()? else { break };
            bytes += row.bytes();
            window.push(OwnedRow::copy(&row));
        }
        let mut log = Vec::new();
        let logging = options.known_columns.is_none();
        let layout = analyse(&window, options, &mut log)?;

        // Names: unique and non-empty.
        let mut names = ColumnNames::default();
        for raw in &layout.names {
            names.push(raw);
            let name = &names.names()[names.len() - 1];
            if raw.is_empty() {
                if !layout.header_less {
                    entry(&mut log, "empty_name", None, "a header cell is empty: the column is named by its position")
                        .record(None, "", Some(name));
                }
            } else if name != raw {
                entry(&mut log, "duplicate_name", None, "a column name repeats an earlier one: numbered _2, _3 …")
                    .record(None, raw, Some(name));
            }
        }
        let mut aliases = layout.aliases;
        aliases.resize(names.len(), Vec::new());
        // An alias that is also a column's name would make that name ambiguous in filters: the name wins.
        for list in &mut aliases {
            list.retain(|a| !names.names().contains(a));
        }

        let data_rows: Vec<&OwnedRow> = window[layout.data_start..].iter().collect();
        let mut width = names.len();
        let mut max_width = layout.max_width.max(width);
        if layout.header_less {
            // Columns as far as the window's rows reach; later rows may add more (as a JSON file's keys do).
            max_width = options.max_columns;
        }
        let mut fixed_width = false;
        if let Some(known) = options.known_columns {
            let same_prefix = known.len() >= names.len() && known[..names.len()] == *names.names();
            if !same_prefix || known.len() > max_width {
                return Err(IngestError::changed(window.first().map_or(1, |r| r.line), None));
            }
            while names.len() < known.len() {
                names.push("");
            }
            width = known.len();
            fixed_width = true;
        }
        if width > options.max_columns {
            return Err(IngestError::TooManyColumns { count: width, max: options.max_columns });
        }
        aliases.resize(width, Vec::new());

        let footnotes =
            options.footnote_rows && width >= 2 && !is_notes_column(names.names().first().map_or("", String::as_str));
        let fill_columns = if options.fill_down {
            fill_down_columns(&data_rows, width, &layout.header_rows, &layout.titles)
        } else {
            Vec::new()
        };
        let fill = fill_columns.into_iter().map(|index| FillColumn { index, value: Vec::new() }).collect::<Vec<_>>();
        for f in &fill {
            let name = &names.names()[f.index];
            entry(
                &mut log,
                "fill_down",
                Some(name),
                "a leading key column written once per group of rows: blank cells on the group's continuation rows \
                 take the value above",
            );
        }

        let pending: VecDeque<OwnedRow> = window.drain(layout.data_start..).collect();
        if !logging {
            log.clear();
        }
        Ok(ShapedSource {
            grid,
            names,
            aliases,
            width,
            max_width,
            fixed_width,
            pending,
            buf: Vec::new(),
            spans: Vec::new(),
            header_rows: layout.header_rows,
            titles: layout.titles,
            fill,
            footnotes,
            total_rows: options.total_rows,
            in_notes: false,
            logging,
            log,
        })
    }

    /// Logs a dropped or changed row (pass 1 only: pass 2's log is discarded anyway).
    fn note(&mut self, rule: &str, column: Option<usize>, line: u64, after: Option<&str>) {
        if !self.logging {
            return;
        }
        // A filled cell is logged as the value it received; a dropped row as its values.
        let before = if after.is_some() { String::new() } else { self.summary() };
        let column = column.map(|c| self.names.names()[c].clone());
        let detail = match rule {
            "blank_row" => "rows without any value are dropped",
            "footnote_row" => "rows holding one note (資料來源, 註, 說明, 資料提供日期 …) are dropped",
            "total_row" => "total rows (總計, 合計, 小計 …) are kept out of the data",
            "repeated_header" => "the header printed again inside the data is dropped",
            "title_row" => "a title row printed again inside the data is dropped",
            _ => "",
        };
        entry(&mut self.log, rule, column.as_deref(), detail).record(Some(line), &before, after);
    }

    /// Whether the current row (in `buf`/`spans`) is data; fills it down and cuts it to the table's width.
    fn keep_current(&mut self, line: u64) -> Result<bool, IngestError> {
        // The common case costs a look at two cells: two different values make a data row.
        let (first, second) = (self.cell(0), self.cell(1));
        let several = !first.is_empty() && !second.is_empty() && first != second;
        let (mut filled, mut first_filled, mut single, mut last_filled) = (2, Some(0), false, 1);
        if !several || self.spans.len() > self.width {
            (filled, first_filled, single, last_filled) = (0, None, true, 0);
            let mut value: &[u8] = &[];
            for i in 0..self.spans.len() {
                let c = self.cell(i);
                if c.is_empty() {
                    continue;
                }
                filled += 1;
                last_filled = i;
                if first_filled.is_none() {
                    first_filled = Some(i);
                    value = c;
                } else if c != value {
                    single = false;
                }
            }
        }

        if filled == 0 {
            self.note("blank_row", None, line, None);
            return Ok(false);
        }
        if last_filled >= self.width {
            if self.fixed_width || last_filled >= self.max_width {
                let columns = if self.fixed_width { self.width } else { self.max_width.max(self.width) };
                return Err(IngestError::too_many_cells(line, last_filled + 1, columns));
            }
            self.grow(last_filled + 1);
        }

        // A header block printed again (page breaks of a sheet), or its title.
        let repeated = self.header_rows.iter().any(|h| {
            (0..self.spans.len().max(h.len())).all(|i| self.cell(i) == h.get(i).map_or(&b""[..], |s| s.as_bytes()))
        });
        if repeated {
            self.note("repeated_header", None, line, None);
            return Ok(false);
        }
        let single_value = if single { first_filled } else { None };
        if let Some(i) = single_value
            && self.titles.iter().any(|t| t.as_bytes() == self.cell(i))
        {
            self.note("title_row", None, line, None);
            return Ok(false);
        }

        // A total row: its label is the first filled cell, in one of the first two columns.
        if self.total_rows && first_filled.is_some_and(|i| i <= 1 && is_total_label(self.cell(i))) {
            self.note("total_row", None, line, None);
            return Ok(false);
        }

        if let Some(i) = single_value
            && self.footnotes
            && (self.in_notes && i <= 1 || is_note(std::str::from_utf8(self.cell(i)).unwrap_or("")))
        {
            self.in_notes = true;
            self.note("footnote_row", None, line, None);
            return Ok(false);
        }
        self.in_notes = false;

        // Fill down: blank key cells of a group's continuation rows take the value above.
        for f in 0..self.fill.len() {
            let index = self.fill[f].index;
            if !self.cell(index).is_empty() {
                let start = self.spans[index].0;
                let value = &mut self.fill[f].value;
                value.clear();
                value.extend_from_slice(trim_bytes(&self.buf[start..self.spans[index].1]));
                continue;
            }
            let right_filled = (index + 1..self.spans.len().min(self.width)).any(|i| !self.cell(i).is_empty());
            if !right_filled || self.fill[f].value.is_empty() {
                continue;
            }
            let start = self.buf.len();
            self.buf.extend_from_slice(&self.fill[f].value);
            self.spans[index] = (start, self.buf.len());
            if self.logging {
                let text = String::from_utf8_lossy(&self.fill[f].value).into_owned();
                self.note("fill_down", Some(index), line, Some(&text));
            }
        }

        self.spans.truncate(self.width);
        Ok(true)
    }

    /// Cell `i` of the current row, trimmed (empty when missing).
    fn cell(&self, i: usize) -> &[u8] {
        self.spans.get(i).and_then(|&(s, e)| self.buf.get(s..e)).map_or(&[][..], trim_bytes)
    }

    /// Adds unnamed columns up to `width` (a row filled a column the window had seen empty).
    fn grow(&mut self, width: usize) {
        while self.names.len() < width {
            self.names.push("");
            self.aliases.push(Vec::new());
        }
        self.width = width;
    }

    fn summary(&self) -> String {
        summarize(
            self.spans
                .iter()
                .map(|&(s, e)| self.buf.get(s..e).and_then(|c| std::str::from_utf8(c).ok()).map_or("", trim)),
        )
    }
}

impl RecordSource for ShapedSource {
    fn headers(&self) -> &[String] {
        self.names.names()
    }

    fn next_row(&mut self) -> Result<Option<Row<'_>>, IngestError> {
        loop {
            let line = if let Some(row) = self.pending.pop_front() {
                self.buf = row.data;
                self.spans = row.spans;
                row.line
            } else {
                // Copied out of the grid: a dropped row must let go of the grid before the next one is read.
                let names = self.names.names();
                match self.grid.next_row().map_err(|e| name_column(e, names))? {
                    None => return Ok(None),
                    Some(row) => {
                        copy_cells(&row, &mut self.buf, &mut self.spans);
                        row.line()
                    }
                }
            };
            if self.keep_current(line)? {
                return Ok(Some(Row::new(&self.buf, &self.spans, line, self.width)));
            }
        }
    }

    fn bytes_read(&self) -> u64 {
        self.grid.bytes_read()
    }

    fn aliases(&self) -> &[Vec<String>] {
        &self.aliases
    }

    fn take_log(&mut self) -> Vec<TransformEntry> {
        let mut log = self.grid.take_log();
        log.append(&mut self.log);
        log
    }
}

/// Decides title rows, the header block and its names from the window.
fn analyse(
    window: &[OwnedRow],
    options: &ShapeOptions<'_>,
    log: &mut Vec<TransformEntry>,
) -> Result<Layout, IngestError> {
    let mut start = 0;
    if let Some(skip) = options.skip_rows {
        let skip = (skip as usize).min(window.len());
        for row in &window[..skip] {
            log_title(log, row, "skipped as the pipeline says (skip_rows)");
        }
        start = skip;
    }
    // Leading blank rows (spreadsheets keep them; CSV readers skip empty lines).
    while window.get(start).is_some_and(OwnedRow::is_blank) {
        entry(log, "blank_row", None, "rows without any value are dropped").record(Some(window[start].line), "", None);
        start += 1;
    }
    if start >= window.len() {
        return Err(IngestError::Empty);
    }

    let mut h = start;
    if options.skip_rows.is_none() {
        let table_width = window[start..].iter().map(OwnedRow::distinct_filled).max().unwrap_or(0);
        let threshold = (table_width / 4 + 1).max(2).min(table_width);
        let found = window[start..].iter().position(|r| {
            let distinct = r.distinct_filled();
            distinct >= threshold && !(table_width > 1 && is_title_like(r, table_width))
        });
        h = start + found.unwrap_or(0);
    }

    let mut layout = Layout::default();
    let after = |i: usize| -> Vec<&OwnedRow> {
        window.get(i..).unwrap_or(&[]).iter().filter(|r| !r.is_blank() && r.single_value().is_none()).collect()
    };

    // Header-less?
    let header_less = match options.header_rows {
        Some(0) => true,
        Some(_) => false,
        None => reads_like_data(&window[h], &after(h + 1)),
    };
    if header_less {
        log_titles(log, &window[start..h], &mut layout.titles);
        let data: Vec<&OwnedRow> = window[h..].iter().collect();
        let width = data.iter().map(|r| r.raw_len()).max().unwrap_or(0);
        layout.names = vec![String::new(); width];
        layout.data_start = h;
        layout.header_less = true;
        let e = entry(
            log,
            "no_header",
            None,
            if options.header_rows == Some(0) {
                "the pipeline says the file has no header (header_rows = 0): columns are named column_1 … column_N"
            } else {
                "the first row reads like data (values of the same types and shapes as the rows below it): the \
                 file has no header; columns are named column_1 … column_N and the first row is data"
            },
        );
        e.record(Some(window[h].line), &window[h].summary(), None);
        return Ok(layout);
    }

    // The header block: `block` are window indices, top to bottom.
    let mut block = vec![h];
    let mut machine = None;
    match options.header_rows {
        Some(n) => {
            let mut i = h + 1;
            while block.len() < n as usize && i < window.len() {
                if !window[i].is_blank() {
                    block.push(i);
                }
                i += 1;
            }
            if block.len() >= 2 {
                machine = block.iter().position(|&b| is_machine_row(&window[b]));
                if machine.is_some() && !block.iter().any(|&b| has_non_ascii(&window[b])) {
                    machine = None;
                }
            }
        }
        None => {
            let below = h + 1;
            if let Some(next) = window.get(below) {
                let data = after(below + 1);
                if is_machine_row(next) && is_label_row_for(&window[h], next, &data) {
                    block.push(below);
                    machine = Some(1);
                } else if is_machine_row(&window[h]) && is_label_row_for(next, &window[h], &data) {
                    block.push(below);
                    machine = Some(0);
                } else if is_detail_row(&window[h], next, &data) {
                    block.push(below);
                }
            }
            if machine.is_none() && h > start && is_group_row(&window[h - 1], &window[h]) {
                block.insert(0, h - 1);
            }
        }
    }
    let top = block[0];
    log_titles(log, &window[start..top], &mut layout.titles);
    for row in &window[top..=block[block.len() - 1]] {
        if row.is_blank() {
            entry(log, "blank_row", None, "rows without any value are dropped").record(Some(row.line), "", None);
        }
    }
    layout.data_start = block[block.len() - 1] + 1;
    layout.header_rows = block.iter().map(|&b| window[b].texts().into_iter().map(str::to_string).collect()).collect();

    let labels: Vec<&OwnedRow> =
        block.iter().enumerate().filter(|&(k, _)| Some(k) != machine).map(|(_, &b)| &window[b]).collect();
    let columns = block.iter().map(|&b| window[b].len()).max().unwrap_or(0);
    let named = block.iter().map(|&b| window[b].texts().len()).max().unwrap_or(0);
    // Columns past the last named one are kept only when the window has data in them; others may appear later.
    let used = window[layout.data_start..].iter().map(OwnedRow::raw_len).max().unwrap_or(0).min(columns);
    let width = named.max(used);
    layout.max_width = columns.max(width);

    layout.names = merge_labels(&labels, width, log);
    layout.aliases = vec![Vec::new(); width];
    if let Some(m) = machine {
        let machine_row = &window[block[m]];
        let label_row = labels.last().map_or(machine_row, |r| *r);
        let e = entry(
            log,
            "machine_name_row",
            None,
            &format!(
                "line {} holds machine names beside the labels of line {}: the labels are the column names, the \
                 machine names their aliases (accepted in filters and _fields)",
                machine_row.line, label_row.line
            ),
        );
        let mut seen: Vec<&str> = Vec::new();
        for j in 0..width {
            let alias = machine_row.text(j);
            if alias.is_empty() || seen.contains(&alias) || alias == layout.names[j] {
                continue;
            }
            seen.push(alias);
            e.record(Some(machine_row.line), alias, Some(&layout.names[j]));
            layout.aliases[j].push(alias.to_string());
        }
    }
    let lines: Vec<String> = block.iter().map(|&b| window[b].line.to_string()).collect();
    let preview: Vec<&str> = layout.names.iter().take(8).map(String::as_str).collect();
    let e = entry(
        log,
        "header_row",
        None,
        &format!(
            "header on line {} ({} columns: {}{})",
            lines.join(" and "),
            width,
            preview.join(", "),
            if width > preview.len() { ", …" } else { "" }
        ),
    );
    e.count = block.len() as u64;
    Ok(layout)
}

/// Column names from one or more label rows, top to bottom: cells joined per column ([`join_label`]), line breaks
/// inside a cell joined the same way, a blank upper cell over a detail cell taking the group label on its left.
fn merge_labels(rows: &[&OwnedRow], width: usize, log: &mut Vec<TransformEntry>) -> Vec<String> {
    // Each row's cells with their line breaks joined (logged once per cell).
    let mut cells: Vec<Vec<String>> = Vec::with_capacity(rows.len());
    for row in rows {
        let mut out = Vec::with_capacity(width);
        for j in 0..width {
            let raw = row.raw(j);
            let joined = join_lines(raw);
            if raw.contains(['\n', '\r']) {
                entry(log, "header_newline", None, "line breaks inside header cells joined").record(
                    Some(row.line),
                    raw,
                    Some(&joined),
                );
            }
            out.push(joined);
        }
        cells.push(out);
    }
    // Horizontal groups: an upper blank takes the label on its left when both columns have a label below.
    for k in 0..cells.len().saturating_sub(1) {
        for j in 1..width {
            let below = |c: usize| cells[k + 1..].iter().any(|r| !r[c].is_empty());
            if cells[k][j].is_empty() && !cells[k][j - 1].is_empty() && below(j) && below(j - 1) {
                cells[k][j] = cells[k][j - 1].clone();
            }
        }
    }
    let mut names = Vec::with_capacity(width);
    for j in 0..width {
        let mut parts: Vec<&str> = Vec::new();
        for row in &cells {
            let part = row[j].as_str();
            // A vertically merged cell filled by the reader repeats the label above.
            if !part.is_empty() && parts.last() != Some(&part) {
                parts.push(part);
            }
        }
        let name = parts.iter().fold(String::new(), |acc, p| join_label(&acc, p));
        if parts.len() > 1 {
            entry(log, "header_merge", None, "header rows merged: a group label over a detail label").record(
                rows.first().map(|r| r.line),
                &parts.join(" / "),
                Some(&name),
            );
        }
        names.push(name);
    }
    names
}

fn log_titles(log: &mut Vec<TransformEntry>, rows: &[OwnedRow], titles: &mut Vec<String>) {
    for row in rows {
        if row.is_blank() {
            entry(log, "blank_row", None, "rows without any value are dropped").record(Some(row.line), "", None);
        } else {
            log_title(log, row, "rows above the header (a title, a date, a unit) are not part of the table");
            if let Some(v) = row.single_value() {
                titles.push(v.to_string());
            }
        }
    }
}

fn log_title(log: &mut Vec<TransformEntry>, row: &OwnedRow, detail: &str) {
    entry(log, "title_row", None, detail).record(Some(row.line), &row.summary(), None);
}

/// The log entry of a rule (and column), created with its explanation on first use.
fn entry<'l>(
    log: &'l mut Vec<TransformEntry>,
    rule: &str,
    column: Option<&str>,
    detail: &str,
) -> &'l mut TransformEntry {
    let found = log.iter().position(|e| e.rule == rule && e.column.as_deref() == column);
    let i = found.unwrap_or_else(|| {
        log.push(TransformEntry {
            column: column.map(str::to_string),
            rule: rule.to_string(),
            detail: (!detail.is_empty()).then(|| detail.to_string()),
            ..TransformEntry::default()
        });
        log.len() - 1
    });
    &mut log[i]
}

// ---------------------------------------------------------------------------------------------------------------
// What a row or a cell reads like.

/// Trims spaces, ideographic spaces (U+3000), no-break spaces and byte-order marks: all pad cells in office files.
fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

/// [`trim`] on bytes, for the per-row path (no UTF-8 decoding of the whole cell).
fn trim_bytes(mut b: &[u8]) -> &[u8] {
    const PADS: [&[u8]; 3] = ["\u{3000}".as_bytes(), "\u{a0}".as_bytes(), "\u{feff}".as_bytes()];
    loop {
        if let [first, rest @ ..] = b
            && first.is_ascii_whitespace()
        {
            b = rest;
        } else if let Some(p) = PADS.iter().find(|p| b.starts_with(p)) {
            b = &b[p.len()..];
        } else {
            break;
        }
    }
    loop {
        if let [rest @ .., last] = b
            && last.is_ascii_whitespace()
        {
            b = rest;
        } else if let Some(p) = PADS.iter().find(|p| b.ends_with(p)) {
            b = &b[..b.len() - p.len()];
        } else {
            break;
        }
    }
    b
}

/// A row's filled cells for a log example; a value repeated over merged cells is written once.
fn summarize<'a>(cells: impl Iterator<Item = &'a str>) -> String {
    let mut values: Vec<&str> = Vec::new();
    for c in cells {
        if !c.is_empty() && values.last() != Some(&c) {
            values.push(c);
        }
    }
    let text = values.join(", ");
    if text.chars().count() > 200 { text.chars().take(200).chain(['…']).collect() } else { text }
}

/// The broad kind of a cell, for comparing a candidate header with the rows below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Digits with separators: `10504`, `0430901`, `2015/1/16`, `08:20`, `47.12%`.
    Number,
    /// A short code of ASCII letters and digits: `A001`, `A6701-01`, `97Y06M`.
    Code,
    Text,
}

fn kind(s: &str) -> Kind {
    let (mut digits, mut letters, mut other) = (0, 0, false);
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits += 1;
        } else if c.is_ascii_alphabetic() {
            letters += 1;
        } else if !matches!(c, '.' | ',' | '-' | '+' | '/' | ':' | '%' | ' ' | '(' | ')' | '_' | '#') {
            other = true;
        }
    }
    match (digits, letters, other) {
        (0, _, _) | (_, _, true) => Kind::Text,
        (_, 0, _) => Kind::Number,
        _ if s.len() <= 16 => Kind::Code,
        _ => Kind::Text,
    }
}

/// A cell's pattern: digits → `9`, ASCII letters → `a`, other characters kept (`0430901` → `9999999`).
fn shape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_digit() {
                '9'
            } else if c.is_ascii_alphabetic() {
                'a'
            } else {
                c
            }
        })
        .collect()
}

/// The kind (or shape) held by at least `share` of the values, if any.
fn dominant<T: PartialEq>(values: impl Iterator<Item = T>, share: f64) -> Option<T> {
    let mut counts: Vec<(T, usize)> = Vec::new();
    let mut total = 0;
    for v in values {
        total += 1;
        match counts.iter_mut().find(|(k, _)| *k == v) {
            Some((_, n)) => *n += 1,
            None => counts.push((v, 1)),
        }
    }
    let (value, n) = counts.into_iter().max_by_key(|(_, n)| *n)?;
    (n as f64 >= share * total as f64).then_some(value)
}

/// Whether a candidate header row is rather the first data row (see the module doc). `below` are the window's
/// rows under it with values in several columns.
fn reads_like_data(candidate: &OwnedRow, below: &[&OwnedRow]) -> bool {
    let candidate_texts = candidate.texts();
    let below: Vec<&OwnedRow> = below.iter().copied().filter(|r| r.texts() != candidate_texts).collect();
    if below.len() < 2 {
        return false;
    }
    let (mut typed, mut shaped, mut years, mut recurs) = (0, 0, 0, false);
    for (j, &c) in candidate_texts.iter().enumerate() {
        if c.is_empty() {
            continue;
        }
        let values: Vec<&str> = below.iter().map(|r| r.text(j)).filter(|v| !v.is_empty()).collect();
        if values.len() < 2 {
            continue;
        }
        let column = dominant(values.iter().map(|v| kind(v)), 0.8);
        let k = kind(c);
        match column {
            // A text label over a column of numbers or codes: a header.
            Some(Kind::Number | Kind::Code) if k == Kind::Text => return false,
            Some(column) if column == k && k != Kind::Text => {
                typed += 1;
                if dominant(values.iter().map(|v| shape(v)), 0.5).as_deref() == Some(shape(c).as_str()) {
                    shaped += 1;
                    if c.len() == 4 && c.parse::<u32>().is_ok_and(|y| (1900..=2100).contains(&y)) {
                        years += 1; // `2015` over `1234`: a year heading columns of counts
                    }
                }
            }
            _ => {}
        }
        recurs |= values.contains(&c);
    }
    typed >= 1 && (recurs || (shaped >= 2 && shaped > years))
}

fn has_non_ascii(row: &OwnedRow) -> bool {
    (0..row.len()).any(|i| !row.text(i).is_ascii())
}

/// `statistic_yyymm`, `CODE2`, `H_CNT`: names for programs.
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Every filled cell an identifier, at least two of them, and at least one with a letter other than a hex-like
/// code (a row of `A`, `B` grades is data).
fn is_machine_row(row: &OwnedRow) -> bool {
    let cells: Vec<&str> = row.texts().into_iter().filter(|c| !c.is_empty()).collect();
    cells.len() >= 2 && cells.iter().all(|c| is_identifier(c)) && cells.iter().any(|c| c.len() >= 3)
}

/// `labels` holds labels in (nearly) the columns where `machine` holds names: short non-ASCII text, at least one
/// over a column of numbers or codes in `below` (so that a first data row of names under an English header is not
/// taken for labels).
fn is_label_row_for(labels: &OwnedRow, machine: &OwnedRow, below: &[&OwnedRow]) -> bool {
    let names: Vec<usize> = (0..machine.len()).filter(|&i| !machine.text(i).is_empty()).collect();
    let matched = names.iter().filter(|&&i| !labels.text(i).is_empty()).count();
    let cells = labels.texts();
    let over_numbers = cells.iter().enumerate().any(|(j, c)| {
        let values = below.iter().map(|b| b.text(j)).filter(|v| !v.is_empty());
        kind(c) == Kind::Text && matches!(dominant(values.map(kind), 0.8), Some(Kind::Number | Kind::Code))
    });
    has_non_ascii(labels)
        && !is_machine_row(labels)
        && matched * 5 >= names.len() * 4
        && cells.iter().all(|c| c.is_empty() || is_short_label(c))
        && over_numbers
}

/// A short header label: no number, no `label：value` note.
fn is_short_label(s: &str) -> bool {
    !s.is_empty() && s.chars().count() <= LABEL_MAX_CHARS && !s.contains(['：', ':']) && kind(s) != Kind::Number
}

/// Whether `row`, right under the header `header`, is a second header row (a detail row under group labels).
/// `below` are the data rows under it.
fn is_detail_row(header: &OwnedRow, row: &OwnedRow, below: &[&OwnedRow]) -> bool {
    let (h, r) = (header.texts(), row.texts());
    fn at<'s>(cells: &[&'s str], j: usize) -> &'s str {
        cells.get(j).copied().unwrap_or("")
    }
    // The first column holds the data rows' key; under the header it is blank or repeats the header's label.
    let (h0, r0) = (at(&h, 0), at(&r, 0));
    if !(r0.is_empty() || r0 == h0 || (h0.is_empty() && is_short_label(r0))) {
        return false;
    }
    let new: Vec<usize> = (0..r.len()).filter(|&j| !r[j].is_empty() && r[j] != at(&h, j)).collect();
    if new.is_empty() || !new.iter().all(|&j| is_short_label(r[j])) || is_total_label(r[new[0]].as_bytes()) {
        return false;
    }
    let vertical = (0..r.len()).any(|j| !r[j].is_empty() && r[j] == at(&h, j));
    let grouped = new.iter().any(|&j| j > 0 && (at(&h, j).is_empty() || at(&h, j) == at(&h, j - 1)));
    let sparse = row.filled() * 2 <= header.filled();
    let over_numbers = new.iter().any(|&j| {
        let values = below.iter().map(|b| b.text(j)).filter(|v| !v.is_empty());
        matches!(dominant(values.map(kind), 0.8), Some(Kind::Number | Kind::Code))
    });
    vertical || grouped || sparse || over_numbers
}

/// Whether `row`, right above the header, holds group labels over it: two distinct short labels or more, none in
/// the first column (the row labels' column) unless it repeats the header's, no title or note.
fn is_group_row(row: &OwnedRow, header: &OwnedRow) -> bool {
    let cells = row.texts();
    let first = cells.first().copied().unwrap_or("");
    row.distinct_filled() >= 2
        && (first.is_empty() || first == header.text(0))
        && cells.iter().all(|c| c.is_empty() || is_short_label(c))
}

/// One distinct value (a title, possibly over merged cells), or two of which one is a `label：value` note
/// (`單位：人`, `統計日期：104/1/1`) or, in a table of four columns or more, a sentence longer than a label
/// (`臺南市105年度公布專案勞動條件檢查結果一覽表` beside a stray `0`). A bare `說明` or `note` is a column name.
fn is_title_like(row: &OwnedRow, table_width: usize) -> bool {
    match row.distinct_filled() {
        0 | 1 => true,
        2 => (0..row.len()).any(|i| {
            let t = row.text(i);
            is_labelled_note(t) || (table_width >= 4 && t.chars().count() > TITLE_MIN_CHARS)
        }),
        _ => false,
    }
}

/// Whether a lone value reads like a note: a note marker, a `label：value`, a line break, or a long sentence.
fn is_note(s: &str) -> bool {
    is_note_marker(s) || s.contains(['\n', '\r']) || s.chars().count() > NOTE_MIN_CHARS
}

/// A value starting with a note marker, or a `label：value`.
fn is_note_marker(s: &str) -> bool {
    const MARKERS: [&str; 22] = [
        "資料來源",
        "來源",
        "註",
        "附註",
        "備註",
        "說明",
        "備考",
        "*",
        "＊",
        "※",
        "資料提供",
        "資料日期",
        "資料時間",
        "製表",
        "填表",
        "更新日期",
        "統計日期",
        "統計時間",
        "單位",
        "note",
        "source",
        "remark",
    ];
    let s = trim(s);
    let lower = s.to_ascii_lowercase();
    if MARKERS.iter().any(|m| lower.starts_with(m)) {
        return true;
    }
    is_labelled_note(s) || s.split_once(['：', ':']).is_some_and(|(label, _)| is_note_label(label))
}

/// `入夏截至0822尚有病例區域數：25區`, `事故類別：A1類`: a label, a colon, a value (not `08:20`).
fn is_labelled_note(s: &str) -> bool {
    s.split_once(['：', ':']).is_some_and(|(label, value)| is_note_label(label) && !trim(value).is_empty())
}

fn is_note_label(label: &str) -> bool {
    let label = trim(label);
    !label.is_empty() && label.chars().count() <= 20 && kind(label) == Kind::Text
}

/// A first column headed 備註 or 說明 holds notes as data.
fn is_notes_column(name: &str) -> bool {
    ["備註", "說明", "附註", "註記", "備考", "note", "remark"].iter().any(|n| name.to_ascii_lowercase().starts_with(n))
}

/// 總計, 合計, 小計, 總和, 共計, Total (spaces, ideographic spaces and case ignored: `總　計`, `TOTAL`).
fn is_total_label(cell: &[u8]) -> bool {
    let cell = trim_bytes(cell);
    // Most label cells are ruled out by their first byte, without decoding: 總 合 小 共 start with E7 or E5 in
    // UTF-8, the English words with t, s or g.
    if cell.len() > 40 || !matches!(cell.first(), Some(0xE5 | 0xE7 | b't' | b'T' | b's' | b'S' | b'g' | b'G')) {
        return false;
    }
    let Ok(text) = std::str::from_utf8(cell) else { return false };
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect();
    matches!(
        squeezed.as_str(),
        "總計" | "合計" | "小計" | "總和" | "共計" | "total" | "subtotal" | "sub-total" | "grandtotal"
    )
}

/// Leading key columns to fill down (see the module doc). `rows` are the window's rows after the header.
fn fill_down_columns(rows: &[&OwnedRow], width: usize, header_rows: &[Vec<String>], titles: &[String]) -> Vec<usize> {
    // The data rows of the window, as `keep_current` will see them (blank, note, total and repeated rows out).
    let data: Vec<Vec<&str>> = rows
        .iter()
        .filter(|r| r.filled() >= 2 || (r.filled() == 1 && r.single_value().is_some_and(|v| !is_note(v))))
        .filter(|r| {
            let texts = r.texts();
            !header_rows.iter().any(|h| h.iter().map(String::as_str).eq(texts.iter().copied()))
                && !r.single_value().is_some_and(|v| titles.iter().any(|t| t == v))
                && !texts.iter().take(2).find(|c| !c.is_empty()).is_some_and(|c| is_total_label(c.as_bytes()))
        })
        .map(|r| r.texts())
        .collect();
    if data.len() < 3 {
        return Vec::new();
    }
    fn at<'s>(row: &[&'s str], j: usize) -> &'s str {
        row.get(j).copied().unwrap_or("")
    }
    let mut fill = Vec::new();
    for c in 0..width.min(LEADING_KEY_COLUMNS) {
        let leading = (0..c).all(|l| fill.contains(&l) || data.iter().all(|r| !at(r, l).is_empty()));
        if !leading || at(&data[0], c).is_empty() {
            break;
        }
        let blanks: Vec<&Vec<&str>> = data.iter().filter(|r| at(r, c).is_empty()).collect();
        let continuation = |r: &&Vec<&str>| (c + 1..width).filter(|&j| !at(r, j).is_empty()).count() >= 2;
        let values: Vec<&str> = data.iter().map(|r| at(r, c)).collect();
        let repeats = values.windows(2).any(|w| !w[0].is_empty() && w[0] == w[1]);
        let decimals = values.iter().any(|v| v.contains('.') && v.parse::<f64>().is_ok());
        if !blanks.is_empty() && blanks.iter().all(continuation) && !repeats && !decimals {
            fill.push(c);
        }
    }
    fill
}

/// Joins two parts of a header label: nothing between CJK or full-width characters (`104年` + `全年個案數` →
/// `104年全年個案數`), one space between ASCII words (`Population` + `Total` → `Population Total`).
fn join_label(a: &str, b: &str) -> String {
    let (a, b) = (trim(a), trim(b));
    match (a.chars().last(), b.chars().next()) {
        (None, _) => b.to_string(),
        (_, None) => a.to_string(),
        (Some(x), Some(y))
            if x.is_ascii() && y.is_ascii() && (x.is_ascii_alphanumeric() || y.is_ascii_alphanumeric()) =>
        {
            format!("{a} {b}")
        }
        _ => format!("{a}{b}"),
    }
}

/// A header cell's lines joined with [`join_label`] and trimmed: `事業單位名稱\n（負責人姓名）` →
/// `事業單位名稱（負責人姓名）`, `區別\n` → `區別`.
fn join_lines(raw: &str) -> String {
    raw.split(['\n', '\r']).fold(String::new(), |acc, line| join_label(&acc, line))
}

/// A grid names a bad cell by position (`column_3`); the table names it by its header.
fn name_column(error: IngestError, headers: &[String]) -> IngestError {
    match error {
        IngestError::Malformed { line, column: Some(column), message, kind } => {
            let named = column
                .strip_prefix("column_")
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|n| headers.get(n.wrapping_sub(1)))
                .cloned()
                .unwrap_or(column);
            IngestError::Malformed { line, column: Some(named), message, kind }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::source::{OpenOptions, Opened};
    use crate::{IngestOptions, check_files, sniff};

    /// An in-memory grid: `⏎` in a cell stands for a line break inside it.
    struct VecGrid {
        rows: Vec<Vec<String>>,
        next: usize,
        data: Vec<u8>,
        spans: Vec<(usize, usize)>,
    }

    impl VecGrid {
        fn new(text: &str) -> VecGrid {
            let rows = text.lines().map(|l| l.split(',').map(|c| c.replace('⏎', "\n")).collect()).collect();
            VecGrid { rows, next: 0, data: Vec::new(), spans: Vec::new() }
        }
    }

    impl GridSource for VecGrid {
        fn next_row(&mut self) -> Result<Option<Row<'_>>, IngestError> {
            let Some(cells) = self.rows.get(self.next) else { return Ok(None) };
            self.next += 1;
            self.data.clear();
            self.spans.clear();
            for c in cells {
                let start = self.data.len();
                self.data.extend_from_slice(c.as_bytes());
                self.spans.push((start, self.data.len()));
            }
            Ok(Some(Row::new(&self.data, &self.spans, self.next as u64, cells.len())))
        }

        fn bytes_read(&self) -> u64 {
            0
        }
    }

    /// A table as shaped: its columns, aliases, rows `(line, cells)`, and the log of pass 1.
    #[derive(Debug)]
    struct Shaped {
        headers: Vec<String>,
        aliases: Vec<Vec<String>>,
        rows: Vec<(u64, Vec<String>)>,
        log: Vec<TransformEntry>,
    }

    impl Shaped {
        fn rule(&self, rule: &str) -> Option<&TransformEntry> {
            self.log.iter().find(|e| e.rule == rule)
        }

        fn count(&self, rule: &str) -> u64 {
            self.log.iter().filter(|e| e.rule == rule).map(|e| e.count).sum()
        }

        fn lines(&self, rule: &str) -> Vec<u64> {
            self.rule(rule).map(|e| e.examples.iter().filter_map(|x| x.row).collect()).unwrap_or_default()
        }

        fn column(&self, name: &str) -> Vec<String> {
            let i = self.headers.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
            self.rows.iter().map(|(_, r)| r[i].clone()).collect()
        }
    }

    fn read_all(mut source: ShapedSource) -> Result<Shaped, IngestError> {
        let mut rows = Vec::new();
        while let Some(row) = source.next_row()? {
            let cells: Vec<String> = (0..row.width()).map(|i| row.text(i).unwrap_or_default().to_string()).collect();
            rows.push((row.line(), cells));
        }
        // Rows read before a column appeared are shorter: null there, as the table sees them.
        let width = source.headers().len();
        for (_, cells) in &mut rows {
            cells.resize(width, String::new());
        }
        Ok(Shaped {
            headers: source.headers().to_vec(),
            aliases: source.aliases().to_vec(),
            rows,
            log: source.take_log(),
        })
    }

    /// Shapes a grid twice, as the two passes of an ingest do, and checks that both decide the same.
    fn shape_both(open: impl Fn() -> Box<dyn GridSource>, options: ShapeOptions<'_>) -> Result<Shaped, IngestError> {
        let first = read_all(ShapedSource::new(open(), &options)?)?;
        let known = first.headers.clone();
        let again = read_all(ShapedSource::new(open(), &ShapeOptions { known_columns: Some(&known), ..options })?)?;
        assert_eq!(again.headers, first.headers, "pass 2 finds the columns of pass 1");
        assert_eq!(again.rows, first.rows, "pass 2 reads the rows of pass 1");
        assert_eq!(again.aliases, first.aliases);
        // The reader's own entries (decoding, merged cells) aside, pass 2 logs nothing: the chain keeps pass 1's.
        let ours = [
            "title_row",
            "header_row",
            "no_header",
            "header_merge",
            "machine_name_row",
            "header_newline",
            "duplicate_name",
            "empty_name",
            "blank_row",
            "footnote_row",
            "total_row",
            "fill_down",
            "repeated_header",
        ];
        assert!(again.log.iter().all(|e| !ours.contains(&e.rule.as_str())), "pass 2 logs: {:?}", again.log);
        Ok(first)
    }

    fn options() -> ShapeOptions<'static> {
        ShapeOptions { max_columns: 1000, ..ShapeOptions::default() }
    }

    fn shape_with(text: &str, options: ShapeOptions<'_>) -> Result<Shaped, IngestError> {
        let text = text.to_string();
        shape_both(move || Box::new(VecGrid::new(&text)), options)
    }

    fn shape(text: &str) -> Shaped {
        shape_with(text, options()).unwrap()
    }

    fn names(s: &Shaped) -> Vec<&str> {
        s.headers.iter().map(String::as_str).collect()
    }

    // -----------------------------------------------------------------------------------------------------------
    // Title rows and the header.

    #[test]
    fn title_rows_above_the_header_are_skipped_and_logged() {
        let s = shape(
            "高雄市道路交通事故案件明細（單位：人、元）,,,,\n\
             統計日期：104/1/1起(研判日),,,,\n\
             行政區,件數,死亡,受傷,損失\n\
             三民區,12,1,15,30000\n\
             苓雅區,8,0,9,12000\n",
        );
        assert_eq!(names(&s), ["行政區", "件數", "死亡", "受傷", "損失"]);
        assert_eq!(s.rows.len(), 2);
        assert_eq!(s.rows[0], (4, vec!["三民區".into(), "12".into(), "1".into(), "15".into(), "30000".into()]));
        assert_eq!(s.count("title_row"), 2);
        assert_eq!(s.lines("title_row"), [1, 2]);
        assert_eq!(s.rule("title_row").unwrap().examples[1].before, "統計日期：104/1/1起(研判日)");
        assert!(s.rule("header_row").unwrap().detail.as_deref().unwrap().starts_with("header on line 3"));
    }

    #[test]
    fn a_title_over_merged_cells_and_a_date_at_the_right_are_titles() {
        // A sheet reader fills merged ranges: the title repeats in every cell it covers.
        let s = shape(
            "第六區管理處臨時供水站清冊,第六區管理處臨時供水站清冊,第六區管理處臨時供水站清冊,第六區管理處臨時供水站清冊\n\
             ,,,105.02.09   19:20\n\
             序號,行政區,名稱,電話\n\
             1,中西區,中西區公所,06-2370021\n\
             2,東區,東區公所,06-2370021\n",
        );
        assert_eq!(names(&s), ["序號", "行政區", "名稱", "電話"]);
        assert_eq!(s.count("title_row"), 2);
        assert_eq!(s.rows.len(), 2);
    }

    #[test]
    fn a_long_title_beside_a_stray_value_is_a_title() {
        // tainan_labor_violations_roc105_full_year.xls, sheet 專案檢查.
        let s = shape(
            "臺南市105年度公布專案勞動條件檢查結果一覽表,,,,,0\n\
             項次,事業單位名稱,違反法令條款,違反法規內容,處分書文號,處分日期\n\
             1,甲公司,勞動基準法第24條,延長工作時間未依規定加給工資。,府勞條字第1050001號,1050101\n",
        );
        assert_eq!(names(&s)[0], "項次");
        assert_eq!(s.rule("title_row").unwrap().examples[0].before, "臺南市105年度公布專案勞動條件檢查結果一覽表, 0");
        let s = shape("臺南市統計表臺南市統計表臺南市統計表臺南市統計表臺南市統計表,0\n區,人口\n北區,1\n");
        assert_eq!(
            names(&s),
            ["臺南市統計表臺南市統計表臺南市統計表臺南市統計表臺南市統計表", "0"],
            "two columns: no guess"
        );
    }

    #[test]
    fn the_pipeline_overrides_detection() {
        let text = "報表,,\n說明：單位為人,,\na,b,c\n1,2,3\n";
        let s = shape_with(text, ShapeOptions { skip_rows: Some(1), header_rows: Some(1), ..options() }).unwrap();
        assert_eq!(names(&s), ["說明：單位為人", "column_2", "column_3"]);
        assert_eq!(s.rows.len(), 2);
        let s = shape_with(text, ShapeOptions { skip_rows: Some(2), ..options() }).unwrap();
        assert_eq!(names(&s), ["a", "b", "c"]);
        let s = shape_with("a,b\n1,2\n", ShapeOptions { header_rows: Some(0), ..options() }).unwrap();
        assert_eq!(names(&s), ["column_1", "column_2"]);
        assert_eq!(s.rows, [(1, vec!["a".into(), "b".into()]), (2, vec!["1".into(), "2".into()])]);
        assert!(s.rule("no_header").unwrap().detail.as_deref().unwrap().contains("header_rows = 0"));
    }

    #[test]
    fn an_empty_grid_is_empty() {
        for text in ["", ",,,\n,,\n"] {
            assert!(matches!(shape_with(text, options()), Err(IngestError::Empty)), "{text:?}");
        }
    }

    // -----------------------------------------------------------------------------------------------------------
    // No header.

    #[test]
    fn a_file_starting_with_data_has_no_header() {
        // cec_2020_polling_station_cross_village_big5.csv, decoded.
        let s = shape(
            "09,007,00,020,A001,塘岐村、后沃村\n\
             09,007,00,030,A001,青帆村、田沃村、西坵村\n\
             09,007,00,040,A001,中柳村、樂華村\n\
             09,007,00,010,A002,復興村、福沃村\n",
        );
        assert_eq!(names(&s), ["column_1", "column_2", "column_3", "column_4", "column_5", "column_6"]);
        assert_eq!(s.rows.len(), 4);
        assert_eq!(s.rows[0].1[5], "塘岐村、后沃村");
        assert_eq!(s.lines("no_header"), [1]);
        assert!(s.rule("header_row").is_none());
        assert!(s.rule("duplicate_name").is_none() && s.rule("empty_name").is_none());
    }

    #[test]
    fn a_numeric_first_column_does_not_make_a_file_header_less() {
        let s =
            shape("編號,發病日,區別,緯度\n1,2014/12/31,關廟區,22.96\n2,2015/1/16,東區,22.98\n3,2015/5/16,北區,23.01\n");
        assert_eq!(names(&s), ["編號", "發病日", "區別", "緯度"]);
        assert_eq!(s.rows.len(), 3);
        assert!(s.rule("no_header").is_none());
        // Years heading columns of counts are a header too.
        let s = shape("區別,2014,2015,2016\n北區,1234,2345,3456\n南區,1111,2222,3333\n東區,4321,5432,6543\n");
        assert_eq!(names(&s), ["區別", "2014", "2015", "2016"]);
        // An all-text file keeps its first row as the header (a person cannot tell either).
        let s = shape("甲,乙\n丙,丁\n戊,己\n");
        assert_eq!(names(&s), ["甲", "乙"]);
    }

    #[test]
    fn a_header_less_file_gains_columns_its_later_rows_fill() {
        let mut text = String::new();
        for i in 0..60 {
            text.push_str(&format!("01,{i:03},A{i:03}\n"));
        }
        text.push_str("01,999,A999,extra\n");
        let s = shape(&text);
        assert_eq!(names(&s), ["column_1", "column_2", "column_3", "column_4"]);
        assert_eq!(s.rows.len(), 61);
        assert_eq!(s.rows[60].1[3], "extra");
    }

    // -----------------------------------------------------------------------------------------------------------
    // Two header rows.

    #[test]
    fn a_detail_row_under_a_group_label_merges_with_it() {
        // tainan_labor_violations_roc103-07-08.xls as calamine reads it, merged cells not filled.
        let s = shape(
            ",,違反勞動基準法而依第79條第3項公布之相關資料,,,,\n\
             項次,事業單位/事業主,違反,違反法規內容,處分書文號,處分日期,備註\n\
             ,,法令條款,,,,\n\
             1,可成科技股份有限公司,勞動基準法第32條第2項,延長工作時間超過法令規定,府勞條字第1020751039號,102年9月5日,\n\
             ,,勞動基準法第32條第2項,延長工作時間超過法令規定,府勞條字第1020898302號,102年10月16日,\n\
             2,易昇鋼鐵股份有限公司,勞動基準法第24條,延長工作時間未依規定加給工資,府勞條字第1020866580號,102年9月27日,\n\
             ,,勞動基準法第24條,延長工作時間未依規定加給工資,府勞條字第1020922036號,102年10月16日,\n\
             ,,勞動基準法第32條第2項,延長工作時間超過法令規定,府勞條字第1020866580號,102年9月27日,\n\
             3,謝勝安(即三上企業社),勞動基準法第21條第1項,工資低於基本工資,府勞條字第1020948821號,102年10月29日,\n",
        );
        assert_eq!(
            names(&s),
            ["項次", "事業單位/事業主", "違反法令條款", "違反法規內容", "處分書文號", "處分日期", "備註"]
        );
        let merge = s.rule("header_merge").unwrap();
        assert_eq!((merge.count, merge.examples[0].before.as_str()), (1, "違反 / 法令條款"));
        assert_eq!(s.lines("title_row"), [1]);
        // The group key is filled down on the continuation rows.
        assert_eq!(s.rows.len(), 6);
        assert_eq!(s.column("項次"), ["1", "1", "2", "2", "2", "3"]);
        assert_eq!(s.column("事業單位/事業主")[4], "易昇鋼鐵股份有限公司");
        let fill = s.log.iter().find(|e| e.rule == "fill_down" && e.column.as_deref() == Some("項次")).unwrap();
        assert_eq!(fill.count, 3);
        assert_eq!(fill.examples[0].row, Some(5));
        assert_eq!(fill.examples[0].after.as_deref(), Some("1"));
        assert_eq!(s.count("fill_down"), 6, "項次 and 事業單位/事業主, 3 cells each");
    }

    #[test]
    fn merged_header_cells_filled_by_the_reader_merge_once() {
        // twc_tainan_temporary_water_stations_roc105-02-09.xls with its merged ranges filled: 儲水桶 spans two
        // columns, 序號 … span two rows.
        let s = shape(
            "序號,所別,行政區,儲水桶,儲水桶,聯絡人\n\
             序號,所別,行政區,噸數,數量,聯絡人\n\
             1,台南所,中西區,1,1,楊股長\n\
             2,台南所,東區,1,2,楊股長\n",
        );
        assert_eq!(names(&s), ["序號", "所別", "行政區", "儲水桶噸數", "儲水桶數量", "聯絡人"]);
        assert_eq!(s.count("header_merge"), 2);
        assert_eq!(s.rows.len(), 2);
        // Not filled by the reader: the blank upper cell takes the group label on its left.
        let s = shape(
            "序號,所別,行政區,儲水桶,,聯絡人\n\
             ,,,噸數,數量,\n\
             1,台南所,中西區,1,1,楊股長\n\
             2,,東區,1,2,楊股長\n\
             3,,南區,1,1,楊股長\n\
             4,永康所,永康區,1,1,王股長\n",
        );
        assert_eq!(names(&s), ["序號", "所別", "行政區", "儲水桶噸數", "儲水桶數量", "聯絡人"]);
        assert_eq!(s.column("所別"), ["台南所", "台南所", "台南所", "永康所"]);
    }

    #[test]
    fn a_group_row_over_the_header_merges_with_it() {
        let s = shape(
            ",104年,,105年,\n\
             區別,全年個案數,入夏個案數,全年個案數,入夏個案數\n\
             北區,833,833,12,10\n\
             南區,132,132,3,2\n",
        );
        assert_eq!(names(&s), ["區別", "104年全年個案數", "104年入夏個案數", "105年全年個案數", "105年入夏個案數"]);
        assert_eq!(s.rows.len(), 2);
        assert!(s.rule("title_row").is_none());
    }

    #[test]
    fn a_first_data_row_is_not_taken_for_a_detail_row() {
        // Text in every column, its key in the first column: data.
        let s = shape("姓名,縣市,備註\n王小明,臺北市,\n李大華,臺南市,無\n");
        assert_eq!(names(&s), ["姓名", "縣市", "備註"]);
        assert_eq!(s.rows.len(), 2);
        assert!(s.rule("header_merge").is_none());
    }

    #[test]
    fn a_machine_name_row_gives_aliases_in_either_order() {
        let english_first = "statistic_yyymm,site_id,village,birth_total\n\
                             統計年月,區域別,村里,出生數\n\
                             10504,新北市板橋區,留侯里,1\n\
                             10504,新北市板橋區,流芳里,1\n";
        let chinese_first = "統計年月,區域別,村里,出生數\n\
                             statistic_yyymm,site_id,village,birth_total\n\
                             10504,新北市板橋區,留侯里,1\n\
                             10504,新北市板橋區,流芳里,1\n";
        for text in [english_first, chinese_first] {
            let s = shape(text);
            assert_eq!(names(&s), ["統計年月", "區域別", "村里", "出生數"]);
            assert_eq!(s.aliases[0], ["statistic_yyymm"]);
            assert_eq!(s.aliases[3], ["birth_total"]);
            assert_eq!(s.rows.len(), 2);
            assert_eq!(s.rows[0].0, 3);
            let e = s.rule("machine_name_row").unwrap();
            assert_eq!(e.count, 4);
            assert_eq!(
                (e.examples[0].before.as_str(), e.examples[0].after.as_deref()),
                ("statistic_yyymm", Some("統計年月"))
            );
            assert!(s.rule("header_merge").is_none());
        }
    }

    #[test]
    fn a_first_data_row_under_an_english_header_is_not_a_label_row() {
        let s = shape("id,name,price,code\n1,鳳山區,1.50,007\n-2,三民區,-3,010\n3,,1e3,\n");
        assert_eq!(names(&s), ["id", "name", "price", "code"]);
        assert_eq!(s.rows.len(), 3);
        assert!(s.rule("machine_name_row").is_none());
        let s = shape("name,city\n王小明,臺北市\n李大華,臺南市\n");
        assert_eq!(names(&s), ["name", "city"]);
        assert_eq!(s.rows.len(), 2);
    }

    #[test]
    fn a_header_cell_with_a_line_break_is_not_a_title() {
        let s = shape("警員⏎(安全維護),note\n1,a⏎c\n2,plain\n");
        assert_eq!(names(&s), ["警員(安全維護)", "note"]);
        assert_eq!(s.rows.len(), 2);
    }

    #[test]
    fn a_machine_name_header_alone_is_the_header() {
        let s = shape("CODE2,H_CNT,P_CNT\nA6701-01,40,116\nA6701-02,66,164\n");
        assert_eq!(names(&s), ["CODE2", "H_CNT", "P_CNT"]);
        assert!(s.aliases.iter().all(Vec::is_empty));
        assert_eq!(s.rows.len(), 2);
    }

    // -----------------------------------------------------------------------------------------------------------
    // Header cells.

    #[test]
    fn header_cells_are_joined_trimmed_and_made_unique() {
        let s = shape(
            "區別⏎,104年⏎全年個案數,事業單位名稱⏎（負責人姓名）,警員⏎(安全維護),Population⏎Total, 名稱　,名稱,\n\
             北區,833,甲,1,2,x,y,z\n",
        );
        assert_eq!(
            names(&s),
            [
                "區別",
                "104年全年個案數",
                "事業單位名稱（負責人姓名）",
                "警員(安全維護)",
                "Population Total",
                "名稱",
                "名稱_2",
                "column_8"
            ]
        );
        assert_eq!(s.count("header_newline"), 5);
        let e = s.rule("header_newline").unwrap();
        assert_eq!(
            (e.examples[1].before.as_str(), e.examples[1].after.as_deref()),
            ("104年\n全年個案數", Some("104年全年個案數"))
        );
        assert_eq!(s.count("duplicate_name"), 1);
        assert_eq!(s.count("empty_name"), 1);
    }

    #[test]
    fn join_label_separates_ascii_words_only() {
        assert_eq!(join_label("104年", "全年個案數"), "104年全年個案數");
        assert_eq!(join_label("違反", "法令條款"), "違反法令條款");
        assert_eq!(join_label("Population", "Total"), "Population Total");
        assert_eq!(join_label("Latitude", "（緯度）"), "Latitude（緯度）");
        assert_eq!(join_label("", "x"), "x");
        assert_eq!(join_lines("\n黃麗玲\r\n"), "黃麗玲");
    }

    // -----------------------------------------------------------------------------------------------------------
    // Rows that are not data.

    #[test]
    fn blank_and_footnote_rows_after_the_data_are_dropped() {
        let s = shape(
            "發生時間,發生地點,死亡受傷人數,車種\n\
             102年01月01日 03時00分,臺中市龍井區,死亡1;受傷1,普通重型-機車\n\
             ,,,\n\
             102年01月01日 03時15分,苗栗縣頭份鎮,死亡1;受傷0,其他人-人\n\
             資料提供日期：104年03月02日,,,\n\
             事故類別：A1類,,,\n\
             1. 本表不含A2類,,,\n\
             ,,,,,,,,\n",
        );
        assert_eq!(s.rows.len(), 2);
        assert_eq!(s.count("blank_row"), 2);
        assert_eq!(s.lines("blank_row"), [3, 8]);
        assert_eq!(s.count("footnote_row"), 3, "a note's continuation lines are notes too");
        assert_eq!(s.rule("footnote_row").unwrap().examples[0].before, "資料提供日期：104年03月02日");
    }

    #[test]
    fn a_note_like_value_in_a_data_row_is_data() {
        let s = shape(
            "編號,名稱,備註\n\
             1,甲,註：已撤銷\n\
             註冊商標,乙,\n\
             3,丙,說明\n",
        );
        assert_eq!(s.rows.len(), 3, "rows with values in several columns are data");
        assert!(s.rule("footnote_row").is_none());
        // One value per row, but not a note: data (a key without details yet).
        let s = shape("項次,名稱,內容\n1,甲,x\n2,,\n3,,\n");
        assert_eq!(s.rows.len(), 3);
        // A notes column first: its lone values are data.
        let s = shape("備註,數量\n註：一,1\n說明：二,\n");
        assert_eq!(s.rows.len(), 2);
        // A one-column table has no footnotes to tell apart.
        let s = shape("說明\n資料來源：內政部\n");
        assert_eq!(s.rows.len(), 1);
    }

    #[test]
    fn long_multi_line_notes_are_footnotes() {
        let s = shape(
            "區別,全年個案數,入夏個案數,已解除區別\n\
             北區,833,833,\n\
             ,,,\n\
             入夏截至0822尚有病例區域數：25區,,,\n\
             入夏截至0822尚有病例區域：共25 區⏎東區、南區、北區、中西區,,,\n",
        );
        assert_eq!(s.rows.len(), 1);
        assert_eq!(s.count("footnote_row"), 2);
    }

    #[test]
    fn total_rows_are_kept_out_of_the_data() {
        let s = shape(
            "區別,全年個案數,入夏個案數\n\
             總計,1668,1666\n\
             北區,833,833\n\
             小　計,833,833\n\
             臺南市,合計,1\n\
             ,Total,1\n\
             南區,132,132\n",
        );
        assert_eq!(s.column("區別"), ["北區", "臺南市", "南區"]);
        assert_eq!(s.count("total_row"), 3);
        assert_eq!(s.lines("total_row"), [2, 4, 6]);
        assert_eq!(s.rule("total_row").unwrap().examples[0].before, "總計, 1668, 1666");
    }

    #[test]
    fn a_repeated_header_block_is_dropped() {
        let s = shape(
            "臺南市違反勞動基準法事業單位一覽表,,\n\
             項次,事業單位名稱,處分日期\n\
             1,甲公司,1061018\n\
             2,乙公司,1061020\n\
             臺南市違反勞動基準法事業單位一覽表,,\n\
             項次,事業單位名稱,處分日期\n\
             3,丙公司,1061023\n",
        );
        assert_eq!(s.column("項次"), ["1", "2", "3"]);
        assert_eq!(s.lines("repeated_header"), [6]);
        assert_eq!(s.lines("title_row"), [1, 5]);
    }

    // -----------------------------------------------------------------------------------------------------------
    // Row width.

    #[test]
    fn empty_cells_past_the_header_are_ignored_and_values_are_errors() {
        let s = shape("a,b,c\n1,2,3,,,\n4,5,6\n");
        assert_eq!(s.rows.len(), 2);
        assert_eq!(s.rows[0].1.len(), 3);
        match shape_with("a,b,c\n1,2,3\n4,5,6,,7\n", options()) {
            Err(e @ IngestError::Malformed { line: 3, .. }) => {
                assert!(e.message(tapwater_types::Lang::En).contains("5 cells but the header has 3 columns"))
            }
            other => panic!("expected too many cells on line 3, got {other:?}"),
        }
    }

    #[test]
    fn an_unnamed_header_column_appears_when_a_row_fills_it() {
        // A trailing comma on every line (moi_segis_tainan_district_population_97Y-99Y_big5.csv): the empty last
        // column is left out …
        let s = shape("縣市,戶數,\n臺南市,68784,\n臺南市,42025,\n");
        assert_eq!(names(&s), ["縣市", "戶數"]);
        // … until a row (past the window) fills it.
        let mut text = "縣市,戶數,\n".to_string();
        for _ in 0..LOOKAHEAD_ROWS + 5 {
            text.push_str("臺南市,1,\n");
        }
        text.push_str("臺南市,2,note\n");
        let s = shape(&text);
        assert_eq!(names(&s), ["縣市", "戶數", "column_3"]);
        assert_eq!(s.rows.last().unwrap().1, ["臺南市", "2", "note"]);
    }

    // -----------------------------------------------------------------------------------------------------------
    // Fill-down.

    #[test]
    fn an_optional_column_is_not_filled_down() {
        // 英文名 is blank on some rows, but its values repeat on consecutive rows: not a group key.
        let s = shape("序號,姓名,英文名,電話\n1,王,Wang,02\n2,李,,03\n3,陳,Chen,04\n4,林,Chen,05\n");
        assert!(s.rule("fill_down").is_none());
        assert_eq!(s.column("英文名")[1], "");
        // Blank on the first data row: no pattern.
        let s = shape("區,名稱,數量\n,甲,1\n東區,乙,2\n,丙,3\n");
        assert!(s.rule("fill_down").is_none());
        // Past the first three columns: never.
        let s = shape("a,b,c,組,e,f\n1,2,3,甲,5,6\n1,2,3,,5,6\n1,2,3,乙,5,6\n");
        assert!(s.rule("fill_down").is_none());
    }

    #[test]
    fn trim_bytes_strips_office_padding() {
        assert_eq!(trim_bytes(" \u{3000}北區\u{a0}\t".as_bytes()), "北區".as_bytes());
        assert_eq!(trim_bytes(b"   "), b"");
        assert!(
            is_total_label("總　計".as_bytes()) && is_total_label(b" TOTAL ") && !is_total_label("總計數".as_bytes())
        );
    }

    // -----------------------------------------------------------------------------------------------------------
    // Real files.

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
    }

    /// Shapes a real file through its reader (both passes), cells as published.
    fn shape_file(name: &str) -> Shaped {
        let path = fixture(name);
        let prefix = std::fs::read(&path).unwrap();
        let sniffed = sniff(&prefix[..prefix.len().min(crate::SNIFF_BYTES)]).unwrap();
        let eudc = Default::default();
        let open = || -> Box<dyn GridSource> {
            let options =
                OpenOptions { check_utf8: true, known_columns: None, max_columns: 2000, table: None, eudc: &eudc };
            match crate::source::open(&path, &sniffed, options).unwrap() {
                Opened::Grid(grid) => grid,
                Opened::Records(_) => panic!("{name} is not a grid"),
            }
        };
        shape_both(open, options()).unwrap()
    }

    fn check(name: &str) -> crate::IngestReport {
        check_files(&[crate::InputFile::new(fixture(name))], &IngestOptions::default()).unwrap()
    }

    #[test]
    fn real_npa_2018_footnotes_with_trailing_commas() {
        let s = shape_file("npa_a1_traffic_accidents_2018.csv");
        assert_eq!(&names(&s)[..4], ["發生年度", "發生月份", "發生日期", "發生時間"]);
        assert_eq!(s.rows.len(), 3675);
        assert_eq!(s.count("footnote_row"), 2);
        let notes: Vec<&str> = s.rule("footnote_row").unwrap().examples.iter().map(|x| x.before.as_str()).collect();
        assert_eq!(notes, ["資料提供日期：111年09月28日", "事故類別：A1類"]);
        // The notes are the file's last two lines (a CRLF file: line numbers as a text editor shows them).
        assert_eq!(s.lines("footnote_row"), [3677, 3678]);
        assert_eq!(s.rows.last().unwrap().0, 3676);
        assert_eq!(s.rows[0].1[4], "A1");
        let report = check("npa_a1_traffic_accidents_2018.csv");
        assert_eq!(report.row_count, 3675);
    }

    #[test]
    fn real_npa_roc102_footnotes() {
        let s = shape_file("npa_a1_traffic_accidents_roc102_2013.csv");
        assert_eq!(names(&s), ["發生時間", "發生地點", "死亡受傷人數", "車種"]);
        assert_eq!(s.rows.len(), 1867);
        assert_eq!(s.rows[0].1[0], "102年01月01日 03時00分");
        assert_eq!(
            s.rows[1866].1[..3],
            ["102年12月31日 20時19分", "新北市萬里區加投路243號前0.0公尺數", "死亡1;受傷1"]
        );
        assert_eq!(s.count("footnote_row"), 2);
        assert_eq!(check("npa_a1_traffic_accidents_roc102_2013.csv").row_count, 1867);
    }

    #[test]
    fn real_moi_births_two_header_rows_machine_names_as_aliases() {
        let s = shape_file("moi_village_births_deaths_marriages_2016-04.csv");
        assert_eq!(
            names(&s),
            [
                "統計年月",
                "區域別",
                "村里",
                "出生數",
                "出生數-男",
                "出生數-女",
                "死亡數",
                "死亡數-男",
                "死亡數-女",
                "結婚對數",
                "離婚對數"
            ]
        );
        assert_eq!(s.aliases[0], ["statistic_yyymm"]);
        assert_eq!(s.aliases[1], ["site_id"]);
        assert_eq!(s.aliases[10], ["divorce_pair"]);
        assert_eq!(s.rows.len(), 7851);
        assert_eq!(
            s.rows[0],
            (3, ["10504", "新北市板橋區", "留侯里", "1", "0", "1", "2", "2", "0", "1", "0"].map(String::from).to_vec())
        );
        let report = check("moi_village_births_deaths_marriages_2016-04.csv");
        assert_eq!(report.row_count, 7851);
        let field = report.schema.field("統計年月").unwrap();
        assert!(field.answers_to("statistic_yyymm"));
        assert_eq!(report.schema.resolve("birth_total_m"), report.schema.index_of("出生數-男"));
        assert_eq!(report.transform_log.of_rule("machine_name_row").next().unwrap().count, 11);
    }

    #[test]
    fn real_moi_education_machine_names_and_a_total_column() {
        let s = shape_file("moi_village_education_level_roc104_2015.csv");
        assert_eq!(&names(&s)[..5], ["統計年", "區域別", "村里名稱", "總計", "博畢_男"]);
        assert_eq!(s.aliases[3], ["edu_age_15up_total"]);
        assert_eq!(s.rows.len(), 7851);
        assert!(s.rule("total_row").is_none(), "a column named 總計 is not a total row");
        assert_eq!(s.column("總計")[0], "1426");
    }

    #[test]
    fn real_cec_candidates_have_no_header() {
        let s = shape_file("cec_2016_legislator_candidates_elcand_T1.csv");
        assert_eq!(s.headers.len(), 16);
        assert_eq!(s.headers[0], "column_1");
        assert_eq!(s.headers[15], "column_16");
        assert_eq!(s.rows.len(), 354);
        assert_eq!(s.rows[0].1[6], "丁守中");
        assert_eq!(s.rows[0].0, 1);
        assert_eq!(s.lines("no_header"), [1]);
        let report = check("cec_2016_legislator_candidates_elcand_T1.csv");
        assert_eq!(report.row_count, 354);
        assert_eq!(report.schema.fields[6].name, "column_7");
    }

    #[test]
    fn real_files_without_shape_quirks_are_untouched() {
        let s = shape_file("tainan_apartment_management_committees_roc_slash_dates.csv");
        assert_eq!(s.rows.len(), 2919);
        assert_eq!(names(&s)[0], "編號");
        assert!(s.log.iter().all(|e| e.rule == "header_row" || e.rule == "decode"), "{:?}", s.log);
        let s = shape_file("tainan_dengue_insecticide_spraying_2015-08.csv");
        assert_eq!(s.rows.len(), 247);
        assert_eq!(names(&s)[11], "警員(安全維護)");
        assert_eq!(names(&s)[15], "可支援人力");
        assert!(s.rule("fill_down").is_none());
    }

    #[test]
    fn real_moi_births_2020_machine_names_and_2014_single_header() {
        let s = shape_file("moi_village_births_deaths_marriages_2020-10.csv");
        assert_eq!(s.headers.len(), 18);
        assert_eq!(&names(&s)[..4], ["統計年月", "區域別代碼", "區域別", "村里名稱"]);
        assert_eq!(s.aliases[1], ["district_code"]);
        assert_eq!(s.aliases[17], ["divorce_pair_SameSex_f"]);
        assert_eq!(s.rows.len(), 7760);
        assert_eq!(s.rows[0].1[1], "65000010001");
        let s = shape_file("moi_village_births_deaths_marriages_2014-04.csv");
        assert_eq!(&names(&s)[..3], ["統計年月", "區域別", "村里"]);
        assert!(s.aliases.iter().all(Vec::is_empty));
        assert_eq!(s.rows.len(), 7850);
    }

    #[test]
    fn real_segis_big5_machine_names_in_either_order() {
        // English codes first.
        let s = shape_file("moi_segis_tainan_population_by_statistical_area_105Y12M_big5.csv");
        assert_eq!(
            names(&s),
            [
                "二級發布區代碼",
                "一級發布區代碼",
                "最小統計區代碼",
                "戶數",
                "人口數",
                "男性人口數",
                "女性人口數",
                "資料時間"
            ]
        );
        assert_eq!(s.aliases[0], ["CODE2"]);
        assert_eq!(s.aliases[7], ["INFO_TIME"]);
        assert_eq!(s.rows.len(), 11870);
        assert_eq!(s.rows[0].1, ["A6701-01", "A6701-01-001", "A6701-0005-00", "40", "116", "63", "53", "105Y12M"]);
        // Chinese first, and a trailing comma on every line: the empty last column is left out.
        let s = shape_file("moi_segis_tainan_district_population_97Y-99Y_big5.csv");
        assert_eq!(
            names(&s),
            ["統計期或資料時間", "縣市代碼", "縣市名稱", "鄉鎮市區代碼", "鄉鎮市區名稱", "戶數", "人口數"]
        );
        assert_eq!(s.aliases[0], ["INFO_TIME"]);
        assert_eq!(s.aliases[6], ["P_CNT"]);
        assert_eq!(s.rows.len(), 54);
        assert_eq!(s.rows[53].1, ["99Y06M", "10021", "臺南市", "10021080", "中西區", "30067", "79759"]);
    }

    #[test]
    fn real_cec_big5_files() {
        let s = shape_file("cec_2020_polling_station_cross_village_big5.csv");
        assert_eq!(names(&s), ["column_1", "column_2", "column_3", "column_4", "column_5", "column_6"]);
        assert_eq!(s.rows.len(), 25);
        assert_eq!(s.rows[0].1, ["09", "007", "00", "020", "A001", "塘岐村、后沃村"]);
        // An all-empty last line is a blank row.
        let s = shape_file("cec_2019_tainan_legislator_byelection_prof_big5_eudc.csv");
        assert_eq!(&names(&s)[..3], ["行政區別", "村里別", "投開票所別"]);
        assert_eq!(s.rows.len(), 301);
        assert_eq!(s.count("blank_row"), 1);
        assert!(s.rule("fill_down").is_none());
    }

    #[test]
    fn real_labor_violations_xls_two_row_header_and_title() {
        // The first sheet is an example (範例) sheet; the reader picks the first with data.
        let s = shape_file("tainan_labor_violations_roc103-07-08.xls");
        assert_eq!(
            names(&s),
            ["項次", "事業單位/事業主", "違反法令條款", "違反法規內容", "處分書文號", "處分日期", "備註"]
        );
        assert_eq!(s.lines("title_row"), [1]);
        assert_eq!(s.count("header_merge"), 1);
        // Merged 項次 cells are filled by the reader; nothing is left to fill down.
        assert_eq!(s.column("項次")[..3], ["1", "1", "2"]);
        let s = shape_file("tainan_labor_violations_roc104-07.xlsx");
        assert_eq!(names(&s)[1], "事業單位名稱（負責人姓名）");
        assert_eq!(s.rows.len(), 6);
        assert_eq!(s.count("title_row"), 1);
    }

    #[test]
    fn real_water_stations_xls_group_header_over_two_columns() {
        let s = shape_file("twc_tainan_temporary_water_stations_roc105-02-09.xls");
        assert_eq!(
            names(&s),
            ["序號", "所別", "行政區", "臨時供水站名稱", "地址", "儲水桶噸數", "儲水桶數量", "聯絡人", "電話"]
        );
        assert_eq!(s.count("title_row"), 2);
        assert_eq!(s.rows.len(), 95);
        assert_eq!(s.column("所別")[1], "台南所", "merged over the group, filled by the reader");
    }

    #[test]
    fn real_dengue_by_district_xls_total_first_and_notes_below() {
        let s = shape_file("tainan_dengue_cases_by_district_roc1040822.xls");
        assert_eq!(names(&s), ["區別", "104年全年個案數", "104年入夏個案數", "已解除區別"]);
        assert_eq!(s.count("total_row"), 1);
        assert_eq!(s.rule("total_row").unwrap().examples[0].before.split(", ").next(), Some("總計"));
        assert_eq!(s.rows.len(), 27);
        assert_eq!(s.column("區別")[0], "關廟區");
        assert_eq!(s.count("footnote_row"), 4);
        assert_eq!(s.count("blank_row"), 1);
        assert_eq!(s.count("title_row"), 1);
    }
}
