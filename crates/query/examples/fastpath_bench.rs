//! Measures the fast path on the benchmark's `accidents.csv` (see `../shared/bench/`): hot-table build time, then
//! microseconds per query for the W1, W2, W6, W7 and W8 shapes and for keyset paging at depth.
//!
//! ```sh
//! python3 ../shared/bench/gen.py --out /tmp/tapwater-bench      # once
//! cargo run --release -p tapwater-query --example fastpath_bench [-- /tmp/tapwater-bench/accidents.csv]
//! ```
//!
//! Pin it to one core (`taskset -c 1`) to get the numbers a one-core server would see. Each query is parsed and
//! answered as the application would (`RowQuery::parse` + `select_rows`, `AggregateQuery::parse` + `aggregate`);
//! encoding the answer is not included.

#![allow(clippy::unwrap_used)]

use std::fs::File;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use arrow::array::AsArray;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tapwater_query::aggregate::aggregate;
use tapwater_query::hot::HotTable;
use tapwater_query::params::{AggregateQuery, RowQuery};
use tapwater_query::select::{RowPage, select_rows};
use tapwater_types::TableSchema;

fn pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// A small deterministic generator (64-bit LCG, high bits).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn rows(table: &HotTable, query: &str) -> RowPage {
    let q = RowQuery::parse(&pairs(query), table.schema()).unwrap();
    select_rows(table, &q).unwrap()
}

fn groups(table: &HotTable, query: &str) -> usize {
    let q = AggregateQuery::parse(&pairs(query), table.schema()).unwrap();
    aggregate(table, &q).unwrap().batch.num_rows()
}

