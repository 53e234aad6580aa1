//! Quality: the checks of every new version, the report people read, its history and the publisher dashboard.
//!
//! A publish commits its version with a `quality` artefact marked `pending` and returns; the checks then run in the
//! background, outside any lock (they read the committed Parquet file like any reader), and store their findings
//! with the version. A version therefore serves the moment it is committed, and its report says `pending` until
//! the checks are done. A server that stops mid-check leaves the artefact pending, and the next start runs it again
//! ([`Tapwater::resume_pending_quality`]).
//!
//! The report served is assessed on every read from the stored table findings plus the dataset's metadata *now*
//! and the clock (see `tapwater-quality`), so fixing a description or publishing on time shows at once. Findings'
//! examples are values of the data: callers who may not read the rows get the report without them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tapwater_quality::{AssessInput, LinkCheck, TableChecker, assess, next_due};
use tapwater_store::{QualityHistoryRow, StoredQuality};
use tapwater_types::{
    Actor, ArtefactStatus, Dataset, Frequency, Pipeline, PublisherQualityRow, QualityHistoryEntry, QualityReport,
    RunStatus, Severity, Slug, SourceKind, TransformLog, Version, VersionSources, redact_url,
};

use crate::access::DatasetAction;
use crate::catalog::parse_slug;
use crate::publish::version_prefix;
use crate::{AppError, Tapwater};

/// How long a link check may take per request.
const LINK_TIMEOUT: Duration = Duration::from_secs(30);
/// A download check reads at most this much (enough to prove the file downloads; a bigger one is not re-read whole).
const LINK_READ_LIMIT: u64 = 1 << 30;

/// Everything the assessment of a version reads besides the dataset and the version.
struct Facts {
    sources: VersionSources,
    transform_log: TransformLog,
    pipeline: Pipeline,
    stored: Option<StoredQuality>,
    links: Option<LinkCheck>,
    stored_files_present: bool,
    last_refreshed: Option<DateTime<Utc>>,
}

impl Tapwater {
    /// Runs the checks of a just-committed version in the background.
    pub(crate) fn spawn_quality(&self, slug: Slug, version: Arc<Version>) {
        let app = self.clone();
        tokio::spawn(async move {
            if let Err(err) = app.check_version(&slug, &version).await {
                tracing::warn!(dataset = %slug, seq = version.seq, %err, "quality checks failed");
            }
        });
    }

    /// Checks versions whose checks a stopped process did not finish; returns how many it checked.
    pub async fn resume_pending_quality(&self) -> Result<usize, AppError> {
        let pending = self.inner.catalog.pending_quality(100).await?;
        let mut done = 0;
        for (slug, seq) in pending {
            let Some(version) = self.inner.catalog.get_version(&slug, seq).await? else { continue };
            match self.check_version(&slug, &version).await {
                Ok(_) => done += 1,
                Err(err) => tracing::warn!(dataset = %slug, seq, %err, "quality checks failed"),
            }
        }
        Ok(done)
    }

    /// Runs the table checks of a version and stores what they found (`failed`, with the reason, when the table
    /// cannot be read). Returns the stored result.
    ///
    /// A URL source's address is judged by the source's runs — each one really fetched it, so the run that made a
    /// version, and every later run, say whether it answers and downloads — without asking the agency's server for
    /// the file once more. With `try_links` (an explicit re-check) the address is tried again now, with a HEAD and a
    /// full GET.
    pub(crate) async fn check_version(&self, slug: &Slug, version: &Version) -> Result<StoredQuality, AppError> {
        self.check_version_with(slug, version, false).await
    }

