//! End-to-end tests of `ingest_file`: bytes in, Parquet out, read back with the Parquet reader.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    Array, BooleanArray, Date32Array, Float64Array, Int64Array, StringArray, Time64MicrosecondArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, TimeUnit};
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData};
use parquet::file::page_index::column_index::ColumnIndexMetaData;
use tapwater_types::{FieldType, Lang, TableSchema};

use crate::*;

/// What an ingest wrote, read back.
struct Ingested {
    report: IngestReport,
    table: RecordBatch,
    metadata: Arc<ParquetMetaData>,
    progress: Vec<IngestProgress>,
}

impl Ingested {
    fn column(&self, name: &str) -> &dyn Array {
        self.table.column_by_name(name).unwrap_or_else(|| panic!("no column {name}")).as_ref()
    }

    fn texts(&self, name: &str) -> Vec<Option<String>> {
        let a = self.column(name).as_any().downcast_ref::<StringArray>().expect("a text column");
        a.iter().map(|v| v.map(str::to_string)).collect()
    }

    fn ints(&self, name: &str) -> Vec<Option<i64>> {
        let a = self.column(name).as_any().downcast_ref::<Int64Array>().expect("an integer column");
        a.iter().collect()
    }

    fn decimals(&self, name: &str) -> Vec<Option<f64>> {
        let a = self.column(name).as_any().downcast_ref::<Float64Array>().expect("a decimal column");
        a.iter().collect()
    }

    fn types(&self) -> Vec<(&str, FieldType)> {
        self.report.schema.fields.iter().map(|f| (f.name.as_str(), f.field_type)).collect()
    }

    fn type_of(&self, name: &str) -> FieldType {
        self.report.schema.field(name).unwrap_or_else(|| panic!("no field {name}")).field_type
    }

    fn stats(&self, name: &str) -> &ColumnStats {
        self.report.stats.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no stats for {name}"))
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn ingest_path_with(path: &Path, options: &IngestOptions) -> Result<Ingested, IngestError> {
    let dir = tempfile::tempdir().unwrap();
    let parquet_path = dir.path().join("out.parquet");
    let mut progress = Vec::new();
    let report = ingest_file(path, File::create(&parquet_path).unwrap(), options, &mut |p| progress.push(p))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new_with_options(
        File::open(&parquet_path).unwrap(),
        ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required),
    )
    .unwrap();
    let metadata = reader.metadata().clone();
    let schema = reader.schema().clone();
    let batches: Vec<RecordBatch> = reader.build().unwrap().collect::<Result<_, _>>().unwrap();
    let table = arrow::compute::concat_batches(&schema, &batches).unwrap();
    Ok(Ingested { report, table, metadata, progress })
}

fn ingest_path(path: &Path) -> Result<Ingested, IngestError> {
    ingest_path_with(path, &IngestOptions::default())
}

fn ingest_bytes_with(bytes: &[u8], options: &IngestOptions) -> Result<Ingested, IngestError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("upload.bin"); // the name says nothing: formats are sniffed
    std::fs::write(&path, bytes).unwrap();
    ingest_path_with(&path, options)
}

fn ingest_bytes(bytes: &[u8]) -> Result<Ingested, IngestError> {
    ingest_bytes_with(bytes, &IngestOptions::default())
}

