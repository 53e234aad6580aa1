//! Operator commands on accounts, access and the audit log: `tapwater admin …`, `tapwater datasets set-access`,
//! `tapwater audit verify|export`, and the serve flags for sign-up, sessions, notices and rate limits. All of them
//! work on the data directory or database directly, through the application layer as the system actor.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use tapwater_app::{
    AUDIT_CSV_HEADER, Actor, AppError, Config, DatasetListQuery, LimiterBackend, MAX_AUDIT_PAGE, NewAccount,
    NotifierConfig, Rate, Tapwater, audit_csv_record,
};
use tapwater_types::{DatasetPatch, Scope};

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create an account: a site administrator (--role admin) or a role in an organisation — 建立帳號.
    CreateUser {
        email: String,
        /// admin | org-admin | editor | reviewer | member
        #[arg(long, default_value = "member")]
        role: String,
        /// The organisation (publisher slug) for an organisation role.
        #[arg(long)]
        org: Option<String>,
        /// Display name (default: the email).
        #[arg(long)]
        name: Option<String>,
        /// Read the password from the first line of standard input (otherwise the account has none until a
        /// password reset).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Create an API key for a user and print it once — 建立 API 金鑰.
    CreateKey {
        email: String,
        /// read | publish
        #[arg(long, default_value = "read")]
        scope: String,
        /// A name to tell the key apart later.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// Create an organisation (agency) — 建立機關.
    CreateOrg {
        slug: String,
        /// Display name, e.g. 高雄市政府資訊中心.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List accounts with their roles — 列出帳號.
    Users,
}

#[derive(Subcommand)]
pub enum DatasetsCommand {
    /// Set who may read a dataset's rows: public, registered, application or restricted — 設定開放層級.
    SetAccess {
        slug: String,
        /// public | registered | application | restricted
        level: String,
    },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's hash chain; exits non-zero at the first entry that was edited, removed or inserted —
    /// 驗證稽核紀錄.
    Verify,
    /// Write the audit log as CSV or JSON (standard output, or --output) — 匯出稽核紀錄.
    Export {
        /// csv | json
        #[arg(long, default_value = "csv")]
        format: String,
        /// Only entries about this organisation's datasets.
        #[arg(long)]
        org: Option<String>,
        /// File to write (default: standard output).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// Serve flags of accounts and fair use.
#[derive(Args)]
pub struct AccessSettings {
    /// Let anyone create an account (true) or only administrators (false).
    #[arg(long, env = "TAPWATER_SIGNUP", default_value_t = true, action = clap::ArgAction::Set)]
    signup: bool,
    /// The address people reach this server at, for links in notices (password resets) and in metadata exports
    /// (DCAT, Data Package); https also makes the session cookie Secure.
    #[arg(long, env = "TAPWATER_PUBLIC_URL")]
    public_url: Option<String>,
    /// Mark the session cookie Secure even when the public URL is not https.
    #[arg(long, env = "TAPWATER_COOKIE_SECURE")]
    cookie_secure: bool,
    /// Session lifetime in hours.
    #[arg(long, env = "TAPWATER_SESSION_HOURS", default_value_t = 14 * 24)]
    session_hours: u64,
    /// Where notices go: log (the server log), outbox:DIR (one .eml file per message), or
    /// smtp://user:pass@host:587?from=noreply@example.gov.tw (smtps:// for implicit TLS).
    #[arg(long, env = "TAPWATER_NOTIFIER", default_value = "log")]
    notifier: String,
    /// Rate limits on (true) or off (false: benchmark runs).
    #[arg(long, env = "TAPWATER_RATE_LIMIT", default_value_t = true, action = clap::ArgAction::Set)]
    rate_limit: bool,
    /// Limit per IP address for callers without a key, e.g. 600/min.
    #[arg(long, env = "TAPWATER_RATE_ANONYMOUS", default_value = "600/min")]
    rate_anonymous: String,
    /// Limit per API key (or signed-in user), e.g. 6000/min.
    #[arg(long, env = "TAPWATER_RATE_REGISTERED", default_value = "6000/min")]
    rate_registered: String,
    /// Where rate-limit buckets live: auto (the catalog on PostgreSQL, else in process), memory, catalog, or a
    /// redis:// URL; shared stores make several servers share one budget.
    #[arg(long, env = "TAPWATER_RATE_LIMIT_STORE", default_value = "auto")]
    rate_limit_store: String,
    /// Take the client address from X-Forwarded-For (only behind a proxy that sets it).
    #[arg(long, env = "TAPWATER_TRUST_FORWARDED_FOR")]
    trust_forwarded_for: bool,
}

impl AccessSettings {
    pub fn apply(&self, config: &mut Config) -> Result<(), AppError> {
        let invalid =
            |param: &str, message: String| AppError::invalid("invalid_parameter", param, message.clone(), message);
        let access = &mut config.access;
        access.signup = self.signup;
        if let Some(url) = self.public_url.as_deref().filter(|u| !u.is_empty()) {
            access.public_url = url.trim_end_matches('/').to_string();
        }
        access.cookie_secure = self.cookie_secure;
        access.session_ttl = Duration::from_secs(self.session_hours.max(1) * 3600);
        access.notifier = NotifierConfig::parse(&self.notifier).map_err(|m| invalid("--notifier", m))?;
        access.rate_limits.enabled = self.rate_limit;
        access.rate_limits.anonymous = Rate::parse(&self.rate_anonymous).map_err(|m| invalid("--rate-anonymous", m))?;
        access.rate_limits.registered =
            Rate::parse(&self.rate_registered).map_err(|m| invalid("--rate-registered", m))?;
        access.rate_limits.backend =
            LimiterBackend::parse(&self.rate_limit_store).map_err(|m| invalid("--rate-limit-store", m))?;
        access.trust_forwarded_for = self.trust_forwarded_for;
        Ok(())
    }
}

pub async fn admin(config: Config, command: AdminCommand) -> Result<(), AppError> {
    let app = Tapwater::open(config).await?;
    match command {
        AdminCommand::CreateUser { email, role, org, name, password_stdin } => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                Some(line.trim_end_matches(['\r', '\n']).to_string())
            } else {
                None
            };
            let has_password = password.is_some();
            let user = app
                .create_account(
                    &Actor::System,
                    NewAccount { email, password, name, role: Some(role), organisation: org },
                )
                .await?;
            let roles: Vec<String> =
                user.memberships.iter().map(|m| format!("{} of {}", m.role.as_str(), m.organisation)).collect();
            println!(
                "created {}{}{}",
                user.email,
                if user.site_admin { " (site admin)" } else { "" },
                if roles.is_empty() { String::new() } else { format!(" ({})", roles.join(", ")) }
            );
            if !has_password {
                eprintln!(
                    "no password set: the user sets one with a password reset (POST /api/v1/auth/password-reset)"
                );
            }
            Ok(())
        }
        AdminCommand::CreateKey { email, scope, name } => {
            let scope = Scope::parse(&scope).ok_or_else(|| {
                AppError::invalid(
                    "invalid_parameter",
                    "--scope",
                    format!("--scope is read or publish, not \"{scope}\"."),
                    format!("--scope 只能是 read 或 publish，而不是「{scope}」。"),
                )
            })?;
            let created = app.create_api_key(&Actor::System, Some(&email), &name, scope).await?;
            // The key on standard output alone (for scripts); the rest on standard error.
            println!("{}", created.secret);
            eprintln!(
                "key {} ({}) for {email}; shown only now — store it safely / 金鑰只顯示這一次，請妥善保存",
                created.key.prefix,
                scope.as_str()
            );
            Ok(())
        }
        AdminCommand::CreateOrg { slug, name } => {
            let org = app.create_organisation(&Actor::System, &slug, &name).await?;
            println!("created organisation {} ({})", org.slug, org.name);
            Ok(())
        }
        AdminCommand::Users => {
            for user in app.list_users(&Actor::System).await? {
                let roles: Vec<String> =
                    user.memberships.iter().map(|m| format!("{}:{}", m.organisation, m.role.as_str())).collect();
                println!(
                    "{}\t{}\t{}",
                    user.email,
                    if user.site_admin { "site-admin" } else { "-" },
                    if roles.is_empty() { "-".to_string() } else { roles.join(",") }
                );
            }
            Ok(())
        }
    }
}

pub async fn datasets(config: Config, command: Option<DatasetsCommand>, q: Option<String>) -> Result<(), AppError> {
    let app = Tapwater::open(config).await?;
    match command {
        None => {
            let list = app
                .list_datasets(&Actor::System, DatasetListQuery { q, limit: Some(1000), ..Default::default() })
                .await?;
            for d in &list.datasets {
                let version = d.current_version.map(|v| format!("v{v}")).unwrap_or_else(|| "-".into());
                println!("{}\t{}\t{}\t{}", d.slug, version, d.access.as_str(), d.title);
            }
            eprintln!("{} dataset(s)", list.total);
            Ok(())
        }
        Some(DatasetsCommand::SetAccess { slug, level }) => {
            let patch = DatasetPatch { access: Some(level), ..DatasetPatch::default() };
            let dataset = app.update_dataset(&Actor::System, &slug, patch).await?;
            println!("{}: {}", dataset.slug, dataset.access.as_str());
            Ok(())
        }
    }
}

pub async fn audit(config: Config, command: AuditCommand) -> Result<(), AppError> {
    let app = Tapwater::open(config).await?;
    match command {
        AuditCommand::Verify => {
            let verdict = app.verify_audit(&Actor::System).await?;
            match verdict.first_broken {
                None => {
                    println!("audit log intact: {} entries / 稽核紀錄完整：{} 筆", verdict.entries, verdict.entries);
                    Ok(())
                }
                Some((seq, why)) => Err(AppError::invalid(
                    "audit_chain_broken",
                    "audit_log",
                    format!(
                        "audit log broken at entry {seq}: {why} ({} entries before it are intact)",
                        verdict.entries
                    ),
                    format!("稽核紀錄於第 {seq} 筆斷裂：{why}（之前 {} 筆完整）", verdict.entries),
                )),
            }
        }
        AuditCommand::Export { format, org, output } => {
            if !matches!(format.as_str(), "csv" | "json") {
                return Err(AppError::invalid(
                    "invalid_format",
                    "--format",
                    format!("--format is csv or json, not \"{format}\"."),
                    format!("--format 只能是 csv 或 json，而不是「{format}」。"),
                ));
            }
            let sink: Box<dyn Write> = match &output {
                Some(path) => Box::new(std::fs::File::create(path)?),
                None => Box::new(std::io::stdout().lock()),
            };
            let mut sink = std::io::BufWriter::new(sink);
            let csv_error = |e: csv::Error| AppError::Internal(format!("audit CSV: {e}"));
            let mut csv = (format == "csv").then_some(());
            let mut after = 0;
            let mut count = 0u64;
            if csv.is_some() {
                write_csv(&mut sink, &AUDIT_CSV_HEADER.map(String::from)).map_err(csv_error)?;
            } else {
                sink.write_all(b"[")?;
            }
            // Page by page, so an export of millions of entries runs in constant memory.
            loop {
                let page = app.audit_entries(&Actor::System, org.as_deref(), after, MAX_AUDIT_PAGE).await?;
                let Some(last) = page.last() else { break };
                after = last.seq;
                for entry in &page {
                    if csv.is_some() {
                        write_csv(&mut sink, &audit_csv_record(entry)).map_err(csv_error)?;
                    } else {
                        sink.write_all(if count > 0 { b",\n" } else { b"\n" })?;
                        serde_json::to_writer(&mut sink, entry).map_err(|e| AppError::Internal(e.to_string()))?;
                    }
                    count += 1;
                }
            }
            if csv.take().is_none() {
                sink.write_all(b"\n]\n")?;
            }
            sink.flush()?;
            eprintln!("{count} audit entries / 稽核紀錄 {count} 筆");
            Ok(())
        }
    }
}

/// One CSV record (RFC 4180 quoting by the csv crate) onto `sink`.
fn write_csv(sink: &mut impl Write, fields: &[String]) -> Result<(), csv::Error> {
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(sink);
    writer.write_record(fields)?;
    writer.flush()?;
    Ok(())
}