    async fn check_version_with(
        &self,
        slug: &Slug,
        version: &Version,
        try_links: bool,
    ) -> Result<StoredQuality, AppError> {
        let started = Instant::now();
        let dataset = self
            .inner
            .catalog
            .get_dataset(slug)
            .await?
            .ok_or_else(|| AppError::DatasetNotFound { slug: slug.to_string() })?;
        let pipeline = self.inner.catalog.pipeline(slug, None).await?.map(|r| r.pipeline).unwrap_or_default();
        let table = self.check_table(&dataset, &pipeline, version).await;
        let links = if try_links { self.check_links(slug).await } else { None };
        let (status, findings, detail) = match table {
            Ok(findings) => (ArtefactStatus::Ready, findings, None),
            Err(err) => (ArtefactStatus::Failed, Vec::new(), Some(err.to_string())),
        };
        let mut stored = StoredQuality {
            version_id: version.id.clone(),
            seq: version.seq,
            status,
            findings,
            links_json: links
                .as_ref()
                .map(|l| serde_json::to_string(&LinkJson::from(l)))
                .transpose()
                .map_err(|e| AppError::Internal(e.to_string()))?,
            score: None,
            stars: None,
            badge: None,
            errors: 0,
            warnings: 0,
            detail,
            elapsed_ms: None,
            checked_at: Some(Utc::now()),
        };
        // The snapshot kept for the history: the assessment as of the moment the checks ran.
        let mut facts = self.facts(&dataset, version).await?;
        facts.stored = Some(stored.clone());
        let report = assess_facts(&dataset, Some(version), &facts, Utc::now());
        stored.score = Some(report.score);
        stored.stars = Some(report.stars.stars);
        stored.badge = Some(report.badge.level.clone());
        stored.errors = report.count(Severity::Error) as u64;
        stored.warnings = report.count(Severity::Warning) as u64;
        stored.elapsed_ms = Some(started.elapsed().as_millis() as u64);
        self.inner.catalog.put_quality(&stored).await?;
        tracing::info!(
            dataset = %slug, seq = version.seq, score = report.score, stars = report.stars.stars,
            findings = report.findings.len(), ms = stored.elapsed_ms, "quality checked"
        );
        Ok(stored)
    }

    /// Reads the version's Parquet file once, batch by batch, through the table checks (CPU-bound: on a blocking
    /// thread).
    async fn check_table(
        &self,
        dataset: &Dataset,
        pipeline: &Pipeline,
        version: &Version,
    ) -> Result<Vec<tapwater_types::Finding>, AppError> {
        let bytes: Bytes = self.inner.blobs.get_bytes(&version.data_path).await?;
        let (schema, metadata, pipeline) = (version.schema.clone(), dataset.metadata.clone(), pipeline.clone());
        tokio::task::spawn_blocking(move || {
            let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
                .map_err(|e| AppError::Internal(format!("reading the version's Parquet: {e}")))?
                .with_batch_size(64 * 1024)
                .build()
                .map_err(|e| AppError::Internal(format!("reading the version's Parquet: {e}")))?;
            let mut checker = TableChecker::new(&schema, &metadata, &pipeline);
            for batch in reader {
                let batch = batch.map_err(|e| AppError::Internal(format!("reading the version's Parquet: {e}")))?;
                checker.push(&batch);
            }
            Ok(checker.finish())
        })
        .await
        .map_err(|e| AppError::Internal(format!("quality task: {e}")))?
    }