fn ingest(text: &str) -> Ingested {
    ingest_bytes(text.as_bytes()).unwrap_or_else(|e| panic!("ingest failed: {e}"))
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

// ---------------------------------------------------------------------------------------------------------------
// Inference over the whole column.

#[test]
fn a_late_word_makes_the_column_text_and_a_late_na_is_a_logged_null() {
    let mut csv = String::from("id,count,label,empty,code,ratio\n");
    for i in 1..=6000 {
        let count = if i == 5000 { "N/A".to_string() } else { (i % 17).to_string() };
        let label = if i == 5500 { "unknown".to_string() } else { (i % 5).to_string() };
        csv.push_str(&format!("{i},{count},{label},,{:05},{}.25\n", i % 100, i % 9));
    }
    let t = ingest(&csv);
    assert_eq!(t.report.row_count, 6000);
    assert_eq!(
        t.types(),
        [
            ("id", FieldType::Integer),
            ("count", FieldType::Integer),
            ("label", FieldType::Text),
            ("empty", FieldType::Text),
            ("code", FieldType::Text),
            ("ratio", FieldType::Decimal),
        ]
    );
    // `N/A` is a missing-value marker: null, and the log says where it was.
    assert_eq!(t.ints("count")[4999], None);
    let missing = t.report.transform_log.of_rule("missing_value").find(|e| e.column.as_deref() == Some("count"));
    let missing = missing.expect("a missing_value entry for count");
    assert_eq!(missing.count, 1);
    assert_eq!((missing.examples[0].row, missing.examples[0].before.as_str()), (Some(5001), "N/A"));
    // A word that is no marker makes the column text, every value kept as written.
    let labels = t.texts("label");
    assert_eq!(labels[5499], s("unknown"), "row 5,500 keeps its value");
    assert_eq!(labels[0], s("1"), "other values are kept as their text");
    assert!(t.texts("empty").iter().all(Option::is_none));
    assert_eq!(t.texts("code")[6], s("00007"), "leading zeros are kept");
    assert_eq!(t.column("empty").data_type(), &DataType::Utf8);
    assert_eq!(t.stats("empty").null_count, 6000);
}

// ---------------------------------------------------------------------------------------------------------------
// Round trip.

#[test]
fn round_trip_keeps_types_values_schema_and_page_index() {
    let csv = "\u{feff}id,name,price,ok,day,at,time,code\r\n\
               1,鳳山區,1.50,true,2016-01-01,2016-01-01T08:00:00,08:20,007\r\n\
               -2,三民區,-3,FALSE,2016-02-29,2016-01-01 00:30:00Z,23:59:59.5,010\r\n\
               3,,1e3,,,,,\r\n";
    let t = ingest(csv);
    assert_eq!(t.report.sniffed.format, SourceFormat::Csv { delimiter: b',' });
    assert_eq!(t.report.sniffed.encoding, "UTF-8 with BOM");
    assert_eq!(
        t.types(),
        [
            ("id", FieldType::Integer),
            ("name", FieldType::Text),
            ("price", FieldType::Decimal),
            ("ok", FieldType::Boolean),
            ("day", FieldType::Date),
            ("at", FieldType::Datetime),
            ("time", FieldType::Time),
            ("code", FieldType::Text),
        ]
    );
    // Arrow types as read back from the Parquet file.
    let dt = |name: &str| t.column(name).data_type().clone();
    assert_eq!(dt("id"), DataType::Int64);
    assert_eq!(dt("price"), DataType::Float64);
    assert_eq!(dt("ok"), DataType::Boolean);
    assert_eq!(dt("day"), DataType::Date32);
    assert_eq!(dt("time"), DataType::Time64(TimeUnit::Microsecond));
    assert_eq!(dt("at"), DataType::Timestamp(TimeUnit::Microsecond, Some("Asia/Taipei".into())));
    assert_eq!(dt("name"), DataType::Utf8);
    assert!(t.table.schema().fields().iter().all(|f| f.is_nullable()));
    assert_eq!(t.report.arrow_schema.fields().len(), 8);

    assert_eq!(t.ints("id"), [Some(1), Some(-2), Some(3)]);
    assert_eq!(t.texts("name"), [s("鳳山區"), s("三民區"), None]);
    assert_eq!(t.decimals("price"), [Some(1.5), Some(-3.0), Some(1000.0)]);
    let ok = t.column("ok").as_any().downcast_ref::<BooleanArray>().unwrap();
    assert_eq!(ok.iter().collect::<Vec<_>>(), [Some(true), Some(false), None]);
    let day = t.column("day").as_any().downcast_ref::<Date32Array>().unwrap();
    assert_eq!(day.iter().collect::<Vec<_>>(), [Some(16_801), Some(16_860), None]);
    let at = t.column("at").as_any().downcast_ref::<TimestampMicrosecondArray>().unwrap();
    assert_eq!(at.iter().collect::<Vec<_>>(), [Some(1_451_606_400_000_000), Some(1_451_608_200_000_000), None]);
    let time = t.column("time").as_any().downcast_ref::<Time64MicrosecondArray>().unwrap();
    assert_eq!(time.iter().collect::<Vec<_>>(), [Some(30_000_000_000), Some(86_399_500_000), None]);
    assert_eq!(t.texts("code"), [s("007"), s("010"), None]);

    // The tapwater schema travels with the data.
    let kv = t.metadata.file_metadata().key_value_metadata().expect("key-value metadata");
    let stored = kv.iter().find(|kv| kv.key == SCHEMA_METADATA_KEY).and_then(|kv| kv.value.as_deref()).unwrap();
    assert_eq!(serde_json::from_str::<TableSchema>(stored).unwrap(), t.report.schema);

    // Page index and statistics are there for readers to skip data.
    let column_index = t.metadata.column_index().expect("a column index");
    assert!(column_index.iter().flatten().all(|c| !matches!(c, ColumnIndexMetaData::NONE)));
    assert!(t.metadata.offset_index().is_some_and(|o| !o.is_empty()));
    for column in t.metadata.row_group(0).columns() {
        assert!(column.statistics().is_some(), "{}", column.column_path());
        assert_eq!(
            column.compression(),
            parquet::basic::Compression::ZSTD(parquet::basic::ZstdLevel::try_new(1).unwrap())
        );
    }

    // Column statistics as the API renders values.
    let st = |name: &str| {
        let s = t.stats(name);
        (s.null_count, s.min.clone(), s.max.clone(), s.distinct_count)
    };
    assert_eq!(st("id"), (0, s("-2"), s("3"), Some(3)));
    assert_eq!(st("name"), (1, s("三民區"), s("鳳山區"), Some(2)));
    assert_eq!(st("price"), (0, s("-3.0"), s("1000.0"), Some(3)));
    assert_eq!(st("ok"), (1, s("false"), s("true"), Some(2)));
    assert_eq!(st("day"), (1, s("2016-01-01"), s("2016-02-29"), Some(2)));
    assert_eq!(st("at"), (1, s("2016-01-01T08:00:00+08:00"), s("2016-01-01T08:30:00+08:00"), Some(2)));
    assert_eq!(st("time"), (1, s("08:20:00"), s("23:59:59.500000"), Some(2)));
}

#[test]
fn batches_and_row_groups_follow_the_options() {
    let mut csv = String::from("n,label\n");
    for i in 0..100 {
        csv.push_str(&format!("{i},v{}\n", i % 7));
    }
    let options = IngestOptions { batch_rows: 10, row_group_rows: 25, ..IngestOptions::default() };
    let t = ingest_bytes_with(csv.as_bytes(), &options).unwrap();
    assert_eq!(t.metadata.num_row_groups(), 4);
    assert_eq!(t.ints("n"), (0..100).map(Some).collect::<Vec<_>>());
    assert_eq!(t.stats("n").max.as_deref(), Some("99"));
    assert_eq!(t.stats("label").distinct_count, Some(7));
}

#[test]
fn progress_covers_both_passes_and_every_byte() {
    let mut csv = String::from("n\n");
    for i in 0..1000 {
        csv.push_str(&format!("{i}\n"));
    }
    let options = IngestOptions { batch_rows: 100, ..IngestOptions::default() };
    let t = ingest_bytes_with(csv.as_bytes(), &options).unwrap();
    let total = csv.len() as u64;
    assert!(t.progress.iter().all(|p| p.total_bytes == total && p.bytes_read <= total));
    let last = |pass| t.progress.iter().rev().find(|p| p.pass == pass).copied().unwrap();
    assert_eq!((last(IngestPass::Inferring).rows, last(IngestPass::Inferring).bytes_read), (1000, total));
    assert_eq!((last(IngestPass::Converting).rows, last(IngestPass::Converting).bytes_read), (1000, total));
    assert!(t.progress.iter().filter(|p| p.pass == IngestPass::Converting).count() >= 10);
    let first_converting = t.progress.iter().position(|p| p.pass == IngestPass::Converting).unwrap();
    assert!(t.progress[..first_converting].iter().all(|p| p.pass == IngestPass::Inferring));
}

// ---------------------------------------------------------------------------------------------------------------
// CSV.

#[test]
fn empty_and_repeated_header_names() {
    let t = ingest("a,,a,b,a\n1,2,3,4,5\n");
    let names: Vec<_> = t.types().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["a", "column_2", "a_2", "b", "a_3"]);
    assert_eq!(t.ints("a_3"), [Some(5)]);
}

