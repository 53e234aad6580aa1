//! Ingests one file to Parquet and prints how long it took, for performance measurements:
//!
//! ```sh
//! cargo run --release -p tapwater-ingest --example ingest_file -- accidents.csv /tmp/accidents.parquet
//! ```

use std::io::BufWriter;
use std::time::Instant;

use tapwater_ingest::{IngestOptions, IngestPass, ingest_file};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(input), Some(output)) = (args.next(), args.next()) else {
        eprintln!("usage: ingest_file INPUT OUTPUT.parquet");
        std::process::exit(2);
    };
    let start = Instant::now();
    let mut pass_one = None;
    let out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&output)?);
    let report = ingest_file(input.as_ref(), out, &IngestOptions::default(), &mut |p| {
        if p.pass == IngestPass::Converting && pass_one.is_none() {
            pass_one = Some(start.elapsed());
        }
    })?;
    let total = start.elapsed();
    let pass_one = pass_one.unwrap_or(total);
    println!(
        "{} rows, {} columns in {:.3} s (inferring {:.3} s, converting {:.3} s) → {} bytes",
        report.row_count,
        report.schema.fields.len(),
        total.as_secs_f64(),
        pass_one.as_secs_f64(),
        (total - pass_one).as_secs_f64(),
        std::fs::metadata(&output)?.len()
    );
    for (field, stats) in report.schema.fields.iter().zip(&report.stats) {
        println!(
            "  {:<14} {:<9} nulls {:<7} distinct {:<8} min {:?} max {:?}",
            field.name,
            field.field_type.as_str(),
            stats.null_count,
            stats.distinct_count.map_or("-".to_string(), |d| d.to_string()),
            stats.min.as_deref().unwrap_or(""),
            stats.max.as_deref().unwrap_or("")
        );
    }
    Ok(())
}
