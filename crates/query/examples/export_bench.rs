//! Times the encoders on the W4 benchmark table: 1M accidents × 12 columns (`/tmp/tapwater-bench/accidents.csv`,
//! made by `python3 shared/bench/gen.py --out /tmp/tapwater-bench`).
//!
//! Run on one core, in release: `taskset -c 1 cargo run --release -p tapwater-query --example export_bench`
//! (an optional argument overrides the CSV path).

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::datatypes::{DataType, Field as ArrowField, Schema, TimeUnit};
use futures::future::BoxFuture;
use tapwater_query::QueryError;
use tapwater_query::encode::{OutputFormat, PageMeta, RowSet, encode_page, export_chunks};
use tapwater_query::engine::{QueryConfig, QueryEngine};
use tapwater_query::hot::HotTable;
use tapwater_query::sql::TableResolver;
use tapwater_types::{Field, FieldType, TableSchema};

const COLUMNS: [(&str, FieldType); 12] = [
    ("id", FieldType::Integer),
    ("occurred_at", FieldType::Datetime),
    ("year", FieldType::Integer),
    ("city", FieldType::Text),
    ("district", FieldType::Text),
    ("road", FieldType::Text),
    ("vehicle_type", FieldType::Text),
    ("weather", FieldType::Text),
    ("injuries", FieldType::Integer),
    ("deaths", FieldType::Integer),
    ("lon", FieldType::Decimal),
    ("lat", FieldType::Decimal),
];

fn arrow_type(t: FieldType) -> DataType {
    match t {
        FieldType::Integer => DataType::Int64,
        FieldType::Decimal => DataType::Float64,
        FieldType::Datetime => DataType::Timestamp(TimeUnit::Microsecond, Some("Asia/Taipei".into())),
        _ => DataType::Utf8,
    }
}

fn load(path: &str) -> Result<HotTable, Box<dyn std::error::Error>> {
    let schema = Arc::new(Schema::new(
        COLUMNS.iter().map(|(name, t)| ArrowField::new(*name, arrow_type(*t), true)).collect::<Vec<_>>(),
    ));
    let file = std::fs::File::open(path)?;
    let reader =
        arrow::csv::ReaderBuilder::new(Arc::clone(&schema)).with_header(true).with_batch_size(65_536).build(file)?;
    let batches = reader.collect::<Result<Vec<_>, _>>()?;
    let batch = arrow::compute::concat_batches(&schema, &batches)?;
    let table_schema =
        TableSchema { fields: COLUMNS.iter().map(|(name, t)| Field::new(name.to_string(), *t)).collect() };
    Ok(HotTable::build("bench".into(), 1, table_schema, batch)?)
}

/// Best of `runs` timings of `work`, which returns a byte count.
fn best(runs: usize, mut work: impl FnMut() -> usize) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut bytes = 0;
    for _ in 0..runs {
        let started = Instant::now();
        bytes = work();
        best = best.min(started.elapsed());
    }
    (best, bytes)
}

struct One(Arc<HotTable>);

impl TableResolver for One {
    fn resolve<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<Arc<HotTable>>, QueryError>> {
        Box::pin(async move { Ok((name == "data").then(|| Arc::clone(&self.0))) })
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "/tmp/tapwater-bench/accidents.csv".to_string());
    let started = Instant::now();
    let table = Arc::new(load(&path)?);
    println!(
        "loaded {} rows × {} columns in {:.2?} ({} MiB in memory)",
        table.row_count(),
        table.batch().num_columns(),
        started.elapsed(),
        table.memory_bytes() >> 20
    );

    for format in [OutputFormat::Csv, OutputFormat::Json, OutputFormat::Ndjson, OutputFormat::Geojson] {
        let (time, bytes) = best(3, || {
            export_chunks(Arc::clone(&table), format, false).map(|chunks| chunks.map(|c| c.len()).sum()).unwrap_or(0)
        });
        println!(
            "export {:8} {:>6.1} MB in {:>7.1} ms  ({:.0} MB/s)",
            format.name(),
            bytes as f64 / 1e6,
            time.as_secs_f64() * 1e3,
            bytes as f64 / 1e6 / time.as_secs_f64()
        );
    }

    // A /rows page: 100 scattered rows, all columns.
    let ids: Vec<u32> = (0..100u32).map(|i| i * 9_973 % table.row_count() as u32).collect();
    let columns: Vec<usize> = (0..table.batch().num_columns()).collect();
    let meta = PageMeta {
        groups: None,
        next_cursor: Some("eyJrIjoxMDB9"),
        total: Some(table.row_count() as u64),
        truncated: None,
    };
    let pages = 10_000;
    let (time, bytes) = best(3, || {
        let mut total = 0;
        for _ in 0..pages {
            total += encode_page(OutputFormat::Json, table.batch(), RowSet::Ids(&ids), &columns, &meta)
                .map(|b| b.len())
                .unwrap_or(0);
        }
        total
    });
    println!(
        "page json  100 rows: {:.1} µs per page ({} bytes)",
        time.as_secs_f64() * 1e6 / pages as f64,
        bytes / pages
    );

    // SQL: per-request overhead and a group-by over the million rows.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let engine = QueryEngine::new(Arc::new(object_store::memory::InMemory::new()), QueryConfig::default());
    let tables = One(Arc::clone(&table));
    for sql in [
        "SELECT 1",
        "SELECT * FROM data WHERE district = '三民區' ORDER BY id LIMIT 100",
        "SELECT district, count(*) AS n, sum(injuries) AS injured FROM data GROUP BY district ORDER BY n DESC",
    ] {
        let runs = 20;
        let (time, rows) = best(3, || {
            let mut rows = 0;
            for _ in 0..runs {
                rows = runtime.block_on(engine.sql(sql, &tables)).map(|o| o.row_count).unwrap_or(usize::MAX);
            }
            rows
        });
        println!("sql {:.2} ms, {rows} rows: {sql}", time.as_secs_f64() * 1e3 / runs as f64);
    }
    Ok(())
}
