//! The catalog: the metadata database, over SQLx's `Any` driver on SQLite or PostgreSQL.
//!
//! All SQL is written once, with `$1`-style placeholders, which both PostgreSQL and SQLite (`$NNN`) accept; the only
//! dialect differences are the migrations, how a write transaction begins (`BEGIN IMMEDIATE` on SQLite) and row
//! locks (`FOR UPDATE` on PostgreSQL). Values cross the driver as `i64`, `String` or `Option` of those, the types
//! the `Any` driver maps the same way on both databases.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::pool::PoolConnectionMetadata;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyConnection, AnyPool, AssertSqlSafe, ConnectOptions, Connection, Executor, Row, Transaction};
use tapwater_types::{
    AccessLevel, Artefact, ArtefactStatus, ColumnStats, Dataset, Frequency, OriginalFile, Publisher, Slug, TableSchema,
    Version, VersionSources, VersionSummary,
};
use url::Url;

use crate::{StoreError, migrations, time};

// Pipelines and version sources: an `impl Catalog` of their own, in src/pipelines.rs (a child module, so it shares
// this module's private helpers).
#[path = "pipelines.rs"]
mod pipelines;
// Dataset metadata documents and the quality reports of versions: src/quality.rs.
#[path = "quality.rs"]
pub(crate) mod quality;
// Scheduled sources, their runs and job leases: src/sources.rs, a child module for the same reason.
#[path = "sources.rs"]
pub(crate) mod sources;
// Accounts, sessions, keys, memberships, applications, the audit log, usage and rate buckets: src/access.rs.
#[path = "access.rs"]
pub(crate) mod access;

/// How long a SQLite connection waits for another writer (this process or another one, e.g. `tapwater publish`
/// next to a running server) before giving up with "database is locked".
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How often [`Catalog::commit_version`] retries after losing a race for a sequence number or a lock.
const COMMIT_ATTEMPTS: u32 = 10;
/// How often connecting retries migrations that failed, e.g. because another process was creating the same catalog.
const MIGRATION_ATTEMPTS: u32 = 5;
/// Dataset ids per `IN (…)` list when loading tags, well under SQLite's limit of 32766 bound parameters.
const IN_LIST_CHUNK: usize = 500;

/// Which database a [`Catalog`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DbKind {
    /// The embedded default: one file, several processes may write (WAL mode, busy timeout).
    Sqlite,
    /// For scale-out: several servers share one database.
    Postgres,
}

impl DbKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DbKind::Sqlite => "sqlite",
            DbKind::Postgres => "postgres",
        }
    }
}

/// The metadata database. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct Catalog {
    pool: AnyPool,
    kind: DbKind,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog").field("kind", &self.kind).finish_non_exhaustive()
    }
}

/// A dataset to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDataset {
    pub slug: Slug,
    pub title: String,
    pub description: String,
    /// Must exist already (see [`Catalog::ensure_publisher`]).
    pub publisher: Option<Slug>,
    pub license: String,
    pub frequency: Option<Frequency>,
    /// Kept in this order; exact duplicates are dropped.
    pub tags: Vec<String>,
    pub access: AccessLevel,
    pub draft: bool,
}

/// A change to a dataset's metadata: `None` leaves a field as it is; `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DatasetUpdate {
    pub title: Option<String>,
    pub description: Option<String>,
    pub publisher: Option<Option<Slug>>,
    pub license: Option<String>,
    pub frequency: Option<Option<Frequency>>,
    pub tags: Option<Vec<String>>,
    pub access: Option<AccessLevel>,
    pub draft: Option<bool>,
}

/// Which datasets to list.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetQuery {
    /// Case-insensitive substring of the title, the description or a tag. Blank means no text filter.
    pub text: Option<String>,
    pub publisher: Option<Slug>,
    /// Exact tag.
    pub tag: Option<String>,
    /// Which drafts to include.
    pub drafts: Drafts,
    pub limit: u32,
    pub offset: u64,
}

/// Which draft datasets a listing includes (released datasets are always listed).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Drafts {
    /// None: what the public sees.
    #[default]
    Hide,
    /// Those of these publishers (the organisations the caller edits for).
    Of(Vec<Slug>),
    /// All of them (site administrators, the operator).
    All,
}

impl Default for DatasetQuery {
    fn default() -> Self {
        DatasetQuery { text: None, publisher: None, tag: None, drafts: Drafts::Hide, limit: 100, offset: 0 }
    }
}

/// One page of datasets, newest change first (then by slug), and how many match in all.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetPage {
    pub datasets: Vec<Dataset>,
    pub total: u64,
}

/// A completely written version, to be made current by [`Catalog::commit_version`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewVersion {
    /// From [`crate::new_version_id`]; the files are already stored under paths keyed by it.
    pub id: String,
    /// Stored to the millisecond.
    pub created_at: DateTime<Utc>,
    pub row_count: u64,
    pub schema: TableSchema,
    pub original: OriginalFile,
    pub data_path: String,
    pub original_path: String,
    pub data_bytes: u64,
    pub stats: Vec<ColumnStats>,
    /// Derived artefacts the publish will produce, with their initial status (usually pending).
    pub artefacts: Vec<(String, ArtefactStatus)>,
    pub published_by: String,
}