#[test]
fn short_rows_are_padded_with_nulls() {
    let t = ingest("a,b,c\n1,2,3\n4\n5,6\n");
    assert_eq!(t.ints("a"), [Some(1), Some(4), Some(5)]);
    assert_eq!(t.ints("c"), [Some(3), None, None]);
}

#[test]
fn a_row_with_too_many_cells_names_its_line() {
    match ingest_bytes(b"a,b,c\n1,2,3\n4,5,6\n7,8,9,10\n") {
        Err(e @ IngestError::Malformed { line: 4, .. }) => {
            assert_eq!(e.code(), "malformed_file");
            assert!(e.message(Lang::En).contains("line 4"), "{}", e.message(Lang::En));
            assert!(e.message(Lang::En).contains("4 cells but the header has 3 columns"));
            assert!(e.message(Lang::ZhTw).contains("第 4 行"));
        }
        other => panic!("expected a malformed error at line 4, got {:?}", other.err()),
    }
    // Lines, not records: a quoted line end before the bad row moves it down.
    match ingest_bytes(b"a,b\n\"x\ny\",1\n2,3,4\n") {
        Err(IngestError::Malformed { line, kind: MalformedKind::TooManyCells { cells: 3, columns: 2 }, .. }) => {
            assert_eq!(line, 4)
        }
        other => panic!("expected too many cells, got {:?}", other.err()),
    }
}

