//! The declarative pipeline a dataset applies to every file published to it, and the transform log that says
//! what ingestion changed in a version.
//!
//! A pipeline is plain data, stored with the dataset (every change makes a new pipeline revision) and written by the
//! publisher as TOML or JSON:
//!
//! ```toml
//! table = "1040822各區病例數"        # which sheet / HTML table / ZIP member to read
//! header_rows = 2                    # or leave out: tapwater finds the header itself
//! primary_key = ["案件編號"]
//! missing_values = ["不詳"]          # extra markers read as "no value" (on top of -, —, …, NA, 無, －)
//! source_column = "來源檔案"          # a merged yearly series names each row's file here
//!
//! [renames]                          # published name (or a drifting name of an older file) → column name
//! "受傷人數" = "傷者人數"
//!
//! [types]                            # force a type instead of inferring it
//! "郵遞區號" = "text"
//!
//! [normalizers]                      # every rule is on unless switched off here
//! fullwidth = false
//!
//! [sentinels]                        # numeric codes that mean "no value", per column ("*" = every column)
//! "*" = ["-99", "-998"]
//!
//! [code_lists.性別]                   # documented codes, kept as text
//! "1" = "男"
//! "2" = "女"
//!
//! [eudc]                             # Big5 user-defined characters: byte pair (hex) → character
//! "95CD" = "塩"
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::FieldType;

/// What ingestion does with every file published to a dataset. The default (`Pipeline::default()`) is "detect
/// everything, apply every normalizer".
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Pipeline {
    /// The sheet, HTML table or ZIP member to read when a file holds several: its name, or `#N` (1-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// How many header rows sit above the data (after any title rows): `0` for a file without a header (columns
    /// are then named `column_1` …, rename them below), `1` or `2`. Absent: detected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header_rows: Option<u8>,
    /// How many title rows sit above the header. Absent: detected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_rows: Option<u32>,
    /// Column renames, applied to the header as found: published name → the name users see. Several published names
    /// may map to one column (the header mapping of a yearly series with drifting names).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub renames: BTreeMap<String, String>,
    /// Types forced per column (after renames). A cell that does not fit becomes null, logged as `type_mismatch`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = BTreeMap<String, String>)]
    pub types: BTreeMap<String, FieldType>,
    /// Normalizer and shape rules switched on or off by name (see [`NORMALIZER_RULES`] and [`SHAPE_RULES`]); a rule
    /// not named here is on.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub normalizers: BTreeMap<String, bool>,
    /// Extra missing-value markers, read as null in typed columns.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_values: Vec<String>,
    /// Values that mean "no value" per column (`*` for every column): turned into null, logged as `sentinel`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sentinels: BTreeMap<String, Vec<String>>,
    /// Documented code lists per column: code → label. Columns with a code list stay text.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub code_lists: BTreeMap<String, BTreeMap<String, String>>,
    /// Columns whose values identify a row.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub primary_key: Vec<String>,
    /// Big5 user-defined (EUDC) characters: the byte pair in hex (`95CD`) → the character it stands for. Pairs not
    /// listed use tapwater's table of characters Taiwanese agencies are known to use, then Private Use Area code
    /// points (logged).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub eudc: BTreeMap<String, String>,
    /// The encoding the publisher declares for the dataset's files (data.gov.tw 編碼格式: `UTF-8`, `Big5` …). The
    /// detected encoding is always used; a difference is reported (`encoding_mismatch`), not fatal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// When several files are merged into one version (a yearly series, or `append`), the name of the column that
    /// says which file each row came from. Default `source_file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_column: Option<String>,
}

/// The normalizer rules a pipeline can switch off, by name, as they appear in the transform log.
pub const NORMALIZER_RULES: &[(&str, &str)] = &[
    ("trim", "leading and trailing spaces, ideographic spaces (U+3000) and no-break spaces removed"),
    ("fullwidth", "full-width digits and Latin letters (０-９, Ａ-Ｚ) turned into ASCII"),
    ("excel_guard", "Excel text guards unwrapped: =\"1101\" → 1101, '0943 → 0943"),
    ("missing_value", "missing-value markers (-, —, …, NA, 無, －, //) in a typed column read as null"),
    ("sentinel", "declared sentinel values read as null"),
    ("thousands", "thousands separators removed from numbers: 1,234 → 1234"),
    ("currency", "currency marks removed from numbers: NT$1,200 → 1200, 1200元 → 1200"),
    ("percent", "percent signs removed from numbers, the column's unit becomes %: 47.12% → 47.12"),
    (
        "roc_date",
        "ROC (Minguo) dates to ISO 8601: 105/12/23, 1051223, 105.12.23, 105年12月23日, 民國105年… → 2016-12-23",
    ),
    ("roc_datetime", "ROC date-times to ISO 8601: 102年01月01日 03時00分 → 2013-01-01T03:00"),
    ("roc_year_month", "ROC year-months to ISO 8601: 10304, 105Y12M → 2014-04, 2016-12"),
    ("local_date", "Gregorian dates in local forms to ISO 8601: 2015/1/16, 2015年1月16日 → 2015-01-16"),
    ("twd97", "TWD97 TM2 coordinates gain WGS84 longitude/latitude columns beside them"),
    ("header_unit", "units in headers kept as field metadata: 金額(千元) → unit 千元"),
];

