//! Checks over the values of a version's table, in one pass over its batches.
//!
//! Each column keeps a small state while the batches go by (counts, the first few rows and values concerned, for
//! numeric columns the values themselves for quantiles), and the whole table keeps one 128-bit hash per row for
//! repeats ([`rows`]). [`TableChecker::finish`] turns the states into findings. The checks are built for *no false
//! alarm on a clean government file*: each says in its module what it needs to see before it speaks.
//!
//! | code | severity | rule |
//! | --- | --- | --- |
//! | `mixed_types` | warning | a text column, not a code column, where ≥ 80 % of the values (and ≥ 20) are numbers (≥ 10 distinct, or the rest only words like 不詳) — or dates — and some are words |
//! | `date_format` | warning | a text column named or filled as dates holding dates not written as ISO 8601 |
//! | `empty_column` | warning | no value in any row |
//! | `constant_column` | info | ≥ 10 rows, all with the same value |
//! | `duplicate_rows` | warning | rows equal to an earlier row in every column |
//! | `primary_key` | error | a declared key column missing, a null in a key column, a key repeated |
//! | `numeric_outliers` | info | sentinel codes and isolated extreme values ([`numeric`]) |
//! | `code_list` | error | values outside the pipeline's code list or the metadata's `enum` |
//! | `constraints` | error | the metadata's required, unique, minimum, maximum, min/max length, pattern |
//! | `coordinates` | error | WGS84 values outside Taiwan, zeros, swapped longitude and latitude ([`geo`]) |
//! | `series_gaps` | warning | missing months or years in a periodic series ([`series`]) |

mod geo;
mod numeric;
mod rows;
mod series;
mod text;

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Scalar};
use arrow::compute::kernels::cmp;
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use regex::Regex;
use rustc_hash::FxHashSet;
use tapwater_types::{DatasetMetadata, FieldType, Finding, Pipeline, Severity, TableSchema};

use crate::codes::finding;
use geo::{Axis, CoordColumn, CoordPair};
use numeric::Numbers;
use rows::RepeatTracker;
use series::{Periods, Unit};
use text::{DateClass, NumberClass};

/// Rows and examples a finding keeps.
const EXAMPLES: usize = 5;

/// Distinct numbers a text column needs for its numbers to be quantities rather than category codes.
const QUANTITY_DISTINCT: usize = 10;

/// The rows and values a finding is about: how many, the first few rows, the first few distinct values.
#[derive(Debug, Default, Clone)]
struct Sample {
    count: u64,
    rows: Vec<u64>,
    examples: Vec<String>,
}

impl Sample {
    #[inline]
    fn add_row(&mut self, row: u64) {
        self.count += 1;
        if self.rows.len() < EXAMPLES {
            self.rows.push(row);
        }
    }

    #[inline]
    fn add_str(&mut self, row: u64, value: &str) {
        self.add_row(row);
        if self.examples.len() < EXAMPLES && !self.examples.iter().any(|e| e == value) {
            self.examples.push(value.to_string());
        }
    }

    #[inline]
    fn add_with(&mut self, row: u64, value: impl FnOnce() -> String) {
        self.add_row(row);
        if self.examples.len() < EXAMPLES {
            let value = value();
            if !self.examples.contains(&value) {
                self.examples.push(value);
            }
        }
    }

    /// `f` with this sample's count, rows and examples, about `column`.
    fn fill(self, mut f: Finding, column: &str) -> Finding {
        f.column = Some(column.to_string());
        f.count = self.count;
        f.rows = self.rows;
        f.examples = self.examples;
        f
    }
}

/// `3208` → `3,208`.
fn fmt_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Whether every row so far holds one value.
enum Constant {
    Unset,
    Text(String),
    Int(i64),
    Float(u64),
    /// Any other type: the first value, compared batch by batch with Arrow's `eq` kernel.
    Scalar(ArrayRef),
    Varies,
}

/// A code list: the codes as text, and as numbers for numeric columns (a code matches an integer only when it is
/// the integer written without decimals).
struct CodeList {
    texts: FxHashSet<String>,
    ints: FxHashSet<i64>,
    floats: FxHashSet<u64>,
    outside: Sample,
}

