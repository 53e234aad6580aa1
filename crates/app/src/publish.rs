//! Publishing: an uploaded file becomes an immutable version.
//!
//! The order of steps is what makes a publish safe to interrupt: the upload is staged to a local temporary file
//! (hashed on the way), converted to Parquet, then the original, the Parquet file and the schema are written to the
//! version store under a fresh version id, and only then does one catalog transaction make the version current. A
//! crash, `kill -9` or a bad file at any earlier step leaves the previous version serving; the half-written files
//! sit under an id no catalog row points to, invisible, and are removed on failure (or by a later clean-up).
//!
//! A publish may hold several files (a yearly series) and may `append` to the current version: the new version is
//! then the previous version's source files followed by the new ones, ingested together through the dataset's
//! current pipeline, so types stay consistent and the transform log covers every row. Each version records the
//! pipeline revision it used, its source files and its transform log (`versions/{id}/transforms.json`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tapwater_ingest::{IngestOptions, IngestPass, IngestProgress, InputFile, ingest_files, sniff};
use tapwater_store::{NewVersion, new_version_id};
use tapwater_types::{
    Actor, ArtefactStatus, DatasetInput, DatasetPatch, OriginalFile, Pipeline, PublishMode, SourceFile, Version,
    VersionSources,
};
use tokio::io::AsyncWriteExt;

use crate::access::DatasetAction;
use crate::catalog::parse_slug;
use crate::{AppError, Tapwater, staging_dir};

/// A file ready to publish: on local disk, hashed, measured.
pub struct StagedUpload {
    location: StagedLocation,
    pub filename: String,
    pub sha256: String,
    pub bytes: u64,
}

enum StagedLocation {
    /// An upload we own: deleted when the value is dropped.
    Temporary(tempfile::TempPath),
    /// A file the operator named on the command line: read, never touched.
    Borrowed(PathBuf),
}

impl StagedUpload {
    pub fn path(&self) -> &Path {
        match &self.location {
            StagedLocation::Temporary(p) => p,
            StagedLocation::Borrowed(p) => p,
        }
    }
}

/// What to do besides publishing.
#[derive(Debug, Clone, Default)]
pub struct PublishOptions {
    /// Create the dataset with this metadata if it does not exist yet (the CLI's `publish --dataset NEW`).
    pub create_if_missing: Option<DatasetInput>,
    /// Update the dataset's metadata in the same operation.
    pub update: Option<DatasetPatch>,
    /// The file is a table made by a program (a database query): exactly one header row, and no title, footnote,
    /// total or grouped rows to look for — a NULL stays NULL ([`tapwater_types::exact_table_pipeline`]).
    pub exact_table: bool,
}

/// The files of a publish and how they become a version.
#[derive(Default)]
pub struct PublishInput {
    /// One file, or several of one table (a yearly series, merged in this order with a source-file column).
    pub uploads: Vec<StagedUpload>,
    /// `replace` (default): the version holds these files' rows; `append`: the previous version's files first.
    pub mode: PublishMode,
    /// Made the dataset's pipeline (a new revision when it differs from the current one) before publishing.
    pub pipeline: Option<Pipeline>,
}

impl PublishInput {
    /// One file, replacing, with the dataset's current pipeline.
    pub fn file(upload: StagedUpload) -> PublishInput {
        PublishInput { uploads: vec![upload], ..PublishInput::default() }
    }
}

/// The step a publish is at, for progress bars and job status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishStage {
    Hashing,
    Inferring,
    Converting,
    Storing,
    Committing,
}

