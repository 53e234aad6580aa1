//! What a text value looks like: a number, a code, a word, a date in ISO form or in another spelling.
//!
//! These run on every value of every text column, so they work on bytes and allocate nothing; the few regular
//! expressions run only on values a byte test has not already settled.

use std::sync::LazyLock;

use regex::Regex;

/// How a text value relates to numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NumberClass {
    /// `12`, `-3.5`, `1,234`, `0.25`.
    Number,
    /// Digits with a leading zero (`007`) or too many to be a quantity: an identifier or a code.
    Code,
    /// No digit at all: `不詳`, `N/A`, `-`.
    Word,
    /// A number with a unit or a word around it: `1,234人`, `約500`, `47%`.
    WithUnit,
    /// Digits mixed with anything else: `2722-0152`, `A001`, `3/派思特`, `1.2.3`.
    Other,
}

/// How a text value relates to dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DateClass {
    /// ISO 8601: `2016-12-23`, `2014-04`, `2016-12-23T10:00:00+08:00`.
    Iso,
    /// A bare four-digit year (ISO too, but also just a number).
    Year,
    /// A date in another spelling: `105/12/23`, `2015/1/16`, `08月13日`, `105Y12M`; `true` when it has no year.
    Other {
        no_year: bool,
    },
    NotDate,
}

/// The usual words for "no value" in a column of numbers.
pub(super) const MISSING_MARKERS: &[&str] = &[
    "不詳",
    "無資料",
    "無",
    "未知",
    "不明",
    "查無",
    "待查",
    "未提供",
    "缺",
    "空白",
    "N/A",
    "n/a",
    "NA",
    "na",
    "-",
    "--",
    "—",
    "－",
    "…",
    "...",
    "*",
    "null",
    "NULL",
    "None",
];

/// Trims the spaces ingest keeps in text (ASCII whitespace, ideographic and no-break spaces).
#[inline]
pub(super) fn trim(s: &str) -> &str {
    let b = s.as_bytes();
    if b.first().is_some_and(|c| c.is_ascii_alphanumeric() || *c >= 0x80)
        && b.last().is_some_and(|c| c.is_ascii_alphanumeric() || *c >= 0x80)
        && !s.starts_with(['\u{3000}', '\u{a0}'])
        && !s.ends_with(['\u{3000}', '\u{a0}'])
    {
        return s; // the common case, without a char scan
    }
    s.trim_matches(|c: char| c.is_whitespace() || c == '\u{3000}' || c == '\u{a0}')
}

/// Whether `s` is a plain number: optional sign, digits (optionally in thousands groups), optional decimals.
/// Returns `None` when it is not, `Some(true)` when its integer part has a leading zero (`007`).
fn plain_number(s: &[u8]) -> Option<bool> {
    let s = match s.first() {
        Some(b'+' | b'-') => &s[1..],
        _ => s,
    };
    let (int, frac) = match s.iter().position(|c| *c == b'.') {
        Some(dot) => (&s[..dot], Some(&s[dot + 1..])),
        None => (s, None),
    };
    if let Some(frac) = frac
        && (frac.is_empty() || !frac.iter().all(u8::is_ascii_digit))
    {
        return None;
    }
    if int.is_empty() {
        return frac.map(|_| false);
    }
    let mut digits = 0usize;
    if int.contains(&b',') {
        for (i, group) in int.split(|c| *c == b',').enumerate() {
            let ok = if i == 0 { (1..=3).contains(&group.len()) } else { group.len() == 3 };
            if !ok || !group.iter().all(u8::is_ascii_digit) {
                return None;
            }
            digits += group.len();
        }
    } else {
        if !int.iter().all(u8::is_ascii_digit) {
            return None;
        }
        digits = int.len();
    }
    Some((digits > 1 && int[0] == b'0') || digits > 15)
}