impl CodeList {
    fn new<'a>(codes: impl Iterator<Item = &'a String>) -> CodeList {
        let texts: FxHashSet<String> = codes.map(|c| c.trim().to_string()).collect();
        let ints = texts.iter().filter_map(|c| c.parse::<i64>().ok().filter(|i| i.to_string() == *c)).collect();
        let floats = texts
            .iter()
            .filter_map(|c| c.parse::<f64>().ok().filter(|f| f.to_string() == *c).map(f64::to_bits))
            .collect();
        CodeList { texts, ints, floats, outside: Sample::default() }
    }
}

/// The metadata's constraints on one column (other than required and unique, which need rows).
#[derive(Default)]
struct Limits {
    minimum: Option<(f64, Sample)>,
    maximum: Option<(f64, Sample)>,
    min_length: Option<(u64, Sample)>,
    max_length: Option<(u64, Sample)>,
    pattern: Option<(Regex, Sample)>,
}

impl Limits {
    #[inline]
    fn number(&mut self, x: f64, row: u64, render: impl Fn() -> String) {
        if let Some((min, s)) = &mut self.minimum
            && x < *min
        {
            s.add_with(row, &render);
        }
        if let Some((max, s)) = &mut self.maximum
            && x > *max
        {
            s.add_with(row, &render);
        }
    }

    #[inline]
    fn text(&mut self, v: &str, row: u64) {
        if self.min_length.is_some() || self.max_length.is_some() {
            let n = v.chars().count() as u64;
            if let Some((min, s)) = &mut self.min_length
                && n < *min
            {
                s.add_str(row, v);
            }
            if let Some((max, s)) = &mut self.max_length
                && n > *max
            {
                s.add_str(row, v);
            }
        }
        if let Some((re, s)) = &mut self.pattern
            && !re.is_match(v)
        {
            s.add_str(row, v);
        }
    }
}

/// What a text column's values look like.
#[derive(Default)]
struct TextStats {
    named_date: bool,
    /// Not a column of codes (a code list, an identifier's name, a type forced to text).
    mixed_allowed: bool,
    numbers: u64,
    /// The first distinct numbers, up to [`QUANTITY_DISTINCT`]: fewer, and the numbers may be category codes.
    distinct_numbers: Vec<Box<str>>,
    /// Non-numbers that are not a usual "no value" marker (不詳, N/A …).
    non_markers: u64,
    codes: u64,
    /// Values mixing digits with anything else (`2722-0152`, `A001`).
    other_digits: u64,
    non_numbers: Sample,
    iso: u64,
    non_iso: Sample,
    no_year: u64,
    non_dates: Sample,
}

impl TextStats {
    #[inline]
    fn add(&mut self, v: &str, row: u64) {
        match text::number_class(v) {
            NumberClass::Number => {
                self.numbers += 1;
                if self.distinct_numbers.len() < QUANTITY_DISTINCT && !self.distinct_numbers.iter().any(|d| &**d == v) {
                    self.distinct_numbers.push(v.into());
                }
            }
            NumberClass::Code => self.codes += 1,
            NumberClass::Word | NumberClass::WithUnit => {
                self.non_markers += u64::from(!text::MISSING_MARKERS.contains(&v));
                self.non_numbers.add_str(row, v);
            }
            NumberClass::Other => {
                self.other_digits += 1;
                self.non_markers += 1;
                self.non_numbers.add_str(row, v);
            }
        }
        match text::date_class(v, self.named_date) {
            DateClass::Iso => self.iso += 1,
            DateClass::Year => {}
            DateClass::Other { no_year } => {
                self.non_iso.add_str(row, v);
                self.no_year += u64::from(no_year);
            }
            DateClass::NotDate => self.non_dates.add_str(row, v),
        }
    }

