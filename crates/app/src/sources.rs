//! Sources: a dataset's new versions pulled from a URL or queried from an agency's database, on a schedule or on
//! demand, as durable jobs that run exactly once across server processes.
//!
//! * **URL pull.** A conditional GET with the stored `ETag`/`Last-Modified`: `304` → the run is `unchanged`.
//!   Otherwise the body is streamed to the staging directory (size limit: the upload limit) and hashed; the same
//!   SHA-256 as the current version's original → `unchanged`, else it is published like an upload (through the
//!   dataset's pipeline). Network errors, timeouts, `5xx`, `408` and `429` are retried with exponential backoff; a
//!   dead source (DNS failure, refused connection, `404`, an HTML error page where a data file was expected) ends
//!   `failed` with `source_unreachable` or `source_http_error`, recorded in the runs table.
//! * **SQL query.** PostgreSQL or MySQL/MariaDB through SQLx, inside a read-only transaction with a statement time
//!   limit; rows stream (never all in memory) into a UTF-8 CSV (header = column names, values as the database
//!   prints them, NULL → empty, dates ISO), which is then published like a file, with the same unchanged-hash rule.
//! * **Jobs.** Every run is a job row in the catalog. `serve` runs a scheduler loop ([`Tapwater::start_scheduler`])
//!   that takes due schedule slots and claims queued jobs with a lease (see `tapwater-store`'s sources module for
//!   why each happens once); the lease is renewed while the run goes on, so a run whose process died is taken over
//!   when its lease expires.
//!
//! Credentials: a connection string may be `env:NAME` so the secret stays in the server's environment; stored ones
//! are shown redacted, and every message that could carry one (driver errors) is scrubbed of it before it is stored,
//! logged or returned.
//!
//! What this module does not do: parse files (ingest), write SQL for the catalog (store), or speak HTTP to clients
//! (server).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Offset, SubsecRound as _, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use futures::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};
use sqlx::{Column, Connection, Executor, Row, SqlSafeStr, Statement, TypeInfo};
use tapwater_store::{ClaimedJob, DueSource, RunOutcome, SourceRecord, SourceSpec};
use tapwater_types::{
    Actor, Job, JobError, Lang, RunStatus, Slug, Source, SourceInput, SourceKind, SourceRun, SqlSource,
    redact_connection, redact_url,
};
use tokio::io::AsyncWriteExt;

use crate::access::DatasetAction;
use crate::{AppError, ProgressFn, PublishOptions, PublishProgress, Tapwater, staging_dir};

/// Taiwan's offset. Taiwan has kept UTC+8 without daylight saving since 1980, so a fixed offset reads future
/// schedules exactly like the tz database's Asia/Taipei would.
const TAIPEI_OFFSET_SECONDS: i32 = 8 * 3600;
/// A job claimed this many times was abandoned by that many processes (each died or lost its lease): give up on it
/// rather than let one poisonous source take down server after server.
const MAX_CLAIMS: u32 = 3;
/// Most runs a listing returns.
pub const MAX_RUNS_LISTED: u32 = 200;
/// Longest SQL query text accepted.
const MAX_QUERY_CHARS: usize = 100_000;

/// Settings of scheduled sources (flags of `tapwater serve`, see docs/operations.md).
#[derive(Debug, Clone)]
pub struct SourcesConfig {
    /// Run the scheduler loop in `serve`: it takes due schedule slots and runs queued jobs. Off: scheduled runs
    /// happen only in processes that have it on; manual runs are still run by the process that was asked.
    pub scheduler: bool,
    /// How often the scheduler looks for due sources and queued jobs.
    pub poll_interval: Duration,
    /// How long a claimed run stays reserved for its process without a renewal; renewed every second while it runs.
    /// After a crash, another process takes the run over once this has passed.
    pub lease: Duration,
    /// Attempts per run for a URL request or a database connection (1 = no retry).
    pub retry_attempts: u32,
    /// Wait before the first retry; doubled before each further one.
    pub retry_delay: Duration,
    /// Time limit for one HTTP read or one SQL statement.
    pub timeout: Duration,
    /// Runs one process carries out at the same time.
    pub max_concurrent: usize,
}

impl Default for SourcesConfig {
    fn default() -> Self {
        SourcesConfig {
            scheduler: true,
            poll_interval: Duration::from_secs(2),
            lease: Duration::from_secs(300),
            retry_attempts: 4,
            retry_delay: Duration::from_secs(2),
            timeout: Duration::from_secs(300),
            max_concurrent: 2,
        }
    }
}

/// Where a run is, for progress bars: `connecting`, `downloading`, `querying`, then the publish stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunProgress {
    /// Machine name, as in a job's `stage`.
    pub stage: &'static str,
    /// Bilingual label.
    pub label: &'static str,
    /// Bytes (downloading, publishing) or rows (querying).
    pub done: u64,
    /// 0 when unknown.
    pub total: u64,
}

/// Receives the progress of a run.
pub type RunProgressFn = Arc<dyn Fn(RunProgress) + Send + Sync>;

/// This process's name in leases: host, process id and a random part (two processes never share one).
fn lease_owner() -> &'static str {
    static OWNER: OnceLock<String> = OnceLock::new();
    OWNER.get_or_init(|| {
        let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
        format!(
            "{}:{}:{:08x}",
            if host.is_empty() { "localhost" } else { &host },
            std::process::id(),
            rand::random::<u32>()
        )
    })
}

fn taipei() -> FixedOffset {
    // The constant is in range; UTC is only a formal fallback.
    FixedOffset::east_opt(TAIPEI_OFFSET_SECONDS).unwrap_or(Utc.fix())
}

/// Parses a schedule: 5 cron fields (minute hour day month weekday), or 6 with seconds first; `@daily`-style
/// aliases too. Read in Asia/Taipei time.
pub(crate) fn parse_schedule(text: &str) -> Result<Cron, AppError> {
    let fields = text.split_whitespace().count();
    let alias = text.trim_start().starts_with('@');
    let parsed = if alias || fields == 5 || fields == 6 {
        CronParser::builder().seconds(Seconds::Optional).year(Year::Disallowed).build().parse(text.trim()).ok()
    } else {
        None
    };
    parsed.ok_or_else(|| {
        AppError::invalid(
            "invalid_source",
            "schedule",
            format!(
                "\"{text}\" is not a cron schedule: give 5 fields (minute hour day month weekday, e.g. `0 3 * * *` for \
                 03:00 every day, Asia/Taipei time) or 6 with seconds first."
            ),
            format!("「{text}」不是有效的 cron 排程：請給 5 個欄位（分 時 日 月 星期，例如 `0 3 * * *` 為每天 03:00，臺北時間），或在最前面加上秒成為 6 個欄位。"),
        )
    })
}

/// The first time strictly after `after` that `schedule` fires, in UTC; `None` if it never fires again.
pub(crate) fn next_run(schedule: &Cron, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    // Whole seconds in and out: croner carries the sub-second part of its start through, and slots are compared
    // by equality in the catalog.
    let after = after.trunc_subsecs(0).with_timezone(&taipei());
    schedule.find_next_occurrence(&after, false).ok().map(|t| t.with_timezone(&Utc).trunc_subsecs(0))
}

