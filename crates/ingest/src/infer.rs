//! Pass 1: deciding, over every cell of a column, how the column is read — its *reading* (a type and the rule
//! that gets there: "date via ROC forms", "integer with thousands separators", "decimal percent").
//!
//! CKAN's DataPusher guessed types from the first rows and failed half-way through a load when a later cell said
//! `N/A` (FIELD-NOTES, ckan/ckan#1964). Here each column keeps the set of readings every cell seen so far fits; a
//! cell removes the readings it does not fit, and after the last row the most specific reading left wins. Cells are
//! first cleaned by the cell-level rules (`trim`, `excel_guard`, `fullwidth`), then:
//!
//! - missing-value markers (`-`, `無`, `N/A` …) and declared sentinels are not evidence: they become null in a typed
//!   column, and stay as written in a text column;
//! - numbers: plain, then with thousands separators / currency marks, then with a percent sign;
//! - dates: ISO, ROC and local forms together (a column may mix `105/12/23` and `1051223`); compact digits
//!   (`1051223`, `20180101`, `10304`) are dates or year-months only under a name that says so (日期, 年月, date …),
//!   and then the date reading wins over the integer one; a date-shaped cell that is no real day (`105/02/30`) is
//!   tolerated when rare (at most 1 in 50 values: it becomes null, logged `invalid_date`), else the column is text;
//! - a column holding an Excel text guard (`'0943…`, `="1101"`) is text: the publisher asked for text.
//!
//! After the readings, the schema gains what the values say: units from headers and `%`, coordinate roles, and
//! WGS84 columns computed from TWD97 ones (see [`crate::normalize::geo`]). A column with no reading left is text,
//! so a value is never dropped or altered beyond the cell-level rules.
//!
//! Does not: look at a column's values to rename it, or guess a type for a column that holds no value (text).

use tapwater_types::{Field, FieldType, Pipeline, TableSchema, TransformEntry};

use crate::normalize::dates::{self, DateRules, DateValue};
use crate::normalize::geo::{self, Axis};
use crate::normalize::{self, NameHints, Rules};
use crate::source::RecordSource;
use crate::value::{self, LocalOffset, LocalZone};
use crate::{IngestError, Reporter};

const INTEGER: u16 = 1 << 0;
const DECIMAL: u16 = 1 << 1;
/// Integer with thousands separators or currency marks (or plain).
const NUM_INTEGER: u16 = 1 << 2;
/// Decimal with thousands separators or currency marks (or plain).
const NUM_DECIMAL: u16 = 1 << 3;
/// Decimal with a percent sign (every value has one).
const PERCENT: u16 = 1 << 4;
const BOOLEAN: u16 = 1 << 5;
/// A date in any form read: ISO, ROC, local.
const DATE: u16 = 1 << 6;
const DATETIME: u16 = 1 << 7;
const TIME: u16 = 1 << 8;
/// An ROC (or local) year-month, stored as text `YYYY-MM`.
const YEAR_MONTH: u16 = 1 << 9;
const ALL: u16 = (1 << 10) - 1;
const DATES: u16 = DATE | DATETIME | YEAR_MONTH;

/// At most one value in this many may be an impossible date in a column read as dates.
const INVALID_DATE_RATIO: u64 = 50;

/// How pass 2 reads a column's (cleaned) cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    /// As text, after the cell-level rules.
    Text,
    /// ROC or local year-months, written as text `YYYY-MM`.
    YearMonth,
    /// Plain integers, or with thousands separators and currency marks.
    Integer,
    /// Plain decimals, or with thousands separators, currency marks or a percent sign.
    Decimal,
    Boolean,
    /// ISO, ROC and local dates.
    Date,
    /// ISO, ROC and local date-times.
    Datetime,
    Time,
}

impl Reading {
    pub(crate) fn field_type(self) -> FieldType {
        match self {
            Reading::Text | Reading::YearMonth => FieldType::Text,
            Reading::Integer => FieldType::Integer,
            Reading::Decimal => FieldType::Decimal,
            Reading::Boolean => FieldType::Boolean,
            Reading::Date => FieldType::Date,
            Reading::Datetime => FieldType::Datetime,
            Reading::Time => FieldType::Time,
        }
    }

    fn forced(t: FieldType) -> Reading {
        match t {
            FieldType::Integer => Reading::Integer,
            FieldType::Decimal => Reading::Decimal,
            FieldType::Boolean => Reading::Boolean,
            FieldType::Date => Reading::Date,
            FieldType::Datetime => Reading::Datetime,
            FieldType::Time => Reading::Time,
            FieldType::Text => Reading::Text,
        }
    }
}

/// Where a column of the table gets its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The source's column `i`.
    Cell(usize),
    /// WGS84 longitude computed from the TWD97 columns `x` and `y`.
    Longitude { x: usize, y: usize },
    /// WGS84 latitude computed from the TWD97 columns `x` and `y`.
    Latitude { x: usize, y: usize },
}