    fn finish(self, column: &str, n: u64, findings: &mut Vec<Finding>) {
        let mostly = |k: u64| k >= 20 && k * 5 >= n * 4;
        if self.mixed_allowed
            && mostly(self.numbers)
            && self.codes == 0
            && self.other_digits * 50 <= n
            && self.non_numbers.count > 0
            // A few distinct numbers with a letter among them are category codes (1, 2, 3, A), unless the others
            // are only the usual words for "no value".
            && (self.distinct_numbers.len() >= QUANTITY_DISTINCT || self.non_markers == 0)
        {
            let k = self.non_numbers.count;
            let f = finding(
                "mixed_types",
                Severity::Warning,
                format!("{} of {} values of this column are text in a column of numbers.", fmt_count(k), fmt_count(n)),
                format!("此欄 {} 個值中有 {} 個為文字，其餘為數值。", fmt_count(n), fmt_count(k)),
            );
            findings.push(self.non_numbers.fill(f, column));
            return;
        }
        let dates = self.iso + self.non_iso.count;
        if self.mixed_allowed && mostly(dates) && self.non_dates.count > 0 {
            let k = self.non_dates.count;
            let mut f = finding(
                "mixed_types",
                Severity::Warning,
                format!(
                    "{} of {} values of this column are not dates in a column of dates.",
                    fmt_count(k),
                    fmt_count(n)
                ),
                format!("此欄 {} 個值中有 {} 個不是日期，其餘為日期。", fmt_count(n), fmt_count(k)),
            );
            f.fix = "Keep notes out of date columns: leave an unknown date empty, and put remarks in a column of \
                     their own."
                .into();
            f.fix_zh = "請勿在日期欄位中放入註記：日期不詳請留空，備註請另設欄位。".into();
            findings.push(self.non_dates.fill(f, column));
        }
        if (self.named_date || mostly(dates)) && self.non_iso.count > 0 {
            let k = self.non_iso.count;
            let no_year = self.no_year == k;
            let (en, zh) = if no_year {
                ("dates without a year, not written as", "日期缺少年份，未以")
            } else {
                ("dates not written as", "日期未以")
            };
            let mut f = finding(
                "date_format",
                Severity::Warning,
                format!("{} of {} values of this column are {en} ISO 8601 (YYYY-MM-DD).", fmt_count(k), fmt_count(n)),
                format!("此欄 {} 個值中有 {} 個{zh} ISO 8601（YYYY-MM-DD）書寫。", fmt_count(n), fmt_count(k)),
            );
            if no_year {
                f.fix = "Write each date in full with its year, as YYYY-MM-DD (西元年).".into();
                f.fix_zh = "請寫出含年份的完整日期，格式為 YYYY-MM-DD（西元年）。".into();
            }
            findings.push(self.non_iso.fill(f, column));
        }
    }
}

/// One column's state.
struct Column {
    index: usize,
    name: String,
    field_type: FieldType,
    role: Option<String>,
    /// Rows without a value (null, or text of spaces only).
    nulls: Sample,
    values: u64,
    constant: Constant,
    text: Option<TextStats>,
    numbers: Option<Numbers>,
    codes: Option<CodeList>,
    limits: Limits,
    required: bool,
    periods: Option<Periods>,
}

impl Column {
    #[inline]
    fn null(&mut self, row: u64) {
        self.nulls.add_row(row);
        self.constant = Constant::Varies;
        if let Some(n) = &mut self.numbers {
            n.values.push(f64::NAN);
        }
    }

    fn push(&mut self, array: &ArrayRef, first_row: u64) {
        match array.data_type() {
            DataType::Utf8 => self.push_text(array.as_string::<i32>().iter(), first_row),
            DataType::LargeUtf8 => self.push_text(array.as_string::<i64>().iter(), first_row),
            DataType::Utf8View => self.push_text(array.as_string_view().iter(), first_row),
            DataType::Int64 => self.push_i64(array, first_row),
            DataType::Float64 => self.push_f64(array, first_row),
            t if t.is_integer() => match arrow::compute::cast(array, &DataType::Int64) {
                Ok(a) => self.push_i64(&a, first_row),
                Err(_) => self.push_other(array, first_row),
            },
            t if t.is_floating() => match arrow::compute::cast(array, &DataType::Float64) {
                Ok(a) => self.push_f64(&a, first_row),
                Err(_) => self.push_other(array, first_row),
            },
            DataType::Dictionary(..) if self.field_type == FieldType::Text => {
                match arrow::compute::cast(array, &DataType::Utf8) {
                    Ok(a) => self.push_text(a.as_string::<i32>().iter(), first_row),
                    Err(_) => self.push_other(array, first_row),
                }
            }
            _ => self.push_other(array, first_row),
        }
    }

