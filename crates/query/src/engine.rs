//! The query engine: keeps recently used versions in memory as [`HotTable`]s under a byte budget, loads the others
//! from their Parquet files in the object store, and runs read-only SQL over them.
//!
//! Versions are immutable, so a hot table keyed by version id is never stale; the LRU only decides what to keep.
//! Concurrent requests for a version that is not in memory share one load (a burst after a cold start or a new
//! publish reads the file once).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt as _};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tapwater_types::{TableSchema, Version};
use tokio::sync::OnceCell;

use crate::QueryError;
use crate::cache::ResponseCache;
use crate::hot::HotTable;
use crate::sql::{SqlLimits, SqlOutput, SqlSandbox, TableResolver};

/// The key of the Parquet key-value metadata entry holding the version's tapwater schema (JSON), written by ingest.
pub const SCHEMA_METADATA_KEY: &str = "tapwater.schema";

/// Rows per decoded Parquet batch while loading (the batches are concatenated into one afterwards).
const LOAD_BATCH_ROWS: usize = 64 * 1024;

/// Limits and budgets of the query engine. Each default is the documented default of its `TAPWATER_*` setting.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryConfig {
    /// Memory for hot tables (versions kept in memory), in bytes; least recently used versions are dropped beyond
    /// it. Default 2 GiB.
    pub memory_budget_bytes: u64,
    /// Time limit of one SQL query (planning and running). Default 5 s.
    pub sql_timeout: Duration,
    /// Most rows a SQL query returns; more are cut and the response says `truncated`. Default 10 000.
    pub sql_max_rows: usize,
    /// Memory for the response cache, in bytes; 0 disables it. Default 256 MiB.
    pub response_cache_bytes: u64,
}

impl Default for QueryConfig {
    fn default() -> Self {
        QueryConfig {
            memory_budget_bytes: 2 * 1024 * 1024 * 1024,
            sql_timeout: Duration::from_secs(5),
            sql_max_rows: 10_000,
            response_cache_bytes: 256 * 1024 * 1024,
        }
    }
}

type Load = Arc<OnceCell<Arc<HotTable>>>;

/// Answers queries about published versions. `Send + Sync`; share it as an `Arc`.
pub struct QueryEngine {
    store: Arc<dyn ObjectStore>,
    config: QueryConfig,
    /// Hot tables by version id, weighed in KiB (moka weights are u32).
    tables: moka::sync::Cache<String, Arc<HotTable>>,
    /// Loads in flight by version id, so concurrent requests for the same version wait for one load.
    loading: Mutex<HashMap<String, Load>>,
    loads: AtomicU64,
    responses: ResponseCache,
    sandbox: SqlSandbox,
}

impl std::fmt::Debug for QueryEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryEngine")
            .field("config", &self.config)
            .field("hot_tables", &self.tables.entry_count())
            .finish_non_exhaustive()
    }
}

impl QueryEngine {
    pub fn new(store: Arc<dyn ObjectStore>, config: QueryConfig) -> Self {
        let tables = moka::sync::Cache::builder()
            .max_capacity(config.memory_budget_bytes / 1024)
            .weigher(|_id: &String, table: &Arc<HotTable>| {
                u32::try_from(table.memory_bytes().div_ceil(1024)).unwrap_or(u32::MAX)
            })
            // Plain LRU: a version used once recently (a new publish) must win over one used often long ago.
            .eviction_policy(moka::policy::EvictionPolicy::lru())
            .eviction_listener(|id: Arc<String>, table: Arc<HotTable>, cause| {
                tracing::info!(version = %id, bytes = table.memory_bytes(), ?cause, "hot table dropped");
            })
            .build();
        let sandbox = match SqlSandbox::new() {
            Ok(sandbox) => sandbox,
            // Building the session only fails on an invalid static configuration: a bug, caught by every test.
            Err(e) => panic!("the SQL sandbox configuration is invalid: {e}"),
        };
        QueryEngine {
            store,
            responses: ResponseCache::new(config.response_cache_bytes),
            config,
            tables,
            loading: Mutex::new(HashMap::new()),
            loads: AtomicU64::new(0),
            sandbox,
        }
    }

    pub fn config(&self) -> &QueryConfig {
        &self.config
    }

    pub fn response_cache(&self) -> &ResponseCache {
        &self.responses
    }