#[test]
fn crlf_files_name_the_right_line() {
    let err = ingest_bytes(b"a,b\r\n1,2\r\n\"x\r\ny\",3\r\n4,5,6\r\n").err().unwrap();
    assert!(matches!(err, IngestError::Malformed { line: 5, .. }), "{err:?}");
    let err = ingest_bytes(b"a,b\n1,2\n\"x\ny\",3\n4,5,6\n").err().unwrap();
    assert!(matches!(err, IngestError::Malformed { line: 5, .. }), "{err:?}");
}

#[test]
fn quoted_delimiters_quotes_and_line_ends_stay_in_their_cell() {
    let csv = "\"警員\n(安全維護)\",note\r\n1,\"a, \"\"b\"\"\r\nc\"\n2,plain\r3,last";
    let t = ingest(csv);
    // A line end inside a header cell is layout, not part of the name; inside a data cell it is kept.
    assert_eq!(t.report.schema.fields[0].name, "警員(安全維護)");
    assert_eq!(t.ints("警員(安全維護)"), [Some(1), Some(2), Some(3)]);
    assert_eq!(t.texts("note"), [s("a, \"b\"\r\nc"), s("plain"), s("last")]);
}

#[test]
fn completely_empty_lines_are_skipped() {
    let t = ingest("a,b\n\n1,2\r\n\r\n\n3,4\n\n");
    assert_eq!(t.report.row_count, 2);
    assert_eq!(t.ints("b"), [Some(2), Some(4)]);
}

#[test]
fn cells_are_trimmed_and_every_change_is_logged() {
    let t = ingest("a,b\n 1,x \n2,\u{3000}y\n");
    assert_eq!(t.type_of("a"), FieldType::Integer);
    assert_eq!(t.ints("a"), [Some(1), Some(2)]);
    assert_eq!(t.texts("b"), [s("x"), s("y")]);
    let trims: Vec<(&str, u64)> =
        t.report.transform_log.of_rule("trim").map(|e| (e.column.as_deref().unwrap_or_default(), e.count)).collect();
    assert_eq!(trims, [("a", 1), ("b", 2)]);
    // With the rule switched off, cells stay exactly as published.
    let mut options = IngestOptions::default();
    options.pipeline.normalizers.insert("trim".into(), false);
    let t = ingest_bytes_with(b"a,b\n 1,x \n2,\xE3\x80\x80y\n", &options).unwrap();
    assert_eq!(t.type_of("a"), FieldType::Text);
    assert_eq!(t.texts("b"), [s("x "), s("\u{3000}y")]);
    assert_eq!(t.report.transform_log.of_rule("trim").count(), 0);
}

#[test]
fn tab_semicolon_and_pipe_files() {
    let t = ingest("區\t人口\n三民區\t1,234\n");
    assert_eq!(t.report.sniffed.format_name, "tsv");
    assert_eq!(t.report.sniffed.media_type, "text/tab-separated-values");
    assert_eq!(t.ints("人口"), [Some(1234)], "thousands separators are a normalizer's, logged");
    assert_eq!(t.report.transform_log.of_rule("thousands").next().map(|e| e.count), Some(1));
    let t = ingest("a;b\n1;2,5\n");
    assert_eq!(t.report.sniffed.format, SourceFormat::Csv { delimiter: b';' });
    assert_eq!(t.texts("b"), [s("2,5")]);
    let t = ingest("a|b\n1|x\n");
    assert_eq!(t.ints("a"), [Some(1)]);
}