    fn push_text<'a>(&mut self, values: impl Iterator<Item = Option<&'a str>>, first_row: u64) {
        for (r, v) in values.enumerate() {
            let row = first_row + r as u64 + 1;
            let Some(v) = v.map(text::trim).filter(|v| !v.is_empty()) else {
                self.null(row);
                continue;
            };
            self.values += 1;
            match &mut self.constant {
                Constant::Unset => self.constant = Constant::Text(v.to_string()),
                Constant::Text(c) if c != v => self.constant = Constant::Varies,
                _ => {}
            }
            if let Some(t) = &mut self.text {
                t.add(v, row);
            }
            if let Some(codes) = &mut self.codes
                && !codes.texts.contains(v)
            {
                codes.outside.add_str(row, v);
            }
            self.limits.text(v, row);
            if let Some(p) = &mut self.periods
                && p.alive()
            {
                p.text(v);
            }
        }
    }

    fn push_i64(&mut self, array: &ArrayRef, first_row: u64) {
        for (r, v) in array.as_primitive::<Int64Type>().iter().enumerate() {
            let row = first_row + r as u64 + 1;
            let Some(x) = v else {
                self.null(row);
                continue;
            };
            self.values += 1;
            match self.constant {
                Constant::Unset => self.constant = Constant::Int(x),
                Constant::Int(c) if c != x => self.constant = Constant::Varies,
                _ => {}
            }
            if let Some(n) = &mut self.numbers {
                n.values.push(x as f64);
            }
            if let Some(codes) = &mut self.codes
                && !codes.ints.contains(&x)
            {
                codes.outside.add_with(row, || x.to_string());
            }
            self.limits.number(x as f64, row, || x.to_string());
            if let Some(p) = &mut self.periods
                && p.alive()
            {
                p.year(x);
            }
        }
    }

    fn push_f64(&mut self, array: &ArrayRef, first_row: u64) {
        for (r, v) in array.as_primitive::<Float64Type>().iter().enumerate() {
            let row = first_row + r as u64 + 1;
            let Some(x) = v.filter(|x| !x.is_nan()) else {
                self.null(row);
                continue;
            };
            self.values += 1;
            match self.constant {
                Constant::Unset => self.constant = Constant::Float(x.to_bits()),
                Constant::Float(c) if c != x.to_bits() => self.constant = Constant::Varies,
                _ => {}
            }
            if let Some(n) = &mut self.numbers {
                n.values.push(x);
            }
            if let Some(codes) = &mut self.codes
                && !codes.floats.contains(&x.to_bits())
            {
                codes.outside.add_with(row, || x.to_string());
            }
            self.limits.number(x, row, || x.to_string());
        }
    }

    /// Dates, times, booleans and anything unexpected: counted, compared with the first value, and rendered as
    /// text only for a code list or a pattern.
    fn push_other(&mut self, array: &ArrayRef, first_row: u64) {
        let nulls = array.null_count();
        if nulls > 0 {
            for r in 0..array.len() {
                if array.is_null(r) {
                    self.nulls.add_row(first_row + r as u64 + 1);
                }
            }
            self.constant = Constant::Varies;
        }
        self.values += (array.len() - nulls) as u64;
        match &self.constant {
            Constant::Unset if !array.is_empty() => {
                let first = array.slice(0, 1);
                self.constant = if all_equal(array, &first) { Constant::Scalar(first) } else { Constant::Varies };
            }
            Constant::Scalar(first) if !all_equal(array, first) => self.constant = Constant::Varies,
            _ => {}
        }
        if let Some(p) = &mut self.periods
            && p.alive()
            && let Some(dates) = array.as_primitive_opt::<arrow::datatypes::Date32Type>()
        {
            for d in dates.iter().flatten() {
                p.date(d);
            }
        }
        if self.codes.is_some() || self.limits.pattern.is_some() {
            let options = FormatOptions::default();
            let Ok(formatter) = ArrayFormatter::try_new(array.as_ref(), &options) else { return };
            for r in 0..array.len() {
                if array.is_valid(r) {
                    let v = formatter.value(r).to_string();
                    let row = first_row + r as u64 + 1;
                    if let Some(codes) = &mut self.codes
                        && !codes.texts.contains(&v)
                    {
                        codes.outside.add_str(row, &v);
                    }
                    if let Some((re, s)) = &mut self.limits.pattern
                        && !re.is_match(&v)
                    {
                        s.add_str(row, &v);
                    }
                }
            }
        }
    }

    fn finish(self, rows: u64, findings: &mut Vec<(usize, Finding)>) {
        let index = self.index;
        let name = self.name.as_str();
        let mut out: Vec<Finding> = Vec::new();
        let n = self.values;
        if rows > 0 && n == 0 {
            out.push(column_finding(
                "empty_column",
                Severity::Warning,
                name,
                rows,
                format!("This column is empty: none of its {} rows has a value.", fmt_count(rows)),
                format!("此欄為空白：{} 列皆無值。", fmt_count(rows)),
            ));
        }
        let constant = !matches!(self.constant, Constant::Unset | Constant::Varies);
        if constant && rows >= 10 && n == rows && self.role.as_deref() != Some("source_file") {
            out.push(column_finding(
                "constant_column",
                Severity::Info,
                name,
                rows,
                format!("Every one of the {} rows holds the same value in this column.", fmt_count(rows)),
                format!("此欄 {} 列的值全部相同。", fmt_count(rows)),
            ));
        }
        if let Some(t) = self.text {
            t.finish(name, n, &mut out);
        }
        if self.required && self.nulls.count > 0 {
            let k = self.nulls.count;
            let f = finding(
                "constraints",
                Severity::Error,
                format!(
                    "{} of {} rows have no value in this column, which is declared required.",
                    fmt_count(k),
                    fmt_count(rows)
                ),
                format!("此欄宣告為必填，但 {} 列中有 {} 列沒有值。", fmt_count(rows), fmt_count(k)),
            );
            out.push(self.nulls.clone().fill(f, name));
        }
        let Limits { minimum, maximum, min_length, max_length, pattern } = self.limits;
        let limits = [
            (minimum.map(|m| m.1), "are below the declared minimum", "小於宣告的最小值"),
            (maximum.map(|m| m.1), "are above the declared maximum", "大於宣告的最大值"),
            (min_length.map(|m| m.1), "are shorter than the declared minimum length", "短於宣告的最小長度"),
            (max_length.map(|m| m.1), "are longer than the declared maximum length", "長於宣告的最大長度"),
            (pattern.map(|m| m.1), "do not match the declared pattern", "不符合宣告的格式（pattern）"),
        ];
        for (sample, en, zh) in limits {
            if let Some(s) = sample.filter(|s| s.count > 0) {
                let f = finding(
                    "constraints",
                    Severity::Error,
                    format!("{} of {} values of this column {en}.", fmt_count(s.count), fmt_count(n)),
                    format!("此欄 {} 個值中有 {} 個{zh}。", fmt_count(n), fmt_count(s.count)),
                );
                out.push(s.fill(f, name));
            }
        }
        if let Some(codes) = self.codes
            && codes.outside.count > 0
        {
            let k = codes.outside.count;
            let f = finding(
                "code_list",
                Severity::Error,
                format!("{} of {} values of this column are not in its code list.", fmt_count(k), fmt_count(n)),
                format!("此欄 {} 個值中有 {} 個不在代碼表中。", fmt_count(n), fmt_count(k)),
            );
            out.push(codes.outside.fill(f, name));
        }
        if let Some(numbers) = self.numbers {
            out.extend(numbers.finish(name, self.field_type == FieldType::Integer));
        }
        if let Some(periods) = self.periods {
            out.extend(periods.finish(name));
        }
        findings.extend(out.into_iter().map(|f| (index, f)));
    }
}

