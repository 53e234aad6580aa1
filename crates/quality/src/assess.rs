//! Assessment of a dataset: metadata, the national portal's six checks, links, timeliness, score, stars, badge.
//!
//! [`assess`] judges every check of [`crate::CHECKS`] (a check that does not apply is `skip`), collects the findings,
//! and derives the 0–100 score, the five-star level and the readiness badge from the outcomes. The parts live in
//! submodules: `portal` (the national portal's six, plus the declared format and decoding), `tabular` (the stored
//! table findings), `metadata` (descriptions, licence, completeness, timeliness), `score`, `stars` and `badge`.

mod badge;
mod metadata;
mod portal;
mod score;
mod stars;
mod tabular;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Months, TimeDelta, Utc};
use tapwater_types::{
    Dataset, DatasetMetadata, Field, FieldMetadata, Finding, Frequency, Pipeline, QualityReport, Severity,
    TransformLog, Version, VersionSources,
};

use crate::codes::CHECKS;

/// The result of fetching a URL source's address, made by the application layer at check time.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkCheck {
    /// The address tried (credentials redacted).
    pub url: String,
    /// The HTTP status of the first answer (after redirects), or why there was none.
    pub linkable: Result<u16, String>,
    /// The number of bytes of a complete download, or why it failed.
    pub downloadable: Result<u64, String>,
}

/// Everything [`assess`] judges.
#[derive(Debug, Clone)]
pub struct AssessInput<'a> {
    pub dataset: &'a Dataset,
    /// The version judged; `None` before the first publish.
    pub version: Option<&'a Version>,
    /// Its source files (formats and encodings detected).
    pub sources: Option<&'a VersionSources>,
    /// Its transform log (format and encoding mismatches, decode errors …).
    pub transform_log: Option<&'a TransformLog>,
    /// The dataset's current pipeline (declared encoding, primary key, code lists).
    pub pipeline: &'a Pipeline,
    /// The stored findings of [`crate::TableChecker`]; `None` while they are pending.
    pub table_findings: Option<&'a [Finding]>,
    /// `pending`, `ready` or `failed`: the status of the table checks.
    pub table_status: &'a str,
    /// When the table checks ran.
    pub checked_at: Option<DateTime<Utc>>,
    /// For a URL source: the link check made when the version was checked. `None` for uploaded files, which
    /// tapwater itself serves (`stored_files_present` says whether their bytes are all in the store).
    pub links: Option<&'a LinkCheck>,
    pub stored_files_present: bool,
    /// When the data was last known current: the version's creation, or a later source run that found it unchanged.
    pub last_refreshed: Option<DateTime<Utc>>,
    /// The moment of judgement.
    pub now: DateTime<Utc>,
}

/// How late a version may be before `timeliness` fails (udata grants one day too).
pub(crate) const GRACE: TimeDelta = TimeDelta::days(1);

/// Judges a dataset and its version.
pub fn assess(input: &AssessInput<'_>) -> QualityReport {
    let mut judged: Vec<(&'static str, Judged)> = vec![
        ("linkable", portal::linkable(input)),
        ("downloadable", portal::downloadable(input)),
        ("structure", portal::structure(input)),
        ("encoding_match", portal::encoding_match(input)),
        ("desc_match", portal::desc_match(input)),
        ("csv", portal::csv(input)),
        ("format_match", portal::format_match(input)),
        ("decode_errors", portal::decode_errors(input)),
    ];
    let (table, unscored) = tabular::judge(input);
    judged.extend(table);
    judged.extend([
        ("field_descriptions", metadata::field_descriptions(input)),
        ("license", metadata::license(input)),
        ("description", metadata::description(input)),
        ("metadata_completeness", metadata::completeness(input)),
        ("timeliness", metadata::timeliness(input)),
    ]);
    let judged = Judgement(judged);

    let (checks, score) = score::tally(&judged);
    // Findings in catalogue order, then most severe first (the sort is stable).
    let mut findings: Vec<Finding> =
        CHECKS.iter().filter_map(|c| judged.get(c.code)).flat_map(|j| j.findings.iter().cloned()).collect();
    findings.extend(unscored);
    findings.sort_by_key(|f| f.severity);

    QualityReport {
        dataset: input.dataset.slug.as_str().to_string(),
        version: input.version.map_or(0, |v| v.seq),
        status: if input.version.is_some() { input.table_status.to_string() } else { "unpublished".to_string() },
        checked_at: input.checked_at,
        assessed_at: input.now,
        score,
        stars: stars::level(input),
        badge: badge::badge(input, &judged),
        checks,
        findings,
        examples_withheld: false,
    }
}