/// What a (trimmed, non-empty) value is with respect to numbers.
pub(super) fn number_class(s: &str) -> NumberClass {
    let b = s.as_bytes();
    let Some(first_digit) = b.iter().position(u8::is_ascii_digit) else { return NumberClass::Word };
    // The run of number characters around the first digit.
    let mut start = first_digit;
    while start > 0 && matches!(b[start - 1], b'.' | b'+' | b'-') {
        start -= 1;
    }
    let mut end = first_digit;
    while end < b.len() && (b[end].is_ascii_digit() || b[end] == b',' || b[end] == b'.') {
        end += 1;
    }
    let Some(leading_zero) = plain_number(&b[start..end]) else { return NumberClass::Other };
    if start == 0 && end == b.len() {
        return if leading_zero { NumberClass::Code } else { NumberClass::Number };
    }
    // A unit or word around it: anything but ASCII letters and digits, and no second number.
    let around = |part: &str| {
        part.chars().all(|c| !c.is_ascii() || matches!(c, '%' | '$' | ' ' | '(' | ')' | '+' | '~'))
            && !part.bytes().any(|c| c.is_ascii_digit())
    };
    if around(&s[..start]) && around(&s[end..]) { NumberClass::WithUnit } else { NumberClass::Other }
}

static ISO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?)?$",
    )
    .expect("valid regex")
});

/// A time of day after a date, in the forms Taiwanese files use.
const TIME: &str = r"(?:上午|下午|AM|PM|am|pm)?\s*\d{1,2}\s*[:時]\s*\d{1,2}\s*分?(?:\s*:?\s*\d{1,2}(?:\.\d+)?\s*秒?)?\s*(?:AM|PM|am|pm|Z|[+-]\d{2}:?\d{2})?";

/// `105/12/23`, `2015/1/16`, `105.02.09 19:20`, `2015-1-6`, `103-07-08`, `2015/08`.
static NUMERIC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"^(?:民國|西元)?\s*(\d{{2,4}})\s*([/.\-])\s*(\d{{1,2}})(?:\s*[/.\-]\s*(\d{{1,2}}))?(?:(?:\s+|T){TIME})?$"
    ))
    .expect("valid regex")
});

/// `1/16/2015` (month first).
static MONTH_FIRST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"^(\d{{1,2}})/(\d{{1,2}})/(\d{{4}})(?:\s+{TIME})?$")).expect("valid regex"));

/// `105年12月23日`, `民國105年1月`, `08月13日`, `2015年1月16日 03時00分`.
static CJK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"^(?:民國|西元)?\s*(?:(\d{{2,4}})\s*年\s*)?(\d{{1,2}})\s*月(?:\s*(\d{{1,2}})\s*[日號])?(?:\s*\(?[一二三四五六日]\)?)?(?:\s*{TIME})?$"
    ))
    .expect("valid regex")
});

/// SEGIS periods: `105Y12M`.
static SEGIS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(\d{2,4})Y(\d{1,2})M$").expect("valid regex"));

/// English month names with a four-digit year: `Sat Jan 28 00:00:00 CST 2023`, `28-Jan-2023`, `Jan 28, 2023`.
static ENGLISH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+)?(?:\d{1,2}[\s\-])?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?[\s\-]+(?:\d{1,2},?\s+)?(?:[\d:]+\s+)?(?:[a-z]{3,4}\s+)?\d{4}$",
    )
    .expect("valid regex")
});

fn year_ok(year: &str) -> bool {
    let Ok(y) = year.parse::<u32>() else { return false };
    match year.len() {
        2 => true,
        3 => (1..=200).contains(&y),
        4 => (1800..=2200).contains(&y),
        _ => false,
    }
}

fn month_ok(m: &str) -> bool {
    m.parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))
}

fn day_ok(d: &str) -> bool {
    d.parse::<u32>().is_ok_and(|d| (1..=31).contains(&d))
}