#[test]
fn header_only_is_a_table_without_rows() {
    let t = ingest("a,b\r\n");
    assert_eq!(t.report.row_count, 0);
    assert_eq!(t.types(), [("a", FieldType::Text), ("b", FieldType::Text)]);
    assert_eq!(t.table.num_rows(), 0);
    assert_eq!(t.stats("a").null_count, 0);
}

#[test]
fn an_empty_file_is_refused() {
    for bytes in [&b""[..], b"\n\r\n  ", b"\xEF\xBB\xBF"] {
        match ingest_bytes(bytes) {
            Err(e @ IngestError::Empty) => assert_eq!(e.code(), "empty_file"),
            other => panic!("expected empty for {bytes:?}, got {:?}", other.err()),
        }
    }
}

#[test]
fn invalid_utf8_past_the_sniffed_prefix_names_line_and_column() {
    let mut bytes = b"a,b\n".to_vec();
    let mut lines = 1;
    while bytes.len() < SNIFF_BYTES + 1000 {
        bytes.extend_from_slice(b"12345,some text\n");
        lines += 1;
    }
    bytes.extend_from_slice(b"1,caf\xE9\n"); // Latin-1 é
    match ingest_bytes(&bytes) {
        Err(IngestError::Malformed { line, column, kind: MalformedKind::InvalidUtf8, .. }) => {
            assert_eq!(line, lines + 1);
            assert_eq!(column.as_deref(), Some("b"));
        }
        other => panic!("expected invalid UTF-8, got {:?}", other.err()),
    }
}

