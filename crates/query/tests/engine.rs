//! The engine (hot tables from Parquet, LRU), the SQL sandbox, the encoders and the response cache, through the
//! crate's public API.

// Test helpers unwrap: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, StringArray, Time64MicrosecondArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field as ArrowField, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use futures::future::BoxFuture;
use object_store::local::LocalFileSystem;
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use tapwater_query::QueryError;
use tapwater_query::cache::{CachedResponse, ResponseCache};
use tapwater_query::encode::{OutputFormat, PageMeta, RowSet, encode_page, export_chunks, geo_columns};
use tapwater_query::engine::{QueryConfig, QueryEngine};
use tapwater_query::hot::HotTable;
use tapwater_query::sql::TableResolver;
use tapwater_types::{Field, FieldType, OriginalFile, TableSchema, Version};

// ---------------------------------------------------------------------------------------------------------------
// Fixtures

const TAIPEI: &str = "Asia/Taipei";

fn arrow_type(t: FieldType) -> DataType {
    match t {
        FieldType::Integer => DataType::Int64,
        FieldType::Decimal => DataType::Float64,
        FieldType::Boolean => DataType::Boolean,
        FieldType::Date => DataType::Date32,
        FieldType::Time => DataType::Time64(TimeUnit::Microsecond),
        FieldType::Datetime => DataType::Timestamp(TimeUnit::Microsecond, Some(TAIPEI.into())),
        FieldType::Text => DataType::Utf8,
    }
}

/// A tapwater schema and the matching Arrow batch from (name, type, array) columns.
fn table_parts(columns: Vec<(&str, FieldType, ArrayRef)>) -> (TableSchema, RecordBatch) {
    let schema = TableSchema { fields: columns.iter().map(|(name, t, _)| Field::new(name.to_string(), *t)).collect() };
    let arrow_schema = Arc::new(Schema::new(
        columns.iter().map(|(name, t, _)| ArrowField::new(*name, arrow_type(*t), true)).collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(arrow_schema, columns.into_iter().map(|(_, _, a)| a).collect()).unwrap();
    (schema, batch)
}

fn hot(id: &str, columns: Vec<(&str, FieldType, ArrayRef)>) -> Arc<HotTable> {
    let (schema, batch) = table_parts(columns);
    Arc::new(HotTable::build(id.to_string(), 1, schema, batch).unwrap())
}

/// 2016-01-01T00:30:00Z in µs: 08:30 in Taipei.
const TS_2016: i64 = 1_451_608_200_000_000;
/// Days from 1970-01-01 to 2016-01-01.
const DAY_2016: i32 = 16_801;

fn timestamps(values: Vec<Option<i64>>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(values).with_timezone(TAIPEI))
}

/// `n` synthetic accidents: id, district, injuries, occurred_at, lon, lat.
fn accidents(n: usize) -> Vec<(&'static str, FieldType, ArrayRef)> {
    const DISTRICTS: [&str; 4] = ["三民區", "左營區", "苓雅區", "鳳山區"];
    vec![
        ("id", FieldType::Integer, Arc::new(Int64Array::from_iter_values(0..n as i64))),
        ("district", FieldType::Text, Arc::new(StringArray::from_iter_values((0..n).map(|i| DISTRICTS[i % 4])))),
        ("injuries", FieldType::Integer, Arc::new(Int64Array::from_iter_values((0..n).map(|i| (i % 7) as i64)))),
        (
            "occurred_at",
            FieldType::Datetime,
            timestamps((0..n).map(|i| Some(TS_2016 + i as i64 * 60_000_000)).collect()),
        ),
        ("lon", FieldType::Decimal, Arc::new(Float64Array::from_iter_values((0..n).map(|i| 120.0 + i as f64 / 1e4)))),
        ("lat", FieldType::Decimal, Arc::new(Float64Array::from_iter_values((0..n).map(|i| 22.5 + i as f64 / 1e5)))),
    ]
}

/// A local object store in a temporary directory.
struct Store {
    _dir: tempfile::TempDir,
    store: Arc<LocalFileSystem>,
}

fn store() -> Store {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap());
    Store { _dir: dir, store }
}

fn version(id: &str, schema: TableSchema, row_count: u64) -> Version {
    Version {
        id: id.to_string(),
        seq: 1,
        created_at: chrono::Utc::now(),
        row_count,
        schema,
        original: OriginalFile {
            filename: "data.csv".into(),
            format: "csv".into(),
            media_type: "text/csv".into(),
            encoding: "utf-8".into(),
            sha256: String::new(),
            bytes: 0,
        },
        data_path: format!("versions/{id}/data.parquet"),
        original_path: format!("versions/{id}/original"),
        data_bytes: 0,
        stats: Vec::new(),
        artefacts: Vec::new(),
        published_by: "test".into(),
    }
}

/// Writes a version's Parquet file the way ingest does (zstd, the schema under `tapwater.schema`) and returns it.
fn write_version(store: &Store, id: &str, columns: Vec<(&str, FieldType, ArrayRef)>, with_metadata: bool) -> Version {
    let (schema, batch) = table_parts(columns);
    let mut properties = WriterProperties::builder()
        .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
        .set_max_row_group_row_count(Some(10_000));
    if with_metadata {
        properties = properties.set_key_value_metadata(Some(vec![KeyValue::new(
            "tapwater.schema".to_string(),
            serde_json::to_string(&schema).unwrap(),
        )]));
    }
    let mut bytes = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut bytes, batch.schema(), Some(properties.build())).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let version = version(id, schema, batch.num_rows() as u64);
    let path = store._dir.path().join(&version.data_path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    version
}

