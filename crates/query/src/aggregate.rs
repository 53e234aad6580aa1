//! The fast path for aggregates: group by, count, sum, avg, min and max on a [`HotTable`].
//!
//! Rows are selected exactly as for row queries ([`crate::select`]). Each group column contributes a code per row:
//! its dictionary code when it has a value dictionary, otherwise a code assigned on the fly by hashing the selected
//! cells. The codes combine into one number per row (mixed radix); when the product of the columns' cardinalities is
//! small that number indexes a dense array of group ids (50 districts: an array of 51 entries), otherwise a hash map.
//! Measures then accumulate per group in flat vectors: integer sums in `i128` (no overflow is possible on the way;
//! a final sum outside `i64` is an error rather than a wrapped or rounded number), decimal sums in `f64`, minima
//! and maxima as the row holding them.
//!
//! Output: group columns (their own Arrow types), then the measures (`count` Int64, `sum_` Int64 or Float64, `avg_`
//! Float64, `min_`/`max_` the column's type), every field nullable. Groups are sorted by `_sort` and then by the
//! group columns ascending, nulls last; `total_groups` counts them before `_offset`/`_limit`.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, UInt32Array};
use arrow::compute::{SortColumn, SortOptions};
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use crate::QueryError;
use crate::hot::{Column, FxBuild, FxHashMap, HotTable, Values};
use crate::params::{AggregateQuery, Measure};
use crate::select::{Selection, select};

/// The groups of an aggregate query (after offset and limit) and how many there were before them.
#[derive(Debug, Clone)]
pub struct AggregateOutput {
    pub batch: RecordBatch,
    pub total_groups: u64,
}

/// Combined group keys up to this many values index a dense array instead of a hash map.
const DENSE_GROUPS: u128 = 1 << 16;

/// Answers an aggregate query on a hot table.
pub fn aggregate(table: &HotTable, query: &AggregateQuery) -> Result<AggregateOutput, QueryError> {
    let selection = select(table, &query.filters)?;
    let columns = |indexes: &mut dyn Iterator<Item = usize>| -> Result<Vec<Column<'_>>, QueryError> {
        indexes
            .map(|c| table.column(c).ok_or_else(|| QueryError::Internal(format!("column {c} out of range"))))
            .collect()
    };
    let group_columns = columns(&mut query.group.iter().copied())?;
    let groups = Groups::build(&selection, &group_columns);
    let group_count = groups.len();

    let schema = table.schema();
    let mut fields: Vec<Field> = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    let internal = |e: arrow::error::ArrowError| QueryError::Internal(format!("aggregate: {e}"));
    let reps = UInt32Array::from(groups.reps.clone());
    for (column, index) in group_columns.iter().zip(&query.group) {
        let array = arrow::compute::take(column.array.as_ref(), &reps, None).map_err(internal)?;
        fields.push(Field::new(&schema.fields[*index].name, array.data_type().clone(), true));
        arrays.push(array);
    }
    for measure in &query.measures {
        let array: ArrayRef = match *measure {
            Measure::Count => Arc::new(Int64Array::from_iter_values(groups.counts.iter().map(|c| *c as i64))),
            Measure::Sum(c) | Measure::Avg(c) => {
                let column = table.column(c).ok_or_else(|| QueryError::Internal(format!("column {c}")))?;
                let average = matches!(measure, Measure::Avg(_));
                sum_or_average(&selection, &groups, &column, average, &schema.fields[c].name)?
            }
            Measure::Min(c) | Measure::Max(c) => {
                let column = table.column(c).ok_or_else(|| QueryError::Internal(format!("column {c}")))?;
                let best = extreme_rows(&selection, &groups, &column, matches!(measure, Measure::Max(_)));
                arrow::compute::take(column.array.as_ref(), &best, None).map_err(internal)?
            }
        };
        fields.push(Field::new(measure.output_name(schema), array.data_type().clone(), true));
        arrays.push(array);
    }

    // Order the groups: `_sort`, then the group columns ascending, nulls last.
    let order: Vec<u32> = if group_count <= 1 || arrays.is_empty() {
        (0..group_count as u32).collect()
    } else {
        let mut sort_columns: Vec<SortColumn> = Vec::new();
        for (name, descending) in &query.sort {
            if let Some(i) = fields.iter().position(|f| f.name() == name) {
                sort_columns.push(SortColumn {
                    values: arrays[i].clone(),
                    options: Some(SortOptions { descending: *descending, nulls_first: false }),
                });
            }
        }
        for array in arrays.iter().take(group_columns.len()) {
            sort_columns.push(SortColumn {
                values: array.clone(),
                options: Some(SortOptions { descending: false, nulls_first: false }),
            });
        }
        arrow::compute::lexsort_to_indices(&sort_columns, None).map_err(internal)?.values().to_vec()
    };
    let start = query.offset.min(order.len());
    let end = start.saturating_add(query.limit).min(order.len());
    let page = UInt32Array::from(order[start..end].to_vec());
    let arrays = arrays
        .iter()
        .map(|a| arrow::compute::take(a.as_ref(), &page, None))
        .collect::<Result<Vec<_>, _>>()
        .map_err(internal)?;
    let options = RecordBatchOptions::new().with_row_count(Some(end - start));
    let batch = RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), arrays, &options).map_err(internal)?;
    Ok(AggregateOutput { batch, total_groups: group_count as u64 })
}

