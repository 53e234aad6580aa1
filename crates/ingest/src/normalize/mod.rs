//! Normalizers: the rules that turn what agencies write into clean typed values, each change logged by the caller.
//!
//! This module only *reads* cells; it decides nothing per column and logs nothing. [`crate::infer`] decides, over
//! every cell of a column, which reading the column gets (type + rule: "date via ROC slash form", "integer with
//! thousands separators"…), and [`crate::convert`] applies it and writes the transform log.
//!
//! - Cell-level rules, for every column ([`clean`]): `trim`, `excel_guard`, `fullwidth`.
//! - Typed readings: missing-value markers ([`is_missing_marker`]), numbers with thousands separators, currency
//!   marks and percent signs ([`decorated_number`]), ROC and local dates ([`dates`]), TWD97 coordinates ([`geo`]).
//! - Header metadata: units in headers ([`header_unit`]), what a column name says it holds ([`NameHints`]).
//!
//! Does not: guess what a free-text cell means, change header names, or touch a cell whose column stays text except
//! by the three cell-level rules. The byte-level functions never allocate, except [`clean`] which writes into a
//! caller-owned scratch buffer when a cell really changes.

pub(crate) mod dates;
pub(crate) mod geo;

use tapwater_types::Pipeline;

#[allow(unused_imports)] // lib.rs logs the date a file name carries
pub(crate) use dates::date_in_file_name;

/// Which normalizer rules are on (all unless the pipeline switches them off by name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rules {
    pub trim: bool,
    pub fullwidth: bool,
    pub excel_guard: bool,
    pub missing_value: bool,
    pub sentinel: bool,
    pub thousands: bool,
    pub currency: bool,
    pub percent: bool,
    pub roc_date: bool,
    pub roc_datetime: bool,
    pub roc_year_month: bool,
    pub local_date: bool,
    pub twd97: bool,
    pub header_unit: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Rules::from_pipeline(&Pipeline::default())
    }
}

impl Rules {
    pub(crate) fn from_pipeline(pipeline: &Pipeline) -> Rules {
        let on = |name: &str| pipeline.normalizers.get(name).copied().unwrap_or(true);
        Rules {
            trim: on("trim"),
            fullwidth: on("fullwidth"),
            excel_guard: on("excel_guard"),
            missing_value: on("missing_value"),
            sentinel: on("sentinel"),
            thousands: on("thousands"),
            currency: on("currency"),
            percent: on("percent"),
            roc_date: on("roc_date"),
            roc_datetime: on("roc_datetime"),
            roc_year_month: on("roc_year_month"),
            local_date: on("local_date"),
            twd97: on("twd97"),
            header_unit: on("header_unit"),
        }
    }