fn engine(store: &Store, config: QueryConfig) -> QueryEngine {
    QueryEngine::new(store.store.clone(), config)
}

/// Tables by name, as the application layer would resolve them.
struct Tables(HashMap<String, Arc<HotTable>>);

impl Tables {
    fn new(tables: &[(&str, &Arc<HotTable>)]) -> Self {
        Tables(tables.iter().map(|(name, table)| (name.to_string(), Arc::clone(table))).collect())
    }
}

impl TableResolver for Tables {
    fn resolve<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<Arc<HotTable>>, QueryError>> {
        Box::pin(async move { Ok(self.0.get(name).cloned()) })
    }
}

fn text(bytes: &Bytes) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

// ---------------------------------------------------------------------------------------------------------------
// Engine: hot tables

#[tokio::test]
async fn hot_table_loads_from_parquet_and_is_cached() {
    let store = store();
    let version = write_version(&store, "v1", accidents(25_000), true);
    let engine = engine(&store, QueryConfig::default());

    let table = engine.hot_table(&version).await.unwrap();
    assert_eq!(table.row_count(), 25_000);
    assert_eq!(table.version_id(), "v1");
    assert_eq!(table.schema(), &version.schema);
    // Several row groups came back as one batch with the tapwater types.
    assert_eq!(table.batch().num_columns(), 6);
    assert_eq!(table.batch().schema().field(3).data_type(), &arrow_type(FieldType::Datetime));
    let ids = table.batch().column(0).as_any().downcast_ref::<Int64Array>().unwrap();
    assert_eq!(ids.value(24_999), 24_999);

    let again = engine.hot_table(&version).await.unwrap();
    assert!(Arc::ptr_eq(&table, &again));
    assert_eq!(engine.load_count(), 1);
    assert_eq!(engine.hot_count(), 1);
    assert!(engine.hot_bytes() >= table.memory_bytes() as u64);
}

#[tokio::test]
async fn schema_comes_from_parquet_metadata_else_from_the_version() {
    let store = store();
    let engine = engine(&store, QueryConfig::default());

    // The file's own schema wins over the catalog's copy.
    let mut version = write_version(&store, "with-meta", accidents(10), true);
    let from_file = version.schema.clone();
    version.schema.fields[0].description = Some("catalog copy".into());
    assert_eq!(engine.hot_table(&version).await.unwrap().schema(), &from_file);

    // Without metadata, the version's schema is used.
    let mut version = write_version(&store, "without-meta", accidents(10), false);
    version.schema.fields[0].description = Some("catalog copy".into());
    assert_eq!(engine.hot_table(&version).await.unwrap().schema(), &version.schema);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_share_one_load() {
    let store = store();
    let version = write_version(&store, "v1", accidents(50_000), true);
    let engine = Arc::new(engine(&store, QueryConfig::default()));

    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let engine = Arc::clone(&engine);
            let version = version.clone();
            tokio::spawn(async move { engine.hot_table(&version).await.unwrap() })
        })
        .collect();
    let tables = futures::future::join_all(tasks).await.into_iter().map(Result::unwrap).collect::<Vec<_>>();
    assert!(tables.iter().all(|t| Arc::ptr_eq(t, &tables[0])));
    assert_eq!(engine.load_count(), 1);
}

#[tokio::test]
async fn lru_evicts_least_recently_used_under_a_small_budget() {
    let store = store();
    let versions: Vec<Version> =
        ["a", "b", "c"].iter().map(|id| write_version(&store, id, accidents(20_000), true)).collect();
    // Measure one table, then allow a little more than two.
    let probe = engine(&store, QueryConfig::default()).hot_table(&versions[0]).await.unwrap();
    let budget = probe.memory_bytes() as u64 * 5 / 2;
    let engine = engine(&store, QueryConfig { memory_budget_bytes: budget, ..QueryConfig::default() });

    let a = engine.hot_table(&versions[0]).await.unwrap();
    engine.hot_table(&versions[1]).await.unwrap();
    engine.hot_count(); // settle the recency order
    let again = engine.hot_table(&versions[0]).await.unwrap(); // a is now more recent than b
    assert!(Arc::ptr_eq(&a, &again));
    engine.hot_table(&versions[2]).await.unwrap();

    assert_eq!(engine.hot_count(), 2);
    assert!(engine.hot_bytes() <= budget);
    assert!(engine.cached_hot_table("b").is_none(), "the least recently used version is dropped");
    assert!(engine.cached_hot_table("a").is_some());
    assert!(engine.cached_hot_table("c").is_some());
    assert_eq!(engine.load_count(), 3);

    // An evicted version is loaded again on demand.
    engine.hot_table(&versions[1]).await.unwrap();
    assert_eq!(engine.load_count(), 4);
}

#[tokio::test]
async fn missing_parquet_file_is_an_internal_error_and_is_retried() {
    let store = store();
    let version = version("gone", TableSchema::default(), 0);
    let engine = engine(&store, QueryConfig::default());
    assert!(matches!(engine.hot_table(&version).await, Err(QueryError::Internal(_))));
    assert!(matches!(engine.hot_table(&version).await, Err(QueryError::Internal(_))));
    assert_eq!(engine.load_count(), 2, "a failed load is not remembered");
}

