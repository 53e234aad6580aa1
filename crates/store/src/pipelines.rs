//! Pipelines per dataset, kept as numbered revisions, and how each version was made (its pipeline revision and
//! source files).
//!
//! A pipeline is stored as JSON and never interpreted here: validating it is the application layer's job, applying
//! it the ingest crate's. Revisions are append-only — setting a pipeline adds revision `n + 1`, the current one is
//! the highest — so a version's `pipeline_revision` always points at the rules it was ingested with.

use sqlx::{AssertSqlSafe, Row};
use tapwater_types::{Pipeline, PipelineRevision, Slug, VersionSources};

use super::{Catalog, from_json, is_unique_violation, to_json};
use crate::{StoreError, time};

fn revision_from_row(row: &sqlx::any::AnyRow) -> Result<PipelineRevision, StoreError> {
    Ok(PipelineRevision {
        revision: row.try_get("revision")?,
        pipeline: from_json(&row.try_get::<String, _>("pipeline_json")?, "pipeline")?,
        created_at: time::parse(&row.try_get::<String, _>("created_at")?)?,
        created_by: row.try_get("created_by")?,
    })
}

impl Catalog {
    /// Stores `pipeline` as the dataset's next revision (1 for the first) and returns it. `NotFound` for an unknown
    /// dataset. Two concurrent calls get distinct revisions: the dataset row is locked (PostgreSQL) or the write
    /// lock is taken up front (SQLite).
    pub async fn set_pipeline(
        &self,
        slug: &Slug,
        pipeline: &Pipeline,
        created_by: &str,
    ) -> Result<PipelineRevision, StoreError> {
        let json = to_json(pipeline, "pipeline")?;
        let now = time::now();
        let mut tx = self.begin_write().await?;
        let sql = format!("SELECT id FROM datasets WHERE slug = $1{}", self.for_update());
        let dataset_id: i64 = sqlx::query(AssertSqlSafe(sql))
            .bind(slug.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound { what: format!("dataset {slug}") })?
            .try_get("id")?;
        let last: i64 =
            sqlx::query("SELECT COALESCE(MAX(revision), 0) AS last FROM dataset_pipelines WHERE dataset_id = $1")
                .bind(dataset_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("last")?;
        let revision = last + 1;
        sqlx::query(
            "INSERT INTO dataset_pipelines (dataset_id, revision, pipeline_json, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(dataset_id)
        .bind(revision)
        .bind(json)
        .bind(time::format(now))
        .bind(created_by)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict { what: format!("pipeline revision {revision} of {slug}") }
            } else {
                e.into()
            }
        })?;
        tx.commit().await?;
        Ok(PipelineRevision { revision, pipeline: pipeline.clone(), created_at: now, created_by: created_by.into() })
    }

    /// The dataset's current pipeline revision (`revision: None`) or a given one; `None` when there is none (the
    /// dataset has never had a pipeline, or not that revision). `NotFound` for an unknown dataset.
    pub async fn pipeline(&self, slug: &Slug, revision: Option<i64>) -> Result<Option<PipelineRevision>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        self.dataset_id(&mut conn, slug).await?;
        let sql = match revision {
            Some(_) => {
                "SELECT p.revision, p.pipeline_json, p.created_at, p.created_by FROM dataset_pipelines p \
                 JOIN datasets d ON d.id = p.dataset_id WHERE d.slug = $1 AND p.revision = $2"
            }
            None => {
                "SELECT p.revision, p.pipeline_json, p.created_at, p.created_by FROM dataset_pipelines p \
                 JOIN datasets d ON d.id = p.dataset_id WHERE d.slug = $1 ORDER BY p.revision DESC LIMIT 1"
            }
        };
        let mut query = sqlx::query(sql).bind(slug.as_str());
        if let Some(revision) = revision {
            query = query.bind(revision);
        }
        query.fetch_optional(&mut *conn).await?.as_ref().map(revision_from_row).transpose()
    }

    /// Every pipeline revision of a dataset, newest first. `NotFound` for an unknown dataset.
    pub async fn pipeline_revisions(&self, slug: &Slug) -> Result<Vec<PipelineRevision>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        self.dataset_id(&mut conn, slug).await?;
        let rows = sqlx::query(
            "SELECT p.revision, p.pipeline_json, p.created_at, p.created_by FROM dataset_pipelines p \
             JOIN datasets d ON d.id = p.dataset_id WHERE d.slug = $1 ORDER BY p.revision DESC",
        )
        .bind(slug.as_str())
        .fetch_all(&mut *conn)
        .await?;
        rows.iter().map(revision_from_row).collect()
    }

    /// How a version was made: its pipeline revision and source files. `NotFound` for an unknown version id.
    pub async fn version_sources(&self, version_id: &str) -> Result<VersionSources, StoreError> {
        let row = sqlx::query("SELECT pipeline_revision, files_json FROM versions WHERE id = $1")
            .bind(version_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound { what: format!("version {version_id}") })?;
        Ok(VersionSources {
            pipeline_revision: row.try_get("pipeline_revision")?,
            files: from_json(&row.try_get::<String, _>("files_json")?, "version files")?,
        })
    }

    pub(super) async fn dataset_id(&self, conn: &mut sqlx::AnyConnection, slug: &Slug) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT id FROM datasets WHERE slug = $1")
            .bind(slug.as_str())
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| StoreError::NotFound { what: format!("dataset {slug}") })?
            .try_get("id")?)
    }
}
