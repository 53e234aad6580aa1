//! The fast path against DataFusion: every answer of `select_rows` / `aggregate` must equal the answer of the
//! equivalent SQL on the same Arrow batch (rows in the same order, same totals, same aggregate values), including
//! keyset paging through whole result sets. Tables are made the way a publisher makes them: a CSV through
//! `tapwater_ingest::ingest_file`, read back from the Parquet it wrote.

#![allow(clippy::unwrap_used)]

use std::fs::File;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use arrow::datatypes::{DataType, Field as ArrowField, Schema};
use arrow::record_batch::RecordBatch;
use arrow::util::display::array_value_to_string;
use datafusion::prelude::SessionContext;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tapwater_query::QueryError;
use tapwater_query::aggregate::aggregate;
use tapwater_query::hot::HotTable;
use tapwater_query::params::{AggregateQuery, RowQuery};
use tapwater_query::select::select_rows;
use tapwater_types::TableSchema;

// ------------------------------------------------------------------------------------------------------------------
// Fixtures

/// Ingests CSV text as a publisher's upload and reads the version back as one batch.
fn ingest_csv(csv: &str) -> (TableSchema, RecordBatch) {
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("data.csv");
    std::fs::write(&csv_path, csv).unwrap();
    let parquet_path = dir.path().join("data.parquet");
    let out = File::create(&parquet_path).unwrap();
    let report =
        tapwater_ingest::ingest_file(&csv_path, out, &tapwater_ingest::IngestOptions::default(), &mut |_| {}).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&parquet_path).unwrap()).unwrap().build().unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    let batch = arrow::compute::concat_batches(&report.arrow_schema, &batches).unwrap();
    (report.schema, batch)
}

/// A small deterministic generator (64-bit LCG, high bits).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const ROWS: usize = 20_000;

/// ~20,000 rows: districts (Chinese, one with a comma, some empty), integers with nulls, decimals (negative too),
/// dates, date-times, times, booleans, unique text with Chinese and commas, codes, and columns named `_flag`
/// and `_sort`.
fn generated_csv() -> String {
    let districts = ["苓雅區", "三民區", "鳳山區", "臺北市,大安區", "前鎮區", "鼓山區", "新興區", "旗津區", "那瑪夏區"];
    let roads = ["中山一路", "中正二路", "民族一路", "建國二路", "九如一路", "自由一路", "三多四路", "成功二路"];
    let mut rng = Lcg(20240601);
    let mut csv = String::from("id,行政區,year,injuries,amount,lon,big,day,due,at,t,ok,note,code,_flag,_sort\n");
    let epoch = chrono::NaiveDate::from_ymd_opt(2016, 1, 1).unwrap();
    let far = chrono::NaiveDate::from_ymd_opt(1990, 1, 1).unwrap();
    for id in 1..=ROWS {
        let district = if rng.chance(3) { String::new() } else { quote(districts[rng.below(9) as usize]) };
        let year = if rng.chance(5) { String::new() } else { (2016 + rng.below(8)).to_string() };
        let injuries = if rng.chance(5) { String::new() } else { rng.below(9).to_string() };
        let amount = if rng.chance(5) {
            String::new()
        } else {
            let cents = rng.below(200_000) as i64 - 50_000;
            if cents == 0 {
                "0.00".to_string()
            } else {
                format!("{}{}.{:02}", if cents < 0 { "-" } else { "" }, cents.abs() / 100, cents.abs() % 100)
            }
        };
        let lon = format!("120.{:06}", rng.below(1_000_000));
        let big = if rng.chance(7) { String::new() } else { (rng.below(10_000_000) as i64 - 2_000_000).to_string() };
        let day = epoch + chrono::Days::new(rng.below(2_900));
        let due = if rng.chance(4) { String::new() } else { (far + chrono::Days::new(rng.below(40_000))).to_string() };
        let at = format!(
            "{}T{:02}:{:02}:{:02}",
            epoch + chrono::Days::new(rng.below(2_900)),
            rng.below(24),
            rng.below(60),
            rng.below(60)
        );
        let t = if rng.chance(6) { String::new() } else { format!("{:02}:{:02}", rng.below(24), rng.below(60)) };
        let ok = match rng.below(10) {
            0 => String::new(),
            1..=4 => "true".to_string(),
            _ => "false".to_string(),
        };
        let note = if rng.chance(4) {
            String::new()
        } else {
            quote(&format!("{},第{}號", roads[rng.below(8) as usize], rng.below(5_000)))
        };
        let code = format!("A{:02}", rng.below(30));
        let flag = ["x", "y", "z"][rng.below(3) as usize];
        let sort = ["p", "q"][rng.below(2) as usize];
        csv.push_str(&format!(
            "{id},{district},{year},{injuries},{amount},{lon},{big},{day},{due},{at},{t},{ok},{note},{code},{flag},{sort}\n"
        ));
    }
    csv
}

fn quote(s: &str) -> String {
    if s.contains(',') { format!("\"{s}\"") } else { s.to_string() }
}

/// The generated table, hot and registered in DataFusion as `t` with an extra `__row` column (the row id).
struct Fixture {
    table: HotTable,
    ctx: SessionContext,
}

