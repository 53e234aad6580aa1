//! `tapwater publish` (one file, a series of files, `--mode append`, `--pipeline`, `--table`, `--all-tables`) and
//! `tapwater pipeline show|set`.
//!
//! Like every subcommand, these work through the application layer as the system actor, directly on the data
//! directory or database; nothing here decides anything the API would decide differently.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use tapwater_app::{
    Actor, AppError, Config, PipelineFormat, PublishInput, PublishOptions, PublishStage, Tapwater, parse_pipeline,
};
use tapwater_types::{DatasetInput, DatasetPatch, Pipeline, PublishMode, Slug};

use crate::{GlobalArgs, PublishArgs, config, with_file};

#[derive(Subcommand)]
pub enum PipelineCommand {
    /// Print a dataset's current pipeline as TOML (or JSON with --json) — 顯示處理流程.
    Show {
        /// Dataset slug.
        slug: String,
        /// Print JSON (with the revision) instead of TOML.
        #[arg(long)]
        json: bool,
        /// List every revision instead (newest first).
        #[arg(long)]
        revisions: bool,
    },
    /// Set a dataset's pipeline from a TOML or JSON file (a new revision) — 設定處理流程.
    Set {
        /// Dataset slug.
        slug: String,
        /// The pipeline: FILE.toml or FILE.json.
        file: PathBuf,
    },
}

/// Reads and validates a pipeline file; errors name the file and the key at fault.
pub fn read_pipeline_file(path: &Path) -> Result<Pipeline, AppError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        AppError::invalid(
            "invalid_pipeline",
            "pipeline",
            format!("Cannot read {}: {e}", path.display()),
            format!("無法讀取 {}：{e}", path.display()),
        )
    })?;
    parse_pipeline(&text, PipelineFormat::of_path(path)).map_err(|e| match e {
        AppError::InvalidInput { code, param, message, message_zh } => AppError::InvalidInput {
            code,
            param,
            message: format!("{}: {message}", path.display()),
            message_zh: format!("{}：{message_zh}", path.display()),
        },
        other => other,
    })
}

pub async fn run(global: &GlobalArgs, command: PipelineCommand) -> Result<(), AppError> {
    let app = Tapwater::open(config(global, None)).await?;
    match command {
        PipelineCommand::Show { slug, json, revisions } => {
            if revisions {
                let list = app.pipeline_revisions(&Actor::System, &slug).await?;
                if json {
                    println!("{}", to_json(&list)?);
                } else {
                    for r in &list {
                        println!("revision {}\t{}\t{}", r.revision, r.created_at.to_rfc3339(), r.created_by);
                    }
                    eprintln!("{} revision(s)", list.len());
                }
                return Ok(());
            }
            let view = app.pipeline(&Actor::System, &slug).await?;
            if json {
                println!("{}", to_json(&view)?);
            } else {
                match view.revision {
                    Some(r) => println!("# {slug}: pipeline revision {r}"),
                    None => println!("# {slug}: no pipeline set; the defaults apply / 尚未設定處理流程，使用預設值"),
                }
                let text = toml::to_string(&view.pipeline).map_err(|e| AppError::Internal(e.to_string()))?;
                print!("{text}");
            }
            Ok(())
        }
        PipelineCommand::Set { slug, file } => {
            let pipeline = read_pipeline_file(&file)?;
            let revision = app.set_pipeline(&Actor::System, &slug, pipeline).await?;
            println!("{slug}: pipeline revision {}", revision.revision);
            Ok(())
        }
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, AppError> {
    serde_json::to_string_pretty(value).map_err(|e| AppError::Internal(e.to_string()))
}

/// `tapwater publish FILE… --dataset SLUG [--mode append] [--pipeline F] [--table T | --all-tables]`.
pub async fn publish(global: &GlobalArgs, args: PublishArgs) -> Result<(), AppError> {
    let app =
        Tapwater::open(Config { warm_after_publish: false, quality_in_background: false, ..config(global, None) })
            .await?;
    let mode = match args.mode.as_deref() {
        None => PublishMode::Replace,
        Some(value) => PublishMode::parse(value).ok_or_else(|| {
            AppError::invalid(
                "invalid_parameter",
                "mode",
                format!("--mode is replace or append, not \"{value}\"."),
                format!("--mode 只能是 replace 或 append，而不是「{value}」。"),
            )
        })?,
    };
    let file_pipeline = match &args.pipeline {
        Some(path) => Some(read_pipeline_file(path)?),
        None => None,
    };
    if args.all_tables {
        return publish_all_tables(&app, &args, mode, file_pipeline).await;
    }
    // `--table` changes the dataset's pipeline (the next monthly file is read the same way).
    let pipeline = match (&args.table, file_pipeline) {
        (None, pipeline) => pipeline,
        (Some(table), Some(pipeline)) => Some(Pipeline { table: Some(table.clone()), ..pipeline }),
        (Some(table), None) => {
            let current = match app.pipeline(&Actor::System, &args.dataset).await {
                Ok(view) => view.pipeline,
                Err(AppError::DatasetNotFound { .. }) => Pipeline::default(),
                Err(e) => return Err(e),
            };
            Some(Pipeline { table: Some(table.clone()), ..current })
        }
    };
    publish_one(&app, &args, &args.dataset, mode, pipeline).await
}

/// Each table of a workbook (sheets, HTML tables, ZIP members) as a dataset of its own, `SLUG-SHEET`: the sheet name
/// made a slug, or `SLUG-N` (its position) when the name has nothing a slug may hold (Chinese names: slugs are
/// ASCII).
async fn publish_all_tables(
    app: &Tapwater,
    args: &PublishArgs,
    mode: PublishMode,
    pipeline: Option<Pipeline>,
) -> Result<(), AppError> {
    let [file] = &args.files[..] else {
        return Err(AppError::invalid(
            "invalid_parameter",
            "all-tables",
            "--all-tables publishes the tables of one file; give exactly one.",
            "--all-tables 只能用於單一檔案。",
        ));
    };
    let tables = tapwater_ingest_tables(file)?;
    let mut used = Vec::new();
    for (i, table) in tables.iter().enumerate() {
        if table.rows == Some(0) {
            eprintln!("{}: skipped, empty / 空白，略過", table.name);
            continue;
        }
        let slug = table_slug(&args.dataset, &table.name, i + 1, &used);
        used.push(slug.clone());
        let base = match &pipeline {
            Some(p) => p.clone(),
            None => match app.pipeline(&Actor::System, &slug).await {
                Ok(view) => view.pipeline,
                Err(AppError::DatasetNotFound { .. }) => Pipeline::default(),
                Err(e) => return Err(e),
            },
        };
        let pipeline = Pipeline { table: Some(table.id.clone()), ..base };
        publish_one(app, args, &slug, mode, Some(pipeline)).await?;
    }
    Ok(())
}

fn tapwater_ingest_tables(file: &Path) -> Result<Vec<tapwater_ingest::TableInfo>, AppError> {
    tapwater_ingest::list_tables(file).map_err(|e| with_file(AppError::Ingest(e), file))
}

/// `base-sheet` for a sheet name with ASCII letters or digits, else `base-N`; unique among `used`, within 64 chars.
pub fn table_slug(base: &str, name: &str, position: usize, used: &[String]) -> String {
    let mut part = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            part.push(c.to_ascii_lowercase());
        } else if !part.ends_with('-') && !part.is_empty() {
            part.push('-');
        }
    }
    let part = part.trim_end_matches('-');
    let candidate = |suffix: &str| {
        let mut slug = format!("{base}-{suffix}");
        slug.truncate(Slug::MAX_LEN);
        slug.trim_end_matches('-').to_string()
    };
    let named = candidate(part);
    if !part.is_empty() && Slug::parse(&named).is_ok() && !used.contains(&named) {
        return named;
    }
    candidate(&position.to_string())
}

