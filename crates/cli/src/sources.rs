//! `tapwater sources …`: set, show, run and list the runs of a dataset's source (a URL pull or a SQL query), and
//! the settings of the scheduler that `tapwater serve` runs. Everything goes through the application layer as the
//! system actor, on the data directory or database directly, like `tapwater publish`.
//!
//! What it does not do: schedule anything itself (`tapwater sources run` runs once, now, in this process; the
//! scheduler lives in `serve`).

use std::sync::Arc;
use std::time::Duration;

use chrono::Offset as _;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use tapwater_app::{Actor, AppError, Config, RunProgress, SourcesConfig, Tapwater};
use tapwater_types::{DatasetInput, RunStatus, SourceInput, SourceKind, SourceRun, SqlSource};

/// Scheduler and source-run settings (global flags, so `serve` and `sources run` share them).
#[derive(Args)]
pub struct SourceSettings {
    /// Run the source scheduler in `serve` (on|off): it starts scheduled runs and queued ones. Off on a server that
    /// should only answer requests.
    #[arg(long, global = true, env = "TAPWATER_SCHEDULER", default_value = "on", value_parser = ["on", "off"])]
    scheduler: String,
    /// Seconds between two looks of the scheduler for due sources and queued runs.
    #[arg(long, global = true, env = "TAPWATER_SCHEDULER_POLL_SECS", default_value_t = 2.0)]
    scheduler_poll_secs: f64,
    /// Seconds a claimed run stays reserved without renewal; another server takes over a run whose server died once
    /// this has passed.
    #[arg(long, global = true, env = "TAPWATER_SOURCE_LEASE_SECS", default_value_t = 300.0)]
    source_lease_secs: f64,
    /// Attempts per run for a URL request or a database connection (1 = no retry).
    #[arg(long, global = true, env = "TAPWATER_SOURCE_ATTEMPTS", default_value_t = 4)]
    source_attempts: u32,
    /// Seconds before the first retry; doubled before each further one.
    #[arg(long, global = true, env = "TAPWATER_SOURCE_RETRY_DELAY_SECS", default_value_t = 2.0)]
    source_retry_delay_secs: f64,
    /// Time limit in seconds for one HTTP read or one SQL statement of a source.
    #[arg(long, global = true, env = "TAPWATER_SOURCE_TIMEOUT_SECS", default_value_t = 300.0)]
    source_timeout_secs: f64,
    /// Source runs one process carries out at the same time.
    #[arg(long, global = true, env = "TAPWATER_SOURCE_CONCURRENCY", default_value_t = 2)]
    source_concurrency: usize,
}

fn seconds(value: f64, min: f64) -> Duration {
    Duration::try_from_secs_f64(value.max(min)).unwrap_or(Duration::from_secs(1))
}

impl SourceSettings {
    /// Puts the settings into a configuration.
    pub fn apply(&self, config: &mut Config) {
        config.sources = SourcesConfig {
            scheduler: self.scheduler == "on",
            poll_interval: seconds(self.scheduler_poll_secs, 0.05),
            lease: seconds(self.source_lease_secs, 1.0),
            retry_attempts: self.source_attempts.max(1),
            retry_delay: seconds(self.source_retry_delay_secs, 0.0),
            timeout: seconds(self.source_timeout_secs, 0.1),
            max_concurrent: self.source_concurrency.max(1),
        };
    }
}