    /// For a dataset fed from a URL: whether the address answers (`linkable`) and the file downloads in full
    /// (`downloadable`), really tried now. `None` for uploaded files and SQL sources.
    async fn check_links(&self, slug: &Slug) -> Option<LinkCheck> {
        let source = self.inner.catalog.get_source(slug).await.ok()??;
        if source.spec.kind != SourceKind::Url {
            return None;
        }
        let url = source.spec.url.clone()?;
        let shown = redact_url(&url);
        let client = match reqwest::Client::builder()
            .user_agent(concat!("tapwater/", env!("CARGO_PKG_VERSION"), " (link check)"))
            .connect_timeout(LINK_TIMEOUT)
            .timeout(LINK_TIMEOUT * 4)
            .build()
        {
            Ok(client) => client,
            Err(err) => {
                let reason = format!("HTTP client: {err}");
                return Some(LinkCheck { url: shown, linkable: Err(reason.clone()), downloadable: Err(reason) });
            }
        };
        let describe = |err: &reqwest::Error| {
            if err.is_timeout() { "timed out".to_string() } else { crate::sources::root_cause(err) }
        };
        // Some servers refuse HEAD (405, 501): the GET below answers for them.
        let head = client.head(&url).send().await.ok().map(|r| r.status());
        let get = client.get(&url).send().await;
        let linkable = match (head, &get) {
            (Some(status), _) if status.is_success() || status.is_redirection() => Ok(status.as_u16()),
            (_, Ok(response)) => Ok(response.status().as_u16()),
            (_, Err(err)) => Err(describe(err)),
        };
        let downloadable = match get {
            Err(err) => Err(describe(&err)),
            Ok(response) if !response.status().is_success() => Err(format!("HTTP {}", response.status().as_u16())),
            Ok(response) => {
                let mut stream = response.bytes_stream();
                let mut read = 0u64;
                let mut failure = None;
                while let Some(chunk) = stream.next().await {
                    match chunk {
                        Ok(chunk) => read += chunk.len() as u64,
                        Err(err) => {
                            failure = Some(describe(&err));
                            break;
                        }
                    }
                    if read >= LINK_READ_LIMIT {
                        break;
                    }
                }
                match failure {
                    Some(reason) => Err(reason),
                    None => Ok(read),
                }
            }
        };
        Some(LinkCheck { url: shown, linkable, downloadable })
    }

    /// What the assessment of `version` reads: source files, transform log, pipeline, stored checks, presence of
    /// the stored files, when the data was last known current.
    async fn facts(&self, dataset: &Dataset, version: &Version) -> Result<Facts, AppError> {
        let catalog = &self.inner.catalog;
        let sources = catalog.version_sources(&version.id).await?;
        let log_path = format!("{}transforms.json", version_prefix(&version.id));
        let transform_log = match self.inner.blobs.head(&log_path).await? {
            Some(_) => serde_json::from_slice(&self.inner.blobs.get_bytes(&log_path).await?)
                .map_err(|e| AppError::Internal(format!("{log_path}: {e}")))?,
            None => TransformLog::default(),
        };
        let pipeline = catalog.pipeline(&dataset.slug, None).await?.map(|r| r.pipeline).unwrap_or_default();
        let stored = catalog.quality(&version.id).await?;
        // The newest word on a URL source's address: an explicit link check, or the last source run that ended.
        let tried = stored.as_ref().and_then(|s| {
            let check = s.links_json.as_deref().and_then(|text| serde_json::from_str::<LinkJson>(text).ok())?;
            Some((s.checked_at?, LinkCheck::from(check)))
        });
        let runs = catalog.source_runs(&dataset.slug, 20).await.unwrap_or_default();
        let from_run = match self.inner.catalog.get_source(&dataset.slug).await? {
            Some(source) if source.spec.kind == SourceKind::Url => {
                let url = redact_url(source.spec.url.as_deref().unwrap_or(""));
                runs.iter()
                    .find(|r| r.status.is_finished())
                    .and_then(|run| Some((run.finished_at?, link_of_run(url, run))))
            }
            _ => None,
        };
        let links = match (tried, from_run) {
            (Some((at, check)), Some((run_at, run))) => Some(if run_at > at { run } else { check }),
            (Some((_, check)), None) => Some(check),
            (None, Some((_, run))) => Some(run),
            (None, None) => None,
        };
        let mut paths: Vec<&str> = sources.files.iter().map(|f| f.path.as_str()).collect();
        paths.push(&version.data_path);
        paths.push(&version.original_path);
        let mut stored_files_present = true;
        for path in paths {
            if self.inner.blobs.head(path).await?.is_none() {
                stored_files_present = false;
                break;
            }
        }
        // A URL source that found the file unchanged after this version was made keeps the data current.
        let mut last_refreshed = Some(version.created_at);
        let unchanged = runs
            .iter()
            .filter(|r| r.status == RunStatus::Unchanged)
            .filter_map(|r| r.finished_at)
            .filter(|t| *t > version.created_at)
            .max();
        if unchanged.is_some() {
            last_refreshed = unchanged;
        }
        Ok(Facts { sources, transform_log, pipeline, stored, links, stored_files_present, last_refreshed })
    }

