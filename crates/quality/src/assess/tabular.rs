//! The checks over the table's values: their findings were computed by [`crate::TableChecker`] when the version was
//! written; here they are copied in and turned into outcomes.

use tapwater_types::Finding;

use super::{AssessInput, Judged};

/// The checks whose findings come from the table checker, in catalogue order.
pub(super) const TABLE_CHECKS: [&str; 11] = [
    "date_format",
    "mixed_types",
    "empty_column",
    "constant_column",
    "duplicate_rows",
    "primary_key",
    "numeric_outliers",
    "code_list",
    "constraints",
    "coordinates",
    "series_gaps",
];

/// The table checks judged, and the stored findings of no table check (kept in the report, not scored).
pub(super) fn judge(input: &AssessInput<'_>) -> (Vec<(&'static str, Judged)>, Vec<Finding>) {
    let (Some(_), Some(findings)) = (input.version, input.table_findings) else {
        // Pending (or unpublished): nothing is known about the values yet.
        return (TABLE_CHECKS.iter().map(|code| (*code, Judged::skip())).collect(), Vec::new());
    };
    let judged = TABLE_CHECKS
        .iter()
        .map(|code| {
            let mut mine: Vec<Finding> = findings.iter().filter(|f| f.code == *code).cloned().collect();
            if *code == "series_gaps" {
                mine.extend(file_series_gaps(input));
            }
            let judged = if applies(input, code, &mine) { Judged::of(mine) } else { Judged::skip() };
            (*code, judged)
        })
        .collect();
    let others = findings.iter().filter(|f| !TABLE_CHECKS.contains(&f.code.as_str())).cloned().collect();
    (judged, others)
}

/// Whether a table check applies to this dataset as declared now (a check that does not apply is `skip`, and its
/// stored findings, made under an older declaration, are left out).
fn applies(input: &AssessInput<'_>, code: &str, findings: &[Finding]) -> bool {
    let metadata = &input.dataset.metadata;
    match code {
        "primary_key" => !metadata.primary_key.is_empty() || !input.pipeline.primary_key.is_empty(),
        "code_list" => {
            !input.pipeline.code_lists.is_empty() || metadata.fields.iter().any(|f| !f.constraints.allowed.is_empty())
        }
        "constraints" => metadata.fields.iter().any(|f| !f.constraints.is_empty()),
        "coordinates" => {
            !findings.is_empty()
                || input.version.is_some_and(|v| {
                    v.schema.fields.iter().any(|f| matches!(f.role.as_deref(), Some("longitude" | "latitude")))
                })
        }
        _ => true,
    }
}

/// The periods of a series of files (as year or month numbers), their unit in English and Chinese, and how one is
/// written.
type SeriesPeriods = (Vec<i64>, &'static str, &'static str, fn(i64) -> String);

/// Gaps in a series published as one file per period (`A1_2013.csv`, `A1_2014.csv` …, merged into one version):
/// the periods come from the dates ingestion read in the file names (`file_name_date` in the transform log). At
/// least three dated files are needed, every file a period of its own (distinct years: yearly; else distinct
/// months: monthly), and at most half the span missing — sparser dates are samples, not a broken series.
fn file_series_gaps(input: &AssessInput<'_>) -> Option<Finding> {
    use chrono::Datelike;
    let log = input.transform_log?;
    let files = &input.sources?.files;
    if files.len() < 3 {
        return None;
    }
    // Ingestion reads ROC dates in names (`roc102`, `1040826`); a plain Gregorian year or year-month
    // (`…_2018.csv`, `202404.csv`) is read here.
    let dates: Vec<chrono::NaiveDate> = files
        .iter()
        .map(|file| {
            log.of_rule("file_name_date")
                .find(|e| e.file.as_deref() == Some(file.name.as_str()))
                .and_then(|e| e.examples.first()?.after.as_deref()?.parse::<chrono::NaiveDate>().ok())
                .or_else(|| gregorian_period_in_name(&file.name))
        })
        .collect::<Option<_>>()?;
    let distinct = |key: &dyn Fn(&chrono::NaiveDate) -> i64| {
        let mut keys: Vec<i64> = dates.iter().map(key).collect();
        keys.sort_unstable();
        keys.dedup();
        (keys.len() == dates.len()).then_some(keys)
    };
    let (keys, label, label_zh, name): SeriesPeriods = if let Some(years) = distinct(&|d| i64::from(d.year())) {
        (years, "years", "年", |k| k.to_string())
    } else if let Some(months) = distinct(&|d| i64::from(d.year()) * 12 + i64::from(d.month0())) {
        (months, "months", "個月", |k| format!("{}-{:02}", k.div_euclid(12), k.rem_euclid(12) + 1))
    } else {
        return None;
    };
    let (first, last) = (*keys.first()?, *keys.last()?);
    let span = last - first + 1;
    let missing: Vec<i64> = (first..=last).filter(|k| keys.binary_search(k).is_err()).collect();
    if missing.is_empty() || missing.len() as i64 * 2 > span {
        return None;
    }
    let mut finding = crate::codes::finding(
        "series_gaps",
        tapwater_types::Severity::Warning,
        format!(
            "The version merges one file per period, and {} of the {span} {label} from the first file to the last have no file.",
            missing.len()
        ),
        format!(
            "此版本由每期一個檔案合併而成，從第一個到最後一個檔案的 {span} {label_zh}中，有 {} 期沒有檔案。",
            missing.len()
        ),
    );
    finding.column = input.pipeline.source_column.clone().or_else(|| Some("source_file".to_string()));
    finding.count = missing.len() as u64;
    finding.examples = missing.into_iter().take(5).map(name).collect();
    Some(finding)
}

/// A Gregorian year (1900–2099), or a year and month written together (`2024-04`, `2024_04`, `202404`), standing
/// alone between non-digits in a file name: the first of the period.
fn gregorian_period_in_name(name: &str) -> Option<chrono::NaiveDate> {
    static PERIOD: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let pattern = PERIOD
        .get_or_init(|| regex::Regex::new(r"(?:^|\D)((?:19|20)\d{2})(?:[-_]?(0[1-9]|1[0-2]))?(?:\D|$)").ok())
        .as_ref()?;
    let found = pattern.captures(name)?;
    let year: i32 = found.get(1)?.as_str().parse().ok()?;
    let month: u32 = found.get(2).map_or(Some(1), |m| m.as_str().parse().ok())?;
    chrono::NaiveDate::from_ymd_opt(year, month, 1)
}