/// Whether every value of `array` equals `first` (a one-element array) and none is null.
fn all_equal(array: &ArrayRef, first: &ArrayRef) -> bool {
    if array.null_count() > 0 || first.null_count() > 0 {
        return false;
    }
    match cmp::eq(array, &Scalar::new(first.clone())) {
        Ok(eq) => eq.true_count() == array.len(),
        Err(_) => false,
    }
}

fn column_finding(code: &str, severity: Severity, column: &str, count: u64, en: String, zh: String) -> Finding {
    let mut f = finding(code, severity, en, zh);
    f.column = Some(column.to_string());
    f.count = count;
    f
}

/// The declared primary key.
enum Key {
    None,
    /// Names that no column answers to.
    Missing(Vec<String>),
    Columns(Vec<usize>, RepeatTracker),
}

/// Reads a version's table batch by batch and collects findings about its values.
pub struct TableChecker {
    names: Vec<String>,
    rows: u64,
    columns: Vec<Column>,
    duplicates: RepeatTracker,
    key: Key,
    uniques: Vec<(usize, RepeatTracker)>,
    pairs: Vec<CoordPair>,
    singles: Vec<CoordColumn>,
}

impl TableChecker {
    /// A checker for a table of `schema`, judged against the declared `metadata` and `pipeline` (primary key, code
    /// lists, constraints).
    pub fn new(schema: &TableSchema, metadata: &DatasetMetadata, pipeline: &Pipeline) -> TableChecker {
        let names: Vec<String> = schema.fields.iter().map(|f| f.name.clone()).collect();
        let mut columns: Vec<Column> = schema
            .fields
            .iter()
            .enumerate()
            .map(|(index, f)| {
                let coordinate = geo::axis_of(f).is_some();
                let numeric = f.field_type.is_numeric()
                    && f.role.is_none()
                    && f.derived_from.is_empty()
                    && !coordinate
                    && !text::named_identifier(&f.name)
                    && !text::named_year(&f.name)
                    && !text::named_time(&f.name);
                let periods = match f.field_type {
                    _ if f.role.as_deref() == Some("source_file") => None,
                    FieldType::Date => Some(Periods::new(Some(Unit::Month), false)),
                    FieldType::Integer if text::named_year(&f.name) => {
                        Some(Periods::new(Some(Unit::Year), f.name.contains('年')))
                    }
                    // Text: months (`YYYY-MM`), or years under a name that says so; the first value decides.
                    FieldType::Text => Some(Periods::new(None, text::named_year(&f.name) && f.name.contains('年'))),
                    _ => None,
                };
                Column {
                    index,
                    name: f.name.clone(),
                    field_type: f.field_type,
                    role: f.role.clone(),
                    nulls: Sample::default(),
                    values: 0,
                    constant: Constant::Unset,
                    text: (f.field_type == FieldType::Text).then(|| TextStats {
                        named_date: text::named_date(&f.name),
                        mixed_allowed: !text::named_identifier(&f.name)
                            && f.role.is_none()
                            && !f.aliases.iter().chain([&f.name]).any(|n| pipeline.types.contains_key(n)),
                        ..TextStats::default()
                    }),
                    numbers: numeric.then(Numbers::default),
                    codes: None,
                    limits: Limits::default(),
                    required: false,
                    periods,
                }
            })
            .collect();

        // Code lists: the pipeline's, and the metadata's `enum` (a value in either is allowed).
        let mut code_lists: Vec<Vec<&String>> = vec![Vec::new(); columns.len()];
        for (name, list) in &pipeline.code_lists {
            if let Some(i) = schema.resolve(name) {
                code_lists[i].extend(list.keys());
            }
        }
        let mut uniques = Vec::new();
        for field in &metadata.fields {
            let Some(i) = schema.resolve(&field.name) else { continue };
            let c = &field.constraints;
            code_lists[i].extend(c.allowed.keys());
            let column = &mut columns[i];
            column.required |= c.required;
            if c.unique && !uniques.iter().any(|(j, _)| *j == i) {
                uniques.push((i, RepeatTracker::new(vec![i], true, true)));
            }
            if column.field_type.is_numeric() {
                column.limits.minimum = c.minimum.map(|m| (m, Sample::default()));
                column.limits.maximum = c.maximum.map(|m| (m, Sample::default()));
            }
            if column.field_type == FieldType::Text {
                column.limits.min_length = c.min_length.map(|m| (m, Sample::default()));
                column.limits.max_length = c.max_length.map(|m| (m, Sample::default()));
            }
            // A pattern that does not compile is the metadata's problem, not the data's: no finding.
            column.limits.pattern =
                c.pattern.as_ref().and_then(|p| Regex::new(&format!("^(?:{p})$")).ok()).map(|r| (r, Sample::default()));
        }
        for (column, list) in columns.iter_mut().zip(code_lists) {
            if !list.is_empty() {
                column.codes = Some(CodeList::new(list.into_iter()));
                if let Some(t) = &mut column.text {
                    t.mixed_allowed = false;
                }
                column.numbers = None;
            }
        }

        let declared = if metadata.primary_key.is_empty() { &pipeline.primary_key } else { &metadata.primary_key };
        let key = if declared.is_empty() {
            Key::None
        } else {
            let missing: Vec<String> = declared.iter().filter(|n| schema.resolve(n).is_none()).cloned().collect();
            if missing.is_empty() {
                let mut indices: Vec<usize> = Vec::new();
                for i in declared.iter().filter_map(|n| schema.resolve(n)) {
                    if !indices.contains(&i) {
                        indices.push(i);
                    }
                }
                Key::Columns(indices.clone(), RepeatTracker::new(indices, true, true))
            } else {
                Key::Missing(missing)
            }
        };

        // Coordinates: each longitude column with the nearest latitude column.
        let mut longitudes = Vec::new();
        let mut latitudes = Vec::new();
        for (i, f) in schema.fields.iter().enumerate() {
            if let Some((axis, certainty)) = geo::axis_of(f) {
                let c = CoordColumn::new(i, &f.name, axis, certainty);
                match axis {
                    Axis::Longitude => longitudes.push(c),
                    Axis::Latitude => latitudes.push(c),
                }
            }
        }
        let mut pairs = Vec::new();
        let mut singles = Vec::new();
        for lon in longitudes {
            let nearest =
                latitudes.iter().enumerate().min_by_key(|(_, lat)| lat.index.abs_diff(lon.index)).map(|p| p.0);
            match nearest {
                Some(j) => pairs.push(CoordPair::new(lon, latitudes.remove(j))),
                None => singles.push(lon),
            }
        }
        singles.extend(latitudes);

        TableChecker {
            duplicates: RepeatTracker::new((0..names.len()).collect(), false, false),
            names,
            rows: 0,
            columns,
            key,
            uniques,
            pairs,
            singles,
        }
    }

