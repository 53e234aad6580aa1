//! Starting a real server for a test, and small HTTP helpers.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::Value;
use tapwater_app::{Config, Tapwater};
use tokio::sync::oneshot;

pub const TOKEN: &str = "test-admin-token";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    pub config: Config,
    pub app: Tapwater,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        // A fresh PostgreSQL database per test: drop it, so repeated runs on one server leave nothing behind. Drop
        // cannot await, so a small runtime on its own thread does it (the FORCE option ends our open connections).
        if let (Some(url), Ok(admin)) = (self.config.database_url.clone(), std::env::var("TAPWATER_TEST_POSTGRES_URL"))
        {
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                runtime.block_on(tapwater_store::testing::drop_postgres_database(&admin, &url))
            })
            .join();
        }
    }
}

/// The catalog URL for a new test: a fresh PostgreSQL database when the suite runs on PostgreSQL, else `None`
/// (SQLite in the data directory).
pub async fn test_database_url() -> Option<String> {
    match std::env::var("TAPWATER_TEST_POSTGRES_URL") {
        Ok(admin) if !admin.is_empty() => {
            Some(tapwater_store::testing::fresh_postgres_database(&admin).await.expect("create test database"))
        }
        _ => None,
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        data_dir: dir.path().join("data"),
        database_url: test_database_url().await,
        admin_token: Some(TOKEN.to_string()),
        catalog_refresh: Duration::ZERO,
        ..Config::default()
    };
    // Tests fire many requests from one address; the rate-limit tests turn limits back on.
    config.access.rate_limits.enabled = false;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Links in exports (Data Package resource paths, DCAT download URLs) point at this very server.
    config.access.public_url = format!("http://{addr}");
    adjust(&mut config);
    let app = Tapwater::open(config.clone()).await.expect("open tapwater");
    let (tx, rx) = oneshot::channel::<()>();
    let served = app.clone();
    tokio::spawn(async move {
        tapwater_server::serve(served, listener, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    TestApp { base: format!("http://{addr}"), client: reqwest::Client::new(), dir, config, app, shutdown: Some(tx) }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A URL with query pairs percent-encoded (Chinese column names and values).
    pub fn url_with(&self, path: &str, pairs: &[(&str, &str)]) -> String {
        let mut url = reqwest::Url::parse(&self.url(path)).unwrap();
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in pairs {
                q.append_pair(k, v);
            }
        }
        url.to_string()
    }

    pub async fn get(&self, url: &str) -> Response {
        self.client.get(url).send().await.unwrap()
    }

    pub async fn get_json(&self, url: &str) -> (StatusCode, Value) {
        let response = self.get(url).await;
        let status = response.status();
        let body = response.text().await.unwrap();
        let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
        (status, json)
    }

    pub async fn create_dataset(&self, body: Value) -> (StatusCode, Value) {
        let response =
            self.client.post(self.url("/api/v1/datasets")).bearer_auth(TOKEN).json(&body).send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    pub async fn publish(&self, slug: &str, filename: &str, bytes: impl Into<Vec<u8>>) -> (StatusCode, Value) {
        let response = self
            .client
            .post(self.url_with(&format!("/api/v1/datasets/{slug}/versions"), &[("filename", filename)]))
            .bearer_auth(TOKEN)
            .body(bytes.into())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")))
    }

    /// Creates a dataset and publishes one file into it; panics unless both succeed.
    pub async fn publish_new(&self, slug: &str, filename: &str, bytes: impl Into<Vec<u8>>) -> Value {
        let (status, body) = self.create_dataset(serde_json::json!({"slug": slug, "title": slug})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, version) = self.publish(slug, filename, bytes).await;
        assert_eq!(status, StatusCode::CREATED, "{version}");
        version
    }

    pub fn data_dir(&self) -> PathBuf {
        self.config.data_dir.clone()
    }
}

/// Asserts the tapwater error shape and returns the error object.
pub fn assert_error(status: StatusCode, body: &Value, want_status: StatusCode, want_code: &str) -> Value {
    assert_eq!(status, want_status, "{body}");
    let error = body.get("error").unwrap_or_else(|| panic!("no error object in {body}"));
    assert_eq!(error["code"], want_code, "{body}");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert!(error["docs"].as_str().is_some_and(|d| d.contains(want_code)), "{body}");
    error.clone()
}

/// A small table with Chinese column names and every type.
pub const DISTRICTS_CSV: &str = "\
編號,行政區,日期,時間,發生時間,人數,比例,有效,備註,代碼
1,苓雅區,2020-01-05,08:30,2020-01-05T08:30:00,3,0.25,true,\"含,逗號\",001
2,三民區,2020-02-10,09:00,2020-02-10T09:00:00,0,0.5,false,,002
3,苓雅區,2021-03-15,17:45,2021-03-15T17:45:00,7,1.75,true,中文備註,003
4,鳳山區,2019-12-31,23:59,2019-12-31T23:59:00,,2,false,\"line
break\",004
5,三民區,2022-07-01,00:00,2022-07-01T00:00:00,12,,true,x,005
";

/// `n` rows of a generated table: id, district, value.
pub fn generated_csv(n: usize) -> String {
    let districts = ["苓雅區", "三民區", "鳳山區", "前鎮區", "左營區"];
    let mut out = String::from("id,district,value,score\n");
    for i in 1..=n {
        let value = (i * 7919) % 1000;
        out.push_str(&format!("{i},{},{value},{}.5\n", districts[i % districts.len()], i % 37));
    }
    out
}

/// The `tapwater` binary pointed at the test app's data directory and catalog.
pub fn tapwater_cli(t: &TestApp) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tapwater"));
    cmd.arg("--data-dir").arg(t.data_dir()).env("TAPWATER_LOG", "warn");
    match &t.config.database_url {
        Some(url) => cmd.arg("--database-url").arg(url),
        None => cmd.env_remove("TAPWATER_DATABASE_URL"),
    };
    cmd
}

/// A real file of `crates/ingest/tests/fixtures` (provenance beside it).
pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ingest/tests/fixtures").join(name)
}
