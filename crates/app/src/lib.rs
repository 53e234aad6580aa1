//! The application layer of tapwater: one function per operation a person can do.
//!
//! Every operation takes *who is asking* (an [`Actor`]) and typed input, checks authorization ([`access`]), works
//! through the stores (catalog, blobs) and the query engine, and returns typed output or an [`AppError`]. The HTTP
//! server and the CLI are thin translators around it; nothing is authorized anywhere else.
//!
//! What it does not do: speak HTTP (no status codes, headers or routes here) or write SQL (that is `tapwater-store`).

pub mod access;
mod accounts;
mod applications;
mod audit;
mod catalog;
mod config;
pub mod demo;
mod error;
mod limits;
mod metadata;
mod notify;
mod pipeline;
mod publish;
mod quality;
mod query;
mod sources;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rand::Rng;
use tapwater_query::engine::QueryEngine;
use tapwater_store::{Blobs, Catalog};
use tapwater_types::Version;

pub use accounts::{
    CreatedKey, Credentials, KEY_PREFIX, Member, NewAccount, NewSession, SessionView, SignUp, parse_account_role,
};
pub use applications::Decision;
pub use audit::{AUDIT_CSV_HEADER, MAX_AUDIT_PAGE, audit_csv_record};
pub use catalog::{DatasetDetail, DatasetList, DatasetListQuery};
pub use config::{AccessConfig, Config};
pub use error::{AppError, ERROR_CODES, ErrorKind};
pub use limits::{LimiterBackend, Rate, RateLimitConfig, RateStatus};
pub use metadata::{MetadataDocument, MetadataFormat, SchemaImport, parse_metadata};
pub use notify::{Notice, Notifier, NotifierConfig};
pub use pipeline::{
    CHECK_SAMPLE_ROWS, CheckReport, PROBLEM_RULES, PipelineFormat, PipelineView, VersionTransforms, check_inputs,
    parse_pipeline, series_pipeline_toml, validate_pipeline,
};
pub use publish::{ProgressFn, PublishInput, PublishOptions, PublishProgress, PublishStage, StagedUpload};
pub use quality::{PUBLISHER_QUALITY_CSV_HEADER, publisher_quality_csv_record};
pub use query::{AggregateAnswer, Download, DownloadFormat, RowsAnswer, SqlAnswer};
pub use sources::{RunProgress, RunProgressFn, SourcesConfig};
pub use tapwater_types::{Actor, Lang};

/// When the current version of a dataset was read from the catalog, and what it was (`None`: nothing published).
type CurrentVersion = (Instant, Option<Arc<Version>>);

/// A running tapwater: the catalog, the version files, the query engine and the configuration.
///
/// Cheap to clone; every front door (HTTP server, CLI) holds one.
#[derive(Clone)]
pub struct Tapwater {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    catalog: Catalog,
    blobs: Blobs,
    engine: Arc<QueryEngine>,
    admin_token: String,
    /// Current version per dataset slug, with the instant it was read: saves a catalog round trip per request.
    current: Mutex<HashMap<String, CurrentVersion>>,
    /// Access facts per dataset slug, with the instant they were read (same refresh delay as `current`).
    access: Mutex<HashMap<String, CachedAccess>>,
    notifier: Box<dyn Notifier>,
    limiter: limits::Limiter,
    meter: limits::Meter,
}

/// When a dataset's access facts were read, and what they were (`None`: no such dataset).
type CachedAccess = (Instant, Option<Arc<tapwater_store::DatasetAccess>>);

