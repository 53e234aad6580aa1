//! Type inference over every cell of a column.
//!
//! CKAN's DataPusher guessed types from the first rows and failed half-way through a load when a later cell said
//! `N/A` (FIELD-NOTES, ckan/ckan#1964). Here each column keeps the set of types every cell seen so far parses as;
//! a cell removes the types it does not fit, and the column gets the most specific type left after the last row.
//! A column with no type left is text, so a value is never dropped or altered.

use tapwater_types::{Field, FieldType, Pipeline, TableSchema};

use crate::source::RecordSource;
use crate::value::{self, LocalOffset, LocalZone};
use crate::{IngestError, Reporter};

const INTEGER: u8 = 1 << 0;
const DECIMAL: u8 = 1 << 1;
const BOOLEAN: u8 = 1 << 2;
const DATE: u8 = 1 << 3;
const DATETIME: u8 = 1 << 4;
const TIME: u8 = 1 << 5;
const ALL: u8 = INTEGER | DECIMAL | BOOLEAN | DATE | DATETIME | TIME;

/// Most specific first: the order in which a column's remaining candidates are tried.
const PREFERENCE: [(u8, FieldType); 6] = [
    (INTEGER, FieldType::Integer),
    (DECIMAL, FieldType::Decimal),
    (BOOLEAN, FieldType::Boolean),
    (DATE, FieldType::Date),
    (DATETIME, FieldType::Datetime),
    (TIME, FieldType::Time),
];

/// What one column's cells have shown so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ColumnInference {
    /// Types every non-null cell so far parses as (text is always possible and not stored).
    possible: u8,
    /// Whether any cell was non-null.
    seen_value: bool,
}

impl Default for ColumnInference {
    fn default() -> Self {
        ColumnInference { possible: ALL, seen_value: false }
    }
}

impl ColumnInference {
    /// Narrows the candidates with one non-null cell.
    #[inline]
    pub(crate) fn observe(&mut self, cell: &[u8], zone: &mut impl LocalOffset) {
        self.seen_value = true;
        if self.possible != 0 {
            self.possible &= matching_types(cell, self.possible, zone);
        }
    }

    /// The column's type after the last row.
    pub(crate) fn field_type(&self) -> FieldType {
        if !self.seen_value {
            // Every cell is null: no evidence for any type. Arrow's CSV inference silently widens such columns to
            // text (apache/arrow-rs#4903); we do the same on purpose, so a later version with values can still be
            // compared with this one without a type change from "null" to something.
            return FieldType::Text;
        }
        PREFERENCE.iter().find(|(bit, _)| self.possible & bit != 0).map_or(FieldType::Text, |&(_, t)| t)
    }
}