/// When the next version is due after `last`, by a declared frequency; `None` for `irregular`.
///
/// Months are calendar months (the 31st of January plus one month is the last day of February); no grace is added.
pub fn next_due(frequency: Frequency, last: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match frequency {
        Frequency::Realtime => last.checked_add_signed(TimeDelta::hours(1)),
        Frequency::Daily => last.checked_add_signed(TimeDelta::days(1)),
        Frequency::Weekly => last.checked_add_signed(TimeDelta::days(7)),
        Frequency::Monthly => last.checked_add_months(Months::new(1)),
        Frequency::Quarterly => last.checked_add_months(Months::new(3)),
        Frequency::Yearly => last.checked_add_months(Months::new(12)),
        Frequency::Irregular => None,
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Pass,
    Warn,
    Fail,
    Skip,
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Warn => "warn",
            Outcome::Fail => "fail",
            Outcome::Skip => "skip",
        }
    }
}

/// A check's outcome with its findings.
#[derive(Debug, Clone)]
pub(crate) struct Judged {
    pub(crate) outcome: Outcome,
    pub(crate) findings: Vec<Finding>,
    /// The share of the weight earned, when it is not the usual all / half / nothing (metadata completeness).
    pub(crate) share: Option<f64>,
}

impl Judged {
    pub(crate) fn skip() -> Judged {
        Judged { outcome: Outcome::Skip, findings: Vec::new(), share: None }
    }

    pub(crate) fn pass() -> Judged {
        Judged { outcome: Outcome::Pass, findings: Vec::new(), share: None }
    }

    /// Fails on an error finding, warns on a warning, passes otherwise (info costs nothing).
    pub(crate) fn of(findings: Vec<Finding>) -> Judged {
        let outcome = if findings.iter().any(|f| f.severity == Severity::Error) {
            Outcome::Fail
        } else if findings.iter().any(|f| f.severity == Severity::Warning) {
            Outcome::Warn
        } else {
            Outcome::Pass
        };
        Judged { outcome, findings, share: None }
    }
}

/// Every check judged, by code.
#[derive(Debug)]
pub(crate) struct Judgement(Vec<(&'static str, Judged)>);

impl Judgement {
    pub(crate) fn get(&self, code: &str) -> Option<&Judged> {
        self.0.iter().find(|(c, _)| *c == code).map(|(_, j)| j)
    }

    /// The outcome of a check; `skip` for a check not judged.
    pub(crate) fn outcome(&self, code: &str) -> Outcome {
        self.get(code).map_or(Outcome::Skip, |j| j.outcome)
    }
}

/// Whether tapwater added a column itself (WGS84 coordinates computed from TWD97 ones, the source file of a merged
/// series): the publisher need not declare or describe it.
pub(crate) fn is_added(field: &Field) -> bool {
    !field.derived_from.is_empty() || field.role.as_deref() == Some("source_file")
}

/// The version's columns the publisher is answerable for.
pub(crate) fn own_columns(version: &Version) -> impl Iterator<Item = &Field> {
    version.schema.fields.iter().filter(|f| !is_added(f))
}

/// The declared metadata of a column, matched by its name or one of its aliases.
pub(crate) fn declared<'m>(metadata: &'m DatasetMetadata, field: &Field) -> Option<&'m FieldMetadata> {
    metadata
        .fields
        .iter()
        .find(|m| m.name == field.name)
        .or_else(|| metadata.fields.iter().find(|m| field.answers_to(&m.name)))
}

/// Whether an optional text is present and not blank.
pub(crate) fn filled(text: Option<&String>) -> bool {
    text.is_some_and(|t| !t.trim().is_empty())
}

/// One file a version was read from, as far as the checks care.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SourceDesc<'a> {
    pub(crate) name: &'a str,
    pub(crate) format: &'a str,
    pub(crate) encoding: &'a str,
}

/// The version's source files: the listed ones, else its original file.
pub(crate) fn source_files<'a>(input: &AssessInput<'a>) -> Vec<SourceDesc<'a>> {
    let listed: Vec<SourceDesc<'a>> = input
        .sources
        .map(|s| {
            s.files.iter().map(|f| SourceDesc { name: &f.name, format: &f.format, encoding: &f.encoding }).collect()
        })
        .unwrap_or_default();
    if !listed.is_empty() {
        return listed;
    }
    input
        .version
        .map(|v| {
            vec![SourceDesc { name: &v.original.filename, format: &v.original.format, encoding: &v.original.encoding }]
        })
        .unwrap_or_default()
}

/// Names for a message: the first few, joined by `separator`, with an ellipsis when there are more.
pub(crate) fn name_list(names: &[String], separator: &str) -> String {
    const SHOWN: usize = 10;
    let mut text = names.iter().take(SHOWN).map(String::as_str).collect::<Vec<_>>().join(separator);
    if names.len() > SHOWN {
        text.push_str(separator);
        text.push('…');
    }
    text
}

/// `1 column`, `2 columns`.
pub(crate) fn plural(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// Distinct values in first-seen order.
pub(crate) fn distinct(values: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for value in values {
        if !out.contains(&value) {
            out.push(value);
        }
    }
    out
}
