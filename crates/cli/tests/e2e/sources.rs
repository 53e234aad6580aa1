//! Sources end to end: a tiny HTTP file server plays the agency, real servers (in-process and `tapwater serve`
//! processes) pull from it on demand and on schedules; SQL sources query a real PostgreSQL and MariaDB.

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode as AxumStatus, header};
use axum::response::{IntoResponse, Response};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::support::*;

// ------------------------------------------------------------------------------------------------ the agency

/// One file the agency serves.
#[derive(Clone)]
struct File {
    body: Vec<u8>,
    etag: Option<String>,
    content_type: &'static str,
    /// Answer this status instead (404, 500 …) without a body worth reading.
    status: Option<u16>,
}

#[derive(Default)]
struct Agency {
    files: Mutex<HashMap<String, File>>,
    /// Answer 500 to this many requests first.
    fail_next: AtomicUsize,
    requests: Mutex<HashMap<String, usize>>,
    not_modified: AtomicUsize,
}

/// A file server on 127.0.0.1:0 with ETags and `If-None-Match` → 304.
struct FileServer {
    base: String,
    agency: Arc<Agency>,
}

async fn serve_file(State(agency): State<Arc<Agency>>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    *agency.requests.lock().unwrap().entry(name.clone()).or_default() += 1;
    if agency.fail_next.load(Ordering::SeqCst) > 0 {
        agency.fail_next.fetch_sub(1, Ordering::SeqCst);
        return (AxumStatus::INTERNAL_SERVER_ERROR, "busy").into_response();
    }
    let Some(file) = agency.files.lock().unwrap().get(&name).cloned() else {
        return (AxumStatus::NOT_FOUND, "no such file").into_response();
    };
    if let Some(status) = file.status {
        return (AxumStatus::from_u16(status).unwrap(), file.body).into_response();
    }
    if let (Some(etag), Some(sent)) = (&file.etag, headers.get(header::IF_NONE_MATCH))
        && sent.to_str().unwrap() == etag
    {
        agency.not_modified.fetch_add(1, Ordering::SeqCst);
        return AxumStatus::NOT_MODIFIED.into_response();
    }
    let mut response = (AxumStatus::OK, file.body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, file.content_type.parse().unwrap());
    if let Some(etag) = file.etag {
        response.headers_mut().insert(header::ETAG, etag.parse().unwrap());
    }
    response
}

