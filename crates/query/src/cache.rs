//! The response cache: encoded responses kept in memory, bounded by bytes.
//!
//! Keys are built by the application layer from (version id, normalized query, format). Versions are immutable, so an
//! entry never needs invalidation: when a dataset gets a new version, requests simply start using new keys and the
//! old entries age out. Entries are weighed by their size, so the bound is on memory, not on the number of responses.

use bytes::Bytes;

/// One encoded response, ready to be sent again.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedResponse {
    pub body: Bytes,
    pub content_type: String,
    /// Extra response headers to replay (e.g. `Link`, `X-Total-Count`).
    pub headers: Vec<(String, String)>,
}

impl CachedResponse {
    /// The bytes this entry holds: body, content type and headers (what the cache is bounded by).
    fn weight(&self) -> u64 {
        let headers: usize = self.headers.iter().map(|(name, value)| name.len() + value.len()).sum();
        (self.body.len() + self.content_type.len() + headers) as u64
    }
}

/// A byte-bounded cache of encoded responses. Cheap to share: clones see the same entries.
#[derive(Clone)]
pub struct ResponseCache {
    /// None when the cache is disabled (a budget of 0 bytes).
    inner: Option<moka::sync::Cache<String, CachedResponse>>,
    max_bytes: u64,
}

impl std::fmt::Debug for ResponseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseCache")
            .field("max_bytes", &self.max_bytes)
            .field("entries", &self.inner.as_ref().map(|c| c.entry_count()))
            .finish()
    }
}

impl ResponseCache {
    /// A cache holding at most `max_bytes` of responses; 0 disables it (every `get` misses, `insert` is a no-op).
    pub fn new(max_bytes: u64) -> Self {
        let inner = (max_bytes > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                // moka weights are u32: a response over 4 GiB is weighed as 4 GiB, far above any sane budget anyway.
                .weigher(|_key: &String, value: &CachedResponse| u32::try_from(value.weight()).unwrap_or(u32::MAX))
                .build()
        });
        ResponseCache { inner, max_bytes }
    }

    /// The configured budget in bytes (0 = disabled).
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    pub fn get(&self, key: &str) -> Option<CachedResponse> {
        self.inner.as_ref()?.get(key)
    }

    /// Stores a response. A response larger than the whole budget is not stored (it would only evict everything
    /// else and then itself).
    pub fn insert(&self, key: String, value: CachedResponse) {
        if let Some(cache) = &self.inner
            && value.weight() <= self.max_bytes
        {
            cache.insert(key, value);
        }
    }

    /// Bytes currently held. Runs the cache's pending maintenance first so the number is current.
    pub fn weighted_bytes(&self) -> u64 {
        match &self.inner {
            Some(cache) => {
                cache.run_pending_tasks();
                cache.weighted_size()
            }
            None => 0,
        }
    }

    /// Number of responses currently held (after pending maintenance).
    pub fn entry_count(&self) -> u64 {
        match &self.inner {
            Some(cache) => {
                cache.run_pending_tasks();
                cache.entry_count()
            }
            None => 0,
        }
    }
}
