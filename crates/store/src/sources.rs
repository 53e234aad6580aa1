//! Scheduled sources in the catalog: the source of each dataset, the record of its runs, and the leases that make a
//! run happen exactly once across any number of server processes.
//!
//! How exactly-once works, on both databases:
//! * **Schedules.** A due source is taken by a compare-and-set on its `next_run_at` (`UPDATE … WHERE dataset_id = $1
//!   AND next_run_at = $old`), in the same transaction that queues its job: of several processes that saw the same
//!   due time, exactly one updates the row (PostgreSQL re-checks the condition after the row lock is released;
//!   SQLite has one writer at a time), and only that one queues a run.
//! * **Jobs.** A queued job is claimed with one atomic `UPDATE … RETURNING` that writes the claimer's name and a lease
//!   expiry. On PostgreSQL the candidate is picked with `FOR UPDATE SKIP LOCKED`, so concurrent claimers take
//!   different jobs instead of queueing behind one another; on SQLite the statement runs under the single write
//!   lock. A job whose lease expired (its process died) is claimable again: that is how work survives a restart.
//!
//! What this module does not do: compute cron schedules (the caller passes the next due time), fetch URLs or run
//! SQL sources (that is `tapwater-app`), or decide who may change a source.

use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use tapwater_types::{
    Job, JobError, JobStatus, RunError, RunStatus, RunTrigger, Slug, SourceKind, SourceRun, redact_connection,
};

use super::{Catalog, DbKind, parse_slug, to_i64};
use crate::{StoreError, time};

/// Job kind of a source run, in the `jobs` table.
pub const SOURCE_JOB_KIND: &str = "source_run";

/// A source's configuration as stored, secret included. Its `Debug` output hides the password.
#[derive(Clone, PartialEq)]
pub struct SourceSpec {
    pub kind: SourceKind,
    pub url: Option<String>,
    /// As given: a connection URL or `env:NAME`.
    pub sql_connection: Option<String>,
    pub sql_query: Option<String>,
    pub schedule: Option<String>,
    pub enabled: bool,
}

impl std::fmt::Debug for SourceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceSpec")
            .field("kind", &self.kind)
            .field("url", &self.url)
            .field("sql_connection", &self.sql_connection.as_deref().map(redact_connection))
            .field("sql_query", &self.sql_query)
            .field("schedule", &self.schedule)
            .field("enabled", &self.enabled)
            .finish()
    }
}

/// A stored source with its scheduling state.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRecord {
    pub dataset: Slug,
    pub spec: SourceSpec,
    pub next_run_at: Option<DateTime<Utc>>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A source whose scheduled time has come, as read before taking it with [`Catalog::take_due_source`].
#[derive(Debug, Clone, PartialEq)]
pub struct DueSource {
    pub dataset_id: i64,
    pub dataset: Slug,
    pub schedule: String,
    pub next_run_at: DateTime<Utc>,
}

/// A job this process has claimed and now holds the lease of.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedJob {
    pub id: String,
    pub dataset: String,
    /// How many times the job has been claimed, this claim included (more than 1: a process died running it).
    pub attempts: u32,
}

/// What a finished run records.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunOutcome {
    pub http_status: Option<u16>,
    pub bytes: Option<u64>,
    pub version: Option<i64>,
    pub error: Option<JobError>,
    pub attempts: u32,
}

const SOURCE_COLUMNS: &str = "d.slug, s.kind, s.url, s.sql_connection, s.sql_query, s.schedule, s.enabled, \
     s.next_run_at, s.etag, s.last_modified, s.created_at, s.updated_at \
     FROM dataset_sources s JOIN datasets d ON d.id = s.dataset_id";

const RUN_COLUMNS: &str = "r.id, r.trigger_kind, r.scheduled_for, r.status, r.created_at, r.started_at, \
     r.finished_at, r.http_status, r.bytes, r.version_seq, r.error_code, r.error_message, r.attempts \
     FROM source_runs r";