/// A compact date without separators: `20180101` (YYYYMMDD) or `1051223` (ROC YYYMMDD).
fn compact_date(b: &[u8]) -> bool {
    if !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let n = |s: &[u8]| s.iter().fold(0u32, |a, c| a * 10 + u32::from(c - b'0'));
    let (year, rest) = match b.len() {
        8 => (n(&b[..4]), &b[4..]),
        7 => (n(&b[..3]), &b[3..]),
        _ => return false,
    };
    let year_ok = if b.len() == 8 { (1900..=2100).contains(&year) } else { (1..=200).contains(&year) };
    year_ok && (1..=12).contains(&n(&rest[..2])) && (1..=31).contains(&n(&rest[2..]))
}

/// What a (trimmed, non-empty) value is with respect to dates. `named_date`: the column's name says it holds dates,
/// which admits the ambiguous spellings (compact digits, English month names).
pub(super) fn date_class(s: &str, named_date: bool) -> DateClass {
    let b = s.as_bytes();
    if b.len() > 48 {
        return DateClass::NotDate;
    }
    let Some(first) = b.first() else { return DateClass::NotDate };
    if first.is_ascii_digit() {
        if b.iter().all(u8::is_ascii_digit) {
            return match b.len() {
                4 if (1800..=2200).contains(&s.parse::<u32>().unwrap_or(0)) => DateClass::Year,
                7 | 8 if named_date && compact_date(b) => DateClass::Other { no_year: false },
                _ => DateClass::NotDate,
            };
        }
        if b.len() >= 7 && b[4] == b'-' && ISO.is_match(s) {
            return DateClass::Iso;
        }
    } else if !(s.starts_with("民國") || s.starts_with("西元")) {
        if named_date && first.is_ascii_alphabetic() && ENGLISH.is_match(s) {
            return DateClass::Other { no_year: false };
        }
        return DateClass::NotDate;
    }
    // Only values with a date separator can be dates from here on.
    if !b.iter().any(|c| matches!(c, b'/' | b'.' | b'-' | b'Y')) && !s.contains('月') {
        return DateClass::NotDate;
    }
    if let Some(c) = NUMERIC.captures(s) {
        let (year, sep, month) = (&c[1], &c[2], &c[3]);
        let ok = match c.get(4) {
            Some(day) => year_ok(year) && month_ok(month) && day_ok(day.as_str()),
            // Year and month only: a three- or four-digit year, and not with dots (`2015.5` is a number).
            None => year.len() >= 3 && year_ok(year) && month_ok(month) && sep != ".",
        };
        return if ok { DateClass::Other { no_year: false } } else { DateClass::NotDate };
    }
    if let Some(c) = CJK.captures(s) {
        let year = c.get(1);
        let day = c.get(3);
        let ok = month_ok(&c[2])
            && year.is_none_or(|y| year_ok(y.as_str()))
            && day.is_none_or(|d| day_ok(d.as_str()))
            && (year.is_some() || day.is_some());
        return if ok { DateClass::Other { no_year: year.is_none() } } else { DateClass::NotDate };
    }
    if let Some(c) = SEGIS.captures(s) {
        return if year_ok(&c[1]) && month_ok(&c[2]) {
            DateClass::Other { no_year: false }
        } else {
            DateClass::NotDate
        };
    }
    if let Some(c) = MONTH_FIRST.captures(s) {
        return if month_ok(&c[1]) && day_ok(&c[2]) && year_ok(&c[3]) {
            DateClass::Other { no_year: false }
        } else {
            DateClass::NotDate
        };
    }
    DateClass::NotDate
}

/// Whether a column's name says it holds dates.
pub(super) fn named_date(name: &str) -> bool {
    let lower = name.to_lowercase();
    ["日期", "時間", "年月", "生日", "date"].iter().any(|w| lower.contains(w)) || name.trim_end().ends_with('日')
}