/// Group membership of the selected rows.
struct Groups {
    /// Group id of the k-th selected row (in selection order); `None` when there is one group for everything.
    ids: Option<Vec<u32>>,
    /// A row of each group (for the group columns' values).
    reps: Vec<u32>,
    /// Rows per group.
    counts: Vec<u64>,
}

impl Groups {
    fn len(&self) -> usize {
        self.counts.len()
    }

    fn build(selection: &Selection<'_>, columns: &[Column<'_>]) -> Groups {
        if columns.is_empty() {
            // One group, even over no rows (`count` 0), as SQL's aggregate without GROUP BY.
            return Groups { ids: None, reps: vec![0], counts: vec![selection.count() as u64] };
        }
        let codes: Vec<GroupCodes<'_>> = columns.iter().map(|c| GroupCodes::new(c, selection)).collect();
        let product = codes.iter().try_fold(1u128, |p, c| p.checked_mul(c.cardinality() as u128));
        let selected = selection.count();
        let mut ids = Vec::with_capacity(selected);
        let mut reps = Vec::new();
        let mut counts: Vec<u64> = Vec::new();
        let mut assign = |slot: &mut u32, row: usize| -> u32 {
            if *slot == u32::MAX {
                *slot = reps.len() as u32;
                reps.push(row as u32);
                counts.push(0);
            }
            counts[*slot as usize] += 1;
            *slot
        };
        match product {
            Some(p) if p <= DENSE_GROUPS => {
                let mut table = vec![u32::MAX; p as usize];
                if let [single] = codes.as_slice()
                    && let GroupCodes::Dictionary { codes: by_row, .. } = single
                {
                    selection.for_each(|row| ids.push(assign(&mut table[by_row[row] as usize], row)));
                } else {
                    let mut k = 0;
                    selection.for_each(|row| {
                        let key = combined(&codes, row, k) as usize;
                        ids.push(assign(&mut table[key], row));
                        k += 1;
                    });
                }
            }
            Some(p) if p <= u128::from(u64::MAX) => {
                let mut map: FxHashMap<u64, u32> = FxHashMap::with_capacity_and_hasher(1024, FxBuild::default());
                let mut k = 0;
                selection.for_each(|row| {
                    let slot = map.entry(combined(&codes, row, k)).or_insert(u32::MAX);
                    ids.push(assign(slot, row));
                    k += 1;
                });
            }
            _ => {
                let mut map: FxHashMap<Vec<u32>, u32> = FxHashMap::with_capacity_and_hasher(1024, FxBuild::default());
                let mut k = 0;
                selection.for_each(|row| {
                    let key: Vec<u32> = codes.iter().map(|c| c.code(row, k)).collect();
                    let slot = map.entry(key).or_insert(u32::MAX);
                    ids.push(assign(slot, row));
                    k += 1;
                });
            }
        }
        Groups { ids: Some(ids), reps, counts }
    }

    /// Calls `f(group, row)` for every selected row.
    #[inline]
    fn for_each(&self, selection: &Selection<'_>, mut f: impl FnMut(usize, usize)) {
        match &self.ids {
            None => selection.for_each(|row| f(0, row)),
            Some(ids) => {
                let mut k = 0;
                selection.for_each(|row| {
                    f(ids[k] as usize, row);
                    k += 1;
                });
            }
        }
    }
}