fn optional_time(row: &sqlx::any::AnyRow, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    row.try_get::<Option<String>, _>(column)?.map(|text| time::parse(&text)).transpose()
}

fn source_from_row(row: &sqlx::any::AnyRow) -> Result<SourceRecord, StoreError> {
    let kind: String = row.try_get("kind")?;
    Ok(SourceRecord {
        dataset: parse_slug(&row.try_get::<String, _>("slug")?)?,
        spec: SourceSpec {
            kind: SourceKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("source kind {kind:?}")))?,
            url: row.try_get("url")?,
            sql_connection: row.try_get("sql_connection")?,
            sql_query: row.try_get("sql_query")?,
            schedule: row.try_get("schedule")?,
            enabled: row.try_get::<i64, _>("enabled")? != 0,
        },
        next_run_at: optional_time(row, "next_run_at")?,
        etag: row.try_get("etag")?,
        last_modified: row.try_get("last_modified")?,
        created_at: time::parse(&row.try_get::<String, _>("created_at")?)?,
        updated_at: time::parse(&row.try_get::<String, _>("updated_at")?)?,
    })
}

fn run_from_row(row: &sqlx::any::AnyRow) -> Result<SourceRun, StoreError> {
    let status: String = row.try_get("status")?;
    let trigger: String = row.try_get("trigger_kind")?;
    let error = match row.try_get::<Option<String>, _>("error_code")? {
        Some(code) => {
            Some(RunError { code, message: row.try_get::<Option<String>, _>("error_message")?.unwrap_or_default() })
        }
        None => None,
    };
    Ok(SourceRun {
        id: row.try_get("id")?,
        trigger: RunTrigger::parse(&trigger).ok_or_else(|| StoreError::Corrupt(format!("run trigger {trigger:?}")))?,
        scheduled_for: optional_time(row, "scheduled_for")?,
        status: RunStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("run status {status:?}")))?,
        created_at: time::parse(&row.try_get::<String, _>("created_at")?)?,
        started_at: optional_time(row, "started_at")?,
        finished_at: optional_time(row, "finished_at")?,
        http_status: row.try_get::<Option<i64>, _>("http_status")?.and_then(|s| u16::try_from(s).ok()),
        bytes: row.try_get::<Option<i64>, _>("bytes")?.and_then(|b| u64::try_from(b).ok()),
        version: row.try_get("version_seq")?,
        error,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(0),
    })
}

async fn dataset_id_of(conn: &mut AnyConnection, slug: &Slug, lock: &str) -> Result<i64, StoreError> {
    let sql = format!("SELECT id FROM datasets WHERE slug = $1{lock}");
    sqlx::query(AssertSqlSafe(sql))
        .bind(slug.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound { what: format!("dataset {slug}") })?
        .try_get("id")
        .map_err(StoreError::from)
}

/// The job of a source run that is queued or running for a dataset, if any: a second one would only repeat it.
async fn active_job(conn: &mut AnyConnection, slug: &str) -> Result<Option<String>, StoreError> {
    let row = sqlx::query(
        "SELECT id FROM jobs WHERE kind = $1 AND dataset_slug = $2 AND status IN ('queued', 'running') \
         ORDER BY created_at LIMIT 1",
    )
    .bind(SOURCE_JOB_KIND)
    .bind(slug)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| r.try_get::<String, _>("id")).transpose().map_err(StoreError::from)
}

