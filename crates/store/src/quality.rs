//! Dataset metadata documents and the quality report of each version.
//!
//! A version's quality report is an immutable addition written after the version: the publish lists a `quality`
//! artefact as `pending` in its own transaction, the checks then run outside any lock and [`Catalog::put_quality`]
//! stores what they found and marks the artefact `ready` (or `failed`) in one transaction. The findings of the table
//! checks are kept as JSON and never interpreted here.

use sqlx::{AssertSqlSafe, Row};
use tapwater_types::{ArtefactStatus, Dataset, DatasetMetadata, Finding, Slug};

use super::{Catalog, from_json, load_dataset, to_json};
use crate::{StoreError, time};

/// What the checks of one version found, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredQuality {
    pub version_id: String,
    pub seq: i64,
    /// `ready` or `failed`.
    pub status: ArtefactStatus,
    /// The table checks' findings.
    pub findings: Vec<Finding>,
    /// The link check of a URL source, as JSON (the quality crate's shape), when there was one.
    pub links_json: Option<String>,
    /// Score, stars and badge as assessed when the checks ran.
    pub score: Option<u8>,
    pub stars: Option<u8>,
    pub badge: Option<String>,
    pub errors: u64,
    pub warnings: u64,
    /// Why the checks failed.
    pub detail: Option<String>,
    pub elapsed_ms: Option<u64>,
    pub checked_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// One version of a dataset with its stored quality summary (absent while pending).
#[derive(Debug, Clone, PartialEq)]
pub struct QualityHistoryRow {
    pub seq: i64,
    pub version_id: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub quality: Option<StoredQuality>,
}

const QUALITY_COLUMNS: &str = "q.version_id, q.seq, q.status, q.findings_json, q.links_json, q.score, q.stars, \
     q.badge, q.errors, q.warnings, q.detail, q.elapsed_ms, q.checked_at";

fn quality_from_row(row: &sqlx::any::AnyRow) -> Result<StoredQuality, StoreError> {
    let status: String = row.try_get("status")?;
    let small = |name: &str| -> Result<Option<u8>, StoreError> {
        row.try_get::<Option<i64>, _>(name)?
            .map(|v| u8::try_from(v).map_err(|_| StoreError::Corrupt(format!("quality {name} {v} out of range"))))
            .transpose()
    };
    let count = |name: &str| -> Result<u64, StoreError> {
        let v: i64 = row.try_get(name)?;
        u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("quality {name} {v} is negative")))
    };
    Ok(StoredQuality {
        version_id: row.try_get("version_id")?,
        seq: row.try_get("seq")?,
        status: ArtefactStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown quality status {status:?}")))?,
        findings: match row.try_get::<Option<String>, _>("findings_json")? {
            Some(text) => from_json(&text, "quality findings")?,
            None => Vec::new(),
        },
        links_json: row.try_get("links_json")?,
        score: small("score")?,
        stars: small("stars")?,
        badge: row.try_get("badge")?,
        errors: count("errors")?,
        warnings: count("warnings")?,
        detail: row.try_get("detail")?,
        elapsed_ms: row.try_get::<Option<i64>, _>("elapsed_ms")?.and_then(|v| u64::try_from(v).ok()),
        checked_at: row.try_get::<Option<String>, _>("checked_at")?.map(|t| time::parse(&t)).transpose()?,
    })
}