    /// Whether any cell-level rule is on (else cells are never looked at before typing).
    pub(crate) fn cleans_cells(&self) -> bool {
        self.trim || self.fullwidth || self.excel_guard
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Cell-level rules.

/// [`clean`] trimmed the cell (edge spaces, or the ideographic-space padding inside a short name).
pub(crate) const TRIMMED: u8 = 1;
/// [`clean`] turned full-width digits or Latin letters into ASCII.
pub(crate) const FULLWIDTH: u8 = 2;
/// [`clean`] unwrapped an Excel text guard.
pub(crate) const GUARDED: u8 = 4;

/// U+3000 IDEOGRAPHIC SPACE in UTF-8.
const IDEOGRAPHIC_SPACE: &[u8] = b"\xE3\x80\x80";
/// U+00A0 NO-BREAK SPACE in UTF-8.
const NO_BREAK_SPACE: &[u8] = b"\xC2\xA0";

#[inline]
fn is_ascii_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0C')
}

/// Whether [`clean`] could change the cell: the fast path. An ASCII cell without edge spaces and not starting with
/// `=` or `'` costs two byte tests and one `memchr3` (which finds the lead bytes of U+3000, U+00A0 and the
/// full-width forms block U+FF00–FFEF).
#[inline]
pub(crate) fn may_need_cleaning(cell: &[u8]) -> bool {
    let (Some(&first), Some(&last)) = (cell.first(), cell.last()) else { return false };
    is_ascii_space(first)
        || is_ascii_space(last)
        || first == b'='
        || first == b'\''
        || memchr::memchr3(0xEF, 0xE3, 0xC2, cell).is_some()
}

/// Applies the cell-level rules, in this order: `trim`, `excel_guard`, `fullwidth`. Returns the cleaned cell
/// (a sub-slice of `cell`, or `scratch` when bytes had to change) and which rules changed it ([`TRIMMED`],
/// [`GUARDED`], [`FULLWIDTH`]).
///
/// - `trim` removes ASCII whitespace, U+3000 and U+00A0 at both ends. It also removes U+3000 *inside* a cell of at
///   most 5 characters, none ASCII, where it sits between two other characters: agencies pad two-character names to
///   the width of three-character ones (`北　區` for 北區, next to 中西區), and a filter for `北區` must find it.
///   Longer text keeps its inner spaces (they may separate words).
/// - `excel_guard` unwraps `="1101"` → `1101`, and drops a leading apostrophe `'0943201436` → `0943201436` when what
///   follows starts like a number (a digit, `+`, `-`, `.`, `=`) and holds no other apostrophe: that is Excel's "keep
///   as text" mark, not part of the value.
/// - `fullwidth` turns ０-９, Ａ-Ｚ, ａ-ｚ (U+FF10–FF19, FF21–FF3A, FF41–FF5A) into ASCII, in every column (addresses
///   too). Full-width punctuation (（），：－) is left alone: it is how Chinese text is written.
pub(crate) fn clean<'a>(cell: &'a [u8], rules: &Rules, scratch: &'a mut Vec<u8>) -> (&'a [u8], u8) {
    let mut changed = 0;
    let mut c = cell;
    if rules.trim {
        let t = trim_edges(c);
        if t.len() != c.len() {
            changed |= TRIMMED;
            c = t;
        }
    }
    if rules.excel_guard
        && let Some(inner) = unguard(c)
    {
        changed |= GUARDED;
        c = inner;
    }
    let fullwidth = rules.fullwidth && has_fullwidth_alnum(c);
    let padded = rules.trim && padded_short_name(c);
    if !fullwidth && !padded {
        return (c, changed);
    }
    scratch.clear();
    let mut i = 0;
    while i < c.len() {
        if fullwidth
            && c[i] == 0xEF
            && i + 2 < c.len()
            && let Some(ascii) = fullwidth_to_ascii(c[i + 1], c[i + 2])
        {
            scratch.push(ascii);
            i += 3;
            changed |= FULLWIDTH;
            continue;
        }
        if padded && c[i..].starts_with(IDEOGRAPHIC_SPACE) {
            i += 3;
            changed |= TRIMMED;
            continue;
        }
        scratch.push(c[i]);
        i += 1;
    }
    (scratch.as_slice(), changed)
}

fn trim_edges(mut c: &[u8]) -> &[u8] {
    loop {
        let before = c.len();
        while let Some((&b, rest)) = c.split_first() {
            if !is_ascii_space(b) {
                break;
            }
            c = rest;
        }
        while let Some((&b, rest)) = c.split_last() {
            if !is_ascii_space(b) {
                break;
            }
            c = rest;
        }
        for space in [IDEOGRAPHIC_SPACE, NO_BREAK_SPACE] {
            if let Some(rest) = c.strip_prefix(space) {
                c = rest;
            }
            if let Some(rest) = c.strip_suffix(space) {
                c = rest;
            }
        }
        if c.len() == before {
            return c;
        }
    }
}

/// The value inside an Excel text guard, if the cell is one.
fn unguard(c: &[u8]) -> Option<&[u8]> {
    if c.len() >= 3 && c.starts_with(b"=\"") && c.ends_with(b"\"") {
        let inner = &c[2..c.len() - 1];
        // `="a""b"` is a formula concatenating strings, not a guard.
        return (!inner.contains(&b'"')).then_some(inner);
    }
    let rest = c.strip_prefix(b"'")?;
    let starts_like_number =
        rest.first().is_some_and(|&b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'='));
    (starts_like_number && !rest.contains(&b'\'')).then_some(rest)
}

