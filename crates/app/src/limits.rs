//! Fair use: rate limits (token buckets per API key or user, per IP address for anonymous callers) and usage
//! metering (requests, rows and bytes per key and dataset, counted in memory and written in batches).
//!
//! A bucket holds up to `requests` tokens and refills at `requests / window`; each request takes one. Three places
//! can keep the buckets:
//! * in process (the embedded default: one server);
//! * the catalog database, one atomic upsert per request, so several servers on one PostgreSQL share a budget;
//! * Redis, one Lua script per request (atomic on the Redis server), for deployments that have it.
//!
//! If the shared store fails, requests are let through and the failure is logged: an outage of the limiter must
//! not become an outage of the data.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tapwater_store::UsageRow;
use tapwater_types::{Actor, Credential};

use crate::{AppError, Tapwater};

/// `requests` per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub requests: u32,
    pub window: Duration,
}

impl Rate {
    /// `300/min`, `20/s`, `5000/h` (also `minute`, `second`, `hour`).
    pub fn parse(value: &str) -> Result<Rate, String> {
        let (count, unit) =
            value.trim().split_once('/').ok_or_else(|| format!("rate {value:?}: write N/s, N/min or N/h"))?;
        let requests: u32 = count.trim().parse().map_err(|_| format!("rate {value:?}: {count:?} is not a number"))?;
        let window = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            other => return Err(format!("rate {value:?}: unknown unit {other:?}; use s, min or h")),
        };
        if requests == 0 {
            return Err(format!("rate {value:?}: at least 1 request"));
        }
        Ok(Rate { requests, window })
    }

    fn per_ms(self) -> f64 {
        f64::from(self.requests) / self.window.as_millis().max(1) as f64
    }
}

/// Where the buckets live.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum LimiterBackend {
    /// The catalog when it is PostgreSQL (shared by every server), else in process.
    #[default]
    Auto,
    Memory,
    Catalog,
    /// `redis://host:port/db`.
    Redis(String),
}

impl LimiterBackend {
    /// `auto`, `memory`, `catalog` or a `redis://` URL.
    pub fn parse(value: &str) -> Result<LimiterBackend, String> {
        match value.trim() {
            "" | "auto" => Ok(LimiterBackend::Auto),
            "memory" => Ok(LimiterBackend::Memory),
            "catalog" | "database" => Ok(LimiterBackend::Catalog),
            url if url.starts_with("redis://") || url.starts_with("rediss://") => Ok(LimiterBackend::Redis(url.into())),
            other => Err(format!("rate-limit store must be auto, memory, catalog or redis://…, not {other:?}")),
        }
    }
}

/// Rate limits of a server.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimitConfig {
    /// Off lifts every limit (benchmark runs).
    pub enabled: bool,
    /// Per IP address, for callers without a key.
    pub anonymous: Rate,
    /// Per API key, or per user for browser sessions.
    pub registered: Rate,
    pub backend: LimiterBackend,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            enabled: true,
            anonymous: Rate { requests: 600, window: Duration::from_secs(60) },
            registered: Rate { requests: 6000, window: Duration::from_secs(60) },
            backend: LimiterBackend::Auto,
        }
    }
}

/// What a request was admitted with, for the `RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateStatus {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset_secs: u64,
    pub window_secs: u64,
}

pub(crate) struct Bucket {
    tokens: f64,
    refreshed: Instant,
}

/// The bucket store of one process.
pub(crate) enum Limiter {
    Memory(Mutex<HashMap<String, Bucket>>),
    Catalog,
    /// The client, and one multiplexed connection shared by all requests (made on first use, remade after an error).
    Redis(Box<(redis::Client, tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>)>),
}

/// In-process buckets are pruned (full ones dropped) when there are more than this many.
const MAX_MEMORY_BUCKETS: usize = 100_000;

/// Token bucket in Redis: `KEYS[1]` the bucket, `ARGV` burst, tokens per ms, now (ms). Returns {allowed, tokens×1000}.
const REDIS_BUCKET: &str = r"
local burst = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
if now > at then tokens = math.min(burst, tokens + (now - at) * per_ms) end
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(math.max(now, at)))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / per_ms) + 1000)
return {allowed, math.floor(tokens * 1000)}
";

