//! Dates as Taiwanese agencies write them: the ROC (Minguo) calendar in a dozen spellings, Gregorian dates in local
//! forms, and dates inside file names.
//!
//! The ROC year is the Gregorian year minus 1911 (民國1年 = 1912); years before 1912 are written 民前N年 (N years
//! before ROC 1: 民前1年 = 1911). A 1–3 digit year is an ROC year, a 4-digit year a Gregorian one, so the two never
//! mix up. What is read (after [`super::clean`] turned full-width digits into ASCII):
//!
//! | form | example | reading |
//! |---|---|---|
//! | separated | `105/12/23`, `105/1/1`, `105.12.23`, `105-12-23` | ROC date (2–3 digit year) |
//! | Chinese | `105年12月23日`, `民國105年12月23日`, `民前1年1月1日` | ROC date |
//! | compact | `1051223`, `0430901` (7 digits) | ROC date, only under a date-like column name |
//! | date-time | `102年01月01日 03時00分`, `105年01月01日 02時45分00秒`, `105.02.09   19:20` | ROC date-time |
//! | year-month | `105年12月`, `105Y12M`; `10304` (4–5 digits, under a year-month name) | ROC year-month |
//! | Gregorian | `2015/1/16`, `2015.1.16`, `2015-1-6`, `2015年1月16日`, `2015/01/16 08:00` | local date (-time) |
//! | compact | `20180101` (8 digits) | local date, only under a date-like column name |
//!
//! Not read: a month and day without a year (`08月13日`: the year is unknown), 6-digit compact ROC dates
//! (`990101`: also an `HHMMSS` time), two-part `105/12` (also a fraction), Java's `Sat Jan 28 00:00:00 CST 2023`.
//! A text shaped like a date whose day or month does not exist (`105/02/30`) is [`DateValue::Invalid`], never moved
//! to a neighbouring day.

use chrono::NaiveDate;

use crate::value::days_from_civil;

/// What a date-like cell holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateValue {
    /// Days since 1970-01-01.
    Date(i32),
    /// Local (Asia/Taipei) date and time: days since 1970-01-01 and seconds since midnight.
    Datetime { days: i32, seconds: u32 },
    /// A month of a year (Gregorian year).
    YearMonth { year: i32, month: u32 },
    /// Shaped like a date, but no such day (`105/02/30`) or month (`105/13/01`) exists.
    Invalid,
}

/// Which calendar a date was written in: it names the rule that read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Calendar {
    Roc,
    Gregorian,
}

/// Which forms may be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DateRules {
    pub roc_date: bool,
    pub roc_datetime: bool,
    pub roc_year_month: bool,
    pub local_date: bool,
    /// Compact digits may be dates (`1051223`, `20180101`): the column name says date.
    pub compact_date: bool,
    /// Compact digits may be ROC year-months (`10304`): the column name says year-month.
    pub compact_year_month: bool,
}

/// Plausible ROC years without a 民前 prefix (1912–2111).
const ROC_YEARS: std::ops::RangeInclusive<i32> = 1..=200;
/// Plausible Gregorian years in local forms.
const GREGORIAN_YEARS: std::ops::RangeInclusive<i32> = 1800..=2200;

const NIAN: &[u8] = "年".as_bytes();
const YUE: &[u8] = "月".as_bytes();
const RI: &[u8] = "日".as_bytes();
const SHI: &[u8] = "時".as_bytes();
const FEN: &[u8] = "分".as_bytes();
const MIAO: &[u8] = "秒".as_bytes();
const MINGUO: &[u8] = "民國".as_bytes();
const MINQIAN: &[u8] = "民前".as_bytes();

#[inline]
fn digits_at(b: &[u8], at: usize, max: usize) -> (u32, usize) {
    let mut v = 0u32;
    let mut n = 0;
    while n < max && at + n < b.len() && b[at + n].is_ascii_digit() {
        v = v * 10 + u32::from(b[at + n] - b'0');
        n += 1;
    }
    (v, n)
}