/// How pass 2 makes one column of the table.
#[derive(Debug, Clone)]
pub(crate) struct ColumnPlan {
    pub origin: Origin,
    pub reading: Reading,
    /// The pipeline forced the type: cells that do not fit become null (`type_mismatch`) instead of failing.
    pub forced: bool,
    pub date_rules: DateRules,
    /// Declared sentinels of the column (and of `*`), as cleaned cell bytes.
    pub sentinels: Vec<Box<[u8]>>,
}

/// What pass 2 needs besides the schema.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// One per schema field, in schema order.
    pub columns: Vec<ColumnPlan>,
    pub rules: Rules,
    /// The pipeline's extra missing-value markers.
    pub missing_values: Vec<Box<[u8]>>,
    /// What pass 1 decided that a person should see (units from headers, coordinates …).
    pub decisions: Vec<TransformEntry>,
}

/// What pass 1 decided: the table's schema and how pass 2 reads each column.
pub(crate) struct Inferred {
    /// The schema users see (names, types, units, aliases, roles).
    pub schema: TableSchema,
    pub row_count: u64,
    pub(crate) plan: Plan,
}

/// Numbers seen in a column whose name says it holds coordinates, counted by the range they fall in (zero, how
/// agencies write "no coordinate", is not counted).
#[derive(Debug, Clone, Copy)]
struct Coordinates {
    axis: Axis,
    /// Values in each [`Values`] range, and (last) in none.
    counts: [u64; 5],
}

/// What one column's cells have shown so far.
#[derive(Debug, Clone)]
pub(crate) struct ColumnInference {
    /// Readings every value so far fits (text is always possible and not stored).
    possible: u16,
    /// Whether any cell was a value (not null, not a marker, not a sentinel).
    seen_value: bool,
    values: u64,
    /// Date-shaped values that are no real day or time (`105/02/30`, `105/525`).
    invalid_dates: u64,
    /// Compact digits under a date name that are no real day (`1051725`).
    invalid_compact: u64,
    /// Valid dates written with separators (not compact digits): with them, the column is a date column and an
    /// invalid compact value is a slip; without them, it may be a column of numbers.
    separated_dates: u64,
    /// Decorations seen on numbers ([`normalize::CURRENCY`] …).
    marks: u8,
    /// Nothing more to learn (text for sure, no coordinates to watch).
    done: bool,
    date_rules: DateRules,
    hints: NameHints,
    coordinates: Option<Coordinates>,
}

impl Default for ColumnInference {
    fn default() -> Self {
        ColumnInference::new(NameHints::default(), &Rules::default(), None)
    }
}

impl ColumnInference {
    fn new(hints: NameHints, rules: &Rules, axis: Option<Axis>) -> Self {
        ColumnInference {
            possible: ALL,
            seen_value: false,
            values: 0,
            invalid_dates: 0,
            invalid_compact: 0,
            separated_dates: 0,
            marks: 0,
            done: false,
            date_rules: DateRules {
                roc_date: rules.roc_date,
                roc_datetime: rules.roc_datetime,
                roc_year_month: rules.roc_year_month,
                local_date: rules.local_date,
                compact_date: hints.date,
                compact_year_month: hints.year_month,
            },
            hints,
            coordinates: axis.map(|axis| Coordinates { axis, counts: [0; 5] }),
        }
    }

    /// Narrows the candidates with one value (a cleaned cell that is no marker or sentinel).
    #[inline]
    pub(crate) fn observe(&mut self, cell: &[u8], rules: &Rules, zone: &mut impl LocalOffset) {
        self.seen_value = true;
        self.values += 1;
        if self.possible != 0 {
            let (m, date, marks) = matching(cell, self.possible, rules, &self.date_rules, zone);
            self.possible &= m;
            match date {
                DateKind::None => {}
                DateKind::Separated => self.separated_dates += 1,
                DateKind::Invalid => self.invalid_dates += 1,
                DateKind::InvalidCompact => self.invalid_compact += 1,
            }
            self.marks |= marks;
        }
        if let Some(c) = &mut self.coordinates {
            match value::decimal(cell) {
                Some(v) if v != 0.0 => c.counts[Values::of(v).map_or(4, |k| k as usize)] += 1,
                Some(_) => {}
                None => self.coordinates = None,
            }
        }
        self.done = self.possible == 0 && self.coordinates.is_none();
    }

    /// The column is text whatever follows (an Excel text guard was seen).
    fn make_text(&mut self) {
        self.possible = 0;
        self.done = self.coordinates.is_none();
    }