impl Limiter {
    pub(crate) fn new(config: &RateLimitConfig, catalog_is_postgres: bool) -> Result<Limiter, AppError> {
        Ok(match &config.backend {
            LimiterBackend::Auto if catalog_is_postgres => Limiter::Catalog,
            LimiterBackend::Auto | LimiterBackend::Memory => Limiter::Memory(Mutex::new(HashMap::new())),
            LimiterBackend::Catalog => Limiter::Catalog,
            LimiterBackend::Redis(url) => Limiter::Redis(Box::new((
                redis::Client::open(url.as_str()).map_err(|e| AppError::Internal(format!("redis URL: {e}")))?,
                tokio::sync::Mutex::new(None),
            ))),
        })
    }

    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Limiter::Memory(_) => "in process",
            Limiter::Catalog => "shared in the catalog database",
            Limiter::Redis(..) => "shared in Redis",
        }
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Who a request is metered and limited as.
fn subject_of(actor: &Actor) -> String {
    match actor {
        Actor::Anonymous => "anonymous".to_string(),
        Actor::Admin => "admin-token".to_string(),
        Actor::System => "system".to_string(),
        Actor::User(p) => match &p.credential {
            Credential::ApiKey { key_id, .. } => format!("key:{key_id}"),
            Credential::Session { .. } => format!("user:{}", p.user_id),
        },
    }
}

/// (day, subject, dataset).
type UsageKey = (String, String, String);
/// (requests, rows, bytes).
type UsageCounts = (u64, u64, u64);

/// Usage counted since the last flush.
#[derive(Default)]
pub(crate) struct Meter {
    counts: Mutex<HashMap<UsageKey, UsageCounts>>,
    keys_used: Mutex<HashSet<String>>,
}

impl Meter {
    pub(crate) fn key_used(&self, key_id: &str) {
        if let Ok(mut keys) = self.keys_used.lock()
            && !keys.contains(key_id)
        {
            keys.insert(key_id.to_string());
        }
    }

    fn add(&self, day: String, subject: String, dataset: String, requests: u64, rows: u64, bytes: u64) {
        if let Ok(mut counts) = self.counts.lock() {
            let entry = counts.entry((day, subject, dataset)).or_default();
            entry.0 += requests;
            entry.1 += rows;
            entry.2 += bytes;
        }
    }

    fn take(&self) -> (Vec<UsageRow>, Vec<String>) {
        let counts = self.counts.lock().map(|mut c| std::mem::take(&mut *c)).unwrap_or_default();
        let keys = self.keys_used.lock().map(|mut k| std::mem::take(&mut *k)).unwrap_or_default();
        let rows = counts
            .into_iter()
            .map(|((day, subject, dataset), (requests, rows, bytes))| UsageRow {
                day,
                subject,
                dataset,
                requests,
                rows,
                bytes,
            })
            .collect();
        (rows, keys.into_iter().collect())
    }
}

impl Tapwater {
    /// Admits a request of `actor` from `client` (an IP address) or refuses it with `rate_limited`. Site
    /// administrators and the operator are not limited; `None` means no limit applied.
    pub async fn admit(&self, actor: &Actor, client: &str) -> Result<Option<RateStatus>, AppError> {
        let config = &self.inner.config.access.rate_limits;
        if !config.enabled || actor.is_site_admin() {
            return Ok(None);
        }
        let (rate, bucket) = match actor {
            Actor::Anonymous => (config.anonymous, format!("ip:{client}")),
            other => (config.registered, subject_of(other)),
        };
        let burst = f64::from(rate.requests);
        let per_ms = rate.per_ms();
        let taken = match &self.inner.limiter {
            Limiter::Memory(buckets) => Ok(take_in_memory(buckets, &bucket, burst, per_ms)),
            Limiter::Catalog => {
                self.inner.catalog.take_rate_token(&bucket, burst, per_ms, now_ms()).await.map_err(|e| e.to_string())
            }
            Limiter::Redis(redis) => take_in_redis(&redis.0, &redis.1, &bucket, burst, per_ms).await,
        };
        let (allowed, tokens) = match taken {
            Ok(taken) => taken,
            Err(err) => {
                tracing::warn!(%err, "rate limiter unavailable; request let through");
                return Ok(None);
            }
        };
        let window_secs = rate.window.as_secs().max(1);
        if !allowed {
            let retry_after_secs = ((1.0 - tokens).max(0.0) / per_ms / 1000.0).ceil().max(1.0) as u64;
            return Err(AppError::RateLimited { limit: rate.requests, window_secs, retry_after_secs });
        }
        Ok(Some(RateStatus {
            limit: rate.requests,
            remaining: tokens.max(0.0).floor() as u32,
            reset_secs: ((burst - tokens).max(0.0) / per_ms / 1000.0).ceil() as u64,
            window_secs,
        }))
    }

    /// Counts a request on a dataset (rows and bytes served) for the usage meters. Cheap: memory only; written
    /// out by [`Tapwater::flush_usage`].
    pub fn meter(&self, actor: &Actor, dataset: &str, rows: u64, bytes: u64) {
        let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
        self.inner.meter.add(day, subject_of(actor), dataset.to_string(), 1, rows, bytes);
    }

