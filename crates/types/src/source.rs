//! Sources: where a dataset's new versions come from besides uploads — a URL pulled on a schedule, or a SQL query
//! against an agency's internal database — and the record of each run.
//!
//! This module holds the shapes the API and the CLI exchange, and the one function that hides the secret part of a
//! connection string ([`redact_connection`]). It does not validate schedules or URLs against the network, connect to
//! anything, or store anything: that is `tapwater-app` and `tapwater-store`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// An `http://` or `https://` URL, fetched with a conditional GET.
    Url,
    /// A read-only query against PostgreSQL or MySQL/MariaDB.
    Sql,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Url => "url",
            SourceKind::Sql => "sql",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [SourceKind::Url, SourceKind::Sql].into_iter().find(|k| k.as_str() == value)
    }
}

/// The database side of a SQL source.
#[derive(Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlSource {
    /// `postgres://user:password@host/db`, `mysql://…`, `mariadb://…`, or `env:NAME` to read the connection string
    /// from the server's environment variable NAME (so the secret is never stored in the catalog). Answers show it
    /// redacted: `postgres://reader:***@db/hr`.
    pub connection: String,
    /// One read-only statement (no `;` inside). Add an `ORDER BY` so the same data gives the same file, and hence
    /// no new version.
    pub query: String,
}

/// Debug output is redacted too, so a stray `{:?}` in a log line cannot leak a password.
impl std::fmt::Debug for SqlSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlSource")
            .field("connection", &redact_connection(&self.connection))
            .field("query", &self.query)
            .finish()
    }
}

/// A source as a publisher configures it (`PUT /api/v1/datasets/{slug}/source`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceInput {
    pub kind: SourceKind,
    /// For `kind = url`: the file to pull (http or https).
    #[serde(default)]
    pub url: Option<String>,
    /// For `kind = sql`.
    #[serde(default)]
    pub sql: Option<SqlSource>,
    /// Cron expression in Asia/Taipei time: 5 fields (`0 3 * * *` = every day at 03:00), or 6 with seconds first.
    /// Absent: runs only when asked (`POST …/source/run`, `tapwater sources run`).
    #[serde(default)]
    pub schedule: Option<String>,
    /// Scheduled runs happen only while enabled (default true); manual runs always work.
    #[serde(default = "default_enabled")]
    pub enabled: bool,
}

fn default_enabled() -> bool {
    true
}

/// A source as the API shows it: the connection string redacted, with its schedule state and latest run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Source {
    /// Slug of the dataset the source feeds.
    pub dataset: String,
    pub kind: SourceKind,
    pub url: Option<String>,
    /// Connection string redacted (`postgres://reader:***@db/hr`, `env:NAME` as given).
    pub sql: Option<SqlSource>,
    pub schedule: Option<String>,
    /// The time zone the schedule is read in: always Asia/Taipei.
    pub time_zone: String,
    pub enabled: bool,
    /// When the scheduler will next start a run; `null` without a schedule or while disabled.
    pub next_run_at: Option<DateTime<Utc>>,
    /// Validators of the response the current version came from (URL sources), sent back as `If-None-Match` /
    /// `If-Modified-Since`.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The most recent run, if any.
    pub last_run: Option<SourceRun>,
}

/// How a run ended (or that it has not yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Running,
    /// The content changed and was published as a new version.
    NewVersion,
    /// `304 Not Modified`, or the same SHA-256 as the current version: nothing published.
    Unchanged,
    /// The source could not be read or published; `error` says why.
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::NewVersion => "new_version",
            RunStatus::Unchanged => "unchanged",
            RunStatus::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [RunStatus::Queued, RunStatus::Running, RunStatus::NewVersion, RunStatus::Unchanged, RunStatus::Failed]
            .into_iter()
            .find(|s| s.as_str() == value)
    }

    /// Whether the run is over.
    pub fn is_finished(self) -> bool {
        matches!(self, RunStatus::NewVersion | RunStatus::Unchanged | RunStatus::Failed)
    }
}

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunTrigger {
    /// `POST …/source/run` or `tapwater sources run`.
    Manual,
    /// The source's cron schedule.
    Schedule,
}

impl RunTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            RunTrigger::Manual => "manual",
            RunTrigger::Schedule => "schedule",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [RunTrigger::Manual, RunTrigger::Schedule].into_iter().find(|t| t.as_str() == value)
    }
}