/// A failed attempt inside a retry loop: retry it, or give up with the error.
enum Attempt {
    Retry(StoreError),
    Fail(StoreError),
}

impl From<StoreError> for Attempt {
    fn from(error: StoreError) -> Self {
        Attempt::Fail(error)
    }
}

impl From<sqlx::Error> for Attempt {
    fn from(error: sqlx::Error) -> Self {
        if is_transient(&error) { Attempt::Retry(error.into()) } else { Attempt::Fail(error.into()) }
    }
}

/// Errors that go away when the transaction is tried again: lost races for a unique number, SQLite's busy/locked,
/// PostgreSQL's serialization failures and deadlocks.
fn is_transient(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = error else { return false };
    if db.is_unique_violation() {
        return true;
    }
    let Some(code) = db.code() else { return false };
    match code.as_ref() {
        // PostgreSQL SQLSTATE: serialization_failure, deadlock_detected.
        "40001" | "40P01" => true,
        // SQLite extended result codes: the primary code is the low byte; 5 = SQLITE_BUSY, 6 = SQLITE_LOCKED.
        other => other.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6)),
    }
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

fn is_foreign_key_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_foreign_key_violation())
}

fn to_i64(value: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Invalid(format!("{what} {value} is too large to store")))
}

fn to_u64(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative {what} {value}")))
}