fn fixture() -> Fixture {
    let (schema, batch) = ingest_csv(&generated_csv());
    let ctx = datafusion_context(&batch);
    let table = HotTable::build("v1".into(), 1, schema, batch).unwrap();
    Fixture { table, ctx }
}

fn datafusion_context(batch: &RecordBatch) -> SessionContext {
    let mut fields: Vec<ArrowField> = batch.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(ArrowField::new("__row", DataType::Int64, false));
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    columns.push(Arc::new(Int64Array::from_iter_values(0..batch.num_rows() as i64)));
    let with_row = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    let ctx = SessionContext::new();
    ctx.register_batch("t", with_row).unwrap();
    ctx
}

fn pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (p.to_string(), String::new()),
        })
        .collect()
}

async fn sql(ctx: &SessionContext, sql: &str) -> RecordBatch {
    let df = ctx.sql(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    let schema = Arc::new(df.schema().as_arrow().clone());
    let batches = df.collect().await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    arrow::compute::concat_batches(&schema, &batches).unwrap()
}

async fn sql_ints(ctx: &SessionContext, query: &str) -> Vec<i64> {
    let batch = sql(ctx, query).await;
    if batch.num_columns() == 0 {
        return Vec::new();
    }
    batch.column(0).as_primitive::<arrow::datatypes::Int64Type>().values().to_vec()
}

// ------------------------------------------------------------------------------------------------------------------
// Rows

/// A row query and its SQL twin: WHERE clause and ORDER BY keys (the row id is appended as the last key).
struct RowCase {
    query: String,
    r#where: String,
    order: String,
}

fn case(query: impl Into<String>, r#where: impl Into<String>, order: impl Into<String>) -> RowCase {
    RowCase { query: query.into(), r#where: r#where.into(), order: order.into() }
}

fn order_by(order: &str) -> String {
    if order.is_empty() { "__row".to_string() } else { format!("{order}, __row") }
}

async fn check_rows(f: &Fixture, case: &RowCase) {
    let query =
        RowQuery::parse(&pairs(&case.query), f.table.schema()).unwrap_or_else(|e| panic!("{}: {e}", case.query));
    let page = select_rows(&f.table, &query).unwrap_or_else(|e| panic!("{}: {e}", case.query));
    let expected = sql_ints(
        &f.ctx,
        &format!(
            "SELECT __row FROM t WHERE {} ORDER BY {} LIMIT {} OFFSET {}",
            case.r#where,
            order_by(&case.order),
            query.limit,
            query.offset
        ),
    )
    .await;
    let got: Vec<i64> = page.row_ids.iter().map(|r| i64::from(*r)).collect();
    assert_eq!(got, expected, "rows of {}", case.query);
    let total = sql_ints(&f.ctx, &format!("SELECT count(*) FROM t WHERE {}", case.r#where)).await;
    assert_eq!(page.total as i64, total[0], "total of {}", case.query);
    let more = (query.offset + page.row_ids.len()) < page.total as usize && query.limit > 0;
    assert_eq!(page.next_cursor.is_some(), more, "next_cursor of {}", case.query);
}

/// The value of column `name` at row `row`, as the text a URL would carry.
fn cell(f: &Fixture, name: &str, row: usize) -> String {
    let index = f.table.schema().index_of(name).unwrap();
    array_value_to_string(f.table.batch().column(index), row).unwrap()
}

fn first_non_null(f: &Fixture, name: &str, from: usize) -> (usize, String) {
    let index = f.table.schema().index_of(name).unwrap();
    let column = f.table.batch().column(index);
    (from..column.len()).find(|r| column.is_valid(*r)).map(|r| (r, array_value_to_string(column, r).unwrap())).unwrap()
}

#[tokio::test]
async fn row_queries_match_datafusion() {
    let f = fixture();
    // The types ingestion inferred are the premise of the cases below.
    let types: Vec<&str> = f.table.schema().fields.iter().map(|x| x.field_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "integer", "text", "integer", "integer", "decimal", "decimal", "integer", "date", "date", "datetime",
            "time", "boolean", "text", "text", "text", "text"
        ]
    );
    let (_, big1) = first_non_null(&f, "big", 5);
    let (_, big2) = first_non_null(&f, "big", 77);
    let (_, amount) = first_non_null(&f, "amount", 10);
    let (_, due1) = first_non_null(&f, "due", 3);
    let (_, due2) = first_non_null(&f, "due", 900);
    // Date-times as µs since the epoch, computed independently of the parser under test.
    let utc = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros();
    let time_us = |s: &str| tapwater_ingest::parse_time(s).unwrap();
    let cases = vec![
        // text with a dictionary: every operator
        case("行政區=苓雅區", r#""行政區" = '苓雅區'"#, ""),
        case("行政區__eq=苓雅區&_limit=7&_offset=3", r#""行政區" = '苓雅區'"#, ""),
        case("行政區__ne=苓雅區&_sort=-id", r#""行政區" <> '苓雅區'"#, "id DESC"),
        case(r#"行政區__in=["臺北市,大安區","苓雅區"]&_limit=50"#, r#""行政區" IN ('臺北市,大安區', '苓雅區')"#, ""),
        case(
            "行政區__in=三民區,鳳山區&year__gte=2020&_sort=injuries,-amount&_limit=30&_offset=10",
            r#""行政區" IN ('三民區', '鳳山區') AND year >= 2020"#,
            "injuries ASC NULLS LAST, amount DESC NULLS LAST",
        ),
        case(
            "行政區__contains=區&_sort=行政區&_limit=20&_offset=500",
            r#"strpos("行政區", '區') > 0"#,
            r#""行政區" ASC NULLS LAST"#,
        ),
        case(
            "行政區__startswith=臺北&_sort=-行政區,id",
            r#"starts_with("行政區", '臺北')"#,
            r#""行政區" DESC NULLS LAST, id"#,
        ),
        case(
            "行政區__gt=旗津區&行政區__lte=苓雅區&_sort=-行政區",
            r#""行政區" > '旗津區' AND "行政區" <= '苓雅區'"#,
            r#""行政區" DESC NULLS LAST"#,
        ),
        case("行政區__isnull=true&_limit=200", r#""行政區" IS NULL"#, ""),
        case(
            "行政區__isnull=0&_sort=-行政區&_limit=40&_offset=3000",
            r#""行政區" IS NOT NULL"#,
            r#""行政區" DESC NULLS LAST"#,
        ),
        case("_sort=行政區&_limit=30&_offset=19390", "true", r#""行政區" ASC NULLS LAST"#),
        // text without a dictionary
        case("note__contains=,第1&_sort=-lon", "strpos(note, ',第1') > 0", "lon DESC NULLS LAST"),
        case("note__startswith=中山&_sort=note", "starts_with(note, '中山')", "note ASC NULLS LAST"),
        case("note__gt=中&note__lte=民&_sort=-note&_limit=25", "note > '中' AND note <= '民'", "note DESC NULLS LAST"),
        case("note=中山一路,第12號", "note = '中山一路,第12號'", ""),
        case("note__ne=中山一路,第12號&_sort=note&_offset=100", "note <> '中山一路,第12號'", "note ASC NULLS LAST"),
        case(r#"note__in=["中山一路,第12號","自由一路,第7號"]"#, "note IN ('中山一路,第12號', '自由一路,第7號')", ""),
        case("note__isnull=true", "note IS NULL", ""),
        case(
            "note__startswith=九如一路,第1&_sort=-lon,行政區&_offset=3",
            "starts_with(note, '九如一路,第1')",
            r#"lon DESC NULLS LAST, "行政區" ASC NULLS LAST"#,
        ),
        case("_sort=-note&_limit=10&_offset=19000", "true", "note DESC NULLS LAST"),
        // integers with a dictionary
        case("year=2020&injuries__gte=3&行政區=三民區", r#"year = 2020 AND injuries >= 3 AND "行政區" = '三民區'"#, ""),
        case(
            "year__ne=2020&_sort=year,-injuries,id&_limit=100&_offset=100",
            "year <> 2020",
            "year ASC NULLS LAST, injuries DESC NULLS LAST, id",
        ),
        case("year__lt=2018&_sort=-year", "year < 2018", "year DESC NULLS LAST"),
        case("year__isnull=true&_sort=injuries", "year IS NULL", "injuries ASC NULLS LAST"),
        case(
            "injuries__in=0,8&_sort=-injuries,lon",
            "injuries IN (0, 8)",
            "injuries DESC NULLS LAST, lon ASC NULLS LAST",
        ),
        case(
            "injuries__lte=1&year__gt=2021&_sort=-year,-injuries",
            "injuries <= 1 AND year > 2021",
            "year DESC NULLS LAST, injuries DESC NULLS LAST",
        ),
        // integers without a dictionary
        case("big__gt=0&big__lte=5000000&_sort=-big", "big > 0 AND big <= 5000000", "big DESC NULLS LAST"),
        case(format!("big__in={big1},{big2}"), format!("big IN ({big1}, {big2})"), ""),
        case(format!("big__ne={big1}&_sort=big&_limit=10"), format!("big <> {big1}"), "big ASC NULLS LAST"),
        case("big__isnull=false&_sort=big&_limit=10&_offset=15000", "big IS NOT NULL", "big ASC NULLS LAST"),
        case("_sort=-big&_limit=20&_offset=18590", "true", "big DESC NULLS LAST"),
        case("big__isnull=1&_sort=-amount", "big IS NULL", "amount DESC NULLS LAST"),
        // an ascending integer (row ranges)
        case("id__gte=19000&行政區=三民區&_sort=id&_limit=50", r#"id >= 19000 AND "行政區" = '三民區'"#, "id"),
        case("id=77", "id = 77", ""),
        case("id__gt=100&id__lt=90", "id > 100 AND id < 90", ""),
        case("id__lte=500&_sort=-id&_offset=20", "id <= 500", "id DESC"),
        case("id__in=5,9,7000&_sort=-id", "id IN (5, 9, 7000)", "id DESC"),
        case("id__ne=1&_limit=3", "id <> 1", ""),
        // decimals
        case(
            "amount__gte=100.5&amount__lt=1000&_sort=amount",
            "amount >= 100.5 AND amount < 1000",
            "amount ASC NULLS LAST",
        ),
        case(format!("amount={amount}"), format!("amount = {amount}"), ""),
        case(
            format!("amount__ne={amount}&_sort=-amount&_limit=5"),
            format!("amount <> {amount}"),
            "amount DESC NULLS LAST",
        ),
        case("amount__lte=-100&_sort=-amount,id", "amount <= -100", "amount DESC NULLS LAST, id"),
        case("amount__in=0,1.5,-2.25&_sort=amount", "amount IN (0, 1.5, -2.25)", "amount ASC NULLS LAST"),
        case("lon__gte=120.5&_sort=lon", "lon >= 120.5", "lon ASC NULLS LAST"),
        case("lon__lt=120.01&_sort=-lon&_limit=1000", "lon < 120.01", "lon DESC NULLS LAST"),
        // dates (with and without a dictionary)
        case(
            "day__gte=2020-01-01&day__lt=2021-01-01&_sort=-day",
            "day >= DATE '2020-01-01' AND day < DATE '2021-01-01'",
            "day DESC NULLS LAST",
        ),
        case("day=2019-05-05", "day = DATE '2019-05-05'", ""),
        case("due__gt=2030-01-01&_sort=due", "due > DATE '2030-01-01'", "due ASC NULLS LAST"),
        case(format!("due__in={due1},{due2}"), format!("due IN (DATE '{due1}', DATE '{due2}')"), ""),
        case("due__isnull=true&_sort=-day,id", "due IS NULL", "day DESC NULLS LAST, id"),
        // date-times (local Asia/Taipei, or with an offset) and times
        case(
            "at__gte=2020-03-01T08:30:00&at__lt=2020-06-01T00:00:00+08:00&_sort=-at",
            format!(
                "arrow_cast(at, 'Int64') >= {} AND arrow_cast(at, 'Int64') < {}",
                utc("2020-03-01T00:30:00Z"),
                utc("2020-05-31T16:00:00Z")
            ),
            "at DESC NULLS LAST",
        ),
        case(
            "at__lte=2016-01-03T00:00:00Z&_sort=at",
            format!("arrow_cast(at, 'Int64') <= {}", utc("2016-01-03T00:00:00Z")),
            "at ASC NULLS LAST",
        ),
        case(
            "t__gte=08:00&t__lt=09:30&_sort=t,-id",
            format!("arrow_cast(t, 'Int64') >= {} AND arrow_cast(t, 'Int64') < {}", time_us("08:00"), time_us("09:30")),
            "t ASC NULLS LAST, id DESC",
        ),
        case("t__isnull=true&_sort=-t", "t IS NULL", "t DESC NULLS LAST"),
        // booleans
        case("ok=true&_sort=-ok,id&_limit=10", "ok = true", "ok DESC NULLS LAST, id"),
        case("ok__ne=true&_sort=ok,-big", "ok <> true", "ok ASC NULLS LAST, big DESC NULLS LAST"),
        case("ok__isnull=true", "ok IS NULL", ""),
        case(
            "_sort=-ok,行政區,-lon&_limit=100&_offset=50",
            "true",
            r#"ok DESC NULLS LAST, "行政區" ASC NULLS LAST, lon DESC NULLS LAST"#,
        ),
        // columns starting with `_`, the JSON filter form
        case("_flag=x&_sort=_flag,-id", "_flag = 'x'", "_flag, id DESC"),
        case(
            r#"_filters=[["_sort","eq","p"],["行政區","in",["臺北市,大安區"]],["year","gte",2019]]"#,
            r#""_sort" = 'p' AND "行政區" IN ('臺北市,大安區') AND year >= 2019"#,
            "",
        ),
        case(
            r#"_filters=[["code","in",["A01","A02"]]]&_sort=code,-lon"#,
            "code IN ('A01', 'A02')",
            "code, lon DESC NULLS LAST",
        ),
        case("code__startswith=A1&code__ne=A12&_sort=-code", "starts_with(code, 'A1') AND code <> 'A12'", "code DESC"),
        // paging edges
        case("_sort=lon&_limit=10&_offset=19995", "true", "lon ASC NULLS LAST"),
        case("_limit=0", "true", ""),
        case("_offset=30000", "true", ""),
        case("_limit=10000", "true", ""),
    ];
    assert!(cases.len() >= 25);
    for c in &cases {
        check_rows(&f, c).await;
    }

    // `_fields` is the projection, in the order given; the cells are the batch's.
    let query = RowQuery::parse(&pairs("_fields=note,id,行政區&_sort=-id&_limit=5"), f.table.schema()).unwrap();
    let page = select_rows(&f.table, &query).unwrap();
    let schema = f.table.schema();
    assert_eq!(page.columns, vec![schema.index_of("note").unwrap(), 0, 1]);
    assert_eq!(page.row_ids, vec![19_999, 19_998, 19_997, 19_996, 19_995]);
    let expected = sql(&f.ctx, r#"SELECT note, id, "行政區" FROM t ORDER BY id DESC LIMIT 5"#).await;
    for (i, row) in page.row_ids.iter().enumerate() {
        for (j, column) in page.columns.iter().enumerate() {
            assert_eq!(
                array_value_to_string(f.table.batch().column(*column), *row as usize).unwrap(),
                array_value_to_string(expected.column(j), i).unwrap()
            );
        }
    }
    assert_eq!(cell(&f, "id", 19_999), "20000");
}

/// Follows `next_cursor` with `_limit=7` through the whole result and compares with one ORDER BY.
async fn check_paging(f: &Fixture, query: &str, r#where: &str, order: &str) {
    let expected =
        sql_ints(&f.ctx, &format!("SELECT __row FROM t WHERE {} ORDER BY {}", r#where, order_by(order))).await;
    let mut got: Vec<i64> = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut p = pairs(query);
        p.push(("_limit".into(), "7".into()));
        if let Some(t) = &token {
            p.push(("_cursor".into(), t.clone()));
        }
        let parsed = RowQuery::parse(&p, f.table.schema()).unwrap_or_else(|e| panic!("{query} page {pages}: {e}"));
        let page = select_rows(&f.table, &parsed).unwrap();
        assert_eq!(page.total as usize, expected.len(), "{query}");
        assert!(page.row_ids.len() <= 7);
        got.extend(page.row_ids.iter().map(|r| i64::from(*r)));
        pages += 1;
        match page.next_cursor {
            Some(next) => {
                assert_eq!(page.row_ids.len(), 7, "{query}: a short page with a next cursor");
                token = Some(next);
            }
            None => break,
        }
        assert!(pages <= expected.len() / 7 + 2, "{query}: paging does not end");
    }
    assert_eq!(got, expected, "paging through {query}");
}

#[tokio::test]
async fn keyset_paging_matches_datafusion_order() {
    let f = fixture();
    // multi-key: top-k path
    check_paging(
        &f,
        "year__gte=2022&_sort=-amount,行政區",
        "year >= 2022",
        r#"amount DESC NULLS LAST, "行政區" ASC NULLS LAST"#,
    )
    .await;
    // one key, with nulls, through the permutation, across the null region
    check_paging(&f, "_sort=-big", "true", "big DESC NULLS LAST").await;
    check_paging(&f, "amount__lt=0&_sort=amount", "amount < 0", "amount ASC NULLS LAST").await;
    // a dictionary key descending
    check_paging(
        &f,
        "行政區__in=三民區,苓雅區,旗津區&_sort=-行政區",
        r#""行政區" IN ('三民區', '苓雅區', '旗津區')"#,
        r#""行政區" DESC NULLS LAST"#,
    )
    .await;
    // file order over a bitmap, and the ascending column both ways
    check_paging(&f, "injuries__gte=6", "injuries >= 6", "").await;
    check_paging(&f, "injuries__in=1,7&_sort=-id", "injuries IN (1, 7)", "id DESC").await;
    // two keys, large runs of the first: read in the second key's permutation
    check_paging(&f, "_sort=ok,-lon", "true", "ok ASC NULLS LAST, lon DESC NULLS LAST").await;
    check_paging(
        &f,
        "year__gte=2020&_sort=-_sort,big",
        "year >= 2020",
        r#""_sort" DESC NULLS LAST, big ASC NULLS LAST"#,
    )
    .await;
    // multi-key, few matches: top-k with the cursor as a filter
    check_paging(
        &f,
        "note__startswith=自由一路,第2&_sort=big,-t",
        "starts_with(note, '自由一路,第2')",
        "big ASC NULLS LAST, t DESC NULLS LAST",
    )
    .await;
    check_paging(&f, "year=2020&_sort=-id", "year = 2020", "id DESC").await;
    check_paging(&f, "行政區=那瑪夏區&_sort=id", r#""行政區" = '那瑪夏區'"#, "id").await;
    // text without a dictionary, descending, and a sort with nulls in two keys
    check_paging(&f, "note__startswith=九如&_sort=-note", "starts_with(note, '九如')", "note DESC NULLS LAST").await;
    check_paging(
        &f,
        "ok=false&t__lt=03:00&_sort=t,-big",
        &format!("ok = false AND arrow_cast(t, 'Int64') < {}", 3 * 3_600_000_000i64),
        "t ASC NULLS LAST, big DESC NULLS LAST",
    )
    .await;
}

// ------------------------------------------------------------------------------------------------------------------
// Aggregates

/// An aggregate query and its SQL twin (the whole statement, with the tie-break order by the group columns).
async fn check_aggregate(f: &Fixture, query: &str, statement: &str, total_groups: usize) {
    let parsed = AggregateQuery::parse(&pairs(query), f.table.schema()).unwrap_or_else(|e| panic!("{query}: {e}"));
    let out = aggregate(&f.table, &parsed).unwrap_or_else(|e| panic!("{query}: {e}"));
    let expected = sql(&f.ctx, statement).await;
    assert_eq!(out.total_groups as usize, total_groups, "total groups of {query}");
    assert_eq!(out.batch.num_rows(), expected.num_rows(), "rows of {query}");
    assert_eq!(out.batch.num_columns(), expected.num_columns(), "columns of {query}");
    for (i, (field, expected_field)) in out.batch.schema().fields().iter().zip(expected.schema().fields()).enumerate() {
        assert_eq!(field.name(), expected_field.name(), "{query}");
        assert_eq!(field.data_type(), expected_field.data_type(), "type of {} in {query}", field.name());
        let (a, b) = (out.batch.column(i), expected.column(i));
        for row in 0..a.len() {
            assert_eq!(a.is_null(row), b.is_null(row), "{query}: {} row {row}", field.name());
            if a.is_null(row) {
                continue;
            }
            if let DataType::Float64 = field.data_type() {
                let (x, y) = (
                    a.as_primitive::<arrow::datatypes::Float64Type>().value(row),
                    b.as_primitive::<arrow::datatypes::Float64Type>().value(row),
                );
                assert!(
                    (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
                    "{query}: {} row {row}: {x} vs {y}",
                    field.name()
                );
            } else {
                assert_eq!(
                    array_value_to_string(a, row).unwrap(),
                    array_value_to_string(b, row).unwrap(),
                    "{query}: {} row {row}",
                    field.name()
                );
            }
        }
    }
}

async fn group_count(f: &Fixture, group: &str, r#where: &str) -> usize {
    let n =
        sql_ints(&f.ctx, &format!("SELECT count(*) FROM (SELECT 1 FROM t WHERE {} GROUP BY {group})", r#where)).await;
    n[0] as usize
}

#[tokio::test]
async fn aggregates_match_datafusion() {
    let f = fixture();
    let d = r#""行政區""#;
    let cases: Vec<(String, String, String, String)> = vec![
        // (query, group by, where, rest of the statement: select list after the group columns, order, limit)
        (
            "_group=行政區&_count=1&_sum=injuries".into(),
            d.into(),
            "true".into(),
            format!(r#"count(*) AS "count", sum(injuries) AS "sum_injuries" FROM t WHERE true GROUP BY {d} ORDER BY {d} ASC NULLS LAST LIMIT 1000"#),
        ),
        (
            "_group=行政區&_count=1&_sum=injuries&lon__gte=120.5".into(),
            d.into(),
            "lon >= 120.5".into(),
            format!(r#"count(*) AS "count", sum(injuries) AS "sum_injuries" FROM t WHERE lon >= 120.5 GROUP BY {d} ORDER BY {d} ASC NULLS LAST"#),
        ),
        (
            "_group=行政區,year&_count=1&_avg=amount&_sort=-count&_limit=20&_offset=5".into(),
            format!("{d}, year"),
            "true".into(),
            format!(r#"count(*) AS "count", avg(amount) AS "avg_amount" FROM t GROUP BY {d}, year ORDER BY "count" DESC NULLS LAST, {d} ASC NULLS LAST, year ASC NULLS LAST LIMIT 20 OFFSET 5"#),
        ),
        (
            "_group=year&_sum=amount,big&_min=day,note&_max=at,t,ok".into(),
            "year".into(),
            "true".into(),
            r#"sum(amount) AS "sum_amount", sum(big) AS "sum_big", min(day) AS "min_day", min(note) AS "min_note", max(at) AS "max_at", max(t) AS "max_t", max(ok) AS "max_ok" FROM t GROUP BY year ORDER BY year ASC NULLS LAST"#.into(),
        ),
        (
            "_count=1&year=2020&injuries__gte=3&行政區=三民區".into(),
            String::new(),
            String::new(),
            r#"count(*) AS "count" FROM t WHERE year = 2020 AND injuries >= 3 AND "行政區" = '三民區'"#.into(),
        ),
        (
            "_group=note&_count=1&_limit=10&_sort=-count".into(),
            "note".into(),
            "true".into(),
            r#"count(*) AS "count" FROM t GROUP BY note ORDER BY "count" DESC NULLS LAST, note ASC NULLS LAST LIMIT 10"#.into(),
        ),
        (
            "_group=big&_sum=injuries&_sort=-sum_injuries&_limit=15".into(),
            "big".into(),
            "true".into(),
            r#"sum(injuries) AS "sum_injuries" FROM t GROUP BY big ORDER BY "sum_injuries" DESC NULLS LAST, big ASC NULLS LAST LIMIT 15"#.into(),
        ),
        (
            "_group=ok,_flag&_max=amount&_min=amount&_avg=injuries".into(),
            "ok, _flag".into(),
            "true".into(),
            r#"max(amount) AS "max_amount", min(amount) AS "min_amount", avg(injuries) AS "avg_injuries" FROM t GROUP BY ok, _flag ORDER BY ok ASC NULLS LAST, _flag ASC NULLS LAST"#.into(),
        ),
        (
            "_group=day&_count=1&_sort=-day&_limit=5".into(),
            "day".into(),
            "true".into(),
            r#"count(*) AS "count" FROM t GROUP BY day ORDER BY day DESC NULLS LAST LIMIT 5"#.into(),
        ),
        (
            "_sum=injuries&_avg=lon&_min=行政區&_max=行政區".into(),
            String::new(),
            String::new(),
            format!(r#"sum(injuries) AS "sum_injuries", avg(lon) AS "avg_lon", min({d}) AS "min_行政區", max({d}) AS "max_行政區" FROM t"#),
        ),
        (
            "_group=行政區&_count=1&year__isnull=true&_sort=count".into(),
            d.into(),
            "year IS NULL".into(),
            format!(r#"count(*) AS "count" FROM t WHERE year IS NULL GROUP BY {d} ORDER BY "count" ASC NULLS LAST, {d} ASC NULLS LAST"#),
        ),
        (
            "_group=amount&_count=1&_limit=10&_offset=3".into(),
            "amount".into(),
            "true".into(),
            r#"count(*) AS "count" FROM t GROUP BY amount ORDER BY amount ASC NULLS LAST LIMIT 10 OFFSET 3"#.into(),
        ),
        (
            "_group=t&_sum=big&_limit=3&_offset=1439".into(),
            "t".into(),
            "true".into(),
            r#"sum(big) AS "sum_big" FROM t GROUP BY t ORDER BY t ASC NULLS LAST LIMIT 3 OFFSET 1439"#.into(),
        ),
        (
            "_count=1&_sum=injuries&_max=note&id__gt=999999".into(),
            String::new(),
            String::new(),
            r#"count(*) AS "count", sum(injuries) AS "sum_injuries", max(note) AS "max_note" FROM t WHERE id > 999999"#.into(),
        ),
        (
            "_group=行政區&id__gt=999999".into(),
            d.into(),
            "id > 999999".into(),
            format!(r#"count(*) AS "count" FROM t WHERE id > 999999 GROUP BY {d} ORDER BY {d}"#),
        ),
        (
            "_group=code,行政區,injuries&_sum=amount&note__contains=路&_sort=-sum_amount&_limit=25".into(),
            format!("code, {d}, injuries"),
            "strpos(note, '路') > 0".into(),
            format!(r#"sum(amount) AS "sum_amount" FROM t WHERE strpos(note, '路') > 0 GROUP BY code, {d}, injuries ORDER BY "sum_amount" DESC NULLS LAST, code ASC NULLS LAST, {d} ASC NULLS LAST, injuries ASC NULLS LAST LIMIT 25"#),
        ),
        (
            "_group=due,year&_count=1&_max=lon&due__lte=1995-01-01&_sort=-max_lon".into(),
            "due, year".into(),
            "due <= DATE '1995-01-01'".into(),
            r#"count(*) AS "count", max(lon) AS "max_lon" FROM t WHERE due <= DATE '1995-01-01' GROUP BY due, year ORDER BY "max_lon" DESC NULLS LAST, due ASC NULLS LAST, year ASC NULLS LAST"#.into(),
        ),
    ];
    for (query, group, r#where, rest) in &cases {
        let select_list = if group.is_empty() { String::new() } else { format!("{group}, ") };
        let statement = format!("SELECT {select_list}{rest}");
        let total = if group.is_empty() { 1 } else { group_count(&f, group, r#where).await };
        check_aggregate(&f, query, &statement, total).await;
    }
}

// ------------------------------------------------------------------------------------------------------------------
// Errors, indexes

fn row_error(f: &Fixture, query: &str) -> QueryError {
    match RowQuery::parse(&pairs(query), f.table.schema()) {
        Err(e) => e,
        Ok(q) => select_rows(&f.table, &q).err().unwrap_or_else(|| panic!("{query} should fail")),
    }
}

#[tokio::test]
async fn errors_name_the_parameter() {
    let f = fixture();
    let e = row_error(&f, "nope=1");
    assert_eq!((e.code(), e.param()), ("unknown_column", Some("nope")));
    let e = row_error(&f, "行政區=苓雅區&nope__gte=1");
    assert_eq!(e, QueryError::UnknownColumn { param: "nope__gte".into(), column: "nope".into() });
    let e = row_error(&f, "year__like=1");
    assert_eq!((e.code(), e.param()), ("unknown_operator", Some("year__like")));
    let e = row_error(&f, "year__contains=1");
    assert_eq!((e.code(), e.param()), ("operator_not_applicable", Some("year__contains")));
    let e = row_error(&f, "year=20x");
    assert_eq!((e.code(), e.param()), ("invalid_filter_value", Some("year")));
    let e = row_error(&f, "injuries__in=1,2.5");
    assert_eq!((e.code(), e.param()), ("invalid_filter_value", Some("injuries__in")));
    let e = row_error(&f, "day__gte=2020-02-30");
    assert_eq!((e.code(), e.param()), ("invalid_filter_value", Some("day__gte")));
    let e = row_error(&f, "_limit=10001");
    assert_eq!((e.code(), e.param()), ("invalid_parameter", Some("_limit")));
    let e = row_error(&f, "_sort=-nope");
    assert_eq!((e.code(), e.param()), ("unknown_column", Some("_sort")));

    // Cursors: tampered, reused with other filters or sort, used on another version.
    let query = "year=2020&_sort=-amount&_limit=5";
    let first = select_rows(&f.table, &RowQuery::parse(&pairs(query), f.table.schema()).unwrap()).unwrap();
    let token = first.next_cursor.unwrap();
    let ok = row_error_or_page(&f, &format!("{query}&_cursor={token}"));
    assert!(ok.is_ok());
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 3;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for bad in [
        format!("{query}&_cursor={tampered}"),
        format!("{query}&_cursor=garbage"),
        format!("year=2021&_sort=-amount&_cursor={token}"),
        format!("year=2020&_sort=amount&_cursor={token}"),
        format!("year=2020&_cursor={token}"),
    ] {
        let e = row_error(&f, &bad);
        assert_eq!(e, QueryError::InvalidCursor { param: "_cursor".into() }, "{bad}");
    }
    let e = row_error(&f, &format!("{query}&_cursor={token}&_offset=5"));
    assert_eq!((e.code(), e.param()), ("invalid_parameter", Some("_cursor")));
    let other_version = HotTable::build("v2".into(), 2, f.table.schema().clone(), f.table.batch().clone()).unwrap();
    let q = RowQuery::parse(&pairs(&format!("{query}&_cursor={token}")), f.table.schema()).unwrap();
    assert_eq!(select_rows(&other_version, &q).unwrap_err(), QueryError::InvalidCursor { param: "_cursor".into() });
    assert_eq!(tapwater_query::params::requested_version(&pairs(&format!("_cursor={token}"))).unwrap(), Some(1));

    // Aggregates.
    let agg = |q: &str| AggregateQuery::parse(&pairs(q), f.table.schema()).unwrap_err();
    assert_eq!(agg("_sum=note").code(), "operator_not_applicable");
    assert_eq!(agg("_avg=行政區").param(), Some("_avg"));
    assert_eq!(agg("_group=nope").param(), Some("_group"));
    assert_eq!(agg("_group=year&_sort=-sum_x").param(), Some("_sort"));
    assert_eq!(agg("_limit=10001").param(), Some("_limit"));
}

fn row_error_or_page(f: &Fixture, query: &str) -> Result<tapwater_query::select::RowPage, QueryError> {
    let q = RowQuery::parse(&pairs(query), f.table.schema())?;
    select_rows(&f.table, &q)
}

#[test]
fn integer_sums_that_overflow_are_an_error() {
    let (schema, batch) = ingest_csv("g,n\na,9223372036854775807\na,1\nb,2\n");
    let table = HotTable::build("v".into(), 1, schema, batch).unwrap();
    let q = AggregateQuery::parse(&pairs("_group=g&_sum=n"), table.schema()).unwrap();
    let e = aggregate(&table, &q).unwrap_err();
    assert_eq!((e.code(), e.param()), ("invalid_parameter", Some("_sum")));
    // The average of the same values is exact enough (i128 accumulation).
    let q = AggregateQuery::parse(&pairs("_group=g&_avg=n"), table.schema()).unwrap();
    let out = aggregate(&table, &q).unwrap();
    assert_eq!(out.batch.column(1).as_primitive::<arrow::datatypes::Float64Type>().value(0), 4.611686018427388e18);
}

#[test]
fn indexes_are_built_where_they_pay() {
    let f = fixture();
    let schema = f.table.schema();
    let index = |name: &str| f.table.index(schema.index_of(name).unwrap()).unwrap();
    assert!(index("id").is_ascending());
    assert!(!index("id").has_dictionary());
    assert_eq!(index("行政區").distinct_values(), Some(9));
    assert!(index("行政區").null_count() > 0 && !index("行政區").is_ascending());
    assert_eq!(index("year").distinct_values(), Some(8));
    assert_eq!(index("ok").distinct_values(), Some(2));
    assert!(!index("note").has_dictionary());
    assert!(!index("lon").has_dictionary(), "decimals get no dictionary");
    assert!(!index("at").has_dictionary());
    // Index bytes count in the LRU weight, and permutations count once built.
    let data = f.table.batch().get_array_memory_size();
    let before = f.table.memory_bytes();
    assert!(before > data + 8 * ROWS * 5, "{before} vs {data}");
    let q = RowQuery::parse(&pairs("_sort=lon&_limit=3"), schema).unwrap();
    select_rows(&f.table, &q).unwrap();
    assert_eq!(f.table.memory_bytes(), before + 4 * ROWS);
}

#[test]
fn small_tables_and_empty_results() {
    let (schema, batch) = ingest_csv("名稱,數量\n甲,1\n乙,\n丙,3\n");
    let table = HotTable::build("v".into(), 1, schema, batch).unwrap();
    let page = |q: &str| select_rows(&table, &RowQuery::parse(&pairs(q), table.schema()).unwrap()).unwrap();
    assert_eq!(page("數量__gte=2").row_ids, vec![2]);
    assert_eq!(page("數量__isnull=true").row_ids, vec![1]);
    assert_eq!(page("_sort=-數量").row_ids, vec![2, 0, 1]);
    assert_eq!(page("名稱=丁").total, 0);
    let p = page("_limit=2");
    assert_eq!((p.row_ids.clone(), p.total), (vec![0, 1], 3));
    let next = p.next_cursor.unwrap();
    let p = page(&format!("_limit=2&_cursor={next}"));
    assert_eq!((p.row_ids, p.next_cursor), (vec![2], None));
}