#[tokio::test]
async fn ingested_csv_loads_with_its_schema() {
    let store = store();
    let csv = store._dir.path().join("upload.csv");
    std::fs::write(&csv, "行政區,件數,日期\n三民區,3,2016-01-01\n左營區,,2016-01-02\n").unwrap();
    let parquet_path = store._dir.path().join("versions/ingested/data.parquet");
    std::fs::create_dir_all(parquet_path.parent().unwrap()).unwrap();
    let file = std::fs::File::create(&parquet_path).unwrap();
    let report =
        tapwater_ingest::ingest_file(&csv, file, &tapwater_ingest::IngestOptions::default(), &mut |_| {}).unwrap();
    let version = version("ingested", report.schema.clone(), report.row_count);

    let engine = engine(&store, QueryConfig::default());
    let table = engine.hot_table(&version).await.unwrap();
    assert_eq!(table.schema(), &report.schema);
    let page = encode_page(OutputFormat::Csv, table.batch(), RowSet::All, &[0, 1, 2], &PageMeta::default()).unwrap();
    assert_eq!(text(&page), "行政區,件數,日期\n三民區,3,2016-01-01\n左營區,,2016-01-02\n");
}

// ---------------------------------------------------------------------------------------------------------------
// SQL sandbox

fn sql_engine(config: QueryConfig) -> QueryEngine {
    QueryEngine::new(Arc::new(object_store::memory::InMemory::new()), config)
}

fn stops() -> Arc<HotTable> {
    hot(
        "stops-v1",
        vec![
            ("district", FieldType::Text, Arc::new(StringArray::from(vec!["三民區", "三民區", "左營區", "旗津區"]))),
            ("stop_name", FieldType::Text, Arc::new(StringArray::from(vec!["甲", "乙", "丙", "丁"]))),
        ],
    )
}

async fn sql_error(engine: &QueryEngine, tables: &Tables, sql: &str) -> QueryError {
    match engine.sql(sql, tables).await {
        Ok(output) => panic!("{sql:?} should fail, returned {} rows", output.row_count),
        Err(e) => e,
    }
}

#[tokio::test]
async fn sql_filters_groups_and_orders_over_data() {
    let data = hot("acc-v1", accidents(1000));
    let engine = sql_engine(QueryConfig::default());
    let tables = Tables::new(&[("data", &data)]);
    let output = engine
        .sql(
            "SELECT district, COUNT(*) AS n, SUM(injuries) AS injured FROM data \
             WHERE injuries > 0 GROUP BY district ORDER BY district DESC",
            &tables,
        )
        .await
        .unwrap();
    assert_eq!(output.row_count, 4);
    assert!(!output.truncated);

    // The same numbers computed by hand.
    let mut expected: Vec<(String, i64, i64)> = ["三民區", "左營區", "苓雅區", "鳳山區"]
        .iter()
        .enumerate()
        .map(|(d, name)| {
            let rows = (0..1000).filter(|i| i % 4 == d && i % 7 > 0);
            let (n, injured) = rows.fold((0, 0), |(n, s), i| (n + 1, s + (i % 7) as i64));
            (name.to_string(), n, injured)
        })
        .collect();
    expected.sort_by(|a, b| b.0.cmp(&a.0));
    let batch = output.to_batch().unwrap();
    let csv = encode_page(OutputFormat::Csv, &batch, RowSet::All, &[0, 1, 2], &PageMeta::default()).unwrap();
    let expected_csv: String = std::iter::once("district,n,injured\n".to_string())
        .chain(expected.iter().map(|(d, n, s)| format!("{d},{n},{s}\n")))
        .collect();
    assert_eq!(text(&csv), expected_csv);
}