    /// The column's reading after the last row.
    pub(crate) fn reading(&self) -> Reading {
        if !self.seen_value {
            // Every cell is null: no evidence for any type. Arrow's CSV inference silently widens such columns to
            // text (apache/arrow-rs#4903); we do the same on purpose, so a later version with values can still be
            // compared with this one without a type change from "null" to something.
            return Reading::Text;
        }
        let p = self.possible;
        // Compact digits that are no day make a column of compact digits numbers (every value must be a date), but
        // are slips among dates written with separators.
        let invalid = self.invalid_dates + if self.separated_dates > 0 { self.invalid_compact } else { 0 };
        let dates_ok = (self.separated_dates > 0 || self.invalid_compact == 0)
            && invalid * INVALID_DATE_RATIO <= self.values
            && invalid < self.values;
        // Under a date-like name, compact digits are dates before they are integers.
        if p & DATE != 0 && self.hints.date && dates_ok {
            return Reading::Date;
        }
        if p & YEAR_MONTH != 0 && self.hints.year_month && dates_ok {
            return Reading::YearMonth;
        }
        if p & (INTEGER | NUM_INTEGER) != 0 {
            return Reading::Integer;
        }
        if p & (DECIMAL | NUM_DECIMAL | PERCENT) != 0 {
            return Reading::Decimal;
        }
        if p & BOOLEAN != 0 {
            return Reading::Boolean;
        }
        if dates_ok {
            if p & DATE != 0 {
                return Reading::Date;
            }
            if p & DATETIME != 0 {
                return Reading::Datetime;
            }
            if p & YEAR_MONTH != 0 {
                return Reading::YearMonth;
            }
        }
        if p & TIME != 0 {
            return Reading::Time;
        }
        Reading::Text
    }

    /// The column's type after the last row.
    #[cfg(test)]
    pub(crate) fn field_type(&self) -> FieldType {
        self.reading().field_type()
    }

    /// Whether the column's numbers carry a percent sign (its unit is then `%`).
    fn is_percent(&self) -> bool {
        self.possible & (INTEGER | DECIMAL | NUM_INTEGER | NUM_DECIMAL) == 0 && self.possible & PERCENT != 0
    }
}

/// What a cell showed about dates, beyond the readings it fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateKind {
    None,
    /// A valid date (or date-time, year-month) written with separators or words.
    Separated,
    /// Date-shaped but no real day or time.
    Invalid,
    /// Compact digits under a date name, but no real day.
    InvalidCompact,
}

/// Which of the `candidates` the cell fits, what it showed about dates, and the number decorations it has.
/// Only the candidates are tried, so a column that is already text costs nothing, and an integer column tries two
/// cheap scans.
#[inline]
fn matching(
    b: &[u8],
    candidates: u16,
    rules: &Rules,
    date_rules: &DateRules,
    zone: &mut impl LocalOffset,
) -> (u16, DateKind, u8) {
    let mut m = 0;
    let mut marks = 0;
    let Some(&first) = b.first() else { return (0, DateKind::None, 0) };
    if candidates & (INTEGER | DECIMAL | NUM_INTEGER | NUM_DECIMAL) != 0
        && (first.is_ascii_digit() || first == b'-' || first == b'+')
    {
        if value::integer(b).is_some() {
            m |= INTEGER | NUM_INTEGER;
            // An integer of at most 15 digits is always a decimal; skip the second scan.
            if b.len() <= 15 || value::is_decimal(b) {
                m |= DECIMAL | NUM_DECIMAL;
            }
        } else if value::is_decimal(b) {
            m |= DECIMAL | NUM_DECIMAL;
        }
    }
    // Decorations start with a sign, a digit, `$`, `NT` or a non-ASCII mark (＄, 新臺幣).
    let may_be_decorated = !first.is_ascii_alphabetic() || first == b'N';
    if m == 0
        && candidates & (NUM_INTEGER | NUM_DECIMAL | PERCENT) != 0
        && may_be_decorated
        && let Some(d) = normalize::decorated_number(b, rules)
    {
        marks = d.marks;
        if d.marks & normalize::PERCENT != 0 {
            if d.decimal.is_some() {
                m |= PERCENT;
            }
        } else {
            if d.integer.is_some() {
                m |= NUM_INTEGER;
            }
            if d.decimal.is_some() {
                m |= NUM_DECIMAL;
            }
        }
    }
    let mut date = DateKind::None;
    if candidates & DATES != 0 {
        if candidates & DATE != 0 && b.len() == 10 && value::date(b).is_some() {
            m |= DATE;
            date = DateKind::Separated;
        } else if candidates & DATETIME != 0 && b.len() > 10 && value::datetime(b, zone).is_some() {
            m |= DATETIME;
            date = DateKind::Separated;
        } else if let Some((v, _)) = dates::read_date(b, date_rules) {
            let compact = b.iter().all(u8::is_ascii_digit);
            date = if compact { DateKind::None } else { DateKind::Separated };
            match v {
                DateValue::Date(_) => m |= DATE,
                DateValue::Datetime { days, seconds } => {
                    m |= DATETIME;
                    if zone.offset(days, seconds).is_none() {
                        date = DateKind::Invalid;
                    }
                }
                DateValue::YearMonth { .. } => m |= YEAR_MONTH,
                DateValue::Invalid if compact => {
                    m |= DATE;
                    date = DateKind::InvalidCompact;
                }
                DateValue::Invalid => {
                    m |= DATES;
                    date = DateKind::Invalid;
                }
            }
        }
    }
    if m == 0 {
        // Booleans and times share no shape with numbers and dates, nor with each other.
        if candidates & BOOLEAN != 0 && value::boolean(b).is_some() {
            m = BOOLEAN;
        } else if candidates & TIME != 0 && value::time(b).is_some() {
            m = TIME;
        }
    }
    (m, date, marks)
}