impl PublishStage {
    /// Machine name, as shown in a job's `stage`.
    pub fn name(self) -> &'static str {
        match self {
            PublishStage::Hashing => "hashing",
            PublishStage::Inferring => "inferring",
            PublishStage::Converting => "converting",
            PublishStage::Storing => "storing",
            PublishStage::Committing => "committing",
        }
    }

    /// Bilingual label for progress bars.
    pub fn label(self) -> &'static str {
        match self {
            PublishStage::Hashing => "hashing / 計算雜湊",
            PublishStage::Inferring => "inferring types / 推斷欄位型別",
            PublishStage::Converting => "converting / 轉換",
            PublishStage::Storing => "storing / 儲存",
            PublishStage::Committing => "committing / 提交",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct PublishProgress {
    pub stage: PublishStage,
    pub done: u64,
    pub total: u64,
}

pub type ProgressFn = Arc<dyn Fn(PublishProgress) + Send + Sync>;

impl Tapwater {
    /// Streams an upload to a temporary file in the data directory, hashing it and enforcing the size limit. The
    /// body is never held in memory whole.
    pub async fn stage_upload<S, E>(&self, filename: &str, mut body: S) -> Result<StagedUpload, AppError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let limit = self.inner.config.max_upload_bytes;
        let temp = tempfile::Builder::new()
            .prefix("upload-")
            .tempfile_in(staging_dir(&self.inner.config.data_dir))?
            .into_temp_path();
        let mut file = tokio::fs::File::create(&temp).await?;
        let mut hasher = Sha256::new();
        let mut bytes = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                AppError::invalid(
                    "invalid_body",
                    "file",
                    format!("The upload was interrupted: {e}"),
                    format!("上傳中斷：{e}"),
                )
            })?;
            bytes += chunk.len() as u64;
            if bytes > limit {
                return Err(AppError::PayloadTooLarge { limit });
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        file.sync_all().await?;
        Ok(StagedUpload {
            location: StagedLocation::Temporary(temp),
            filename: sanitize_filename(filename),
            sha256: hex::encode(hasher.finalize()),
            bytes,
        })
    }

    /// Stages a local file for publishing without copying it (the CLI).
    pub async fn stage_local_file(&self, path: &Path, progress: ProgressFn) -> Result<StagedUpload, AppError> {
        let owned = path.to_path_buf();
        let (sha256, bytes) = tokio::task::spawn_blocking(move || hash_file(&owned, &progress))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))??;
        let filename = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "upload".into());
        Ok(StagedUpload {
            location: StagedLocation::Borrowed(path.to_path_buf()),
            filename: sanitize_filename(&filename),
            sha256,
            bytes,
        })
    }

    /// Whether `actor` may publish into `slug` and the dataset exists — checked before an upload is read, so a
    /// refused client does not send gigabytes first.
    pub async fn check_publish(&self, actor: &Actor, slug: &str) -> Result<(), AppError> {
        self.authorize_dataset(actor, slug, DatasetAction::Publish).await?;
        Ok(())
    }

    /// Publishes a staged file as a new immutable version of `slug` and makes it current.
    pub async fn publish_version(
        &self,
        actor: &Actor,
        slug: &str,
        upload: StagedUpload,
        options: PublishOptions,
        progress: ProgressFn,
    ) -> Result<Arc<Version>, AppError> {
        self.publish(actor, slug, PublishInput::file(upload), options, progress).await
    }

    /// Publishes staged files as a new immutable version of `slug` (see [`PublishInput`]) and makes it current.
    pub async fn publish(
        &self,
        actor: &Actor,
        slug: &str,
        input: PublishInput,
        options: PublishOptions,
        progress: ProgressFn,
    ) -> Result<Arc<Version>, AppError> {
        let parsed = parse_slug(slug, "slug")?;
        // An existing dataset needs the right to publish into it; a missing one, with `create_if_missing`, the right
        // to create it (checked by create_dataset below).
        match self.authorize_dataset(actor, slug, DatasetAction::Publish).await {
            Ok(_) => {}
            Err(AppError::DatasetNotFound { .. }) if options.create_if_missing.is_some() => {
                if self.inner.catalog.get_dataset(&parsed).await?.is_some() {
                    // It exists but the actor may not see it (a draft of another organisation).
                    return Err(AppError::DatasetNotFound { slug: slug.to_string() });
                }
            }
            Err(err) => return Err(err),
        }
        if input.uploads.is_empty() {
            return Err(AppError::invalid(
                "invalid_body",
                "file",
                "A publish needs at least one file.",
                "發布至少需要一個檔案。",
            ));
        }
        if let Some(pipeline) = &input.pipeline {
            crate::pipeline::validate_pipeline(pipeline)?;
        }
        if self.inner.catalog.get_dataset(&parsed).await?.is_none() {
            match options.create_if_missing {
                Some(dataset) => {
                    self.create_dataset(actor, DatasetInput { slug: slug.to_string(), ..dataset }).await?;
                }
                None => return Err(AppError::DatasetNotFound { slug: slug.to_string() }),
            }
        }
        let exact_table = options.exact_table;
        if let Some(patch) = options.update {
            self.update_dataset(actor, slug, patch).await?;
        }
        if let Some(pipeline) = input.pipeline {
            self.set_pipeline(actor, slug, pipeline).await?;
        }
        // Every publish uses the dataset's current pipeline, and the version says which revision.
        let revision = self.inner.catalog.pipeline(&parsed, None).await?;

        // Refuse formats we cannot read before doing any heavy work.
        for upload in &input.uploads {
            let prefix = read_prefix(upload.path(), 64 * 1024)?;
            sniff(&prefix).map_err(|e| AppError::from(e.in_file(&upload.filename)))?;
        }
        let carried = match input.mode {
            PublishMode::Replace => Vec::new(),
            PublishMode::Append => self.previous_files(&parsed).await?,
        };

        let version_id = new_version_id();
        let plan = Plan {
            uploads: &input.uploads,
            carried,
            pipeline_revision: revision.as_ref().map(|r| r.revision),
            pipeline: {
                let pipeline = revision.map(|r| r.pipeline).unwrap_or_default();
                if exact_table { tapwater_types::exact_table_pipeline(pipeline) } else { pipeline }
            },
        };
        let result = self.write_and_commit(actor, &parsed, &version_id, plan, progress).await;
        if result.is_err() {
            // Nothing points at these files; remove them so a failed publish leaves no trace.
            if let Err(err) = self.inner.blobs.delete_prefix(&version_prefix(&version_id)).await {
                tracing::warn!(%err, version = %version_id, "could not remove files of a failed publish");
            }
        }
        result
    }

    /// The source files of the current version, for an append (empty before the first publish). A version
    /// published before versions listed their files has one: its original.
    async fn previous_files(&self, slug: &tapwater_types::Slug) -> Result<Vec<SourceFile>, AppError> {
        let Some(previous) = self.inner.catalog.current_version(slug).await? else { return Ok(Vec::new()) };
        let sources = self.inner.catalog.version_sources(&previous.id).await?;
        if !sources.files.is_empty() {
            return Ok(sources.files);
        }
        Ok(vec![SourceFile {
            name: previous.original.filename.clone(),
            format: previous.original.format.clone(),
            encoding: previous.original.encoding.clone(),
            sha256: previous.original.sha256.clone(),
            bytes: previous.original.bytes,
            path: previous.original_path.clone(),
            rows: previous.row_count,
        }])
    }

    /// Copies a stored file to a local temporary file, to be read again (an append re-ingests earlier files).
    async fn fetch_blob(&self, path: &str, staging: &Path) -> Result<tempfile::TempPath, AppError> {
        let temp = tempfile::Builder::new().prefix("carried-").tempfile_in(staging)?.into_temp_path();
        let (_, mut stream) = self.inner.blobs.get_stream(path).await?;
        let mut file = tokio::fs::File::create(&temp).await?;
        while let Some(chunk) = stream.next().await {
            file.write_all(&chunk?).await?;
        }
        file.flush().await?;
        Ok(temp)
    }

    async fn write_and_commit(
        &self,
        actor: &Actor,
        slug: &tapwater_types::Slug,
        version_id: &str,
        plan: Plan<'_>,
        progress: ProgressFn,
    ) -> Result<Arc<Version>, AppError> {
        let staging = staging_dir(&self.inner.config.data_dir);
        let parquet_path = tempfile::Builder::new().prefix("parquet-").tempfile_in(&staging)?.into_temp_path();

        // Earlier files first (an append), then the new ones, each under the name it was published with: the
        // source-file column of a merged version says which file a row came from.
        let mut carried_paths = Vec::with_capacity(plan.carried.len());
        for file in &plan.carried {
            carried_paths.push(self.fetch_blob(&file.path, &staging).await?);
        }
        let mut inputs: Vec<InputFile> = plan
            .carried
            .iter()
            .zip(&carried_paths)
            .map(|(file, path)| InputFile::named(path.to_path_buf(), file.name.clone()))
            .collect();
        inputs.extend(plan.uploads.iter().map(|u| InputFile::named(u.path(), u.filename.clone())));

        // Type inference and conversion are CPU-bound and synchronous: keep them off the async workers.
        let target = parquet_path.to_path_buf();
        let ingest_progress = progress.clone();
        let options = IngestOptions {
            pipeline: plan.pipeline.clone(),
            scratch_dir: Some(staging.clone()),
            ..IngestOptions::default()
        };
        let report = tokio::task::spawn_blocking(move || {
            let out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&target)?);
            let mut on_progress = |p: IngestProgress| {
                let stage = match p.pass {
                    IngestPass::Inferring => PublishStage::Inferring,
                    IngestPass::Converting => PublishStage::Converting,
                };
                ingest_progress(PublishProgress { stage, done: p.bytes_read, total: p.total_bytes });
            };
            let report = ingest_files(&inputs, out, &options, &mut on_progress).map_err(|e| match e {
                // One file: the caller knows which; keep the error as it was.
                tapwater_ingest::IngestError::InFile { error, .. } if inputs.len() == 1 => AppError::Ingest(*error),
                e => AppError::Ingest(e),
            });
            drop(inputs);
            report
        })
        .await
        .map_err(|e| AppError::Internal(format!("ingest task: {e}")))??;
        drop(carried_paths);

        let stored_files = plan.uploads.len() + 3;
        progress(PublishProgress { stage: PublishStage::Storing, done: 0, total: stored_files as u64 });
        let prefix = version_prefix(version_id);
        let original_path = format!("{prefix}original");
        let data_path = format!("{prefix}data.parquet");
        let mut files = plan.carried.clone();
        for (i, upload) in plan.uploads.iter().enumerate() {
            // The first new file is "the original" of the version (as before series existed); others sit beside it.
            let path = if i == 0 { original_path.clone() } else { format!("{prefix}files/{i}") };
            self.inner.blobs.put_file(&path, upload.path()).await?;
            let found = report.files.get(plan.carried.len() + i);
            files.push(SourceFile {
                name: upload.filename.clone(),
                format: found.map(|f| f.format.to_string()).unwrap_or_default(),
                encoding: found.map(|f| f.encoding.to_string()).unwrap_or_default(),
                sha256: upload.sha256.clone(),
                bytes: upload.bytes,
                path,
                rows: 0,
            });
            progress(PublishProgress { stage: PublishStage::Storing, done: i as u64 + 1, total: stored_files as u64 });
        }
        for (file, found) in files.iter_mut().zip(&report.files) {
            file.rows = found.rows;
        }
        let data_bytes = self.inner.blobs.put_file(&data_path, &parquet_path).await?;
        let schema_json = serde_json::to_vec_pretty(&report.schema).map_err(|e| AppError::Internal(e.to_string()))?;
        self.inner.blobs.put_bytes(&format!("{prefix}schema.json"), Bytes::from(schema_json)).await?;
        let log_json =
            serde_json::to_vec_pretty(&report.transform_log).map_err(|e| AppError::Internal(e.to_string()))?;
        self.inner.blobs.put_bytes(&format!("{prefix}transforms.json"), Bytes::from(log_json)).await?;
        progress(PublishProgress {
            stage: PublishStage::Storing,
            done: stored_files as u64,
            total: stored_files as u64,
        });

        progress(PublishProgress { stage: PublishStage::Committing, done: 0, total: 1 });
        let first = &plan.uploads[0];
        let first_found = report.files.get(plan.carried.len());
        let new = NewVersion {
            id: version_id.to_string(),
            created_at: chrono::Utc::now(),
            row_count: report.row_count,
            schema: report.schema,
            original: OriginalFile {
                filename: first.filename.clone(),
                format: first_found.map(|f| f.format).unwrap_or(report.sniffed.format_name).to_string(),
                media_type: first_found.map(|f| f.media_type).unwrap_or(report.sniffed.media_type).to_string(),
                encoding: first_found.map(|f| f.encoding).unwrap_or(report.sniffed.encoding).to_string(),
                sha256: first.sha256.clone(),
                bytes: first.bytes,
            },
            data_path,
            original_path,
            data_bytes,
            stats: report.stats,
            // The quality checks run after the commit, outside the publish's transaction and locks.
            artefacts: vec![
                ("statistics".to_string(), ArtefactStatus::Ready),
                ("quality".to_string(), ArtefactStatus::Pending),
            ],
            published_by: actor.label(),
        };
        let sources = VersionSources { pipeline_revision: plan.pipeline_revision, files };
        let version = Arc::new(self.inner.catalog.commit_version_with(slug, &new, &sources).await?);
        progress(PublishProgress { stage: PublishStage::Committing, done: 1, total: 1 });
        self.forget_current(slug.as_str());
        tracing::info!(
            dataset = %slug, seq = version.seq, rows = version.row_count, files = sources.files.len(),
            actor = %actor.label(), "version published"
        );
        self.record_audit(tapwater_store::AuditRecord {
            actor: actor.label(),
            action: "version.published".to_string(),
            dataset: Some(slug.as_str().to_string()),
            version: Some(version.seq),
            row_count: Some(version.row_count),
            outcome: "ok".to_string(),
            detail: Some(format!("sha256 {}", version.original.sha256)),
            ..tapwater_store::AuditRecord::default()
        })
        .await?;

        if self.inner.config.quality_in_background {
            self.spawn_quality(slug.clone(), version.clone());
        } else if let Err(err) = self.check_version(slug, &version).await {
            // The version is committed and serves; its report stays pending and is retried at the next start.
            tracing::warn!(dataset = %slug, seq = version.seq, %err, "quality checks failed");
        }

        // Load the new version into memory in the background so the first query after a publish is fast.
        if self.inner.config.warm_after_publish {
            let engine = self.inner.engine.clone();
            let warm = version.clone();
            tokio::spawn(async move {
                if let Err(err) = engine.hot_table(&warm).await {
                    tracing::warn!(%err, "could not load the new version into memory");
                }
            });
        }
        Ok(version)
    }
}