fn invalid_source(param: &str, message: String, message_zh: String) -> AppError {
    AppError::invalid("invalid_source", param, message, message_zh)
}

/// Checks an `http(s)` URL.
fn check_url(url: &str) -> Result<url::Url, AppError> {
    let parsed = url::Url::parse(url.trim()).map_err(|e| {
        invalid_source(
            "url",
            format!("\"{}\" is not a URL: {e}.", redact_url(url)),
            format!("「{}」不是有效的網址：{e}。", redact_url(url)),
        )
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid_source(
            "url",
            format!("A URL source must be http:// or https:// with a host, not \"{}\".", redact_url(url)),
            format!("網址來源必須是含主機名稱的 http:// 或 https://，而不是「{}」。", redact_url(url)),
        ));
    }
    Ok(parsed)
}

/// Which database a SQL source talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SqlEngine {
    Postgres,
    MySql,
}

/// Checks a connection string's form (`env:NAME` or a URL of a supported database) without connecting. Messages
/// show it redacted.
fn check_connection(connection: &str) -> Result<(), AppError> {
    let trimmed = connection.trim();
    if let Some(name) = trimmed.strip_prefix("env:") {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(invalid_source(
                "sql.connection",
                format!("\"{trimmed}\": an environment variable name is letters, digits and _ only."),
                format!("「{trimmed}」：環境變數名稱只能包含英文字母、數字與 _。"),
            ));
        }
        return Ok(());
    }
    sql_engine(trimmed).map(|_| ())
}

/// The engine of a resolved connection URL.
fn sql_engine(connection: &str) -> Result<SqlEngine, AppError> {
    let shown = redact_connection(connection);
    let parsed = url::Url::parse(connection).map_err(|_| {
        invalid_source(
            "sql.connection",
            format!("\"{shown}\" is not a connection URL such as postgres://user:password@host/db."),
            format!("「{shown}」不是連線網址，例如 postgres://user:password@host/db。"),
        )
    })?;
    let engine = match parsed.scheme() {
        "postgres" | "postgresql" => SqlEngine::Postgres,
        "mysql" | "mariadb" => SqlEngine::MySql,
        other => {
            return Err(invalid_source(
                "sql.connection",
                format!("Database \"{other}\" is not supported: use postgres://, mysql:// or mariadb://."),
                format!("不支援資料庫「{other}」：請使用 postgres://、mysql:// 或 mariadb://。"),
            ));
        }
    };
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid_source(
            "sql.connection",
            format!("\"{shown}\" names no host."),
            format!("「{shown}」沒有主機名稱。"),
        ));
    }
    Ok(engine)
}

/// Checks that a query is one statement. Drivers accept several statements separated by `;` over their text
/// protocols, and a second statement could end the read-only transaction (`COMMIT; DELETE …`), so a `;` anywhere
/// but at the end is refused — even inside a string literal, which a source query has no need for.
fn check_query(query: &str) -> Result<String, AppError> {
    let trimmed = query.trim().trim_end_matches(|c: char| c == ';' || c.is_whitespace()).to_string();
    if trimmed.is_empty() {
        return Err(invalid_source("sql.query", "The query is empty.".into(), "查詢是空的。".into()));
    }
    if trimmed.chars().count() > MAX_QUERY_CHARS {
        return Err(invalid_source(
            "sql.query",
            format!("The query is longer than {MAX_QUERY_CHARS} characters."),
            format!("查詢超過 {MAX_QUERY_CHARS} 個字元。"),
        ));
    }
    if trimmed.contains(';') {
        return Err(invalid_source(
            "sql.query",
            "The query must be one statement: remove every `;` (a trailing one is fine).".into(),
            "查詢只能是單一敘述：請移除所有 `;`（結尾的可以保留）。".into(),
        ));
    }
    Ok(trimmed)
}

/// Validates a source as given and turns it into what the catalog stores.
fn spec_of(input: SourceInput) -> Result<(SourceSpec, Option<Cron>), AppError> {
    let schedule = input.schedule.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let cron = schedule.as_deref().map(parse_schedule).transpose()?;
    let spec = match input.kind {
        SourceKind::Url => {
            if input.sql.is_some() {
                return Err(invalid_source(
                    "sql",
                    "A url source takes `url`, not `sql`.".into(),
                    "網址來源使用 `url`，不是 `sql`。".into(),
                ));
            }
            let url = input.url.ok_or_else(|| {
                invalid_source("url", "A url source needs `url`.".into(), "網址來源需要 `url`。".into())
            })?;
            check_url(&url)?;
            SourceSpec {
                kind: SourceKind::Url,
                url: Some(url.trim().to_string()),
                sql_connection: None,
                sql_query: None,
                schedule,
                enabled: input.enabled,
            }
        }
        SourceKind::Sql => {
            if input.url.is_some() {
                return Err(invalid_source(
                    "url",
                    "A sql source takes `sql`, not `url`.".into(),
                    "SQL 來源使用 `sql`，不是 `url`。".into(),
                ));
            }
            let sql = input.sql.ok_or_else(|| {
                invalid_source(
                    "sql",
                    "A sql source needs `sql: {connection, query}`.".into(),
                    "SQL 來源需要 `sql: {connection, query}`。".into(),
                )
            })?;
            check_connection(&sql.connection)?;
            let query = check_query(&sql.query)?;
            SourceSpec {
                kind: SourceKind::Sql,
                url: None,
                sql_connection: Some(sql.connection.trim().to_string()),
                sql_query: Some(query),
                schedule,
                enabled: input.enabled,
            }
        }
    };
    Ok((spec, cron))
}

/// The API's view of a stored source: the connection redacted.
fn view_of(record: SourceRecord, last_run: Option<SourceRun>) -> Source {
    let sql = match (&record.spec.sql_connection, &record.spec.sql_query) {
        (Some(connection), Some(query)) => {
            Some(SqlSource { connection: redact_connection(connection), query: query.clone() })
        }
        _ => None,
    };
    Source {
        dataset: record.dataset.to_string(),
        kind: record.spec.kind,
        url: record.spec.url.as_deref().map(redact_url),
        sql,
        schedule: record.spec.schedule,
        time_zone: tapwater_types::LOCAL_TIME_ZONE.to_string(),
        enabled: record.spec.enabled,
        next_run_at: record.next_run_at,
        etag: record.etag,
        last_modified: record.last_modified,
        created_at: record.created_at,
        updated_at: record.updated_at,
        last_run,
    }
}

// ------------------------------------------------------------------------------------------------ operations

