//! Assessment of a dataset: metadata, the national portal's six checks, links, timeliness, score, stars, badge.
//! (Being written.)

use chrono::{DateTime, Utc};
use tapwater_types::{Dataset, Finding, Frequency, Pipeline, QualityReport, TransformLog, Version, VersionSources};

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

/// Judges a dataset and its version.
pub fn assess(input: &AssessInput<'_>) -> QualityReport {
    let _ = input;
    unimplemented!("being written")
}

/// When the next version is due after `last`, by a declared frequency; `None` for `irregular`.
pub fn next_due(frequency: Frequency, last: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let _ = (frequency, last);
    None
}
