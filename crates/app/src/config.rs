//! The one typed configuration of a tapwater process. The CLI fills it from flags and `TAPWATER_*` environment
//! variables; tests fill it directly.

use std::path::PathBuf;
use std::time::Duration;

use tapwater_query::engine::QueryConfig;

/// Everything a tapwater process needs to know. Defaults give the embedded set-up: SQLite and local files under
/// `./tapwater-data/`.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the embedded catalog (`catalog.db`), version files (`files/`), upload staging (`tmp/`) and the
    /// generated admin token live.
    pub data_dir: PathBuf,
    /// Catalog database: `postgres://…` for scale-out, `sqlite://…` for another SQLite file; `None` means
    /// `<data_dir>/catalog.db`.
    pub database_url: Option<String>,
    /// Version storage as an object_store URL (`file:///srv/tapwater`, `memory://`, `s3://bucket/prefix` with the
    /// `s3` feature); `None` means `<data_dir>/files`.
    pub storage: Option<String>,
    /// Token that authorizes writes over HTTP. `None`: read `<data_dir>/admin-token`, generating it on first use.
    pub admin_token: Option<String>,
    /// Largest upload accepted, in bytes.
    pub max_upload_bytes: u64,
    /// How long the current version of a dataset may be served from memory before the catalog is asked again; a
    /// version published by another process (the CLI, another server) is served within this delay.
    pub catalog_refresh: Duration,
    /// Load a newly published version into memory right away, so its first query is fast. Servers want this; a
    /// one-shot CLI publish does not (it would only spend memory before exiting).
    pub warm_after_publish: bool,
    /// Run a new version's quality checks in the background after the publish returns (servers). Off: the publish
    /// waits for them after committing (a one-shot CLI publish, which would otherwise exit before they finish).
    /// Either way the version serves from the moment it is committed.
    pub quality_in_background: bool,
    /// Query engine limits: memory budget for hot tables, SQL time and row limits, response cache size.
    pub query: QueryConfig,
    /// Scheduled sources: whether this process runs the scheduler, how often it polls, leases, retries, time limits.
    pub sources: crate::SourcesConfig,
    /// Accounts, sessions, lock-out, notices, rate limits and usage metering.
    pub access: AccessConfig,
}

/// Accounts and fair use.
#[derive(Debug, Clone)]
pub struct AccessConfig {
    /// Anyone may create an account (`POST /api/v1/auth/signup`); off: only site administrators create accounts.
    pub signup: bool,
    /// How long a browser session lasts.
    pub session_ttl: Duration,
    /// Mark the session cookie `Secure` (send it over HTTPS only). On whenever the public URL is https.
    pub cookie_secure: bool,
    /// Consecutive failed sign-ins that lock an account …
    pub max_failed_sign_ins: u32,
    /// … for this long.
    pub lockout: Duration,
    /// How long a password-reset link works.
    pub reset_ttl: Duration,
    /// The address people reach this server at, for links in notices (`https://data.example.gov.tw`).
    pub public_url: String,
    /// Where notices (password resets) go.
    pub notifier: crate::NotifierConfig,
    pub rate_limits: crate::RateLimitConfig,
    /// Take the client address from `X-Forwarded-For` (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// How often counted usage is written to the catalog.
    pub usage_flush: Duration,
}

impl Default for AccessConfig {
    fn default() -> Self {
        AccessConfig {
            signup: true,
            session_ttl: Duration::from_secs(14 * 24 * 3600),
            cookie_secure: false,
            max_failed_sign_ins: 5,
            lockout: Duration::from_secs(15 * 60),
            reset_ttl: Duration::from_secs(3600),
            public_url: "http://127.0.0.1:8080".to_string(),
            notifier: crate::NotifierConfig::default(),
            rate_limits: crate::RateLimitConfig::default(),
            trust_forwarded_for: false,
            usage_flush: Duration::from_secs(10),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("tapwater-data"),
            database_url: None,
            storage: None,
            admin_token: None,
            max_upload_bytes: 20 * 1024 * 1024 * 1024,
            catalog_refresh: Duration::from_millis(500),
            warm_after_publish: true,
            quality_in_background: true,
            query: QueryConfig::default(),
            sources: crate::SourcesConfig::default(),
            access: AccessConfig::default(),
        }
    }
}

impl Config {
    /// The catalog URL actually used.
    pub fn catalog_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => {
                let path = self.data_dir.join("catalog.db");
                let absolute = std::path::absolute(&path).unwrap_or(path);
                format!("sqlite://{}", absolute.display())
            }
        }
    }
}
