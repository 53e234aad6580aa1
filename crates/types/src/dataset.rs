//! Datasets, their immutable versions, publishers and the actors who act on them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{AccessLevel, ColumnStats, DatasetMetadata, Slug, TableSchema};

/// An organisation that publishes datasets (an agency, a city bureau …), created on first use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Publisher {
    #[schema(value_type = String)]
    pub slug: Slug,
    pub name: String,
}

/// How often the publisher promises to update a dataset (data.gov.tw 更新頻率).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Frequency {
    Realtime,
    Daily,
    Weekly,
    Monthly,
    Quarterly,
    Yearly,
    Irregular,
}

impl Frequency {
    pub const ALL: [Frequency; 7] = [
        Frequency::Realtime,
        Frequency::Daily,
        Frequency::Weekly,
        Frequency::Monthly,
        Frequency::Quarterly,
        Frequency::Yearly,
        Frequency::Irregular,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Realtime => "realtime",
            Frequency::Daily => "daily",
            Frequency::Weekly => "weekly",
            Frequency::Monthly => "monthly",
            Frequency::Quarterly => "quarterly",
            Frequency::Yearly => "yearly",
            Frequency::Irregular => "irregular",
        }
    }

    pub fn parse(value: &str) -> Option<Frequency> {
        Frequency::ALL.into_iter().find(|f| f.as_str() == value)
    }
}

/// A dataset: metadata plus a pointer to its current version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Dataset {
    #[schema(value_type = String)]
    pub slug: Slug,
    pub title: String,
    pub description: String,
    pub publisher: Option<Publisher>,
    /// Licence id, see `GET /api/v1/licenses`.
    pub license: String,
    pub frequency: Option<Frequency>,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Sequence number of the version served by default; `None` until the first publish completes.
    pub current_version: Option<i64>,
    /// Who may read the rows: `public`, `registered`, `application` or `restricted`.
    #[serde(default)]
    pub access: AccessLevel,
    /// A draft is seen only by its organisation's editors (and site administrators) until it is released.
    #[serde(default)]
    pub draft: bool,
    /// Everything else the publisher declares: English title, contact, coverage, field descriptions, declared
    /// format and encoding … (`GET/PUT /api/v1/datasets/{slug}/metadata`).
    #[serde(default)]
    pub metadata: DatasetMetadata,
}

/// What a publisher supplies to create a dataset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DatasetInput {
    pub slug: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Publisher slug; the organisation is created on first use.
    #[serde(default)]
    pub publisher: Option<String>,
    /// Publisher display name, used when the organisation is created (defaults to the slug).
    #[serde(default)]
    pub publisher_name: Option<String>,
    #[serde(default)]
    pub license: Option<String>,
    #[serde(default)]
    pub frequency: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// `public` (default), `registered`, `application` or `restricted`.
    #[serde(default)]
    pub access: Option<String>,
    /// Create the dataset as a draft, visible only to its organisation's editors.
    #[serde(default)]
    pub draft: Option<bool>,
}

/// A partial update of a dataset's metadata; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DatasetPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub publisher: Option<String>,
    pub publisher_name: Option<String>,
    pub license: Option<String>,
    pub frequency: Option<String>,
    pub tags: Option<Vec<String>>,
    /// Changing the access level needs the organisation-admin role.
    #[serde(default)]
    pub access: Option<String>,
    pub draft: Option<bool>,
}

/// The file a version was published from, kept byte for byte.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OriginalFile {
    /// File name as uploaded (for the download's Content-Disposition).
    pub filename: String,
    /// Format detected from the bytes, e.g. `csv`, `json`, `ndjson`.
    pub format: String,
    pub media_type: String,
    pub encoding: String,
    pub sha256: String,
    pub bytes: u64,
}

/// Status of a derived artefact of a version (index, statistics, quality report …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ArtefactStatus {
    Pending,
    Ready,
    Failed,
}

impl ArtefactStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ArtefactStatus::Pending => "pending",
            ArtefactStatus::Ready => "ready",
            ArtefactStatus::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "pending" => Some(ArtefactStatus::Pending),
            "ready" => Some(ArtefactStatus::Ready),
            "failed" => Some(ArtefactStatus::Failed),
            _ => None,
        }
    }
}

/// An immutable addition to a version, written after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Artefact {
    /// e.g. `statistics`.
    pub kind: String,
    pub status: ArtefactStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// One immutable version of a dataset: the data, the original, the schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Version {
    /// Globally unique id; storage paths are keyed by it.
    pub id: String,
    /// Per-dataset sequence number, 1, 2, 3 … (`?_version=N`).
    pub seq: i64,
    pub created_at: DateTime<Utc>,
    pub row_count: u64,
    pub schema: TableSchema,
    pub original: OriginalFile,
    /// Object-store path of the Parquet data.
    pub data_path: String,
    /// Object-store path of the original bytes.
    pub original_path: String,
    pub data_bytes: u64,
    #[serde(default)]
    pub stats: Vec<ColumnStats>,
    #[serde(default)]
    pub artefacts: Vec<Artefact>,
    /// Who published it (an actor label).
    pub published_by: String,
}

/// One file a version was made from. A version made of several files (a yearly series, or an `append` publish)
/// lists them all, in the order they were read; files carried over from an earlier version keep that version's blob
/// path (stored once, shared, never copied).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SourceFile {
    /// File name as uploaded (also the value of the source-file column of a merged version).
    pub name: String,
    /// Format detected from the bytes (`csv`, `xls` …).
    pub format: String,
    /// Text encoding detected (empty for binary formats).
    pub encoding: String,
    pub sha256: String,
    pub bytes: u64,
    /// Object-store path of the file's bytes.
    pub path: String,
    /// Data rows read from this file.
    #[serde(default)]
    pub rows: u64,
}

/// How a version was made: the pipeline revision it was ingested with and its source files. Kept beside the
/// [`Version`] rather than in it, so older versions (published before pipelines existed) read the same.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VersionSources {
    /// The dataset's pipeline revision applied; `None` when the dataset had no pipeline (the defaults).
    pub pipeline_revision: Option<i64>,
    /// The files read, in order.
    pub files: Vec<SourceFile>,
}

/// One revision of a dataset's pipeline. Every change makes a new revision; old ones are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PipelineRevision {
    /// 1, 2, 3 … per dataset.
    pub revision: i64,
    pub pipeline: crate::Pipeline,
    pub created_at: DateTime<Utc>,
    /// Who set it (an actor label).
    pub created_by: String,
}

/// A version as listed in a dataset's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VersionSummary {
    pub seq: i64,
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub row_count: u64,
    pub original_sha256: String,
}

/// State of a long-running job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [JobStatus::Queued, JobStatus::Running, JobStatus::Succeeded, JobStatus::Failed]
            .into_iter()
            .find(|s| s.as_str() == value)
    }
}

/// Why a job failed, in the same terms as an API error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobError {
    pub code: String,
    pub message: String,
    pub message_zh: String,
}

/// Long-running work a client can follow (a publish started with `?async=1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Job {
    pub id: String,
    /// e.g. `publish`.
    pub kind: String,
    /// Slug of the dataset the job works on.
    pub dataset: String,
    pub status: JobStatus,
    /// What it is doing now, e.g. `converting`.
    pub stage: Option<String>,
    /// Progress within the stage (bytes for reading stages).
    pub done: u64,
    pub total: u64,
    /// The version a successful publish created.
    pub version: Option<i64>,
    pub error: Option<JobError>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
