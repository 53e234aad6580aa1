//! Repeated rows and repeated keys: each row (or key tuple) is encoded by Arrow's row format and remembered by a
//! 128-bit hash made of two independent 64-bit hashes (FxHash and SipHash), so a false repeat needs both to
//! collide at once (about one chance in 10^25 for a billion rows) while memory stays at 16 bytes per row.

use std::hash::{DefaultHasher, Hasher};

use arrow::array::{Array, ArrayRef};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use rustc_hash::{FxHashSet, FxHasher};

use super::Sample;

/// Finds rows whose values in `columns` repeat an earlier row's.
pub(super) struct RepeatTracker {
    columns: Vec<usize>,
    /// Made from the first batch's types (a text column may come as `Utf8`, `LargeUtf8` or `Utf8View`).
    converter: Option<RowConverter>,
    /// Rows with a null in one of the columns are left out (keys and unique columns), or not (whole rows).
    skip_nulls: bool,
    /// Keep the repeated values as examples (not for whole rows: too long).
    examples: bool,
    seen: FxHashSet<u128>,
    pub(super) repeats: Sample,
    /// Rows compared (after leaving out those with nulls).
    pub(super) compared: u64,
    /// The encoding failed (a type the row format does not take): no finding rather than a wrong one.
    pub(super) broken: bool,
}

impl RepeatTracker {
    pub(super) fn new(columns: Vec<usize>, skip_nulls: bool, examples: bool) -> RepeatTracker {
        RepeatTracker {
            columns,
            converter: None,
            skip_nulls,
            examples,
            seen: FxHashSet::default(),
            repeats: Sample::default(),
            compared: 0,
            broken: false,
        }
    }

    pub(super) fn push(&mut self, batch: &RecordBatch, first_row: u64) {
        if self.broken {
            return;
        }
        let arrays: Vec<ArrayRef> = self.columns.iter().map(|&i| batch.column(i).clone()).collect();
        if self.converter.is_none() {
            let fields = arrays.iter().map(|a| SortField::new(a.data_type().clone())).collect();
            self.converter = RowConverter::new(fields).ok();
        }
        let Some(Ok(rows)) = self.converter.as_ref().map(|c| c.convert_columns(&arrays)) else {
            self.broken = true;
            return;
        };
        let any_null = arrays.iter().any(|a| a.null_count() > 0);
        let formatters: Vec<ArrayFormatter<'_>> = if self.examples {
            let options = FormatOptions::default();
            arrays.iter().filter_map(|a| ArrayFormatter::try_new(a.as_ref(), &options).ok()).collect()
        } else {
            Vec::new()
        };
        for (r, row) in rows.iter().enumerate() {
            if self.skip_nulls && any_null && arrays.iter().any(|a| a.is_null(r)) {
                continue;
            }
            self.compared += 1;
            if !self.seen.insert(hash128(row.as_ref())) {
                let row_number = first_row + r as u64 + 1;
                if self.examples && formatters.len() == arrays.len() {
                    self.repeats.add_with(row_number, || {
                        formatters.iter().map(|f| f.value(r).to_string()).collect::<Vec<_>>().join(", ")
                    });
                } else {
                    self.repeats.add_row(row_number);
                }
            }
        }
    }
}

#[inline]
fn hash128(bytes: &[u8]) -> u128 {
    let mut fx = FxHasher::default();
    fx.write(bytes);
    let mut sip = DefaultHasher::new();
    sip.write(bytes);
    (u128::from(fx.finish()) << 64) | u128::from(sip.finish())
}