    /// The report of `version` (`None`: before the first publish) assessed at `now`.
    async fn assess_now(
        &self,
        dataset: &Dataset,
        version: Option<&Version>,
        now: DateTime<Utc>,
    ) -> Result<QualityReport, AppError> {
        let facts = match version {
            Some(version) => self.facts(dataset, version).await?,
            None => Facts {
                sources: VersionSources::default(),
                transform_log: TransformLog::default(),
                pipeline: self
                    .inner
                    .catalog
                    .pipeline(&dataset.slug, None)
                    .await?
                    .map(|r| r.pipeline)
                    .unwrap_or_default(),
                stored: None,
                links: None,
                stored_files_present: false,
                last_refreshed: None,
            },
        };
        Ok(assess_facts(dataset, version, &facts, now))
    }

    /// The quality report of version `seq` (the current version if `None`), assessed now. Findings' examples are
    /// withheld from callers who may not read the rows.
    pub async fn quality_report(&self, actor: &Actor, slug: &str, seq: Option<i64>) -> Result<QualityReport, AppError> {
        let dataset = self.visible_dataset(actor, slug).await?;
        let version = match seq {
            Some(seq) => Some(self.version_info(actor, slug, seq).await?),
            None => self.inner.catalog.current_version(&dataset.slug).await?,
        };
        let mut report = self.assess_now(&dataset, version.as_ref(), Utc::now()).await?;
        if !self.may_read_rows(actor, slug).await? {
            report.withhold_examples();
        } else if report.findings.iter().any(|f| !f.examples.is_empty()) {
            // Examples are cells of the data: on an audited dataset, showing them is a read like any other.
            let access = self.dataset_access(slug).await?;
            let shown = report.findings.iter().map(|f| f.examples.len() as u64).sum();
            self.audit_read(actor, &access, "read.quality", report.version, "quality report examples".into(), shown)
                .await?;
        }
        Ok(report)
    }

    /// Runs the checks of version `seq` (the current one if `None`) again now, waits for them and returns the
    /// report. For the CLI (`tapwater quality --recheck`) and for a one-shot process whose checks never ran.
    pub async fn recheck_quality(
        &self,
        actor: &Actor,
        slug: &str,
        seq: Option<i64>,
    ) -> Result<QualityReport, AppError> {
        self.authorize_dataset(actor, slug, DatasetAction::Edit).await?;
        let parsed = parse_slug(slug, "slug")?;
        let version = match seq {
            Some(seq) => self.inner.catalog.get_version(&parsed, seq).await?,
            None => self.inner.catalog.current_version(&parsed).await?,
        };
        if let Some(version) = version {
            self.check_version_with(&parsed, &version, true).await?;
        }
        self.quality_report(actor, slug, seq).await
    }

