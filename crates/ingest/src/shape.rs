//! Finding the table in a grid of raw rows: the header among title rows, then the data rows.
//!
//! Interim: the first row is the header; every later row is data. (The full rules land with the table-shape work.)

use tapwater_types::TransformEntry;

use crate::source::{ColumnNames, GridSource, RecordSource, Row};
use crate::IngestError;

/// What the pipeline says about a grid's shape.
#[derive(Debug, Clone, Default)]
pub(crate) struct ShapeOptions<'a> {
    /// Header rows below the title rows: `Some(0)` for none, `None` to detect.
    pub header_rows: Option<u8>,
    /// Title rows above the header: `None` to detect.
    pub skip_rows: Option<u32>,
    pub max_columns: usize,
    /// On the conversion pass: the headers the inference pass found; a grid that now gives others has changed.
    pub known_columns: Option<&'a [String]>,
}

/// A grid read as a table: [`RecordSource`] over the data rows.
pub(crate) struct ShapedSource {
    grid: Box<dyn GridSource>,
    headers: Vec<String>,
    log: Vec<TransformEntry>,
}

impl ShapedSource {
    pub(crate) fn new(mut grid: Box<dyn GridSource>, options: &ShapeOptions<'_>) -> Result<Self, IngestError> {
        let mut names = ColumnNames::default();
        {
            let Some(row) = grid.next_row()? else { return Err(IngestError::Empty) };
            for i in 0..row.len() {
                names.push(row.text(i).unwrap_or_default());
            }
        }
        let headers = names.names().to_vec();
        if headers.len() > options.max_columns {
            return Err(IngestError::TooManyColumns { count: headers.len(), max: options.max_columns });
        }
        if let Some(known) = options.known_columns
            && known != headers.as_slice()
        {
            return Err(IngestError::changed(1, None));
        }
        Ok(ShapedSource { grid, headers, log: Vec::new() })
    }
}

impl RecordSource for ShapedSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn next_row(&mut self) -> Result<Option<Row<'_>>, IngestError> {
        let width = self.headers.len();
        let headers = &self.headers;
        let row = self.grid.next_row().map_err(|e| name_column(e, headers))?;
        match row {
            None => Ok(None),
            Some(row) if row.len() > width => Err(IngestError::too_many_cells(row.line(), row.len(), width)),
            Some(row) => Ok(Some(row.with_width(width))),
        }
    }

    fn bytes_read(&self) -> u64 {
        self.grid.bytes_read()
    }

    fn take_log(&mut self) -> Vec<TransformEntry> {
        let mut log = self.grid.take_log();
        log.append(&mut self.log);
        log
    }
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