/// What [`Tapwater::write_and_commit`] reads and records.
struct Plan<'a> {
    uploads: &'a [StagedUpload],
    /// Files of the previous version, read first (an append).
    carried: Vec<SourceFile>,
    pipeline_revision: Option<i64>,
    pipeline: Pipeline,
}

/// How long a running publish job may go without recording progress before it counts as interrupted.
pub const STALE_PUBLISH_JOB: chrono::TimeDelta = chrono::TimeDelta::seconds(120);

impl Tapwater {
    /// Starts publishing `upload` in the background and returns at once with a job the client can follow
    /// (`GET /api/v1/jobs/{id}`): status, stage and progress are written to the catalog every half second, so any
    /// server of a scale-out deployment can answer.
    pub async fn start_publish_job(
        &self,
        actor: &Actor,
        slug: &str,
        input: PublishInput,
    ) -> Result<tapwater_types::Job, AppError> {
        self.authorize_dataset(actor, slug, DatasetAction::Publish).await?;
        self.existing_slug(slug).await?;
        let now = chrono::Utc::now();
        let job = tapwater_types::Job {
            id: new_version_id(),
            kind: "publish".to_string(),
            dataset: slug.to_string(),
            status: tapwater_types::JobStatus::Queued,
            stage: None,
            done: 0,
            total: input.uploads.iter().map(|u| u.bytes).sum(),
            version: None,
            error: None,
            created_at: now,
            updated_at: now,
        };
        self.inner.catalog.create_job(&job).await?;
        let latest = Arc::new(std::sync::Mutex::new(None::<PublishProgress>));
        let seen = latest.clone();
        let progress: ProgressFn = Arc::new(move |p| {
            if let Ok(mut slot) = seen.lock() {
                *slot = Some(p);
            }
        });
        let (app, actor, slug, mut record) = (self.clone(), actor.clone(), slug.to_string(), job.clone());
        tokio::spawn(async move {
            record.status = tapwater_types::JobStatus::Running;
            let work = app.publish(&actor, &slug, input, PublishOptions::default(), progress);
            tokio::pin!(work);
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
            let result = loop {
                tokio::select! {
                    result = &mut work => break result,
                    _ = tick.tick() => {
                        if let Some(p) = latest.lock().ok().and_then(|slot| *slot) {
                            record.stage = Some(p.stage.name().to_string());
                            record.done = p.done;
                            record.total = p.total;
                        }
                        record.updated_at = chrono::Utc::now();
                        if let Err(err) = app.inner.catalog.update_job(&record).await {
                            tracing::warn!(%err, job = %record.id, "could not record job progress");
                        }
                    }
                }
            };
            match result {
                Ok(version) => {
                    record.status = tapwater_types::JobStatus::Succeeded;
                    record.version = Some(version.seq);
                    record.stage = None;
                }
                Err(err) => {
                    record.status = tapwater_types::JobStatus::Failed;
                    record.error = Some(tapwater_types::JobError {
                        code: err.code().to_string(),
                        message: err.message(tapwater_types::Lang::En),
                        message_zh: err.message(tapwater_types::Lang::ZhTw),
                    });
                }
            }
            record.updated_at = chrono::Utc::now();
            if let Err(err) = app.inner.catalog.update_job(&record).await {
                tracing::warn!(%err, job = %record.id, "could not record the end of a job");
            }
        });
        Ok(job)
    }

