//! Ingests one file to Parquet and prints one JSON line: bytes, rows, seconds, MB/s — for `bench/ingest/run.sh`.
//!
//! ```text
//! cargo run --release -p tapwater-ingest --example ingest_bench -- IN OUT.parquet
//! ```

use std::time::Instant;

use tapwater_ingest::{IngestOptions, InputFile, ingest_files};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(input), Some(output)) = (args.next(), args.next()) else {
        eprintln!("usage: ingest_bench IN OUT.parquet");
        std::process::exit(2);
    };
    let bytes = std::fs::metadata(&input)?.len();
    let started = Instant::now();
    let out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&output)?);
    let report = ingest_files(&[InputFile::new(&input)], out, &IngestOptions::default(), &mut |_| {})?;
    let seconds = started.elapsed().as_secs_f64();
    let rules: Vec<String> = report
        .transform_log
        .entries
        .iter()
        .map(|e| format!("{}:{}:{}", e.rule, e.column.as_deref().unwrap_or(""), e.count))
        .collect();
    println!(
        "{}",
        serde_json::json!({
            "file": input,
            "bytes": bytes,
            "rows": report.row_count,
            "seconds": seconds,
            "mb_per_s": bytes as f64 / 1e6 / seconds,
            "rows_per_s": report.row_count as f64 / seconds,
            "schema": report.schema.fields.iter().map(|f| format!("{}:{}", f.name, f.field_type.as_str())).collect::<Vec<_>>(),
            "transforms": rules,
        })
    );
    Ok(())
}