/// Inserts a queued job and its run row.
async fn insert_run(
    conn: &mut AnyConnection,
    dataset_id: i64,
    slug: &str,
    trigger: RunTrigger,
    scheduled_for: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    let id = crate::new_version_id();
    let now = time::format(now);
    sqlx::query(
        "INSERT INTO jobs (id, kind, dataset_slug, status, stage, done, total, created_at, updated_at, run_after, \
         attempts) VALUES ($1, $2, $3, 'queued', NULL, 0, 0, $4, $4, $4, 0)",
    )
    .bind(id.as_str())
    .bind(SOURCE_JOB_KIND)
    .bind(slug)
    .bind(now.as_str())
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO source_runs (id, dataset_id, trigger_kind, scheduled_for, status, created_at, attempts) \
         VALUES ($1, $2, $3, $4, 'queued', $5, 0)",
    )
    .bind(id.as_str())
    .bind(dataset_id)
    .bind(trigger.as_str())
    .bind(scheduled_for.map(time::format))
    .bind(now.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// Binds `$1`–`$9` of the statements that write a source (the insert and the update share them).
fn bind_spec<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    dataset_id: i64,
    spec: &'q SourceSpec,
    next_run_at: Option<&'q str>,
    now: &'q str,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    query
        .bind(dataset_id)
        .bind(spec.kind.as_str())
        .bind(spec.url.as_deref())
        .bind(spec.sql_connection.as_deref())
        .bind(spec.sql_query.as_deref())
        .bind(spec.schedule.as_deref())
        .bind(i64::from(spec.enabled))
        .bind(next_run_at)
        .bind(now)
}

impl Catalog {
    /// Sets the source of a dataset (replacing any), with the next scheduled time the caller computed. The stored
    /// `ETag`/`Last-Modified` are kept when the URL (or query) stays the same, and dropped otherwise. `NotFound` for
    /// an unknown dataset.
    pub async fn put_source(
        &self,
        slug: &Slug,
        spec: &SourceSpec,
        next_run_at: Option<DateTime<Utc>>,
    ) -> Result<SourceRecord, StoreError> {
        let now = time::format(time::now());
        let mut tx = self.begin_write().await?;
        let dataset_id = dataset_id_of(&mut tx, slug, self.for_update()).await?;
        let existing =
            sqlx::query("SELECT kind, url, sql_connection, sql_query FROM dataset_sources WHERE dataset_id = $1")
                .bind(dataset_id)
                .fetch_optional(&mut *tx)
                .await?;
        let next = next_run_at.map(|t| time::format(time::to_millis(t)));
        match existing {
            None => {
                let insert = sqlx::query(
                    "INSERT INTO dataset_sources (dataset_id, kind, url, sql_connection, sql_query, schedule, enabled, \
                     next_run_at, etag, last_modified, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, $9, $9)",
                );
                bind_spec(insert, dataset_id, spec, next.as_deref(), &now).execute(&mut *tx).await?;
            }
            Some(row) => {
                let same_content = row.try_get::<String, _>("kind")? == spec.kind.as_str()
                    && row.try_get::<Option<String>, _>("url")? == spec.url
                    && row.try_get::<Option<String>, _>("sql_connection")? == spec.sql_connection
                    && row.try_get::<Option<String>, _>("sql_query")? == spec.sql_query;
                // Validators describe what the old URL answered; a new URL must be fetched in full.
                let keep_validators = if same_content { "" } else { ", etag = NULL, last_modified = NULL" };
                let sql = format!(
                    "UPDATE dataset_sources SET kind = $2, url = $3, sql_connection = $4, sql_query = $5, \
                     schedule = $6, enabled = $7, next_run_at = $8, updated_at = $9{keep_validators} \
                     WHERE dataset_id = $1"
                );
                bind_spec(sqlx::query(AssertSqlSafe(sql)), dataset_id, spec, next.as_deref(), &now)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let sql = format!("SELECT {SOURCE_COLUMNS} WHERE s.dataset_id = $1");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(dataset_id).fetch_one(&mut *tx).await?;
        let record = source_from_row(&row)?;
        tx.commit().await?;
        Ok(record)
    }

    /// The source of a dataset; `None` if it has none or the dataset does not exist.
    pub async fn get_source(&self, slug: &Slug) -> Result<Option<SourceRecord>, StoreError> {
        let sql = format!("SELECT {SOURCE_COLUMNS} WHERE d.slug = $1");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(slug.as_str()).fetch_optional(&self.pool).await?;
        row.as_ref().map(source_from_row).transpose()
    }

    /// Removes a dataset's source; its runs stay (the quality checks read them). Whether there was one.
    pub async fn delete_source(&self, slug: &Slug) -> Result<bool, StoreError> {
        let result =
            sqlx::query("DELETE FROM dataset_sources WHERE dataset_id = (SELECT id FROM datasets WHERE slug = $1)")
                .bind(slug.as_str())
                .execute(&self.pool)
                .await?;
        Ok(result.rows_affected() > 0)
    }

    /// Remembers the validators of the response the current content came from.
    pub async fn set_source_validators(
        &self,
        slug: &Slug,
        etag: Option<&str>,
        last_modified: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE dataset_sources SET etag = $2, last_modified = $3 \
             WHERE dataset_id = (SELECT id FROM datasets WHERE slug = $1)",
        )
        .bind(slug.as_str())
        .bind(etag)
        .bind(last_modified)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Enabled, scheduled sources whose next run time is at or before `now`, earliest first (at most `limit`).
    pub async fn due_sources(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<DueSource>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.dataset_id, d.slug, s.schedule, s.next_run_at FROM dataset_sources s \
             JOIN datasets d ON d.id = s.dataset_id \
             WHERE s.enabled = 1 AND s.schedule IS NOT NULL AND s.next_run_at IS NOT NULL AND s.next_run_at <= $1 \
             ORDER BY s.next_run_at, s.dataset_id LIMIT $2",
        )
        .bind(time::format(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DueSource {
                    dataset_id: row.try_get("dataset_id")?,
                    dataset: parse_slug(&row.try_get::<String, _>("slug")?)?,
                    schedule: row.try_get("schedule")?,
                    next_run_at: time::parse(&row.try_get::<String, _>("next_run_at")?)?,
                })
            })
            .collect()
    }

