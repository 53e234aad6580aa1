//! Checks over the values of a version's table. (Being written.)

use arrow::record_batch::RecordBatch;
use tapwater_types::{DatasetMetadata, Finding, Pipeline, TableSchema};

/// Reads a version's table batch by batch and collects findings about its values.
pub struct TableChecker {}

impl TableChecker {
    /// A checker for a table of `schema`, judged against the declared `metadata` and `pipeline` (primary key, code
    /// lists, constraints).
    pub fn new(schema: &TableSchema, metadata: &DatasetMetadata, pipeline: &Pipeline) -> TableChecker {
        let _ = (schema, metadata, pipeline);
        TableChecker {}
    }

    /// Feeds the next batch (columns in schema order, rows in table order).
    pub fn push(&mut self, batch: &RecordBatch) {
        let _ = batch;
    }

    /// The findings, most severe first.
    pub fn finish(self) -> Vec<Finding> {
        Vec::new()
    }
}
