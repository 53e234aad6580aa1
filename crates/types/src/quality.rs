//! The quality report of a version: findings a publisher can act on, a 0–100 score, a five-star level and a
//! readiness badge. Computed by `tapwater-quality`; this module only says what a report *is*.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How bad a finding is. `error` fails the check it belongs to (and `tapwater quality` exits non-zero),
/// `warning` halves its weight in the score, `info` is advice that costs nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// One thing wrong (or worth knowing) about a dataset, with what to do about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Finding {
    /// Stable code, e.g. `mixed_types`, `encoding_match`; documented in docs/quality.md.
    pub code: String,
    pub severity: Severity,
    /// The column concerned, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// How many rows (or values, columns, periods …, as the message says) are concerned.
    pub count: u64,
    /// Data row numbers (1-based, in the served table) of the first rows concerned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<u64>,
    /// A few of the values concerned, as text. Removed for callers who may not read the dataset's rows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
    /// What was found, in English and Traditional Chinese. Never contains a value of the data (those go to
    /// `examples`), so a message can be shown to anyone who may see the dataset's metadata.
    pub message: String,
    pub message_zh: String,
    /// What the publisher should do, in English and Traditional Chinese.
    pub fix: String,
    pub fix_zh: String,
}

/// Whether a check passed, and what it weighs in the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckOutcome {
    /// The check's code (the same code its findings carry).
    pub code: String,
    /// `pass`, `warn`, `fail` or `skip` (the check does not apply, e.g. `linkable` without a URL).
    pub outcome: String,
    /// Its weight in the 0–100 score (see docs/quality.md).
    pub weight: u32,
    /// Points earned: the weight when passed, half on a warning, none on failure.
    pub earned: f64,
}

/// A five-star deployment level with the reason for it and the step to the next star.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StarLevel {
    /// 0–5.
    pub stars: u8,
    pub explanation: String,
    pub explanation_zh: String,
    /// What to do to reach the next star; absent at five.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_zh: Option<String>,
}

/// One criterion of the readiness badge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BadgeCriterion {
    /// `machine_readable`, `correct_encoding`, `field_descriptions`, `updated_on_time`, `links_valid`.
    pub name: String,
    pub label: String,
    pub label_zh: String,
    pub met: bool,
}

/// The readiness mark, modelled on the national portal's quality badge: gold when every criterion is met, silver
/// with one missed, bronze with two, none below.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Badge {
    /// `gold`, `silver`, `bronze` or `none`.
    pub level: String,
    pub criteria: Vec<BadgeCriterion>,
}

/// The quality report of one version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QualityReport {
    /// The dataset's slug.
    pub dataset: String,
    /// The version checked.
    pub version: i64,
    /// `pending` until the checks of the version have run, then `ready` (or `failed`).
    pub status: String,
    /// When the table checks ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<DateTime<Utc>>,
    /// When this assessment was made: metadata and timeliness are judged as of this moment.
    pub assessed_at: DateTime<Utc>,
    /// 0–100, the weighted share of checks passed.
    pub score: u8,
    pub stars: StarLevel,
    pub badge: Badge,
    /// Every check with its outcome and weight.
    pub checks: Vec<CheckOutcome>,
    /// What was found, errors first.
    pub findings: Vec<Finding>,
    /// Whether `examples` were removed because the caller may not read the dataset's rows.
    #[serde(default)]
    pub examples_withheld: bool,
}

impl QualityReport {
    /// Number of findings of a severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == severity).count()
    }

    /// Removes every value of the data from the report (examples), for a caller who may not read the rows.
    pub fn withhold_examples(&mut self) {
        for finding in &mut self.findings {
            finding.examples.clear();
        }
        self.examples_withheld = true;
    }
}

/// One version's report in a dataset's quality history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QualityHistoryEntry {
    pub version: i64,
    pub created_at: DateTime<Utc>,
    /// `pending`, `ready` or `failed`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stars: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub badge: Option<String>,
    pub errors: u64,
    pub warnings: u64,
}

/// One dataset on a publisher's quality dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PublisherQualityRow {
    pub dataset: String,
    pub title: String,
    /// Current version; absent before the first publish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// `pending`, `ready`, `failed` or `unpublished`.
    pub status: String,
    pub score: u8,
    pub stars: u8,
    pub badge: String,
    pub errors: u64,
    pub warnings: u64,
    /// The declared update frequency is overdue.
    pub overdue: bool,
    /// When the current version was published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_published: Option<DateTime<Utc>>,
    /// When the next version is due, by the declared frequency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_due: Option<DateTime<Utc>>,
    /// The codes of the open error and warning findings, most severe first.
    pub open_findings: Vec<String>,
}
