//! The `tapwater` command: run the server, publish files, look at the catalog.
//!
//! Every subcommand works through the application layer (`tapwater-app`) as the system actor, directly on the data
//! directory or database — so `tapwater publish` works with or without a server running.

mod admin;
mod check;
mod pipeline;
mod quality;
mod sources;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use tapwater_app::{Actor, AppError, Config, Lang, Tapwater};

/// tapwater: open government data that flows like tap water — clean, metered, always on.
/// 開放政府資料平臺。
#[derive(Parser)]
#[command(name = "tapwater", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Options valid for every subcommand.
#[derive(Args)]
struct GlobalArgs {
    /// Directory for the embedded catalog (catalog.db), version files, staging and the admin token.
    #[arg(long, global = true, env = "TAPWATER_DATA_DIR", default_value = "tapwater-data")]
    data_dir: PathBuf,
    /// Catalog database: postgres://user@host/db for scale-out (default: SQLite in the data directory).
    #[arg(long, global = true, env = "TAPWATER_DATABASE_URL")]
    database_url: Option<String>,
    /// Version storage as an object_store URL: file:///path or memory:// (default: <data-dir>/files).
    #[arg(long, global = true, env = "TAPWATER_STORAGE")]
    storage: Option<String>,
    /// Memory for versions held in RAM, in MiB.
    #[arg(long, global = true, env = "TAPWATER_MEMORY_BUDGET_MB", default_value_t = 2048)]
    memory_budget_mb: u64,
    /// Response cache size in MiB (0 disables it).
    #[arg(long, global = true, env = "TAPWATER_RESPONSE_CACHE_MB", default_value_t = 256)]
    response_cache_mb: u64,
    /// SQL time limit in seconds.
    #[arg(long, global = true, env = "TAPWATER_SQL_TIMEOUT", default_value_t = 5.0)]
    sql_timeout: f64,
    /// Most rows a SQL query returns (more → `truncated: true`).
    #[arg(long, global = true, env = "TAPWATER_SQL_MAX_ROWS", default_value_t = 10_000)]
    sql_max_rows: usize,
    /// Largest upload accepted over HTTP, in MiB.
    #[arg(long, global = true, env = "TAPWATER_MAX_UPLOAD_MB", default_value_t = 20 * 1024)]
    max_upload_mb: u64,
    /// Log filter, e.g. info, tapwater=debug.
    #[arg(long, global = true, env = "TAPWATER_LOG", default_value = "info")]
    log: String,
    #[command(flatten)]
    sources: sources::SourceSettings,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (API, docs) — 啟動伺服器.
    Serve(ServeArgs),
    /// Publish a file (or a series of files) as a new version of a dataset, creating the dataset if needed — 發布資料.
    Publish(PublishArgs),
    /// Dry run: what tapwater would make of files, without publishing — 試讀檔案（不發布）.
    Check(check::CheckArgs),
    /// Show or set a dataset's pipeline (renames, types, normalizers …) — 資料處理流程.
    Pipeline {
        #[command(subcommand)]
        command: pipeline::PipelineCommand,
    },
    /// List datasets, or set their access level — 列出資料集、設定開放層級.
    Datasets {
        /// Words to look for in title, description and tags.
        #[arg(long)]
        q: Option<String>,
        #[command(subcommand)]
        command: Option<admin::DatasetsCommand>,
    },
    /// Accounts, API keys and organisations — 帳號、金鑰與機關管理.
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// Verify or export the tamper-evident audit log — 稽核紀錄.
    Audit {
        #[command(subcommand)]
        command: admin::AuditCommand,
    },
    /// Print a dataset's quality report: score, stars, badge, findings with fixes; exits 1 on errors — 品質報告.
    Quality(quality::QualityArgs),
    /// Show or set a dataset's metadata, import a Table Schema, export DCAT / Data Package / data.gov.tw — 詮釋資料.
    Metadata {
        #[command(subcommand)]
        command: quality::MetadataCommand,
    },
    /// List the licences a dataset can use — 列出授權條款.
    Licenses,
    /// Scheduled sources of datasets: URL pulls and SQL queries — 排程資料來源.
    Sources {
        #[command(subcommand)]
        command: sources::SourcesCommand,
    },
    /// Remove files left by publishes that were killed before they finished — 清除未完成發布的殘留檔案.
    Gc {
        /// Only remove leftovers older than this many minutes (a younger one may be a publish still running).
        #[arg(long, default_value_t = 60)]
        older_than_minutes: u64,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TAPWATER_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Publish the bundled demo datasets (real files from Taiwanese agencies) if they are not there yet.
    #[arg(long)]
    demo: bool,
    /// Token for writes over HTTP (default: generated once into <data-dir>/admin-token).
    #[arg(long, env = "TAPWATER_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    #[command(flatten)]
    access: admin::AccessSettings,
}

#[derive(Args)]
struct PublishArgs {
    /// The file to publish; several files of one table (a yearly series) are merged into one version, oldest first,
    /// with a source-file column.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Dataset slug (lowercase a-z, 0-9, - and _).
    #[arg(long)]
    dataset: String,
    #[arg(long)]
    title: Option<String>,
    #[arg(long)]
    description: Option<String>,
    /// Publisher organisation slug, created on first use.
    #[arg(long)]
    publisher: Option<String>,
    /// Publisher display name (when the organisation is created).
    #[arg(long)]
    publisher_name: Option<String>,
    /// Licence id (see `tapwater licenses`); default OGDL-Taiwan-1.0.
    #[arg(long)]
    license: Option<String>,
    /// daily | weekly | monthly | quarterly | yearly | irregular | realtime
    #[arg(long)]
    frequency: Option<String>,
    /// A tag; repeat for several.
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
    /// replace (default): the version holds these files' rows; append: the previous version's files, then these.
    #[arg(long)]
    mode: Option<String>,
    /// Set the dataset's pipeline from this TOML or JSON file before publishing (a new revision if it changed).
    #[arg(long)]
    pipeline: Option<PathBuf>,
    /// Read this sheet / HTML table / ZIP member (name or #N); saved in the dataset's pipeline.
    #[arg(long)]
    table: Option<String>,
    /// Publish every table of the file as a dataset of its own, SLUG-SHEET (SLUG-1, SLUG-2 … for Chinese names).
    #[arg(long, conflicts_with = "table")]
    all_tables: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&cli.global.log).unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("tapwater: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let lang =
        std::env::var("LANG").map(|l| if l.starts_with("zh") { Lang::ZhTw } else { Lang::En }).unwrap_or_default();
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("tapwater: {}", describe(&err, lang));
            ExitCode::FAILURE
        }
    }
}