/// Whether a column's name says it holds identifiers or codes rather than quantities.
pub(super) fn named_identifier(name: &str) -> bool {
    let lower = name.to_lowercase();
    let key: String = lower.chars().filter(|c| !matches!(c, ' ' | '-' | '.')).collect();
    key == "id"
        || key == "no"
        || key.ends_with("id")
        || key.contains("_id")
        || key.contains("id_")
        || key.ends_with("_no")
        || key.ends_with("no")
        || [
            "code", "編號", "代碼", "代號", "序號", "號碼", "項次", "統編", "電話", "tel", "phone", "fax", "傳真",
            "郵遞", "郵區", "zip", "postal", "serial", "文號", "字號",
        ]
        .iter()
        .any(|w| key.contains(w))
}

/// Whether a column's name says it holds years (`年`, `年度`, `統計年`, `year`), not ages or counts per year.
pub(super) fn named_year(name: &str) -> bool {
    let lower = name.trim().to_lowercase();
    lower.contains("year")
        || lower.contains("yyy")
        || ["年", "年度", "年別", "年份", "統計年"].iter().any(|w| lower.ends_with(w))
        || ["年度", "年別", "年份"].iter().any(|w| lower.contains(w))
}

/// Whether a column's name says it holds a date or a time of day (numbers there are not quantities).
pub(super) fn named_time(name: &str) -> bool {
    let lower = name.to_lowercase();
    named_date(name) || ["時間", "time", "時刻", "月份", "month"].iter().any(|w| lower.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_codes_words() {
        for s in ["12", "-3.5", "1,234", "0.25", "+7", "1,234,567.89", ".5", "0"] {
            assert_eq!(number_class(s), NumberClass::Number, "{s}");
        }
        for s in ["007", "0943201436", "12345678901234567"] {
            assert_eq!(number_class(s), NumberClass::Code, "{s}");
        }
        for s in ["不詳", "N/A", "-", "無資料"] {
            assert_eq!(number_class(s), NumberClass::Word, "{s}");
        }
        for s in ["1,234人", "約500", "47.12%", "3 公尺"] {
            assert_eq!(number_class(s), NumberClass::WithUnit, "{s}");
        }
        for s in ["2722-0152", "A001", "3/派思特", "1.2.3", "12,34", "1e5", "死亡1;受傷0", "R4A"] {
            assert_eq!(number_class(s), NumberClass::Other, "{s}");
        }
    }

    #[test]
    fn dates() {
        for s in ["2016-12-23", "2014-04", "2016-12-23T10:00:00+08:00", "2016-12-23 10:00"] {
            assert_eq!(date_class(s, false), DateClass::Iso, "{s}");
        }
        assert_eq!(date_class("2016", false), DateClass::Year);
        for s in ["105/12/23", "2015/1/16", "105.02.09   19:20", "2015-1-6", "105年12月23日", "民國105年1月", "105Y12M"]
        {
            assert_eq!(date_class(s, false), DateClass::Other { no_year: false }, "{s}");
        }
        assert_eq!(date_class("08月13日", false), DateClass::Other { no_year: true });
        assert_eq!(date_class("102年01月01日 03時00分", false), DateClass::Other { no_year: false });
        assert_eq!(date_class("20180101", true), DateClass::Other { no_year: false });
        assert_eq!(date_class("Sat Jan 28 00:00:00 CST 2023", true), DateClass::Other { no_year: false });
        for s in ["20180101", "15-19", "10-20", "2015.5", "1.5", "051200", "不詳", "12月", "3/派思特", "2016-13", "A1"]
        {
            assert_eq!(date_class(s, false), DateClass::NotDate, "{s}");
        }
    }

    #[test]
    fn names() {
        assert!(named_date("發生日期") && named_date("發病日") && named_date("UpdateDate") && named_date("統計年月"));
        assert!(!named_date("區域別") && !named_date("星期"));
        assert!(named_identifier("stationId") && named_identifier("編號") && !named_identifier("CITY_SN"));
        assert!(
            named_year("發生年度") && named_year("統計年") && named_year("year") && !named_year("當事者事故發生時年齡")
        );
    }
}