fn to_json<T: serde::Serialize>(value: &T, what: &str) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Invalid(format!("{what}: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn parse_slug(text: &str) -> Result<Slug, StoreError> {
    Slug::parse(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Tags in their given order, exact duplicates dropped (the table's primary key is (dataset, tag)).
fn unique_tags(tags: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    tags.iter().filter(|tag| seen.insert(tag.as_str())).cloned().collect()
}

/// What text search looks in: lowercased title, description and tags, one per line.
///
/// Lowercasing here, in Rust, rather than with SQL `lower()`/`ILIKE`, makes search behave the same on both
/// databases: SQLite's `lower()` folds ASCII only, PostgreSQL's folds all of Unicode (full-width `Ａ`, Greek …).
/// Chinese has no case, so it is matched as is.
fn search_text(title: &str, description: &str, tags: &[String]) -> String {
    let mut text = String::with_capacity(title.len() + description.len() + 16 * tags.len());
    text.push_str(&title.to_lowercase());
    text.push('\n');
    text.push_str(&description.to_lowercase());
    for tag in tags {
        text.push('\n');
        text.push_str(&tag.to_lowercase());
    }
    text
}

/// A `LIKE … ESCAPE '\'` pattern matching `needle` anywhere, with the user's `%`, `_` and `\` taken literally.
fn contains_pattern(needle: &str) -> String {
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for c in needle.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Columns selected for a dataset, joined with its publisher (`d`, `p`).
const DATASET_COLUMNS: &str = "d.id, d.slug, d.title, d.description, d.license, d.frequency, d.created_at, \
     d.updated_at, d.current_version_seq, d.access_level, d.draft, d.metadata_json, p.slug AS publisher_slug, p.name AS publisher_name \
     FROM datasets d LEFT JOIN publishers p ON p.id = d.publisher_id";

/// Columns selected for a version (`v`), to be joined with its dataset (`d`).
const VERSION_COLUMNS: &str = "v.id, v.seq, v.created_at, v.row_count, v.schema_json, v.original_json, \
     v.data_path, v.original_path, v.data_bytes, v.stats_json, v.published_by \
     FROM versions v JOIN datasets d ON d.id = v.dataset_id";

/// A dataset row before its tags are attached.
struct DatasetRow {
    id: i64,
    dataset: Dataset,
}

fn dataset_from_row(row: &AnyRow) -> Result<DatasetRow, StoreError> {
    let frequency = match row.try_get::<Option<String>, _>("frequency")? {
        None => None,
        Some(text) => {
            Some(Frequency::parse(&text).ok_or_else(|| StoreError::Corrupt(format!("unknown frequency {text:?}")))?)
        }
    };
    let publisher = match row.try_get::<Option<String>, _>("publisher_slug")? {
        None => None,
        Some(slug) => Some(Publisher { slug: parse_slug(&slug)?, name: row.try_get("publisher_name")? }),
    };
    Ok(DatasetRow {
        id: row.try_get("id")?,
        dataset: Dataset {
            slug: parse_slug(&row.try_get::<String, _>("slug")?)?,
            title: row.try_get("title")?,
            description: row.try_get("description")?,
            publisher,
            license: row.try_get("license")?,
            frequency,
            tags: Vec::new(),
            created_at: time::parse(&row.try_get::<String, _>("created_at")?)?,
            updated_at: time::parse(&row.try_get::<String, _>("updated_at")?)?,
            current_version: row.try_get("current_version_seq")?,
            access: parse_access(&row.try_get::<String, _>("access_level")?)?,
            draft: row.try_get::<i64, _>("draft")? != 0,
            metadata: from_json(&row.try_get::<String, _>("metadata_json")?, "dataset metadata")?,
        },
    })
}

fn parse_access(text: &str) -> Result<AccessLevel, StoreError> {
    AccessLevel::parse(text).ok_or_else(|| StoreError::Corrupt(format!("unknown access level {text:?}")))
}

fn version_from_row(row: &AnyRow) -> Result<Version, StoreError> {
    Ok(Version {
        id: row.try_get("id")?,
        seq: row.try_get("seq")?,
        created_at: time::parse(&row.try_get::<String, _>("created_at")?)?,
        row_count: to_u64(row.try_get("row_count")?, "row count")?,
        schema: from_json(&row.try_get::<String, _>("schema_json")?, "version schema")?,
        original: from_json(&row.try_get::<String, _>("original_json")?, "original file")?,
        data_path: row.try_get("data_path")?,
        original_path: row.try_get("original_path")?,
        data_bytes: to_u64(row.try_get("data_bytes")?, "data size")?,
        stats: from_json(&row.try_get::<String, _>("stats_json")?, "column statistics")?,
        artefacts: Vec::new(),
        published_by: row.try_get("published_by")?,
    })
}

/// Attaches their tags, in publisher order, to datasets read by [`dataset_from_row`].
async fn with_tags(conn: &mut AnyConnection, rows: Vec<DatasetRow>) -> Result<Vec<Dataset>, StoreError> {
    let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
    for chunk in rows.chunks(IN_LIST_CHUNK) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT dataset_id, tag FROM dataset_tags WHERE dataset_id IN ({}) ORDER BY dataset_id, position",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for row in chunk {
            query = query.bind(row.id);
        }
        for row in query.fetch_all(&mut *conn).await? {
            tags.entry(row.try_get("dataset_id")?).or_default().push(row.try_get("tag")?);
        }
    }
    Ok(rows
        .into_iter()
        .map(|mut row| {
            row.dataset.tags = tags.remove(&row.id).unwrap_or_default();
            row.dataset
        })
        .collect())
}

async fn load_dataset(conn: &mut AnyConnection, slug: &Slug) -> Result<Option<Dataset>, StoreError> {
    let sql = format!("SELECT {DATASET_COLUMNS} WHERE d.slug = $1");
    let Some(row) = sqlx::query(AssertSqlSafe(sql)).bind(slug.as_str()).fetch_optional(&mut *conn).await? else {
        return Ok(None);
    };
    let row = dataset_from_row(&row)?;
    Ok(with_tags(conn, vec![row]).await?.pop())
}

/// Which version [`load_version`] reads.
enum VersionKey<'a> {
    Seq(&'a Slug, i64),
    Current(&'a Slug),
    Id(&'a str),
}

async fn load_version(conn: &mut AnyConnection, key: VersionKey<'_>) -> Result<Option<Version>, StoreError> {
    let query = match key {
        VersionKey::Seq(slug, seq) => {
            sqlx::query(AssertSqlSafe(format!("SELECT {VERSION_COLUMNS} WHERE d.slug = $1 AND v.seq = $2")))
                .bind(slug.as_str())
                .bind(seq)
        }
        VersionKey::Current(slug) => sqlx::query(AssertSqlSafe(format!(
            "SELECT {VERSION_COLUMNS} WHERE d.slug = $1 AND v.seq = d.current_version_seq"
        )))
        .bind(slug.as_str()),
        VersionKey::Id(id) => {
            sqlx::query(AssertSqlSafe(format!("SELECT {VERSION_COLUMNS} WHERE v.id = $1"))).bind(id.to_string())
        }
    };
    let Some(row) = query.fetch_optional(&mut *conn).await? else { return Ok(None) };
    let mut version = version_from_row(&row)?;
    let artefacts = sqlx::query(
        "SELECT kind, status, detail, updated_at FROM version_artefacts WHERE version_id = $1 ORDER BY kind",
    )
    .bind(version.id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    version.artefacts = artefacts
        .iter()
        .map(|row| {
            let status: String = row.try_get("status")?;
            Ok(Artefact {
                kind: row.try_get("kind")?,
                status: ArtefactStatus::parse(&status)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown artefact status {status:?}")))?,
                detail: row.try_get("detail")?,
                updated_at: time::parse(&row.try_get::<String, _>("updated_at")?)?,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(Some(version))
}

/// The id of a publisher, or `NotFound`.
async fn publisher_id(conn: &mut AnyConnection, slug: &Slug) -> Result<i64, StoreError> {
    sqlx::query("SELECT id FROM publishers WHERE slug = $1")
        .bind(slug.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| row.try_get("id"))
        .transpose()?
        .ok_or_else(|| StoreError::NotFound { what: format!("publisher {slug}") })
}

async fn replace_tags(conn: &mut AnyConnection, dataset_id: i64, tags: &[String]) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM dataset_tags WHERE dataset_id = $1").bind(dataset_id).execute(&mut *conn).await?;
    for (position, tag) in tags.iter().enumerate() {
        sqlx::query("INSERT INTO dataset_tags (dataset_id, tag, position) VALUES ($1, $2, $3)")
            .bind(dataset_id)
            .bind(tag.as_str())
            .bind(to_i64(position as u64, "tag position")?)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Schema types reduced to one vocabulary, so a SQLite and a PostgreSQL catalog with the same columns give the same
/// [`Catalog::schema_snapshot`]. Unknown types are kept as they are, so they show up as a difference.
fn normalize_type(raw: &str) -> String {
    let lower = raw.trim().to_ascii_lowercase();
    let normalized = if lower.contains("int") || lower == "bigserial" || lower == "serial" {
        "integer"
    } else if lower == "text" || lower.contains("char") || lower.contains("clob") {
        "text"
    } else if lower.starts_with("bool") {
        "boolean"
    } else if lower == "real" || lower.starts_with("double") || lower.starts_with("float") {
        "real"
    } else if lower == "blob" || lower == "bytea" {
        "blob"
    } else {
        return lower;
    };
    normalized.to_string()
}

/// Per-connection SQLite settings. The Any driver builds SQLite connections from the URL alone, so they are applied
/// after connecting. `foreign_keys` is SQLx's default already; it is repeated because the schema relies on it.
fn sqlite_session_settings(conn: &mut AnyConnection, _: PoolConnectionMetadata) -> BoxFuture<'_, sqlx::Result<()>> {
    Box::pin(async move {
        let sql = format!(
            "PRAGMA busy_timeout = {}; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            SQLITE_BUSY_TIMEOUT.as_millis()
        );
        conn.execute(AssertSqlSafe(sql)).await?;
        Ok(())
    })
}

impl Catalog {
    /// Connects to `sqlite:///abs/path/catalog.db`, `sqlite://relative.db` (the file is created if absent) or
    /// `postgres://…`, and brings the schema up to date.
    ///
    /// SQLite files are switched to WAL mode with a 10 s busy timeout and `synchronous=NORMAL`, so a server and a
    /// `tapwater publish` can work on one file at the same time. `sqlite::memory:` works too, for tests, with a
    /// single connection (each connection would otherwise see its own empty database).
    pub async fn connect(url: &str) -> Result<Catalog, StoreError> {
        sqlx::any::install_default_drivers();
        // Only the scheme goes into messages: the URL may hold a password.
        let parsed = Url::parse(url).map_err(|e| StoreError::InvalidUrl(format!("catalog URL: {e}")))?;
        let kind = match parsed.scheme() {
            "sqlite" => DbKind::Sqlite,
            "postgres" | "postgresql" => DbKind::Postgres,
            other => {
                return Err(StoreError::InvalidUrl(format!(
                    "catalog URL scheme {other:?} is not supported; use sqlite://path or postgres://…"
                )));
            }
        };
        let pool = match kind {
            DbKind::Sqlite => Self::sqlite_pool(url).await?,
            DbKind::Postgres => AnyPoolOptions::new().connect(url).await?,
        };
        let catalog = Catalog { pool, kind };
        catalog.migrate().await?;
        tracing::info!(kind = kind.as_str(), "catalog connected and migrated");
        Ok(catalog)
    }

    async fn sqlite_pool(url: &str) -> Result<AnyPool, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?;
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory {
            Self::prepare_sqlite_file(&options).await?;
        }
        let options = AnyPoolOptions::new().after_connect(sqlite_session_settings);
        let options = if in_memory {
            // One connection that never closes: an in-memory database lives exactly as long as its connection.
            options.max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None)
        } else {
            options
        };
        Ok(options.connect(url).await?)
    }

    /// Creates the file if absent and switches it to WAL once: the journal mode is stored in the file, and changing
    /// it needs an exclusive lock that the busy timeout does not wait for, so it is not done on every connection.
    async fn prepare_sqlite_file(options: &SqliteConnectOptions) -> Result<(), StoreError> {
        let options = options.clone().create_if_missing(true).busy_timeout(SQLITE_BUSY_TIMEOUT);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result: Result<(), sqlx::Error> = async {
                let mut conn = options.connect().await?;
                let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut conn).await?;
                if !mode.eq_ignore_ascii_case("wal") {
                    sqlx::query("PRAGMA journal_mode = WAL").execute(&mut conn).await?;
                }
                conn.close().await
            }
            .await;
            match result {
                Ok(()) => return Ok(()),
                Err(e) if attempt < MIGRATION_ATTEMPTS && is_transient(&e) => {
                    tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Applies pending migrations. Retried, because two processes opening a new SQLite catalog at the same moment
    /// both see it unmigrated and one of them loses (PostgreSQL serializes migrations with an advisory lock).
    async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = migrations::migrator(self.kind);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match migrator.run(&self.pool).await {
                Ok(()) => return Ok(()),
                Err(e) if attempt < MIGRATION_ATTEMPTS => {
                    tracing::debug!(attempt, error = %e, "catalog migration failed, retrying");
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                }
                Err(e) => return Err(StoreError::Migration(e.to_string())),
            }
        }
    }

    pub fn kind(&self) -> DbKind {
        self.kind
    }

    /// Closes all connections; later calls fail. For orderly shutdown and for tests that drop their database.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): a
    /// deferred transaction that reads first and writes later fails with "database is locked" instead of waiting
    /// when another connection wrote in between.
    async fn begin_write(&self) -> Result<Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.kind {
            DbKind::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            DbKind::Postgres => self.pool.begin().await,
        }
    }

    /// ` FOR UPDATE` on PostgreSQL; nothing on SQLite, where `BEGIN IMMEDIATE` already excludes other writers.
    fn for_update(&self) -> &'static str {
        match self.kind {
            DbKind::Sqlite => "",
            DbKind::Postgres => " FOR UPDATE",
        }
    }

    /// The publisher `slug`, created with `name` if it does not exist yet. An existing publisher keeps its name.
    pub async fn ensure_publisher(&self, slug: &Slug, name: &str) -> Result<Publisher, StoreError> {
        sqlx::query(
            "INSERT INTO publishers (slug, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (slug) DO NOTHING",
        )
        .bind(slug.as_str())
        .bind(name)
        .bind(time::format(time::now()))
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("SELECT slug, name FROM publishers WHERE slug = $1")
            .bind(slug.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(Publisher { slug: parse_slug(&row.try_get::<String, _>("slug")?)?, name: row.try_get("name")? })
    }

    /// Creates a dataset without versions. `Conflict` if the slug is taken, `NotFound` if the publisher is unknown.
    pub async fn create_dataset(&self, new: &NewDataset) -> Result<Dataset, StoreError> {
        let tags = unique_tags(&new.tags);
        let now = time::format(time::now());
        let mut tx = self.begin_write().await?;
        let publisher_id = match &new.publisher {
            Some(slug) => Some(publisher_id(&mut tx, slug).await?),
            None => None,
        };
        let inserted = sqlx::query(
            "INSERT INTO datasets (slug, title, description, publisher_id, license, frequency, search_text, \
             created_at, updated_at, access_level, draft) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10) \
             RETURNING id",
        )
        .bind(new.slug.as_str())
        .bind(new.title.as_str())
        .bind(new.description.as_str())
        .bind(publisher_id)
        .bind(new.license.as_str())
        .bind(new.frequency.map(|f| f.as_str().to_string()))
        .bind(search_text(&new.title, &new.description, &tags))
        .bind(now)
        .bind(new.access.as_str())
        .bind(i64::from(new.draft))
        .fetch_one(&mut *tx)
        .await;
        let dataset_id: i64 = match inserted {
            Ok(row) => row.try_get("id")?,
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict { what: format!("dataset {}", new.slug) });
            }
            Err(e) => return Err(e.into()),
        };
        replace_tags(&mut tx, dataset_id, &tags).await?;
        let dataset = load_dataset(&mut tx, &new.slug)
            .await?
            .ok_or_else(|| StoreError::Database(format!("dataset {} vanished while being created", new.slug)))?;
        tx.commit().await?;
        Ok(dataset)
    }

    /// Changes a dataset's metadata and bumps its `updated_at`. `NotFound` for an unknown dataset or publisher.
    pub async fn update_dataset(&self, slug: &Slug, update: &DatasetUpdate) -> Result<Dataset, StoreError> {
        let not_found = || StoreError::NotFound { what: format!("dataset {slug}") };
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "SELECT id, title, description, publisher_id, license, frequency, access_level, draft FROM datasets \
             WHERE slug = $1{}",
            self.for_update()
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(slug.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(not_found)?;
        let dataset_id: i64 = row.try_get("id")?;
        let title = update.title.clone().unwrap_or(row.try_get("title")?);
        let description = update.description.clone().unwrap_or(row.try_get("description")?);
        let license = update.license.clone().unwrap_or(row.try_get("license")?);
        let publisher_id: Option<i64> = match &update.publisher {
            None => row.try_get("publisher_id")?,
            Some(None) => None,
            Some(Some(publisher)) => Some(publisher_id(&mut tx, publisher).await?),
        };
        let frequency: Option<String> = match update.frequency {
            None => row.try_get("frequency")?,
            Some(frequency) => frequency.map(|f| f.as_str().to_string()),
        };
        let access = match update.access {
            Some(level) => level.as_str().to_string(),
            None => row.try_get("access_level")?,
        };
        let draft: i64 = match update.draft {
            Some(draft) => i64::from(draft),
            None => row.try_get("draft")?,
        };
        let tags = match &update.tags {
            Some(tags) => {
                let tags = unique_tags(tags);
                replace_tags(&mut tx, dataset_id, &tags).await?;
                tags
            }
            None => sqlx::query("SELECT tag FROM dataset_tags WHERE dataset_id = $1 ORDER BY position")
                .bind(dataset_id)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|row| row.try_get("tag"))
                .collect::<Result<_, _>>()?,
        };
        sqlx::query(
            "UPDATE datasets SET title = $1, description = $2, publisher_id = $3, license = $4, frequency = $5, \
             search_text = $6, updated_at = $7, access_level = $8, draft = $9 WHERE id = $10",
        )
        .bind(title.as_str())
        .bind(description.as_str())
        .bind(publisher_id)
        .bind(license)
        .bind(frequency)
        .bind(search_text(&title, &description, &tags))
        .bind(time::format(time::now()))
        .bind(access)
        .bind(draft)
        .bind(dataset_id)
        .execute(&mut *tx)
        .await?;
        let dataset = load_dataset(&mut tx, slug).await?.ok_or_else(not_found)?;
        tx.commit().await?;
        Ok(dataset)
    }

    pub async fn get_dataset(&self, slug: &Slug) -> Result<Option<Dataset>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        load_dataset(&mut conn, slug).await
    }

    /// Datasets matching `query`, most recently updated first (then by slug), with the total number of matches.
    pub async fn list_datasets(&self, query: &DatasetQuery) -> Result<DatasetPage, StoreError> {
        let mut conditions: Vec<String> = Vec::new();
        let mut args: Vec<String> = Vec::new();
        if let Some(text) = query.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            args.push(contains_pattern(text));
            conditions.push(format!("d.search_text LIKE ${} ESCAPE '\\'", args.len()));
        }
        if let Some(publisher) = &query.publisher {
            args.push(publisher.as_str().to_string());
            conditions.push(format!("p.slug = ${}", args.len()));
        }
        if let Some(tag) = &query.tag {
            args.push(tag.clone());
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM dataset_tags t WHERE t.dataset_id = d.id AND t.tag = ${})",
                args.len()
            ));
        }
        match &query.drafts {
            Drafts::All => {}
            Drafts::Hide => conditions.push("d.draft = 0".to_string()),
            Drafts::Of(publishers) => {
                let mut listed = Vec::new();
                for publisher in publishers.iter().take(IN_LIST_CHUNK) {
                    args.push(publisher.as_str().to_string());
                    listed.push(format!("${}", args.len()));
                }
                if listed.is_empty() {
                    conditions.push("d.draft = 0".to_string());
                } else {
                    conditions.push(format!("(d.draft = 0 OR p.slug IN ({}))", listed.join(", ")));
                }
            }
        }
        let filter = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };

        let mut conn = self.pool.acquire().await?;
        let count_sql =
            format!("SELECT COUNT(*) AS total FROM datasets d LEFT JOIN publishers p ON p.id = d.publisher_id{filter}");
        let mut count = sqlx::query(AssertSqlSafe(count_sql));
        for arg in &args {
            count = count.bind(arg.as_str());
        }
        let total: i64 = count.fetch_one(&mut *conn).await?.try_get("total")?;

        let page_sql = format!(
            "SELECT {DATASET_COLUMNS}{filter} ORDER BY d.updated_at DESC, d.slug ASC LIMIT ${} OFFSET ${}",
            args.len() + 1,
            args.len() + 2
        );
        let mut page = sqlx::query(AssertSqlSafe(page_sql));
        for arg in &args {
            page = page.bind(arg.as_str());
        }
        // An offset beyond i64 matches nothing anyway.
        let offset = i64::try_from(query.offset).unwrap_or(i64::MAX);
        let rows = page.bind(i64::from(query.limit)).bind(offset).fetch_all(&mut *conn).await?;
        let rows = rows.iter().map(dataset_from_row).collect::<Result<Vec<_>, _>>()?;
        let datasets = with_tags(&mut conn, rows).await?;
        Ok(DatasetPage { datasets, total: to_u64(total, "dataset count")? })
    }

    /// Makes a completely written version the dataset's current one: in one transaction, takes the next sequence
    /// number (highest + 1), inserts the version and its artefacts, points the dataset at it and bumps `updated_at`.
    ///
    /// Nobody sees the version before this commits. Concurrent commits for one dataset all succeed with distinct
    /// numbers: PostgreSQL locks the dataset row, SQLite takes the write lock up front, and a lost race on the
    /// unique (dataset, seq) pair is retried. `NotFound` for an unknown dataset, `Conflict` for a reused version id.
    pub async fn commit_version(&self, slug: &Slug, version: &NewVersion) -> Result<Version, StoreError> {
        self.commit_version_with(slug, version, &VersionSources::default()).await
    }

    /// [`Catalog::commit_version`], recording in the same transaction how the version was made (pipeline revision
    /// and source files; see [`Catalog::version_sources`]).
    pub async fn commit_version_with(
        &self,
        slug: &Slug,
        version: &NewVersion,
        sources: &VersionSources,
    ) -> Result<Version, StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_commit_version(slug, version, sources).await {
                Ok(committed) => return Ok(committed),
                Err(Attempt::Retry(e)) if attempt < COMMIT_ATTEMPTS => {
                    tracing::debug!(attempt, dataset = %slug, error = %e, "version commit lost a race, retrying");
                    let jitter = rand::random_range(0..20);
                    tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt) + jitter)).await;
                }
                Err(Attempt::Retry(e) | Attempt::Fail(e)) => return Err(e),
            }
        }
    }

    async fn try_commit_version(
        &self,
        slug: &Slug,
        version: &NewVersion,
        sources: &VersionSources,
    ) -> Result<Version, Attempt> {
        let files = to_json(&sources.files, "version files")?;
        let row_count = to_i64(version.row_count, "row count")?;
        let data_bytes = to_i64(version.data_bytes, "data size")?;
        let schema = to_json(&version.schema, "version schema")?;
        let original = to_json(&version.original, "original file")?;
        let stats = to_json(&version.stats, "column statistics")?;
        let now = time::format(time::now());

        let mut tx = self.begin_write().await?;
        let sql = format!("SELECT id FROM datasets WHERE slug = $1{}", self.for_update());
        let dataset_id: i64 = sqlx::query(AssertSqlSafe(sql))
            .bind(slug.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound { what: format!("dataset {slug}") })?
            .try_get("id")
            .map_err(StoreError::from)?;
        // Checked here so that the unique violation below can only mean a lost race for `seq`.
        let taken = sqlx::query("SELECT 1 AS taken FROM versions WHERE id = $1")
            .bind(version.id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict { what: format!("version {}", version.id) }.into());
        }
        let last: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS last FROM versions WHERE dataset_id = $1")
            .bind(dataset_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("last")
            .map_err(StoreError::from)?;
        let seq = last + 1;
        sqlx::query(
            "INSERT INTO versions (id, dataset_id, seq, created_at, row_count, schema_json, original_json, data_path, \
             original_path, data_bytes, stats_json, published_by, pipeline_revision, files_json) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(version.id.as_str())
        .bind(dataset_id)
        .bind(seq)
        .bind(time::format(time::to_millis(version.created_at)))
        .bind(row_count)
        .bind(schema)
        .bind(original)
        .bind(version.data_path.as_str())
        .bind(version.original_path.as_str())
        .bind(data_bytes)
        .bind(stats)
        .bind(version.published_by.as_str())
        .bind(sources.pipeline_revision)
        .bind(files)
        .execute(&mut *tx)
        .await?;
        for (kind, status) in &version.artefacts {
            sqlx::query(
                "INSERT INTO version_artefacts (version_id, kind, status, detail, updated_at) \
                 VALUES ($1, $2, $3, NULL, $4)",
            )
            .bind(version.id.as_str())
            .bind(kind.as_str())
            .bind(status.as_str())
            .bind(now.as_str())
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Attempt::Fail(StoreError::Invalid(format!("artefact {kind:?} listed twice")))
                } else {
                    e.into()
                }
            })?;
        }
        sqlx::query("UPDATE datasets SET current_version_seq = $1, updated_at = $2 WHERE id = $3")
            .bind(seq)
            .bind(now.as_str())
            .bind(dataset_id)
            .execute(&mut *tx)
            .await?;
        let committed = load_version(&mut tx, VersionKey::Id(&version.id))
            .await?
            .ok_or_else(|| StoreError::Database(format!("version {} vanished while being committed", version.id)))?;
        tx.commit().await?;
        Ok(committed)
    }

    /// Version `seq` of a dataset; `None` if either does not exist.
    pub async fn get_version(&self, slug: &Slug, seq: i64) -> Result<Option<Version>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        load_version(&mut conn, VersionKey::Seq(slug, seq)).await
    }

    /// The version a dataset serves by default; `None` before its first publish or for an unknown dataset.
    pub async fn current_version(&self, slug: &Slug) -> Result<Option<Version>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        load_version(&mut conn, VersionKey::Current(slug)).await
    }

    /// A dataset's versions, newest first. `NotFound` for an unknown dataset (empty for one not yet published).
    pub async fn list_versions(&self, slug: &Slug) -> Result<Vec<VersionSummary>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let exists = sqlx::query("SELECT id FROM datasets WHERE slug = $1")
            .bind(slug.as_str())
            .fetch_optional(&mut *conn)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound { what: format!("dataset {slug}") });
        }
        let rows = sqlx::query(
            "SELECT v.seq, v.id, v.created_at, v.row_count, v.original_json FROM versions v \
             JOIN datasets d ON d.id = v.dataset_id WHERE d.slug = $1 ORDER BY v.seq DESC",
        )
        .bind(slug.as_str())
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                let original: OriginalFile = from_json(&row.try_get::<String, _>("original_json")?, "original file")?;
                Ok(VersionSummary {
                    seq: row.try_get("seq")?,
                    id: row.try_get("id")?,
                    created_at: time::parse(&row.try_get::<String, _>("created_at")?)?,
                    row_count: to_u64(row.try_get("row_count")?, "row count")?,
                    original_sha256: original.sha256,
                })
            })
            .collect()
    }

    /// Records the status of a derived artefact of a version, inserting or replacing the (version, kind) entry.
    /// `NotFound` for an unknown version.
    pub async fn set_artefact(
        &self,
        version_id: &str,
        kind: &str,
        status: ArtefactStatus,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        let result = sqlx::query(
            "INSERT INTO version_artefacts (version_id, kind, status, detail, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (version_id, kind) DO UPDATE SET status = excluded.status, detail = excluded.detail, \
             updated_at = excluded.updated_at",
        )
        .bind(version_id)
        .bind(kind)
        .bind(status.as_str())
        .bind(detail)
        .bind(time::format(time::now()))
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_foreign_key_violation(&e) => {
                Err(StoreError::NotFound { what: format!("version {version_id}") })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Every version id in the catalog, to tell the files of committed versions from those a crashed publish left.
    pub async fn all_version_ids(&self) -> Result<HashSet<String>, StoreError> {
        let rows = sqlx::query("SELECT id FROM versions").fetch_all(&self.pool).await?;
        rows.iter().map(|row| row.try_get::<String, _>("id").map_err(StoreError::from)).collect()
    }

    /// `(table, column, type)` for every column of the catalog's tables, sorted, with types reduced to a small
    /// vocabulary (`integer`, `text`, `real`, `boolean`, `blob`) and ` not null` appended where the column is NOT
    /// NULL. Equal for a SQLite and a PostgreSQL catalog at the same migration step; SQLx's own bookkeeping table
    /// is left out.
    pub async fn schema_snapshot(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        let sql = match self.kind {
            DbKind::Sqlite => {
                "SELECT m.name AS table_name, c.name AS column_name, c.type AS column_type, c.\"notnull\" AS not_null \
                 FROM sqlite_master m JOIN pragma_table_info(m.name) c \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND m.name <> '_sqlx_migrations'"
            }
            DbKind::Postgres => {
                "SELECT table_name::text AS table_name, column_name::text AS column_name, \
                 data_type::text AS column_type, CASE WHEN is_nullable::text = 'NO' THEN 1 ELSE 0 END AS not_null \
                 FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name::text <> '_sqlx_migrations'"
            }
        };
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        let mut snapshot = rows
            .iter()
            .map(|row| {
                let mut column_type = normalize_type(&row.try_get::<String, _>("column_type")?);
                if row.try_get::<i64, _>("not_null")? != 0 {
                    column_type.push_str(" not null");
                }
                Ok((row.try_get("table_name")?, row.try_get("column_name")?, column_type))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        snapshot.sort();
        Ok(snapshot)
    }

    /// Checks that the database answers (for health checks).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------------ jobs

impl Catalog {
    /// Records a new job.
    pub async fn create_job(&self, job: &tapwater_types::Job) -> Result<(), StoreError> {
        let insert = sqlx::query(
            "INSERT INTO jobs (id, status, stage, done, total, version_seq, error_code, error_message, \
             error_message_zh, updated_at, kind, dataset_slug, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        );
        bind_job_state(insert, job)
            .bind(&job.kind)
            .bind(&job.dataset)
            .bind(time::format(job.created_at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Stores a job's new status, stage, progress, result or error.
    pub async fn update_job(&self, job: &tapwater_types::Job) -> Result<(), StoreError> {
        let update = sqlx::query(
            "UPDATE jobs SET status = $2, stage = $3, done = $4, total = $5, version_seq = $6, error_code = $7, \
             error_message = $8, error_message_zh = $9, updated_at = $10 WHERE id = $1",
        );
        let result = bind_job_state(update, job).execute(&self.pool).await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: format!("job {}", job.id) });
        }
        Ok(())
    }

    pub async fn get_job(&self, id: &str) -> Result<Option<tapwater_types::Job>, StoreError> {
        let Some(row) = sqlx::query(
            "SELECT id, kind, dataset_slug, status, stage, done, total, version_seq, error_code, error_message, \
             error_message_zh, created_at, updated_at FROM jobs WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let status: String = row.try_get("status")?;
        let error_code: Option<String> = row.try_get("error_code")?;
        Ok(Some(tapwater_types::Job {
            id: row.try_get("id")?,
            kind: row.try_get("kind")?,
            dataset: row.try_get("dataset_slug")?,
            status: tapwater_types::JobStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("job status {status:?}")))?,
            stage: row.try_get("stage")?,
            done: u64::try_from(row.try_get::<i64, _>("done")?).unwrap_or(0),
            total: u64::try_from(row.try_get::<i64, _>("total")?).unwrap_or(0),
            version: row.try_get("version_seq")?,
            error: match error_code {
                Some(code) => Some(tapwater_types::JobError {
                    code,
                    message: row.try_get::<Option<String>, _>("error_message")?.unwrap_or_default(),
                    message_zh: row.try_get::<Option<String>, _>("error_message_zh")?.unwrap_or_default(),
                }),
                None => None,
            },
            created_at: time::parse(&row.try_get::<String, _>("created_at")?)?,
            updated_at: time::parse(&row.try_get::<String, _>("updated_at")?)?,
        }))
    }
}

/// Binds `$1` … `$10` of a job statement: the id, then every field that changes while the job runs, in the order
/// both the INSERT and the UPDATE list them.
fn bind_job_state<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    job: &'q tapwater_types::Job,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    query
        .bind(&job.id)
        .bind(job.status.as_str())
        .bind(job.stage.as_deref())
        .bind(i64::try_from(job.done).unwrap_or(i64::MAX))
        .bind(i64::try_from(job.total).unwrap_or(i64::MAX))
        .bind(job.version)
        .bind(job.error.as_ref().map(|e| e.code.as_str()))
        .bind(job.error.as_ref().map(|e| e.message.as_str()))
        .bind(job.error.as_ref().map(|e| e.message_zh.as_str()))
        .bind(time::format(job.updated_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_pattern_takes_wildcards_literally() {
        assert_eq!(contains_pattern("空氣"), "%空氣%");
        assert_eq!(contains_pattern("100%_a\\b"), "%100\\%\\_a\\\\b%");
        assert_eq!(contains_pattern("PM2.5"), "%pm2.5%");
    }

    #[test]
    fn search_text_lowercases_all_of_unicode() {
        assert_eq!(search_text("ＡＢ Air", "Ü", &["Tag".into()]), "ａｂ air\nü\ntag");
    }

    #[test]
    fn types_normalize_to_one_vocabulary() {
        for (raw, normalized) in [
            ("INTEGER", "integer"),
            ("bigint", "integer"),
            ("TEXT", "text"),
            ("character varying", "text"),
            ("boolean", "boolean"),
            ("double precision", "real"),
            ("REAL", "real"),
            ("bytea", "blob"),
            ("jsonb", "jsonb"),
        ] {
            assert_eq!(normalize_type(raw), normalized, "{raw}");
        }
    }

    #[test]
    fn duplicate_tags_are_dropped_in_order() {
        let tags = ["交通", "air", "交通", "Air"].map(String::from);
        assert_eq!(unique_tags(&tags), ["交通", "air", "Air"]);
    }

    #[test]
    fn transient_errors_are_only_races_and_locks() {
        assert!(!is_transient(&sqlx::Error::RowNotFound));
        assert!(!is_transient(&sqlx::Error::PoolTimedOut));
    }
}