/// Why a run failed, with a stable code (`source_unreachable`, `source_http_error`, `source_query_failed` …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunError {
    pub code: String,
    /// In English; never contains a password.
    pub message: String,
}

/// One run of a source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SourceRun {
    /// Also the id of the job that performs it (`GET /api/v1/jobs/{id}`).
    pub id: String,
    pub trigger: RunTrigger,
    /// The schedule slot the run is for (scheduled runs).
    pub scheduled_for: Option<DateTime<Utc>>,
    pub status: RunStatus,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Status of the last HTTP response (URL sources).
    pub http_status: Option<u16>,
    /// Bytes downloaded, or of the CSV the query produced.
    pub bytes: Option<u64>,
    /// The version a `new_version` run published.
    pub version: Option<i64>,
    pub error: Option<RunError>,
    /// Requests (URL) or connections (SQL) tried, retries included.
    pub attempts: u32,
}

/// A connection string with its password replaced by `***`: `postgres://reader:s3cret@db/hr` →
/// `postgres://reader:***@db/hr`. A `password=` query parameter is hidden the same way; `env:NAME` is shown as is
/// (the secret lives in the server's environment). Anything that does not look like a URL is hidden whole, because
/// it might be a key/value string such as `host=db password=…`.
pub fn redact_connection(connection: &str) -> String {
    let trimmed = connection.trim();
    if trimmed.starts_with("env:") {
        return trimmed.to_string();
    }
    let Some((scheme, rest)) = trimmed.split_once("://") else { return "***".to_string() };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if is_secret_param(key) => format!("{key}=***"),
                    _ => pair.to_string(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// The same for a URL source: a URL may carry `user:password@` or a `token=` parameter.
pub fn redact_url(url: &str) -> String {
    if url.contains("://") { redact_connection(url) } else { url.to_string() }
}

fn is_secret_param(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "passwd", "pwd", "secret", "token", "api_key", "apikey", "key", "sslpassword"].contains(&key.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_replaced() {
        assert_eq!(redact_connection("postgres://reader:s3cret@db/hr"), "postgres://reader:***@db/hr");
        assert_eq!(
            redact_connection("mysql://root:p%40ss@127.0.0.1:3306/test"),
            "mysql://root:***@127.0.0.1:3306/test"
        );
        // A password holding '@' still ends at the last '@' of the authority.
        assert_eq!(redact_connection("postgres://u:a@b@host/db"), "postgres://u:***@host/db");
        assert_eq!(
            redact_connection("postgres://u@host/db?sslmode=require&password=x"),
            "postgres://u@host/db?sslmode=require&password=***"
        );
    }

    #[test]
    fn nothing_secret_is_kept_as_is() {
        assert_eq!(redact_connection("postgres://reader@db/hr"), "postgres://reader@db/hr");
        assert_eq!(redact_connection("env:HR_DATABASE_URL"), "env:HR_DATABASE_URL");
        assert_eq!(redact_url("https://data.example.gov.tw/a.csv?x=1"), "https://data.example.gov.tw/a.csv?x=1");
        assert_eq!(redact_url("https://u:p@example.org/a.csv?token=abc"), "https://u:***@example.org/a.csv?token=***");
    }

    #[test]
    fn what_is_not_a_url_is_hidden_whole() {
        assert_eq!(redact_connection("host=db password=x"), "***");
    }

    #[test]
    fn debug_of_a_sql_source_is_redacted() {
        let sql = SqlSource { connection: "postgres://a:topsecret@h/d".into(), query: "SELECT 1".into() };
        assert!(!format!("{sql:?}").contains("topsecret"));
    }

    #[test]
    fn input_defaults_to_enabled_and_refuses_unknown_fields() {
        let input: SourceInput = serde_json::from_str(r#"{"kind":"url","url":"https://x.tw/a.csv"}"#).unwrap();
        assert!(input.enabled);
        assert_eq!(input.schedule, None);
        assert!(serde_json::from_str::<SourceInput>(r#"{"kind":"url","link":"x"}"#).is_err());
        assert!(serde_json::from_str::<SourceInput>(r#"{"kind":"ftp"}"#).is_err());
    }

    #[test]
    fn statuses_round_trip() {
        for s in ["queued", "running", "new_version", "unchanged", "failed"] {
            assert_eq!(RunStatus::parse(s).unwrap().as_str(), s);
        }
        assert_eq!(serde_json::to_string(&RunStatus::NewVersion).unwrap(), "\"new_version\"");
    }
}