#[tokio::test]
async fn sql_joins_data_with_another_dataset_by_quoted_slug() {
    let data = hot("acc-v1", accidents(100));
    let stops = stops();
    let engine = sql_engine(QueryConfig::default());
    let tables = Tables::new(&[("data", &data), ("garbage-stops", &stops)]);
    let output = engine
        .sql(
            r#"SELECT d.district, COUNT(*) AS pairs FROM data d JOIN "garbage-stops" g ON d.district = g.district
               GROUP BY d.district ORDER BY d.district"#,
            &tables,
        )
        .await
        .unwrap();
    let batch = output.to_batch().unwrap();
    let json = encode_page(OutputFormat::Json, &batch, RowSet::All, &[0, 1], &PageMeta::default()).unwrap();
    // 25 accidents in each district; 三民區 has two stops, 左營區 one.
    assert_eq!(text(&json), r#"{"rows":[{"district":"三民區","pairs":50},{"district":"左營區","pairs":25}]}"#);

    // A CTE name is not a table to resolve; unquoted names are case-folded.
    let output = engine.sql("WITH t AS (SELECT * FROM DATA WHERE id < 10) SELECT count(*) FROM t", &tables).await;
    assert_eq!(output.unwrap().row_count, 1);
}

#[tokio::test]
async fn sql_refuses_anything_but_one_query() {
    let data = hot("acc-v1", accidents(10));
    let engine = sql_engine(QueryConfig::default());
    let tables = Tables::new(&[("data", &data)]);
    for sql in [
        "CREATE TABLE t AS SELECT * FROM data",
        "CREATE TABLE t (a INT)",
        "CREATE VIEW v AS SELECT * FROM data",
        "INSERT INTO data VALUES (1)",
        "UPDATE data SET id = 1",
        "DELETE FROM data",
        "COPY data TO '/tmp/tapwater-sql-escape.csv'",
        "COPY (SELECT 1) TO '/tmp/tapwater-sql-escape.parquet' STORED AS PARQUET",
        "CREATE EXTERNAL TABLE passwd (line TEXT) STORED AS CSV LOCATION '/etc/passwd'",
        "SET datafusion.execution.batch_size = 1",
        "DROP TABLE data",
        "EXPLAIN SELECT * FROM data",
        "EXPLAIN ANALYZE SELECT * FROM data",
        "SHOW TABLES",
        "PREPARE p AS SELECT * FROM data",
        "SELECT 1; DROP TABLE data",
        "SELECT * INTO copied FROM data",
    ] {
        let error = sql_error(&engine, &tables, sql).await;
        assert_eq!(error, QueryError::SqlNotReadOnly, "{sql}");
    }
    assert!(!std::path::Path::new("/tmp/tapwater-sql-escape.csv").exists());

    let error = sql_error(&engine, &tables, "SELECT 1; SELECT 2").await;
    assert_eq!(error.code(), "invalid_sql");
    let error = sql_error(&engine, &tables, "  ").await;
    assert_eq!(error.code(), "invalid_sql");
}

#[tokio::test]
async fn sql_names_unknown_tables_and_has_no_file_or_catalog_access() {
    let data = hot("acc-v1", accidents(10));
    let engine = sql_engine(QueryConfig::default());
    let tables = Tables::new(&[("data", &data)]);

    assert_eq!(
        sql_error(&engine, &tables, "SELECT * FROM nope").await,
        QueryError::UnknownTable { table: "nope".into() }
    );
    for sql in [
        "SELECT * FROM public.data",
        "SELECT * FROM tapwater.request.data",
        "SELECT * FROM information_schema.tables",
        "SELECT * FROM datafusion.public.data",
    ] {
        let error = sql_error(&engine, &tables, sql).await;
        assert_eq!(error.code(), "unknown_table", "{sql}");
    }
    for sql in [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_parquet('/etc/passwd')",
        "SELECT * FROM read_json('/etc/passwd')",
        "SELECT * FROM generate_series(1, 1000000000)",
        "SELECT * FROM '/etc/passwd'",
        // Functions that build unbounded output from a few bytes of SQL are not there.
        "SELECT range(1, 10000000000)",
        "SELECT generate_series(1, 10000000000)",
        "SELECT repeat('x', 2000000000)",
        "SELECT array_repeat(1, 2000000000)",
    ] {
        let error = sql_error(&engine, &tables, sql).await;
        assert!(error.is_client_error(), "{sql}: {error:?}");
        assert!(matches!(error.code(), "unknown_table" | "invalid_sql"), "{sql}: {error:?}");
    }
}

#[tokio::test]
async fn sql_errors_are_tapwaters_own_words() {
    let data = hot("acc-v1", accidents(10));
    let engine = sql_engine(QueryConfig::default());
    let tables = Tables::new(&[("data", &data)]);

    let error = sql_error(&engine, &tables, "SELECT id, FROM data WHERE id >").await;
    let QueryError::InvalidSql { message, message_zh } = error else { panic!("expected invalid_sql, got {error:?}") };
    assert!(message.starts_with("syntax error at line 1, column "), "{message}");
    assert!(message_zh.starts_with("第 1 行第 "), "{message_zh}");
    let error = sql_error(&engine, &tables, "SELECT id\n  FROM data WHERE").await;
    let QueryError::InvalidSql { message, .. } = error else { panic!("expected invalid_sql, got {error:?}") };
    assert!(message.starts_with("syntax error at line "), "{message}");

    let cases = [
        ("SELECT nosuch FROM data", "nosuch"),
        ("SELECT lenght(district) FROM data", "lenght"),
        ("SELECT id FROM data WHERE district > ", "syntax error"),
        ("SELECT district + 1 FROM data", "could not"),
        ("SELECT id / 0 FROM data", ""),
        ("SELECT CAST(district AS INT) FROM data", ""),
    ];
    for (sql, needle) in cases {
        let error = sql_error(&engine, &tables, sql).await;
        let QueryError::InvalidSql { message, message_zh } = &error else { panic!("{sql}: {error:?}") };
        assert!(message.contains(needle), "{sql}: {message}");
        for leak in ["DataFusion", "datafusion", "Expected", "Arrow", "Schema error", "plan", "Plan("] {
            assert!(!message.contains(leak) || leak == "plan", "{sql}: {message}");
        }
        assert!(!message.contains("Error"), "{sql}: {message}");
        assert!(!message_zh.is_empty());
    }
}

#[tokio::test]
async fn sql_results_are_cut_at_the_row_limit() {
    let data = hot("acc-v1", accidents(50));
    let engine = sql_engine(QueryConfig { sql_max_rows: 10, ..QueryConfig::default() });
    let tables = Tables::new(&[("data", &data)]);

    let output = engine.sql("SELECT * FROM data ORDER BY id DESC", &tables).await.unwrap();
    assert_eq!((output.row_count, output.truncated), (10, true));
    let batch = output.to_batch().unwrap();
    assert_eq!(batch.num_rows(), 10);
    let ids = batch.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
    assert_eq!(ids.value(0), 49);

    let output = engine.sql("SELECT * FROM data LIMIT 10", &tables).await.unwrap();
    assert_eq!((output.row_count, output.truncated), (10, false));
    let output = engine.sql("SELECT * FROM data WHERE id < 3", &tables).await.unwrap();
    assert_eq!((output.row_count, output.truncated), (3, false));
    assert_eq!(output.schema.fields().len(), 6);
}

/// CPU seconds used so far by the threads whose name starts with `prefix` (Linux `/proc`, clock ticks of 10 ms).
fn threads_cpu_seconds(prefix: &str) -> f64 {
    let mut ticks = 0u64;
    for entry in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if !comm.trim_end().starts_with(prefix) {
            continue;
        }
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = after.split(' ').collect();
        ticks += fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    }
    ticks as f64 / 100.0
}