    /// Takes a due source for this process: moves its `next_run_at` to `next` if nobody did since it was read, and
    /// in the same transaction queues a scheduled run for the slot — unless a run of the dataset is still queued or
    /// running, in which case the slot is skipped (a slow source must not pile up runs). Returns the queued job's
    /// id; `None` if another process took the slot first or the slot was skipped.
    pub async fn take_due_source(
        &self,
        due: &DueSource,
        next: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let mut tx = self.begin_write().await?;
        let taken = sqlx::query(
            "UPDATE dataset_sources SET next_run_at = $1 WHERE dataset_id = $2 AND next_run_at = $3 AND enabled = 1",
        )
        .bind(next.map(|t| time::format(time::to_millis(t))))
        .bind(due.dataset_id)
        .bind(time::format(due.next_run_at))
        .execute(&mut *tx)
        .await?;
        if taken.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        if active_job(&mut tx, due.dataset.as_str()).await?.is_some() {
            tx.commit().await?;
            tracing::info!(dataset = %due.dataset, "scheduled run skipped: the previous run is still going");
            return Ok(None);
        }
        let id =
            insert_run(&mut tx, due.dataset_id, due.dataset.as_str(), RunTrigger::Schedule, Some(due.next_run_at), now)
                .await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    /// Queues a manual run of a dataset's source and returns its job, or the job of a run already queued or running
    /// (asking twice does not run twice). `NotFound` for an unknown dataset.
    pub async fn enqueue_source_run(&self, slug: &Slug, now: DateTime<Utc>) -> Result<Job, StoreError> {
        let mut tx = self.begin_write().await?;
        let dataset_id = dataset_id_of(&mut tx, slug, self.for_update()).await?;
        let id = match active_job(&mut tx, slug.as_str()).await? {
            Some(existing) => existing,
            None => insert_run(&mut tx, dataset_id, slug.as_str(), RunTrigger::Manual, None, now).await?,
        };
        tx.commit().await?;
        self.get_job(&id).await?.ok_or_else(|| StoreError::NotFound { what: format!("job {id}") })
    }

    /// Claims one runnable source job for `owner` until `lease_until`: a queued job whose time has come, or a running
    /// one whose lease expired. With `only`, just that job. The claim marks the run `running`.
    pub async fn claim_source_job(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        only: Option<&str>,
    ) -> Result<Option<ClaimedJob>, StoreError> {
        let skip_locked = match self.kind {
            DbKind::Postgres => " FOR UPDATE SKIP LOCKED",
            DbKind::Sqlite => "",
        };
        let only_filter = if only.is_some() { " AND id = $5" } else { "" };
        let sql = format!(
            "UPDATE jobs SET status = 'running', lease_owner = $1, lease_expires_at = $2, attempts = attempts + 1, \
             updated_at = $3 \
             WHERE id = (SELECT id FROM jobs WHERE kind = $4 \
               AND ((status = 'queued' AND run_after <= $3) OR (status = 'running' AND lease_expires_at < $3)){only_filter} \
               ORDER BY created_at, id LIMIT 1{skip_locked}) \
             RETURNING id, dataset_slug, attempts"
        );
        let now_text = time::format(now);
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind(owner)
            .bind(time::format(lease_until))
            .bind(now_text.as_str())
            .bind(SOURCE_JOB_KIND);
        if let Some(id) = only {
            query = query.bind(id);
        }
        let Some(row) = query.fetch_optional(&self.pool).await? else { return Ok(None) };
        let claimed = ClaimedJob {
            id: row.try_get("id")?,
            dataset: row.try_get("dataset_slug")?,
            attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        };
        sqlx::query("UPDATE source_runs SET status = 'running', started_at = $2, claimed_by = $3 WHERE id = $1")
            .bind(claimed.id.as_str())
            .bind(now_text.as_str())
            .bind(owner)
            .execute(&self.pool)
            .await?;
        Ok(Some(claimed))
    }

    /// Renews the lease of a job `owner` holds and records its progress. `false` if the lease was lost (it expired
    /// and another process took the job over): the caller must stop.
    pub async fn renew_source_job(
        &self,
        id: &str,
        owner: &str,
        lease_until: DateTime<Utc>,
        stage: Option<&str>,
        done: u64,
        total: u64,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET lease_expires_at = $3, stage = $4, done = $5, total = $6, updated_at = $7 \
             WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
        )
        .bind(id)
        .bind(owner)
        .bind(time::format(lease_until))
        .bind(stage)
        .bind(to_i64(done, "progress")?)
        .bind(to_i64(total, "progress")?)
        .bind(time::format(time::now()))
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Ends a run `owner` holds: the job becomes succeeded (new version or unchanged) or failed, its lease is
    /// released, and the run row gets its outcome — in one transaction. `false` if the lease had been lost, in which
    /// case nothing is written (the process that took over records the run).
    pub async fn finish_source_job(
        &self,
        id: &str,
        owner: &str,
        status: RunStatus,
        outcome: &RunOutcome,
    ) -> Result<bool, StoreError> {
        let job_status = if status == RunStatus::Failed { JobStatus::Failed } else { JobStatus::Succeeded };
        let now = time::format(time::now());
        let error = outcome.error.as_ref();
        let mut tx = self.begin_write().await?;
        let result = sqlx::query(
            "UPDATE jobs SET status = $3, stage = NULL, version_seq = $4, error_code = $5, error_message = $6, \
             error_message_zh = $7, updated_at = $8, lease_owner = NULL, lease_expires_at = NULL \
             WHERE id = $1 AND lease_owner = $2",
        )
        .bind(id)
        .bind(owner)
        .bind(job_status.as_str())
        .bind(outcome.version)
        .bind(error.map(|e| e.code.as_str()))
        .bind(error.map(|e| e.message.as_str()))
        .bind(error.map(|e| e.message_zh.as_str()))
        .bind(now.as_str())
        .execute(&mut *tx)
        .await?;
        if result.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "UPDATE source_runs SET status = $2, finished_at = $3, http_status = $4, bytes = $5, version_seq = $6, \
             error_code = $7, error_message = $8, attempts = $9 WHERE id = $1",
        )
        .bind(id)
        .bind(status.as_str())
        .bind(now.as_str())
        .bind(outcome.http_status.map(i64::from))
        .bind(outcome.bytes.map(|b| to_i64(b, "bytes")).transpose()?)
        .bind(outcome.version)
        .bind(error.map(|e| e.code.as_str()))
        .bind(error.map(|e| e.message.as_str()))
        .bind(i64::from(outcome.attempts))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The most recent runs of a dataset's source, newest first. `NotFound` for an unknown dataset.
    pub async fn source_runs(&self, slug: &Slug, limit: u32) -> Result<Vec<SourceRun>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let dataset_id = dataset_id_of(&mut conn, slug, "").await?;
        let sql =
            format!("SELECT {RUN_COLUMNS} WHERE r.dataset_id = $1 ORDER BY r.created_at DESC, r.id DESC LIMIT $2");
        let rows =
            sqlx::query(AssertSqlSafe(sql)).bind(dataset_id).bind(i64::from(limit)).fetch_all(&mut *conn).await?;
        rows.iter().map(run_from_row).collect()
    }