#[inline]
fn fullwidth_to_ascii(b1: u8, b2: u8) -> Option<u8> {
    match (b1, b2) {
        // U+FF10–FF19 ０-９ = EF BC 90–99; U+FF21–FF3A Ａ-Ｚ = EF BC A1–BA.
        (0xBC, 0x90..=0x99) => Some(b'0' + (b2 - 0x90)),
        (0xBC, 0xA1..=0xBA) => Some(b'A' + (b2 - 0xA1)),
        // U+FF41–FF5A ａ-ｚ = EF BD 81–9A.
        (0xBD, 0x81..=0x9A) => Some(b'a' + (b2 - 0x81)),
        _ => None,
    }
}

fn has_fullwidth_alnum(c: &[u8]) -> bool {
    memchr::memchr_iter(0xEF, c).any(|i| i + 2 < c.len() && fullwidth_to_ascii(c[i + 1], c[i + 2]).is_some())
}

/// `北　區`: a short all-CJK name with U+3000 padding between characters (see [`clean`]).
fn padded_short_name(c: &[u8]) -> bool {
    if c.len() > 5 * 4 || memchr::memmem::find(c, IDEOGRAPHIC_SPACE).is_none() {
        return false;
    }
    let Ok(s) = std::str::from_utf8(c) else { return false };
    let chars: Vec<char> = s.chars().collect();
    chars.len() <= 5
        && chars.iter().all(|ch| !ch.is_ascii())
        && chars.first() != Some(&'\u{3000}')
        && chars.last() != Some(&'\u{3000}')
        && chars.iter().any(|&ch| ch != '\u{3000}')
}

// ---------------------------------------------------------------------------------------------------------------
// Missing values and sentinels.

/// Markers agencies write for "no value". `/` and `//` come from ROC date columns left blank in a `yyy/mm/dd`
/// template (tainan apartment committees: `//`); `－` (full-width hyphen) and `—` from statistical tables; `…` and
/// `#N/A` from spreadsheets; `NULL` from database exports.
const MISSING_MARKERS: &[&str] = &[
    "-", "--", "—", "――", "―", "－", "…", "...", "NA", "N/A", "n/a", "na", "N.A.", "#N/A", "無", "//", "/", "NULL",
    "null", "不詳",
];

/// Whether a (cleaned) cell is a missing-value marker: the built-in ones or the pipeline's.
#[inline]
pub(crate) fn is_missing_marker(c: &[u8], extra: &[Box<[u8]>]) -> bool {
    (c.len() <= 6 && MISSING_MARKERS.iter().any(|m| m.as_bytes() == c)) || extra.iter().any(|m| **m == *c)
}

// ---------------------------------------------------------------------------------------------------------------
// Numbers with decorations.

/// [`decorated_number`] removed thousands separators.
pub(crate) const THOUSANDS: u8 = 1;
/// [`decorated_number`] removed a currency mark.
pub(crate) const CURRENCY: u8 = 2;
/// [`decorated_number`] removed a percent sign.
pub(crate) const PERCENT: u8 = 4;

/// A number read through its decorations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Decorated {
    /// The value as an integer, when it is one (no fraction, no leading zero, fits `i64`).
    pub integer: Option<i64>,
    /// The value as a decimal, when it is one (at most 15 significant digits).
    pub decimal: Option<f64>,
    /// Which decorations were removed ([`THOUSANDS`], [`CURRENCY`], [`PERCENT`]); never 0.
    pub marks: u8,
}

/// Prefixes meaning New Taiwan dollars. `$` alone is how Taiwanese agencies write NT$ too.
const CURRENCY_PREFIXES: &[&[u8]] =
    &[b"NT$", b"NTD", b"NT", b"$", "＄".as_bytes(), "新臺幣".as_bytes(), "新台幣".as_bytes()];