fn is_leap_year(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if is_leap_year(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn date_value(year: i32, month: u32, day: u32) -> DateValue {
    if (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month) {
        DateValue::Date(days_from_civil(year, month, day))
    } else {
        DateValue::Invalid
    }
}

/// Reads a date, date-time or year-month in the forms of the module table; ISO 8601 is left to
/// [`crate::value`]. `None`: not date-shaped (or a form switched off).
///
/// Under a date-like name ([`DateRules::compact_date`]) two more things are [`DateValue::Invalid`] rather than "not a
/// date": 7 or 8 digits with a plausible year but no such month or day (`1051725`), and debris made of digits and
/// date separators only (`105/525`, `105/020/1`: typing slips in a date column, seen in Tainan's 2016 labour
/// inspection list). The column decides what to do with them (see [`crate::infer`]).
pub(crate) fn read_date(b: &[u8], rules: &DateRules) -> Option<(DateValue, Calendar)> {
    read_form(b, rules).or_else(|| (rules.compact_date && is_debris(b)).then_some((DateValue::Invalid, Calendar::Roc)))
}

/// Digits and at least one date separator, nothing else: what is left of a date typed wrongly.
fn is_debris(b: &[u8]) -> bool {
    b.len() <= 12
        && b.iter().take_while(|c| c.is_ascii_digit()).count() >= 2
        && b.iter().all(|&c| c.is_ascii_digit() || matches!(c, b'/' | b'.' | b'-'))
        && b.iter().any(|&c| !c.is_ascii_digit())
}

fn read_form(b: &[u8], rules: &DateRules) -> Option<(DateValue, Calendar)> {
    let first = *b.first()?;
    if first.is_ascii_digit() {
        if b.len() <= 8 && b.iter().all(u8::is_ascii_digit) {
            return compact(b, rules);
        }
    } else if first != 0xE6 {
        return None; // neither a digit nor the 民 of 民國/民前
    }
    let (before_roc, mut i) = if b.starts_with(MINGUO) {
        (false, MINGUO.len())
    } else if b.starts_with(MINQIAN) {
        (true, MINQIAN.len())
    } else {
        (false, 0)
    };
    let prefixed = i > 0;
    let (y, n) = digits_at(b, i, 4);
    if n == 0 || (prefixed && n == 4) {
        return None;
    }
    i += n;
    let calendar = if n == 4 { Calendar::Gregorian } else { Calendar::Roc };
    let year = match (calendar, before_roc) {
        (Calendar::Gregorian, _) => y as i32,
        (Calendar::Roc, false) => y as i32 + 1911,
        (Calendar::Roc, true) => 1912 - y as i32,
    };
    let rest = &b[i..];
    let (value, at) = if rest.starts_with(NIAN) {
        i += NIAN.len();
        let (month, mn) = digits_at(b, i, 2);
        if mn == 0 || !b[i + mn..].starts_with(YUE) {
            return None;
        }
        i += mn + YUE.len();
        if i == b.len() {
            return year_month(year, month, calendar, rules);
        }
        let (day, dn) = digits_at(b, i, 2);
        if dn == 0 || !b[i + dn..].starts_with(RI) {
            return None;
        }
        i += dn + RI.len();
        (date_value(year, month, day), i)
    } else if matches!(rest.first(), Some(b'Y' | b'y')) && !prefixed && calendar == Calendar::Roc {
        // 105Y12M: the SEGIS statistics spell ROC year-months this way.
        let (month, mn) = digits_at(b, i + 1, 2);
        if mn == 0 || !matches!(b.get(i + 1 + mn), Some(b'M' | b'm')) || i + 2 + mn != b.len() {
            return None;
        }
        return year_month(year, month, calendar, rules);
    } else if let Some(&sep @ (b'/' | b'.' | b'-')) = rest.first() {
        // A one-digit ROC year in these forms is too likely something else (`1.2.3` is a version).
        if prefixed || (calendar == Calendar::Roc && n < 2) {
            return None;
        }
        i += 1;
        let (month, mn) = digits_at(b, i, 2);
        if mn == 0 || b.get(i + mn) != Some(&sep) {
            return None;
        }
        i += mn + 1;
        let (day, dn) = digits_at(b, i, 2);
        if dn == 0 {
            return None;
        }
        i += dn;
        (date_value(year, month, day), i)
    } else {
        return None;
    };
    let plausible = match calendar {
        Calendar::Roc => before_roc || ROC_YEARS.contains(&(year - 1911)),
        Calendar::Gregorian => GREGORIAN_YEARS.contains(&year),
    };
    if !plausible {
        return None;
    }
    if at == b.len() {
        let on = match calendar {
            Calendar::Roc => rules.roc_date,
            Calendar::Gregorian => rules.local_date,
        };
        return on.then_some((value, calendar));
    }
    // A time after one or more spaces: `03時00分`, `02時45分00秒`, `19:20`, `19:20:05`.
    let on = match calendar {
        Calendar::Roc => rules.roc_datetime,
        Calendar::Gregorian => rules.local_date,
    };
    if !on || b[at] != b' ' {
        return None;
    }
    let mut j = at;
    while j < b.len() && b[j] == b' ' {
        j += 1;
    }
    let seconds = time_of_day(&b[j..])?;
    let value = match (value, seconds) {
        (DateValue::Date(days), Some(seconds)) => DateValue::Datetime { days, seconds },
        _ => DateValue::Invalid,
    };
    Some((value, calendar))
}

/// `HH:MM[:SS]` or `HH時MM分[SS秒]` (hours of one or two digits): `Some(None)` when shaped so but out of range.
fn time_of_day(b: &[u8]) -> Option<Option<u32>> {
    let (h, hn) = digits_at(b, 0, 2);
    if hn == 0 {
        return None;
    }
    let mut i = hn;
    let (m, s) = if b.get(i) == Some(&b':') {
        let (m, mn) = digits_at(b, i + 1, 2);
        if mn != 2 {
            return None;
        }
        i += 3;
        let mut s = 0;
        if b.get(i) == Some(&b':') {
            let (sv, sn) = digits_at(b, i + 1, 2);
            if sn != 2 {
                return None;
            }
            s = sv;
            i += 3;
        }
        (m, s)
    } else if b[i..].starts_with(SHI) {
        i += SHI.len();
        let (m, mn) = digits_at(b, i, 2);
        if mn == 0 || !b[i + mn..].starts_with(FEN) {
            return None;
        }
        i += mn + FEN.len();
        let mut s = 0;
        if i < b.len() {
            let (sv, sn) = digits_at(b, i, 2);
            if sn == 0 || !b[i + sn..].starts_with(MIAO) {
                return None;
            }
            s = sv;
            i += sn + MIAO.len();
        }
        (m, s)
    } else {
        return None;
    };
    if i != b.len() {
        return None;
    }
    Some((h <= 23 && m <= 59 && s <= 59).then_some(h * 3600 + m * 60 + s))
}

fn year_month(year: i32, month: u32, calendar: Calendar, rules: &DateRules) -> Option<(DateValue, Calendar)> {
    let on = match calendar {
        Calendar::Roc => rules.roc_year_month && ROC_YEARS.contains(&(year - 1911)),
        Calendar::Gregorian => rules.local_date && GREGORIAN_YEARS.contains(&year),
    };
    if !on {
        return None;
    }
    let value = if (1..=12).contains(&month) { DateValue::YearMonth { year, month } } else { DateValue::Invalid };
    Some((value, calendar))
}

/// All-digit cells: read only under a date-like name. 7 or 8 digits with a plausible year and an impossible month or
/// day are [`DateValue::Invalid`] (the column decides whether that makes it numbers); an impossible year-month is
/// not a year-month.
fn compact(b: &[u8], rules: &DateRules) -> Option<(DateValue, Calendar)> {
    let n = |s: &[u8]| s.iter().fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'));
    let (value, calendar) = match b.len() {
        7 if rules.compact_date && rules.roc_date => {
            let year = n(&b[..3]) as i32;
            if !(1..=150).contains(&year) {
                return None;
            }
            (date_value(year + 1911, n(&b[3..5]), n(&b[5..])), Calendar::Roc)
        }
        8 if rules.compact_date && rules.local_date => {
            let year = n(&b[..4]) as i32;
            if !(1900..=2100).contains(&year) {
                return None;
            }
            (date_value(year, n(&b[4..6]), n(&b[6..])), Calendar::Gregorian)
        }
        4 | 5 if rules.compact_year_month && rules.roc_year_month => {
            let year = n(&b[..b.len() - 2]) as i32;
            let month = n(&b[b.len() - 2..]);
            // 4 digits: ROC 80–99 (`9912`); 5 digits: ROC 100+ or zero-padded (`09912`).
            if !(1..=150).contains(&year) || (b.len() == 4 && year < 80) || !(1..=12).contains(&month) {
                return None;
            }
            (DateValue::YearMonth { year: year + 1911, month }, Calendar::Roc)
        }
        _ => return None,
    };
    Some((value, calendar))
}

/// Reads an ROC date inside a file name (agencies date their files this way): the date, or the first day of the
/// month or year the name gives, and the text matched. Accepted, anywhere in the name (the extension is ignored):
///
/// - 7 digits standing alone, ROC year 60–150: `1040826`, `roc1040826`, `臺南市本土病例數1040822`;
/// - separated with `-`, `.` or `_`: `103-07-08`, `roc103-07-08`, `105.02.09`; year-month `104-07`;
/// - Chinese: `104年7月3日`, `104年7月` (→ 1st of the month), `105年度`, `105年` (→ 1 January);
/// - SEGIS style: `105Y12M` (→ 1st of the month), `97Y` (→ 1 January);
/// - `roc` followed by a 3-digit year: `roc105` (→ 1 January).
///
/// The most specific match wins (`104年…1040822` gives 2015-08-22), then the leftmost (`97Y-99Y` gives 97). Gregorian dates (`2015-08`, `20180101`) and a month-day
/// without a year (`0829`) are not read: this finds ROC dates, which need converting.
pub(crate) fn date_in_file_name(name: &str) -> Option<(NaiveDate, String)> {
    let stem = match name.rfind('.') {
        Some(dot) if dot > 0 && name.len() - dot <= 6 => &name[..dot],
        _ => name,
    };
    let b = stem.as_bytes();
    // The most specific match wins (a day over a month over a year), then the leftmost.
    let mut best: Option<(FileDate, usize)> = None;
    for i in 0..b.len() {
        let starts_run = b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_digit());
        if starts_run
            && let Some(found) = file_date_at(b, i)
            && best.as_ref().is_none_or(|(b, _)| found.precision > b.precision)
        {
            best = Some((found, i));
        }
    }
    let (found, i) = best?;
    let roc = b[..i].to_ascii_lowercase().ends_with(b"roc");
    let start = if roc { i - 3 } else { i };
    Some((found.date, stem[start..found.end].to_string()))
}

struct FileDate {
    date: NaiveDate,
    end: usize,
    /// 3: a day, 2: a month, 1: a year.
    precision: u8,
}

fn file_date_at(b: &[u8], i: usize) -> Option<FileDate> {
    let (y, n) = digits_at(b, i, 8);
    if b.get(i + n).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let found = |year: u32, month: u32, day: u32, end: usize, precision: u8| {
        let date = NaiveDate::from_ymd_opt(year as i32 + 1911, month, day)?;
        Some(FileDate { date, end, precision })
    };
    let roc_prefixed = b[..i].to_ascii_lowercase().ends_with(b"roc");
    if n == 7 {
        let year = y / 10_000;
        if !(60..=150).contains(&year) {
            return None;
        }
        return found(year, y / 100 % 100, y % 100, i + 7, 3);
    }
    if !(2..=3).contains(&n) || !(1..=150).contains(&y) {
        return None;
    }
    let mut j = i + n;
    let rest = &b[j..];
    if let Some(&sep @ (b'-' | b'.' | b'_')) = rest.first() {
        let (m, mn) = digits_at(b, j + 1, 2);
        if mn > 0 && !b.get(j + 1 + mn).is_some_and(u8::is_ascii_digit) {
            let after_month = j + 1 + mn;
            if b.get(after_month) == Some(&sep) {
                let (d, dn) = digits_at(b, after_month + 1, 2);
                if dn > 0 && !b.get(after_month + 1 + dn).is_some_and(u8::is_ascii_digit) {
                    return found(y, m, d, after_month + 1 + dn, 3);
                }
            }
            // A year-month (`104-07`) only after `roc`: else `12-31` in a name could be anything.
            if roc_prefixed {
                return found(y, m, 1, after_month, 2);
            }
        }
    } else if rest.starts_with(NIAN) {
        j += NIAN.len();
        if b[j..].starts_with("度".as_bytes()) {
            return found(y, 1, 1, j + "度".len(), 1);
        }
        let (m, mn) = digits_at(b, j, 2);
        if mn > 0 && b[j + mn..].starts_with(YUE) {
            let after_month = j + mn + YUE.len();
            let (d, dn) = digits_at(b, after_month, 2);
            if dn > 0 && b[after_month + dn..].starts_with(RI) {
                return found(y, m, d, after_month + dn + RI.len(), 3);
            }
            return found(y, m, 1, after_month, 2);
        }
        return found(y, 1, 1, j, 1);
    } else if matches!(rest.first(), Some(b'Y' | b'y')) {
        j += 1;
        let (m, mn) = digits_at(b, j, 2);
        if mn > 0 && matches!(b.get(j + mn), Some(b'M' | b'm')) {
            return found(y, m, 1, j + mn + 1, 2);
        }
        return found(y, 1, 1, j, 1);
    }
    if roc_prefixed && n == 3 {
        return found(y, 1, 1, i + n, 1);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: DateRules = DateRules {
        roc_date: true,
        roc_datetime: true,
        roc_year_month: true,
        local_date: true,
        compact_date: false,
        compact_year_month: false,
    };

    fn day(y: i32, m: u32, d: u32) -> DateValue {
        DateValue::Date(days_from_civil(y, m, d))
    }

    fn read(s: &str) -> Option<(DateValue, Calendar)> {
        read_date(s.as_bytes(), &ALL)
    }

    #[test]
    fn roc_dates_in_common_forms() {
        let roc = Calendar::Roc;
        for s in ["105/12/23", "105.12.23", "105-12-23", "105年12月23日", "民國105年12月23日", "105年12月23日"]
        {
            assert_eq!(read(s), Some((day(2016, 12, 23), roc)), "{s}");
        }
        assert_eq!(read("105/1/1"), Some((day(2016, 1, 1), roc)));
        assert_eq!(read("99/1/1"), Some((day(2010, 1, 1), roc)));
        assert_eq!(read("43年9月1日"), Some((day(1954, 9, 1), roc)));
        assert_eq!(read("民前1年1月1日"), Some((day(1911, 1, 1), roc)), "民前1年 is 1911");
        assert_eq!(read("民前10年10月10日"), Some((day(1902, 10, 10), roc)));
        assert_eq!(read("民國1年1月1日"), Some((day(1912, 1, 1), roc)));
    }

    #[test]
    fn impossible_dates_are_invalid_not_moved() {
        assert_eq!(read("105/02/30"), Some((DateValue::Invalid, Calendar::Roc)));
        assert_eq!(read("105/13/01"), Some((DateValue::Invalid, Calendar::Roc)));
        assert_eq!(read("104年2月29日"), Some((DateValue::Invalid, Calendar::Roc)), "2015 is not a leap year");
        assert_eq!(read("105年2月29日"), Some((day(2016, 2, 29), Calendar::Roc)));
        assert_eq!(read("105/00/10"), Some((DateValue::Invalid, Calendar::Roc)));
    }

    #[test]
    fn roc_datetimes() {
        let dt = |y, mo, d, h: u32, mi: u32, s: u32| DateValue::Datetime {
            days: days_from_civil(y, mo, d),
            seconds: h * 3600 + mi * 60 + s,
        };
        assert_eq!(read("102年01月01日 03時00分"), Some((dt(2013, 1, 1, 3, 0, 0), Calendar::Roc)));
        assert_eq!(read("105年01月01日 02時45分00秒"), Some((dt(2016, 1, 1, 2, 45, 0), Calendar::Roc)));
        assert_eq!(read("105.02.09   19:20"), Some((dt(2016, 2, 9, 19, 20, 0), Calendar::Roc)));
        assert_eq!(read("105/02/09 19:20:05"), Some((dt(2016, 2, 9, 19, 20, 5), Calendar::Roc)));
        assert_eq!(read("105/02/09 24:00"), Some((DateValue::Invalid, Calendar::Roc)));
        assert_eq!(read("105/02/30 10:00"), Some((DateValue::Invalid, Calendar::Roc)));
        assert_eq!(read("105/02/09 19"), None);
        assert_eq!(read("105/02/09T19:20"), None);
    }

    #[test]
    fn year_months() {
        let ym = |year, month| Some((DateValue::YearMonth { year, month }, Calendar::Roc));
        assert_eq!(read("105年12月"), ym(2016, 12));
        assert_eq!(read("105Y12M"), ym(2016, 12));
        assert_eq!(read("105Y13M"), Some((DateValue::Invalid, Calendar::Roc)));
        assert_eq!(read("10304"), None, "not without a year-month name");
        let named = DateRules { compact_year_month: true, ..ALL };
        assert_eq!(read_date(b"10304", &named), ym(2014, 4));
        assert_eq!(read_date(b"9912", &named), ym(2010, 12));
        assert_eq!(read_date(b"10313", &named), None, "an invalid compact value is a number");
        assert_eq!(read_date(b"2014", &named), None, "a Gregorian year is no ROC 20/14");
    }

    #[test]
    fn compact_dates_only_under_date_names() {
        assert_eq!(read("1051223"), None);
        assert_eq!(read("20180101"), None);
        let named = DateRules { compact_date: true, ..ALL };
        assert_eq!(read_date(b"1051223", &named), Some((day(2016, 12, 23), Calendar::Roc)));
        assert_eq!(read_date(b"0430901", &named), Some((day(1954, 9, 1), Calendar::Roc)));
        assert_eq!(read_date(b"20180101", &named), Some((day(2018, 1, 1), Calendar::Gregorian)));
        assert_eq!(read_date(b"1050230", &named), Some((DateValue::Invalid, Calendar::Roc)));
        assert_eq!(read_date(b"1051725", &named), Some((DateValue::Invalid, Calendar::Roc)));
        assert_eq!(read_date(b"2345678", &named), None, "ROC year 234 is no plausible year");
        assert_eq!(read_date(b"051200", &named), None, "6 digits: HHMMSS, not a date");
        assert_eq!(read_date(b"12345678", &named), None);
    }

    #[test]
    fn date_debris_is_invalid_only_under_date_names() {
        let named = DateRules { compact_date: true, ..ALL };
        for s in ["105/525", "105/020/1", "105//1", "105-1"] {
            assert_eq!(read_date(s.as_bytes(), &named), Some((DateValue::Invalid, Calendar::Roc)), "{s}");
            assert_eq!(read(s), None, "{s}");
        }
        for s in ["1.5", "abc/1", "1051223", "/"] {
            assert_ne!(read_date(s.as_bytes(), &named), Some((DateValue::Invalid, Calendar::Roc)), "{s}");
        }
    }

    #[test]
    fn gregorian_local_forms() {
        let g = Calendar::Gregorian;
        assert_eq!(read("2015/1/16"), Some((day(2015, 1, 16), g)));
        assert_eq!(read("2015.01.16"), Some((day(2015, 1, 16), g)));
        assert_eq!(read("2015-1-6"), Some((day(2015, 1, 6), g)));
        assert_eq!(read("2015年1月16日"), Some((day(2015, 1, 16), g)));
        assert_eq!(
            read("2015/01/16 08:30"),
            Some((DateValue::Datetime { days: days_from_civil(2015, 1, 16), seconds: 8 * 3600 + 1800 }, g))
        );
        assert_eq!(read("0015/1/1"), None, "implausible year");
    }

    #[test]
    fn things_that_are_not_dates() {
        for s in [
            "08月13日",
            "3/派思特",
            "1.2.3",
            "1/2",
            "105/12",
            "12:30",
            "鳳山區",
            "192.168.1.1",
            "民國",
            "民國2016年1月1日",
            "105年12月23",
            "105年",
            "105/12/23x",
            "1,234",
            "-",
            "",
        ] {
            assert_eq!(read(s), None, "{s}");
        }
        let no_roc = DateRules { roc_date: false, ..ALL };
        assert_eq!(read_date(b"105/12/23", &no_roc), None);
    }

    #[test]
    fn dates_in_file_names() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        let cases: &[(&str, Option<(NaiveDate, &str)>)] = &[
            ("tainan_dengue_cases_roc1040826_big5.csv", Some((d(2015, 8, 26), "roc1040826"))),
            ("1040822各區病例數.xls", Some((d(2015, 8, 22), "1040822"))),
            ("104年台南市本土病例數1040822.xls", Some((d(2015, 8, 22), "1040822"))),
            ("moi_village_education_level_roc102_2013_utf16_tab.csv", Some((d(2013, 1, 1), "roc102"))),
            ("tainan_labor_violations_roc103-07-08.xls", Some((d(2014, 7, 8), "roc103-07-08"))),
            ("tainan_labor_violations_roc104-07.xlsx", Some((d(2015, 7, 1), "roc104-07"))),
            ("104年7月.xlsx", Some((d(2015, 7, 1), "104年7月"))),
            ("105年度勞動檢查.xls", Some((d(2016, 1, 1), "105年度"))),
            ("102年9月5日公告.csv", Some((d(2013, 9, 5), "102年9月5日"))),
            ("twc_tainan_temporary_water_stations_roc105-02-09.xls", Some((d(2016, 2, 9), "roc105-02-09"))),
            ("因受地震影響--六區(台南)臨時供水站地點(105-02-09 1920).xls", Some((d(2016, 2, 9), "105-02-09"))),
            ("moi_segis_tainan_population_by_statistical_area_105Y12M_big5.csv", Some((d(2016, 12, 1), "105Y12M"))),
            ("moi_segis_tainan_district_population_97Y-99Y_big5.csv", Some((d(2008, 1, 1), "97Y"))),
            ("tainan_labor_violations_roc105_full_year.xls", Some((d(2016, 1, 1), "roc105"))),
            ("tainan_dengue_cases_0829_big5.csv", None),
            ("npa_a1_traffic_accidents_2018.csv", None),
            ("moi_village_births_deaths_marriages_2014-04.csv", None),
            ("data.csv", None),
            ("1040230.csv", None),
            ("12345678.csv", None),
        ];
        for &(name, want) in cases {
            let got = date_in_file_name(name);
            assert_eq!(got.as_ref().map(|(d, s)| (*d, s.as_str())), want, "{name}");
        }
    }
}