/// Which of the `candidates` the cell parses as. Only the candidates are tried, so a column that is already text
/// costs nothing, and an integer column tries two cheap scans.
#[inline]
fn matching_types(b: &[u8], candidates: u8, zone: &mut impl LocalOffset) -> u8 {
    let mut m = 0;
    if candidates & INTEGER != 0 && value::integer(b).is_some() {
        m |= INTEGER;
        // An integer of at most 15 digits is always a decimal; skip the second scan.
        if b.len() <= 15 {
            return m | (candidates & DECIMAL);
        }
    }
    if candidates & DECIMAL != 0 && value::is_decimal(b) {
        return m | DECIMAL;
    }
    if m != 0 {
        return m;
    }
    // The remaining shapes are disjoint: at most one can match.
    if candidates & BOOLEAN != 0 && value::boolean(b).is_some() {
        BOOLEAN
    } else if candidates & DATE != 0 && b.len() == 10 && value::date(b).is_some() {
        DATE
    } else if candidates & DATETIME != 0 && b.len() > 10 && value::datetime(b, zone).is_some() {
        DATETIME
    } else if candidates & TIME != 0 && value::time(b).is_some() {
        TIME
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::LocalZone;

    fn infer(cells: &[&str]) -> FieldType {
        let mut zone = LocalZone::new();
        let mut column = ColumnInference::default();
        for cell in cells {
            column.observe(cell.as_bytes(), &mut zone);
        }
        column.field_type()
    }

    #[test]
    fn picks_the_most_specific_type_that_fits_every_cell() {
        assert_eq!(infer(&["1", "2", "-3"]), FieldType::Integer);
        assert_eq!(infer(&["1", "2.5", "-3"]), FieldType::Decimal);
        assert_eq!(infer(&["1e3", "2"]), FieldType::Decimal);
        assert_eq!(infer(&["true", "FALSE"]), FieldType::Boolean);
        assert_eq!(infer(&["2016-01-01", "2016-02-29"]), FieldType::Date);
        assert_eq!(infer(&["2016-01-01T08:00:00", "2016-01-01 09:00"]), FieldType::Datetime);
        assert_eq!(infer(&["08:00", "23:59:59"]), FieldType::Time);
        assert_eq!(infer(&["鳳山區", "三民區"]), FieldType::Text);
    }

    #[test]
    fn one_bad_cell_anywhere_makes_the_column_text() {
        assert_eq!(infer(&["1", "2", "N/A"]), FieldType::Text);
        assert_eq!(infer(&["2016-01-01", "2016-02-30"]), FieldType::Text);
        assert_eq!(infer(&["08:00", "24:00"]), FieldType::Text);
        assert_eq!(infer(&["1", "1234567890123456", "1.5"]), FieldType::Text, "16 digits is no decimal");
        assert_eq!(infer(&["1234567890123456"]), FieldType::Integer, "but it is an integer");
        assert_eq!(infer(&["true", "1"]), FieldType::Text);
    }

    #[test]
    fn dates_and_datetimes_do_not_mix() {
        assert_eq!(infer(&["2020-01-01", "2020-01-01T08:00:00"]), FieldType::Text);
        assert_eq!(infer(&["2020-01-01T08:00:00", "08:00"]), FieldType::Text);
    }

    #[test]
    fn leading_zero_codes_stay_text() {
        assert_eq!(infer(&["65000010001", "09007030005"]), FieldType::Text);
        assert_eq!(infer(&["0001", "0002"]), FieldType::Text);
        assert_eq!(infer(&["0", "10"]), FieldType::Integer);
    }

    #[test]
    fn a_column_without_values_is_text() {
        assert_eq!(infer(&[]), FieldType::Text);
    }
}

/// What pass 1 decided: the table's schema and how pass 2 reads each column.
pub(crate) struct Inferred {
    /// The schema users see (names, types, units, aliases, roles).
    pub schema: TableSchema,
    pub row_count: u64,
}

/// Pass 1: every non-null cell narrows its column's possible types.
pub(crate) fn infer_pass(
    source: &mut dyn RecordSource,
    _pipeline: &Pipeline,
    max_columns: usize,
    reporter: &mut Reporter<'_>,
) -> Result<Inferred, IngestError> {
    reporter.report(source.bytes_read(), 0);
    let mut columns = vec![ColumnInference::default(); source.headers().len()];
    let mut zone = LocalZone::new();
    let mut rows = 0u64;
    while let Some(row) = source.next_row()? {
        if row.width() > columns.len() {
            if row.width() > max_columns {
                return Err(IngestError::TooManyColumns { count: row.width(), max: max_columns });
            }
            columns.resize(row.width(), ColumnInference::default());
        }
        for (i, column) in columns.iter_mut().enumerate() {
            if let Some(cell) = row.cell(i) {
                column.observe(cell, &mut zone);
            }
        }
        rows += 1;
        if rows.is_multiple_of(reporter.every) {
            reporter.report(source.bytes_read(), rows);
        }
    }
    // Columns a JSON source discovered after the last row that had them are covered by `resize` above.
    columns.resize(source.headers().len(), ColumnInference::default());
    reporter.report(source.bytes_read(), rows);
    let aliases = source.aliases().to_vec();
    let fields = source
        .headers()
        .iter()
        .zip(&columns)
        .enumerate()
        .map(|(i, (name, column))| Field {
            aliases: aliases.get(i).cloned().unwrap_or_default(),
            ..Field::new(name.clone(), column.field_type())
        })
        .collect();
    Ok(Inferred { schema: TableSchema { fields }, row_count: rows })
}