#[test]
fn too_many_columns_are_refused() {
    let options = IngestOptions { max_columns: 3, ..IngestOptions::default() };
    match ingest_bytes_with(b"a,b,c,d\n1,2,3,4\n", &options) {
        Err(IngestError::TooManyColumns { count: 4, max: 3 }) => {}
        other => panic!("expected too many columns, got {:?}", other.err()),
    }
    match ingest_bytes_with(b"[{\"a\":1,\"b\":2},{\"c\":3,\"d\":4}]", &options) {
        Err(IngestError::TooManyColumns { count: 4, max: 3 }) => {}
        other => panic!("expected too many columns, got {:?}", other.err()),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// JSON and NDJSON.

#[test]
fn json_cells_are_the_values_as_written() {
    let json = r#"[
        {"id": 1, "name": "鳳山區", "lon": 120.346293, "big": 1.50, "exp": 1e3, "ok": true,
         "none": null, "nested": {"b": [1, 2], "a": "x y"}, "list": [ 1, {"k": null} ], "esc": "a\"b\u00e9"},
        {"id": 2, "name": "", "lon": 120, "big": 2, "exp": 2, "ok": false, "extra": "late key"}
    ]"#;
    let t = ingest(json);
    assert_eq!(t.report.sniffed.format, SourceFormat::Json);
    assert_eq!(t.report.sniffed.media_type, "application/json");
    let names: Vec<_> = t.types().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["id", "name", "lon", "big", "exp", "ok", "none", "nested", "list", "esc", "extra"]);
    assert_eq!(t.ints("id"), [Some(1), Some(2)]);
    assert_eq!(t.texts("name"), [s("鳳山區"), None], "an empty string is null, like an empty CSV cell");
    assert_eq!(t.decimals("lon"), [Some(120.346293), Some(120.0)]);
    assert_eq!(t.decimals("big"), [Some(1.5), Some(2.0)]);
    assert_eq!(t.decimals("exp"), [Some(1000.0), Some(2.0)]);
    assert_eq!(t.type_of("ok"), FieldType::Boolean);
    assert_eq!(t.type_of("none"), FieldType::Text);
    assert_eq!(t.texts("nested"), [s(r#"{"b":[1,2],"a":"x y"}"#), None], "compact, key order kept");
    assert_eq!(t.texts("list"), [s(r#"[1,{"k":null}]"#), None]);
    assert_eq!(t.texts("esc"), [s("a\"bé"), None]);
    assert_eq!(t.texts("extra"), [None, s("late key")]);
}

#[test]
fn json_numbers_keep_their_text_when_the_column_is_text() {
    let t = ingest(r#"[{"v": 1.50}, {"v": 1e3}, {"v": "x"}, {"v": 12345678901234567890}]"#);
    assert_eq!(t.texts("v"), [s("1.50"), s("1e3"), s("x"), s("12345678901234567890")]);
}

#[test]
fn json_envelope_records_are_found() {
    let t = ingest(
        r#"{"success": true, "totalCount": 2, "meta": {"x": [1, 2]}, "items": [{"a": 1}, {"a": 2}], "after": 1}"#,
    );
    assert_eq!(t.report.row_count, 2);
    assert_eq!(t.types(), [("a", FieldType::Integer)]);
    // CKAN's datastore_search answer nests the records one level down.
    let t =
        ingest(r#"{"help": "…", "success": true, "result": {"fields": [], "records": [{"_id": 1, "區": "三民區"}]}}"#);
    assert_eq!(t.texts("區"), [s("三民區")]);
}

#[test]
fn a_json_object_without_records_is_one_row() {
    let t = ingest(r#"{"name": "x", "tags": [1, 2]}"#);
    assert_eq!(t.report.row_count, 1);
    assert_eq!(t.texts("tags"), [s("[1,2]")]);
}

#[test]
fn a_json_record_that_is_not_an_object_names_its_index() {
    match ingest_bytes(b"[{\"a\": 1},\n {\"a\": 2},\n 3]") {
        Err(e @ IngestError::Malformed { line: 3, kind: MalformedKind::NotAnObject { index: 3 }, .. }) => {
            assert!(e.message(Lang::En).contains("record 3"), "{}", e.message(Lang::En));
            assert!(e.message(Lang::ZhTw).contains("第 3 筆"));
        }
        other => panic!("expected not-an-object, got {:?}", other.err()),
    }
}

#[test]
fn json_syntax_errors_name_the_line() {
    match ingest_bytes(b"[\n{\"a\": 1},\n{\"a\": tru}\n]") {
        Err(IngestError::Malformed { line: 3, kind: MalformedKind::Syntax, .. }) => {}
        other => panic!("expected a syntax error on line 3, got {:?}", other.err()),
    }
    match ingest_bytes(b"[{\"a\": 1}] trailing") {
        Err(IngestError::Malformed { kind: MalformedKind::Syntax, .. }) => {}
        other => panic!("expected trailing data to be refused, got {:?}", other.err()),
    }
    match ingest_bytes(b"[{\"a\": 1},]") {
        Err(IngestError::Malformed { kind: MalformedKind::Syntax, .. }) => {}
        other => panic!("expected a trailing comma to be refused, got {:?}", other.err()),
    }
    match ingest_bytes(b"[{\"a\": 1}, {\"a\": 2}") {
        Err(IngestError::Malformed { kind: MalformedKind::Syntax, .. }) => {}
        other => panic!("expected a cut file to be refused, got {:?}", other.err()),
    }
}

#[test]
fn an_empty_json_array_is_empty() {
    for json in ["[]", " [ ] ", r#"{"items": []}"#] {
        match ingest_bytes(json.as_bytes()) {
            Err(IngestError::Empty) => {}
            other => panic!("expected empty for {json}, got {:?}", other.err()),
        }
    }
}

#[test]
fn ndjson_reads_one_object_per_line() {
    let t = ingest("{\"a\": 1, \"b\": \"x\"}\r\n\r\n{\"c\": true, \"a\": 2}\n   \n{\"a\": 3}");
    assert_eq!(t.report.sniffed.format, SourceFormat::Ndjson);
    assert_eq!(t.report.sniffed.format_name, "ndjson");
    assert_eq!(t.types(), [("a", FieldType::Integer), ("b", FieldType::Text), ("c", FieldType::Boolean)]);
    assert_eq!(t.ints("a"), [Some(1), Some(2), Some(3)]);
    match ingest_bytes(b"{\"a\": 1}\n\n[2]\n") {
        Err(IngestError::Malformed { line: 3, kind: MalformedKind::NotAnObject { index: 2 }, .. }) => {}
        other => panic!("expected not-an-object on line 3, got {:?}", other.err()),
    }
}

#[test]
fn json_is_streamed_across_read_buffers() {
    // Records larger than the scanner's buffer, with strings holding brackets and escaped quotes.
    let long = "x".repeat(300_000);
    let json = format!(r#"[{{"a": "{long}", "b": "]}}\"{{["}}, {{"a": "y", "b": 2}}]"#);
    let t = ingest(&json);
    assert_eq!(t.report.row_count, 2);
    assert_eq!(t.texts("a")[0].as_deref().map(str::len), Some(300_000));
    assert_eq!(t.texts("b"), [s("]}\"{["), s("2")]);
}

// ---------------------------------------------------------------------------------------------------------------
// Real files (see tests/fixtures/PROVENANCE.md).

#[test]
fn real_kaohsiung_playgrounds_json_envelope() {
    let t = ingest_path(&fixture("kaohsiung_inclusive_playgrounds_pwbmo_2023-02.json")).unwrap();
    assert_eq!(t.report.sniffed.format_name, "json");
    assert_eq!(t.report.row_count, 27);
    assert_eq!(
        t.types(),
        [
            ("ID", FieldType::Text),
            ("Url", FieldType::Text),
            ("Name", FieldType::Text),
            ("District", FieldType::Text),
            ("PhotoFile", FieldType::Text),
            ("Longitude", FieldType::Decimal),
            ("Latitude", FieldType::Decimal),
        ]
    );
    assert_eq!(t.texts("Name")[0], s("鳳山區第77期重劃區公12公園"));
    assert_eq!(t.decimals("Longitude")[0], Some(120.346293));
    assert_eq!(t.decimals("Latitude")[0], Some(22.593344));
}

#[test]
fn real_tainan_apartment_committees_roc_slash_dates_bom_crlf() {
    let t = ingest_path(&fixture("tainan_apartment_management_committees_roc_slash_dates.csv")).unwrap();
    assert_eq!(t.report.sniffed.encoding, "UTF-8 with BOM");
    assert_eq!(t.report.row_count, 2919);
    assert_eq!(
        t.types(),
        [
            ("編號", FieldType::Integer),
            ("成立核准文號", FieldType::Text),
            ("成立核准日期", FieldType::Date), // ROC `111/01/24`; `//` means no date
            ("管理委員會", FieldType::Text),
            ("建築物地址", FieldType::Text),
            ("棟數", FieldType::Integer),
            ("地上層數", FieldType::Integer),
            ("地下層數", FieldType::Integer),
            ("使用執照", FieldType::Text),
        ]
    );
    assert_eq!(t.texts("成立核准文號")[0], s("0943201436"), "the Excel text guard is unwrapped");
    let guards = t.report.transform_log.of_rule("excel_guard").next().expect("excel_guard logged");
    assert_eq!(
        (guards.examples[0].before.as_str(), guards.examples[0].after.as_deref()),
        ("'0943201436", Some("0943201436"))
    );
    let dates = t.column("成立核准日期").as_any().downcast_ref::<Date32Array>().unwrap();
    assert!(dates.is_null(0), "`//` is no date");
    let roc = t.report.transform_log.of_rule("roc_date").next().expect("roc_date logged");
    assert!(roc.count > 2800, "{roc:?}");
    assert_eq!(t.stats("棟數").null_count, 8);
    assert_eq!(t.stats("地下層數").null_count, 662);
    assert_eq!(t.stats("使用執照").null_count, 5);
    assert_eq!(t.stats("地上層數").distinct_count, Some(28));
}

#[test]
fn real_moi_village_births_codes_with_leading_zeros_stay_text() {
    let t = ingest_path(&fixture("moi_village_births_deaths_marriages_2024-10.csv")).unwrap();
    assert_eq!(t.report.row_count, 7748);
    assert_eq!(t.report.schema.fields.len(), 18);
    assert_eq!(t.type_of("統計年月"), FieldType::Text); // ROC year-month 11310 → ISO 2024-10
    assert_eq!(t.texts("統計年月")[0], s("2024-10"));
    assert_eq!(t.type_of("區域別代碼"), FieldType::Text);
    assert_eq!(t.type_of("區域別"), FieldType::Text);
    assert_eq!(t.type_of("村里名稱"), FieldType::Text);
    for count in ["出生數", "出生數-男", "死亡數", "結婚對數_異性", "結婚對數_同性_女", "離婚對數_同性_男"]
    {
        assert_eq!(t.type_of(count), FieldType::Integer, "{count}");
    }
    let codes = t.texts("區域別代碼");
    assert_eq!(codes[0], s("65000010001"));
    assert!(codes.iter().flatten().any(|c| c.starts_with('0')), "codes like 09007030005 keep their zero");
    assert_eq!(t.stats("區域別代碼").distinct_count, Some(7748));
    assert_eq!(t.stats("統計年月").distinct_count, Some(1));
}

#[test]
fn real_tainan_dengue_spraying_quoted_newlines_in_header_and_cells() {
    let t = ingest_path(&fixture("tainan_dengue_insecticide_spraying_2015-08.csv")).unwrap();
    assert_eq!(t.report.sniffed.encoding, "UTF-8");
    assert_eq!(t.report.row_count, 247);
    assert_eq!(
        t.types(),
        [
            ("序號", FieldType::Integer),
            ("孳清/噴藥", FieldType::Text),
            ("區域", FieldType::Text),
            ("里別", FieldType::Text),
            ("日期", FieldType::Text), // `08月13日`: no year
            ("星期", FieldType::Text),
            ("集合時間", FieldType::Time),
            ("集合地點", FieldType::Text),
            ("緯度", FieldType::Decimal),
            ("經度", FieldType::Decimal),
            ("鎖匠", FieldType::Integer),
            ("警員(安全維護)", FieldType::Integer),
            ("刑警(V8)", FieldType::Integer),
            ("噴工數", FieldType::Text), // `3/派思特`
            ("支援人力", FieldType::Integer),
            ("可支援人力", FieldType::Text), // empty everywhere
        ]
    );
    assert_eq!(t.stats("可支援人力").null_count, 247);
    assert_eq!(t.stats("鎖匠").null_count, 42);
    assert_eq!(t.decimals("緯度")[0], Some(23.1788134));
    assert_eq!(t.texts("噴工數")[0], s("3/派思特"));
}

#[test]
fn real_big5_with_user_defined_characters_is_decoded_and_logged() {
    let t = ingest_path(&fixture("tainan_dengue_cases_roc1040826_big5.csv")).unwrap();
    assert_eq!(t.report.sniffed.encoding, "Big5");
    assert!(t.report.sniffed.confidence >= 90, "{}", t.report.sniffed.confidence);
    assert_eq!(t.report.row_count, 1977);
    // 0x95CD is 塩 in Tainan's village names (塩行里), not HKSCS's 䋴: decoded by tapwater's table, logged.
    let villages = t.texts("里別");
    assert_eq!(villages.iter().filter(|v| v.as_deref() == Some("塩行里")).count(), 4);
    assert_eq!(villages.iter().filter(|v| v.as_deref() == Some("塩洲里")).count(), 2);
    assert!(!villages.iter().flatten().any(|v| v.contains('䋴') || v.contains('\u{FFFD}')));
    let eudc = t.report.transform_log.of_rule("eudc").next().expect("an eudc entry");
    assert_eq!(eudc.count, 7);
    assert_eq!((eudc.examples[0].before.as_str(), eudc.examples[0].after.as_deref()), ("0x95CD", Some("塩")));
    assert!(t.report.transform_log.of_rule("decode").next().unwrap().detail.as_deref().unwrap().contains("Big5"));
    // The release date in the file name is remembered.
    let dated = t.report.transform_log.of_rule("file_name_date").next().expect("file_name_date");
    assert_eq!(dated.examples[0].after.as_deref(), Some("2015-08-26"));

    let t = ingest_path(&fixture("cec_2019_tainan_legislator_byelection_prof_big5_eudc.csv")).unwrap();
    assert!(t.texts("村里別").iter().any(|v| v.as_deref() == Some("檨林里")), "0xFA52 is 檨");
    assert_eq!(t.report.row_count, 301, "the empty trailing row is dropped");
}

#[test]
fn real_xlsx_is_read_with_its_sheet() {
    let t = ingest_path(&fixture("cec_2022_election_type_codes.xlsx")).unwrap();
    assert_eq!(t.report.sniffed.format_name, "xlsx");
    assert_eq!(t.report.row_count, 10, "11 sheet rows: the header and 10 codes");
    assert_eq!(t.report.schema.fields.len(), 3);
    assert_eq!(t.texts("代碼")[0], s("C1"));
    assert_eq!(t.report.files[0].tables[0].name, "工作表1");
}

#[test]
fn real_files_sniff_by_content_not_name() {
    // The same bytes under a misleading name are still sniffed from their content.
    let dir = tempfile::tempdir().unwrap();
    let lying = dir.path().join("playgrounds.csv");
    std::fs::copy(fixture("kaohsiung_inclusive_playgrounds_pwbmo_2023-02.json"), &lying).unwrap();
    assert_eq!(ingest_path(&lying).unwrap().report.sniffed.format, SourceFormat::Json);
}