    /// Writes the usage counted since the last flush (one transaction), and when keys were last used. On failure
    /// the counts are kept for the next flush.
    pub async fn flush_usage(&self) -> Result<usize, AppError> {
        let (rows, keys) = self.inner.meter.take();
        if !keys.is_empty()
            && let Err(err) = self.inner.catalog.touch_api_keys(&keys, chrono::Utc::now()).await
        {
            tracing::warn!(%err, "could not record API key use");
        }
        if rows.is_empty() {
            return Ok(0);
        }
        if let Err(err) = self.inner.catalog.add_usage(&rows).await {
            for row in rows {
                self.inner.meter.add(row.day, row.subject, row.dataset, row.requests, row.rows, row.bytes);
            }
            return Err(err.into());
        }
        Ok(rows.len())
    }

    /// Usage of the caller (all their keys and sessions) from day `since` (`YYYY-MM-DD`) on; site administrators
    /// see everyone's.
    pub async fn usage(&self, actor: &Actor, since: &str, everyone: bool) -> Result<Vec<UsageRow>, AppError> {
        if chrono::NaiveDate::parse_from_str(since, "%Y-%m-%d").is_err() {
            return Err(AppError::invalid(
                "invalid_parameter",
                "since",
                format!("since is a date YYYY-MM-DD, not \"{since}\"."),
                format!("since 須為日期 YYYY-MM-DD，而不是「{since}」。"),
            ));
        }
        if everyone {
            crate::access::authorize(actor, crate::access::Action::SiteAdministration)?;
            return Ok(self.inner.catalog.usage(None, since).await?);
        }
        let Some(principal) = actor.principal() else { return Err(AppError::Unauthorized) };
        let mut subjects = vec![format!("user:{}", principal.user_id)];
        for key in self.inner.catalog.list_api_keys(principal.user_id).await? {
            subjects.push(format!("key:{}", key.id));
        }
        Ok(self.inner.catalog.usage(Some(&subjects), since).await?)
    }

    /// Periodic work of a server: usage flushes, expired sessions, stale rate buckets. Runs until the process ends.
    pub fn spawn_housekeeping(&self) {
        let app = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(app.inner.config.access.usage_flush);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut rounds = 0u64;
            loop {
                tick.tick().await;
                if let Err(err) = app.flush_usage().await {
                    tracing::warn!(%err, "usage flush failed; kept for the next one");
                }
                rounds += 1;
                // Every hundred flushes (about a quarter of an hour by default): the slower clean-ups.
                if rounds % 100 == 1 {
                    if let Err(err) = app.expire_sessions().await {
                        tracing::warn!(%err, "could not remove expired sessions");
                    }
                    if matches!(app.inner.limiter, Limiter::Catalog) {
                        let day_ago = now_ms() - 86_400_000;
                        if let Err(err) = app.inner.catalog.prune_rate_buckets(day_ago).await {
                            tracing::warn!(%err, "could not prune rate buckets");
                        }
                    }
                }
            }
        });
    }

    /// Where rate-limit buckets are kept, for the start-up banner.
    pub fn limiter_description(&self) -> String {
        if self.inner.config.access.rate_limits.enabled {
            format!("rate limits {}", self.inner.limiter.describe())
        } else {
            "rate limits off".to_string()
        }
    }
}

fn take_in_memory(buckets: &Mutex<HashMap<String, Bucket>>, key: &str, burst: f64, per_ms: f64) -> (bool, f64) {
    let Ok(mut buckets) = buckets.lock() else { return (true, burst) };
    let now = Instant::now();
    if buckets.len() > MAX_MEMORY_BUCKETS {
        buckets.retain(|_, b| b.tokens + now.duration_since(b.refreshed).as_millis() as f64 * per_ms < burst);
    }
    let bucket = buckets.entry(key.to_string()).or_insert(Bucket { tokens: burst, refreshed: now });
    let elapsed = now.duration_since(bucket.refreshed).as_secs_f64() * 1000.0;
    bucket.tokens = (bucket.tokens + elapsed * per_ms).min(burst);
    bucket.refreshed = now;
    if bucket.tokens >= 1.0 {
        bucket.tokens -= 1.0;
        (true, bucket.tokens)
    } else {
        (false, bucket.tokens)
    }
}

async fn take_in_redis(
    client: &redis::Client,
    shared: &tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
    key: &str,
    burst: f64,
    per_ms: f64,
) -> Result<(bool, f64), String> {
    let mut conn = {
        let mut slot = shared.lock().await;
        match slot.as_ref() {
            Some(conn) => conn.clone(),
            None => {
                let conn = client.get_multiplexed_async_connection().await.map_err(|e| e.to_string())?;
                *slot = Some(conn.clone());
                conn
            }
        }
    };
    let answer: Result<(i64, i64), redis::RedisError> = redis::Script::new(REDIS_BUCKET)
        .key(format!("tapwater:rate:{key}"))
        .arg(burst)
        .arg(per_ms)
        .arg(now_ms())
        .invoke_async(&mut conn)
        .await;
    match answer {
        Ok((allowed, milli_tokens)) => Ok((allowed == 1, milli_tokens as f64 / 1000.0)),
        Err(err) => {
            *shared.lock().await = None;
            Err(err.to_string())
        }
    }
}
