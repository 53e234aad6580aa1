//! The fast path for row queries: filters, sort, offset and keyset paging on a [`HotTable`].
//!
//! How a query runs:
//! 1. **Filters → a selection.** Range filters (`eq gt gte lt lte`) on an ascending column become a row range by
//!    binary search. Every filter on a column with a value dictionary is evaluated once per distinct value (not per
//!    row) into a set of accepted codes. A lone dictionary filter *is* its posting lists (one list is used as a
//!    slice; a few are merged on the fly while paging). Otherwise the dictionary filter with the fewest rows drives,
//!    when they are few: the other filters are checked on its rows alone. Failing that, each filter becomes a bitmap
//!    over the row range (tight typed loops) and the bitmaps are ANDed. `total` is the length or popcount of the
//!    result, exact.
//! 2. **Order → the page.** File order (no `_sort`, or a sort by an ascending column) walks the selection from the
//!    start or the cursor. A single sort key walks the column's sort permutation (built once per version), from a
//!    binary-searched cursor position, when that touches fewer rows than sorting the matches. Several keys walk
//!    the first key's permutation run by run (rows tying on it), ordering each run by the other keys. Otherwise the
//!    matches are partially sorted (`select_nth_unstable` + a sort of the first `offset + limit + 1`), the cursor
//!    acting as a filter. Ties are broken by row id; nulls sort last in both directions.
//! 3. **Cursor.** One row beyond the page is fetched to know whether another page follows; if so, `next_cursor`
//!    encodes the last row's sort keys and id ([`crate::cursor`]).
//!
//! Measured on the benchmark's 1M-row table, one core, release (`examples/fastpath_bench.rs`): `district=D&
//! id__gte=N&_sort=id&_limit=100` 3 µs; paging 10,000 pages of `_sort=lon` 3–5 µs per page, the last as fast as
//! the first (after a one-time 32 ms permutation build).

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::QueryError;
use crate::cursor::{self, Cursor};
use crate::hot::{Code, Column, HotTable, Key, Values, value_key};
use crate::params::{Filter, FilterOp, RowQuery, SortKey};

/// One page of rows: row ids of the hot table's batch in output order, and the columns to show.
#[derive(Debug, Clone, PartialEq)]
pub struct RowPage {
    pub row_ids: Vec<u32>,
    /// Column indexes (schema order numbers) in output order.
    pub columns: Vec<usize>,
    /// Number of rows matching the filters (all pages).
    pub total: u64,
    /// Token for the next page; present iff more rows follow this page.
    pub next_cursor: Option<String>,
}

/// Answers a row query on a hot table.
pub fn select_rows(table: &HotTable, query: &RowQuery) -> Result<RowPage, QueryError> {
    if let Some(c) = &query.cursor
        && (c.version != table.seq() || c.after_row as usize >= table.row_count().max(1))
    {
        return Err(QueryError::InvalidCursor { param: "_cursor".to_string() });
    }
    let columns = query.fields.clone().unwrap_or_else(|| (0..table.schema().fields.len()).collect());
    let selection = select(table, &query.filters)?;
    let total = selection.count();
    if query.limit == 0 || query.offset >= total {
        return Ok(RowPage { row_ids: Vec::new(), columns, total: total as u64, next_cursor: None });
    }
    let order = SortOrder::new(table, &query.sort)?;
    let take = query.limit.saturating_add(1);
    let mut rows = page_rows(table, &selection, &order, query, take)?;
    let more = rows.len() > query.limit;
    rows.truncate(query.limit);
    let next_cursor = match (more, rows.last()) {
        (true, Some(&last)) => {
            let key: Vec<_> = order.keys.iter().map(|(c, _)| c.value(last as usize)).collect();
            Some(cursor::encode(table.seq(), table.schema(), &query.filters, &query.sort, &key, last))
        }
        _ => None,
    };
    Ok(RowPage { row_ids: rows, columns, total: total as u64, next_cursor })
}

/// The sort keys of a query, resolved to columns.
struct SortOrder<'a> {
    keys: Vec<(Column<'a>, bool)>,
}