#[test]
fn sql_timeout_cancels_the_work() {
    // Its own runtime with named threads, so the CPU of this query can be told apart from other tests'.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sqltimeout")
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let big = hot("big-v1", accidents(100_000));
        let engine = sql_engine(QueryConfig { sql_timeout: Duration::from_millis(300), ..QueryConfig::default() });
        let tables = Tables::new(&[("data", &big), ("other", &big)]);

        let started = Instant::now();
        let error =
            sql_error(&engine, &tables, "SELECT count(*) FROM data a CROSS JOIN other b WHERE a.id + b.id = -1").await;
        let waited = started.elapsed();
        assert_eq!(error, QueryError::SqlTimeout { seconds: 0.3 });
        assert!(waited < Duration::from_secs(1), "took {waited:?}");

        // Once cancelled, the runtime's threads go quiet: no work left behind.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = threads_cpu_seconds("sqltimeout");
        tokio::time::sleep(Duration::from_millis(700)).await;
        let used = threads_cpu_seconds("sqltimeout") - before;
        assert!(used < 0.15, "{used} CPU seconds used after the timeout");

        // A query that never ends by itself is stopped too.
        let started = Instant::now();
        let error = sql_error(
            &engine,
            &tables,
            "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t",
        )
        .await;
        assert_eq!(error.code(), "query_timeout");
        assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());

        // And a quick query right after is quick.
        let started = Instant::now();
        let output = engine.sql("SELECT count(*) FROM data", &tables).await.unwrap();
        assert_eq!(output.row_count, 1);
        assert!(started.elapsed() < Duration::from_millis(250), "took {:?}", started.elapsed());
    });
}

// ---------------------------------------------------------------------------------------------------------------
// Encoders

/// Three rows covering every tapwater type, nulls, NaN, Chinese, quotes, commas, line breaks and control characters.
fn every_type() -> RecordBatch {
    let (_, batch) = table_parts(vec![
        ("id", FieldType::Integer, Arc::new(Int64Array::from(vec![Some(1), Some(-2), Some(3)]))),
        (
            "名稱",
            FieldType::Text,
            Arc::new(StringArray::from(vec![Some("臺北 \"A\", B"), Some("line1\nline2\t\u{1}"), None])),
        ),
        ("amount", FieldType::Decimal, Arc::new(Float64Array::from(vec![Some(3.0), Some(0.1), Some(f64::NAN)]))),
        ("flag", FieldType::Boolean, Arc::new(BooleanArray::from(vec![Some(true), Some(false), None]))),
        ("day", FieldType::Date, Arc::new(Date32Array::from(vec![Some(DAY_2016), Some(10_956), None]))),
        (
            "at",
            FieldType::Time,
            Arc::new(Time64MicrosecondArray::from(vec![Some(30_600_000_000), Some(86_399_500_000), None])),
        ),
        ("ts", FieldType::Datetime, timestamps(vec![Some(TS_2016), Some(TS_2016 + 123_000), None])),
        ("lon", FieldType::Decimal, Arc::new(Float64Array::from(vec![Some(121.5), None, Some(120.0)]))),
        ("lat", FieldType::Decimal, Arc::new(Float64Array::from(vec![Some(25.03), Some(22.6), None]))),
        ("note", FieldType::Text, Arc::new(StringArray::from(vec![Some(" padded"), Some(""), Some("plain")]))),
    ]);
    batch
}

const ALL_COLUMNS: [usize; 10] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

const ROW0: &str = r#"{"id":1,"名稱":"臺北 \"A\", B","amount":3,"flag":true,"day":"2016-01-01","at":"08:30:00","ts":"2016-01-01T08:30:00+08:00","lon":121.5,"lat":25.03,"note":" padded"}"#;
const ROW1: &str = r#"{"id":-2,"名稱":"line1\nline2\t\u0001","amount":0.1,"flag":false,"day":"1999-12-31","at":"23:59:59.5","ts":"2016-01-01T08:30:00.123+08:00","lon":null,"lat":22.6,"note":""}"#;
const ROW2: &str = r#"{"id":3,"名稱":null,"amount":null,"flag":null,"day":null,"at":null,"ts":null,"lon":120,"lat":null,"note":"plain"}"#;