    /// Feeds the next batch (columns in schema order, rows in table order).
    pub fn push(&mut self, batch: &RecordBatch) {
        let first_row = self.rows;
        let width = batch.num_columns().min(self.columns.len());
        if width < self.columns.len() {
            // Not the table the checker was made for: judge the columns there are, and no whole rows.
            self.duplicates = RepeatTracker::new(Vec::new(), false, false);
        }
        for column in &mut self.columns[..width] {
            column.push(batch.column(column.index), first_row);
        }
        if width == self.columns.len() && width > 0 {
            self.duplicates.push(batch, first_row);
            if let Key::Columns(_, tracker) = &mut self.key {
                tracker.push(batch, first_row);
            }
            for (_, tracker) in &mut self.uniques {
                tracker.push(batch, first_row);
            }
        }
        for pair in &mut self.pairs {
            let (Some(lon), Some(lat)) =
                (degrees(batch, pair.longitude.index, width), degrees(batch, pair.latitude.index, width))
            else {
                continue;
            };
            pair.push(&lon, &lat, first_row);
        }
        for single in &mut self.singles {
            if let Some(values) = degrees(batch, single.index, width) {
                single.push(&values, first_row);
            }
        }
        self.rows += batch.num_rows() as u64;
    }

    /// The findings, most severe first, then in column order.
    pub fn finish(self) -> Vec<Finding> {
        let TableChecker { names, rows, columns, duplicates, key, uniques, pairs, singles } = self;
        let mut findings: Vec<(usize, Finding)> = Vec::new();

        match key {
            Key::None => {}
            Key::Missing(missing) => {
                let list = missing.join(", ");
                let (en, zh) = if missing.len() == 1 {
                    (
                        format!("The declared primary key names column {list}, which the table does not have."),
                        list.clone(),
                    )
                } else {
                    (format!("The declared primary key names columns {list}, which the table does not have."), list)
                };
                let mut f = finding(
                    "primary_key",
                    Severity::Error,
                    en,
                    format!("宣告的主鍵欄位 {} 不存在於表格中。", zh.replace(", ", "、")),
                );
                f.count = missing.len() as u64;
                f.column = (missing.len() == 1).then(|| missing[0].clone());
                f.fix = "Declare the primary key by the exact names (or aliases) of columns the table has, or remove \
                         the declaration."
                    .into();
                f.fix_zh = "請以表格中欄位的確切名稱（或別名）宣告主鍵，或移除主鍵宣告。".into();
                findings.push((usize::MAX, f));
            }
            Key::Columns(indices, tracker) => {
                for &i in &indices {
                    let nulls = &columns[i].nulls;
                    if nulls.count > 0 {
                        let f = finding(
                            "primary_key",
                            Severity::Error,
                            format!(
                                "{} of {} rows have no value in primary-key column {}.",
                                fmt_count(nulls.count),
                                fmt_count(rows),
                                names[i]
                            ),
                            format!(
                                "{} 列中有 {} 列的主鍵欄位 {} 沒有值。",
                                fmt_count(rows),
                                fmt_count(nulls.count),
                                names[i]
                            ),
                        );
                        findings.push((i, nulls.clone().fill(f, &names[i])));
                    }
                }
                if !tracker.broken && tracker.repeats.count > 0 {
                    let cols: Vec<&str> = indices.iter().map(|&i| names[i].as_str()).collect();
                    let k = tracker.repeats.count;
                    let mut f = finding(
                        "primary_key",
                        Severity::Error,
                        format!(
                            "{} of {} rows repeat the primary key ({}) of an earlier row.",
                            fmt_count(k),
                            fmt_count(tracker.compared),
                            cols.join(", ")
                        ),
                        format!(
                            "{} 列中有 {} 列的主鍵（{}）與前面某列重複。",
                            fmt_count(tracker.compared),
                            fmt_count(k),
                            cols.join("、")
                        ),
                    );
                    f.count = k;
                    f.rows = tracker.repeats.rows;
                    f.examples = tracker.repeats.examples;
                    f.column = (cols.len() == 1).then(|| cols[0].to_string());
                    findings.push((indices[0], f));
                }
            }
        }

        for (i, tracker) in uniques {
            if !tracker.broken && tracker.repeats.count > 0 {
                let k = tracker.repeats.count;
                let f = finding(
                    "constraints",
                    Severity::Error,
                    format!(
                        "{} of {} values of this column repeat an earlier value, but the column is declared unique.",
                        fmt_count(k),
                        fmt_count(tracker.compared)
                    ),
                    format!(
                        "此欄宣告為不重複，但 {} 個值中有 {} 個與前面的值重複。",
                        fmt_count(tracker.compared),
                        fmt_count(k)
                    ),
                );
                findings.push((i, tracker.repeats.fill(f, &names[i])));
            }
        }

        if !duplicates.broken && duplicates.repeats.count > 0 {
            let k = duplicates.repeats.count;
            let mut f = finding(
                "duplicate_rows",
                Severity::Warning,
                format!("{} of {} rows repeat an earlier row exactly.", fmt_count(k), fmt_count(rows)),
                format!("{} 列中有 {} 列與前面某列完全相同。", fmt_count(rows), fmt_count(k)),
            );
            f.count = k;
            f.rows = duplicates.repeats.rows;
            findings.push((usize::MAX, f));
        }

        for column in columns {
            column.finish(rows, &mut findings);
        }
        for pair in pairs {
            pair.finish(&mut findings);
        }
        for single in singles {
            single.finish(&mut findings);
        }

        findings.sort_by_key(|(i, f)| (f.severity, *i));
        findings.into_iter().map(|(_, f)| f).collect()
    }
}

/// A column's values as degrees (`None` for a type that is not a number).
fn degrees(batch: &RecordBatch, index: usize, width: usize) -> Option<Vec<Option<f64>>> {
    if index >= width {
        return None;
    }
    let array = batch.column(index);
    let array: ArrayRef = match array.data_type() {
        DataType::Float64 => Arc::clone(array),
        t if t.is_numeric() => arrow::compute::cast(array, &DataType::Float64).ok()?,
        _ => return None,
    };
    Some(array.as_primitive::<Float64Type>().iter().map(|v| v.filter(|x| !x.is_nan())).collect())
}

#[cfg(test)]
mod tests;