impl<'a> SortOrder<'a> {
    fn new(table: &'a HotTable, sort: &[SortKey]) -> Result<SortOrder<'a>, QueryError> {
        let keys =
            sort.iter().map(|k| column(table, k.column).map(|c| (c, k.descending))).collect::<Result<Vec<_>, _>>()?;
        Ok(SortOrder { keys })
    }

    /// Row order: the keys, then row id.
    fn cmp_rows(&self, a: u32, b: u32) -> Ordering {
        for (column, descending) in &self.keys {
            let o = column.cmp_rows(a as usize, b as usize, *descending);
            if o != Ordering::Equal {
                return o;
            }
        }
        a.cmp(&b)
    }

    /// Where `row` stands relative to the cursor position.
    fn cmp_cursor(&self, row: u32, cursor_keys: &[Option<Key<'_>>], cursor_row: u32) -> Ordering {
        for ((column, descending), key) in self.keys.iter().zip(cursor_keys) {
            let o = column.cmp_row_key(row as usize, key.as_ref(), *descending);
            if o != Ordering::Equal {
                return o;
            }
        }
        row.cmp(&cursor_row)
    }
}

fn column(table: &HotTable, index: usize) -> Result<Column<'_>, QueryError> {
    table.column(index).ok_or_else(|| QueryError::Internal(format!("column {index} out of range")))
}

/// The rows of the page plus one (to know whether more follow): `take` rows after the cursor or `offset`.
fn page_rows(
    table: &HotTable,
    selection: &Selection<'_>,
    order: &SortOrder<'_>,
    query: &RowQuery,
    take: usize,
) -> Result<Vec<u32>, QueryError> {
    let n = table.row_count();
    let cursor: Option<&Cursor> = query.cursor.as_ref();
    let skip = query.offset;
    if order.keys.is_empty() {
        let from = cursor.map_or(0, |c| c.after_row as usize + 1);
        return Ok(selection.collect_forward(from, skip, take));
    }
    if let [(column, descending)] = order.keys.as_slice() {
        if column.index.ascending && !descending {
            let from = cursor.map_or(0, |c| c.after_row as usize + 1);
            return Ok(selection.collect_forward(from, skip, take));
        }
        if column.index.strictly_ascending && *descending {
            let before = cursor.map_or(n, |c| c.after_row as usize);
            return Ok(selection.collect_backward(before, skip, take));
        }
        let matches = selection.count();
        let sort_key = query.sort[0];
        let ready = column.index.dictionary.is_some() || matches >= n / 16;
        // Walking the permutation visits about (offset + take) · n / matches rows; sorting the matches touches
        // each of them (plus the permutation may have to be built).
        let walk = (skip.saturating_add(take) as f64) * (n as f64) / (matches.max(1) as f64);
        if ready && walk <= 2.0 * matches as f64 {
            let permutation = table
                .permutation(sort_key.column, sort_key.descending)
                .ok_or_else(|| QueryError::Internal("permutation".into()))?;
            let start = match cursor {
                Some(c) => {
                    let keys: Vec<Option<Key<'_>>> = c.after_key.iter().map(|v| v.as_ref().map(value_key)).collect();
                    permutation.partition_point(|&row| order.cmp_cursor(row, &keys, c.after_row) != Ordering::Greater)
                }
                None => 0,
            };
            let mut out = Vec::with_capacity(take.min(matches));
            let mut skipped = 0;
            for &row in &permutation[start..] {
                if selection.contains(row as usize) {
                    if skipped < skip {
                        skipped += 1;
                        continue;
                    }
                    out.push(row);
                    if out.len() == take {
                        break;
                    }
                }
            }
            return Ok(out);
        }
    }
    // Several keys: walk the first key's permutation run by run (rows tying on the first key), ordering each run by
    // the other keys, when the first key's permutation is at hand and the walk is short.
    if let [(first, _), _, ..] = order.keys.as_slice() {
        let matches = selection.count();
        let sort_key = query.sort[0];
        let ready = first.index.dictionary.is_some() || matches >= n / 16;
        let walk = (skip.saturating_add(take) as f64) * (n as f64) / (matches.max(1) as f64);
        if ready && walk <= 2.0 * matches as f64 {
            let permutation = table
                .permutation(sort_key.column, sort_key.descending)
                .ok_or_else(|| QueryError::Internal("permutation".into()))?;
            return Ok(walk_runs(table, permutation, selection, order, &query.sort, cursor, skip, take));
        }
    }
    // Top-k over the matching rows.
    let mut candidates = selection.to_ids();
    if let Some(c) = cursor {
        let keys: Vec<Option<Key<'_>>> = c.after_key.iter().map(|v| v.as_ref().map(value_key)).collect();
        candidates.retain(|&row| order.cmp_cursor(row, &keys, c.after_row) == Ordering::Greater);
    }
    let wanted = skip.saturating_add(take);
    if wanted < candidates.len() {
        candidates.select_nth_unstable_by(wanted - 1, |&a, &b| order.cmp_rows(a, b));
        candidates.truncate(wanted);
    }
    candidates.sort_unstable_by(|&a, &b| order.cmp_rows(a, b));
    Ok(candidates.into_iter().skip(skip).take(take).collect())
}

/// Multi-key order by walking the first key's permutation: each run of rows tying on the first key is filtered by
/// the selection (and, for the cursor's run, by the cursor) and ordered by the remaining keys, partially when only
/// a few of its rows are needed. With exactly two keys, a large run (say `_sort=city,-lon` with 88 % of the rows in
/// one city) is instead read in the second key's permutation order, so a page costs about `take × n / run` rows,
/// not the whole run.
#[allow(clippy::too_many_arguments)]
fn walk_runs(
    table: &HotTable,
    permutation: &[u32],
    selection: &Selection<'_>,
    order: &SortOrder<'_>,
    sort: &[SortKey],
    cursor: Option<&Cursor>,
    skip: usize,
    take: usize,
) -> Vec<u32> {
    let Some((first, first_descending)) = order.keys.first() else { return Vec::new() };
    let n = permutation.len().max(1) as f64;
    let density = (selection.count() as f64 / n).max(1.0 / n);
    let cursor_keys: Option<(Vec<Option<Key<'_>>>, u32)> =
        cursor.map(|c| (c.after_key.iter().map(|v| v.as_ref().map(value_key)).collect(), c.after_row));
    let mut i = match &cursor_keys {
        // The start of the run holding the cursor's first key.
        Some((keys, _)) => permutation.partition_point(|&row| {
            first.cmp_row_key(row as usize, keys.first().and_then(Option::as_ref), *first_descending) == Ordering::Less
        }),
        None => 0,
    };
    let mut out = Vec::with_capacity(take.min(4096));
    let mut skipped = 0;
    let mut run: Vec<u32> = Vec::new();
    let mut first_run = true;
    while i < permutation.len() && out.len() < take {
        let head = permutation[i] as usize;
        let end =
            i + permutation[i..].partition_point(|&row| first.cmp_rows(head, row as usize, false) == Ordering::Equal);
        let in_cursor_run = first_run
            && cursor_keys.as_ref().is_some_and(|(keys, _)| {
                first.cmp_row_key(head, keys.first().and_then(Option::as_ref), *first_descending) == Ordering::Equal
            });
        let needed = (skip - skipped) + (take - out.len());
        let run_len = (end - i) as f64;
        if let ([_, (second, second_descending)], [_, second_key]) = (order.keys.as_slice(), sort)
            && needed as f64 * n / (run_len * density) * 4.0 < run_len
            && let Some(second_permutation) = table.permutation(second_key.column, second_key.descending)
        {
            let start = match (&cursor_keys, in_cursor_run) {
                (Some((keys, after_row)), true) => second_permutation.partition_point(|&row| {
                    second
                        .cmp_row_key(row as usize, keys.get(1).and_then(Option::as_ref), *second_descending)
                        .then(row.cmp(after_row))
                        != Ordering::Greater
                }),
                _ => 0,
            };
            for &row in &second_permutation[start..] {
                if first.cmp_rows(head, row as usize, false) == Ordering::Equal && selection.contains(row as usize) {
                    if skipped < skip {
                        skipped += 1;
                    } else {
                        out.push(row);
                        if out.len() == take {
                            break;
                        }
                    }
                }
            }
            first_run = false;
            i = end.max(i + 1);
            continue;
        }
        run.clear();
        run.extend(permutation[i..end].iter().copied().filter(|&row| selection.contains(row as usize)));
        if in_cursor_run && let Some((keys, after_row)) = &cursor_keys {
            run.retain(|&row| order.cmp_cursor(row, keys, *after_row) == Ordering::Greater);
        }
        first_run = false;
        if needed < run.len() {
            run.select_nth_unstable_by(needed - 1, |&a, &b| order.cmp_rows(a, b));
            run.truncate(needed);
        }
        run.sort_unstable_by(|&a, &b| order.cmp_rows(a, b));
        for &row in &run {
            if skipped < skip {
                skipped += 1;
            } else if out.len() < take {
                out.push(row);
            }
        }
        i = end.max(i + 1);
    }
    out
}

/// The rows matching a query's filters.
#[derive(Debug)]
pub(crate) enum Selection<'a> {
    /// Every row in `lo..hi`.
    Range { lo: usize, hi: usize },
    /// These rows (ascending).
    Ids(Cow<'a, [u32]>),
    /// Row `lo + i` matches iff bit `i` is set.
    Mask { lo: usize, bits: Bits },
    /// The union of a few posting lists (each ascending, restricted to `lo..hi`); a row in `lo..hi` matches iff
    /// `accept[codes[row]]`.
    Postings { lists: Vec<&'a [u32]>, count: usize, lo: usize, hi: usize, codes: &'a [Code], accept: Vec<bool> },
}

/// At most this many posting lists are merged on the fly; more become a bitmap or a sorted list.
const MAX_MERGED_LISTS: usize = 32;

impl Selection<'_> {
    pub(crate) fn count(&self) -> usize {
        match self {
            Selection::Range { lo, hi } => hi.saturating_sub(*lo),
            Selection::Ids(ids) => ids.len(),
            Selection::Mask { bits, .. } => bits.count(),
            Selection::Postings { count, .. } => *count,
        }
    }

    #[inline]
    pub(crate) fn contains(&self, row: usize) -> bool {
        match self {
            Selection::Range { lo, hi } => *lo <= row && row < *hi,
            Selection::Ids(ids) => ids.binary_search(&(row as u32)).is_ok(),
            Selection::Mask { lo, bits } => row >= *lo && row - lo < bits.len && bits.get(row - lo),
            Selection::Postings { lo, hi, codes, accept, .. } => *lo <= row && row < *hi && accept[codes[row] as usize],
        }
    }

    /// Calls `f` with each matching row: ascending, except for `Postings` (list after list). Always the same order
    /// for the same selection.
    #[inline]
    pub(crate) fn for_each(&self, mut f: impl FnMut(usize)) {
        match self {
            Selection::Range { lo, hi } => (*lo..*hi).for_each(f),
            Selection::Ids(ids) => ids.iter().for_each(|r| f(*r as usize)),
            Selection::Mask { lo, bits } => {
                for (w, &word) in bits.words.iter().enumerate() {
                    let mut word = word;
                    while word != 0 {
                        f(lo + w * 64 + word.trailing_zeros() as usize);
                        word &= word - 1;
                    }
                }
            }
            Selection::Postings { lists, .. } => lists.iter().for_each(|l| l.iter().for_each(|r| f(*r as usize))),
        }
    }

    pub(crate) fn to_ids(&self) -> Vec<u32> {
        match self {
            Selection::Ids(ids) => ids.to_vec(),
            _ => {
                let mut out = Vec::with_capacity(self.count());
                self.for_each(|r| out.push(r as u32));
                out
            }
        }
    }

    /// Up to `take` matching rows ≥ `from`, ascending, after skipping `skip` of them.
    fn collect_forward(&self, from: usize, skip: usize, take: usize) -> Vec<u32> {
        match self {
            Selection::Range { lo, hi } => {
                let start = from.max(*lo).saturating_add(skip).min(*hi);
                (start..start.saturating_add(take).min(*hi)).map(|r| r as u32).collect()
            }
            Selection::Ids(ids) => {
                let start = ids.partition_point(|&r| (r as usize) < from).saturating_add(skip).min(ids.len());
                ids[start..start.saturating_add(take).min(ids.len())].to_vec()
            }
            Selection::Mask { lo, bits } => {
                let mut out = Vec::with_capacity(take.min(1024));
                let mut next = bits.nth_set_from(from.saturating_sub(*lo), skip);
                while let Some(i) = next {
                    if out.len() == take {
                        break;
                    }
                    out.push((lo + i) as u32);
                    next = bits.next_set(i + 1);
                }
                out
            }
            Selection::Postings { lists, .. } => {
                let mut heads: Vec<usize> = lists.iter().map(|l| l.partition_point(|&r| (r as usize) < from)).collect();
                merge(lists, &mut heads, skip, take, |a, b| a < b, |l, h| l.get(*h).map(|r| (*r, *h + 1)))
            }
        }
    }

    /// Up to `take` matching rows < `before`, descending, after skipping `skip` of them.
    fn collect_backward(&self, before: usize, skip: usize, take: usize) -> Vec<u32> {
        match self {
            Selection::Range { lo, hi } => {
                let end = before.min(*hi).saturating_sub(skip).max(*lo);
                (end.saturating_sub(take).max(*lo)..end).rev().map(|r| r as u32).collect()
            }
            Selection::Ids(ids) => {
                let end = ids.partition_point(|&r| (r as usize) < before).saturating_sub(skip);
                ids[end.saturating_sub(take)..end].iter().rev().copied().collect()
            }
            Selection::Mask { lo, bits } => {
                let mut out = Vec::with_capacity(take.min(1024));
                let mut next = bits.nth_set_before(before.saturating_sub(*lo), skip);
                while let Some(i) = next {
                    if out.len() == take {
                        break;
                    }
                    out.push((lo + i) as u32);
                    next = bits.nth_set_before(i, 0);
                }
                out
            }
            Selection::Postings { lists, .. } => {
                let mut heads: Vec<usize> =
                    lists.iter().map(|l| l.partition_point(|&r| (r as usize) < before)).collect();
                merge(lists, &mut heads, skip, take, |a, b| a > b, |l, h| h.checked_sub(1).map(|p| (l[p], p)))
            }
        }
    }
}

/// Merges sorted lists from per-list positions: skips `skip` rows, returns the next `take`. `next(list, head)` gives
/// a list's next row and its new head; `first(a, b)` says whether row `a` comes before `b`.
fn merge(
    lists: &[&[u32]],
    heads: &mut [usize],
    skip: usize,
    take: usize,
    first: impl Fn(u32, u32) -> bool,
    next: impl Fn(&[u32], &usize) -> Option<(u32, usize)>,
) -> Vec<u32> {
    let mut out = Vec::with_capacity(take.min(1024));
    let mut skipped = 0;
    while out.len() < take {
        let mut best: Option<(usize, u32, usize)> = None;
        for (i, (list, head)) in lists.iter().zip(heads.iter()).enumerate() {
            if let Some((row, new_head)) = next(list, head)
                && best.is_none_or(|(_, b, _)| first(row, b))
            {
                best = Some((i, row, new_head));
            }
        }
        let Some((i, row, new_head)) = best else { break };
        heads[i] = new_head;
        if skipped < skip {
            skipped += 1;
        } else {
            out.push(row);
        }
    }
    out
}

/// A plain bitmap, bit `i` of word `i / 64`.
#[derive(Debug, Clone)]
pub(crate) struct Bits {
    words: Vec<u64>,
    len: usize,
}

impl Bits {
    /// Bit `i` = `f(i)`, 64 at a time.
    #[inline]
    fn from_fn(len: usize, mut f: impl FnMut(usize) -> bool) -> Bits {
        let mut words = Vec::with_capacity(len.div_ceil(64));
        let full = len / 64;
        for w in 0..full {
            let base = w * 64;
            let mut word = 0u64;
            for b in 0..64 {
                word |= u64::from(f(base + b)) << b;
            }
            words.push(word);
        }
        if !len.is_multiple_of(64) {
            let base = full * 64;
            let mut word = 0u64;
            for b in 0..len % 64 {
                word |= u64::from(f(base + b)) << b;
            }
            words.push(word);
        }
        Bits { words, len }
    }