    /// After the declared metadata changed what the table checks look for (primary key, constraints, code lists),
    /// checks the current version again in the background.
    pub(crate) async fn recheck_current(&self, slug: &Slug) {
        match self.inner.catalog.current_version(slug).await {
            Ok(Some(version)) if self.inner.config.quality_in_background => {
                self.spawn_quality(slug.clone(), Arc::new(version))
            }
            Ok(Some(version)) => {
                if let Err(err) = self.check_version(slug, &version).await {
                    tracing::warn!(dataset = %slug, %err, "quality checks failed");
                }
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(dataset = %slug, %err, "could not re-check quality"),
        }
    }

    /// Every version's score, stars, badge and counts as assessed when its checks ran, newest first.
    pub async fn quality_history(&self, actor: &Actor, slug: &str) -> Result<Vec<QualityHistoryEntry>, AppError> {
        self.authorize_dataset(actor, slug, DatasetAction::View).await?;
        let parsed = parse_slug(slug, "slug").map_err(|_| AppError::DatasetNotFound { slug: slug.to_string() })?;
        let rows = self.inner.catalog.quality_history(&parsed).await?;
        Ok(rows.into_iter().map(history_entry).collect())
    }

    /// The quality of every dataset of a publisher the caller can see, what to fix first at the top: errors, then
    /// overdue updates, then the lowest score.
    pub async fn publisher_quality(
        &self,
        actor: &Actor,
        publisher: &str,
    ) -> Result<Vec<PublisherQualityRow>, AppError> {
        let publisher_slug = self.organisation(publisher).await?.slug;
        let now = Utc::now();
        let mut rows = Vec::new();
        for dataset in self.visible_datasets(actor, Some(publisher_slug)).await? {
            let version = self.inner.catalog.current_version(&dataset.slug).await?;
            let report = self.assess_now(&dataset, version.as_ref(), now).await?;
            rows.push(dashboard_row(&dataset, version.as_ref(), &report));
        }
        rows.sort_by(|a, b| {
            b.errors
                .cmp(&a.errors)
                .then(b.overdue.cmp(&a.overdue))
                .then(a.score.cmp(&b.score))
                .then(b.warnings.cmp(&a.warnings))
                .then(a.dataset.cmp(&b.dataset))
        });
        Ok(rows)
    }
}

/// What a finished source run says of its address: it answered (its HTTP status), and the file downloaded (its
/// bytes; a `304 Not Modified` proves the file the version holds is still the one served).
fn link_of_run(url: String, run: &tapwater_types::SourceRun) -> LinkCheck {
    let reason = || match &run.error {
        Some(error) => error.message.clone(),
        None => "the source run failed".to_string(),
    };
    let linkable = match run.http_status {
        Some(status) => Ok(status),
        None => Err(reason()),
    };
    let downloadable = match (run.status, run.http_status) {
        (RunStatus::Failed, _) => Err(match run.http_status {
            Some(status) => format!("HTTP {status}"),
            None => reason(),
        }),
        (_, Some(304)) => Ok(run.bytes.unwrap_or(0).max(1)),
        _ => Ok(run.bytes.unwrap_or(0)),
    };
    LinkCheck { url, linkable, downloadable }
}

/// Judges a version from what [`Tapwater::facts`] read.
fn assess_facts(dataset: &Dataset, version: Option<&Version>, facts: &Facts, now: DateTime<Utc>) -> QualityReport {
    let (table_findings, table_status, checked_at) = match &facts.stored {
        Some(stored) => (Some(stored.findings.as_slice()), stored.status.as_str(), stored.checked_at),
        None => (None, "pending", None),
    };
    assess(&AssessInput {
        dataset,
        version,
        sources: version.map(|_| &facts.sources),
        transform_log: version.map(|_| &facts.transform_log),
        pipeline: &facts.pipeline,
        table_findings,
        table_status,
        checked_at,
        links: facts.links.as_ref(),
        stored_files_present: facts.stored_files_present,
        last_refreshed: facts.last_refreshed,
        now,
    })
}

fn history_entry(row: QualityHistoryRow) -> QualityHistoryEntry {
    match row.quality {
        Some(q) => QualityHistoryEntry {
            version: row.seq,
            created_at: row.created_at,
            status: q.status.as_str().to_string(),
            score: q.score,
            stars: q.stars,
            badge: q.badge,
            errors: q.errors,
            warnings: q.warnings,
        },
        None => QualityHistoryEntry {
            version: row.seq,
            created_at: row.created_at,
            status: "pending".to_string(),
            score: None,
            stars: None,
            badge: None,
            errors: 0,
            warnings: 0,
        },
    }
}

fn dashboard_row(dataset: &Dataset, version: Option<&Version>, report: &QualityReport) -> PublisherQualityRow {
    let overdue = report.checks.iter().any(|c| c.code == "timeliness" && c.outcome == "fail");
    let next = match (dataset.frequency, version) {
        (Some(frequency), Some(v)) if frequency != Frequency::Irregular => next_due(frequency, v.created_at),
        _ => None,
    };
    let mut open: Vec<&tapwater_types::Finding> =
        report.findings.iter().filter(|f| f.severity != Severity::Info).collect();
    open.sort_by_key(|f| f.severity);
    let mut open_findings: Vec<String> = Vec::new();
    for finding in open {
        if !open_findings.contains(&finding.code) {
            open_findings.push(finding.code.clone());
        }
    }
    PublisherQualityRow {
        dataset: dataset.slug.to_string(),
        title: dataset.title.clone(),
        version: version.map(|v| v.seq),
        status: if version.is_some() { report.status.clone() } else { "unpublished".to_string() },
        score: report.score,
        stars: report.stars.stars,
        badge: report.badge.level.clone(),
        errors: report.count(Severity::Error) as u64,
        warnings: report.count(Severity::Warning) as u64,
        overdue,
        last_published: version.map(|v| v.created_at),
        next_due: next,
        open_findings,
    }
}

/// The header of the dashboard's CSV export.
pub const PUBLISHER_QUALITY_CSV_HEADER: &[&str] = &[
    "dataset",
    "title",
    "version",
    "status",
    "score",
    "stars",
    "badge",
    "errors",
    "warnings",
    "overdue",
    "last_published",
    "next_due",
    "open_findings",
];

/// One dashboard row as CSV fields, in the order of [`PUBLISHER_QUALITY_CSV_HEADER`].
pub fn publisher_quality_csv_record(row: &PublisherQualityRow) -> Vec<String> {
    let time =
        |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).unwrap_or_default();
    vec![
        row.dataset.clone(),
        row.title.clone(),
        row.version.map(|v| v.to_string()).unwrap_or_default(),
        row.status.clone(),
        row.score.to_string(),
        row.stars.to_string(),
        row.badge.clone(),
        row.errors.to_string(),
        row.warnings.to_string(),
        row.overdue.to_string(),
        time(row.last_published),
        time(row.next_due),
        row.open_findings.join(" "),
    ]
}

/// How a link check is stored with the version (the quality crate's `LinkCheck` has `Result`s, which JSON spells
/// as two optional members each).
#[derive(serde::Serialize, serde::Deserialize)]
struct LinkJson {
    url: String,
    status: Option<u16>,
    link_error: Option<String>,
    bytes: Option<u64>,
    download_error: Option<String>,
}

impl From<&LinkCheck> for LinkJson {
    fn from(check: &LinkCheck) -> LinkJson {
        LinkJson {
            url: check.url.clone(),
            status: check.linkable.as_ref().ok().copied(),
            link_error: check.linkable.as_ref().err().cloned(),
            bytes: check.downloadable.as_ref().ok().copied(),
            download_error: check.downloadable.as_ref().err().cloned(),
        }
    }
}

impl From<LinkJson> for LinkCheck {
    fn from(json: LinkJson) -> LinkCheck {
        LinkCheck {
            url: json.url,
            linkable: match (json.status, json.link_error) {
                (Some(status), _) => Ok(status),
                (None, error) => Err(error.unwrap_or_default()),
            },
            downloadable: match (json.bytes, json.download_error) {
                (Some(bytes), _) => Ok(bytes),
                (None, error) => Err(error.unwrap_or_default()),
            },
        }
    }
}