/// Pass 1: every value narrows its column's readings; then the schema and the plan of pass 2.
pub(crate) fn infer_pass(
    source: &mut dyn RecordSource,
    pipeline: &Pipeline,
    max_columns: usize,
    reporter: &mut Reporter<'_>,
) -> Result<Inferred, IngestError> {
    reporter.report(source.bytes_read(), 0);
    let rules = Rules::from_pipeline(pipeline);
    let missing_values: Vec<Box<[u8]>> = pipeline.missing_values.iter().map(|m| m.as_bytes().into()).collect();
    let mut setup = ColumnSetup::new(pipeline, &rules);
    let mut columns: Vec<ColumnInference> = Vec::new();
    setup.extend(&mut columns, source.headers(), source.aliases());
    let mut cells = CellReader { rules, missing_values, zone: LocalZone::new(), scratch: Vec::new() };
    // Cells of columns a JSON source discovered in the current row, held until their names are known.
    let mut pending: Vec<(usize, Option<Vec<u8>>)> = Vec::new();
    let mut rows = 0u64;
    loop {
        {
            let Some(row) = source.next_row()? else { break };
            let known = columns.len().min(row.width());
            if row.width() > columns.len() {
                if row.width() > max_columns {
                    return Err(IngestError::TooManyColumns { count: row.width(), max: max_columns });
                }
                pending.extend((known..row.width()).map(|i| (i, row.cell(i).map(<[u8]>::to_vec))));
            }
            for (i, column) in columns[..known].iter_mut().enumerate() {
                if !column.done
                    && let Some(raw) = row.cell(i)
                {
                    cells.observe(column, &setup, i, raw);
                }
            }
        }
        if !pending.is_empty() {
            // The row is released: the source can say the new columns' names, which decide their hints.
            setup.extend(&mut columns, source.headers(), source.aliases());
            for (i, cell) in pending.drain(..) {
                if i >= columns.len() {
                    columns.resize_with(i + 1, ColumnInference::default);
                }
                if let Some(raw) = cell {
                    cells.observe(&mut columns[i], &setup, i, &raw);
                }
            }
        }
        rows += 1;
        if rows.is_multiple_of(reporter.every) {
            reporter.report(source.bytes_read(), rows);
        }
    }
    reporter.report(source.bytes_read(), rows);
    let headers = source.headers().to_vec();
    let aliases = source.aliases().to_vec();
    // Columns a JSON source discovered after the last row that had them.
    setup.extend(&mut columns, &headers, &aliases);
    columns.truncate(headers.len());
    let (schema, plan) = plan(&headers, &aliases, &columns, pipeline, cells.rules, cells.missing_values, &setup);
    Ok(Inferred { schema, row_count: rows, plan })
}

/// Cleans a cell and lets it narrow its column, with the buffers that reuse.
struct CellReader {
    rules: Rules,
    missing_values: Vec<Box<[u8]>>,
    zone: LocalZone,
    scratch: Vec<u8>,
}

impl CellReader {
    #[inline]
    fn observe(&mut self, column: &mut ColumnInference, setup: &ColumnSetup<'_>, i: usize, raw: &[u8]) {
        let (cell, changed) = if self.rules.cleans_cells() && normalize::may_need_cleaning(raw) {
            normalize::clean(raw, &self.rules, &mut self.scratch)
        } else {
            (raw, 0)
        };
        if cell.is_empty() || setup.is_sentinel(i, cell) {
            return;
        }
        if changed & normalize::GUARDED != 0 {
            column.make_text();
            if column.done {
                return;
            }
        }
        // A marker never starts with a digit: plain numbers skip the comparisons.
        if self.rules.missing_value
            && (!cell[0].is_ascii_digit() || !self.missing_values.is_empty())
            && normalize::is_missing_marker(cell, &self.missing_values)
        {
            return;
        }
        column.observe(cell, &self.rules, &mut self.zone);
    }
}