const YUAN: &[u8] = "元".as_bytes();
const FULLWIDTH_PERCENT: &[u8] = "％".as_bytes();

/// Reads a number written with decorations: thousands separators (`1,234`, `"1,234,567"`: groups of exactly three
/// digits after a first group of one to three), a currency mark (`NT$1,200`, `$1,200`, `新臺幣1200`, `1200元`), or a
/// percent sign (`47.12%`, `47.12％` → 47.12). A sign may come first (`-1,234`, `-$5`). The digits must still follow
/// the plain grammar of [`crate::value`] (no leading zero, at most 15 significant digits for a decimal).
///
/// Returns `None` for a plain number (no decoration: the plain readers handle it), for a decoration switched off in
/// `rules`, and for anything else. Never allocates.
pub(crate) fn decorated_number(b: &[u8], rules: &Rules) -> Option<Decorated> {
    let mut marks = 0;
    let mut i = 0;
    let mut buf = [0u8; 48];
    let mut n = 0;
    let mut push = |c: u8, n: &mut usize| -> Option<()> {
        *buf.get_mut(*n)? = c;
        *n += 1;
        Some(())
    };
    let mut signed = false;
    if matches!(b.first(), Some(b'-' | b'+')) {
        push(b[0], &mut n)?;
        signed = true;
        i = 1;
    }
    if let Some(prefix) = CURRENCY_PREFIXES.iter().find(|p| b[i..].starts_with(p)) {
        marks |= CURRENCY;
        i += prefix.len();
        if b.get(i) == Some(&b' ') {
            i += 1;
        }
        if !signed && matches!(b.get(i), Some(b'-' | b'+')) {
            push(b[i], &mut n)?;
            i += 1;
        }
    }
    // Integer part, with optional thousands separators.
    let start = i;
    let mut group = 0usize;
    let mut groups = 0usize;
    while i < b.len() {
        match b[i] {
            c @ b'0'..=b'9' => {
                push(c, &mut n)?;
                group += 1;
            }
            b',' => {
                // The first group has 1–3 digits, every later one exactly 3.
                if group == 0 || (groups == 0 && group > 3) || (groups > 0 && group != 3) {
                    return None;
                }
                groups += 1;
                group = 0;
                marks |= THOUSANDS;
            }
            _ => break,
        }
        i += 1;
    }
    if i == start || group == 0 || (groups > 0 && group != 3) {
        return None;
    }
    if b.get(i) == Some(&b'.') {
        push(b'.', &mut n)?;
        i += 1;
        let frac = i;
        while i < b.len() && b[i].is_ascii_digit() {
            push(b[i], &mut n)?;
            i += 1;
        }
        if i == frac {
            return None;
        }
    }
    if b.get(i) == Some(&b' ') {
        i += 1;
    }
    let rest = &b[i..];
    if rest == YUAN {
        marks |= CURRENCY;
    } else if rest == b"%" || rest == FULLWIDTH_PERCENT {
        if marks & CURRENCY != 0 {
            return None;
        }
        marks |= PERCENT;
    } else if !rest.is_empty() {
        return None;
    }
    if marks == 0
        || (marks & THOUSANDS != 0 && !rules.thousands)
        || (marks & CURRENCY != 0 && !rules.currency)
        || (marks & PERCENT != 0 && !rules.percent)
    {
        return None;
    }
    let digits = &buf[..n];
    let integer = crate::value::integer(digits);
    let decimal = crate::value::decimal(digits);
    if integer.is_none() && decimal.is_none() {
        return None;
    }
    Some(Decorated { integer, decimal, marks })
}

// ---------------------------------------------------------------------------------------------------------------
// Headers.

