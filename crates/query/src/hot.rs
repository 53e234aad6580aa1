//! Hot tables: one version held in memory as a single Arrow batch, plus indexes built when it is loaded.
//!
//! Versions are immutable, so a hot table is never updated: it is built once from the version's Parquet file and
//! dropped by the engine's LRU when memory is needed.

use arrow::record_batch::RecordBatch;
use tapwater_types::TableSchema;

use crate::QueryError;

/// A version in memory. Columns of `batch` are in the order of `schema.fields`.
#[derive(Debug)]
pub struct HotTable {
    version_id: String,
    seq: i64,
    schema: TableSchema,
    batch: RecordBatch,
    memory_bytes: usize,
}

impl HotTable {
    /// Builds a hot table (and its indexes) from all rows of a version in one batch.
    pub fn build(version_id: String, seq: i64, schema: TableSchema, batch: RecordBatch) -> Result<Self, QueryError> {
        if batch.num_columns() != schema.fields.len() {
            return Err(QueryError::Internal(format!(
                "batch has {} columns, schema {}",
                batch.num_columns(),
                schema.fields.len()
            )));
        }
        let memory_bytes = batch.get_array_memory_size();
        Ok(HotTable { version_id, seq, schema, batch, memory_bytes })
    }

    pub fn version_id(&self) -> &str {
        &self.version_id
    }

    /// The per-dataset version number.
    pub fn seq(&self) -> i64 {
        self.seq
    }

    pub fn schema(&self) -> &TableSchema {
        &self.schema
    }

    pub fn batch(&self) -> &RecordBatch {
        &self.batch
    }

    pub fn row_count(&self) -> usize {
        self.batch.num_rows()
    }

    /// Bytes held by the data and its indexes (the LRU's weight).
    pub fn memory_bytes(&self) -> usize {
        self.memory_bytes
    }
}