    /// A job's current state.
    ///
    /// A publish job records its progress every half second while its process works on it. One silent for longer
    /// than [`STALE_PUBLISH_JOB`] lost its process (a restart, a crash): its upload lived in that process's staging
    /// directory and cannot be resumed elsewhere, so the job is recorded as failed (`job_interrupted`) instead of
    /// staying "running" forever. (Scheduled source runs are leased and taken over instead; see `sources.rs`.)
    ///
    ///
    /// A job id is an unguessable capability handed to whoever started the job (a publisher, a scheduler run shown
    /// in the source's runs); anyone who may see the dataset's metadata may follow it.
    pub async fn job(&self, actor: &Actor, id: &str) -> Result<tapwater_types::Job, AppError> {
        let mut job =
            self.inner.catalog.get_job(id).await?.ok_or_else(|| AppError::JobNotFound { id: id.to_string() })?;
        match self.authorize_dataset(actor, &job.dataset, DatasetAction::View).await {
            Ok(_) | Err(AppError::DatasetNotFound { .. }) if !job.dataset.is_empty() => {}
            _ => return Err(AppError::JobNotFound { id: id.to_string() }),
        }
        let unfinished = matches!(job.status, tapwater_types::JobStatus::Queued | tapwater_types::JobStatus::Running);
        let silent = chrono::Utc::now().signed_duration_since(job.updated_at);
        if job.kind == "publish" && unfinished && silent > STALE_PUBLISH_JOB {
            job.status = tapwater_types::JobStatus::Failed;
            job.error = Some(tapwater_types::JobError {
                code: "job_interrupted".to_string(),
                message: "The server working on this publish stopped before it finished; nothing was published. \
                          Publish the file again."
                    .to_string(),
                message_zh: "處理此發布的伺服器在完成前停止，未發布任何版本；請重新發布檔案。".to_string(),
            });
            job.updated_at = chrono::Utc::now();
            if let Err(err) = self.inner.catalog.update_job(&job).await {
                tracing::warn!(%err, job = %job.id, "could not record an interrupted publish job");
            }
        }
        Ok(job)
    }