/// One line saying what went wrong: the person-readable message, plus the code for scripts.
fn describe(err: &AppError, lang: Lang) -> String {
    // The operator at the console is the one who needs the detail of a server fault (a path, an OS error).
    match err.kind() {
        tapwater_app::ErrorKind::Internal => format!("{err} [{}]", err.code()),
        _ => format!("{} [{}]", err.message(lang), err.code()),
    }
}

fn config(global: &GlobalArgs, admin_token: Option<String>) -> Config {
    let mut config = Config {
        data_dir: global.data_dir.clone(),
        database_url: global.database_url.clone().filter(|u| !u.is_empty()),
        storage: global.storage.clone().filter(|s| !s.is_empty()),
        admin_token,
        max_upload_bytes: global.max_upload_mb.saturating_mul(1024 * 1024),
        ..Config::default()
    };
    config.query.memory_budget_bytes = global.memory_budget_mb.saturating_mul(1024 * 1024);
    config.query.response_cache_bytes = global.response_cache_mb.saturating_mul(1024 * 1024);
    config.query.sql_timeout = Duration::from_secs_f64(global.sql_timeout.max(0.001));
    config.query.sql_max_rows = global.sql_max_rows;
    global.sources.apply(&mut config);
    config
}

async fn run(cli: Cli) -> Result<(), AppError> {
    match cli.command {
        Command::Serve(args) => serve(&cli.global, args).await,
        Command::Publish(args) => pipeline::publish(&cli.global, args).await,
        Command::Check(args) => check::run(args).await,
        Command::Pipeline { command } => pipeline::run(&cli.global, command).await,
        Command::Datasets { q, command } => admin::datasets(config(&cli.global, None), command, q).await,
        Command::Admin { command } => admin::admin(config(&cli.global, None), command).await,
        Command::Audit { command } => admin::audit(config(&cli.global, None), command).await,
        Command::Gc { older_than_minutes } => {
            let app = Tapwater::open(config(&cli.global, None)).await?;
            let removed = app.collect_orphans(Duration::from_secs(older_than_minutes * 60)).await?;
            println!("removed the files of {removed} unfinished publish(es)");
            Ok(())
        }
        Command::Sources { command } => sources::run(config(&cli.global, None), command).await,
        Command::Quality(args) => quality::quality(config(&cli.global, None), args).await,
        Command::Metadata { command } => quality::metadata(config(&cli.global, None), command).await,
        Command::Licenses => {
            for l in tapwater_types::LICENSES {
                println!("{}\t{}\t{}\t{}", l.id, l.name, l.name_zh, l.url);
            }
            Ok(())
        }
    }
}

async fn serve(global: &GlobalArgs, args: ServeArgs) -> Result<(), AppError> {
    let mut settings = config(global, args.admin_token);
    args.access.apply(&mut settings)?;
    let app = Tapwater::open(settings).await?;
    if args.demo {
        let published = app.publish_demo(&Actor::System).await?;
        if !published.is_empty() {
            tracing::info!(datasets = ?published, "demo datasets published");
        }
    }
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| AppError::Internal(format!("cannot listen on {}: {e}", args.addr)))?;
    let local = listener.local_addr().map_err(|e| AppError::Internal(e.to_string()))?;
    eprintln!(
        "tapwater {} listening on http://{local}  ({}; {})",
        env!("CARGO_PKG_VERSION"),
        app.describe(),
        app.limiter_description()
    );
    eprintln!("  API reference / API 文件: http://{local}/api/v1/docs");
    if app.config().admin_token.is_none() {
        eprintln!("  admin token for writes / 寫入用管理權杖: {}", global.data_dir.join("admin-token").display());
    }
    app.warm_up();
    app.start_scheduler();
    // Quality checks a stopped server did not finish.
    let checks = app.clone();
    tokio::spawn(async move {
        match checks.resume_pending_quality().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(versions = n, "finished pending quality checks"),
            Err(err) => tracing::warn!(%err, "could not finish pending quality checks"),
        }
    });
    let gc = app.clone();
    tokio::spawn(async move {
        if let Err(err) = gc.collect_orphans(Duration::from_secs(3600)).await {
            tracing::warn!(%err, "could not clean up unfinished publishes");
        }
    });
    tapwater_server::serve(app, listener, tapwater_server::shutdown_signal())
        .await
        .map_err(|e| AppError::Internal(format!("server: {e}")))
}

/// Prefixes file errors with the file name, so the one error line says where.
fn with_file(err: AppError, file: &std::path::Path) -> AppError {
    match err {
        AppError::Ingest(ingest) => AppError::invalid(
            ingest.code(),
            "file",
            format!("{}: {}", file.display(), ingest.message(Lang::En)),
            format!("{}：{}", file.display(), ingest.message(Lang::ZhTw)),
        ),
        other => other,
    }
}