/// Per-column settings known from names and the pipeline before any cell is read.
struct ColumnSetup<'p> {
    pipeline: &'p Pipeline,
    rules: Rules,
    /// Sentinels per source column (declared for it, or `*`).
    sentinels: Vec<Vec<Box<[u8]>>>,
}

impl<'p> ColumnSetup<'p> {
    fn new(pipeline: &'p Pipeline, rules: &Rules) -> Self {
        ColumnSetup { pipeline, rules: *rules, sentinels: Vec::new() }
    }

    fn column_sentinels(&self, name: &str) -> Vec<Box<[u8]>> {
        if !self.rules.sentinel {
            return Vec::new();
        }
        let mut scratch = Vec::new();
        let mut out = Vec::new();
        for key in [name, "*"] {
            for s in self.pipeline.sentinels.get(key).into_iter().flatten() {
                // Sentinels are compared with cleaned cells, so clean them alike (` -99 ` is `-99`).
                let (c, _) = normalize::clean(s.as_bytes(), &self.rules, &mut scratch);
                out.push(c.into());
            }
        }
        out
    }

    fn inference_for(&self, name: &str, aliases: &[String]) -> (ColumnInference, Vec<Box<[u8]>>) {
        let hints = NameHints::of(std::iter::once(name).chain(aliases.iter().map(String::as_str)));
        let axis = geo::axis_of(name);
        let mut column = ColumnInference::new(hints, &self.rules, axis);
        // A forced type or a code list fixes the reading: only coordinates are still watched.
        if self.pipeline.types.contains_key(name) || self.pipeline.code_lists.contains_key(name) {
            column.make_text();
        }
        (column, self.column_sentinels(name))
    }

    /// Sets up the columns named in `headers` beyond those already there.
    fn extend(&mut self, columns: &mut Vec<ColumnInference>, headers: &[String], aliases: &[Vec<String>]) {
        for (i, name) in headers.iter().enumerate().skip(columns.len()) {
            let (column, sentinels) = self.inference_for(name, aliases.get(i).map_or(&[], Vec::as_slice));
            columns.push(column);
            self.sentinels.push(sentinels);
        }
    }

    #[inline]
    fn is_sentinel(&self, i: usize, cell: &[u8]) -> bool {
        self.sentinels.get(i).is_some_and(|s| s.iter().any(|x| **x == *cell))
    }
}

/// The schema and the plan of pass 2, from what pass 1 saw.
fn plan(
    headers: &[String],
    aliases: &[Vec<String>],
    columns: &[ColumnInference],
    pipeline: &Pipeline,
    rules: Rules,
    missing_values: Vec<Box<[u8]>>,
    setup: &ColumnSetup<'_>,
) -> (TableSchema, Plan) {
    let mut fields = Vec::with_capacity(headers.len());
    let mut plans = Vec::with_capacity(headers.len());
    let mut decisions = Vec::new();
    for (i, (name, column)) in headers.iter().zip(columns).enumerate() {
        let forced = pipeline.types.get(name).copied();
        let reading = match forced {
            Some(t) => Reading::forced(t),
            None if pipeline.code_lists.contains_key(name) => Reading::Text,
            None => column.reading(),
        };
        let mut field = Field {
            aliases: aliases.get(i).cloned().unwrap_or_default(),
            ..Field::new(name.clone(), reading.field_type())
        };
        if rules.header_unit
            && let Some(unit) = normalize::header_unit(name)
        {
            decisions.push(TransformEntry {
                column: Some(name.clone()),
                rule: "header_unit".into(),
                count: 1,
                detail: Some(format!("{name} → unit {unit}")),
                ..TransformEntry::default()
            });
            field.unit = Some(unit);
        }
        if field.unit.is_none() && reading == Reading::Decimal && forced.is_none() {
            if column.is_percent() {
                field.unit = Some("%".into());
            } else if column.marks & normalize::CURRENCY != 0 {
                // NT$, $ and 元 on Taiwanese agencies' numbers all mean New Taiwan dollars.
                field.unit = Some("元".into());
            }
        }
        if field.unit.is_none()
            && reading == Reading::Integer
            && forced.is_none()
            && column.marks & normalize::CURRENCY != 0
        {
            field.unit = Some("元".into());
        }
        let mut date_rules = column.date_rules;
        if forced.is_some() {
            // A type the publisher forced reads every form it can.
            date_rules.compact_date = true;
            date_rules.compact_year_month = true;
        }
        fields.push(field);
        plans.push(ColumnPlan {
            origin: Origin::Cell(i),
            reading,
            forced: forced.is_some(),
            date_rules,
            sentinels: setup.sentinels.get(i).cloned().unwrap_or_default(),
        });
    }
    coordinates(columns, &mut fields, &mut plans, &rules, &mut decisions);
    (TableSchema { fields }, Plan { columns: plans, rules, missing_values, decisions })
}