#[derive(Subcommand)]
pub enum SourcesCommand {
    /// Set the source of a dataset: a URL to pull or a SQL query to run — 設定資料來源.
    Set(SetArgs),
    /// Show a dataset's source (connection string redacted) and its latest run as JSON — 顯示資料來源.
    Show { slug: String },
    /// Run a dataset's source now, here, with a progress bar; exits non-zero if the run fails — 立即執行.
    Run {
        slug: String,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
    },
    /// List the latest runs of a dataset's source — 列出執行紀錄.
    Runs {
        slug: String,
        /// How many runs, newest first.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Remove a dataset's source (its runs stay on record) — 移除資料來源.
    Delete { slug: String },
}

#[derive(Args)]
pub struct SetArgs {
    /// Dataset slug; a dataset that does not exist yet is created, titled by --title.
    slug: String,
    /// The file to pull (http:// or https://).
    #[arg(long, required_unless_present = "sql_connection", conflicts_with_all = ["sql_connection", "sql_query"])]
    url: Option<String>,
    /// postgres://…, mysql://…, mariadb://…, or env:NAME to read it from the server's environment.
    #[arg(long, requires = "sql_query")]
    sql_connection: Option<String>,
    /// One read-only SELECT (end it with an ORDER BY so unchanged data gives no new version).
    #[arg(long, requires = "sql_connection")]
    sql_query: Option<String>,
    /// Cron schedule in Asia/Taipei time: 5 fields ("0 3 * * *" = 03:00 daily) or 6 with seconds first. Without
    /// it: manual runs only.
    #[arg(long)]
    schedule: Option<String>,
    /// Keep the schedule but do not run it until the source is set again without --disabled.
    #[arg(long)]
    disabled: bool,
    /// Title of the dataset when it is created here.
    #[arg(long)]
    title: Option<String>,
}

/// Runs one `tapwater sources …` command.
pub async fn run(config: Config, command: SourcesCommand) -> Result<(), AppError> {
    let app = Tapwater::open(Config { warm_after_publish: false, quality_in_background: false, ..config }).await?;
    let actor = Actor::System;
    match command {
        SourcesCommand::Set(args) => {
            let input = SourceInput {
                kind: if args.url.is_some() { SourceKind::Url } else { SourceKind::Sql },
                url: args.url,
                sql: match (args.sql_connection, args.sql_query) {
                    (Some(connection), Some(query)) => Some(SqlSource { connection, query }),
                    _ => None,
                },
                schedule: args.schedule,
                enabled: !args.disabled,
            };
            let source = match app.set_source(&actor, &args.slug, input.clone()).await {
                Err(AppError::DatasetNotFound { .. }) => {
                    let title = args.title.or_else(|| Some(args.slug.clone()));
                    app.create_dataset(&actor, DatasetInput { slug: args.slug.clone(), title, ..Default::default() })
                        .await?;
                    app.set_source(&actor, &args.slug, input).await?
                }
                other => other?,
            };
            let next = source.next_run_at.map(|t| format!("; next run {}", local(t))).unwrap_or_default();
            println!("source of {} set: {}{next}", source.dataset, source.kind.as_str());
            Ok(())
        }
        SourcesCommand::Show { slug } => {
            let source = app.source(&actor, &slug).await?;
            let json = serde_json::to_string_pretty(&source).map_err(|e| AppError::Internal(e.to_string()))?;
            println!("{json}");
            Ok(())
        }
        SourcesCommand::Run { slug, quiet } => run_now(&app, &slug, quiet).await,
        SourcesCommand::Runs { slug, limit } => {
            let runs = app.source_runs(&actor, &slug, limit).await?;
            println!("id\ttrigger\tstatus\tstarted\tfinished\thttp\tbytes\tversion\tattempts\terror");
            for run in &runs {
                println!("{}", run_line(run));
            }
            eprintln!("{} run(s)", runs.len());
            Ok(())
        }
        SourcesCommand::Delete { slug } => {
            app.delete_source(&actor, &slug).await?;
            println!("source of {slug} removed");
            Ok(())
        }
    }
}

/// A time in Taiwan, to the second.
fn local(time: chrono::DateTime<chrono::Utc>) -> String {
    let taipei = chrono::FixedOffset::east_opt(8 * 3600).unwrap_or(chrono::Utc.fix());
    time.with_timezone(&taipei).format("%Y-%m-%d %H:%M:%S%:z").to_string()
}

fn run_line(run: &SourceRun) -> String {
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let error = run.error.as_ref().map(|e| format!("{}: {}", e.code, e.message));
    [
        run.id.clone(),
        run.trigger.as_str().to_string(),
        run.status.as_str().to_string(),
        opt(run.started_at.map(local)),
        opt(run.finished_at.map(local)),
        opt(run.http_status.map(|s| s.to_string())),
        opt(run.bytes.map(|b| b.to_string())),
        opt(run.version.map(|v| format!("v{v}"))),
        run.attempts.to_string(),
        opt(error),
    ]
    .join("\t")
}

async fn run_now(app: &Tapwater, slug: &str, quiet: bool) -> Result<(), AppError> {
    let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(0) };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:<34} [{bar:30}] {pos}/{len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let shown = bar.clone();
    let progress: tapwater_app::RunProgressFn = Arc::new(move |p: RunProgress| {
        shown.set_message(p.label);
        shown.set_length(p.total.max(p.done));
        shown.set_position(p.done);
    });
    let result = app.run_source_now(&Actor::System, slug, progress).await;
    bar.finish_and_clear();
    let run = result?;
    match run.status {
        RunStatus::NewVersion => {
            let version = run.version.map(|v| format!("v{v}")).unwrap_or_default();
            println!("{slug}: new version {version} ({} bytes, {} attempt(s))", run.bytes.unwrap_or(0), run.attempts);
            Ok(())
        }
        RunStatus::Unchanged => {
            let why =
                if run.http_status == Some(304) { "304 Not Modified" } else { "same SHA-256 as the current version" };
            println!("{slug}: unchanged ({why})");
            Ok(())
        }
        _ => {
            let (code, message) = match &run.error {
                Some(error) => (error.code.clone(), error.message.clone()),
                None => ("internal_error".to_string(), format!("the run ended {}", run.status.as_str())),
            };
            // The stable code as the application lists it (the run record keeps it as text).
            let code =
                tapwater_app::ERROR_CODES.iter().map(|(c, _)| *c).find(|c| *c == code).unwrap_or("internal_error");
            let message = format!("{slug}: {message}");
            Err(AppError::SourceFailed { code, message: message.clone(), message_zh: message })
        }
    }
}