/// Units (after an optional magnitude prefix such as 千 or 萬) that a header's trailing parentheses may hold.
const BASE_UNITS: &[&str] = &[
    "元",
    "新臺幣元",
    "新台幣元",
    "人",
    "人次",
    "戶",
    "口",
    "件",
    "次",
    "輛",
    "台",
    "臺",
    "個",
    "家",
    "所",
    "張",
    "株",
    "棟",
    "層",
    "床",
    "座",
    "艘",
    "頭",
    "隻",
    "箱",
    "包",
    "本",
    "冊",
    "筆",
    "公斤",
    "公克",
    "公噸",
    "噸",
    "公升",
    "立方公尺",
    "平方公里",
    "平方公尺",
    "公頃",
    "公畝",
    "坪",
    "公里",
    "公尺",
    "公分",
    "公釐",
    "毫米",
    "度",
    "小時",
    "分鐘",
    "分",
    "秒",
    "年",
    "月",
    "日",
    "天",
    "歲",
    "%",
    "％",
    "‰",
    "℃",
    "°C",
    "kg",
    "g",
    "t",
    "km",
    "m",
    "cm",
    "mm",
    "km2",
    "km²",
    "m2",
    "m²",
    "m3",
    "m³",
    "ha",
    "kWh",
    "MW",
    "kW",
    "L",
    "ppm",
    "NTD",
    "NT$",
    "USD",
];
const UNIT_MAGNITUDES: &[&str] = &["千", "萬", "十萬", "百萬", "千萬", "億", "十億", "百"];

/// The unit in a header's trailing parentheses: `金額(千元)` → `千元`, `面積（平方公里）` → `平方公里`,
/// `人口數(人)` → `人`, `金額(單位：千元)` → `千元`. Only known units count, so `Latitude(緯度)`, `刑警(V8)` and
/// `警員\n(安全維護)` carry none.
pub(crate) fn header_unit(name: &str) -> Option<String> {
    let name = name.trim_end();
    let (open, close) = if name.ends_with(')') {
        ('(', ')')
    } else if name.ends_with('）') {
        ('（', '）')
    } else {
        return None;
    };
    let body = &name[..name.len() - close.len_utf8()];
    let start = body.rfind(open)?;
    if start == 0 {
        return None; // the whole header is in parentheses: no name left
    }
    let mut unit = body[start + open.len_utf8()..].trim();
    for label in ["單位：", "單位:", "單位"] {
        if let Some(rest) = unit.strip_prefix(label) {
            unit = rest.trim();
        }
    }
    let mut base = unit;
    for currency in ["新臺幣", "新台幣"] {
        if let Some(rest) = base.strip_prefix(currency) {
            base = rest;
        }
    }
    if let Some(m) = UNIT_MAGNITUDES.iter().filter(|m| base.starts_with(**m)).max_by_key(|m| m.len()) {
        let rest = &base[m.len()..];
        if BASE_UNITS.contains(&rest) {
            return Some(unit.to_string());
        }
    }
    BASE_UNITS.contains(&base).then(|| unit.to_string())
}

/// What a column's name (or one of its aliases) says about its values: the gate for readings that a bare number
/// could also be (`1051223` is a date only under a date-like name).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct NameHints {
    /// 日期, 日, 時間, date, ymd …: compact digits (`1051223`, `20180101`) may be dates.
    pub date: bool,
    /// 年月, yyymm, yyyymm, year_month: compact digits (`10304`) may be ROC year-months.
    pub year_month: bool,
}