    fn and_with(&mut self, other: &Bits) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= *b;
        }
    }

    fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    #[inline]
    fn get(&self, i: usize) -> bool {
        (self.words[i / 64] >> (i % 64)) & 1 == 1
    }

    /// The first set bit ≥ `from`.
    fn next_set(&self, from: usize) -> Option<usize> {
        self.nth_set_from(from, 0)
    }

    /// The `n`-th (0-based) set bit ≥ `from`.
    fn nth_set_from(&self, from: usize, mut n: usize) -> Option<usize> {
        if from >= self.len {
            return None;
        }
        let mut w = from / 64;
        let mut word = self.words[w] & (u64::MAX << (from % 64));
        loop {
            let ones = word.count_ones() as usize;
            if n < ones {
                for _ in 0..n {
                    word &= word - 1;
                }
                return Some(w * 64 + word.trailing_zeros() as usize);
            }
            n -= ones;
            w += 1;
            word = *self.words.get(w)?;
        }
    }

    /// The `n`-th (0-based) set bit < `before`, counting downwards.
    fn nth_set_before(&self, before: usize, mut n: usize) -> Option<usize> {
        let before = before.min(self.len);
        if before == 0 {
            return None;
        }
        let last = before - 1;
        let mut w = last / 64;
        let bit = last % 64;
        let mut word = self.words[w] & if bit == 63 { u64::MAX } else { (1u64 << (bit + 1)) - 1 };
        loop {
            let ones = word.count_ones() as usize;
            if n < ones {
                for _ in 0..n {
                    word &= !(1u64 << (63 - word.leading_zeros()));
                }
                return Some(w * 64 + 63 - word.leading_zeros() as usize);
            }
            n -= ones;
            if w == 0 {
                return None;
            }
            w -= 1;
            word = self.words[w];
        }
    }
}

