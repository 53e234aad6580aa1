//! Response formats (`_format=` or `Accept`), validators (`ETag`, `Last-Modified`) and conditional requests.

use axum::http::header::{ACCEPT, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tapwater_app::AppError;
use tapwater_query::encode::OutputFormat;

use crate::extract::param;

/// A small table as a CSV attachment, built in memory (an audit page, a dashboard — never a data download, which
/// streams). `bom` puts a UTF-8 byte-order mark first, so Excel in zh-TW opens Chinese text intact.
pub fn csv_attachment<R: IntoIterator<Item = String>>(
    header: &[&str],
    records: impl IntoIterator<Item = R>,
    filename: &str,
    bom: bool,
) -> Result<axum::response::Response, AppError> {
    use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
    let failed = |e: &dyn std::fmt::Display| AppError::Internal(format!("{filename}: {e}"));
    let mut writer = csv::Writer::from_writer(if bom { b"\xEF\xBB\xBF".to_vec() } else { Vec::new() });
    writer.write_record(header).map_err(|e| failed(&e))?;
    for record in records {
        writer.write_record(record).map_err(|e| failed(&e))?;
    }
    let body = writer.into_inner().map_err(|e| failed(&e))?;
    let mut response = axum::response::Response::new(axum::body::Body::from(body));
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// Picks the response format: `_format` wins, then the `Accept` header, then JSON.
pub fn output_format(pairs: &[(String, String)], headers: &HeaderMap) -> Result<OutputFormat, AppError> {
    if let Some(name) = param(pairs, "_format") {
        return OutputFormat::from_name(name).ok_or_else(|| {
            AppError::invalid(
                "invalid_format",
                "_format",
                format!("Unknown format \"{name}\"; use json, ndjson, csv or geojson."),
                format!("未知的格式「{name}」；可用 json、ndjson、csv、geojson。"),
            )
        });
    }
    let accept = headers.get(ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    for media in accept.split(',') {
        let media = media.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        let format = match media.as_str() {
            "application/json" => OutputFormat::Json,
            "application/x-ndjson" | "application/ndjson" | "application/jsonl" => OutputFormat::Ndjson,
            "text/csv" | "application/csv" => OutputFormat::Csv,
            "application/geo+json" => OutputFormat::Geojson,
            _ => continue,
        };
        return Ok(format);
    }
    Ok(OutputFormat::Json)
}

/// A strong validator covering the version, the endpoint, the normalized query and the format.
pub fn etag(version_id: &str, endpoint: &str, canonical_query: &str, format: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [version_id, endpoint, canonical_query, format] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    let digest = hasher.finalize();
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// The query pairs in a canonical order, so `?a=1&b=2` and `?b=2&a=1` share a cache entry and an ETag. Parameters
/// are order-independent in the grammar (filters AND together), values keep their own order (`_sort=a,-b`).
pub fn canonical_query(pairs: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort();
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in sorted {
        out.append_pair(k, v);
    }
    out.finish()
}

/// True when the client's `If-None-Match` already names `etag` (RFC 9110 §13.1.2; weak comparison).
pub fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    let Some(value) = headers.get(IF_NONE_MATCH).and_then(|v| v.to_str().ok()) else { return false };
    value.split(',').map(|t| t.trim().trim_start_matches("W/")).any(|t| t == "*" || t == etag)
}

/// An HTTP date (RFC 9110 §5.6.7) for `Last-Modified`.
pub fn http_date(time: DateTime<Utc>) -> HeaderValue {
    HeaderValue::from_str(&time.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"))
}

/// `Cache-Control` for a read: a version pinned by `_version` or a cursor never changes, so caches may keep it;
/// the current version must be revalidated (cheaply, with the ETag).
/// `Cache-Control` for answers about data that is not public: only the caller's own browser may keep them, and
/// must ask again each time (a revoked key or grant must take effect).
pub fn private_cache_control() -> HeaderValue {
    HeaderValue::from_static("private, no-cache")
}

pub fn cache_control(pinned: bool) -> HeaderValue {
    if pinned {
        HeaderValue::from_static("public, max-age=31536000, immutable")
    } else {
        HeaderValue::from_static("public, no-cache")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_query_ignores_parameter_order() {
        let a = vec![("b".to_string(), "2".to_string()), ("a".to_string(), "區".to_string())];
        let b = vec![("a".to_string(), "區".to_string()), ("b".to_string(), "2".to_string())];
        assert_eq!(canonical_query(&a), canonical_query(&b));
    }

    #[test]
    fn if_none_match_lists_and_weak_tags() {
        let mut h = HeaderMap::new();
        h.insert(IF_NONE_MATCH, HeaderValue::from_static("\"x\", W/\"abc\""));
        assert!(not_modified(&h, "\"abc\""));
        assert!(!not_modified(&h, "\"abd\""));
    }
}
