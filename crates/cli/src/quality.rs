//! `tapwater quality` and `tapwater metadata`: the quality report of a dataset (non-zero exit on errors, for an
//! agency's own CI) and its metadata document, Table Schema import and standard exports.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use tapwater_app::{Actor, AppError, Config, MetadataDocument, MetadataFormat, Tapwater, parse_metadata};
use tapwater_types::{QualityReport, Severity};

#[derive(Args)]
pub struct QualityArgs {
    /// Dataset slug.
    dataset: String,
    /// A version number (default: the current version).
    #[arg(long)]
    version: Option<i64>,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Run the checks again now instead of reading the stored report.
    #[arg(long)]
    recheck: bool,
    /// Also fail (exit 1) on warnings, not only on errors.
    #[arg(long)]
    strict: bool,
}

#[derive(Subcommand)]
pub enum MetadataCommand {
    /// Print a dataset's metadata document as JSON — 顯示詮釋資料.
    Show { slug: String },
    /// Replace a dataset's metadata document with a JSON file — 設定詮釋資料.
    Set { slug: String, file: PathBuf },
    /// Declare types, constraints, descriptions and keys from a Frictionless Table Schema (JSON) — 匯入 Table Schema.
    ImportSchema { slug: String, file: PathBuf },
    /// Print the metadata in a standard form — 匯出標準格式詮釋資料.
    Export {
        slug: String,
        /// datapackage | dcat-jsonld | dcat-turtle | schema-org | data-gov-tw
        #[arg(long, value_enum, default_value_t = ExportFormat::Datapackage)]
        format: ExportFormat,
        /// A version number (default: the current version).
        #[arg(long)]
        version: Option<i64>,
        /// The address the server is reached at, for the links in the document (as for `serve`).
        #[arg(long, env = "TAPWATER_PUBLIC_URL")]
        public_url: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Datapackage,
    DcatJsonld,
    DcatTurtle,
    SchemaOrg,
    DataGovTw,
}

impl ExportFormat {
    fn format(self) -> MetadataFormat {
        match self {
            ExportFormat::Datapackage => MetadataFormat::DataPackage,
            ExportFormat::DcatJsonld => MetadataFormat::DcatJsonLd,
            ExportFormat::DcatTurtle => MetadataFormat::DcatTurtle,
            ExportFormat::SchemaOrg => MetadataFormat::SchemaOrg,
            ExportFormat::DataGovTw => MetadataFormat::DataGovTw,
        }
    }
}

fn read_json(file: &PathBuf) -> Result<serde_json::Value, AppError> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        AppError::invalid(
            "invalid_body",
            "file",
            format!("{}: {e}", file.display()),
            format!("{}：{e}", file.display()),
        )
    })?;
    serde_json::from_str(&text).map_err(|e| {
        AppError::invalid(
            "invalid_body",
            "file",
            format!("{}: not JSON: {e}", file.display()),
            format!("{}：不是有效的 JSON：{e}", file.display()),
        )
    })
}