/// Computes the rows matching every filter.
pub(crate) fn select<'a>(table: &'a HotTable, filters: &'a [Filter]) -> Result<Selection<'a>, QueryError> {
    let n = table.row_count();
    let (mut lo, mut hi) = (0usize, n);
    let mut predicates: Vec<Predicate<'a>> = Vec::new();
    for filter in filters {
        let col = column(table, filter.column)?;
        // Nothing is null in a column without nulls.
        if filter.op == FilterOp::IsNull && col.index.null_count == 0 {
            if !filter.negate_null {
                hi = lo;
            }
            continue;
        }
        // A range filter on an ascending column is a row range.
        if col.index.ascending
            && let (Some(range_op), [value]) = (RangeOp::of(filter.op), filter.values.as_slice())
        {
            let key = value_key(value);
            let first_ge = partition_rows(n, |r| col.key(r) < key);
            let first_gt = partition_rows(n, |r| col.key(r) <= key);
            let (a, b) = match range_op {
                RangeOp::Eq => (first_ge, first_gt),
                RangeOp::Gt => (first_gt, n),
                RangeOp::Gte => (first_ge, n),
                RangeOp::Lt => (0, first_ge),
                RangeOp::Lte => (0, first_gt),
            };
            lo = lo.max(a);
            hi = hi.min(b);
            continue;
        }
        predicates.push(Predicate::new(col, filter));
    }
    if lo >= hi {
        return Ok(Selection::Range { lo, hi: lo });
    }
    if predicates.is_empty() {
        return Ok(Selection::Range { lo, hi });
    }
    // A lone dictionary filter is its posting lists, used as they are.
    if let [Predicate::Codes { column, accept }] = predicates.as_slice()
        && let Some(dict) = &column.index.dictionary
    {
        let lists = posting_lists(column, accept, lo, hi);
        if lists.len() <= MAX_MERGED_LISTS {
            return Ok(match lists.as_slice() {
                [] => Selection::Range { lo, hi: lo },
                [only] => Selection::Ids(Cow::Borrowed(only)),
                _ => Selection::Postings {
                    count: lists.iter().map(|l| l.len()).sum(),
                    lists,
                    lo,
                    hi,
                    codes: &dict.codes,
                    accept: accept.clone(),
                },
            });
        }
    }
    // The most selective dictionary filter drives, if its rows are few enough: the other filters are checked on its
    // rows only.
    let span = hi - lo;
    let driver = predicates.iter().enumerate().filter_map(|(i, p)| p.candidate_count(lo, hi).map(|c| (c, i))).min();
    if let Some((count, i)) = driver
        && count <= span / 4
    {
        let driver = predicates.swap_remove(i);
        let Predicate::Codes { column, accept } = &driver else {
            return Err(QueryError::Internal("driver without a dictionary".into()));
        };
        let lists = posting_lists(column, accept, lo, hi);
        if let ([only], true) = (lists.as_slice(), predicates.is_empty()) {
            return Ok(Selection::Ids(Cow::Borrowed(only)));
        }
        let mut ids: Vec<u32> = Vec::new();
        for list in &lists {
            ids.extend(list.iter().copied().filter(|&r| predicates.iter().all(|p| p.matches(r as usize))));
        }
        if lists.len() > 1 {
            ids.sort_unstable();
        }
        return Ok(Selection::Ids(Cow::Owned(ids)));
    }
    let mut bits = predicates[0].mask(lo, hi);
    for p in &predicates[1..] {
        bits.and_with(&p.mask(lo, hi));
    }
    Ok(Selection::Mask { lo, bits })
}