/// What a coordinate column's values are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Values {
    Longitude = 0,
    Latitude = 1,
    Twd97X = 2,
    Twd97Y = 3,
}

impl Values {
    const ALL: [Values; 4] = [Values::Longitude, Values::Latitude, Values::Twd97X, Values::Twd97Y];

    /// The range a value falls in (the four are disjoint).
    fn of(v: f64) -> Option<Values> {
        Values::ALL.into_iter().find(|k| k.range().contains(&v))
    }

    fn range(self) -> std::ops::RangeInclusive<f64> {
        match self {
            Values::Longitude => geo::LONGITUDE,
            Values::Latitude => geo::LATITUDE,
            Values::Twd97X => geo::TWD97_X,
            Values::Twd97Y => geo::TWD97_Y,
        }
    }

    /// The kind on the other axis (a swapped value).
    fn other(self) -> Values {
        match self {
            Values::Longitude => Values::Latitude,
            Values::Latitude => Values::Longitude,
            Values::Twd97X => Values::Twd97Y,
            Values::Twd97Y => Values::Twd97X,
        }
    }

    fn axis(self) -> Axis {
        match self {
            Values::Longitude | Values::Twd97X => Axis::X,
            Values::Latitude | Values::Twd97Y => Axis::Y,
        }
    }

    fn role(self) -> &'static str {
        match self {
            Values::Twd97X => "twd97_x",
            Values::Twd97Y => "twd97_y",
            Values::Longitude => "longitude",
            Values::Latitude => "latitude",
        }
    }

    fn words(self) -> &'static str {
        match self {
            Values::Longitude => "longitudes",
            Values::Latitude => "latitudes",
            Values::Twd97X => "TWD97 eastings (X)",
            Values::Twd97Y => "TWD97 northings (Y)",
        }
    }
}