/// The table-shape rules a pipeline can switch off by name (in `normalizers`), as they appear in the transform log.
/// Header detection cannot be switched off; `header_rows` and `skip_rows` fix it instead.
pub const SHAPE_RULES: &[(&str, &str)] = &[
    ("fill_down", "a leading key column written once per group of rows is filled down on the group's other rows"),
    ("total_row", "total rows (總計, 合計, 小計 …) are kept out of the data"),
    ("footnote_row", "rows holding one note (資料來源, 註, 說明 …) below the data are dropped"),
];

/// The pipeline switches a database query's table needs: it has exactly one header row and no title, footnote,
/// total or grouped rows, and a NULL is a NULL (not a cell to fill from the row above).
pub fn exact_table_pipeline(mut pipeline: Pipeline) -> Pipeline {
    pipeline.header_rows = Some(1);
    pipeline.skip_rows = Some(0);
    for (rule, _) in SHAPE_RULES {
        pipeline.normalizers.insert((*rule).to_string(), false);
    }
    pipeline
}

/// How a new file becomes a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PublishMode {
    /// The new version holds the new file's rows only.
    #[default]
    Replace,
    /// The new version holds the previous version's rows followed by the new file's, mapped through the same
    /// pipeline (monthly additions).
    Append,
}

impl PublishMode {
    pub fn parse(value: &str) -> Option<PublishMode> {
        match value {
            "replace" => Some(PublishMode::Replace),
            "append" => Some(PublishMode::Append),
            _ => None,
        }
    }
}

/// Everything ingestion changed or decided in a version, in order: how the file was decoded and shaped, then each
/// normalizer's work per column. Stored with the version; shown by `tapwater check` and `POST /api/v1/check`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TransformLog {
    pub entries: Vec<TransformEntry>,
}

impl TransformLog {
    /// The entry for `(file, column, rule)`, created empty on first use.
    pub fn entry(&mut self, file: Option<&str>, column: Option<&str>, rule: &str) -> &mut TransformEntry {
        let position = self
            .entries
            .iter()
            .position(|e| e.rule == rule && e.column.as_deref() == column && e.file.as_deref() == file);
        let index = match position {
            Some(i) => i,
            None => {
                self.entries.push(TransformEntry {
                    file: file.map(str::to_string),
                    column: column.map(str::to_string),
                    rule: rule.to_string(),
                    ..TransformEntry::default()
                });
                self.entries.len() - 1
            }
        };
        &mut self.entries[index]
    }

    /// Entries of one rule.
    pub fn of_rule<'a>(&'a self, rule: &'a str) -> impl Iterator<Item = &'a TransformEntry> + 'a {
        self.entries.iter().filter(move |e| e.rule == rule)
    }
}

/// How many examples an entry keeps.
pub const TRANSFORM_EXAMPLES: usize = 5;

/// One rule applied to one column (or to the whole file, `column: None`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TransformEntry {
    /// The file it happened in, when a version was made of several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// Stable name: a normalizer rule (`roc_date`, `thousands` …) or a decision (`decode`, `header_row`,
    /// `title_row`, `footnote_row`, `blank_row`, `total_row`, `fill_down`, `header_merge`, `machine_name_row`,
    /// `rename`, `type_mismatch`, `swapped_coordinates`, `unparsed_date` …).
    pub rule: String,
    /// Cells (or rows) changed, dropped or concerned.
    pub count: u64,
    /// What was decided, in words, when one sentence says more than examples (`Big5 (CP950) → UTF-8, confidence
    /// 0.98`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Up to [`TRANSFORM_EXAMPLES`] examples.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<TransformExample>,
}

impl TransformEntry {
    /// Counts one more cell and keeps it as an example while there is room.
    pub fn record(&mut self, row: Option<u64>, before: &str, after: Option<&str>) {
        self.count += 1;
        if self.examples.len() < TRANSFORM_EXAMPLES {
            self.examples.push(TransformExample { row, before: before.to_string(), after: after.map(str::to_string) });
        }
    }
}

/// One changed cell or dropped row: where, what it was, what it became (`None`: null, or dropped).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TransformExample {
    /// The line or sheet row in the file (1-based), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<u64>,
    pub before: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}