pub async fn metadata(mut config: Config, command: MetadataCommand) -> Result<(), AppError> {
    if let MetadataCommand::Export { public_url: Some(url), .. } = &command
        && !url.is_empty()
    {
        config.access.public_url = url.trim_end_matches('/').to_string();
    }
    let app = Tapwater::open(Config { quality_in_background: false, warm_after_publish: false, ..config }).await?;
    let print = |value: &serde_json::Value| {
        println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
    };
    match command {
        MetadataCommand::Show { slug } => {
            let metadata = app.dataset_metadata(&Actor::System, &slug).await?;
            print(&serde_json::to_value(metadata).map_err(|e| AppError::Internal(e.to_string()))?);
        }
        MetadataCommand::Set { slug, file } => {
            let bytes = std::fs::read(&file).map_err(|e| {
                AppError::invalid(
                    "invalid_body",
                    "file",
                    format!("{}: {e}", file.display()),
                    format!("{}：{e}", file.display()),
                )
            })?;
            // The one line names the file and the member at fault.
            let metadata = parse_metadata(&bytes).map_err(|e| match e {
                AppError::InvalidInput { code, param, message, message_zh } => AppError::InvalidInput {
                    code,
                    param,
                    message: format!("{}: {message}", file.display()),
                    message_zh: format!("{}：{message_zh}", file.display()),
                },
                other => other,
            })?;
            let dataset = app.set_metadata(&Actor::System, &slug, metadata).await?;
            println!("{}: metadata set / 詮釋資料已更新", dataset.slug);
        }
        MetadataCommand::ImportSchema { slug, file } => {
            let value = read_json(&file)?;
            let imported = app.import_table_schema(&Actor::System, &slug, &value).await?;
            println!(
                "{}: {} field(s) declared / 已宣告 {} 個欄位",
                imported.dataset.slug,
                imported.dataset.metadata.fields.len(),
                imported.dataset.metadata.fields.len()
            );
            if let Some(revision) = imported.pipeline {
                println!(
                    "pipeline revision {} applies the declared types at the next publish / 處理流程第 {} 版將於下次發布套用",
                    revision.revision, revision.revision
                );
            }
        }
        MetadataCommand::Export { slug, format, version, .. } => {
            match app.metadata_document(&Actor::System, &slug, format.format(), version).await? {
                MetadataDocument::Json(value) => print(&value),
                MetadataDocument::Turtle(text) => print!("{text}"),
            }
        }
    }
    Ok(())
}

pub async fn quality(config: Config, args: QualityArgs) -> Result<(), AppError> {
    let app = Tapwater::open(Config { quality_in_background: false, warm_after_publish: false, ..config }).await?;
    let mut report = app.quality_report(&Actor::System, &args.dataset, args.version).await?;
    // A version published by a process that stopped before its checks finished: check it now.
    if args.recheck || report.status == "pending" {
        report = app.recheck_quality(&Actor::System, &args.dataset, args.version).await?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).map_err(|e| AppError::Internal(e.to_string()))?);
    } else {
        print_report(&report);
    }
    let errors = report.count(Severity::Error);
    let warnings = report.count(Severity::Warning);
    if errors > 0 || (args.strict && warnings > 0) {
        return Err(AppError::invalid(
            "quality_errors",
            "dataset",
            format!("{}: {errors} error(s), {warnings} warning(s) in the quality report", args.dataset),
            format!("{}：品質報告有 {errors} 個錯誤、{warnings} 個警告", args.dataset),
        ));
    }
    Ok(())
}

fn print_report(report: &QualityReport) {
    println!(
        "{} v{} — score {}/100, {}★, badge {} ({})",
        report.dataset, report.version, report.score, report.stars.stars, report.badge.level, report.status
    );
    println!("  {} / {}", report.stars.explanation, report.stars.explanation_zh);
    if let (Some(next), Some(next_zh)) = (&report.stars.next, &report.stars.next_zh) {
        println!("  next star / 下一顆星: {next} / {next_zh}");
    }
    let met: Vec<String> =
        report.badge.criteria.iter().map(|c| format!("{} {}", if c.met { "✓" } else { "✗" }, c.label_zh)).collect();
    println!("  badge criteria / 標章條件: {}", met.join("  "));
    if report.findings.is_empty() {
        println!("no findings / 沒有發現問題");
        return;
    }
    for finding in &report.findings {
        let column = finding.column.as_deref().map(|c| format!(" [{c}]")).unwrap_or_default();
        println!();
        println!("{} {}{} (×{})", finding.severity.as_str().to_uppercase(), finding.code, column, finding.count);
        println!("  {}", finding.message);
        println!("  {}", finding.message_zh);
        if !finding.rows.is_empty() {
            let rows: Vec<String> = finding.rows.iter().map(u64::to_string).collect();
            println!("  rows / 列: {}", rows.join(", "));
        }
        if !finding.examples.is_empty() {
            println!("  examples / 例: {}", finding.examples.join(" | "));
        }
        println!("  fix: {}", finding.fix);
        println!("  修正: {}", finding.fix_zh);
    }
}