/// Roles of coordinate columns, swapped latitude/longitude, and WGS84 columns computed from TWD97 pairs.
///
/// A column named as a coordinate gets the role its values say when at least 49 in 50 of its non-zero values fall in
/// one range (Taiwan's longitudes, latitudes, TWD97 eastings or northings). A column whose name says one axis and
/// whose values the other is logged `swapped_coordinates` (the role follows the values; the data is unchanged), and
/// so are the few values of a column that fall in the other axis's range (rows where the pair was swapped: NPA 2018
/// has two).
fn coordinates(
    columns: &[ColumnInference],
    fields: &mut Vec<Field>,
    plans: &mut Vec<ColumnPlan>,
    rules: &Rules,
    decisions: &mut Vec<TransformEntry>,
) {
    let mut found: Vec<(usize, Values)> = Vec::new();
    for (i, column) in columns.iter().enumerate() {
        let Some(c) = column.coordinates else { continue };
        let numeric = matches!(plans[i].reading, Reading::Integer | Reading::Decimal);
        let total: u64 = c.counts.iter().sum();
        let Some(values) = Values::ALL.into_iter().max_by_key(|k| c.counts[*k as usize]) else { continue };
        let count = c.counts[values as usize];
        if !numeric || total == 0 || count * 50 < total * 49 {
            continue;
        }
        found.push((i, values));
        let name = fields[i].name.clone();
        if values.axis() != c.axis {
            decisions.push(TransformEntry {
                column: Some(name.clone()),
                rule: "swapped_coordinates".into(),
                count,
                detail: Some(format!(
                    "named as the other axis but holds {}: its role says what it holds ({}); the data is unchanged",
                    values.words(),
                    values.role()
                )),
                ..TransformEntry::default()
            });
        }
        let swapped_rows = c.counts[values.other() as usize];
        if swapped_rows > 0 {
            decisions.push(TransformEntry {
                column: Some(name),
                rule: "swapped_coordinates".into(),
                count: swapped_rows,
                detail: Some(format!(
                    "{swapped_rows} values hold {} instead of {}: the pair looks swapped in those rows; the data is \
                     unchanged",
                    values.other().words(),
                    values.words()
                )),
                ..TransformEntry::default()
            });
        }
        fields[i].role = Some(values.role().into());
    }
    if !rules.twd97 {
        return;
    }
    let x = found.iter().find(|f| f.1 == Values::Twd97X).map(|f| f.0);
    let y = found.iter().find(|f| f.1 == Values::Twd97Y).map(|f| f.0);
    let (Some(x), Some(y)) = (x, y) else { return };
    let (x_name, y_name) = (fields[x].name.clone(), fields[y].name.clone());
    let taken = |n: &str, fields: &[Field]| fields.iter().any(|f| f.name == n || f.aliases.iter().any(|a| a == n));
    let (mut lon, mut lat) = if x_name.is_ascii() {
        (format!("{x_name}_lon"), format!("{y_name}_lat"))
    } else if !taken("經度", fields) && !taken("緯度", fields) {
        ("經度".to_string(), "緯度".to_string())
    } else {
        (format!("{x_name}_經度"), format!("{y_name}_緯度"))
    };
    for name in [&mut lon, &mut lat] {
        let base = name.clone();
        let mut n = 2;
        while taken(name, fields) {
            *name = format!("{base}_{n}");
            n += 1;
        }
    }
    let derived = |name: &str, role: &str| Field {
        role: Some(role.into()),
        derived_from: vec![x_name.clone(), y_name.clone()],
        ..Field::new(name, FieldType::Decimal)
    };
    let plan = |origin| ColumnPlan {
        origin,
        reading: Reading::Decimal,
        forced: false,
        date_rules: plans[x].date_rules,
        sentinels: Vec::new(),
    };
    let at = x.max(y) + 1;
    fields.insert(at, derived(&lat, "latitude"));
    fields.insert(at, derived(&lon, "longitude"));
    let (lon_plan, lat_plan) = (plan(Origin::Longitude { x, y }), plan(Origin::Latitude { x, y }));
    plans.insert(at, lat_plan);
    plans.insert(at, lon_plan);
    decisions.push(TransformEntry {
        column: Some(x_name.clone()),
        rule: "twd97".into(),
        count: 0,
        detail: Some(format!(
            "{x_name}, {y_name} (TWD97 TM2, EPSG:3826) → {lon}, {lat} (WGS84 degrees); rows without a coordinate \
             (empty or 0) get none"
        )),
        ..TransformEntry::default()
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column_named(name: &str, cells: &[&str]) -> ColumnInference {
        let rules = Rules::default();
        let mut zone = LocalZone::new();
        let mut column = ColumnInference::new(NameHints::of([name]), &rules, geo::axis_of(name));
        let mut scratch = Vec::new();
        for cell in cells {
            let (c, changed) = normalize::clean(cell.as_bytes(), &rules, &mut scratch);
            if c.is_empty() || normalize::is_missing_marker(c, &[]) {
                continue;
            }
            if changed & normalize::GUARDED != 0 {
                column.make_text();
            }
            column.observe(c, &rules, &mut zone);
        }
        column
    }

    fn read_as(name: &str, cells: &[&str]) -> Reading {
        column_named(name, cells).reading()
    }

    fn infer(cells: &[&str]) -> FieldType {
        column_named("c", cells).field_type()
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
        assert_eq!(infer(&["1", "2", "N/B"]), FieldType::Text);
        assert_eq!(infer(&["2016-01-01", "2016-02-30"]), FieldType::Text, "ISO text is not a date when it is no day");
        assert_eq!(infer(&["08:00", "24:00"]), FieldType::Text);
        assert_eq!(infer(&["1", "1234567890123456", "1.5"]), FieldType::Text, "16 digits is no decimal");
        assert_eq!(infer(&["1234567890123456"]), FieldType::Integer, "but it is an integer");
        assert_eq!(infer(&["true", "1"]), FieldType::Text);
    }

    #[test]
    fn missing_markers_are_no_evidence_in_typed_columns() {
        assert_eq!(infer(&["1", "2", "N/A", "-", "無", "－", "—"]), FieldType::Integer);
        assert_eq!(infer(&["無", "-"]), FieldType::Text, "only markers: no value, so text");
        assert_eq!(infer(&["有", "無"]), FieldType::Text, "a text column keeps 無");
    }

    #[test]
    fn dates_and_datetimes_do_not_mix() {
        assert_eq!(infer(&["2020-01-01", "2020-01-01T08:00:00"]), FieldType::Text);
        assert_eq!(infer(&["2020-01-01T08:00:00", "08:00"]), FieldType::Text);
        assert_eq!(infer(&["105/01/01", "105/01/01 08:00"]), FieldType::Text);
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

    #[test]
    fn numbers_with_decorations() {
        assert_eq!(read_as("金額", &["1,234", "567", "1,234,567", "無"]), Reading::Integer);
        assert_eq!(read_as("金額", &["NT$1,200", "$300", "1200元"]), Reading::Integer);
        assert_eq!(read_as("金額", &["1,234.5", "3"]), Reading::Decimal);
        let percent = column_named("投票率", &["47.12%", "100%", "3.5%"]);
        assert_eq!(percent.reading(), Reading::Decimal);
        assert!(percent.is_percent());
        assert_eq!(read_as("投票率", &["47.12%", "0.5"]), Reading::Text, "percent and plain do not mix");
        assert_eq!(read_as("說明", &["3,400元/月"]), Reading::Text);
        assert_eq!(read_as("金額", &["1,23"]), Reading::Text, "not a thousands grouping");
    }

    #[test]
    fn full_width_digits_are_numbers_after_cleaning() {
        assert_eq!(read_as("受傷人數", &["１", "2", "-"]), Reading::Integer);
        assert_eq!(read_as("人數", &[" 12 ", "\u{3000}3"]), Reading::Integer);
    }

    #[test]
    fn excel_guards_keep_a_column_text() {
        assert_eq!(read_as("成立核准文號", &["'0943201436", "'0940023298"]), Reading::Text);
        assert_eq!(read_as("代碼", &["=\"1101\"", "1102"]), Reading::Text);
    }

    #[test]
    fn roc_dates_in_mixed_spellings() {
        let cells = ["105/12/23", "1051223", "105年12月23日", "105.12.23", "１０５/１/１", "民國105年1月2日", "-"];
        assert_eq!(read_as("發生日期", &cells), Reading::Date);
        assert_eq!(read_as("備註", &["105/12/23", "105年1月2日"]), Reading::Date, "separated forms need no name");
        assert_eq!(read_as("備註", &["105/12/23", "1051223"]), Reading::Text, "compact forms do");
    }

    #[test]
    fn compact_digits_are_dates_only_under_a_date_name_and_when_all_valid() {
        assert_eq!(read_as("人數", &["1051223", "1051224"]), Reading::Integer);
        assert_eq!(read_as("成立日期", &["1051223", "1051224"]), Reading::Date);
        assert_eq!(read_as("成立日期", &["1051223", "1050230"]), Reading::Integer, "one impossible: integers");
        let mut slips = vec!["105/01/05"; 100];
        slips.extend(["1051725", "105/525", "1050105"]);
        let column = column_named("處分日期", &slips);
        assert_eq!(column.reading(), Reading::Date, "among separated dates, slips are rare invalid dates");
        assert_eq!((column.invalid_dates, column.invalid_compact), (1, 1));
        assert_eq!(read_as("發生日期", &["20180101", "20181231"]), Reading::Date);
        assert_eq!(read_as("發生年度", &["2018"]), Reading::Integer);
        assert_eq!(read_as("統計年月", &["10304", "10305"]), Reading::YearMonth);
        assert_eq!(read_as("statistic_yyymm", &["10304"]), Reading::YearMonth);
        assert_eq!(read_as("區域別", &["10304"]), Reading::Integer);
        assert_eq!(read_as("發生時間", &["051200", "120000"]), Reading::Text, "HHMMSS with a leading zero is a code");
        assert_eq!(read_as("出生日期", &["0430901", "0520101"]), Reading::Date);
    }

    #[test]
    fn impossible_dates_are_tolerated_only_when_rare() {
        let mut cells = vec!["105/01/01"; 60];
        cells.push("105/02/30");
        let column = column_named("日期", &cells);
        assert_eq!(column.reading(), Reading::Date);
        assert_eq!(column.invalid_dates, 1);
        assert_eq!(read_as("日期", &["105/01/01", "105/02/30"]), Reading::Text, "common: the column stays text");
        assert_eq!(read_as("日期", &["105/02/30"]), Reading::Text);
    }

    #[test]
    fn roc_datetimes_and_year_months() {
        assert_eq!(read_as("發生時間", &["102年01月01日 03時00分", "102年12月31日 20時19分"]), Reading::Datetime);
        assert_eq!(read_as("發生時間", &["105年01月01日 02時45分00秒"]), Reading::Datetime);
        assert_eq!(read_as("時間", &["105.02.09   19:20"]), Reading::Datetime);
        assert_eq!(read_as("資料時間", &["105年12月", "105Y11M"]), Reading::YearMonth);
        assert_eq!(read_as("日期", &["08月13日", "08月14日"]), Reading::Text, "no year: text");
    }

    #[test]
    fn switching_a_rule_off_keeps_its_forms_text() {
        let rules = Rules { roc_date: false, ..Rules::default() };
        let mut zone = LocalZone::new();
        let mut column = ColumnInference::new(NameHints::of(["日期"]), &rules, None);
        column.observe(b"105/12/23", &rules, &mut zone);
        assert_eq!(column.reading(), Reading::Text);
        let rules = Rules { thousands: false, ..Rules::default() };
        let mut column = ColumnInference::new(NameHints::default(), &rules, None);
        column.observe(b"1,234", &rules, &mut zone);
        assert_eq!(column.reading(), Reading::Text);
    }

    #[test]
    fn coordinates_by_name_and_values() {
        let x = column_named("tw97x", &["306812.928", "0.000", "296635.115", "121.5"]);
        let c = x.coordinates.unwrap();
        assert_eq!((c.axis, c.counts), (Axis::X, [1, 0, 2, 0, 0]));
        assert!(column_named("name", &["1.5"]).coordinates.is_none());
        assert!(column_named("lat", &["x"]).coordinates.is_none(), "not numbers: no coordinates");
    }
}