/// The mixed-radix combination of the group columns' codes (fits: the caller checked the product).
#[inline]
fn combined(codes: &[GroupCodes<'_>], row: usize, k: usize) -> u64 {
    codes.iter().fold(0u64, |acc, c| acc * c.cardinality() as u64 + u64::from(c.code(row, k)))
}

/// One group column's codes: the dictionary's (by row), or assigned over the selection (by position).
enum GroupCodes<'a> {
    Dictionary { codes: &'a [u32], cardinality: usize },
    Assigned { codes: Vec<u32>, cardinality: usize },
}

impl<'a> GroupCodes<'a> {
    fn new(column: &Column<'a>, selection: &Selection<'_>) -> GroupCodes<'a> {
        if let Some(dict) = &column.index.dictionary {
            return GroupCodes::Dictionary { codes: &dict.codes, cardinality: dict.len() + 1 };
        }
        let mut codes = Vec::with_capacity(selection.count());
        // Code 0 is null.
        let mut next = 1u32;
        match column.values {
            Values::Text(strings) => {
                let mut map: FxHashMap<&str, u32> = FxHashMap::with_capacity_and_hasher(1024, FxBuild::default());
                selection.for_each(|row| {
                    codes.push(if column.is_null(row) {
                        0
                    } else {
                        *map.entry(strings.value(row)).or_insert_with(|| {
                            next += 1;
                            next - 1
                        })
                    })
                });
            }
            _ => {
                // Decimals group by their bits (through the total-order key), as DataFusion does.
                let mut map: FxHashMap<i64, u32> = FxHashMap::with_capacity_and_hasher(1024, FxBuild::default());
                selection.for_each(|row| {
                    codes.push(if column.is_null(row) {
                        0
                    } else {
                        *map.entry(column.num(row)).or_insert_with(|| {
                            next += 1;
                            next - 1
                        })
                    })
                });
            }
        }
        GroupCodes::Assigned { codes, cardinality: next as usize }
    }

    #[inline]
    fn code(&self, row: usize, k: usize) -> u32 {
        match self {
            GroupCodes::Dictionary { codes, .. } => codes[row],
            GroupCodes::Assigned { codes, .. } => codes[k],
        }
    }

    fn cardinality(&self) -> usize {
        match self {
            GroupCodes::Dictionary { cardinality, .. } | GroupCodes::Assigned { cardinality, .. } => *cardinality,
        }
    }
}

/// `sum_<col>` or `avg_<col>` per group.
fn sum_or_average(
    selection: &Selection<'_>,
    groups: &Groups,
    column: &Column<'_>,
    average: bool,
    name: &str,
) -> Result<ArrayRef, QueryError> {
    let n = groups.len();
    let mut present = vec![0u64; n];
    match column.values {
        Values::Int(values) => {
            let mut sums = vec![0i128; n];
            match column.nulls {
                None => groups.for_each(selection, |g, row| {
                    sums[g] += i128::from(values[row]);
                    present[g] += 1;
                }),
                Some(nulls) => groups.for_each(selection, |g, row| {
                    if nulls.is_valid(row) {
                        sums[g] += i128::from(values[row]);
                        present[g] += 1;
                    }
                }),
            }
            if average {
                let avg = sums.iter().zip(&present).map(|(s, p)| (*p > 0).then(|| *s as f64 / *p as f64));
                return Ok(Arc::new(Float64Array::from_iter(avg)));
            }
            let mut out = Vec::with_capacity(n);
            for (sum, p) in sums.iter().zip(&present) {
                if *p == 0 {
                    out.push(None);
                    continue;
                }
                let sum = i64::try_from(*sum).map_err(|_| {
                    QueryError::invalid_parameter(
                        "_sum",
                        format!("the sum of {name} does not fit a 64-bit integer"),
                        format!("{name} 的總和超出 64 位元整數範圍"),
                    )
                })?;
                out.push(Some(sum));
            }
            Ok(Arc::new(Int64Array::from(out)))
        }
        Values::Float(values) => {
            let mut sums = vec![0f64; n];
            match column.nulls {
                None => groups.for_each(selection, |g, row| {
                    sums[g] += values[row];
                    present[g] += 1;
                }),
                Some(nulls) => groups.for_each(selection, |g, row| {
                    if nulls.is_valid(row) {
                        sums[g] += values[row];
                        present[g] += 1;
                    }
                }),
            }
            let out =
                sums.iter().zip(&present).map(|(s, p)| (*p > 0).then(|| if average { *s / *p as f64 } else { *s }));
            Ok(Arc::new(Float64Array::from_iter(out)))
        }
        _ => Err(QueryError::Internal("sum of a non-numeric column".into())),
    }
}

/// The row holding each group's minimum (or maximum) non-null value, as `take` indices (null: no value).
fn extreme_rows(selection: &Selection<'_>, groups: &Groups, column: &Column<'_>, max: bool) -> UInt32Array {
    let mut best = vec![u32::MAX; groups.len()];
    let wanted = if max { std::cmp::Ordering::Greater } else { std::cmp::Ordering::Less };
    groups.for_each(selection, |g, row| {
        if column.is_null(row) {
            return;
        }
        let b = best[g];
        if b == u32::MAX || column.cmp_cells(row, b as usize) == wanted {
            best[g] = row as u32;
        }
    });
    UInt32Array::from_iter(best.into_iter().map(|b| (b != u32::MAX).then_some(b)))
}