impl Tapwater {
    /// The source of a dataset, connection redacted, with its latest run. Anyone may read it (like the dataset).
    pub async fn source(&self, actor: &Actor, slug: &str) -> Result<Source, AppError> {
        self.authorize_dataset(actor, slug, DatasetAction::View).await?;
        let parsed = self.existing_slug(slug).await?;
        let record = self
            .inner
            .catalog
            .get_source(&parsed)
            .await?
            .ok_or_else(|| AppError::SourceNotFound { slug: slug.to_string() })?;
        let last = self.inner.catalog.source_runs(&parsed, 1).await?.into_iter().next();
        let mut view = view_of(record, last);
        if self.authorize_dataset(actor, slug, DatasetAction::ConfigureSource).await.is_err() {
            // Anyone may see that a dataset is fed from a database and when it runs; the database's address, user
            // and query are internal to the agency, even with the password hidden.
            view.sql = None;
        }
        Ok(view)
    }

    /// Sets (or replaces) the source of a dataset. Validates the URL, connection form, query and schedule; does not
    /// connect (a run does, and records what went wrong).
    pub async fn set_source(&self, actor: &Actor, slug: &str, input: SourceInput) -> Result<Source, AppError> {
        self.authorize_dataset(actor, slug, DatasetAction::ConfigureSource).await?;
        let parsed = self.existing_slug(slug).await?;
        let (spec, cron) = spec_of(input)?;
        let next = match (&cron, spec.enabled) {
            (Some(cron), true) => next_run(cron, Utc::now()),
            _ => None,
        };
        let record = self.inner.catalog.put_source(&parsed, &spec, next).await?;
        tracing::info!(dataset = %slug, kind = spec.kind.as_str(), schedule = ?spec.schedule, "source set");
        let last = self.inner.catalog.source_runs(&parsed, 1).await?.into_iter().next();
        let mut view = view_of(record, last);
        if self.authorize_dataset(actor, slug, DatasetAction::ConfigureSource).await.is_err() {
            // Anyone may see that a dataset is fed from a database and when it runs; the database's address, user
            // and query are internal to the agency, even with the password hidden.
            view.sql = None;
        }
        Ok(view)
    }

    /// Removes the source of a dataset (its past runs stay). `source_not_found` if it had none.
    pub async fn delete_source(&self, actor: &Actor, slug: &str) -> Result<(), AppError> {
        self.authorize_dataset(actor, slug, DatasetAction::ConfigureSource).await?;
        let parsed = self.existing_slug(slug).await?;
        if !self.inner.catalog.delete_source(&parsed).await? {
            return Err(AppError::SourceNotFound { slug: slug.to_string() });
        }
        tracing::info!(dataset = %slug, "source deleted");
        Ok(())
    }

    /// The latest runs of a dataset's source, newest first.
    pub async fn source_runs(&self, actor: &Actor, slug: &str, limit: u32) -> Result<Vec<SourceRun>, AppError> {
        self.authorize_dataset(actor, slug, DatasetAction::View).await?;
        let parsed = self.existing_slug(slug).await?;
        Ok(self.inner.catalog.source_runs(&parsed, limit.clamp(1, MAX_RUNS_LISTED)).await?)
    }

    /// Queues a run of a dataset's source now and returns its job at once (`GET /api/v1/jobs/{id}` follows it). A
    /// run already queued or running is returned instead of a second one. This process tries to run it right away;
    /// if a scheduler elsewhere claims it first, that one runs it — never both.
    pub async fn start_source_run(&self, actor: &Actor, slug: &str) -> Result<Job, AppError> {
        self.authorize_dataset(actor, slug, DatasetAction::ConfigureSource).await?;
        let parsed = self.existing_slug(slug).await?;
        if self.inner.catalog.get_source(&parsed).await?.is_none() {
            return Err(AppError::SourceNotFound { slug: slug.to_string() });
        }
        let job = self.inner.catalog.enqueue_source_run(&parsed, Utc::now()).await?;
        let app = self.clone();
        let id = job.id.clone();
        tokio::spawn(async move {
            match app.claim_source_job(Some(&id)).await {
                Ok(Some(claimed)) => {
                    if let Err(err) = app.run_claimed(claimed, None).await {
                        tracing::warn!(%err, job = %id, "source run could not be recorded");
                    }
                }
                Ok(None) => {} // another process has it
                Err(err) => tracing::warn!(%err, job = %id, "could not claim a source run"),
            }
        });
        Ok(job)
    }

