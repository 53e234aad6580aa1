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
            let mine: Vec<Finding> = findings.iter().filter(|f| f.code == *code).cloned().collect();
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
