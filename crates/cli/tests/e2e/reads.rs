//! Caching validators, downloads, SQL, the OpenAPI document and the demo datasets.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

#[tokio::test]
async fn etag_gives_304_and_changes_with_the_version() {
    let t = spawn_app().await;
    t.publish_new("ee", "e.csv", "a,b\n1,x\n2,y\n").await;
    let url = t.url("/api/v1/datasets/ee/rows?a__gte=1");
    let first = t.get(&url).await;
    assert_eq!(first.status(), StatusCode::OK);
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    assert!(first.headers().contains_key("last-modified"));
    assert_eq!(first.headers()["vary"], "Accept");
    let again = t.client.get(&url).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    // Another format or another query is another representation.
    let csv = t.client.get(&url).header("accept", "text/csv").send().await.unwrap();
    assert_ne!(csv.headers()["etag"].to_str().unwrap(), etag);
    let other = t.get(&t.url("/api/v1/datasets/ee/rows?a__gte=2")).await;
    assert_ne!(other.headers()["etag"].to_str().unwrap(), etag);
    // A new version: the old validator no longer matches.
    t.publish("ee", "e2.csv", "a,b\n1,x\n").await;
    let after = t.client.get(&url).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(after.status(), StatusCode::OK);
    let body: Value = after.json().await.unwrap();
    assert_eq!(body["total"], 1);
    // Metadata reads carry a validator too. (The version's artefacts are part of it: once the quality checks are
    // done, the representation stops changing.)
    for _ in 0..300 {
        let (_, report) = t.get_json(&t.url("/api/v1/datasets/ee/quality")).await;
        if report["status"] == "ready" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let meta = t.get(&t.url("/api/v1/datasets/ee")).await;
    let meta_tag = meta.headers()["etag"].to_str().unwrap().to_string();
    let again = t.client.get(t.url("/api/v1/datasets/ee")).header("if-none-match", &meta_tag).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    // Same URL twice gives the same body (second from the response cache).
    let a = t.get(&t.url("/api/v1/datasets/ee/aggregate?_count=1")).await.text().await.unwrap();
    let b = t.get(&t.url("/api/v1/datasets/ee/aggregate?_count=1")).await.text().await.unwrap();
    assert_eq!(a, b);
}

#[tokio::test]
async fn downloads_stream_every_format() {
    let t = spawn_app().await;
    let csv = generated_csv(3000);
    t.publish_new("dl", "dl.csv", csv.clone()).await;
    let response = t.get(&t.url("/api/v1/datasets/dl/download?format=csv")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-disposition"].to_str().unwrap().contains("attachment"));
    let body = response.text().await.unwrap();
    assert_eq!(body, csv, "CSV round-trips exactly");
    let bom = t.get(&t.url("/api/v1/datasets/dl/download?format=csv&bom=1")).await.bytes().await.unwrap();
    assert_eq!(&bom[..3], b"\xEF\xBB\xBF");
    let json: Value = t.get(&t.url("/api/v1/datasets/dl/download?format=json")).await.json().await.unwrap();
    assert_eq!(json.as_array().unwrap().len(), 3000);
    let nd = t.get(&t.url("/api/v1/datasets/dl/download?format=ndjson")).await.text().await.unwrap();
    assert_eq!(nd.lines().count(), 3000);
    let parquet = t.get(&t.url("/api/v1/datasets/dl/download?format=parquet")).await.bytes().await.unwrap();
    assert_eq!(&parquet[..4], b"PAR1");
    let (status, body) = t.get_json(&t.url("/api/v1/datasets/dl/download?format=xml")).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_format");
    let (status, body) = t.get_json(&t.url("/api/v1/datasets/dl/download?format=geojson")).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_format");
}

#[tokio::test]
async fn read_only_sql_with_joins_limits_and_clear_errors() {
    let t = spawn_with(|c| c.query.sql_max_rows = 50).await;
    t.publish_new("gen", "gen.csv", generated_csv(500)).await;
    t.publish_new("names", "n.csv", "district,english\n苓雅區,Lingya\n三民區,Sanmin\n").await;
    let sql = |q: &str| t.url_with("/api/v1/datasets/gen/sql", &[("q", q)]);
    let (status, body) = t
        .get_json(&sql(
            "SELECT district, count(*) AS n FROM data WHERE value >= 500 GROUP BY district ORDER BY district",
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rows"].as_array().unwrap().len(), 5);
    assert_eq!(body["truncated"], false);
    let (status, body) = t
        .get_json(&sql("SELECT n.english, count(*) AS c FROM data d JOIN names n ON d.district = n.district GROUP BY n.english ORDER BY n.english"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rows"][0]["english"], "Lingya");
    assert_eq!(body["rows"][0]["c"], 100);
    let (_, body) = t.get_json(&sql("SELECT * FROM data")).await;
    assert_eq!(body["rows"].as_array().unwrap().len(), 50);
    assert_eq!(body["truncated"], true);
    for bad in ["CREATE TABLE x (a INT)", "INSERT INTO data VALUES (1)", "DROP TABLE data", "COPY data TO '/tmp/x.csv'"]
    {
        let (status, body) = t.get_json(&sql(bad)).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "sql_not_read_only");
    }
    let (status, body) = t.get_json(&sql("SELECT * FROM secret_table")).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "unknown_table");
    let (status, body) = t.get_json(&sql("SELEC nonsense")).await;
    let error = assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_sql");
    let message = error["message"].as_str().unwrap();
    assert!(!message.contains("DataFusion") && !message.contains("sqlparser"), "{message}");
}

#[tokio::test]
async fn sql_time_limit_cancels() {
    let t = spawn_with(|c| c.query.sql_timeout = std::time::Duration::from_millis(300)).await;
    t.publish_new("big", "big.csv", generated_csv(20_000)).await;
    let started = std::time::Instant::now();
    let (status, body) = t
        .get_json(&t.url_with(
            "/api/v1/datasets/big/sql",
            &[("q", "SELECT count(*) FROM data a, data b WHERE (a.value * 31 + b.value) % 97 = 5")],
        ))
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "query_timeout");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[tokio::test]
async fn openapi_document_and_reference_page() {
    let t = spawn_app().await;
    let (status, spec) = t.get_json(&t.url("/api/v1/openapi.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/datasets",
        "/api/v1/datasets/{slug}",
        "/api/v1/datasets/{slug}/versions",
        "/api/v1/datasets/{slug}/versions/{seq}",
        "/api/v1/datasets/{slug}/rows",
        "/api/v1/datasets/{slug}/aggregate",
        "/api/v1/datasets/{slug}/sql",
        "/api/v1/datasets/{slug}/download",
        "/api/v1/licenses",
    ] {
        assert!(spec["paths"].get(path).is_some(), "{path} is documented");
    }
    // Query parameters are documented as query parameters, not path ones.
    let rows_params = spec["paths"]["/api/v1/datasets/{slug}/rows"]["get"]["parameters"].as_array().unwrap();
    for p in rows_params {
        let expected = if p["name"] == "slug" { "path" } else { "query" };
        assert_eq!(p["in"], expected, "{p}");
    }
    let page = t.get(&t.url("/api/v1/docs")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(!html.contains("https://"), "the reference page loads nothing from the Internet");
    // Every error code the application can return is documented on the page and in docs/errors.md.
    let errors_md = include_str!("../../../../docs/errors.md");
    for (code, _) in tapwater_app::ERROR_CODES {
        assert!(html.contains(&format!("id=\"error-{code}\"")), "{code} missing from the reference page");
        assert!(errors_md.contains(&format!("`{code}`")), "{code} missing from docs/errors.md");
    }
    let (status, health) = t.get_json(&t.url("/healthz")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["status"], "ok");
    let (_, licenses) = t.get_json(&t.url("/api/v1/licenses")).await;
    assert!(licenses.as_array().unwrap().iter().any(|l| l["id"] == "OGDL-Taiwan-1.0"));
}

#[tokio::test]
async fn demo_datasets_are_real_files_served_at_once() {
    let t = spawn_app().await;
    let published = t.app.publish_demo(&tapwater_app::Actor::System).await.unwrap();
    assert_eq!(published.len(), tapwater_app::demo::DEMO_DATASETS.len());
    // Publishing the demo again changes nothing.
    assert!(t.app.publish_demo(&tapwater_app::Actor::System).await.unwrap().is_empty());
    let (_, list) = t.get_json(&t.url("/api/v1/datasets")).await;
    assert_eq!(list["total"], 3);
    // MOI births/deaths: 7,748 villages; village codes keep their leading zeros.
    let (_, body) = t
        .get_json(
            &t.url_with("/api/v1/datasets/moi-village-vital-statistics-2024-10/rows", &[("區域別代碼", "09007040002")]),
        )
        .await;
    assert_eq!(body["total"], 1, "{body}");
    assert_eq!(body["rows"][0]["村里名稱"], "樂華村");
    let (_, all) = t.get_json(&t.url("/api/v1/datasets/moi-village-vital-statistics-2024-10/rows?_limit=0")).await;
    assert_eq!(all["total"], 7748);
    // The dengue spraying schedule has coordinates, so GeoJSON works.
    let (status, geo) =
        t.get_json(&t.url("/api/v1/datasets/tainan-dengue-spraying-2015-08/rows?_format=geojson&_limit=5")).await;
    assert_eq!(status, StatusCode::OK, "{geo}");
    assert_eq!(geo["features"].as_array().unwrap().len(), 5);
    // The births dataset is described in full: every column, the encoding, on time — the gold readiness badge.
    let mut report = Value::Null;
    for _ in 0..200 {
        let (_, r) = t.get_json(&t.url("/api/v1/datasets/moi-village-vital-statistics-2024-10/quality")).await;
        report = r;
        if report["status"] == "ready" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(report["badge"]["level"], "gold", "{report:#}");
    let errors: Vec<&Value> =
        report["findings"].as_array().unwrap().iter().filter(|f| f["severity"] == "error").collect();
    assert!(errors.is_empty(), "{errors:#?}");
}