    /// Runs a dataset's source now in this process and waits for the end (the CLI). Returns the finished run, which
    /// may be `failed`: the caller decides what that means for it. If a server's scheduler claims the run first, waits
    /// for that one instead.
    pub async fn run_source_now(
        &self,
        actor: &Actor,
        slug: &str,
        progress: RunProgressFn,
    ) -> Result<SourceRun, AppError> {
        let job = self.start_queued_run(actor, slug).await?;
        if let Some(claimed) = self.claim_source_job(Some(&job.id)).await? {
            return self.run_claimed(claimed, Some(progress)).await;
        }
        loop {
            if let Some(run) = self.inner.catalog.source_run(&job.id).await?
                && run.status.is_finished()
            {
                return Ok(run);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn start_queued_run(&self, actor: &Actor, slug: &str) -> Result<Job, AppError> {
        self.authorize_dataset(actor, slug, DatasetAction::ConfigureSource).await?;
        let parsed = self.existing_slug(slug).await?;
        if self.inner.catalog.get_source(&parsed).await?.is_none() {
            return Err(AppError::SourceNotFound { slug: slug.to_string() });
        }
        Ok(self.inner.catalog.enqueue_source_run(&parsed, Utc::now()).await?)
    }
}

// ------------------------------------------------------------------------------------------------ scheduler

impl Tapwater {
    /// Starts the scheduler loop of this process (unless `sources.scheduler` is off): every poll interval it takes
    /// due schedule slots and runs queued jobs, up to `max_concurrent` at a time. Returns the loop's task.
    pub fn start_scheduler(&self) -> Option<tokio::task::JoinHandle<()>> {
        let config = self.inner.config.sources.clone();
        if !config.scheduler {
            return None;
        }
        let app = self.clone();
        tracing::info!(
            poll_ms = config.poll_interval.as_millis() as u64,
            owner = lease_owner(),
            "source scheduler started"
        );
        Some(tokio::spawn(async move {
            let slots = Arc::new(tokio::sync::Semaphore::new(config.max_concurrent.max(1)));
            let mut tick = tokio::time::interval(config.poll_interval.max(Duration::from_millis(50)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(err) = app.enqueue_due_sources(Utc::now()).await {
                    tracing::warn!(%err, "scheduler: cannot read due sources");
                }
                while let Ok(permit) = slots.clone().try_acquire_owned() {
                    match app.claim_source_job(None).await {
                        Ok(Some(claimed)) => {
                            let app = app.clone();
                            tokio::spawn(async move {
                                let id = claimed.id.clone();
                                if let Err(err) = app.run_claimed(claimed, None).await {
                                    tracing::warn!(%err, job = %id, "source run could not be recorded");
                                }
                                drop(permit);
                            });
                        }
                        Ok(None) => break,
                        Err(err) => {
                            tracing::warn!(%err, "scheduler: cannot claim a job");
                            break;
                        }
                    }
                }
            }
        }))
    }

    /// Takes the schedule slots due at `now` (a clock the caller controls, for tests) and queues a run for each: a
    /// slot is taken by exactly one process, and the source's next time moves to the first slot after `now` (missed
    /// slots, e.g. while every server was down, give one catch-up run, not one per slot). Returns how many runs were
    /// queued.
    pub async fn enqueue_due_sources(&self, now: DateTime<Utc>) -> Result<usize, AppError> {
        let mut queued = 0;
        for due in self.inner.catalog.due_sources(now, 100).await? {
            let next = match parse_schedule(&due.schedule) {
                Ok(cron) => next_run(&cron, now),
                Err(_) => {
                    tracing::warn!(dataset = %due.dataset, "stored schedule does not parse; scheduling stopped");
                    None
                }
            };
            if self.take_slot(&due, next, now).await? {
                queued += 1;
            }
        }
        Ok(queued)
    }

    async fn take_slot(
        &self,
        due: &DueSource,
        next: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool, AppError> {
        let job = self.inner.catalog.take_due_source(due, next, now).await?;
        if let Some(job) = &job {
            tracing::info!(dataset = %due.dataset, job = %job, slot = %due.next_run_at, "scheduled run queued");
        }
        Ok(job.is_some())
    }

    async fn claim_source_job(&self, only: Option<&str>) -> Result<Option<ClaimedJob>, AppError> {
        let now = Utc::now();
        let lease = chrono::Duration::from_std(self.inner.config.sources.lease).unwrap_or(chrono::Duration::minutes(5));
        Ok(self.inner.catalog.claim_source_job(lease_owner(), now, now + lease, only).await?)
    }

    /// Carries out a claimed run: renews its lease and records progress every second, and records the outcome.
    async fn run_claimed(&self, claimed: ClaimedJob, progress: Option<RunProgressFn>) -> Result<SourceRun, AppError> {
        let owner = lease_owner();
        let config = self.inner.config.sources.clone();
        let lease = chrono::Duration::from_std(config.lease).unwrap_or(chrono::Duration::minutes(5));
        let ended = if claimed.attempts > MAX_CLAIMS {
            Ended::failed(
                source_failed(
                    "source_interrupted",
                    format!(
                        "The run was started {} times and each time the process running it stopped; giving up.",
                        claimed.attempts - 1
                    ),
                    format!("此次執行已啟動 {} 次，每次執行中的程序都中止了；不再重試。", claimed.attempts - 1),
                ),
                0,
            )
        } else {
            let latest: Arc<Mutex<Option<RunProgress>>> = Arc::new(Mutex::new(None));
            let seen = latest.clone();
            let report: RunProgressFn = Arc::new(move |p: RunProgress| {
                if let Ok(mut slot) = seen.lock() {
                    *slot = Some(p);
                }
                if let Some(outer) = &progress {
                    outer(p);
                }
            });
            let work = self.execute_run(&claimed.dataset, report);
            tokio::pin!(work);
            let mut tick =
                tokio::time::interval(Duration::from_secs(1).min(config.lease / 3).max(Duration::from_millis(10)));
            tick.tick().await;
            loop {
                tokio::select! {
                    ended = &mut work => break ended,
                    _ = tick.tick() => {
                        let p = latest.lock().ok().and_then(|slot| *slot);
                        let renewed = self.inner.catalog.renew_source_job(
                            &claimed.id, owner, Utc::now() + lease,
                            p.map(|p| p.stage), p.map_or(0, |p| p.done), p.map_or(0, |p| p.total),
                        ).await;
                        match renewed {
                            Ok(true) => {}
                            Ok(false) => {
                                // Our lease ran out and another process took the run over: stop, it records the run.
                                tracing::warn!(job = %claimed.id, "lease of a source run lost; stopping it here");
                                return self.inner.catalog.source_run(&claimed.id).await?.ok_or_else(|| {
                                    AppError::Internal(format!("run {} vanished", claimed.id))
                                });
                            }
                            Err(err) => tracing::warn!(%err, job = %claimed.id, "could not renew a lease"),
                        }
                    }
                }
            }
        };
        let error = ended.error.as_ref().map(|e| JobError {
            code: e.code().to_string(),
            message: e.message(Lang::En),
            message_zh: e.message(Lang::ZhTw),
        });
        if let Some(err) = &ended.error {
            if err.kind() == crate::ErrorKind::Internal {
                // The detail of our own faults goes to the log (the run record gets the plain sentence).
                tracing::warn!(dataset = %claimed.dataset, job = %claimed.id, code = err.code(), error = %err, "source run failed");
            } else {
                // A dead source or a bad file is an expected outcome, recorded in the runs table.
                tracing::info!(dataset = %claimed.dataset, job = %claimed.id, code = err.code(), error = %err, "source run failed");
            }
        } else {
            tracing::info!(dataset = %claimed.dataset, job = %claimed.id, status = ended.status.as_str(), version = ?ended.version, "source run finished");
        }
        let outcome = RunOutcome {
            http_status: ended.http_status,
            bytes: ended.bytes,
            version: ended.version,
            error,
            attempts: ended.attempts,
        };
        self.inner.catalog.finish_source_job(&claimed.id, owner, ended.status, &outcome).await?;
        self.inner
            .catalog
            .source_run(&claimed.id)
            .await?
            .ok_or_else(|| AppError::Internal(format!("run {} vanished", claimed.id)))
    }

    /// Reads the dataset's source and runs it.
    async fn execute_run(&self, slug: &str, progress: RunProgressFn) -> Ended {
        let parsed = match self.existing_slug(slug).await {
            Ok(parsed) => parsed,
            Err(err) => return Ended::failed(err, 0),
        };
        let source = match self.inner.catalog.get_source(&parsed).await {
            Ok(Some(source)) => source,
            Ok(None) => return Ended::failed(AppError::SourceNotFound { slug: slug.to_string() }, 0),
            Err(err) => return Ended::failed(err.into(), 0),
        };
        match source.spec.kind {
            SourceKind::Url => self.pull_url(&source, &progress).await,
            SourceKind::Sql => self.query_sql(&source, &progress).await,
        }
    }
}

/// How a run ended, before it is recorded.
struct Ended {
    status: RunStatus,
    http_status: Option<u16>,
    bytes: Option<u64>,
    version: Option<i64>,
    attempts: u32,
    error: Option<AppError>,
}

impl Ended {
    fn failed(error: AppError, attempts: u32) -> Ended {
        Ended { status: RunStatus::Failed, http_status: None, bytes: None, version: None, attempts, error: Some(error) }
    }

    fn with_http_status(mut self, status: Option<u16>) -> Ended {
        self.http_status = status;
        self
    }
}

fn source_failed(code: &'static str, message: String, message_zh: String) -> AppError {
    AppError::SourceFailed { code, message, message_zh }
}

// ------------------------------------------------------------------------------------------------ publishing

impl Tapwater {
    /// Publishes a file fetched by a run unless it has the same SHA-256 as the current version's original.
    async fn publish_fetched(
        &self,
        slug: &Slug,
        path: &Path,
        sha256: &str,
        bytes: u64,
        exact_table: bool,
        progress: &RunProgressFn,
    ) -> Result<(RunStatus, Option<i64>), AppError> {
        let current = self.inner.catalog.current_version(slug).await?;
        if current.is_some_and(|v| v.original.sha256 == sha256) {
            return Ok((RunStatus::Unchanged, None));
        }
        let outer = progress.clone();
        let publish_progress: ProgressFn = Arc::new(move |p: PublishProgress| {
            outer(RunProgress { stage: p.stage.name(), label: p.stage.label(), done: p.done, total: p.total })
        });
        let upload = self.stage_local_file(path, publish_progress.clone()).await?;
        debug_assert_eq!(upload.bytes, bytes);
        let version = self
            .publish_version(
                &Actor::System,
                slug.as_str(),
                upload,
                PublishOptions { exact_table, ..PublishOptions::default() },
                publish_progress,
            )
            .await?;
        Ok((RunStatus::NewVersion, Some(version.seq)))
    }
}

// ------------------------------------------------------------------------------------------------ URL pulls

/// What one HTTP attempt gave.
enum Fetched {
    NotModified,
    Body { path: PathBuf, sha256: String, bytes: u64, status: u16, etag: Option<String>, last_modified: Option<String> },
}

/// Why an HTTP attempt failed, and whether trying again may help.
struct FetchFailure {
    error: AppError,
    http_status: Option<u16>,
    retry: bool,
}

/// The innermost cause of an error: for a refused connection "Connection refused (os error 111)", for a DNS
/// failure "failed to lookup address information: …" — what an operator needs, without the URL that reqwest
/// would otherwise print (it may hold a token).
pub(crate) fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// A name for the downloaded file: the URL's last path segment, decoded and made safe, so the version keeps the
/// agency's file name (`10304_村里人口.csv`).
fn file_name_of(url: &url::Url) -> String {
    let last = url.path_segments().and_then(|mut s| s.next_back()).unwrap_or("");
    let decoded = percent_encoding_decode(last);
    let clean: String =
        decoded.chars().filter(|c| !c.is_control() && !matches!(c, '/' | '\\' | '"' | ':')).take(200).collect();
    let clean = clean.trim_start_matches('.').trim().to_string();
    if clean.is_empty() { "download".to_string() } else { clean }
}

fn percent_encoding_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| text.to_string())
}

/// Whether a downloaded file is an HTML page without any table: an error or login page served with 200 where a
/// data file was expected. (An HTML *table* saved as `.xls` is a real data format and goes on to ingestion.)
fn is_html_without_table(path: &Path, content_type: Option<&str>) -> std::io::Result<bool> {
    use std::io::Read;
    let mut head = Vec::with_capacity(1 << 20);
    std::fs::File::open(path)?.take(1 << 20).read_to_end(&mut head)?;
    let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let start = text.trim_start_matches('\u{feff}').trim_start();
    let looks_html = content_type.is_some_and(|t| t.to_ascii_lowercase().starts_with("text/html"))
        || start.starts_with("<!doctype html")
        || start.starts_with("<html");
    Ok(looks_html && !text.contains("<table"))
}

impl Tapwater {
    async fn pull_url(&self, source: &SourceRecord, progress: &RunProgressFn) -> Ended {
        let config = self.inner.config.sources.clone();
        let Some(raw_url) = source.spec.url.as_deref() else {
            return Ended::failed(invalid_source("url", "The source has no URL.".into(), "來源沒有網址。".into()), 0);
        };
        let url = match check_url(raw_url) {
            Ok(url) => url,
            Err(err) => return Ended::failed(err, 0),
        };
        let staging =
            match tempfile::Builder::new().prefix("source-").tempdir_in(staging_dir(&self.inner.config.data_dir)) {
                Ok(dir) => dir,
                Err(err) => return Ended::failed(err.into(), 0),
            };
        let target = staging.path().join(file_name_of(&url));
        let client = match reqwest::Client::builder()
            .user_agent(concat!("tapwater/", env!("CARGO_PKG_VERSION"), " (scheduled source)"))
            .connect_timeout(config.timeout.min(Duration::from_secs(30)))
            .read_timeout(config.timeout)
            .build()
        {
            Ok(client) => client,
            Err(err) => return Ended::failed(AppError::Internal(format!("HTTP client: {err}")), 0),
        };
        // Validators only when there is a current version to be unchanged from.
        let has_version = matches!(self.inner.catalog.current_version(&source.dataset).await, Ok(Some(_)));
        let (etag, last_modified) =
            if has_version { (source.etag.clone(), source.last_modified.clone()) } else { (None, None) };

        let attempts = config.retry_attempts.max(1);
        let mut attempt = 0;
        let fetched = loop {
            attempt += 1;
            progress(RunProgress { stage: "connecting", label: "connecting / 連線", done: 0, total: 0 });
            match self.fetch_once(&client, &url, &target, etag.as_deref(), last_modified.as_deref(), progress).await {
                Ok(fetched) => break fetched,
                Err(failure) if failure.retry && attempt < attempts => {
                    let delay = config.retry_delay.saturating_mul(1 << (attempt - 1).min(16));
                    tracing::info!(dataset = %source.dataset, attempt, delay_ms = delay.as_millis() as u64, status = ?failure.http_status, "source fetch failed, retrying");
                    tokio::time::sleep(delay).await;
                }
                Err(failure) => return Ended::failed(failure.error, attempt).with_http_status(failure.http_status),
            }
        };
        match fetched {
            Fetched::NotModified => Ended {
                status: RunStatus::Unchanged,
                http_status: Some(304),
                bytes: Some(0),
                version: None,
                attempts: attempt,
                error: None,
            },
            Fetched::Body { path, sha256, bytes, status, etag, last_modified } => {
                let result = self.publish_fetched(&source.dataset, &path, &sha256, bytes, false, progress).await;
                match result {
                    Ok((run_status, version)) => {
                        if let Err(err) = self
                            .inner
                            .catalog
                            .set_source_validators(&source.dataset, etag.as_deref(), last_modified.as_deref())
                            .await
                        {
                            tracing::warn!(%err, dataset = %source.dataset, "could not store the source's validators");
                        }
                        Ended {
                            status: run_status,
                            http_status: Some(status),
                            bytes: Some(bytes),
                            version,
                            attempts: attempt,
                            error: None,
                        }
                    }
                    Err(err) => Ended {
                        status: RunStatus::Failed,
                        http_status: Some(status),
                        bytes: Some(bytes),
                        version: None,
                        attempts: attempt,
                        error: Some(err),
                    },
                }
            }
        }
    }

    /// One conditional GET, streamed to `target` with the size limit, hashed on the way.
    async fn fetch_once(
        &self,
        client: &reqwest::Client,
        url: &url::Url,
        target: &Path,
        etag: Option<&str>,
        last_modified: Option<&str>,
        progress: &RunProgressFn,
    ) -> Result<Fetched, FetchFailure> {
        let shown = redact_url(url.as_str());
        let host = url.host_str().unwrap_or("").to_string();
        let mut request = client.get(url.clone());
        if let Some(etag) = etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        if let Some(last_modified) = last_modified {
            request = request.header(reqwest::header::IF_MODIFIED_SINCE, last_modified);
        }
        let unreachable = |err: reqwest::Error| {
            let err = err.without_url();
            let reason = if err.is_timeout() { "timed out".to_string() } else { root_cause(&err) };
            FetchFailure {
                error: source_failed(
                    "source_unreachable",
                    format!("Cannot download from {host}: {reason}."),
                    format!("無法從 {host} 下載：{reason}。"),
                ),
                http_status: None,
                retry: !err.is_builder() && !err.is_redirect(),
            }
        };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if !status.is_success() {
            let retry = status.is_server_error()
                || status == reqwest::StatusCode::TOO_MANY_REQUESTS
                || status == reqwest::StatusCode::REQUEST_TIMEOUT;
            let reason = status.canonical_reason().unwrap_or("");
            return Err(FetchFailure {
                error: source_failed(
                    "source_http_error",
                    format!("{shown} answered HTTP {} {reason}.", status.as_u16()),
                    format!("{shown} 回應 HTTP {} {reason}。", status.as_u16()),
                ),
                http_status: Some(status.as_u16()),
                retry,
            });
        }
        let limit = self.inner.config.max_upload_bytes;
        let too_large = || FetchFailure {
            error: AppError::PayloadTooLarge { limit },
            http_status: Some(status.as_u16()),
            retry: false,
        };
        let total = response.content_length().unwrap_or(0);
        if total > limit {
            return Err(too_large());
        }
        let header = |name: reqwest::header::HeaderName| {
            response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
        };
        let new_etag = header(reqwest::header::ETAG);
        let new_last_modified = header(reqwest::header::LAST_MODIFIED);
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let io_failure =
            |err: std::io::Error| FetchFailure { error: err.into(), http_status: Some(status.as_u16()), retry: false };
        let mut file = tokio::fs::File::create(target).await.map_err(io_failure)?;
        let mut hasher = Sha256::new();
        let mut bytes = 0u64;
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|err| FetchFailure { http_status: Some(status.as_u16()), ..unreachable(err) })?;
            bytes += chunk.len() as u64;
            if bytes > limit {
                return Err(too_large());
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await.map_err(io_failure)?;
            progress(RunProgress { stage: "downloading", label: "downloading / 下載", done: bytes, total });
        }
        file.flush().await.map_err(io_failure)?;
        drop(file);
        if is_html_without_table(target, content_type.as_deref()).map_err(io_failure)? {
            return Err(FetchFailure {
                error: source_failed(
                    "source_http_error",
                    format!("{shown} served an HTML page without a table, not a data file (an error or login page?)."),
                    format!("{shown} 回傳的是沒有表格的 HTML 網頁，而不是資料檔（錯誤或登入頁面？）。"),
                ),
                http_status: Some(status.as_u16()),
                retry: false,
            });
        }
        Ok(Fetched::Body {
            path: target.to_path_buf(),
            sha256: hex::encode(hasher.finalize()),
            bytes,
            status: status.as_u16(),
            etag: new_etag,
            last_modified: new_last_modified,
        })
    }
}

// ------------------------------------------------------------------------------------------------ SQL queries

/// Replaces every secret in a driver's message by `***`: the connection string itself, and its password raw and
/// percent-decoded.
struct Scrubber {
    secrets: Vec<String>,
}

impl Scrubber {
    fn new(connection: &str) -> Scrubber {
        let mut secrets = vec![connection.to_string()];
        if let Ok(url) = url::Url::parse(connection)
            && let Some(password) = url.password()
        {
            secrets.push(password.to_string());
            secrets.push(percent_encoding_decode(password));
        }
        secrets.retain(|s| s.len() >= 3);
        // Longest first, so the whole string is replaced before a part of it.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Scrubber { secrets }
    }

    fn scrub(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_string(), |acc, secret| acc.replace(secret.as_str(), "***"))
    }
}

/// A write sink that counts bytes, so the CSV's size limit is checked as it grows.
struct CountingWriter<W> {
    inner: W,
    count: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

type CsvOut = csv::Writer<CountingWriter<std::io::BufWriter<std::fs::File>>>;

/// Why a query export stopped.
enum ExportError {
    Db(sqlx::Error),
    Io(std::io::Error),
    TooLarge,
}

impl From<sqlx::Error> for ExportError {
    fn from(error: sqlx::Error) -> Self {
        ExportError::Db(error)
    }
}

impl From<std::io::Error> for ExportError {
    fn from(error: std::io::Error) -> Self {
        ExportError::Io(error)
    }
}

impl From<csv::Error> for ExportError {
    fn from(error: csv::Error) -> Self {
        ExportError::Io(std::io::Error::other(error.to_string()))
    }
}

/// Streams the rows of `query` into `out`: header from the prepared statement (so an empty result still has its
/// columns), values as text. Run over the drivers' text protocols, so every type arrives printed by the database
/// itself (numeric exactly, dates ISO) and no type needs a decoder here; PostgreSQL's `t`/`f` become `true`/`false`.
async fn export_rows<DB>(
    conn: &mut DB::Connection,
    query: &str,
    out: &mut CsvOut,
    limit: u64,
    progress: &RunProgressFn,
) -> Result<u64, ExportError>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'r> Option<String>: sqlx::Decode<'r, DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let statement = (&mut *conn).prepare(sqlx::AssertSqlSafe(query.to_string()).into_sql_str()).await?;
    let columns: Vec<(String, bool)> = statement
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), c.type_info().name().eq_ignore_ascii_case("bool")))
        .collect();
    drop(statement);
    out.write_record(columns.iter().map(|(name, _)| name.as_str()))?;
    let mut rows = (&mut *conn).fetch(sqlx::AssertSqlSafe(query.to_string()));
    let mut count = 0u64;
    let mut record: Vec<String> = Vec::with_capacity(columns.len());
    while let Some(row) = rows.try_next().await? {
        record.clear();
        for (index, (_, is_bool)) in columns.iter().enumerate() {
            let value: Option<String> = row.try_get_unchecked(index)?;
            let value = match (value, is_bool) {
                (Some(v), true) if v == "t" => "true".to_string(),
                (Some(v), true) if v == "f" => "false".to_string(),
                (Some(v), _) => v,
                (None, _) => String::new(),
            };
            record.push(value);
        }
        out.write_record(&record)?;
        count += 1;
        if out.get_ref().count > limit {
            return Err(ExportError::TooLarge);
        }
        if count.is_multiple_of(1000) {
            progress(RunProgress { stage: "querying", label: "querying / 查詢", done: count, total: 0 });
        }
    }
    Ok(count)
}