    /// One run, by its (job) id.
    pub async fn source_run(&self, id: &str) -> Result<Option<SourceRun>, StoreError> {
        let sql = format!("SELECT {RUN_COLUMNS} WHERE r.id = $1");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(run_from_row).transpose()
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use tapwater_types::JobStatus;

    use super::*;
    use crate::NewDataset;

    /// A catalog on SQLite in memory, or on a fresh PostgreSQL database when `TAPWATER_TEST_POSTGRES_URL` is set;
    /// with a dataset `pm25`.
    async fn catalog() -> (Catalog, Option<String>) {
        let (catalog, url) = match std::env::var("TAPWATER_TEST_POSTGRES_URL") {
            Ok(admin) if !admin.is_empty() => {
                let url = crate::testing::fresh_postgres_database(&admin).await.unwrap();
                (Catalog::connect(&url).await.unwrap(), Some(url))
            }
            _ => (Catalog::connect("sqlite::memory:").await.unwrap(), None),
        };
        catalog
            .create_dataset(&NewDataset {
                slug: Slug::parse("pm25").unwrap(),
                title: "PM2.5".into(),
                description: String::new(),
                publisher: None,
                license: "OGDL-Taiwan-1.0".into(),
                frequency: None,
                tags: vec![],
                access: tapwater_types::AccessLevel::Public,
                draft: false,
            })
            .await
            .unwrap();
        (catalog, url)
    }

    async fn done(catalog: Catalog, url: Option<String>) {
        catalog.close().await;
        if let (Some(url), Ok(admin)) = (url, std::env::var("TAPWATER_TEST_POSTGRES_URL")) {
            crate::testing::drop_postgres_database(&admin, &url).await.unwrap();
        }
    }

    fn slug() -> Slug {
        Slug::parse("pm25").unwrap()
    }

    fn url_spec(url: &str, schedule: Option<&str>) -> SourceSpec {
        SourceSpec {
            kind: SourceKind::Url,
            url: Some(url.into()),
            sql_connection: None,
            sql_query: None,
            schedule: schedule.map(str::to_string),
            enabled: true,
        }
    }

    #[tokio::test]
    async fn a_source_is_stored_replaced_and_deleted_and_validators_follow_the_url() {
        let (catalog, url) = catalog().await;
        let due = time::now() + Duration::minutes(1);
        let stored =
            catalog.put_source(&slug(), &url_spec("https://a.tw/x.csv", Some("* * * * *")), Some(due)).await.unwrap();
        assert_eq!(stored.next_run_at, Some(time::to_millis(due)));
        catalog.set_source_validators(&slug(), Some("\"v1\""), Some("Tue, 01 Apr 2025 00:00:00 GMT")).await.unwrap();
        // Same URL, new schedule: the validators stay.
        let kept = catalog.put_source(&slug(), &url_spec("https://a.tw/x.csv", None), None).await.unwrap();
        assert_eq!(kept.etag.as_deref(), Some("\"v1\""));
        assert_eq!(kept.next_run_at, None);
        // Another URL: they go.
        let moved = catalog.put_source(&slug(), &url_spec("https://a.tw/y.csv", None), None).await.unwrap();
        assert_eq!(moved.etag, None);
        assert_eq!(moved.last_modified, None);
        assert!(catalog.delete_source(&slug()).await.unwrap());
        assert!(catalog.get_source(&slug()).await.unwrap().is_none());
        assert!(!catalog.delete_source(&slug()).await.unwrap());
        let unknown = Slug::parse("nope").unwrap();
        assert!(matches!(
            catalog.put_source(&unknown, &url_spec("https://a.tw", None), None).await,
            Err(StoreError::NotFound { .. })
        ));
        done(catalog, url).await;
    }

    #[tokio::test]
    async fn a_due_slot_is_taken_once_and_its_job_claimed_once() {
        let (catalog, url) = catalog().await;
        let slot = time::to_millis(time::now() - Duration::seconds(5));
        catalog.put_source(&slug(), &url_spec("https://a.tw/x.csv", Some("* * * * *")), Some(slot)).await.unwrap();
        let now = time::now();
        let due = catalog.due_sources(now, 10).await.unwrap();
        assert_eq!(due.len(), 1);
        let next = slot + Duration::minutes(1);
        // Two processes read the same due slot; only the first compare-and-set wins.
        let first = catalog.take_due_source(&due[0], Some(next), now).await.unwrap();
        let second = catalog.take_due_source(&due[0], Some(next), now).await.unwrap();
        let job = first.expect("first taker queues a run");
        assert_eq!(second, None);
        assert_eq!(catalog.get_source(&slug()).await.unwrap().unwrap().next_run_at, Some(next));
        assert!(catalog.due_sources(now, 10).await.unwrap().is_empty());
        let runs = catalog.source_runs(&slug(), 10).await.unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(
            (runs[0].trigger, runs[0].status, runs[0].scheduled_for),
            (RunTrigger::Schedule, RunStatus::Queued, Some(slot))
        );

        let lease = now + Duration::minutes(5);
        let claimed = catalog.claim_source_job("a", now, lease, None).await.unwrap().unwrap();
        assert_eq!((claimed.id.as_str(), claimed.dataset.as_str(), claimed.attempts), (job.as_str(), "pm25", 1));
        assert_eq!(catalog.claim_source_job("b", now, lease, None).await.unwrap(), None, "leased: nobody else");
        assert!(catalog.renew_source_job(&job, "a", lease, Some("downloading"), 10, 100).await.unwrap());
        assert!(!catalog.renew_source_job(&job, "b", lease, None, 0, 0).await.unwrap(), "b holds no lease");
        let outcome =
            RunOutcome { http_status: Some(200), bytes: Some(100), version: Some(1), error: None, attempts: 2 };
        assert!(!catalog.finish_source_job(&job, "b", RunStatus::NewVersion, &outcome).await.unwrap());
        assert!(catalog.finish_source_job(&job, "a", RunStatus::NewVersion, &outcome).await.unwrap());
        let run = catalog.source_run(&job).await.unwrap().unwrap();
        assert_eq!(
            (run.status, run.http_status, run.bytes, run.version, run.attempts),
            (RunStatus::NewVersion, Some(200), Some(100), Some(1), 2)
        );
        let job_row = catalog.get_job(&job).await.unwrap().unwrap();
        assert_eq!(
            (job_row.status, job_row.version, job_row.kind.as_str()),
            (JobStatus::Succeeded, Some(1), SOURCE_JOB_KIND)
        );
        assert_eq!(catalog.claim_source_job("b", now, lease, None).await.unwrap(), None, "finished jobs stay finished");
        done(catalog, url).await;
    }

    #[tokio::test]
    async fn an_expired_lease_is_taken_over_by_another_process() {
        let (catalog, url) = catalog().await;
        catalog.put_source(&slug(), &url_spec("https://a.tw/x.csv", None), None).await.unwrap();
        let now = time::now();
        let job = catalog.enqueue_source_run(&slug(), now).await.unwrap();
        assert_eq!(job.status, JobStatus::Queued);
        // Asking again while it is queued gives the same job.
        assert_eq!(catalog.enqueue_source_run(&slug(), now).await.unwrap().id, job.id);
        // Process "dead" claims it with a lease that runs out, then dies.
        let claimed = catalog.claim_source_job("dead", now, now + Duration::seconds(1), Some(&job.id)).await.unwrap();
        assert_eq!(claimed.map(|c| c.attempts), Some(1));
        assert_eq!(catalog.claim_source_job("alive", now, now + Duration::minutes(5), None).await.unwrap(), None);
        let later = now + Duration::seconds(2);
        let taken =
            catalog.claim_source_job("alive", later, later + Duration::minutes(5), None).await.unwrap().unwrap();
        assert_eq!((taken.id.as_str(), taken.attempts), (job.id.as_str(), 2));
        // The dead process, should it wake up, can neither renew nor finish.
        assert!(!catalog.renew_source_job(&job.id, "dead", later, None, 0, 0).await.unwrap());
        let failed = RunOutcome {
            error: Some(JobError {
                code: "source_unreachable".into(),
                message: "refused".into(),
                message_zh: "拒絕".into(),
            }),
            attempts: 3,
            ..RunOutcome::default()
        };
        assert!(!catalog.finish_source_job(&job.id, "dead", RunStatus::Failed, &failed).await.unwrap());
        assert!(catalog.finish_source_job(&job.id, "alive", RunStatus::Failed, &failed).await.unwrap());
        let run = catalog.source_run(&job.id).await.unwrap().unwrap();
        assert_eq!(run.status, RunStatus::Failed);
        assert_eq!(run.error.map(|e| e.code), Some("source_unreachable".to_string()));
        // Once finished, a new manual run is a new job.
        assert_ne!(catalog.enqueue_source_run(&slug(), later).await.unwrap().id, job.id);
        done(catalog, url).await;
    }

    #[tokio::test]
    async fn a_slot_is_skipped_while_the_previous_run_goes_on() {
        let (catalog, url) = catalog().await;
        let slot = time::to_millis(time::now() - Duration::seconds(1));
        catalog.put_source(&slug(), &url_spec("https://a.tw/x.csv", Some("* * * * * *")), Some(slot)).await.unwrap();
        let running = catalog.enqueue_source_run(&slug(), time::now()).await.unwrap();
        let due = catalog.due_sources(time::now(), 10).await.unwrap();
        assert_eq!(
            catalog.take_due_source(&due[0], Some(slot + Duration::seconds(5)), time::now()).await.unwrap(),
            None
        );
        let source = catalog.get_source(&slug()).await.unwrap().unwrap();
        assert_eq!(source.next_run_at, Some(slot + Duration::seconds(5)), "the slot is consumed all the same");
        assert_eq!(catalog.source_runs(&slug(), 10).await.unwrap().len(), 1);
        assert_eq!(catalog.source_runs(&slug(), 10).await.unwrap()[0].id, running.id);
        done(catalog, url).await;
    }

    #[test]
    fn debug_hides_the_password() {
        let spec = SourceSpec {
            kind: SourceKind::Sql,
            url: None,
            sql_connection: Some("postgres://reader:hunter2@db/hr".into()),
            sql_query: Some("SELECT 1".into()),
            schedule: None,
            enabled: true,
        };
        assert!(!format!("{spec:?}").contains("hunter2"));
    }
}