impl Catalog {
    /// Replaces a dataset's metadata document and bumps its `updated_at`. `NotFound` for an unknown dataset.
    pub async fn set_metadata(&self, slug: &Slug, metadata: &DatasetMetadata) -> Result<Dataset, StoreError> {
        let json = to_json(metadata, "dataset metadata")?;
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query("UPDATE datasets SET metadata_json = $1, updated_at = $2 WHERE slug = $3")
            .bind(json)
            .bind(time::format(time::now()))
            .bind(slug.as_str())
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: format!("dataset {slug}") });
        }
        let dataset = load_dataset(&mut tx, slug)
            .await?
            .ok_or_else(|| StoreError::NotFound { what: format!("dataset {slug}") })?;
        tx.commit().await?;
        Ok(dataset)
    }

    /// Stores what the checks of a version found and marks its `quality` artefact with the same status, in one
    /// transaction. Writing again replaces the report (a re-run after a crash). `NotFound` for an unknown version.
    pub async fn put_quality(&self, report: &StoredQuality) -> Result<(), StoreError> {
        let findings = to_json(&report.findings, "quality findings")?;
        let now = time::format(time::now());
        let mut tx = self.begin_write().await?;
        let dataset_id: i64 = sqlx::query("SELECT dataset_id FROM versions WHERE id = $1")
            .bind(report.version_id.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound { what: format!("version {}", report.version_id) })?
            .try_get("dataset_id")?;
        let to_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        sqlx::query(
            "INSERT INTO quality_reports (version_id, dataset_id, seq, status, findings_json, links_json, score, \
             stars, badge, errors, warnings, detail, elapsed_ms, created_at, checked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT (version_id) DO UPDATE SET status = excluded.status, findings_json = excluded.findings_json, \
             links_json = excluded.links_json, score = excluded.score, stars = excluded.stars, badge = excluded.badge, \
             errors = excluded.errors, warnings = excluded.warnings, detail = excluded.detail, \
             elapsed_ms = excluded.elapsed_ms, checked_at = excluded.checked_at",
        )
        .bind(report.version_id.as_str())
        .bind(dataset_id)
        .bind(report.seq)
        .bind(report.status.as_str())
        .bind(findings)
        .bind(report.links_json.as_deref())
        .bind(report.score.map(i64::from))
        .bind(report.stars.map(i64::from))
        .bind(report.badge.as_deref())
        .bind(to_i64(report.errors))
        .bind(to_i64(report.warnings))
        .bind(report.detail.as_deref())
        .bind(report.elapsed_ms.map(to_i64))
        .bind(now.as_str())
        .bind(report.checked_at.map(time::format))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO version_artefacts (version_id, kind, status, detail, updated_at) \
             VALUES ($1, 'quality', $2, $3, $4) \
             ON CONFLICT (version_id, kind) DO UPDATE SET status = excluded.status, detail = excluded.detail, \
             updated_at = excluded.updated_at",
        )
        .bind(report.version_id.as_str())
        .bind(report.status.as_str())
        .bind(report.detail.as_deref())
        .bind(now.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The stored quality report of a version; `None` while its checks are pending.
    pub async fn quality(&self, version_id: &str) -> Result<Option<StoredQuality>, StoreError> {
        let sql = format!("SELECT {QUALITY_COLUMNS} FROM quality_reports q WHERE q.version_id = $1");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(version_id).fetch_optional(&self.pool).await?;
        row.as_ref().map(quality_from_row).transpose()
    }

    /// Every version of a dataset, newest first, with its stored quality (for the trend a publisher watches).
    /// `NotFound` for an unknown dataset.
    pub async fn quality_history(&self, slug: &Slug) -> Result<Vec<QualityHistoryRow>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        self.dataset_id(&mut conn, slug).await?;
        let sql = format!(
            "SELECT v.id AS vid, v.seq AS vseq, v.created_at AS vcreated, q.version_id AS qid, {QUALITY_COLUMNS} \
             FROM versions v JOIN datasets d ON d.id = v.dataset_id \
             LEFT JOIN quality_reports q ON q.version_id = v.id WHERE d.slug = $1 ORDER BY v.seq DESC"
        );
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(slug.as_str()).fetch_all(&mut *conn).await?;
        rows.iter()
            .map(|row| {
                let quality = match row.try_get::<Option<String>, _>("qid")? {
                    Some(_) => Some(quality_from_row(row)?),
                    None => None,
                };
                Ok(QualityHistoryRow {
                    seq: row.try_get("vseq")?,
                    version_id: row.try_get("vid")?,
                    created_at: time::parse(&row.try_get::<String, _>("vcreated")?)?,
                    quality,
                })
            })
            .collect()
    }

    /// Ids of versions whose `quality` artefact is still pending, oldest first: checks a stopped server did not
    /// finish, to run again at start-up.
    pub async fn pending_quality(&self, limit: u32) -> Result<Vec<(Slug, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.slug, v.seq FROM version_artefacts a JOIN versions v ON v.id = a.version_id \
             JOIN datasets d ON d.id = v.dataset_id WHERE a.kind = 'quality' AND a.status = 'pending' \
             ORDER BY a.updated_at, v.id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let slug: String = row.try_get("slug")?;
                Ok((super::parse_slug(&slug)?, row.try_get("seq")?))
            })
            .collect()
    }
}