impl Tapwater {
    async fn query_sql(&self, source: &SourceRecord, progress: &RunProgressFn) -> Ended {
        let config = self.inner.config.sources.clone();
        let (Some(connection), Some(query)) = (source.spec.sql_connection.as_deref(), source.spec.sql_query.as_deref())
        else {
            return Ended::failed(invalid_source("sql", "The source has no query.".into(), "來源沒有查詢。".into()), 0);
        };
        let query = match check_query(query) {
            Ok(query) => query,
            Err(err) => return Ended::failed(err, 0),
        };
        let resolved = match connection.trim().strip_prefix("env:") {
            Some(name) => match std::env::var(name) {
                Ok(value) if !value.trim().is_empty() => value.trim().to_string(),
                _ => {
                    return Ended::failed(
                        invalid_source(
                            "sql.connection",
                            format!("The environment variable {name} is not set on this server."),
                            format!("本伺服器沒有設定環境變數 {name}。"),
                        ),
                        0,
                    );
                }
            },
            None => connection.trim().to_string(),
        };
        let engine = match sql_engine(&resolved) {
            Ok(engine) => engine,
            Err(err) => return Ended::failed(err, 0),
        };
        // SQLx's MySQL driver knows the mysql:// scheme only; MariaDB speaks the same protocol.
        let url = match resolved.strip_prefix("mariadb://") {
            Some(rest) => format!("mysql://{rest}"),
            None => resolved.clone(),
        };
        let scrubber = Scrubber::new(&resolved);
        let staging =
            match tempfile::Builder::new().prefix("source-").tempdir_in(staging_dir(&self.inner.config.data_dir)) {
                Ok(dir) => dir,
                Err(err) => return Ended::failed(err.into(), 0),
            };
        let path = staging.path().join(format!("{}.csv", source.dataset));

        let attempts = config.retry_attempts.max(1);
        let mut attempt = 0;
        let exported = loop {
            attempt += 1;
            progress(RunProgress { stage: "connecting", label: "connecting / 連線", done: 0, total: 0 });
            let run = self.export_query(engine, &url, &query, &path, &config, progress);
            let result = match tokio::time::timeout(config.timeout.saturating_mul(2), run).await {
                Ok(result) => result,
                Err(_) => Err((ExportError::Io(std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out")), true)),
            };
            match result {
                Ok(()) => break Ok(()),
                // Only failures to connect are retried: a query the database refused will be refused again.
                Err((ExportError::Db(err), true)) if attempt < attempts && is_connection_error(&err) => {
                    let delay = config.retry_delay.saturating_mul(1 << (attempt - 1).min(16));
                    tracing::info!(dataset = %source.dataset, attempt, "database unreachable, retrying");
                    tokio::time::sleep(delay).await;
                }
                Err((err, _)) => break Err(err),
            }
        };
        if let Err(err) = exported {
            let error = match err {
                ExportError::TooLarge => AppError::PayloadTooLarge { limit: self.inner.config.max_upload_bytes },
                ExportError::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => source_failed(
                    "source_unreachable",
                    format!("The database did not answer within {} s.", config.timeout.as_secs() * 2),
                    format!("資料庫在 {} 秒內沒有回應。", config.timeout.as_secs() * 2),
                ),
                ExportError::Io(e) => e.into(),
                ExportError::Db(e) => {
                    let message = scrubber.scrub(&db_message(&e));
                    if is_connection_error(&e) {
                        source_failed(
                            "source_unreachable",
                            format!("Cannot connect to the database: {message}"),
                            format!("無法連線到資料庫：{message}"),
                        )
                    } else {
                        source_failed(
                            "source_query_failed",
                            format!("The database refused the query: {message}"),
                            format!("資料庫拒絕了查詢：{message}"),
                        )
                    }
                }
            };
            return Ended::failed(error, attempt);
        }
        let hashed = tokio::task::spawn_blocking({
            let path = path.clone();
            move || hash_file(&path)
        })
        .await;
        let (sha256, bytes) = match hashed {
            Ok(Ok(hashed)) => hashed,
            Ok(Err(err)) => return Ended::failed(err.into(), attempt),
            Err(err) => return Ended::failed(AppError::Internal(err.to_string()), attempt),
        };
        // A query's result is an exact table: no title rows to find, and a NULL must not be filled from above.
        match self.publish_fetched(&source.dataset, &path, &sha256, bytes, true, progress).await {
            Ok((status, version)) => {
                Ended { status, http_status: None, bytes: Some(bytes), version, attempts: attempt, error: None }
            }
            Err(err) => Ended { bytes: Some(bytes), ..Ended::failed(err, attempt) },
        }
    }

    /// Connects, opens a read-only transaction with a statement time limit, and exports the query to `path`. The
    /// flag says whether the failure happened while connecting (worth a retry).
    async fn export_query(
        &self,
        engine: SqlEngine,
        url: &str,
        query: &str,
        path: &Path,
        config: &SourcesConfig,
        progress: &RunProgressFn,
    ) -> Result<(), (ExportError, bool)> {
        let file = std::fs::File::create(path).map_err(|e| (ExportError::Io(e), false))?;
        let mut out = csv::Writer::from_writer(CountingWriter {
            inner: std::io::BufWriter::with_capacity(1 << 20, file),
            count: 0,
        });
        let limit = self.inner.config.max_upload_bytes;
        let timeout_ms = config.timeout.as_millis().max(1);
        match engine {
            SqlEngine::Postgres => {
                let mut conn = sqlx::PgConnection::connect(url).await.map_err(|e| (ExportError::Db(e), true))?;
                let result: Result<(), ExportError> = async {
                    conn.execute("BEGIN").await?;
                    conn.execute("SET TRANSACTION READ ONLY").await?;
                    conn.execute(sqlx::AssertSqlSafe(format!("SET LOCAL statement_timeout = {timeout_ms}"))).await?;
                    // Dates print as ISO 8601 and timestamps with time zone in Taiwan time (+08).
                    conn.execute("SET LOCAL DateStyle = 'ISO, YMD'").await?;
                    conn.execute("SET LOCAL TimeZone = 'Asia/Taipei'").await?;
                    let rows = export_rows::<sqlx::Postgres>(&mut conn, query, &mut out, limit, progress).await?;
                    tracing::debug!(rows, "query exported");
                    Ok(())
                }
                .await;
                // Nothing to commit: the transaction only read.
                let _ = conn.execute("ROLLBACK").await;
                let _ = conn.close().await;
                result.map_err(|e| (e, false))?;
            }
            SqlEngine::MySql => {
                let mut conn = sqlx::MySqlConnection::connect(url).await.map_err(|e| (ExportError::Db(e), true))?;
                let result: Result<(), ExportError> = async {
                    // MariaDB names its statement limit max_statement_time (seconds), MySQL max_execution_time (ms).
                    let seconds =
                        format!("SET SESSION max_statement_time = {}", config.timeout.as_secs_f64().max(0.001));
                    if conn.execute(sqlx::AssertSqlSafe(seconds)).await.is_err() {
                        let millis = format!("SET SESSION max_execution_time = {timeout_ms}");
                        if let Err(err) = conn.execute(sqlx::AssertSqlSafe(millis)).await {
                            tracing::debug!(%err, "no statement time limit on this MySQL server");
                        }
                    }
                    conn.execute("SET time_zone = '+08:00'").await?;
                    conn.execute("START TRANSACTION READ ONLY").await?;
                    let rows = export_rows::<sqlx::MySql>(&mut conn, query, &mut out, limit, progress).await?;
                    tracing::debug!(rows, "query exported");
                    Ok(())
                }
                .await;
                let _ = conn.execute("ROLLBACK").await;
                let _ = conn.close().await;
                result.map_err(|e| (e, false))?;
            }
        }
        out.flush().map_err(|e| (ExportError::Io(e), false))?;
        Ok(())
    }
}

/// Failures to reach the database (worth a retry, and reported as `source_unreachable`), as opposed to the database
/// refusing the login or the query.
fn is_connection_error(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Protocol(_))
}

/// The database's own message (with its SQLSTATE or error number), or the driver's description.
fn db_message(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => format!("{} ({code})", db.message()),
            None => db.message().to_string(),
        },
        other => other.to_string(),
    }
}

fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn schedules_are_read_in_taipei_time() {
        // 03:00 in Taipei is 19:00 UTC the day before.
        let daily = parse_schedule("0 3 * * *").unwrap();
        assert_eq!(next_run(&daily, utc("2026-01-10T12:00:00Z")), Some(utc("2026-01-10T19:00:00Z")));
        let every_minute = parse_schedule("* * * * *").unwrap();
        assert_eq!(next_run(&every_minute, utc("2026-01-10T12:00:30.5Z")), Some(utc("2026-01-10T12:01:00Z")));
        // Six fields: seconds first.
        let every_second = parse_schedule("* * * * * *").unwrap();
        assert_eq!(next_run(&every_second, utc("2026-01-10T12:00:30Z")), Some(utc("2026-01-10T12:00:31Z")));
        assert!(parse_schedule("@daily").is_ok());
    }

    #[test]
    fn bad_schedules_are_refused_with_the_reason() {
        for bad in ["", "* * *", "61 * * * *", "* * * * * * 2026", "every day"] {
            let err = parse_schedule(bad).unwrap_err();
            assert_eq!(err.code(), "invalid_source", "{bad}");
            assert_eq!(err.param().as_deref(), Some("schedule"));
        }
    }

    #[test]
    fn queries_must_be_one_statement() {
        assert_eq!(check_query("  SELECT 1 ;\n").unwrap(), "SELECT 1");
        assert_eq!(check_query("SELECT 1; DELETE FROM t").unwrap_err().code(), "invalid_source");
        assert_eq!(check_query("SELECT 1; COMMIT; DROP TABLE t;").unwrap_err().code(), "invalid_source");
        assert_eq!(check_query(" ; ").unwrap_err().code(), "invalid_source");
    }

    #[test]
    fn connections_are_checked_without_echoing_the_password() {
        assert!(check_connection("postgres://reader:pw@db/hr").is_ok());
        assert!(check_connection("mariadb://root@127.0.0.1:3306/test").is_ok());
        assert!(check_connection("env:HR_DB").is_ok());
        assert!(check_connection("env:HR DB").is_err());
        let err = check_connection("oracle://scott:tiger123@db/orcl").unwrap_err();
        assert!(!err.message(Lang::En).contains("tiger123"), "{}", err.message(Lang::En));
        let err = check_connection("postgres://scott:tiger123@/orcl").unwrap_err();
        assert!(!err.message(Lang::En).contains("tiger123"));
        assert!(!err.message(Lang::ZhTw).contains("tiger123"));
    }

    #[test]
    fn urls_must_be_http() {
        assert!(check_url("https://data.tainan.gov.tw/a.csv").is_ok());
        assert_eq!(check_url("ftp://x.tw/a.csv").unwrap_err().code(), "invalid_source");
        assert_eq!(check_url("file:///etc/passwd").unwrap_err().code(), "invalid_source");
        assert_eq!(check_url("not a url").unwrap_err().code(), "invalid_source");
    }

    #[test]
    fn inputs_of_the_wrong_shape_are_refused() {
        let both = SourceInput {
            kind: SourceKind::Url,
            url: Some("https://x.tw/a.csv".into()),
            sql: Some(SqlSource { connection: "postgres://h/d".into(), query: "SELECT 1".into() }),
            schedule: None,
            enabled: true,
        };
        assert_eq!(spec_of(both).unwrap_err().param().as_deref(), Some("sql"));
        let no_url = SourceInput { kind: SourceKind::Url, url: None, sql: None, schedule: None, enabled: true };
        assert_eq!(spec_of(no_url).unwrap_err().param().as_deref(), Some("url"));
        let (spec, cron) = spec_of(SourceInput {
            kind: SourceKind::Sql,
            url: None,
            sql: Some(SqlSource { connection: " env:HR_DB ".into(), query: "SELECT * FROM t;".into() }),
            schedule: Some(" 0 3 * * * ".into()),
            enabled: true,
        })
        .unwrap();
        assert_eq!(
            (spec.sql_connection.as_deref(), spec.sql_query.as_deref()),
            (Some("env:HR_DB"), Some("SELECT * FROM t"))
        );
        assert_eq!(spec.schedule.as_deref(), Some("0 3 * * *"));
        assert!(cron.is_some());
    }

    #[test]
    fn driver_messages_lose_the_password() {
        let scrubber = Scrubber::new("postgres://reader:p%40ss-word@db/hr");
        let text = "cannot connect to postgres://reader:p%40ss-word@db/hr with p@ss-word or p%40ss-word";
        let clean = scrubber.scrub(text);
        assert!(!clean.contains("ss-word"), "{clean}");
    }

    #[test]
    fn file_names_come_from_the_url_and_are_safe() {
        let url = url::Url::parse("https://x.tw/files/10304_%E6%9D%91%E9%87%8C.csv?download=1").unwrap();
        assert_eq!(file_name_of(&url), "10304_村里.csv");
        assert_eq!(file_name_of(&url::Url::parse("https://x.tw/").unwrap()), "download");
        assert_eq!(file_name_of(&url::Url::parse("https://x.tw/a/..%2F..%2Fetc").unwrap()), "etc");
    }

    #[test]
    fn html_error_pages_are_told_from_html_tables() {
        let dir = tempfile::tempdir().unwrap();
        let page = dir.path().join("page");
        std::fs::write(&page, "<!DOCTYPE html><html><body>404 找不到網頁</body></html>").unwrap();
        assert!(is_html_without_table(&page, None).unwrap());
        let table = dir.path().join("table.xls");
        std::fs::write(&table, "<html><table><tr><td>區</td></tr></table></html>").unwrap();
        assert!(!is_html_without_table(&table, Some("text/html")).unwrap());
        let csv = dir.path().join("a.csv");
        std::fs::write(&csv, "a,b\n1,2\n").unwrap();
        assert!(!is_html_without_table(&csv, Some("text/csv")).unwrap());
        assert!(is_html_without_table(&csv, Some("text/html; charset=utf-8")).unwrap());
    }
}