impl NameHints {
    pub(crate) fn of<'a>(names: impl IntoIterator<Item = &'a str>) -> NameHints {
        let mut hints = NameHints::default();
        for name in names {
            let lower = name.to_lowercase();
            let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
            hints.year_month |= has(&["年月", "yyymm", "yyyymm", "yymm", "year_month", "yearmonth"]);
            hints.date |= has(&["日期", "日", "時間", "date", "ymd", "day", "time"]) || lower == "dt";
        }
        hints
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cleaned(s: &str) -> (String, u8) {
        let mut scratch = Vec::new();
        let (c, flags) = clean(s.as_bytes(), &Rules::default(), &mut scratch);
        (String::from_utf8(c.to_vec()).unwrap(), flags)
    }

    #[test]
    fn trim_removes_ascii_ideographic_and_no_break_spaces_at_the_edges() {
        assert_eq!(cleaned(" 1 "), ("1".into(), TRIMMED));
        assert_eq!(cleaned("\u{3000}新北市板橋區\u{3000}"), ("新北市板橋區".into(), TRIMMED));
        assert_eq!(cleaned("\u{a0}x\u{a0} \u{3000}"), ("x".into(), TRIMMED));
        assert_eq!(cleaned("a b"), ("a b".into(), 0), "inner ASCII spaces stay");
        assert_eq!(cleaned(""), ("".into(), 0));
        assert_eq!(cleaned("   "), ("".into(), TRIMMED));
    }

    #[test]
    fn trim_removes_padding_inside_short_cjk_names_only() {
        assert_eq!(cleaned("北\u{3000}區"), ("北區".into(), TRIMMED));
        assert_eq!(cleaned("東\u{3000}區\u{3000}"), ("東區".into(), TRIMMED));
        assert_eq!(cleaned("中西區"), ("中西區".into(), 0));
        assert_eq!(
            cleaned("臺南市\u{3000}北區\u{3000}公園路"),
            ("臺南市\u{3000}北區\u{3000}公園路".into(), 0),
            "long text keeps it"
        );
        assert_eq!(cleaned("A\u{3000}B"), ("A\u{3000}B".into(), 0), "ASCII names are not padded that way");
    }

    #[test]
    fn fullwidth_digits_and_letters_become_ascii() {
        assert_eq!(cleaned("１０５/１２/２３"), ("105/12/23".into(), FULLWIDTH));
        assert_eq!(cleaned("中正一路１２３號Ｂ１ｆ"), ("中正一路123號B1f".into(), FULLWIDTH));
        assert_eq!(cleaned("（Ａ＝１＋２）"), ("（A＝1＋2）".into(), FULLWIDTH), "full-width punctuation stays");
        assert_eq!(cleaned("－"), ("－".into(), 0));
        let rules = Rules { fullwidth: false, ..Rules::default() };
        let mut scratch = Vec::new();
        assert_eq!(clean("１２".as_bytes(), &rules, &mut scratch), ("１２".as_bytes(), 0));
    }

    #[test]
    fn excel_guards_are_unwrapped() {
        assert_eq!(cleaned("=\"1101\""), ("1101".into(), GUARDED));
        assert_eq!(cleaned("'0943201436"), ("0943201436".into(), GUARDED));
        assert_eq!(cleaned(" '0943 "), ("0943".into(), TRIMMED | GUARDED));
        assert_eq!(cleaned("'abc"), ("'abc".into(), 0), "an apostrophe before a word is kept");
        assert_eq!(cleaned("'12'"), ("'12'".into(), 0), "a quoted value is kept");
        assert_eq!(cleaned("=\"a\"\"b\""), ("=\"a\"\"b\"".into(), 0));
        assert_eq!(cleaned("=SUM(A1)"), ("=SUM(A1)".into(), 0));
        assert_eq!(cleaned("'"), ("'".into(), 0));
    }

    #[test]
    fn the_fast_path_skips_plain_cells() {
        for s in ["1234", "鳳山區", "2016-01-01", "a b"] {
            assert!(!may_need_cleaning(s.as_bytes()), "{s}");
        }
        for s in [" 1", "1 ", "'1", "=\"1\"", "１", "北\u{3000}區", "x\u{a0}"] {
            assert!(may_need_cleaning(s.as_bytes()), "{s}");
        }
    }

    #[test]
    fn missing_markers() {
        for m in ["-", "—", "…", "NA", "N/A", "無", "－", "//", "/", "#N/A"] {
            assert!(is_missing_marker(m.as_bytes(), &[]), "{m}");
        }
        for v in ["0", "無資料", "NAN", "x", ""] {
            assert!(!is_missing_marker(v.as_bytes(), &[]), "{v}");
        }
        let extra: Vec<Box<[u8]>> = vec!["不明".as_bytes().into()];
        assert!(is_missing_marker("不明".as_bytes(), &extra));
    }

    fn number(s: &str) -> Option<(Option<i64>, Option<f64>, u8)> {
        decorated_number(s.as_bytes(), &Rules::default()).map(|d| (d.integer, d.decimal, d.marks))
    }

    #[test]
    fn decorated_numbers() {
        assert_eq!(number("1,234"), Some((Some(1234), Some(1234.0), THOUSANDS)));
        assert_eq!(number("1,234,567"), Some((Some(1_234_567), Some(1_234_567.0), THOUSANDS)));
        assert_eq!(number("-1,234.5"), Some((None, Some(-1234.5), THOUSANDS)));
        assert_eq!(number("NT$1,200"), Some((Some(1200), Some(1200.0), THOUSANDS | CURRENCY)));
        assert_eq!(number("$ 5"), Some((Some(5), Some(5.0), CURRENCY)));
        assert_eq!(number("-$5"), Some((Some(-5), Some(-5.0), CURRENCY)));
        assert_eq!(number("1200元"), Some((Some(1200), Some(1200.0), CURRENCY)));
        assert_eq!(number("新臺幣1,200元"), Some((Some(1200), Some(1200.0), THOUSANDS | CURRENCY)));
        assert_eq!(number("47.12%"), Some((None, Some(47.12), PERCENT)));
        assert_eq!(number("100％"), Some((Some(100), Some(100.0), PERCENT)));
        // Not numbers with decorations.
        for s in [
            "1234",
            "1.5",
            "1,23",
            "12,3456",
            ",123",
            "1,,234",
            "1,234.",
            "01,234",
            "1,234,56",
            "3,400元/月",
            "$%5",
            "5%元",
            "$",
            "%",
            "1.2.3",
            "1,5",
            "NT$",
        ] {
            assert_eq!(number(s), None, "{s}");
        }
        let no_thousands = Rules { thousands: false, ..Rules::default() };
        assert_eq!(decorated_number(b"1,234", &no_thousands), None);
    }

    #[test]
    fn header_units() {
        assert_eq!(header_unit("金額(千元)").as_deref(), Some("千元"));
        assert_eq!(header_unit("面積（平方公里）").as_deref(), Some("平方公里"));
        assert_eq!(header_unit("人口數(人)").as_deref(), Some("人"));
        assert_eq!(header_unit("預算數(單位：新臺幣千元)").as_deref(), Some("新臺幣千元"));
        assert_eq!(header_unit("比率(%)").as_deref(), Some("%"));
        for name in ["Latitude(緯度)", "刑警(V8)", "警員\n(安全維護)", "有效票數A（A＝1＋2＋…＋N）", "(人)", "人口數"]
        {
            assert_eq!(header_unit(name), None, "{name}");
        }
    }

    #[test]
    fn every_rule_of_the_pipeline_list_can_be_switched_off() {
        for (name, _) in tapwater_types::NORMALIZER_RULES {
            let mut pipeline = Pipeline::default();
            pipeline.normalizers.insert(name.to_string(), false);
            assert_ne!(Rules::from_pipeline(&pipeline), Rules::default(), "{name} switches nothing off");
        }
        assert_eq!(tapwater_types::NORMALIZER_RULES.len(), 14, "a new rule needs a switch in Rules");
    }

    #[test]
    fn name_hints() {
        assert!(NameHints::of(["成立核准日期"]).date);
        assert!(NameHints::of(["發生時間"]).date);
        assert!(NameHints::of(["統計年月"]).year_month);
        assert!(NameHints::of(["統計年月", "statistic_yyymm"]).year_month);
        assert!(NameHints::of(["x", "statistic_yyymm"]).year_month);
        assert!(!NameHints::of(["人數"]).date);
        assert!(!NameHints::of(["人數"]).year_month);
        assert!(!NameHints::of(["編號"]).date);
    }
}