/// The first row in `0..n` for which `before` is false (`before` must be true then false along the rows).
fn partition_rows(n: usize, before: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if before(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

#[derive(Clone, Copy)]
enum RangeOp {
    Eq,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl RangeOp {
    fn of(op: FilterOp) -> Option<RangeOp> {
        match op {
            FilterOp::Eq => Some(RangeOp::Eq),
            FilterOp::Gt => Some(RangeOp::Gt),
            FilterOp::Gte => Some(RangeOp::Gte),
            FilterOp::Lt => Some(RangeOp::Lt),
            FilterOp::Lte => Some(RangeOp::Lte),
            _ => None,
        }
    }
}

/// What a filter tests on a non-null cell.
#[derive(Debug)]
enum Test<'a> {
    Cmp(FilterOp, Key<'a>),
    /// Sorted, deduplicated.
    In(Vec<Key<'a>>),
    Contains(&'a str),
    StartsWith(&'a str),
    /// The filter is `isnull`: a non-null cell matches iff `negate` (is-not-null).
    IsNull {
        negate: bool,
    },
}

impl Test<'_> {
    #[inline]
    fn matches(&self, key: &Key<'_>) -> bool {
        match self {
            Test::Cmp(op, c) => {
                let o = key.cmp(c);
                match op {
                    FilterOp::Eq => o == Ordering::Equal,
                    FilterOp::Ne => o != Ordering::Equal,
                    FilterOp::Gt => o == Ordering::Greater,
                    FilterOp::Gte => o != Ordering::Less,
                    FilterOp::Lt => o == Ordering::Less,
                    FilterOp::Lte => o != Ordering::Greater,
                    _ => false,
                }
            }
            Test::In(keys) => keys.binary_search(key).is_ok(),
            Test::Contains(s) => matches!(key, Key::Text(t) if t.contains(s)),
            Test::StartsWith(s) => matches!(key, Key::Text(t) if t.starts_with(s)),
            Test::IsNull { negate } => *negate,
        }
    }

    /// Whether a null cell matches.
    fn matches_null(&self) -> bool {
        matches!(self, Test::IsNull { negate: false })
    }

    fn of(filter: &Filter) -> Test<'_> {
        let first = filter.values.first().map(value_key);
        match (filter.op, first) {
            (FilterOp::IsNull, _) => Test::IsNull { negate: filter.negate_null },
            (FilterOp::In, _) => {
                let mut keys: Vec<Key<'_>> = filter.values.iter().map(value_key).collect();
                keys.sort();
                keys.dedup();
                Test::In(keys)
            }
            (FilterOp::Contains, Some(Key::Text(s))) => Test::Contains(s),
            (FilterOp::StartsWith, Some(Key::Text(s))) => Test::StartsWith(s),
            (op, Some(key)) => Test::Cmp(op, key),
            // A comparison without a value matches nothing (the parser never builds one).
            (_, None) => Test::In(Vec::new()),
        }
    }
}

/// A compiled filter.
enum Predicate<'a> {
    /// A filter on a dictionary column, decided once per distinct value: `accept[code]` (null code last).
    Codes { column: Column<'a>, accept: Vec<bool> },
    /// A filter evaluated on the cells.
    Cells { column: Column<'a>, test: Test<'a> },
}

impl<'a> Predicate<'a> {
    fn new(column: Column<'a>, filter: &'a Filter) -> Predicate<'a> {
        let test = Test::of(filter);
        match &column.index.dictionary {
            Some(dict) => {
                let mut accept: Vec<bool> = (0..dict.null_code()).map(|c| test.matches(&dict.value_key(c))).collect();
                accept.push(test.matches_null());
                Predicate::Codes { column, accept }
            }
            None => Predicate::Cells { column, test },
        }
    }

    /// For a dictionary filter: how many rows in `lo..hi` its accepted codes have.
    fn candidate_count(&self, lo: usize, hi: usize) -> Option<usize> {
        let Predicate::Codes { column, accept } = self else { return None };
        let dict = column.index.dictionary.as_ref()?;
        let accepted = accept.iter().filter(|a| **a).count();
        let whole = lo == 0 && hi == column.array.len();
        let count = accept
            .iter()
            .enumerate()
            .filter(|(_, a)| **a)
            .map(|(code, _)| {
                let rows = dict.postings(code as u32);
                if whole || accepted > 64 { rows.len() } else { restrict(rows, lo, hi).len() }
            })
            .sum();
        Some(count)
    }

    #[inline]
    fn matches(&self, row: usize) -> bool {
        match self {
            Predicate::Codes { column, accept } => {
                column.index.dictionary.as_ref().is_some_and(|d| accept[d.codes[row] as usize])
            }
            Predicate::Cells { column, test } => {
                if column.is_null(row) {
                    test.matches_null()
                } else {
                    test.matches(&column.key(row))
                }
            }
        }
    }

    /// The filter over rows `lo..hi` as a bitmap.
    fn mask(&self, lo: usize, hi: usize) -> Bits {
        let len = hi - lo;
        match self {
            Predicate::Codes { column, accept } => match column.index.dictionary.as_ref() {
                Some(dict) => {
                    let codes = &dict.codes[lo..hi];
                    Bits::from_fn(len, |i| accept[codes[i] as usize])
                }
                None => Bits::from_fn(len, |_| false),
            },
            Predicate::Cells { column, test } => {
                let mut bits = cell_mask(column, test, lo, len);
                if let Some(nulls) = column.nulls {
                    let null_matches = test.matches_null();
                    let nulls = Bits::from_fn(len, |i| nulls.is_valid(lo + i) != null_matches);
                    if null_matches {
                        // isnull=true: the null cells, whatever the buffer holds under them.
                        return nulls;
                    }
                    bits.and_with(&nulls);
                }
                bits
            }
        }
    }
}

/// The non-empty posting lists, within `lo..hi`, of the codes a dictionary filter accepts.
fn posting_lists<'a>(column: &Column<'a>, accept: &[bool], lo: usize, hi: usize) -> Vec<&'a [u32]> {
    let Some(dict) = column.index.dictionary.as_ref() else { return Vec::new() };
    accept
        .iter()
        .enumerate()
        .filter(|(_, a)| **a)
        .map(|(code, _)| restrict(dict.postings(code as u32), lo, hi))
        .filter(|l| !l.is_empty())
        .collect()
}

/// The rows of a sorted posting list within `lo..hi`.
fn restrict(rows: &[u32], lo: usize, hi: usize) -> &[u32] {
    let a = rows.partition_point(|&r| (r as usize) < lo);
    let b = rows.partition_point(|&r| (r as usize) < hi);
    &rows[a..b.max(a)]
}

/// A test over the cells `lo..lo + len`, ignoring nulls (the caller masks them).
fn cell_mask(column: &Column<'_>, test: &Test<'_>, lo: usize, len: usize) -> Bits {
    match (column.values, test) {
        (Values::Text(strings), _) => Bits::from_fn(len, |i| test.matches(&Key::Text(strings.value(lo + i)))),
        (_, Test::Cmp(op, Key::Num(c))) => {
            let c = *c;
            match column.values {
                Values::Int(v) => num_mask(&v[lo..lo + len], |x| x, *op, c),
                Values::Date(v) => num_mask(&v[lo..lo + len], i64::from, *op, c),
                Values::Float(v) => num_mask(&v[lo..lo + len], crate::hot::float_key, *op, c),
                _ => Bits::from_fn(len, |i| test.matches(&column.key(lo + i))),
            }
        }
        _ => Bits::from_fn(len, |i| test.matches(&column.key(lo + i))),
    }
}

/// A comparison over a numeric slice, one monomorphic loop per operator.
#[inline]
fn num_mask<T: Copy>(values: &[T], key: impl Fn(T) -> i64, op: FilterOp, c: i64) -> Bits {
    let len = values.len();
    match op {
        FilterOp::Eq => Bits::from_fn(len, |i| key(values[i]) == c),
        FilterOp::Ne => Bits::from_fn(len, |i| key(values[i]) != c),
        FilterOp::Gt => Bits::from_fn(len, |i| key(values[i]) > c),
        FilterOp::Gte => Bits::from_fn(len, |i| key(values[i]) >= c),
        FilterOp::Lt => Bits::from_fn(len, |i| key(values[i]) < c),
        FilterOp::Lte => Bits::from_fn(len, |i| key(values[i]) <= c),
        _ => Bits::from_fn(len, |_| false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(pattern: &[usize], len: usize) -> Bits {
        Bits::from_fn(len, |i| pattern.contains(&i))
    }

    #[test]
    fn bitmap_walks() {
        let b = bits(&[0, 3, 63, 64, 130, 199], 200);
        assert_eq!(b.count(), 6);
        assert_eq!(b.next_set(4), Some(63));
        assert_eq!(b.nth_set_from(0, 4), Some(130));
        assert_eq!(b.nth_set_from(64, 2), Some(199));
        assert_eq!(b.nth_set_from(0, 6), None);
        assert_eq!(b.nth_set_before(200, 0), Some(199));
        assert_eq!(b.nth_set_before(130, 1), Some(63));
        assert_eq!(b.nth_set_before(64, 0), Some(63));
        assert_eq!(b.nth_set_before(1, 0), Some(0));
        assert_eq!(b.nth_set_before(0, 0), None);
        let sel = Selection::Mask { lo: 10, bits: b };
        assert_eq!(sel.collect_forward(0, 1, 3), vec![13, 73, 74]);
        assert_eq!(sel.collect_backward(140, 0, 2), vec![74, 73]);
        assert_eq!(sel.collect_backward(1000, 5, 5), vec![10]);
        assert!(sel.contains(209) && !sel.contains(210) && !sel.contains(9));
        assert_eq!(sel.to_ids(), vec![10, 13, 73, 74, 140, 209]);
    }

    #[test]
    fn ranges_and_ids_walk_the_same() {
        let range = Selection::Range { lo: 5, hi: 15 };
        let ids = Selection::Ids(Cow::Owned((5..15).collect()));
        let mask = Selection::Mask { lo: 5, bits: Bits::from_fn(10, |_| true) };
        let evens: Vec<u32> = (5..15).filter(|r| r % 2 == 0).collect();
        let odds: Vec<u32> = (5..15).filter(|r| r % 2 == 1).collect();
        let codes: Vec<Code> = (0..20).map(|r| if (5..15).contains(&r) { r % 2 } else { 2 }).collect();
        let postings = Selection::Postings {
            lists: vec![&evens, &odds],
            count: 10,
            lo: 5,
            hi: 15,
            codes: &codes,
            accept: vec![true, true, false],
        };
        assert!(postings.contains(5) && postings.contains(14) && !postings.contains(4) && !postings.contains(15));
        let mut all = postings.to_ids();
        all.sort_unstable();
        assert_eq!(all, (5..15).collect::<Vec<u32>>());
        for sel in [&range, &ids, &mask, &postings] {
            assert_eq!(sel.collect_forward(7, 2, 3), vec![9, 10, 11]);
            assert_eq!(sel.collect_backward(7, 0, 5), vec![6, 5]);
            assert_eq!(sel.collect_backward(100, 3, 2), vec![11, 10]);
            assert_eq!(sel.collect_forward(14, 1, 3), Vec::<u32>::new());
            assert_eq!(sel.count(), 10);
        }
    }
}
