//! Publishing over HTTP: datasets, versions, immutability, failures that lose nothing.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn publish_creates_an_immutable_version_with_schema_and_original() {
    let t = spawn_app().await;
    let (status, dataset) = t
        .create_dataset(json!({
            "slug": "districts", "title": "行政區測試", "description": "測試資料",
            "publisher": "kaohsiung-city", "publisher_name": "高雄市政府", "license": "CC-BY-4.0",
            "frequency": "monthly", "tags": ["測試", "交通"]
        }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{dataset}");
    assert_eq!(dataset["publisher"]["name"], "高雄市政府");
    assert_eq!(dataset["license"], "CC-BY-4.0");
    assert_eq!(dataset["current_version"], serde_json::Value::Null);

    let (status, version) = t.publish("districts", "districts.csv", DISTRICTS_CSV).await;
    assert_eq!(status, StatusCode::CREATED, "{version}");
    assert_eq!(version["seq"], 1);
    assert_eq!(version["row_count"], 5);
    let types: Vec<(String, String)> = version["schema"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap().to_string(), f["type"].as_str().unwrap().to_string()))
        .collect();
    let expect = [
        ("編號", "integer"),
        ("行政區", "text"),
        ("日期", "date"),
        ("時間", "time"),
        ("發生時間", "datetime"),
        ("人數", "integer"),
        ("比例", "decimal"),
        ("有效", "boolean"),
        ("備註", "text"),
        ("代碼", "text"),
    ];
    assert_eq!(types, expect.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>());
    // The original is kept byte for byte, with its SHA-256.
    let sha = version["original"]["sha256"].as_str().unwrap().to_string();
    assert_eq!(sha.len(), 64);
    let original = t.get(&t.url("/api/v1/datasets/districts/download?format=original")).await;
    assert_eq!(original.status(), StatusCode::OK);
    assert_eq!(original.bytes().await.unwrap().as_ref(), DISTRICTS_CSV.as_bytes());

    let (status, detail) = t.get_json(&t.url("/api/v1/datasets/districts")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["current_version"]["seq"], 1);
    assert_eq!(detail["schema"]["fields"][1]["name"], "行政區");
    assert!(detail["links"]["download"]["parquet"].as_str().is_some());
    assert_eq!(detail["versions"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_new_version_replaces_the_table_and_old_versions_stay_readable() {
    let t = spawn_app().await;
    t.publish_new("series", "a.csv", "k,v\na,1\nb,2\n").await;
    let (status, v2) = t.publish("series", "b.csv", "k,v\nc,3\n").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(v2["seq"], 2);
    let (_, current) = t.get_json(&t.url("/api/v1/datasets/series/rows")).await;
    assert_eq!(current["rows"], json!([{"k": "c", "v": 3}]));
    let (_, old) = t.get_json(&t.url("/api/v1/datasets/series/rows?_version=1")).await;
    assert_eq!(old["rows"], json!([{"k": "a", "v": 1}, {"k": "b", "v": 2}]));
    let (_, versions) = t.get_json(&t.url("/api/v1/datasets/series/versions")).await;
    let seqs: Vec<i64> = versions.as_array().unwrap().iter().map(|v| v["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, vec![2, 1]);
    let (status, one) = t.get_json(&t.url("/api/v1/datasets/series/versions/1")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["row_count"], 2);
}

#[tokio::test]
async fn a_bad_file_leaves_the_previous_version_serving() {
    let t = spawn_app().await;
    t.publish_new("stable", "good.csv", "a,b\n1,2\n3,4\n").await;
    // Line 3 has more cells than the header.
    let (status, body) = t.publish("stable", "bad.csv", "a,b\n1,2\n3,4,5\n").await;
    let error = assert_error(status, &body, StatusCode::UNPROCESSABLE_ENTITY, "malformed_file");
    assert!(error["message"].as_str().unwrap().contains('3'), "message names the line: {error}");
    // A PDF is not a table: 415.
    let (status, body) = t.publish("stable", "report.csv", b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n1 0 obj".to_vec()).await;
    assert_error(status, &body, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_format");
    // A truncated workbook: 422 saying it is damaged, not a panic.
    let xlsx = include_bytes!("../../../ingest/tests/fixtures/cec_2022_election_type_codes.xlsx");
    let (status, body) = t.publish("stable", "codes.xlsx", xlsx[..xlsx.len() / 2].to_vec()).await;
    let error = assert_error(status, &body, StatusCode::UNPROCESSABLE_ENTITY, "malformed_file");
    assert!(error["message"].as_str().unwrap().contains("damaged"), "{error}");
    // XML declaring an external entity is refused; the entity is never resolved.
    let xxe = "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<r><i><a>&x;</a></i><i><a>2</a></i></r>";
    let (status, body) = t.publish("stable", "feed.xml", xxe).await;
    let error = assert_error(status, &body, StatusCode::UNPROCESSABLE_ENTITY, "malformed_file");
    assert!(!error["message"].as_str().unwrap().contains("root:"), "{error}");
    // Rows with more non-empty cells than the header name the line.
    let (status, body) = t.publish("stable", "ragged.csv", "a,b\n1,2\n3,4\n5,6,7,8\n").await;
    let error = assert_error(status, &body, StatusCode::UNPROCESSABLE_ENTITY, "malformed_file");
    assert!(error["message"].as_str().unwrap().contains("line 4"), "{error}");
    // Empty file.
    let (status, body) = t.publish("stable", "empty.csv", Vec::new()).await;
    assert_error(status, &body, StatusCode::UNPROCESSABLE_ENTITY, "empty_file");

    let (_, rows) = t.get_json(&t.url("/api/v1/datasets/stable/rows")).await;
    assert_eq!(rows["total"], 2);
    let (_, versions) = t.get_json(&t.url("/api/v1/datasets/stable/versions")).await;
    assert_eq!(versions.as_array().unwrap().len(), 1, "no half-written version is visible");
    // Nothing is left behind in the version store for the failed attempts.
    let files = t.data_dir().join("files").join("versions");
    assert_eq!(std::fs::read_dir(files).unwrap().count(), 1);
}

#[tokio::test]
async fn multipart_upload_and_json_formats() {
    let t = spawn_app().await;
    t.create_dataset(json!({"slug": "multi"})).await;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(br#"[{"name":"a","n":1},{"name":"b","n":2.5,"extra":true}]"#.to_vec())
            .file_name("things.json"),
    );
    let response = t
        .client
        .post(t.url("/api/v1/datasets/multi/versions"))
        .bearer_auth(TOKEN)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let version: serde_json::Value = response.json().await.unwrap();
    assert_eq!(version["original"]["filename"], "things.json");
    assert_eq!(version["original"]["format"], "json");
    let (_, rows) = t.get_json(&t.url("/api/v1/datasets/multi/rows")).await;
    assert_eq!(rows["rows"][0]["name"], "a");
    assert_eq!(rows["rows"][0]["n"].as_f64(), Some(1.0));
    assert_eq!(rows["rows"][0]["extra"], serde_json::Value::Null);
    assert_eq!(rows["rows"][1], json!({"name":"b","n":2.5,"extra":true}));

    // NDJSON as a raw body.
    t.create_dataset(json!({"slug": "lines"})).await;
    let (status, _) = t.publish("lines", "x.ndjson", "{\"a\":1}\n\n{\"a\":2}\n").await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, rows) = t.get_json(&t.url("/api/v1/datasets/lines/rows")).await;
    assert_eq!(rows["total"], 2);
}

#[tokio::test]
async fn uploads_over_the_limit_get_413_and_change_nothing() {
    let t = spawn_with(|c| c.max_upload_bytes = 1000).await;
    t.publish_new("small", "s.csv", "a\n1\n").await;
    let big = format!("a\n{}", "1\n".repeat(1000));
    let (status, body) = t.publish("small", "big.csv", big.clone()).await;
    assert_error(status, &body, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    // Without Content-Length (chunked), the limit still holds while streaming.
    let stream = futures_stream(big.into_bytes());
    let response = t
        .client
        .post(t.url("/api/v1/datasets/small/versions"))
        .bearer_auth(TOKEN)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let (_, rows) = t.get_json(&t.url("/api/v1/datasets/small/rows")).await;
    assert_eq!(rows["total"], 1);
}

fn futures_stream(
    bytes: Vec<u8>,
) -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + Sync + 'static {
    futures::stream::iter(bytes.chunks(100).map(|c| Ok(c.to_vec())).collect::<Vec<_>>())
}

#[tokio::test]
async fn writes_need_the_admin_token() {
    let t = spawn_app().await;
    let response = t.client.post(t.url("/api/v1/datasets")).json(&json!({"slug": "nope"})).send().await.unwrap();
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    let response = t
        .client
        .post(t.url("/api/v1/datasets"))
        .bearer_auth("wrong")
        .json(&json!({"slug": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    t.publish_new("guarded", "g.csv", "a\n1\n").await;
    let response = t.client.post(t.url("/api/v1/datasets/guarded/versions")).body("a\n2\n").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = t.client.patch(t.url("/api/v1/datasets/guarded")).json(&json!({"title": "x"})).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // With the token, PATCH works.
    let response = t
        .client
        .patch(t.url("/api/v1/datasets/guarded"))
        .bearer_auth(TOKEN)
        .json(&json!({"title": "新標題", "tags": ["a"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (_, detail) = t.get_json(&t.url("/api/v1/datasets/guarded")).await;
    assert_eq!(detail["title"], "新標題");
}

#[tokio::test]
async fn list_and_search_datasets() {
    let t = spawn_app().await;
    t.create_dataset(json!({"slug": "air", "title": "空氣品質監測", "tags": ["環境"], "publisher": "epa"})).await;
    t.create_dataset(json!({"slug": "bus", "title": "公車路線", "description": "高雄市公車", "tags": ["交通"]})).await;
    t.create_dataset(json!({"slug": "bike", "title": "YouBike stations", "tags": ["交通"]})).await;
    let (_, all) = t.get_json(&t.url("/api/v1/datasets")).await;
    assert_eq!(all["total"], 3);
    let (_, q) = t.get_json(&t.url_with("/api/v1/datasets", &[("q", "空氣")])).await;
    assert_eq!(q["total"], 1);
    assert_eq!(q["datasets"][0]["slug"], "air");
    let (_, q) = t.get_json(&t.url_with("/api/v1/datasets", &[("q", "高雄")])).await;
    assert_eq!(q["datasets"][0]["slug"], "bus");
    let (_, tag) = t.get_json(&t.url_with("/api/v1/datasets", &[("tag", "交通")])).await;
    assert_eq!(tag["total"], 2);
    let (_, publisher) = t.get_json(&t.url_with("/api/v1/datasets", &[("publisher", "epa")])).await;
    assert_eq!(publisher["total"], 1);
    let (_, page) = t.get_json(&t.url("/api/v1/datasets?limit=2&offset=2")).await;
    assert_eq!(page["datasets"].as_array().unwrap().len(), 1);
    assert_eq!(page["total"], 3);
}

#[tokio::test]
async fn async_publish_reports_progress_as_a_job() {
    let t = spawn_app().await;
    t.create_dataset(json!({"slug": "slow"})).await;
    let response = t
        .client
        .post(t.url("/api/v1/datasets/slow/versions?async=1&filename=g.csv"))
        .bearer_auth(TOKEN)
        .body(generated_csv(200_000))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let job: serde_json::Value = response.json().await.unwrap();
    assert_eq!(job["kind"], "publish");
    assert!(location.ends_with(job["id"].as_str().unwrap()));
    let started = std::time::Instant::now();
    let finished = loop {
        let (status, job) = t.get_json(&t.url(&location)).await;
        assert_eq!(status, StatusCode::OK);
        if job["status"] == "succeeded" || job["status"] == "failed" {
            break job;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(120), "job never finished: {job}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(finished["status"], "succeeded", "{finished}");
    assert_eq!(finished["version"], 1);
    let (_, rows) = t.get_json(&t.url("/api/v1/datasets/slow/rows?_limit=0")).await;
    assert_eq!(rows["total"], 200_000);

    // A bad file fails the job with the same code a synchronous publish would give.
    let response = t
        .client
        .post(t.url("/api/v1/datasets/slow/versions?async=1"))
        .bearer_auth(TOKEN)
        .body("a,b\n1,2,3\n")
        .send()
        .await
        .unwrap();
    let job: serde_json::Value = response.json().await.unwrap();
    let url = t.url(&format!("/api/v1/jobs/{}", job["id"].as_str().unwrap()));
    let failed = loop {
        let (_, job) = t.get_json(&url).await;
        if job["status"] == "failed" || job["status"] == "succeeded" {
            break job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"]["code"], "malformed_file");
    let (status, body) = t.get_json(&t.url("/api/v1/jobs/nope")).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "job_not_found");
}

#[tokio::test]
async fn storage_url_and_generated_admin_token() {
    // Version files in another object store (here in memory) behave the same.
    let t = spawn_with(|c| c.storage = Some("memory://".to_string())).await;
    t.publish_new("in-memory", "m.csv", "a,b\n1,x\n").await;
    let (_, rows) = t.get_json(&t.url("/api/v1/datasets/in-memory/rows")).await;
    assert_eq!(rows["rows"], json!([{"a": 1, "b": "x"}]));
    assert!(!t.data_dir().join("files").join("versions").exists(), "nothing written to the local directory");

    // Without TAPWATER_ADMIN_TOKEN a token is generated once, kept in the data directory, and reused.
    let dir = tempfile::tempdir().unwrap();
    let config = tapwater_app::Config {
        data_dir: dir.path().to_path_buf(),
        database_url: test_database_url().await,
        ..tapwater_app::Config::default()
    };
    let first = tapwater_app::Tapwater::open(config.clone()).await.unwrap().admin_token().to_string();
    let second = tapwater_app::Tapwater::open(config).await.unwrap().admin_token().to_string();
    assert_eq!(first, second);
    assert_eq!(first.len(), 64);
    let stored = std::fs::read_to_string(dir.path().join("admin-token")).unwrap();
    assert_eq!(stored.trim(), first);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("admin-token")).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "only the owner may read the token");
    }
}

#[tokio::test]
async fn a_publish_job_whose_server_died_is_reported_failed_not_running_forever() {
    let t = spawn_app().await;
    t.create_dataset(json!({"slug": "orphan"})).await;
    // A job left "running" by a server that was killed three minutes ago, and one still alive (just updated).
    let catalog = tapwater_store::Catalog::connect(&t.config.catalog_url()).await.unwrap();
    let now = chrono::Utc::now();
    let job = |id: &str, updated: chrono::DateTime<chrono::Utc>| tapwater_types::Job {
        id: id.to_string(),
        kind: "publish".to_string(),
        dataset: "orphan".to_string(),
        status: tapwater_types::JobStatus::Running,
        stage: Some("converting".to_string()),
        done: 10,
        total: 100,
        version: None,
        error: None,
        created_at: updated,
        updated_at: updated,
    };
    catalog.create_job(&job("dead-job", now - chrono::TimeDelta::seconds(180))).await.unwrap();
    catalog.create_job(&job("live-job", now)).await.unwrap();

    let (status, dead) = t.get_json(&t.url("/api/v1/jobs/dead-job")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((dead["status"].as_str(), dead["error"]["code"].as_str()), (Some("failed"), Some("job_interrupted")));
    // Recorded, not only shown: the catalog says so too.
    let stored = catalog.get_job("dead-job").await.unwrap().unwrap();
    assert_eq!(stored.status, tapwater_types::JobStatus::Failed);
    let (_, live) = t.get_json(&t.url("/api/v1/jobs/live-job")).await;
    assert_eq!(live["status"], "running");
    catalog.close().await;
}