    /// The version in memory: from the LRU, or loaded from its Parquet file (concurrent requests for the same
    /// version share one load). Evicts least-recently-used tables to stay within the budget (weight =
    /// `memory_bytes()`); a table larger than the whole budget is returned but not kept.
    pub async fn hot_table(&self, version: &Version) -> Result<Arc<HotTable>, QueryError> {
        if let Some(table) = self.tables.get(&version.id) {
            return Ok(table);
        }
        let load = {
            let mut loading = self.loading.lock().map_err(|_| poisoned())?;
            // Checked again under the lock: a load may have finished since the first look.
            if let Some(table) = self.tables.get(&version.id) {
                return Ok(table);
            }
            Arc::clone(loading.entry(version.id.clone()).or_default())
        };
        let result = load
            .get_or_try_init(|| async {
                let table = Arc::new(self.load(version).await?);
                // Into the LRU before the in-flight entry goes, so no request in between starts a second load.
                self.tables.insert(version.id.clone(), Arc::clone(&table));
                Ok::<_, QueryError>(table)
            })
            .await
            .cloned();
        // A failed load is not remembered: the next request tries again.
        if let Ok(mut loading) = self.loading.lock()
            && loading.get(&version.id).is_some_and(|current| Arc::ptr_eq(current, &load))
        {
            loading.remove(&version.id);
        }
        result
    }

    /// The version if it is in memory, without loading it.
    pub fn cached_hot_table(&self, version_id: &str) -> Option<Arc<HotTable>> {
        self.tables.get(version_id)
    }

    /// Bytes held by hot tables (after pending evictions), as weighed by the LRU (rounded up to KiB per table).
    pub fn hot_bytes(&self) -> u64 {
        self.tables.run_pending_tasks();
        self.tables.weighted_size() * 1024
    }

    /// Number of versions in memory (after pending evictions).
    pub fn hot_count(&self) -> u64 {
        self.tables.run_pending_tasks();
        self.tables.entry_count()
    }

    /// Versions loaded from Parquet since start (a metric; also how tests see that loads are shared).
    pub fn load_count(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }

    /// Read-only SQL; see [`crate::sql`] for the sandbox rules.
    pub async fn sql(&self, sql: &str, tables: &dyn TableResolver) -> Result<SqlOutput, QueryError> {
        let limits = SqlLimits { timeout: self.config.sql_timeout, max_rows: self.config.sql_max_rows };
        self.sandbox.run(sql, tables, limits).await
    }

    /// Reads the version's Parquet file and builds its hot table. Decoding is CPU work and runs on the blocking
    /// pool, so it does not stall the requests being served meanwhile.
    async fn load(&self, version: &Version) -> Result<HotTable, QueryError> {
        self.loads.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let path = Path::parse(&version.data_path)
            .map_err(|e| QueryError::Internal(format!("version {} has an invalid data path: {e}", version.id)))?;
        let bytes = self
            .store
            .get(&path)
            .await
            .map_err(|e| QueryError::Internal(format!("cannot read version {} data {path}: {e}", version.id)))?
            .bytes()
            .await
            .map_err(|e| QueryError::Internal(format!("cannot read version {} data {path}: {e}", version.id)))?;
        let file_bytes = bytes.len();
        let version_id = version.id.clone();
        let seq = version.seq;
        let fallback_schema = version.schema.clone();
        let table = tokio::task::spawn_blocking(move || decode(version_id, seq, fallback_schema, bytes))
            .await
            .map_err(|e| QueryError::Internal(format!("loading version {} was interrupted: {e}", version.id)))??;
        tracing::info!(
            version = %version.id,
            rows = table.row_count(),
            file_bytes,
            memory_bytes = table.memory_bytes(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "hot table loaded"
        );
        Ok(table)
    }
}

/// Decodes a whole Parquet file into one batch and builds the hot table. The tapwater schema comes from the file's
/// own metadata (it travels with the data), else from the catalog's copy.
fn decode(version_id: String, seq: i64, fallback_schema: TableSchema, bytes: Bytes) -> Result<HotTable, QueryError> {
    let parquet_error = |e: parquet::errors::ParquetError| {
        QueryError::Internal(format!("version {version_id} has an unreadable Parquet file: {e}"))
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(parquet_error)?;
    let schema = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|entries| entries.iter().find(|entry| entry.key == SCHEMA_METADATA_KEY))
        .and_then(|entry| entry.value.as_deref())
        .and_then(|json| match serde_json::from_str::<TableSchema>(json) {
            Ok(schema) => Some(schema),
            Err(e) => {
                tracing::warn!(version = %version_id, error = %e, "unreadable tapwater.schema metadata; using the catalog's");
                None
            }
        })
        .unwrap_or(fallback_schema);
    let arrow_schema = Arc::clone(builder.schema());
    let reader = builder.with_batch_size(LOAD_BATCH_ROWS).build().map_err(parquet_error)?;
    let batches = reader
        .collect::<Result<Vec<RecordBatch>, _>>()
        .map_err(|e| QueryError::Internal(format!("version {version_id} has an unreadable Parquet file: {e}")))?;
    let batch = arrow::compute::concat_batches(&arrow_schema, &batches)
        .map_err(|e| QueryError::Internal(format!("cannot assemble version {version_id}: {e}")))?;
    drop(batches);
    HotTable::build(version_id, seq, schema, batch)
}

fn poisoned() -> QueryError {
    QueryError::Internal("hot table load registry poisoned".to_string())
}