#[test]
fn json_page_renders_every_type() {
    let batch = every_type();
    let meta = PageMeta { groups: None, next_cursor: None, total: Some(3), truncated: None };
    let json = encode_page(OutputFormat::Json, &batch, RowSet::All, &ALL_COLUMNS, &meta).unwrap();
    assert_eq!(text(&json), format!(r#"{{"rows":[{ROW0},{ROW1},{ROW2}],"next_cursor":null,"total":3}}"#));
    let parsed: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(parsed["rows"][1]["名稱"], "line1\nline2\t\u{1}");

    // Selected rows and columns, in the order asked; a cursor; the SQL flag; no total.
    let meta = PageMeta { groups: None, next_cursor: Some("abc\"1"), total: None, truncated: Some(true) };
    let json = encode_page(OutputFormat::Json, &batch, RowSet::Ids(&[2, 0]), &[9, 0], &meta).unwrap();
    assert_eq!(
        text(&json),
        r#"{"rows":[{"note":"plain","id":3},{"note":" padded","id":1}],"next_cursor":"abc\"1","truncated":true}"#
    );
    // Nothing but rows when there is no paging information.
    let json = encode_page(OutputFormat::Json, &batch, RowSet::Ids(&[]), &[0], &PageMeta::default()).unwrap();
    assert_eq!(text(&json), r#"{"rows":[]}"#);
}

#[test]
fn ndjson_page_is_one_object_per_line() {
    let batch = every_type();
    let meta = PageMeta { groups: None, next_cursor: Some("x"), total: Some(3), truncated: None };
    let ndjson = encode_page(OutputFormat::Ndjson, &batch, RowSet::All, &ALL_COLUMNS, &meta).unwrap();
    assert_eq!(text(&ndjson), format!("{ROW0}\n{ROW1}\n{ROW2}\n"));
}

#[test]
fn csv_page_quotes_per_rfc_4180() {
    let batch = every_type();
    let csv = encode_page(OutputFormat::Csv, &batch, RowSet::All, &ALL_COLUMNS, &PageMeta::default()).unwrap();
    assert_eq!(
        text(&csv),
        "id,名稱,amount,flag,day,at,ts,lon,lat,note\n\
         1,\"臺北 \"\"A\"\", B\",3,true,2016-01-01,08:30:00,2016-01-01T08:30:00+08:00,121.5,25.03,\" padded\"\n\
         -2,\"line1\nline2\t\u{1}\",0.1,false,1999-12-31,23:59:59.5,2016-01-01T08:30:00.123+08:00,,22.6,\n\
         3,,,,,,,120,,plain\n"
    );
    // The csv crate reads it back cell for cell.
    let mut reader = csv_reader(&csv);
    let rows: Vec<Vec<String>> = reader.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect();
    assert_eq!(rows[0][1], "臺北 \"A\", B");
    assert_eq!(rows[1][1], "line1\nline2\t\u{1}");
    assert_eq!(rows[0][9], " padded");
}

/// A minimal RFC 4180 reader for checking round trips (arrow's CSV reader is for typed data).
fn csv_reader(bytes: &[u8]) -> arrow_csv_roundtrip::Reader<'_> {
    arrow_csv_roundtrip::Reader { bytes, pos: 0, header_done: false }
}

mod arrow_csv_roundtrip {
    pub struct Reader<'a> {
        pub bytes: &'a [u8],
        pub pos: usize,
        pub header_done: bool,
    }

    pub struct Record(Vec<String>);

    impl Record {
        pub fn iter(&self) -> impl Iterator<Item = &str> {
            self.0.iter().map(String::as_str)
        }
    }

    impl Reader<'_> {
        pub fn records(&mut self) -> impl Iterator<Item = Result<Record, ()>> + '_ {
            if !self.header_done {
                self.header_done = true;
                self.next_record();
            }
            std::iter::from_fn(move || self.next_record().map(Ok))
        }

        fn next_record(&mut self) -> Option<Record> {
            if self.pos >= self.bytes.len() {
                return None;
            }
            let mut cells = Vec::new();
            let mut cell = Vec::new();
            let mut quoted = false;
            while self.pos < self.bytes.len() {
                let b = self.bytes[self.pos];
                self.pos += 1;
                if quoted {
                    if b == b'"' {
                        if self.bytes.get(self.pos) == Some(&b'"') {
                            cell.push(b'"');
                            self.pos += 1;
                        } else {
                            quoted = false;
                        }
                    } else {
                        cell.push(b);
                    }
                } else if b == b'"' {
                    quoted = true;
                } else if b == b',' {
                    cells.push(String::from_utf8(std::mem::take(&mut cell)).unwrap());
                } else if b == b'\n' {
                    break;
                } else {
                    cell.push(b);
                }
            }
            cells.push(String::from_utf8(cell).unwrap());
            Some(Record(cells))
        }
    }
}

#[test]
fn geojson_page_has_points_and_properties() {
    let batch = every_type();
    let meta = PageMeta { groups: None, next_cursor: Some("abc"), total: Some(3), truncated: None };
    let geojson = encode_page(OutputFormat::Geojson, &batch, RowSet::All, &[0, 1, 7, 8], &meta).unwrap();
    assert_eq!(
        text(&geojson),
        concat!(
            r#"{"type":"FeatureCollection","features":["#,
            r#"{"type":"Feature","geometry":{"type":"Point","coordinates":[121.5,25.03]},"properties":{"id":1,"名稱":"臺北 \"A\", B"}},"#,
            r#"{"type":"Feature","geometry":null,"properties":{"id":-2,"名稱":"line1\nline2\t\u0001"}},"#,
            r#"{"type":"Feature","geometry":null,"properties":{"id":3,"名稱":null}}"#,
            r#"],"next_cursor":"abc","total":3}"#
        )
    );
    let parsed: serde_json::Value = serde_json::from_slice(&geojson).unwrap();
    assert_eq!(parsed["features"][0]["geometry"]["coordinates"][0], 121.5);

    // Without coordinates, GeoJSON is refused on `_format`.
    let (_, plain) = table_parts(vec![("id", FieldType::Integer, Arc::new(Int64Array::from(vec![1])))]);
    let error = encode_page(OutputFormat::Geojson, &plain, RowSet::All, &[0], &PageMeta::default()).unwrap_err();
    assert_eq!(error.code(), "invalid_parameter");
    assert_eq!(error.param(), Some("_format"));
}

