//! Gaps in a periodic series: a column of months (dates all on the 1st, or `YYYY-MM` text) or of years (a column
//! named as years holding 1900–2100, or ROC years 1–200) whose periods between the first and the last are not all
//! there.
//!
//! The step of the series is the greatest common divisor of the distances between its periods (a quarterly series
//! is not missing two months in three). Not every column of dates is a series, so a gap is reported only when
//!
//! * there are at least 3 distinct periods and at most half of the span is missing (a sparse set of dates is not a
//!   series with gaps), and
//! * every period holds about as many rows as the others (the largest count at most twice the smallest): the rows
//!   of a table published per period, not events that happened on some dates.

use chrono::{Datelike, NaiveDate};
use rustc_hash::FxHashMap;
use tapwater_types::{Finding, Severity};

use super::fmt_count;
use crate::codes::finding;

/// More distinct periods than this is not a series of months or years.
const MAX_PERIODS: usize = 2_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unit {
    /// Periods are `year * 12 + month - 1`.
    Month,
    /// Periods are years as written (Gregorian or ROC).
    Year,
}

pub(super) struct Periods {
    /// `None` for a text column until its first value.
    unit: Option<Unit>,
    /// A text column may hold years (its name says so).
    years_named: bool,
    counts: FxHashMap<i32, u64>,
    alive: bool,
    /// For years: `Some(true)` ROC (1–200), `Some(false)` Gregorian, decided by the first value.
    roc: Option<bool>,
    /// Whether ROC years are admitted (the name says 年).
    roc_allowed: bool,
}

const EPOCH_DAYS_FROM_CE: i32 = 719_163;

impl Periods {
    /// `unit` `None`: a text column, months or (when `years_named`) years by its first value; `years_named` also
    /// admits ROC years (1–200).
    pub(super) fn new(unit: Option<Unit>, years_named: bool) -> Periods {
        Periods { unit, years_named, counts: FxHashMap::default(), alive: true, roc: None, roc_allowed: years_named }
    }

    #[inline]
    fn add(&mut self, period: i32) {
        *self.counts.entry(period).or_insert(0) += 1;
        if self.counts.len() > MAX_PERIODS {
            self.stop();
        }
    }

    fn stop(&mut self) {
        self.alive = false;
        self.counts = FxHashMap::default();
    }

    pub(super) fn alive(&self) -> bool {
        self.alive
    }

    /// A Date32 value (days since 1970-01-01).
    #[inline]
    pub(super) fn date(&mut self, days: i32) {
        match NaiveDate::from_num_days_from_ce_opt(days.saturating_add(EPOCH_DAYS_FROM_CE)) {
            Some(d) if d.day() == 1 => self.add(d.year() * 12 + d.month0() as i32),
            _ => self.stop(),
        }
    }

    /// A year as a number.
    #[inline]
    pub(super) fn year(&mut self, y: i64) {
        let roc = if (1900..=2100).contains(&y) {
            false
        } else if self.roc_allowed && (1..=200).contains(&y) {
            true
        } else {
            return self.stop();
        };
        if *self.roc.get_or_insert(roc) != roc {
            return self.stop();
        }
        self.add(y as i32);
    }

    /// A text value: `YYYY-MM` for months, digits for years.
    #[inline]
    pub(super) fn text(&mut self, s: &str) {
        let b = s.as_bytes();
        let unit = match self.unit {
            Some(unit) => unit,
            None if b.len() == 7 => *self.unit.insert(Unit::Month),
            None if self.years_named => *self.unit.insert(Unit::Year),
            None => return self.stop(),
        };
        match unit {
            Unit::Month => {
                let digits = |r: std::ops::Range<usize>| b[r].iter().fold(0i32, |a, c| a * 10 + i32::from(c - b'0'));
                let ok = b.len() == 7
                    && b[4] == b'-'
                    && b[..4].iter().all(u8::is_ascii_digit)
                    && b[5..].iter().all(u8::is_ascii_digit);
                let month = if ok { digits(5..7) } else { 0 };
                if (1..=12).contains(&month) {
                    self.add(digits(0..4) * 12 + month - 1);
                } else {
                    self.stop();
                }
            }
            Unit::Year => {
                if (1..=4).contains(&b.len())
                    && b.iter().all(u8::is_ascii_digit)
                    && let Ok(y) = s.parse::<i64>()
                {
                    self.year(y);
                } else {
                    self.stop();
                }
            }
        }
    }

    fn label(&self, period: i32) -> String {
        match self.unit.unwrap_or(Unit::Month) {
            Unit::Month => format!("{:04}-{:02}", period.div_euclid(12), period.rem_euclid(12) + 1),
            Unit::Year => period.to_string(),
        }
    }

    pub(super) fn finish(self, column: &str) -> Option<Finding> {
        if !self.alive || self.counts.len() < 3 {
            return None;
        }
        let mut periods: Vec<i32> = self.counts.keys().copied().collect();
        periods.sort_unstable();
        let (first, last) = (periods[0], periods[periods.len() - 1]);
        let step = periods.windows(2).fold(0, |g, w| gcd(g, w[1] - w[0]));
        if step <= 0 {
            return None;
        }
        let span = (last - first) / step + 1;
        let missing = span as usize - periods.len();
        if missing == 0 || missing * 2 > span as usize {
            return None;
        }
        let (min, max) = self.counts.values().fold((u64::MAX, 0), |(a, b), c| (a.min(*c), b.max(*c)));
        if max > 2 * min {
            return None;
        }
        let present: rustc_hash::FxHashSet<i32> = periods.iter().copied().collect();
        let examples: Vec<String> = (0..span)
            .map(|i| first + i * step)
            .filter(|p| !present.contains(p))
            .take(5)
            .map(|p| self.label(p))
            .collect();
        let (every_en, every_zh) = match (self.unit.unwrap_or(Unit::Month), step) {
            (Unit::Month, 1) => ("monthly".to_string(), "每月".to_string()),
            (Unit::Month, 3) => ("quarterly".to_string(), "每季".to_string()),
            (Unit::Month, 12) | (Unit::Year, 1) => ("yearly".to_string(), "每年".to_string()),
            (Unit::Month, s) => (format!("every {s} months"), format!("每 {s} 個月")),
            (Unit::Year, s) => (format!("every {s} years"), format!("每 {s} 年")),
        };
        let mut f = finding(
            "series_gaps",
            Severity::Warning,
            format!(
                "{} of the {} periods of this column's {every_en} series are missing between its first and its last.",
                fmt_count(missing as u64),
                fmt_count(span as u64)
            ),
            format!(
                "此欄的{every_zh}序列在首尾之間共 {} 期，其中缺少 {} 期。",
                fmt_count(span as u64),
                fmt_count(missing as u64)
            ),
        );
        f.column = Some(column.to_string());
        f.count = missing as u64;
        f.examples = examples;
        Some(f)
    }
}

fn gcd(a: i32, b: i32) -> i32 {
    if b == 0 { a.abs() } else { gcd(b, a % b) }
}
