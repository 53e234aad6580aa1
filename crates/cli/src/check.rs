//! `tapwater check FILE…`: what tapwater would make of files, without publishing — for a person (aligned tables
//! with bilingual headings) or as JSON (`--json`, the same document as `POST /api/v1/check`).
//!
//! It needs no data directory or catalog: the files are read locally, through the same code a publish uses, into a
//! temporary Parquet file that is deleted afterwards. With several files (a yearly series) it also proposes how
//! their columns line up; `--write-pipeline F` writes that mapping as a pipeline to review and publish with.
//! Exit code 0 when the files are readable; otherwise one line `file, row, column: message` and a non-zero code.

use std::path::PathBuf;

use clap::Args;
use tapwater_app::{AppError, CheckReport, check_inputs, series_pipeline_toml};
use tapwater_ingest::InputFile;
use tapwater_types::Pipeline;
use unicode_width::UnicodeWidthStr;

use crate::pipeline::read_pipeline_file;
use crate::with_file;

/// Widest a cell of the human output is shown (longer text is cut with …).
const MAX_CELL_WIDTH: usize = 28;

#[derive(Args)]
pub struct CheckArgs {
    /// The files to check; several files of one table are read as a series, merged as a publish would.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Print the report as JSON (the same document as POST /api/v1/check).
    #[arg(long)]
    json: bool,
    /// Read the files with this pipeline (TOML or JSON).
    #[arg(long)]
    pipeline: Option<PathBuf>,
    /// The sheet, HTML table or ZIP member to read (name or #N).
    #[arg(long)]
    table: Option<String>,
    /// Write the pipeline to FILE (TOML), with the proposed header mapping of a series as its renames.
    #[arg(long)]
    write_pipeline: Option<PathBuf>,
}

pub async fn run(args: CheckArgs) -> Result<(), AppError> {
    let mut pipeline = match &args.pipeline {
        Some(path) => read_pipeline_file(path)?,
        None => Pipeline::default(),
    };
    if let Some(table) = &args.table {
        pipeline.table = Some(table.clone());
    }
    for file in &args.files {
        if let Err(e) = std::fs::metadata(file) {
            return Err(AppError::invalid(
                "invalid_body",
                "file",
                format!("{}: {e}", file.display()),
                format!("{}：{e}", file.display()),
            ));
        }
    }
    let inputs: Vec<InputFile> = args.files.iter().map(InputFile::new).collect();
    let checked = pipeline.clone();
    let files = args.files.clone();
    let report = tokio::task::spawn_blocking(move || check_inputs(&inputs, &checked, None))
        .await
        .map_err(|e| AppError::Internal(format!("check task: {e}")))?
        .map_err(|e| match &files[..] {
            [one] => with_file(e, one),
            _ => e, // several files: the error names its file already
        })?;

    if let Some(path) = &args.write_pipeline {
        let names: Vec<String> = report.files.iter().map(|f| f.name.clone()).collect();
        let text = series_pipeline_toml(&pipeline, report.mapping.as_deref().unwrap_or(&[]), &names);
        std::fs::write(path, text).map_err(|e| {
            AppError::invalid(
                "invalid_parameter",
                "write-pipeline",
                format!("Cannot write {}: {e}", path.display()),
                format!("無法寫入 {}：{e}", path.display()),
            )
        })?;
        eprintln!("pipeline written to / 處理流程已寫入 {}", path.display());
    }
    if args.json {
        let json = serde_json::to_string_pretty(&report).map_err(|e| AppError::Internal(e.to_string()))?;
        println!("{json}");
    } else {
        print!("{}", human(&report));
    }
    Ok(())
}