/// Runs `f` over the queries for about a second (at least once each), prints µs per query (mean, p50, p99).
fn measure(name: &str, queries: &[String], mut f: impl FnMut(&str)) {
    let mut times: Vec<Duration> = Vec::new();
    let started = Instant::now();
    let mut i = 0;
    while i < queries.len() || (started.elapsed() < Duration::from_secs(1) && times.len() < 100_000) {
        let q = &queries[i % queries.len()];
        let t = Instant::now();
        f(q);
        times.push(t.elapsed());
        i += 1;
    }
    let mean = times.iter().sum::<Duration>().as_secs_f64() * 1e6 / times.len() as f64;
    times.sort();
    let p = |q: f64| times[((times.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    println!("{name:<44} {mean:>9.1} µs mean  {:>9.1} p50  {:>9.1} p99  ({} runs)", p(0.5), p(0.99), times.len());
}

fn main() {
    let csv = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| "/tmp/tapwater-bench/accidents.csv".into());
    let parquet = csv.with_extension("parquet");
    if !parquet.exists() {
        let t = Instant::now();
        let out = File::create(&parquet).unwrap();
        tapwater_ingest::ingest_file(&csv, out, &tapwater_ingest::IngestOptions::default(), &mut |_| {}).unwrap();
        println!("ingest {} → {}: {:.2} s", csv.display(), parquet.display(), t.elapsed().as_secs_f64());
    }
    let t = Instant::now();
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(&parquet).unwrap()).unwrap();
    let schema_json = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|e| e.key == tapwater_ingest::SCHEMA_METADATA_KEY).and_then(|e| e.value.clone()))
        .unwrap();
    let schema: TableSchema = serde_json::from_str(&schema_json).unwrap();
    let arrow_schema = builder.schema().clone();
    let batches: Vec<_> = builder.build().unwrap().map(|b| b.unwrap()).collect();
    let batch = arrow::compute::concat_batches(&arrow_schema, &batches).unwrap();
    println!("read Parquet: {:.0} ms, {} rows", t.elapsed().as_secs_f64() * 1e3, batch.num_rows());

    let t = Instant::now();
    let table = HotTable::build("bench".into(), 1, schema, batch).unwrap();
    let build = t.elapsed();
    let data = table.batch().get_array_memory_size();
    println!(
        "HotTable::build: {:.0} ms; data {:.1} MB, data + indexes {:.1} MB",
        build.as_secs_f64() * 1e3,
        data as f64 / 1e6,
        table.memory_bytes() as f64 / 1e6
    );
    for (i, field) in table.schema().fields.iter().enumerate() {
        let index = table.index(i).unwrap();
        println!(
            "  {:<14} {:<9} dictionary {:<6} ascending {}",
            field.name,
            field.field_type.as_str(),
            index.distinct_values().map_or("-".to_string(), |d| d.to_string()),
            index.is_ascending()
        );
    }

    // The 50 districts and the longitude range, from the data.
    let district_col = table.schema().index_of("district").unwrap();
    let q = AggregateQuery::parse(&pairs("_group=district"), table.schema()).unwrap();
    let out = aggregate(&table, &q).unwrap();
    let districts: Vec<String> =
        out.batch.column(0).as_string::<i32>().iter().map(|s| s.unwrap_or_default().to_string()).collect();
    assert_eq!(districts.len(), 50, "district column {district_col}");
    let q = AggregateQuery::parse(&pairs("_min=lon&_max=lon"), table.schema()).unwrap();
    let out = aggregate(&table, &q).unwrap();
    let lon_min = out.batch.column(0).as_primitive::<arrow::datatypes::Float64Type>().value(0);
    let lon_max = out.batch.column(1).as_primitive::<arrow::datatypes::Float64Type>().value(0);

    let mut rng = Lcg(7);
    let w7: Vec<String> = (0..2_000)
        .map(|_| {
            let d = &districts[(rng.next() % 50) as usize];
            let n = 1 + rng.next() % 1_000_000;
            format!("district={d}&id__gte={n}&_sort=id&_limit=100")
        })
        .collect();
    let w8: Vec<String> = (0..2_000)
        .map(|_| {
            let l = lon_min + (rng.next() % 1_000_000) as f64 / 1e6 * (lon_max - lon_min);
            format!("_group=district&_count=1&_sum=injuries&lon__gte={l:.4}")
        })
        .collect();
    let one = |q: &str| vec![q.to_string()];

    println!();
    let w1 = rows(&table, "district=苓雅區&_limit=100");
    println!("W1 check: {} rows, total {}", w1.row_ids.len(), w1.total);
    measure("W1 district=苓雅區&_limit=100", &one("district=苓雅區&_limit=100"), |q| {
        rows(&table, q);
    });
    measure("W2 _group=district&_count=1&_sum=injuries", &one("_group=district&_count=1&_sum=injuries"), |q| {
        groups(&table, q);
    });
    let w6 = "_count=1&year=2020&injuries__gte=3&district=三民區";
    let q = AggregateQuery::parse(&pairs(w6), table.schema()).unwrap();
    let count = aggregate(&table, &q).unwrap().batch.column(0).as_primitive::<arrow::datatypes::Int64Type>().value(0);
    println!("W6 check: count {count}");
    measure("W6 year=2020&injuries__gte=3&district=三民區", &one(w6), |q| {
        groups(&table, q);
    });
    measure("W7 district=D&id__gte=N&_sort=id&_limit=100", &w7, |q| {
        rows(&table, q);
    });
    measure("W8 _group=district&…&lon__gte=L", &w8, |q| {
        groups(&table, q);
    });

    // Keyset paging at depth: the first page, then the last pages reached by following cursors.
    println!();
    for (name, query) in [
        ("sort by lon (permutation)", "_sort=lon&_limit=100"),
        ("sort by -id (file order, reversed)", "_sort=-id&_limit=100"),
        ("district=三民區, sort by lon (walk)", "district=三民區&_sort=lon&_limit=100"),
        ("sort by district,-lon (runs of district)", "_sort=district,-lon&_limit=100"),
        ("injuries>=3 (file order, 6 posting lists)", "injuries__gte=3&_limit=100"),
    ] {
        let t = Instant::now();
        let first = rows(&table, query);
        let first_time = t.elapsed();
        // Walk to the end, timing each page.
        let mut token = first.next_cursor.clone();
        let mut pages = 1usize;
        let mut page_times: Vec<Duration> = Vec::new();
        let walk = Instant::now();
        while let Some(c) = token {
            let t = Instant::now();
            let page = rows(&table, &format!("{query}&_cursor={c}"));
            page_times.push(t.elapsed());
            token = page.next_cursor;
            pages += 1;
            if walk.elapsed() > Duration::from_secs(20) {
                break;
            }
        }
        let mean = |s: &[Duration]| s.iter().sum::<Duration>().as_secs_f64() * 1e6 / s.len().max(1) as f64;
        let tail = &page_times[page_times.len().saturating_sub(100)..];
        let head = &page_times[..page_times.len().min(100)];
        println!(
            "{name:<36} first page {:>9.1} µs (incl. any lazy index build); pages 2-101 {:>8.1} µs; last 100 pages {:>8.1} µs; {pages} pages in {:.2} s",
            first_time.as_secs_f64() * 1e6,
            mean(head),
            mean(tail),
            walk.elapsed().as_secs_f64()
        );
    }
    println!("memory with the permutations built: {:.1} MB", table.memory_bytes() as f64 / 1e6);
}
