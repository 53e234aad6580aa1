use std::path::Path;

use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tapwater_ingest::{IngestOptions, ingest_file};
use tapwater_types::TableSchema;

fn fixture(name: &str) -> (TableSchema, Vec<RecordBatch>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ingest/tests/fixtures").join(name);
    let tmp = std::env::temp_dir().join(format!("tapwater-quality-{}-{name}.parquet", std::process::id()));
    let report =
        ingest_file(&path, std::fs::File::create(&tmp).unwrap(), &IngestOptions::default(), &mut |_| {}).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&tmp).unwrap()).unwrap().build().unwrap();
    std::fs::remove_file(&tmp).ok();
    (report.schema, reader.map(|b| b.unwrap()).collect())
}

#[test]
fn explore() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ingest/tests/fixtures");
    let mut names: Vec<_> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    for name in names {
        if name.ends_with(".md") {
            continue;
        }
        let path = dir.join(&name);
        let tmp = std::env::temp_dir().join(format!("tapwater-quality-{}-{name}.parquet", std::process::id()));
        let report =
            match ingest_file(&path, std::fs::File::create(&tmp).unwrap(), &IngestOptions::default(), &mut |_| {}) {
                Ok(r) => r,
                Err(e) => {
                    println!("== {name}: ERR {e}");
                    continue;
                }
            };
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&tmp).unwrap()).unwrap().build().unwrap();
        let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
        std::fs::remove_file(&tmp).ok();
        println!("== {name}: {} rows", report.row_count);
        let mut checker = crate::TableChecker::new(&report.schema, &Default::default(), &Default::default());
        for b in &batches {
            checker.push(b);
        }
        for f in checker.finish() {
            println!(
                "  ** {:?} {} col={:?} count={} rows={:?} ex={:?}\n     {}\n     {}",
                f.severity, f.code, f.column, f.count, f.rows, f.examples, f.message, f.message_zh
            );
        }
        if std::env::var("SAMPLES").is_err() {
            continue;
        }
        for (i, f) in report.schema.fields.iter().enumerate() {
            let mut samples = Vec::new();
            for b in &batches {
                let col = b.column(i);
                for r in 0..col.len() {
                    if samples.len() >= 6 {
                        break;
                    }
                    if col.is_valid(r) {
                        let s = arrow::util::display::array_value_to_string(col, r).unwrap();
                        if !samples.contains(&s) {
                            samples.push(s);
                        }
                    }
                }
            }
            println!(
                "  {:?} {:?} role={:?} dt={:?} {:?}",
                f.name,
                f.field_type,
                f.role,
                batches[0].column(i).data_type(),
                samples
            );
        }
        let _ = batches.first().map(|b| b.column(0).as_any());
    }
}