async fn publish_one(
    app: &Tapwater,
    args: &PublishArgs,
    slug: &str,
    mode: PublishMode,
    pipeline: Option<Pipeline>,
) -> Result<(), AppError> {
    let started = Instant::now();
    let bar = if args.quiet { ProgressBar::hidden() } else { ProgressBar::new(0) };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:<34} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let progress_bar = bar.clone();
    let progress: tapwater_app::ProgressFn = Arc::new(move |p| {
        progress_bar.set_message(p.stage.label());
        if p.stage == PublishStage::Storing || p.stage == PublishStage::Committing {
            return;
        }
        progress_bar.set_length(p.total);
        progress_bar.set_position(p.done);
    });
    let mut uploads = Vec::with_capacity(args.files.len());
    for file in &args.files {
        uploads.push(app.stage_local_file(file, progress.clone()).await?);
    }
    let has_metadata = args.title.is_some()
        || args.description.is_some()
        || args.publisher.is_some()
        || args.license.is_some()
        || args.frequency.is_some()
        || !args.tags.is_empty();
    let options = PublishOptions {
        create_if_missing: Some(DatasetInput {
            slug: slug.to_string(),
            title: args.title.clone(),
            description: args.description.clone(),
            publisher: args.publisher.clone(),
            publisher_name: args.publisher_name.clone(),
            license: args.license.clone(),
            frequency: args.frequency.clone(),
            tags: args.tags.clone(),
            ..DatasetInput::default()
        }),
        update: has_metadata.then(|| DatasetPatch {
            title: args.title.clone(),
            description: args.description.clone(),
            publisher: args.publisher.clone(),
            publisher_name: args.publisher_name.clone(),
            license: args.license.clone(),
            frequency: args.frequency.clone(),
            tags: (!args.tags.is_empty()).then(|| args.tags.clone()),
            ..DatasetPatch::default()
        }),
        ..PublishOptions::default()
    };
    let input = PublishInput { uploads, mode, pipeline };
    let result = app.publish(&Actor::System, slug, input, options, progress).await;
    bar.finish_and_clear();
    let version = result.map_err(|e| match &args.files[..] {
        [one] => with_file(e, one),
        _ => e, // a series: the ingest error names the file already
    })?;
    println!(
        "published {} v{}: {} rows, {} columns, {:.2} s",
        slug,
        version.seq,
        version.row_count,
        version.schema.fields.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