impl Tapwater {
    /// Opens (creating if absent) the data directory, the catalog and the version store.
    pub async fn open(config: Config) -> Result<Tapwater, AppError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            AppError::Internal(format!("cannot create data directory {}: {e}", config.data_dir.display()))
        })?;
        std::fs::create_dir_all(staging_dir(&config.data_dir))?;
        let catalog = Catalog::connect(&config.catalog_url()).await?;
        let blobs = Blobs::open(config.storage.as_deref(), &config.data_dir.join("files"))?;
        let admin_token = match &config.admin_token {
            Some(token) if !token.is_empty() => token.clone(),
            _ => load_or_create_admin_token(&config.data_dir)?,
        };
        let engine = Arc::new(QueryEngine::new(blobs.object_store(), config.query.clone()));
        let limiter =
            limits::Limiter::new(&config.access.rate_limits, catalog.kind() == tapwater_store::DbKind::Postgres)?;
        let notifier = config.access.notifier.build()?;
        Ok(Tapwater {
            inner: Arc::new(Inner {
                config,
                catalog,
                blobs,
                engine,
                admin_token,
                current: Mutex::new(HashMap::new()),
                access: Mutex::new(HashMap::new()),
                notifier,
                limiter,
                meter: limits::Meter::default(),
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn engine(&self) -> &Arc<QueryEngine> {
        &self.inner.engine
    }

    /// Where the catalog and the files are, for the start-up banner.
    pub fn describe(&self) -> String {
        let catalog = match self.inner.catalog.kind() {
            tapwater_store::DbKind::Sqlite => format!("SQLite ({})", self.inner.config.catalog_url()),
            tapwater_store::DbKind::Postgres => "PostgreSQL".to_string(),
        };
        format!("catalog: {catalog}; files: {}", self.inner.blobs.describe())
    }

    /// The admin token that authorizes writes over HTTP.
    pub fn admin_token(&self) -> &str {
        &self.inner.admin_token
    }

    /// Checks that the catalog answers (for `/healthz`).
    pub async fn health(&self) -> Result<(), AppError> {
        self.inner.catalog.ping().await?;
        Ok(())
    }

    /// Loads the current version of every dataset into memory in the background, most recently updated first,
    /// until the memory budget is reached, so the first requests after a start are answered from memory.
    pub fn warm_up(&self) {
        let app = self.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let list = match app.inner.catalog.list_datasets(&catalog::all_datasets_query()).await {
                Ok(list) => list,
                Err(err) => {
                    tracing::warn!(%err, "warm-up: cannot list datasets");
                    return;
                }
            };
            let budget = app.inner.config.query.memory_budget_bytes;
            let mut used = 0u64;
            for dataset in list.datasets {
                let Ok(Some(version)) = app.inner.catalog.current_version(&dataset.slug).await else { continue };
                if used.saturating_add(version.data_bytes.saturating_mul(4)) > budget {
                    continue;
                }
                match app.inner.engine.hot_table(&version).await {
                    Ok(table) => used += table.memory_bytes() as u64,
                    Err(err) => tracing::warn!(dataset = %dataset.slug, %err, "warm-up: cannot load"),
                }
            }
            tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, bytes = used, "warm-up done");
        });
    }
}

pub(crate) fn staging_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("tmp")
}

/// Reads `<data_dir>/admin-token`, or creates it (mode 0600) with 32 random bytes, hex-encoded.
fn load_or_create_admin_token(data_dir: &Path) -> Result<String, AppError> {
    let path = data_dir.join("admin-token");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let token = existing.trim().to_string();
        if !token.is_empty() {
            return Ok(token);
        }
    }
    let bytes: [u8; 32] = rand::rng().random();
    let token = hex::encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(&path) {
        Ok(mut file) => {
            use std::io::Write;
            file.write_all(token.as_bytes())?;
            Ok(token)
        }
        // Another process created it between our read and our create: use theirs.
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(std::fs::read_to_string(&path)?.trim().to_string())
        }
        Err(err) => Err(err.into()),
    }
}

/// Now, cut to the millisecond the catalog keeps (so what a caller gets back equals what a later read returns).
pub(crate) fn now_millis() -> chrono::DateTime<chrono::Utc> {
    let now = chrono::Utc::now();
    chrono::DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

/// Compares secrets without an early exit, so response timing does not reveal how much of a guess was right.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