#[test]
fn geo_columns_are_detected_by_name_and_type() {
    let schema = |fields: &[(&str, DataType)]| {
        Schema::new(fields.iter().map(|(n, t)| ArrowField::new(*n, t.clone(), true)).collect::<Vec<_>>())
    };
    let f = DataType::Float64;
    let i = DataType::Int64;
    let s = DataType::Utf8;
    assert_eq!(geo_columns(&schema(&[("名稱", s.clone()), ("經度", f.clone()), ("緯度", f.clone())])), Some((1, 2)));
    assert_eq!(geo_columns(&schema(&[("LAT", f.clone()), (" Longitude ", f.clone())])), Some((1, 0)));
    assert_eq!(geo_columns(&schema(&[("lng", i.clone()), ("lat", i.clone())])), Some((0, 1)));
    assert_eq!(geo_columns(&schema(&[("X_WGS84", f.clone()), ("Y_WGS84", f.clone())])), Some((0, 1)));
    assert_eq!(geo_columns(&schema(&[("經度座標", f.clone()), ("緯度座標", f.clone())])), Some((0, 1)));
    assert_eq!(geo_columns(&schema(&[("站點經度(WGS84)", f.clone()), ("站點緯度(WGS84)", f.clone())])), Some((0, 1)));
    // Text coordinates, or only one of the two, are not a geometry.
    assert_eq!(geo_columns(&schema(&[("lon", s.clone()), ("lat", f.clone())])), None);
    assert_eq!(geo_columns(&schema(&[("lon", f.clone()), ("name", s.clone())])), None);
    assert_eq!(geo_columns(&schema(&[("x", f.clone()), ("y", f)])), None);
}

#[test]
fn sql_result_types_are_rendered_too() {
    use arrow::array::{Decimal128Array, DictionaryArray, Int32Array, ListArray};
    use arrow::datatypes::Int32Type;
    let decimal: ArrayRef =
        Arc::new(Decimal128Array::from(vec![Some(12345), None]).with_precision_and_scale(10, 2).unwrap());
    let dict: ArrayRef = Arc::new(vec![Some("三民區"), None].into_iter().collect::<DictionaryArray<Int32Type>>());
    let small: ArrayRef = Arc::new(Int32Array::from(vec![Some(7), Some(-1)]));
    let list: ArrayRef =
        Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1), Some(2)]), None]));
    let naive: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![Some(TS_2016), None]));
    let schema = Arc::new(Schema::new(vec![
        ArrowField::new("d", decimal.data_type().clone(), true),
        ArrowField::new("k", dict.data_type().clone(), true),
        ArrowField::new("s", small.data_type().clone(), true),
        ArrowField::new("l", list.data_type().clone(), true),
        ArrowField::new("t", naive.data_type().clone(), true),
    ]));
    let batch = RecordBatch::try_new(schema, vec![decimal, dict, small, list, naive]).unwrap();
    let json = encode_page(OutputFormat::Json, &batch, RowSet::All, &[0, 1, 2, 3, 4], &PageMeta::default()).unwrap();
    assert_eq!(
        text(&json),
        r#"{"rows":[{"d":123.45,"k":"三民區","s":7,"l":"[1, 2]","t":"2016-01-01T00:30:00"},{"d":null,"k":null,"s":-1,"l":null,"t":null}]}"#
    );
    // Picking rows of such columns gives the same text.
    let json = encode_page(OutputFormat::Json, &batch, RowSet::Ids(&[1, 0]), &[0, 1], &PageMeta::default()).unwrap();
    assert_eq!(text(&json), r#"{"rows":[{"d":null,"k":null},{"d":123.45,"k":"三民區"}]}"#);
    let csv = encode_page(OutputFormat::Csv, &batch, RowSet::All, &[0, 1, 2, 3, 4], &PageMeta::default()).unwrap();
    assert_eq!(text(&csv), "d,k,s,l,t\n123.45,三民區,7,\"[1, 2]\",2016-01-01T00:30:00\n,,-1,,\n");
}

#[test]
fn out_of_range_rows_and_columns_are_errors_not_panics() {
    let batch = every_type();
    let meta = PageMeta::default();
    assert!(matches!(
        encode_page(OutputFormat::Json, &batch, RowSet::Ids(&[3]), &[0], &meta),
        Err(QueryError::Internal(_))
    ));
    assert!(matches!(encode_page(OutputFormat::Csv, &batch, RowSet::All, &[10], &meta), Err(QueryError::Internal(_))));
}

#[test]
fn output_formats_have_names_and_media_types() {
    for format in OutputFormat::ALL {
        assert_eq!(OutputFormat::from_name(format.name()), Some(format));
        assert!(format.media_type().ends_with("; charset=utf-8"));
    }
    assert_eq!(OutputFormat::from_name("xml"), None);
    assert_eq!(OutputFormat::Geojson.media_type(), "application/geo+json; charset=utf-8");
    assert_eq!(OutputFormat::Csv.extension(), "csv");
}