/// The report for a person: one aligned table per section, headings in English and Chinese.
pub fn human(report: &CheckReport) -> String {
    let mut out = String::new();
    section(&mut out, "Files / 檔案");
    let rows: Vec<Vec<String>> = report
        .files
        .iter()
        .map(|f| {
            let tables = if f.tables.len() > 1 {
                f.tables.iter().map(|t| format!("{} {}", t.id, t.name)).collect::<Vec<_>>().join("; ")
            } else {
                String::new()
            };
            vec![
                f.name.clone(),
                f.format.to_string(),
                if f.encoding.is_empty() { "-".into() } else { f.encoding.to_string() },
                format!("{}%", f.confidence),
                f.rows.to_string(),
                f.table.clone().unwrap_or_default(),
                tables,
            ]
        })
        .collect();
    table(
        &mut out,
        &[
            "file / 檔案",
            "format / 格式",
            "encoding / 編碼",
            "confidence / 信心",
            "rows / 列數",
            "table / 工作表",
            "tables / 所有表",
        ],
        &rows,
    );

    section(&mut out, &format!("Columns / 欄位 ({} rows / 列)", report.row_count));
    let rows: Vec<Vec<String>> = report
        .schema
        .fields
        .iter()
        .map(|f| {
            vec![
                f.name.clone(),
                f.field_type.as_str().to_string(),
                f.aliases.join(", "),
                f.unit.clone().unwrap_or_default(),
                f.role.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table(&mut out, &["column / 欄位", "type / 型別", "aliases / 別名", "unit / 單位", "role / 角色"], &rows);

    section(&mut out, "Transform log / 轉換紀錄");
    let rows: Vec<Vec<String>> = report
        .transform_log
        .entries
        .iter()
        .map(|e| {
            let examples: Vec<String> = e
                .examples
                .iter()
                .take(2)
                .map(|x| format!("{} → {}", x.before, x.after.as_deref().unwrap_or("∅")))
                .collect();
            vec![
                e.file.clone().unwrap_or_default(),
                e.column.clone().unwrap_or_default(),
                e.rule.clone(),
                e.count.to_string(),
                e.detail.clone().unwrap_or_else(|| examples.join("; ")),
            ]
        })
        .collect();
    table(&mut out, &["file / 檔案", "column / 欄位", "rule / 規則", "count / 次數", "detail / 說明"], &rows);

    section(&mut out, "Problems / 問題");
    if report.problems.is_empty() {
        out.push_str("  none / 無\n");
    } else {
        let rows: Vec<Vec<String>> = report
            .problems
            .iter()
            .map(|e| {
                vec![
                    e.file.clone().unwrap_or_default(),
                    e.column.clone().unwrap_or_default(),
                    e.rule.clone(),
                    e.count.to_string(),
                    e.detail.clone().unwrap_or_default(),
                ]
            })
            .collect();
        table(&mut out, &["file / 檔案", "column / 欄位", "rule / 規則", "count / 次數", "detail / 說明"], &rows);
    }

    if let Some(mapping) = &report.mapping {
        section(&mut out, "Header mapping / 欄位對應 (newest file's names kept / 沿用最新檔案的欄名)");
        let mut headers = vec!["column / 欄位".to_string(), "confidence / 信心".into(), "reason / 理由".into()];
        headers.extend(report.files.iter().map(|f| f.name.clone()));
        let rows: Vec<Vec<String>> = mapping
            .iter()
            .map(|p| {
                let mut row = vec![p.target.clone(), format!("{}%", p.confidence), p.reason.clone()];
                row.extend(p.sources.iter().map(|s| s.clone().unwrap_or_else(|| "—".into())));
                row
            })
            .collect();
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        table(&mut out, &headers, &rows);
    }

    section(&mut out, &format!("First {} rows / 前 {} 列", report.sample.len(), report.sample.len()));
    let names: Vec<&str> = report.schema.fields.iter().map(|f| f.name.as_str()).collect();
    let rows: Vec<Vec<String>> = report
        .sample
        .iter()
        .map(|row| {
            names
                .iter()
                .map(|n| match row.get(*n) {
                    None | Some(serde_json::Value::Null) => String::new(),
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                })
                .collect()
        })
        .collect();
    table(&mut out, &names, &rows);
    out
}

fn section(out: &mut String, title: &str) {
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(title);
    out.push('\n');
}

/// Columns padded to their display width (a Chinese character is two cells wide), cells cut at
/// [`MAX_CELL_WIDTH`].
fn table(out: &mut String, headers: &[&str], rows: &[Vec<String>]) {
    let cut = |s: &str| -> String {
        let flat = s.replace(['\n', '\r', '\t'], " ");
        if flat.width() <= MAX_CELL_WIDTH {
            return flat;
        }
        let mut kept = String::new();
        for c in flat.chars() {
            if (kept.clone() + &c.to_string()).width() >= MAX_CELL_WIDTH {
                break;
            }
            kept.push(c);
        }
        kept + "…"
    };
    let header_cells: Vec<String> = headers.iter().map(|h| cut(h)).collect();
    let cells: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| cut(c)).collect()).collect();
    let columns = header_cells.len();
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            cells.iter().filter_map(|r| r.get(i)).map(|c| c.width()).chain([header_cells[i].width()]).max().unwrap_or(0)
        })
        .collect();
    let line = |out: &mut String, row: &[String]| {
        out.push(' ');
        for (i, width) in widths.iter().enumerate() {
            let cell = row.get(i).map(String::as_str).unwrap_or("");
            out.push(' ');
            out.push_str(cell);
            if i + 1 < columns {
                out.push_str(&" ".repeat(width.saturating_sub(cell.width())));
            }
        }
        let trimmed = out.trim_end_matches(' ').len();
        out.truncate(trimmed);
        out.push('\n');
    };
    line(out, &header_cells);
    for row in &cells {
        line(out, row);
    }
}