impl FileServer {
    async fn start() -> FileServer {
        let agency = Arc::new(Agency::default());
        let app = axum::Router::new().route("/data/{name}", axum::routing::get(serve_file)).with_state(agency.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FileServer { base, agency }
    }

    fn put(&self, name: &str, body: &str, etag: Option<&str>) {
        let file = File {
            body: body.as_bytes().to_vec(),
            etag: etag.map(str::to_string),
            content_type: "text/csv",
            status: None,
        };
        self.agency.files.lock().unwrap().insert(name.to_string(), file);
    }

    fn put_file(&self, name: &str, file: File) {
        self.agency.files.lock().unwrap().insert(name.to_string(), file);
    }

    fn url(&self, name: &str) -> String {
        format!("{}/data/{name}", self.base)
    }

    fn requests(&self, name: &str) -> usize {
        self.agency.requests.lock().unwrap().get(name).copied().unwrap_or(0)
    }
}

// ------------------------------------------------------------------------------------------------ helpers

/// A test server whose source runs retry fast and whose scheduler is off (tests start it when they want it).
async fn spawn_for_sources() -> TestApp {
    spawn_with(|c| {
        c.sources.retry_attempts = 3;
        c.sources.retry_delay = Duration::from_millis(20);
        c.sources.timeout = Duration::from_secs(10);
        c.sources.poll_interval = Duration::from_millis(100);
    })
    .await
}

async fn put_source(t: &TestApp, slug: &str, body: Value) -> (StatusCode, Value) {
    let response = t
        .client
        .put(t.url(&format!("/api/v1/datasets/{slug}/source")))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// Starts a run over HTTP and waits for its job to end; returns the job and the run as listed.
async fn run_source(t: &TestApp, slug: &str) -> (Value, Value) {
    let response =
        t.client.post(t.url(&format!("/api/v1/datasets/{slug}/source/run"))).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let job: Value = response.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/jobs/{}", job["id"].as_str().unwrap()));
    let job = wait_job(t, job["id"].as_str().unwrap()).await;
    let (_, runs) = t.get_json(&t.url(&format!("/api/v1/datasets/{slug}/source/runs"))).await;
    let run = runs.as_array().unwrap().iter().find(|r| r["id"] == job["id"]).cloned().expect("the job's run is listed");
    (job, run)
}

async fn wait_job(t: &TestApp, id: &str) -> Value {
    let started = Instant::now();
    loop {
        let (status, job) = t.get_json(&t.url(&format!("/api/v1/jobs/{id}"))).await;
        assert_eq!(status, StatusCode::OK, "{job}");
        if job["status"] == "succeeded" || job["status"] == "failed" {
            return job;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "job never ended: {job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn versions(t: &TestApp, slug: &str) -> Vec<Value> {
    let (_, versions) = t.get_json(&t.url(&format!("/api/v1/datasets/{slug}/versions"))).await;
    versions.as_array().unwrap().clone()
}

async fn new_dataset(t: &TestApp, slug: &str) {
    let (status, body) = t.create_dataset(json!({"slug": slug, "title": slug})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

const V1: &str = "區域,站名,PM2.5\n前鎮區,前鎮,21\n小港區,小港,35\n";
const V2: &str = "區域,站名,PM2.5\n前鎮區,前鎮,18\n小港區,小港,40\n左營區,左營,12\n";

// ------------------------------------------------------------------------------------------------ URL sources

#[tokio::test]
async fn url_source_publishes_only_when_the_content_changes() {
    let agency = FileServer::start().await;
    agency.put("pm25.csv", V1, Some("\"v1\""));
    let t = spawn_for_sources().await;
    new_dataset(&t, "pm25").await;

    let (status, source) = put_source(&t, "pm25", json!({"kind": "url", "url": agency.url("pm25.csv")})).await;
    assert_eq!(status, StatusCode::OK, "{source}");
    assert_eq!((source["kind"].as_str(), source["enabled"].as_bool()), (Some("url"), Some(true)));
    assert_eq!(source["next_run_at"], Value::Null, "no schedule, no next run");
    assert_eq!(source["time_zone"], "Asia/Taipei");

    // First run: version 1, with the agency's file name.
    let (job, run) = run_source(&t, "pm25").await;
    assert_eq!(
        (job["status"].as_str(), job["kind"].as_str(), job["version"].as_i64()),
        (Some("succeeded"), Some("source_run"), Some(1))
    );
    assert_eq!(
        (run["status"].as_str(), run["http_status"].as_u64(), run["version"].as_i64()),
        (Some("new_version"), Some(200), Some(1))
    );
    assert_eq!(run["bytes"].as_u64(), Some(V1.len() as u64));
    assert_eq!((run["attempts"].as_u64(), run["trigger"].as_str()), (Some(1), Some("manual")));
    assert!(run["started_at"].is_string() && run["finished_at"].is_string());
    let (_, v1) = t.get_json(&t.url("/api/v1/datasets/pm25/versions/1")).await;
    assert_eq!(v1["original"]["filename"], "pm25.csv");
    let (_, rows) = t.get_json(&t.url_with("/api/v1/datasets/pm25/rows", &[("站名", "小港")])).await;
    assert_eq!(rows["rows"][0]["PM2.5"], 35);
    let (_, source) = t.get_json(&t.url("/api/v1/datasets/pm25/source")).await;
    assert_eq!(source["etag"], "\"v1\"");
    assert_eq!(source["last_run"]["status"], "new_version");

    // Same ETag: the conditional GET answers 304, nothing is published.
    let (job, run) = run_source(&t, "pm25").await;
    assert_eq!(job["status"], "succeeded");
    assert_eq!((run["status"].as_str(), run["http_status"].as_u64()), (Some("unchanged"), Some(304)));
    assert_eq!(agency.agency.not_modified.load(Ordering::SeqCst), 1);
    assert_eq!(versions(&t, "pm25").await.len(), 1);

    // New content: version 2.
    agency.put("pm25.csv", V2, Some("\"v2\""));
    let (_, run) = run_source(&t, "pm25").await;
    assert_eq!((run["status"].as_str(), run["version"].as_i64()), (Some("new_version"), Some(2)));
    let (_, rows) = t.get_json(&t.url("/api/v1/datasets/pm25/rows")).await;
    assert_eq!(rows["total"], 3);

    // Same bytes under a new ETag: a full download, but the SHA-256 equals the current original's → unchanged.
    agency.put("pm25.csv", V2, Some("\"v2-again\""));
    let (_, run) = run_source(&t, "pm25").await;
    assert_eq!((run["status"].as_str(), run["http_status"].as_u64()), (Some("unchanged"), Some(200)));
    assert_eq!(run["version"], Value::Null);
    assert_eq!(versions(&t, "pm25").await.len(), 2);
    let (_, source) = t.get_json(&t.url("/api/v1/datasets/pm25/source")).await;
    assert_eq!(source["etag"], "\"v2-again\"", "the new validators are kept for the next conditional GET");

    // The runs, newest first.
    let (_, runs) = t.get_json(&t.url_with("/api/v1/datasets/pm25/source/runs", &[("limit", "10")])).await;
    let statuses: Vec<&str> = runs.as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["unchanged", "new_version", "unchanged", "new_version"]);
    assert_eq!(agency.requests("pm25.csv"), 4);
}

/// The national portal's `linkable` and `downloadable` checks judge a URL source by its real fetches: the run that
/// made the version (no second download from the agency), and an explicit re-check that tries the address again.
#[tokio::test]
async fn link_checks_try_the_source_address_for_real() {
    let agency = FileServer::start().await;
    agency.put("links.csv", V1, None);
    let t = spawn_for_sources().await;
    new_dataset(&t, "links").await;
    let (status, _) = put_source(&t, "links", json!({"kind": "url", "url": agency.url("links.csv")})).await;
    assert_eq!(status, StatusCode::OK);
    let (job, _) = run_source(&t, "links").await;
    assert_eq!(job["version"], 1, "{job}");
    let report = wait_report(&t, "links").await;
    let outcome = |report: &Value, code: &str| {
        report["checks"].as_array().unwrap().iter().find(|c| c["code"] == code).unwrap()["outcome"].clone()
    };
    assert_eq!(outcome(&report, "linkable"), "pass", "{report}");
    assert_eq!(outcome(&report, "downloadable"), "pass", "{report}");
    let fetched = agency.requests("links.csv");
    assert_eq!(fetched, 1, "the checks use the run's own fetch, not another download");

    // The agency's file disappears: the next check finds the address broken, although version 1 still serves.
    agency.put_file(
        "links.csv",
        File { body: b"gone".to_vec(), etag: None, content_type: "text/plain", status: Some(404) },
    );
    // The CLI tries the address, served by this very test process: run it off the test's runtime thread.
    let mut command = tapwater_cli(&t);
    command.args(["quality", "links", "--recheck", "--json"]);
    let recheck = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    assert!(!recheck.status.success(), "a broken link is an error");
    let report: Value = serde_json::from_slice(&recheck.stdout).unwrap();
    assert!(agency.requests("links.csv") > fetched, "the address was tried again");
    assert_eq!(outcome(&report, "linkable"), "fail", "{report}");
    assert_eq!(outcome(&report, "downloadable"), "fail", "{report}");
    let broken: Vec<&Value> =
        report["findings"].as_array().unwrap().iter().filter(|f| f["code"] == "linkable").collect();
    assert_eq!(broken.len(), 1, "{report}");
    assert_eq!(broken[0]["severity"], "error");
    assert!(broken[0]["message"].as_str().unwrap().contains("404"), "{}", broken[0]);
    let links_valid = report["badge"]["criteria"].as_array().unwrap().iter().find(|c| c["name"] == "links_valid");
    assert_eq!(links_valid.unwrap()["met"], false);
    let (_, rows) = t.get_json(&t.url("/api/v1/datasets/links/rows")).await;
    assert_eq!(rows["total"], 2, "the published version keeps serving");
}

/// The quality report once its checks ran.
async fn wait_report(t: &TestApp, slug: &str) -> Value {
    let started = Instant::now();
    loop {
        let (status, report) = t.get_json(&t.url(&format!("/api/v1/datasets/{slug}/quality"))).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        if report["status"] == "ready" {
            return report;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "checks never finished: {report}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let agency = FileServer::start().await;
    agency.put("aqi.csv", V1, Some("\"a\""));
    let t = spawn_for_sources().await;
    new_dataset(&t, "aqi").await;
    put_source(&t, "aqi", json!({"kind": "url", "url": agency.url("aqi.csv")})).await;
    agency.agency.fail_next.store(2, Ordering::SeqCst);
    let (job, run) = run_source(&t, "aqi").await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(
        (run["status"].as_str(), run["attempts"].as_u64(), run["version"].as_i64()),
        (Some("new_version"), Some(3), Some(1))
    );
    assert_eq!(agency.requests("aqi.csv"), 3);

    // Always 500: the run gives up after the configured attempts and says so.
    agency.put_file(
        "aqi.csv",
        File { body: b"down".to_vec(), etag: None, content_type: "text/plain", status: Some(503) },
    );
    let (job, run) = run_source(&t, "aqi").await;
    assert_eq!(job["status"], "failed");
    assert_eq!(job["error"]["code"], "source_http_error");
    assert_eq!((run["http_status"].as_u64(), run["attempts"].as_u64()), (Some(503), Some(3)));
    assert_eq!(run["error"]["code"], "source_http_error");
    assert!(run["error"]["message"].as_str().unwrap().contains("503"), "{run}");
    // The dataset keeps serving version 1.
    let (status, rows) = t.get_json(&t.url("/api/v1/datasets/aqi/rows")).await;
    assert_eq!((status, rows["total"].as_u64()), (StatusCode::OK, Some(2)));
}

#[tokio::test]
async fn dead_sources_are_recorded_as_failed_with_the_reason() {
    let agency = FileServer::start().await;
    let t = spawn_for_sources().await;

    // Connection refused: a port nobody listens on any more.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    new_dataset(&t, "refused").await;
    put_source(&t, "refused", json!({"kind": "url", "url": format!("http://{closed}/x.csv")})).await;
    let (job, run) = run_source(&t, "refused").await;
    assert_eq!((job["status"].as_str(), job["error"]["code"].as_str()), (Some("failed"), Some("source_unreachable")));
    assert_eq!(
        (run["status"].as_str(), run["attempts"].as_u64()),
        (Some("failed"), Some(3)),
        "network errors are retried"
    );
    assert_eq!(run["http_status"], Value::Null);
    let message = run["error"]["message"].as_str().unwrap();
    assert!(message.contains("127.0.0.1") && message.to_lowercase().contains("refused"), "{message}");

    // 404: not retried, recorded with the status.
    new_dataset(&t, "gone").await;
    put_source(&t, "gone", json!({"kind": "url", "url": agency.url("missing.csv")})).await;
    let (_, run) = run_source(&t, "gone").await;
    assert_eq!((run["status"].as_str(), run["http_status"].as_u64()), (Some("failed"), Some(404)));
    assert_eq!((run["error"]["code"].as_str(), run["attempts"].as_u64()), (Some("source_http_error"), Some(1)));

    // An HTML error page served with 200 where a CSV was expected.
    agency.put_file(
        "page.csv",
        File {
            body: "<!DOCTYPE html><html><body>系統維護中</body></html>".into(),
            etag: None,
            content_type: "text/html",
            status: None,
        },
    );
    new_dataset(&t, "maintenance").await;
    put_source(&t, "maintenance", json!({"kind": "url", "url": agency.url("page.csv")})).await;
    let (_, run) = run_source(&t, "maintenance").await;
    assert_eq!((run["status"].as_str(), run["http_status"].as_u64()), (Some("failed"), Some(200)));
    assert_eq!(run["error"]["code"], "source_http_error");
    assert!(versions(&t, "maintenance").await.is_empty());

    // A file that does not ingest fails with the ingestion error.
    agency.put("broken.csv", "a,b\n1,2\n1,2,3\n", None);
    new_dataset(&t, "broken").await;
    put_source(&t, "broken", json!({"kind": "url", "url": agency.url("broken.csv")})).await;
    let (_, run) = run_source(&t, "broken").await;
    assert_eq!(run["status"], "failed");
    assert_eq!(run["error"]["code"], "malformed_file", "{run}");
}

#[tokio::test]
async fn sources_are_validated_authorized_and_removable() {
    let t = spawn_for_sources().await;
    new_dataset(&t, "src").await;
    let (status, body) = t.get_json(&t.url("/api/v1/datasets/src/source")).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "source_not_found");
    let (status, body) = t.get_json(&t.url("/api/v1/datasets/nope/source")).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "dataset_not_found");
    // Writes need the admin token.
    let anonymous = t
        .client
        .put(t.url("/api/v1/datasets/src/source"))
        .json(&json!({"kind": "url", "url": "https://x.tw/a.csv"}))
        .send()
        .await
        .unwrap();
    let status = anonymous.status();
    assert_error(status, &anonymous.json().await.unwrap(), StatusCode::UNAUTHORIZED, "unauthorized");
    let anonymous_run = t.client.post(t.url("/api/v1/datasets/src/source/run")).send().await.unwrap();
    assert_eq!(anonymous_run.status(), StatusCode::UNAUTHORIZED);
    for (body, param) in [
        (json!({"kind": "url", "url": "ftp://x.tw/a.csv"}), "url"),
        (json!({"kind": "url"}), "url"),
        (json!({"kind": "url", "url": "https://x.tw/a.csv", "schedule": "every day"}), "schedule"),
        (json!({"kind": "sql", "sql": {"connection": "oracle://u:pw@h/d", "query": "SELECT 1"}}), "sql.connection"),
        (
            json!({"kind": "sql", "sql": {"connection": "postgres://h/d", "query": "SELECT 1; DROP TABLE t"}}),
            "sql.query",
        ),
    ] {
        let (status, error) = put_source(&t, "src", body.clone()).await;
        let error = assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_source");
        assert_eq!(error["param"], param, "{body}");
    }
    let (status, error) = put_source(&t, "src", json!({"kind": "url", "href": "https://x.tw"})).await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_body");
    let (status, _) = put_source(&t, "src", json!({"kind": "url", "url": "https://x.tw/a.csv"})).await;
    assert_eq!(status, StatusCode::OK);
    let delete = t.client.delete(t.url("/api/v1/datasets/src/source")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(delete.status(), StatusCode::NO_CONTENT);
    let again = t.client.delete(t.url("/api/v1/datasets/src/source")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    // The routes are in the OpenAPI document.
    let (_, spec) = t.get_json(&t.url("/api/v1/openapi.json")).await;
    for path in
        ["/api/v1/datasets/{slug}/source", "/api/v1/datasets/{slug}/source/run", "/api/v1/datasets/{slug}/source/runs"]
    {
        assert!(spec["paths"].get(path).is_some(), "{path} is documented");
    }
}

// ------------------------------------------------------------------------------------------------ schedules

#[tokio::test]
async fn a_cron_schedule_is_stored_its_next_run_computed_and_each_slot_taken_once() {
    let agency = FileServer::start().await;
    agency.put("daily.csv", V1, Some("\"d1\""));
    let t = spawn_for_sources().await;
    new_dataset(&t, "daily").await;
    let before = chrono::Utc::now();
    let (status, source) =
        put_source(&t, "daily", json!({"kind": "url", "url": agency.url("daily.csv"), "schedule": "* * * * *"})).await;
    assert_eq!(status, StatusCode::OK, "{source}");
    assert_eq!(source["schedule"], "* * * * *");
    let next: chrono::DateTime<chrono::Utc> = source["next_run_at"].as_str().unwrap().parse().unwrap();
    // Every minute: the next whole minute after now.
    assert!(next > before && next <= before + chrono::Duration::seconds(60), "{next} after {before}");
    assert_eq!(next.timestamp() % 60, 0);
    assert_eq!(next.timestamp_subsec_millis(), 0);

    // A clock we control: nothing is due before the slot; at the slot, exactly one run is queued, however often asked.
    assert_eq!(t.app.enqueue_due_sources(next - chrono::Duration::seconds(1)).await.unwrap(), 0);
    let at = next + chrono::Duration::seconds(1);
    assert_eq!(t.app.enqueue_due_sources(at).await.unwrap(), 1);
    assert_eq!(t.app.enqueue_due_sources(at).await.unwrap(), 0);
    let (_, source) = t.get_json(&t.url("/api/v1/datasets/daily/source")).await;
    let moved: chrono::DateTime<chrono::Utc> = source["next_run_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(moved, next + chrono::Duration::seconds(60));
    let (_, runs) = t.get_json(&t.url("/api/v1/datasets/daily/source/runs")).await;
    assert_eq!(runs.as_array().unwrap().len(), 1);
    let run = &runs[0];
    assert_eq!((run["trigger"].as_str(), run["status"].as_str()), (Some("schedule"), Some("queued")));
    let slot: chrono::DateTime<chrono::Utc> = run["scheduled_for"].as_str().unwrap().parse().unwrap();
    assert_eq!(slot, next);

    // The scheduler loop picks the queued run up (its own clock finds nothing else due).
    let scheduler = t.app.start_scheduler().expect("scheduler on");
    let job = wait_job(&t, run["id"].as_str().unwrap()).await;
    scheduler.abort();
    assert_eq!((job["status"].as_str(), job["version"].as_i64()), (Some("succeeded"), Some(1)), "{job}");
    assert_eq!(agency.requests("daily.csv"), 1);

    // Disabled: no next run, nothing due.
    let (_, source) = put_source(
        &t,
        "daily",
        json!({"kind": "url", "url": agency.url("daily.csv"), "schedule": "* * * * *", "enabled": false}),
    )
    .await;
    assert_eq!((source["enabled"].as_bool(), &source["next_run_at"]), (Some(false), &Value::Null));
    assert_eq!(t.app.enqueue_due_sources(at + chrono::Duration::days(1)).await.unwrap(), 0);
    assert_eq!(source["etag"], "\"d1\"", "same URL: validators kept");
}

/// A `tapwater serve` process on the test's data directory and catalog; killed on drop. Its stderr goes to a file.
struct ServeProcess {
    child: Child,
    stderr: std::path::PathBuf,
}

impl ServeProcess {
    fn start(t: &TestApp, name: &str, extra_env: &[(&str, &str)]) -> ServeProcess {
        let stderr = t.dir.path().join(format!("{name}.stderr"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tapwater"));
        cmd.args(["serve", "--addr", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(t.data_dir())
            .args(["--scheduler-poll-secs", "0.1", "--source-retry-delay-secs", "0.05", "--source-attempts", "2"])
            .env("TAPWATER_ADMIN_TOKEN", TOKEN)
            .env("TAPWATER_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap());
        match &t.config.database_url {
            Some(url) => cmd.arg("--database-url").arg(url),
            None => cmd.env_remove("TAPWATER_DATABASE_URL"),
        };
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        ServeProcess { child: cmd.spawn().unwrap(), stderr }
    }

    /// The address the server printed once listening.
    fn base(&self) -> String {
        let started = Instant::now();
        loop {
            let text = std::fs::read_to_string(&self.stderr).unwrap_or_default();
            if let Some(rest) = text.split("listening on ").nth(1) {
                return rest.split_whitespace().next().unwrap().to_string();
            }
            assert!(started.elapsed() < Duration::from_secs(60), "server did not start: {text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two `serve` processes on one catalog race for every schedule slot and every queued job: each slot gives one run
/// and each run fetches once — never twice.
#[tokio::test]
async fn two_serve_processes_run_each_scheduled_run_exactly_once() {
    let agency = FileServer::start().await;
    let t = spawn_for_sources().await;
    let slugs = ["s1", "s2", "s3", "s4"];
    for slug in slugs {
        agency.put(&format!("{slug}.csv"), V1, Some("\"same\""));
        new_dataset(&t, slug).await;
        // Every second (the 6-field form, seconds first).
        let (status, body) = put_source(
            &t,
            slug,
            json!({"kind": "url", "url": agency.url(&format!("{slug}.csv")), "schedule": "* * * * * *"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let a = ServeProcess::start(&t, "a", &[]);
    let b = ServeProcess::start(&t, "b", &[]);
    a.base();
    b.base();
    tokio::time::sleep(Duration::from_secs(5)).await;
    for slug in slugs {
        put_source(
            &t,
            slug,
            json!({"kind": "url", "url": agency.url(&format!("{slug}.csv")), "schedule": "* * * * * *", "enabled": false}),
        )
        .await;
    }
    // Let the runs in flight finish.
    let started = Instant::now();
    let all_runs = loop {
        let mut all = Vec::new();
        for slug in slugs {
            let (_, runs) =
                t.get_json(&t.url_with(&format!("/api/v1/datasets/{slug}/source/runs"), &[("limit", "200")])).await;
            all.push((slug, runs.as_array().unwrap().clone()));
        }
        let busy = all.iter().flat_map(|(_, runs)| runs).any(|r| r["status"] == "queued" || r["status"] == "running");
        if !busy {
            break all;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "runs never finished");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let a_log = a.stderr();
    let b_log = b.stderr();
    drop((a, b));
    let mut total = 0;
    for (slug, runs) in &all_runs {
        assert!(!runs.is_empty(), "{slug} never ran; logs:\n{a_log}\n{b_log}");
        let slots: HashSet<&str> = runs.iter().map(|r| r["scheduled_for"].as_str().unwrap()).collect();
        assert_eq!(slots.len(), runs.len(), "{slug}: a slot ran twice: {runs:?}");
        assert!(runs.iter().all(|r| r["trigger"] == "schedule" && r["attempts"] == 1), "{runs:?}");
        // One request per run: no run was carried out by both processes.
        assert_eq!(agency.requests(&format!("{slug}.csv")), runs.len(), "{slug}: {runs:?}");
        let published = runs.iter().filter(|r| r["status"] == "new_version").count();
        assert_eq!(published, 1, "{slug}: first run publishes, later ones are 304s: {runs:?}");
        assert_eq!(versions(&t, slug).await.len(), 1);
        total += runs.len();
    }
    assert!(total >= slugs.len() * 2, "the schedule fired repeatedly ({total} runs)");
    // Both schedulers were at work.
    assert!(a_log.contains("source scheduler started") && b_log.contains("source scheduler started"));
}

// ------------------------------------------------------------------------------------------------ SQL sources

/// A table with the types agencies keep: text (Chinese), integers, exact decimals, dates, timestamps, booleans, NULL.
const PG_TABLE: &str = "CREATE TABLE clinics (id integer PRIMARY KEY, 區域 text NOT NULL, name text, beds integer, \
     fee numeric(10,2), opened date, checked timestamp, open_now boolean)";
const PG_ROWS: &str = "INSERT INTO clinics VALUES \
     (1, '苓雅區', '苓雅衛生所', 12, 150.50, '2015-08-01', '2024-01-02 03:04:05', true), \
     (2, '三民區', '三民衛生所', NULL, 99.00, '2001-12-31', NULL, false), \
     (3, '鳳山區', NULL, 7, NULL, NULL, '2023-06-30 23:59:59', NULL)";

#[tokio::test]
async fn sql_source_on_postgresql_publishes_the_query_and_never_shows_the_password() {
    let Ok(admin) = std::env::var("TAPWATER_TEST_POSTGRES_URL") else {
        eprintln!("skipped: TAPWATER_TEST_POSTGRES_URL is not set (the SQL source test needs a PostgreSQL server)");
        return;
    };
    let database = tapwater_store::testing::fresh_postgres_database(&admin).await.unwrap();
    let mut conn = sqlx::PgConnection::connect(&database).await.unwrap();
    sqlx::raw_sql(PG_TABLE).execute(&mut conn).await.unwrap();
    sqlx::raw_sql(PG_ROWS).execute(&mut conn).await.unwrap();
    // The local server trusts 127.0.0.1, so it accepts any password: the point is that this one never shows.
    const PASSWORD: &str = "Sup3r-Secret-pw";
    let mut with_password = reqwest::Url::parse(&database).unwrap();
    with_password.set_password(Some(PASSWORD)).unwrap();
    let connection = with_password.to_string();

    let t = spawn_for_sources().await;
    let server = ServeProcess::start(&t, "sql", &[("TAPWATER_LOG", "debug"), ("HR_DB", &connection)]);
    let base = server.base();
    let get = |path: &str| {
        let (client, url) = (t.client.clone(), format!("{base}{path}"));
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let mut seen: Vec<String> = Vec::new();
    let create = t
        .client
        .post(format!("{base}/api/v1/datasets"))
        .bearer_auth(TOKEN)
        .json(&json!({"slug": "clinics", "title": "衛生所"}))
        .send()
        .await
        .unwrap();
    assert_eq!(create.status(), StatusCode::CREATED);
    let query = "SELECT id, 區域, name, beds, fee, opened, checked, open_now FROM clinics ORDER BY id";
    let put = t
        .client
        .put(format!("{base}/api/v1/datasets/clinics/source"))
        .bearer_auth(TOKEN)
        .json(&json!({"kind": "sql", "sql": {"connection": connection, "query": query}}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    let body: Value = serde_json::from_str(&put.text().await.unwrap()).unwrap();
    seen.push(body.to_string());
    let shown = body["sql"]["connection"].as_str().unwrap();
    assert!(shown.contains(":***@"), "{shown}");
    assert_eq!(body["sql"]["query"], query);
    // Without the admin token, the public sees that the dataset comes from a database, not which or how.
    let public: Value =
        t.client.get(format!("{base}/api/v1/datasets/clinics/source")).send().await.unwrap().json().await.unwrap();
    assert_eq!((&public["kind"], &public["sql"]), (&json!("sql"), &Value::Null), "{public}");
    let with_token: Value = t
        .client
        .get(format!("{base}/api/v1/datasets/clinics/source"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(with_token["sql"]["query"], query);

    let run_and_wait = |path: &'static str| {
        let (client, base) = (t.client.clone(), base.clone());
        async move {
            let response = client.post(format!("{base}{path}")).bearer_auth(TOKEN).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::ACCEPTED);
            let job: Value = response.json().await.unwrap();
            let id = job["id"].as_str().unwrap().to_string();
            let started = Instant::now();
            loop {
                let text = client.get(format!("{base}/api/v1/jobs/{id}")).send().await.unwrap().text().await.unwrap();
                let job: Value = serde_json::from_str(&text).unwrap();
                if job["status"] == "succeeded" || job["status"] == "failed" {
                    return (job, text);
                }
                assert!(started.elapsed() < Duration::from_secs(60), "{text}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let (job, text) = run_and_wait("/api/v1/datasets/clinics/source/run").await;
    seen.push(text);
    assert_eq!((job["status"].as_str(), job["version"].as_i64()), (Some("succeeded"), Some(1)), "{job}");
    let rows: Value = serde_json::from_str(&get("/api/v1/datasets/clinics/rows?_sort=id").await).unwrap();
    assert_eq!(rows["total"], 3);
    let first = &rows["rows"][0];
    assert_eq!(
        (first["區域"].as_str(), first["name"].as_str(), first["beds"].as_i64()),
        (Some("苓雅區"), Some("苓雅衛生所"), Some(12))
    );
    assert_eq!(first["fee"].as_f64(), Some(150.5));
    assert_eq!(first["opened"], "2015-08-01");
    assert_eq!(first["open_now"], true);
    let second = &rows["rows"][1];
    assert_eq!((&second["beds"], second["open_now"].as_bool()), (&Value::Null, Some(false)), "NULL → empty → null");
    let third = &rows["rows"][2];
    assert_eq!((third["區域"].as_str(), &third["opened"], &third["fee"]), (Some("鳳山區"), &Value::Null, &Value::Null));
    // A query's NULL stays NULL: no fill-down from the row above, as a grouped spreadsheet column would get.
    assert_eq!(third["name"], Value::Null);

    // Same data: unchanged by hash, no version 2.
    let (job, text) = run_and_wait("/api/v1/datasets/clinics/source/run").await;
    seen.push(text);
    assert_eq!(job["version"], Value::Null);
    let runs_text = get("/api/v1/datasets/clinics/source/runs").await;
    let runs: Value = serde_json::from_str(&runs_text).unwrap();
    assert_eq!(runs[0]["status"], "unchanged");
    seen.push(runs_text);

    // A query the database refuses: failed with the database's own message, and still no password.
    let put = t
        .client
        .put(format!("{base}/api/v1/datasets/clinics/source"))
        .bearer_auth(TOKEN)
        .json(&json!({"kind": "sql", "sql": {"connection": connection, "query": "SELECT nope FROM clinics"}}))
        .send()
        .await
        .unwrap();
    seen.push(put.text().await.unwrap());
    let (job, text) = run_and_wait("/api/v1/datasets/clinics/source/run").await;
    seen.push(text);
    assert_eq!(job["error"]["code"], "source_query_failed", "{job}");
    assert!(job["error"]["message"].as_str().unwrap().contains("nope"), "{job}");
    // A write is refused by the read-only transaction even when it hides in a CTE.
    let put = t
        .client
        .put(format!("{base}/api/v1/datasets/clinics/source"))
        .bearer_auth(TOKEN)
        .json(&json!({"kind": "sql", "sql": {"connection": connection,
            "query": "WITH gone AS (DELETE FROM clinics RETURNING id) SELECT id FROM gone"}}))
        .send()
        .await
        .unwrap();
    seen.push(put.text().await.unwrap());
    let (job, text) = run_and_wait("/api/v1/datasets/clinics/source/run").await;
    seen.push(text);
    assert_eq!(job["error"]["code"], "source_query_failed", "{job}");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM clinics").fetch_one(&mut conn).await.unwrap();
    assert_eq!(count, 3, "nothing was deleted");
    // An unreachable database, with the password in the URL.
    let mut closed = with_password.clone();
    closed.set_port(Some(1)).unwrap();
    let put = t
        .client
        .put(format!("{base}/api/v1/datasets/clinics/source"))
        .bearer_auth(TOKEN)
        .json(&json!({"kind": "sql", "sql": {"connection": closed.to_string(), "query": query}}))
        .send()
        .await
        .unwrap();
    seen.push(put.text().await.unwrap());
    let (job, text) = run_and_wait("/api/v1/datasets/clinics/source/run").await;
    seen.push(text);
    assert_eq!(job["error"]["code"], "source_unreachable", "{job}");

    // The secret from the server's environment: `env:NAME` is stored and shown, the value never.
    let put = t
        .client
        .put(format!("{base}/api/v1/datasets/clinics/source"))
        .bearer_auth(TOKEN)
        .json(&json!({"kind": "sql", "sql": {"connection": "env:HR_DB", "query": query}}))
        .send()
        .await
        .unwrap();
    let text = put.text().await.unwrap();
    assert!(text.contains("env:HR_DB"), "{text}");
    seen.push(text);
    let (job, text) = run_and_wait("/api/v1/datasets/clinics/source/run").await;
    seen.push(text);
    assert_eq!(job["status"], "succeeded", "{job}");
    for path in
        ["/api/v1/datasets/clinics/source", "/api/v1/datasets/clinics/source/runs?limit=50", "/api/v1/datasets/clinics"]
    {
        seen.push(get(path).await);
    }
    let stderr = server.stderr();
    drop(server);
    for text in &seen {
        assert!(!text.contains(PASSWORD), "password in a response: {text}");
    }
    assert!(stderr.contains("source run"), "the server logged the runs: {stderr}");
    assert!(!stderr.contains(PASSWORD), "password in the server's log:\n{stderr}");
    conn.close().await.unwrap();
    tapwater_store::testing::drop_postgres_database(&admin, &database).await.unwrap();
}

#[tokio::test]
async fn sql_source_on_mariadb_publishes_the_query() {
    let Ok(url) = std::env::var("TAPWATER_TEST_MYSQL_URL") else {
        eprintln!("skipped: TAPWATER_TEST_MYSQL_URL is not set (e.g. mysql://root@127.0.0.1:3306/test)");
        return;
    };
    let table = format!("tapwater_clinics_{:016x}", rand_u64());
    let mut conn = sqlx::MySqlConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {table} (id INT PRIMARY KEY, 區域 VARCHAR(20) NOT NULL, beds INT NULL, fee DECIMAL(10,2) NULL, \
         opened DATE NULL, checked DATETIME NULL) CHARACTER SET utf8mb4"
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {table} VALUES (1, '苓雅區', 12, 150.50, '2015-08-01', '2024-01-02 03:04:05'), \
         (2, '三民區', NULL, NULL, NULL, NULL)"
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    let t = spawn_for_sources().await;
    new_dataset(&t, "clinics").await;
    let mariadb = url.replacen("mysql://", "mariadb://", 1);
    let (status, body) = put_source(
        &t,
        "clinics",
        json!({"kind": "sql", "sql": {"connection": mariadb, "query": format!("SELECT * FROM {table} ORDER BY id")}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (job, run) = run_source(&t, "clinics").await;
    assert_eq!((job["status"].as_str(), run["version"].as_i64()), (Some("succeeded"), Some(1)), "{job}");
    let (_, rows) = t.get_json(&t.url_with("/api/v1/datasets/clinics/rows", &[("_sort", "id")])).await;
    assert_eq!(rows["total"], 2);
    let first = &rows["rows"][0];
    assert_eq!(
        (first["區域"].as_str(), first["beds"].as_i64(), first["fee"].as_f64()),
        (Some("苓雅區"), Some(12), Some(150.5))
    );
    assert_eq!(first["opened"], "2015-08-01");
    assert_eq!(rows["rows"][1]["beds"], Value::Null);
    let (_, run) = run_source(&t, "clinics").await;
    assert_eq!(run["status"], "unchanged");
    // A syntax error comes back with MariaDB's message.
    put_source(
        &t,
        "clinics",
        json!({"kind": "sql", "sql": {"connection": url, "query": format!("SELEC * FROM {table}")}}),
    )
    .await;
    let (_, run) = run_source(&t, "clinics").await;
    assert_eq!(run["error"]["code"], "source_query_failed", "{run}");
    assert!(run["error"]["message"].as_str().unwrap().contains("SQL syntax"), "{run}");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP TABLE {table}"))).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos());
    hasher.finish()
}

// ------------------------------------------------------------------------------------------------ CLI

fn tapwater(t: &TestApp) -> Command {
    let mut cmd = tapwater_cli(t);
    cmd.args(["--source-retry-delay-secs", "0.01"]);
    cmd
}

#[tokio::test]
async fn cli_sets_shows_runs_and_lists_a_source() {
    let agency = FileServer::start().await;
    agency.put("stops.csv", V1, Some("\"s1\""));
    let t = spawn_for_sources().await;
    let set = tapwater(&t)
        .args([
            "sources",
            "set",
            "stops",
            "--url",
            &agency.url("stops.csv"),
            "--schedule",
            "0 3 * * *",
            "--title",
            "站點",
        ])
        .output()
        .unwrap();
    assert!(set.status.success(), "{}", String::from_utf8_lossy(&set.stderr));
    assert!(String::from_utf8_lossy(&set.stdout).contains("next run"), "{}", String::from_utf8_lossy(&set.stdout));
    let show = tapwater(&t).args(["sources", "show", "stops"]).output().unwrap();
    let shown: Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!((shown["schedule"].as_str(), shown["kind"].as_str()), (Some("0 3 * * *"), Some("url")));

    // Blocking tokio threads are fine here: the agency is served by the test's runtime on other workers.
    let run = tokio::task::spawn_blocking({
        let mut cmd = tapwater(&t);
        move || cmd.args(["sources", "run", "stops", "--quiet"]).output().unwrap()
    })
    .await
    .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(
        String::from_utf8_lossy(&run.stdout).contains("new version v1"),
        "{}",
        String::from_utf8_lossy(&run.stdout)
    );
    let again = tokio::task::spawn_blocking({
        let mut cmd = tapwater(&t);
        move || cmd.args(["sources", "run", "stops", "--quiet"]).output().unwrap()
    })
    .await
    .unwrap();
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("unchanged (304"),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    let (_, dataset) = t.get_json(&t.url("/api/v1/datasets/stops")).await;
    assert_eq!((dataset["title"].as_str(), dataset["current_version"]["seq"].as_i64()), (Some("站點"), Some(1)));

    // A failing run: exit code ≠ 0 and one line saying why.
    agency
        .put_file("stops.csv", File { body: b"x".to_vec(), etag: None, content_type: "text/plain", status: Some(404) });
    let failed = tokio::task::spawn_blocking({
        let mut cmd = tapwater(&t);
        move || cmd.args(["sources", "run", "stops", "--quiet"]).output().unwrap()
    })
    .await
    .unwrap();
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(lines[0].contains("404") && lines[0].contains("[source_http_error]"), "{stderr}");

    let runs = tapwater(&t).args(["sources", "runs", "stops"]).output().unwrap();
    let listed = String::from_utf8_lossy(&runs.stdout);
    assert_eq!(listed.lines().count(), 4, "header and three runs: {listed}");
    assert!(listed.lines().nth(1).unwrap().contains("failed"), "{listed}");

    let delete = tapwater(&t).args(["sources", "delete", "stops"]).output().unwrap();
    assert!(delete.status.success());
    let missing = tapwater(&t).args(["sources", "run", "stops"]).output().unwrap();
    assert!(String::from_utf8_lossy(&missing.stderr).contains("[source_not_found]"));
}