    /// Removes version files no catalog row points to — left by a publish that was killed before its commit — when
    /// they are older than `min_age` (younger ones may belong to a publish still running in another process).
    /// Returns how many versions' files were removed.
    pub async fn collect_orphans(&self, min_age: std::time::Duration) -> Result<usize, AppError> {
        let known = self.inner.catalog.all_version_ids().await?;
        let now = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
        let min_age_ms = u64::try_from(min_age.as_millis()).unwrap_or(u64::MAX);
        let mut removed = 0;
        for id in self.inner.blobs.list_dirs("versions/").await? {
            if known.contains(&id) {
                continue;
            }
            let old_enough =
                tapwater_store::version_id_millis(&id).is_some_and(|created| now.saturating_sub(created) >= min_age_ms);
            if old_enough {
                self.inner.blobs.delete_prefix(&version_prefix(&id)).await?;
                tracing::info!(version = %id, "removed files of an unfinished publish");
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// Object-store prefix of everything belonging to one version. Keyed by the version id, never by the dataset slug,
/// so nothing written for a version ever needs to move or be invalidated.
pub(crate) fn version_prefix(version_id: &str) -> String {
    format!("versions/{version_id}/")
}

fn read_prefix(path: &Path, max: usize) -> Result<Vec<u8>, AppError> {
    let mut file = std::fs::File::open(path)?;
    let mut buf = Vec::with_capacity(max);
    file.by_ref().take(max as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

fn hash_file(path: &Path, progress: &ProgressFn) -> Result<(String, u64), AppError> {
    let mut file = std::fs::File::open(path).map_err(|e| {
        AppError::invalid(
            "invalid_body",
            "file",
            format!("Cannot read {}: {e}", path.display()),
            format!("無法讀取 {}：{e}", path.display()),
        )
    })?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        done += n as u64;
        progress(PublishProgress { stage: PublishStage::Hashing, done, total });
    }
    Ok((hex::encode(hasher.finalize()), done))
}

/// Keeps only the last path component and drops control characters, so a file name is safe in a
/// Content-Disposition header.
fn sanitize_filename(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = last.chars().filter(|c| !c.is_control() && *c != '"').collect();
    if clean.trim().is_empty() { "upload".to_string() } else { clean }
}