#[test]
fn export_chunks_equal_one_shot_encoding_in_bounded_chunks() {
    let n = 200_000;
    let table = hot(
        "export-v1",
        vec![
            ("id", FieldType::Integer, Arc::new(Int64Array::from_iter_values(0..n as i64))),
            (
                "名稱",
                FieldType::Text,
                Arc::new(StringArray::from_iter_values((0..n).map(|i| format!("站 {i}, \"{}\"", i % 13)))),
            ),
            (
                "value",
                FieldType::Decimal,
                Arc::new(Float64Array::from_iter((0..n).map(|i| (i % 5 != 0).then_some(i as f64 * 0.25)))),
            ),
            ("ts", FieldType::Datetime, timestamps((0..n).map(|i| Some(TS_2016 + i as i64 * 1_000_001)).collect())),
            (
                "lon",
                FieldType::Decimal,
                Arc::new(Float64Array::from_iter_values((0..n).map(|i| 120.0 + i as f64 / 1e6))),
            ),
            (
                "lat",
                FieldType::Decimal,
                Arc::new(Float64Array::from_iter_values((0..n).map(|i| 22.0 + i as f64 / 1e6))),
            ),
        ],
    );
    let columns: Vec<usize> = (0..6).collect();
    for format in OutputFormat::ALL {
        let chunks: Vec<Bytes> = export_chunks(Arc::clone(&table), format, false).unwrap().collect();
        assert!(chunks.len() > 10, "{format:?}: {} chunks", chunks.len());
        for chunk in &chunks {
            assert!(chunk.len() <= 512 * 1024, "{format:?}: chunk of {} bytes", chunk.len());
        }
        let joined: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
        let page = encode_page(format, table.batch(), RowSet::All, &columns, &PageMeta::default()).unwrap();
        let expected = match format {
            // A download is the bare array of rows.
            OutputFormat::Json => format!("[{}]", &text(&page)["{\"rows\":[".len()..page.len() - 2]),
            _ => text(&page).to_string(),
        };
        assert!(joined == expected.as_bytes(), "{format:?}: export differs from one-shot encoding");
        if format != OutputFormat::Csv {
            serde_json::from_slice::<serde_json::Value>(&joined)
                .or_else(|e| if format == OutputFormat::Ndjson { Ok(serde_json::Value::Null) } else { Err(e) })
                .unwrap();
        }
    }
}

#[test]
fn csv_export_can_start_with_a_bom() {
    let table = hot("small-v1", accidents(3));
    let plain: Vec<u8> = export_chunks(Arc::clone(&table), OutputFormat::Csv, false).unwrap().flatten().collect();
    let with_bom: Vec<u8> = export_chunks(Arc::clone(&table), OutputFormat::Csv, true).unwrap().flatten().collect();
    assert_eq!(&with_bom[..3], b"\xEF\xBB\xBF");
    assert_eq!(&with_bom[3..], &plain[..]);
    assert!(plain.starts_with(b"id,district,injuries,occurred_at,lon,lat\n0,"));
    // The BOM is for spreadsheets; JSON never gets one.
    let json: Vec<u8> = export_chunks(Arc::clone(&table), OutputFormat::Json, true).unwrap().flatten().collect();
    assert_eq!(json[0], b'[');

    // An empty table still exports a well-formed document.
    let empty = hot("empty-v1", accidents(0));
    let chunks: Vec<Bytes> = export_chunks(Arc::clone(&empty), OutputFormat::Json, false).unwrap().collect();
    assert_eq!(chunks.concat(), b"[]");
    let geo: Vec<u8> = export_chunks(empty, OutputFormat::Geojson, false).unwrap().flatten().collect();
    assert_eq!(geo, br#"{"type":"FeatureCollection","features":[]}"#);
    // No coordinates, no GeoJSON download.
    let plain = hot("plain-v1", vec![("id", FieldType::Integer, Arc::new(Int64Array::from(vec![1])))]);
    assert_eq!(export_chunks(plain, OutputFormat::Geojson, false).unwrap_err().param(), Some("_format"));
}

// ---------------------------------------------------------------------------------------------------------------
// Response cache

fn response(bytes: usize) -> CachedResponse {
    CachedResponse {
        body: Bytes::from(vec![b'x'; bytes]),
        content_type: "application/json; charset=utf-8".into(),
        headers: vec![("x-total-count".into(), "3".into())],
    }
}

#[test]
fn response_cache_is_bounded_by_bytes() {
    let cache = ResponseCache::new(100_000);
    cache.insert("a".into(), response(10_000));
    assert_eq!(cache.get("a").unwrap().body.len(), 10_000);
    let weight = cache.weighted_bytes();
    assert!((10_000..10_100).contains(&weight), "{weight}");

    for i in 0..50 {
        cache.insert(format!("k{i}"), response(10_000));
        cache.get(&format!("k{i}"));
    }
    assert!(cache.weighted_bytes() <= 100_000, "{}", cache.weighted_bytes());
    assert!(cache.entry_count() < 11);

    // A response larger than the budget is not kept.
    cache.insert("huge".into(), response(200_000));
    assert!(cache.get("huge").is_none());
}

#[test]
fn response_cache_of_zero_bytes_is_disabled() {
    let cache = ResponseCache::new(0);
    cache.insert("a".into(), response(10));
    assert!(cache.get("a").is_none());
    assert_eq!(cache.weighted_bytes(), 0);

    let engine = sql_engine(QueryConfig { response_cache_bytes: 0, ..QueryConfig::default() });
    engine.response_cache().insert("a".into(), response(10));
    assert!(engine.response_cache().get("a").is_none());
    let engine = sql_engine(QueryConfig::default());
    engine.response_cache().insert("a".into(), response(10));
    assert_eq!(engine.response_cache().get("a"), Some(response(10)));
}
