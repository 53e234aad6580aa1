//! Quality and metadata over HTTP and the CLI: the report of every published version (score, stars, badge, checks,
//! findings with their fix), real defects of real files found under the right code and none invented on clean ones,
//! planted defects found with their column, count and rows, staleness on the publisher dashboard, examples withheld
//! from callers who may not read the rows, metadata and Table Schema validation, and the standard exports (Data
//! Package, DCAT-AP, schema.org, data.gov.tw) — checked by frictionless and rdflib when `TAPWATER_TEST_VENV` names a
//! Python environment with both.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

/// Every check of the catalogue (crates/quality/src/codes.rs, documented in docs/quality.md).
const ALL_CHECKS: [&str; 24] = [
    // The national portal's six.
    "linkable",
    "downloadable",
    "structure",
    "encoding_match",
    "desc_match",
    "csv",
    // How the files were read.
    "format_match",
    "decode_errors",
    // The table.
    "date_format",
    "mixed_types",
    "empty_column",
    "constant_column",
    "duplicate_rows",
    "primary_key",
    "numeric_outliers",
    "code_list",
    "constraints",
    "coordinates",
    "series_gaps",
    // Metadata and timeliness.
    "field_descriptions",
    "license",
    "description",
    "metadata_completeness",
    "timeliness",
];

/// The checks over the values of the table, where a clean file must raise no error.
const TABLE_CHECKS: [&str; 10] = [
    "date_format",
    "mixed_types",
    "empty_column",
    "duplicate_rows",
    "primary_key",
    "code_list",
    "constraints",
    "coordinates",
    "series_gaps",
    "numeric_outliers",
];

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The quality report of a dataset's current version as the admin sees it (examples included).
async fn quality(t: &TestApp, slug: &str) -> Value {
    let response =
        t.client.get(t.url(&format!("/api/v1/datasets/{slug}/quality"))).bearer_auth(TOKEN).send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "quality of {slug}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Polls the report (every 100 ms, up to 20 s) until its checks have run and `done` holds. While the checks run the
/// status is `pending`; anything but `pending` or `ready` fails at once.
async fn wait_report(t: &TestApp, slug: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let report = quality(t, slug).await;
        let status = report["status"].as_str().unwrap_or_default();
        assert!(matches!(status, "pending" | "ready"), "status of {slug} is {status:?}: {report}");
        if status == "ready" && done(&report) {
            return report;
        }
        assert!(Instant::now() < deadline, "{slug}: {what} not reached within 20 s; last report: {report:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the current version's checks have run; returns the report.
async fn wait_quality(t: &TestApp, slug: &str) -> Value {
    wait_report(t, slug, "status ready", |_| true).await
}

/// Waits until the checks ran again after a change of the declared metadata (`checked_at` moves on).
async fn wait_rechecked(t: &TestApp, slug: &str, before: &Value, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let checked_before = before["checked_at"].clone();
    wait_report(t, slug, what, |r| r["checked_at"] != checked_before && done(r)).await
}

fn findings<'a>(report: &'a Value, code: &str) -> Vec<&'a Value> {
    report["findings"].as_array().unwrap().iter().filter(|f| f["code"] == code).collect()
}

fn outcome<'a>(report: &'a Value, code: &str) -> &'a str {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == code)
        .unwrap_or_else(|| panic!("no check {code} in {report}"))["outcome"]
        .as_str()
        .unwrap()
}

fn rows_of(finding: &Value) -> Vec<u64> {
    finding["rows"].as_array().map(|a| a.iter().map(|r| r.as_u64().unwrap()).collect()).unwrap_or_default()
}

fn examples_of(finding: &Value) -> Vec<String> {
    finding["examples"]
        .as_array()
        .map(|a| a.iter().map(|e| e.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

fn errors_among<'a>(report: &'a Value, codes: &[&str]) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error" && codes.contains(&f["code"].as_str().unwrap()))
        .collect()
}

/// The report is what docs/quality.md says a report is, and its parts agree with one another.
fn assert_report_shape(report: &Value) {
    let score = report["score"].as_u64().unwrap_or_else(|| panic!("score: {report}"));
    assert!(score <= 100, "{report}");
    let stars = report["stars"]["stars"].as_u64().unwrap_or_else(|| panic!("stars: {report}"));
    assert!(stars <= 5, "{report}");
    assert!(report["stars"]["explanation"].as_str().is_some_and(|e| !e.is_empty()), "{report}");
    if stars < 5 {
        assert!(report["stars"]["next"].as_str().is_some_and(|n| !n.is_empty()), "next star: {report}");
    } else {
        assert!(report["stars"].get("next").is_none_or(Value::is_null), "{report}");
    }
    let badge = report["badge"]["level"].as_str().unwrap_or_else(|| panic!("badge: {report}"));
    assert!(["gold", "silver", "bronze", "none"].contains(&badge), "{report}");
    let criteria = report["badge"]["criteria"].as_array().unwrap_or_else(|| panic!("criteria: {report}"));
    assert!(!criteria.is_empty(), "{report}");
    for c in criteria {
        assert!(c["name"].as_str().is_some() && c["met"].is_boolean(), "{c}");
    }
    // Gold with every criterion met, silver with one missed, bronze with two, none below.
    let missed = criteria.iter().filter(|c| c["met"] == false).count();
    let expected_badge = match missed {
        0 => "gold",
        1 => "silver",
        2 => "bronze",
        _ => "none",
    };
    assert_eq!(badge, expected_badge, "badge against its criteria: {}", report["badge"]);

    let checks = report["checks"].as_array().unwrap_or_else(|| panic!("checks: {report}"));
    let codes: BTreeSet<&str> = checks.iter().map(|c| c["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ALL_CHECKS.into_iter().collect::<BTreeSet<_>>(), "every check is listed: {report}");
    assert_eq!(checks.len(), ALL_CHECKS.len(), "each check once: {report}");
    let (mut earned, mut weights) = (0.0, 0.0);
    for c in checks {
        let outcome = c["outcome"].as_str().unwrap();
        assert!(["pass", "warn", "fail", "skip"].contains(&outcome), "{c}");
        let weight = c["weight"].as_u64().unwrap_or_else(|| panic!("weight: {c}")) as f64;
        let points = c["earned"].as_f64().unwrap_or_else(|| panic!("earned: {c}"));
        assert!((0.0..=weight).contains(&points), "{c}");
        match outcome {
            "skip" | "fail" => assert_eq!(points, 0.0, "{c}"),
            "pass" if c["code"] != "metadata_completeness" => assert_eq!(points, weight, "{c}"),
            _ => {}
        }
        if outcome != "skip" {
            earned += points;
            weights += weight;
        }
    }
    let expected_score = if weights == 0.0 { 0 } else { (100.0 * earned / weights).round() as u64 };
    assert_eq!(score, expected_score, "score = points earned / weights of the checks that apply: {report}");

    let findings = report["findings"].as_array().unwrap_or_else(|| panic!("findings: {report}"));
    let rank = |s: &str| ["error", "warning", "info"].iter().position(|x| *x == s);
    let mut last_rank = 0;
    for f in findings {
        let code = f["code"].as_str().unwrap_or_else(|| panic!("code: {f}"));
        let severity = f["severity"].as_str().unwrap_or_else(|| panic!("severity: {f}"));
        let r = rank(severity).unwrap_or_else(|| panic!("severity {severity}: {f}"));
        assert!(r >= last_rank, "findings are sorted errors first: {report}");
        last_rank = r;
        assert!(f["count"].as_u64().is_some(), "count: {f}");
        for member in ["message", "message_zh", "fix", "fix_zh"] {
            assert!(f[member].as_str().is_some_and(|m| !m.trim().is_empty()), "{member}: {f}");
        }
        assert!(f.get("column").is_none_or(|c| c.is_string()), "column: {f}");
        assert!(f.get("rows").is_none_or(|r| r.as_array().is_some_and(|a| a.iter().all(|x| x.is_u64()))), "{f}");
        assert!(f.get("examples").is_none_or(|e| e.as_array().is_some_and(|a| a.iter().all(Value::is_string))));
        // A failed check has an error finding, and an error finding fails its check.
        if ALL_CHECKS.contains(&code) && severity == "error" {
            assert_eq!(outcome(report, code), "fail", "{f}");
        }
    }
    for c in checks.iter().filter(|c| c["outcome"] == "fail") {
        assert!(
            findings.iter().any(|f| f["code"] == c["code"] && f["severity"] == "error"),
            "check {} fails without an error finding: {report}",
            c["code"]
        );
    }
}

async fn put_json(t: &TestApp, path: &str, body: &Value, auth: bool) -> (StatusCode, Value) {
    let mut request = t.client.put(t.url(path)).json(body);
    if auth {
        request = request.bearer_auth(TOKEN);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn create(t: &TestApp, body: Value) {
    let (status, created) = t.create_dataset(body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}: {created}");
}

async fn publish_ok(t: &TestApp, slug: &str, filename: &str, bytes: impl Into<Vec<u8>>) -> Value {
    let (status, version) = t.publish(slug, filename, bytes).await;
    assert_eq!(status, StatusCode::CREATED, "{slug} {filename}: {version}");
    version
}

/// The names of the current version's columns, from the dataset's detail.
async fn column_names(t: &TestApp, slug: &str) -> Vec<String> {
    let (status, detail) = t.get_json(&t.url(&format!("/api/v1/datasets/{slug}"))).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    detail["current_version"]["schema"]["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("no schema: {detail}"))
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect()
}

/// A metadata document describing every column by name.
fn describing(names: &[String]) -> Value {
    let fields: Vec<Value> = names
        .iter()
        .map(|n| json!({"name": n, "description": format!("欄位「{n}」的意義 (what column {n} means)")}))
        .collect();
    json!({ "fields": fields })
}

/// Planted defects, and where they are.
struct Planted {
    csv: String,
    /// Rows (1-based data rows) whose 案件數 is a word, and the words.
    word_rows: Vec<u64>,
    words: Vec<&'static str>,
    /// The row that repeats another exactly.
    duplicate_row: u64,
    /// Rows repeating an earlier 編號 (the duplicate row among them).
    key_repeats: Vec<u64>,
    /// Rows whose 經度 and 緯度 are swapped, and whose 經度 lies outside Taiwan.
    swapped_row: u64,
    outside_row: u64,
    /// The month missing from the monthly series.
    missing_month: &'static str,
    rows: u64,
}

/// A monthly table of cases in Tainan districts with one of each defect: a number column holding three words, a
/// row repeated exactly, an identifier repeated, a coordinate pair swapped, a longitude in Japan, June missing.
fn planted() -> Planted {
    const MONTHS: [u32; 11] = [1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12];
    const DISTRICTS: [&str; 3] = ["東區", "南區", "北區"];
    let words = ["待確認", "尚未統計"];
    let word_rows = [8u64, 17, 26];
    let (swapped_row, outside_row, repeated_id_row) = (11u64, 23u64, 20u64);
    let mut lines: Vec<String> = Vec::new();
    for i in 1..=33u64 {
        let month = MONTHS[((i - 1) / 3) as usize];
        let id = if i == repeated_id_row { 12 } else { i };
        let district = DISTRICTS[((i - 1) % 3) as usize];
        let cases = match word_rows.iter().position(|r| *r == i) {
            Some(k) => words[k % 2].to_string(),
            None => ((i * 7) % 50 + 1).to_string(),
        };
        let (mut lon, mut lat) =
            (format!("{:.4}", 120.2 + i as f64 * 0.001), format!("{:.4}", 22.95 + i as f64 * 0.001));
        if i == swapped_row {
            std::mem::swap(&mut lon, &mut lat);
        }
        if i == outside_row {
            lon = "135.5012".to_string();
        }
        lines.push(format!("{id},2022-{month:02},{district},{cases},{lon},{lat}"));
    }
    lines.push(lines[4].clone()); // row 34 repeats row 5
    let mut csv = String::from("編號,統計月份,行政區,案件數,經度,緯度\n");
    for line in &lines {
        csv.push_str(line);
        csv.push('\n');
    }
    Planted {
        csv,
        word_rows: word_rows.to_vec(),
        words: words.to_vec(),
        duplicate_row: 34,
        key_repeats: vec![repeated_id_row, 34],
        swapped_row,
        outside_row,
        missing_month: "2022-06",
        rows: lines.len() as u64,
    }
}

#[tokio::test]
async fn reports_have_their_shape_and_clean_files_raise_no_false_alarm() {
    let t = spawn_app().await;
    t.publish_new("births", "births-2024-10.csv", fixture("moi_village_births_deaths_marriages_2024-10.csv")).await;
    // Right after the publish the report exists, pending or (quickly) ready.
    let first = quality(&t, "births").await;
    let status = first["status"].as_str().unwrap();
    assert!(status == "pending" || status == "ready", "{first}");
    assert_eq!(first["version"], 1, "{first}");
    let report = wait_quality(&t, "births").await;
    assert_report_shape(&report);
    assert!(report["checked_at"].is_string(), "{report}");
    assert_eq!(report["examples_withheld"], false, "{report}");
    // A clean government file: no table check cries wolf.
    assert_eq!(errors_among(&report, &TABLE_CHECKS), Vec::<&Value>::new(), "false alarms on a clean file: {report:#}");
    // Uploaded files are served by tapwater itself, and every table is offered as CSV.
    for code in ["linkable", "downloadable", "structure", "csv"] {
        assert_eq!(outcome(&report, code), "pass", "{code}: {report}");
    }
    // Nothing declares the columns yet: 主要欄位說明 is missing.
    let desc = findings(&report, "desc_match");
    assert!(desc.iter().any(|f| f["severity"] == "error"), "desc_match until fields are declared: {report:#}");
    assert_eq!(outcome(&report, "desc_match"), "fail");
    assert_ne!(outcome(&report, "field_descriptions"), "pass", "{report}");

    // Every column described: desc_match and field_descriptions pass, at once, and the score rises.
    let names = column_names(&t, "births").await;
    assert!(names.len() >= 10, "{names:?}");
    let (status, body) = put_json(&t, "/api/v1/datasets/births/metadata", &describing(&names), true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let described = quality(&t, "births").await;
    assert_report_shape(&described);
    assert_eq!(outcome(&described, "desc_match"), "pass", "{described:#}");
    assert_eq!(outcome(&described, "field_descriptions"), "pass", "{described:#}");
    assert!(findings(&described, "desc_match").is_empty(), "{described}");
    assert!(
        described["score"].as_u64().unwrap() > report["score"].as_u64().unwrap(),
        "score {} → {}",
        report["score"],
        described["score"]
    );
    // Still no false alarm once the checks have run again under the new metadata.
    let rechecked = wait_rechecked(&t, "births", &report, "recheck after metadata", |_| true).await;
    assert_eq!(errors_among(&rechecked, &TABLE_CHECKS), Vec::<&Value>::new(), "{rechecked:#}");

    // A JSON API answer with WGS84 coordinates: clean too.
    t.publish_new("playgrounds", "playgrounds.json", fixture("kaohsiung_inclusive_playgrounds_pwbmo_2023-02.json"))
        .await;
    let report = wait_quality(&t, "playgrounds").await;
    assert_report_shape(&report);
    assert_eq!(errors_among(&report, &TABLE_CHECKS), Vec::<&Value>::new(), "false alarms on a clean file: {report:#}");
    assert_eq!(outcome(&report, "coordinates"), "pass", "the playgrounds lie in Kaohsiung: {report:#}");
}

#[tokio::test]
async fn real_encoding_and_format_defects_are_found() {
    let t = spawn_app().await;
    // A Big5 file declared as UTF-8: the national portal's encoding_match fails.
    t.publish_new("population", "97Y-99Y.csv", fixture("moi_segis_tainan_district_population_97Y-99Y_big5.csv")).await;
    let report = wait_quality(&t, "population").await;
    assert_report_shape(&report);
    let undeclared = findings(&report, "encoding_match");
    assert!(
        undeclared.iter().all(|f| f["severity"] != "error"),
        "an undeclared encoding is not a mismatch: {report:#}"
    );
    let (status, body) =
        put_json(&t, "/api/v1/datasets/population/metadata", &json!({"encoding": "UTF-8"}), true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let wrong = wait_report(&t, "population", "encoding_match error", |r| {
        findings(r, "encoding_match").iter().any(|f| f["severity"] == "error")
    })
    .await;
    assert_report_shape(&wrong);
    let f = findings(&wrong, "encoding_match").into_iter().find(|f| f["severity"] == "error").unwrap();
    assert!(f["count"].as_u64().unwrap() >= 1, "{f}");
    assert!(examples_of(f).iter().any(|e| e.to_ascii_lowercase().contains("big5")), "the real encoding: {f}");
    assert_eq!(outcome(&wrong, "encoding_match"), "fail");
    // Declared as it really is: it passes.
    let (status, body) = put_json(&t, "/api/v1/datasets/population/metadata", &json!({"encoding": "Big5"}), true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let right = wait_report(&t, "population", "encoding_match pass", |r| outcome(r, "encoding_match") == "pass").await;
    assert!(findings(&right, "encoding_match").is_empty(), "{right:#}");
    assert!(
        right["score"].as_u64().unwrap() > wrong["score"].as_u64().unwrap(),
        "{} → {}",
        wrong["score"],
        right["score"]
    );

    // An Excel 97 file named .ods (ingest logs format_mismatch): format_match fails, naming the file.
    let name = "cec_2022_referendum_rfarea_really_xls.ods";
    t.publish_new("rfarea", name, fixture(name)).await;
    let (_, transforms) = t.get_json(&t.url("/api/v1/datasets/rfarea/transforms")).await;
    let logged =
        transforms["transform_log"]["entries"].as_array().unwrap().iter().any(|e| e["rule"] == "format_mismatch");
    assert!(logged, "ingest logs the mismatch: {transforms}");
    let report = wait_quality(&t, "rfarea").await;
    assert_report_shape(&report);
    let mismatch = findings(&report, "format_match");
    assert_eq!(mismatch.len(), 1, "{report:#}");
    assert_eq!(mismatch[0]["severity"], "error", "{report:#}");
    assert_eq!(mismatch[0]["count"], 1, "{report:#}");
    assert_eq!(examples_of(mismatch[0]), [name], "{report:#}");
    assert_eq!(outcome(&report, "format_match"), "fail");
    // The Big5 CSV, named as what it is, has no format mismatch.
    assert_eq!(outcome(&right, "format_match"), "pass", "{right:#}");
}

#[tokio::test]
async fn planted_defects_are_found_with_column_count_and_rows() {
    let t = spawn_app().await;
    let p = planted();
    let version = t.publish_new("cases", "cases.csv", p.csv.clone()).await;
    assert_eq!(version["row_count"], p.rows, "{version}");
    let report = wait_quality(&t, "cases").await;
    assert_report_shape(&report);

    // A column of numbers holding words.
    let mixed = findings(&report, "mixed_types");
    assert_eq!(mixed.len(), 1, "{report:#}");
    assert_eq!(mixed[0]["column"], "案件數", "{report:#}");
    assert_eq!(mixed[0]["count"], p.word_rows.len() as u64, "{report:#}");
    assert_eq!(rows_of(mixed[0]), p.word_rows, "{report:#}");
    assert_eq!(examples_of(mixed[0]), p.words, "{report:#}");

    // A row repeated exactly.
    let duplicates = findings(&report, "duplicate_rows");
    assert_eq!(duplicates.len(), 1, "{report:#}");
    assert_eq!(duplicates[0]["count"], 1, "{report:#}");
    assert_eq!(rows_of(duplicates[0]), [p.duplicate_row], "{report:#}");

    // Coordinates: one pair swapped, one longitude in Japan; both errors about 經度.
    let coordinates = findings(&report, "coordinates");
    assert_eq!(coordinates.len(), 2, "{report:#}");
    for f in &coordinates {
        assert_eq!(f["severity"], "error", "{f}");
        assert_eq!(f["column"], "經度", "{f}");
        assert_eq!(f["count"], 1, "{f}");
    }
    let mut rows: Vec<u64> = coordinates.iter().flat_map(|f| rows_of(f)).collect();
    rows.sort_unstable();
    assert_eq!(rows, [p.swapped_row, p.outside_row], "{report:#}");
    assert_eq!(outcome(&report, "coordinates"), "fail");

    // The monthly series misses June.
    let gaps = findings(&report, "series_gaps");
    assert_eq!(gaps.len(), 1, "{report:#}");
    assert_eq!(gaps[0]["column"], "統計月份", "{report:#}");
    assert_eq!(gaps[0]["count"], 1, "{report:#}");
    assert_eq!(examples_of(gaps[0]), [p.missing_month], "{report:#}");

    // No key declared yet: the key check does not apply.
    assert_eq!(outcome(&report, "primary_key"), "skip", "{report:#}");
    assert!(findings(&report, "primary_key").is_empty());
    // Nothing else invented: no constraint or code list declared, no other column mixed.
    assert_eq!(outcome(&report, "constraints"), "skip");
    assert_eq!(outcome(&report, "code_list"), "skip");

    // Declaring 編號 the primary key (a Table Schema): the current version is checked again and the repeats found.
    let schema =
        json!({"fields": [{"name": "編號", "type": "integer", "description": "案件編號"}], "primaryKey": ["編號"]});
    let (status, body) = put_json(&t, "/api/v1/datasets/cases/schema", &schema, true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let keyed =
        wait_rechecked(&t, "cases", &report, "primary_key finding", |r| !findings(r, "primary_key").is_empty()).await;
    assert_report_shape(&keyed);
    let key = findings(&keyed, "primary_key");
    assert_eq!(key.len(), 1, "{keyed:#}");
    assert_eq!(key[0]["severity"], "error", "{keyed:#}");
    assert_eq!(key[0]["column"], "編號", "{keyed:#}");
    assert_eq!(key[0]["count"], p.key_repeats.len() as u64, "{keyed:#}");
    assert_eq!(rows_of(key[0]), p.key_repeats, "{keyed:#}");
    assert_eq!(outcome(&keyed, "primary_key"), "fail");
    // The other findings stay as they were.
    assert_eq!(rows_of(findings(&keyed, "mixed_types")[0]), p.word_rows, "{keyed:#}");
    assert_eq!(rows_of(findings(&keyed, "duplicate_rows")[0]), [p.duplicate_row], "{keyed:#}");
}

#[tokio::test]
async fn overdue_datasets_top_the_publisher_dashboard() {
    let t = spawn_app().await;
    for slug in ["stale", "fresh"] {
        create(
            &t,
            json!({"slug": slug, "title": format!("{slug} 月報"), "publisher": "water-bureau", "frequency": "monthly"}),
        )
        .await;
        publish_ok(&t, slug, "monthly.csv", DISTRICTS_CSV).await;
        let report = wait_quality(&t, slug).await;
        assert_eq!(outcome(&report, "timeliness"), "pass", "just published: {report:#}");
        assert!(findings(&report, "timeliness").is_empty(), "{report}");
    }
    // A second version of `fresh`: the history has both, newest first, each with its score.
    publish_ok(&t, "fresh", "monthly-2.csv", DISTRICTS_CSV.replace("苓雅區", "前鎮區")).await;
    wait_report(&t, "fresh", "version 2 checked", |r| r["version"] == 2).await;
    let (status, history) = t.get_json(&t.url("/api/v1/datasets/fresh/quality/history")).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let entries = history.as_array().unwrap();
    assert_eq!(entries.len(), 2, "{history}");
    assert_eq!((entries[0]["version"].as_i64(), entries[1]["version"].as_i64()), (Some(2), Some(1)), "{history}");
    for entry in entries {
        assert_eq!(entry["status"], "ready", "{entry}");
        assert!(entry["score"].as_u64().is_some_and(|s| s <= 100), "{entry}");
        assert!(entry["stars"].as_u64().is_some() && entry["badge"].is_string(), "{entry}");
    }

    // `stale` was last published in January 2020.
    let url = t.config.database_url.clone().unwrap_or_else(|| t.config.catalog_url());
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let updated = sqlx::query(
        "UPDATE versions SET created_at = '2020-01-01T00:00:00.000Z' \
         WHERE dataset_id = (SELECT id FROM datasets WHERE slug = $1)",
    )
    .bind("stale")
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert_eq!(updated.rows_affected(), 1);

    let report = quality(&t, "stale").await;
    assert_report_shape(&report);
    let late = findings(&report, "timeliness");
    assert_eq!(late.len(), 1, "{report:#}");
    assert_eq!(late[0]["severity"], "error", "{report:#}");
    assert!(late[0]["count"].as_u64().unwrap() > 365, "days late: {report:#}");
    assert_eq!(outcome(&report, "timeliness"), "fail");
    let fresh = quality(&t, "fresh").await;
    assert_eq!(outcome(&fresh, "timeliness"), "pass", "{fresh:#}");

    // The dashboard: what to fix first at the top.
    let (status, rows) = t.get_json(&t.url("/api/v1/publishers/water-bureau/quality")).await;
    assert_eq!(status, StatusCode::OK, "{rows}");
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["dataset"], "stale", "{rows:?}");
    assert_eq!(rows[0]["overdue"], true, "{rows:?}");
    assert_eq!(rows[1]["dataset"], "fresh", "{rows:?}");
    assert_eq!(rows[1]["overdue"], false, "{rows:?}");
    assert_eq!(rows[1]["version"], 2, "{rows:?}");
    assert!(rows[0]["errors"].as_u64().unwrap() >= rows[1]["errors"].as_u64().unwrap(), "errors first: {rows:?}");
    assert!(rows[0]["open_findings"].as_array().unwrap().iter().any(|c| c == "timeliness"), "{rows:?}");
    assert_eq!(rows[0]["score"], report["score"], "the dashboard shows the report's score: {rows:?}");
    assert_eq!(
        rows[0]["errors"].as_u64().unwrap() as usize,
        report["findings"].as_array().unwrap().iter().filter(|f| f["severity"] == "error").count()
    );
    assert!(rows[0]["last_published"].as_str().unwrap().starts_with("2020-01-01"), "{rows:?}");
    assert!(rows[0]["next_due"].as_str().unwrap().starts_with("2020-02-01"), "{rows:?}");

    // The same as CSV for the quarterly report: BOM, header, one line per dataset.
    let response = t.get(&t.url("/api/v1/publishers/water-bureau/quality?format=csv")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a BOM for Excel");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(
        header.join(","),
        "dataset,title,version,status,score,stars,badge,errors,warnings,overdue,last_published,next_due,open_findings"
    );
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 2, "{text}");
    assert_eq!((&records[0][0], &records[0][1], &records[0][9]), ("stale", "stale 月報", "true"), "{text}");
    assert_eq!((&records[1][0], &records[1][2], &records[1][9]), ("fresh", "2", "false"), "{text}");
    assert_eq!(records[0][4], rows[0]["score"].to_string(), "{text}");

    // Unknown publisher, unknown format.
    let (status, body) = t.get_json(&t.url("/api/v1/publishers/no-such-agency/quality")).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "organisation_not_found");
    let (status, body) = t.get_json(&t.url("/api/v1/publishers/water-bureau/quality?format=xml")).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_format");
}

#[tokio::test]
async fn examples_are_withheld_from_callers_who_may_not_read_the_rows() {
    let t = spawn_app().await;
    let p = planted();
    for level in ["application", "restricted"] {
        let slug = format!("cases-{level}");
        create(&t, json!({"slug": slug, "title": "案件", "publisher": "agency", "access": level})).await;
        publish_ok(&t, &slug, "cases.csv", p.csv.clone()).await;
        let admin = wait_quality(&t, &slug).await;
        assert_report_shape(&admin);
        // The examples follow the rows: shown to whoever may read them, withheld from everyone else. The admin
        // token reads an `application` dataset's rows; a `restricted` one's rows are read by no one (see access.rs).
        let rows_status = t
            .client
            .get(t.url(&format!("/api/v1/datasets/{slug}/rows?_limit=1")))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .status();
        let admin_reads = rows_status == StatusCode::OK;
        assert_eq!(admin_reads, level == "application", "{level}: the admin's row read answered {rows_status}");
        assert_eq!(admin["examples_withheld"], !admin_reads, "{level}: {admin}");
        let mixed = findings(&admin, "mixed_types");
        assert_eq!(mixed.len(), 1, "{level}: {admin:#}");
        if admin_reads {
            assert_eq!(examples_of(mixed[0]), p.words, "{level}: the admin sees the values: {admin:#}");
        } else {
            for f in admin["findings"].as_array().unwrap() {
                assert!(examples_of(f).is_empty(), "{level}: examples of rows the admin may not read: {f}");
            }
        }

        let (status, anonymous) = t.get_json(&t.url(&format!("/api/v1/datasets/{slug}/quality"))).await;
        assert_eq!(status, StatusCode::OK, "{level}: {anonymous}");
        assert_report_shape(&anonymous);
        assert_eq!(anonymous["examples_withheld"], true, "{level}: {anonymous}");
        for f in anonymous["findings"].as_array().unwrap() {
            assert!(examples_of(f).is_empty(), "{level}: examples shown to an anonymous caller: {f}");
        }
        // The same findings otherwise: codes, columns, counts and rows.
        let strip = |r: &Value| -> Vec<(Value, Value, Value, Vec<u64>)> {
            r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| (f["code"].clone(), f["column"].clone(), f["count"].clone(), rows_of(f)))
                .collect()
        };
        assert_eq!(strip(&anonymous), strip(&admin), "{level}");
        // No message says a value of the data, to anyone.
        for report in [&admin, &anonymous] {
            for f in report["findings"].as_array().unwrap() {
                for member in ["message", "message_zh", "fix", "fix_zh"] {
                    let text = f[member].as_str().unwrap();
                    for word in &p.words {
                        assert!(!text.contains(word), "{level}: {member} tells the value {word}: {f}");
                    }
                }
            }
        }
        // The rows themselves stay closed to the anonymous caller.
        let (status, _) = t.get_json(&t.url(&format!("/api/v1/datasets/{slug}/rows"))).await;
        assert!(status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN, "{level}: {status}");
    }
    // Examples shown on an audited dataset are a read of its data, and the audit log says so; withheld ones are not.
    let audit: Value =
        t.client.get(t.url("/api/v1/audit?limit=10000")).bearer_auth(TOKEN).send().await.unwrap().json().await.unwrap();
    let quality_reads = |slug: &str| {
        audit.as_array().unwrap().iter().filter(|e| e["action"] == "read.quality" && e["dataset"] == slug).count()
    };
    assert!(quality_reads("cases-application") >= 1, "{audit:#}");
    assert_eq!(quality_reads("cases-restricted"), 0, "{audit:#}");

    // The same holds for the examples of the transform log.
    create(&t, json!({"slug": "log-application", "title": "金額", "publisher": "agency", "access": "application"}))
        .await;
    let csv = "區,金額\n東區,\"1,234\"\n北區,\"12,345\"\n南區,\"2,000\"\n";
    publish_ok(&t, "log-application", "log.csv", csv.to_string()).await;
    let log: Value = t
        .client
        .get(t.url("/api/v1/datasets/log-application/transforms"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let shown = log["transform_log"]["entries"].as_array().unwrap().iter().any(|e| e["rule"] == "thousands");
    assert!(shown, "{log:#}");
    let audit: Value =
        t.client.get(t.url("/api/v1/audit?limit=10000")).bearer_auth(TOKEN).send().await.unwrap().json().await.unwrap();
    let logged =
        audit.as_array().unwrap().iter().any(|e| e["action"] == "read.transforms" && e["dataset"] == "log-application");
    assert!(logged, "{audit:#}");
}

#[tokio::test]
async fn metadata_and_table_schemas_are_validated_and_declare_types() {
    let t = spawn_app().await;
    t.publish_new("districts", "districts.csv", DISTRICTS_CSV).await;
    let before = wait_quality(&t, "districts").await;

    let (status, body) =
        put_json(&t, "/api/v1/datasets/districts/metadata", &json!({"contact": {"email": "not-an-email"}}), true).await;
    let error = assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_metadata");
    assert!(error["param"].as_str().is_some_and(|p| p.contains("contact.email")), "{body}");
    let (status, body) = put_json(&t, "/api/v1/datasets/districts/metadata", &json!({"colour": 1}), true).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_metadata");
    assert!(body.to_string().contains("colour"), "names the member: {body}");
    let (status, body) = put_json(&t, "/api/v1/datasets/districts/metadata", &json!({"title_en": "x"}), false).await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    let (status, body) =
        put_json(&t, "/api/v1/datasets/districts/schema", &json!({"fields": [{"name": "a", "type": "complex"}]}), true)
            .await;
    let error = assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_table_schema");
    assert!(error["param"].as_str().is_some_and(|p| p.contains("fields[0].type")), "{body}");
    let (status, body) = put_json(&t, "/api/v1/datasets/districts/schema", &json!({"fields": []}), false).await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    // Nothing refused was stored.
    let (_, metadata) = t.get_json(&t.url("/api/v1/datasets/districts/metadata")).await;
    assert!(metadata.get("contact").is_none() && metadata.get("fields").is_none(), "{metadata}");

    // A valid Table Schema: descriptions, a URI, constraints (比例 ≤ 1 is broken by rows 3 and 4).
    let schema = json!({
        "fields": [
            {"name": "編號", "type": "integer", "description": "流水號", "constraints": {"required": true, "unique": true, "minimum": 1}},
            {"name": "行政區", "type": "string", "description": "高雄市行政區", "rdfType": "http://schema.org/addressLocality",
             "constraints": {"enum": ["苓雅區", "三民區", "鳳山區"]}},
            {"name": "日期", "type": "date", "description": "發生日期"},
            {"name": "時間", "type": "time", "description": "發生時刻"},
            {"name": "發生時間", "type": "datetime", "description": "發生日期時間"},
            {"name": "人數", "type": "integer", "description": "受影響人數", "unit": "人", "constraints": {"minimum": 0}},
            {"name": "比例", "type": "number", "description": "比例", "constraints": {"maximum": 1}},
            {"name": "有效", "type": "boolean", "description": "是否有效"},
            {"name": "備註", "type": "string", "description": "備註說明"},
            {"name": "代碼", "type": "string", "description": "三位數代碼", "constraints": {"pattern": "[0-9]{3}"}}
        ],
        "primaryKey": ["編號"]
    });
    let (status, body) = put_json(&t, "/api/v1/datasets/districts/schema", &schema, true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["dataset"]["slug"], "districts", "{body}");
    let (status, metadata) = t.get_json(&t.url("/api/v1/datasets/districts/metadata")).await;
    assert_eq!(status, StatusCode::OK, "{metadata}");
    let fields = metadata["fields"].as_array().unwrap();
    assert_eq!(fields.len(), 10, "{metadata}");
    let field = |name: &str| fields.iter().find(|f| f["name"] == name).unwrap_or_else(|| panic!("{name}: {metadata}"));
    assert_eq!(field("行政區")["description"], "高雄市行政區");
    assert_eq!(field("行政區")["uri"], "http://schema.org/addressLocality");
    assert_eq!(field("人數")["unit"], "人");
    assert_eq!(field("比例")["constraints"]["maximum"], 1.0);
    assert_eq!(metadata["primary_key"], json!(["編號"]), "{metadata}");
    let (status, pipeline) = t.get_json(&t.url("/api/v1/datasets/districts/pipeline")).await;
    assert_eq!(status, StatusCode::OK, "{pipeline}");
    let types = &pipeline["pipeline"]["types"];
    for (name, ty) in
        [("編號", "integer"), ("日期", "date"), ("比例", "decimal"), ("有效", "boolean"), ("代碼", "text")]
    {
        assert_eq!(types[name], ty, "{name}: {pipeline}");
    }
    assert_eq!(pipeline["pipeline"]["primary_key"], json!(["編號"]), "{pipeline}");

    // The declared constraints are checked on the current version: only 比例 breaks one.
    let checked =
        wait_rechecked(&t, "districts", &before, "constraints judged", |r| outcome(r, "constraints") != "skip").await;
    assert_report_shape(&checked);
    let broken = findings(&checked, "constraints");
    assert_eq!(broken.len(), 1, "{checked:#}");
    assert_eq!(broken[0]["column"], "比例", "{checked:#}");
    assert_eq!(broken[0]["count"], 2, "{checked:#}");
    assert_eq!(rows_of(broken[0]), [3, 4], "{checked:#}");
    assert_eq!(outcome(&checked, "code_list"), "pass", "every 行政區 is in the list: {checked:#}");
    assert_eq!(outcome(&checked, "primary_key"), "pass", "{checked:#}");
    assert_eq!(outcome(&checked, "desc_match"), "pass", "{checked:#}");
    assert_eq!(outcome(&checked, "field_descriptions"), "pass", "{checked:#}");

    // The national portal's form carries the declared descriptions (主要欄位說明).
    let (status, portal) = t.get_json(&t.url("/api/v1/datasets/districts/data.gov.tw.json")).await;
    assert_eq!(status, StatusCode::OK, "{portal}");
    let resource_fields = portal["distribution"][0]["resourceField"].as_array().unwrap();
    let described = resource_fields.iter().find(|f| f["name"] == "行政區").unwrap_or_else(|| panic!("{portal}"));
    assert!(described["description"].as_str().unwrap().contains("高雄市行政區"), "{portal}");
    let counted = resource_fields.iter().find(|f| f["name"] == "人數").unwrap();
    assert!(counted["description"].as_str().unwrap().contains("受影響人數"), "{portal}");
}

#[tokio::test]
async fn exports_describe_the_version_and_link_to_this_server() {
    let t = spawn_app().await;
    create(&t, json!({"slug": "empty", "title": "尚無資料"})).await;
    let (status, body) = t.get_json(&t.url("/api/v1/datasets/empty/datapackage.json")).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "no_version");
    create(&t, json!({"slug": "secret-draft", "title": "草稿", "publisher": "agency", "draft": true})).await;
    publish_ok(&t, "secret-draft", "draft.csv", generated_csv(3)).await;
    create(&t, json!({"slug": "districts", "title": "行政區事件", "publisher": "agency"})).await;
    publish_ok(&t, "districts", "v1.csv", generated_csv(4)).await;
    publish_ok(&t, "districts", "v2.csv", DISTRICTS_CSV).await;
    let names = column_names(&t, "districts").await;
    let (status, body) = put_json(&t, "/api/v1/datasets/districts/metadata", &describing(&names), true).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The Data Package: the version's CSV, on this very server, with the version's columns.
    let response = t.get(&t.url("/api/v1/datasets/districts/datapackage.json")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let package: Value = response.json().await.unwrap();
    let resource = &package["resources"][0];
    let path = resource["path"].as_str().unwrap_or_else(|| panic!("{package}"));
    let expected = t.url("/api/v1/datasets/districts/download?format=csv&_version=2");
    assert_eq!(path, expected, "{package}");
    let schema_names: Vec<&str> =
        resource["schema"]["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(schema_names, names, "{package}");
    assert!(
        resource["schema"]["fields"][1]["description"].as_str().is_some_and(|d| d.contains(&names[1])),
        "{package}"
    );
    let csv = t.get(path).await;
    assert_eq!(csv.status(), StatusCode::OK);
    let text = csv.text().await.unwrap();
    let header = text.trim_start_matches('\u{feff}').lines().next().unwrap();
    assert_eq!(header, schema_names.join(","), "the CSV's header is the package's schema");
    let (_, v1) = t.get_json(&t.url("/api/v1/datasets/districts/datapackage.json?_version=1")).await;
    assert_eq!(v1["resources"][0]["path"], t.url("/api/v1/datasets/districts/download?format=csv&_version=1"));
    assert_eq!(v1["resources"][0]["schema"]["fields"][0]["name"], "id", "{v1}");

    // DCAT-AP in JSON-LD (inline context) and Turtle.
    let response = t.get(&t.url("/api/v1/datasets/districts/dcat.jsonld")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let jsonld: Value = response.json().await.unwrap();
    assert!(jsonld["@context"].is_object(), "inline context: {jsonld}");
    let graph = jsonld["@graph"].as_array().unwrap_or_else(|| panic!("{jsonld}"));
    let dataset_url = t.url("/api/v1/datasets/districts");
    assert!(graph.iter().any(|n| n["@id"] == dataset_url.as_str() && is_dataset(n)), "{jsonld:#}");
    let response = t.get(&t.url("/api/v1/datasets/districts/dcat.ttl")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/turtle"));
    let turtle = response.text().await.unwrap();
    assert!(turtle.contains("dcat:Dataset"), "{turtle}");
    assert!(turtle.contains(&dataset_url), "{turtle}");

    // The catalogue: every released dataset, not the draft (anonymously; the admin sees the draft too).
    let (status, catalog) = t.get_json(&t.url("/api/v1/catalog/dcat.jsonld")).await;
    assert_eq!(status, StatusCode::OK, "{catalog}");
    let listed: BTreeSet<String> = catalog["@graph"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| is_dataset(n))
        .map(|n| n["@id"].as_str().unwrap().to_string())
        .collect();
    let want: BTreeSet<String> =
        ["districts", "empty"].iter().map(|s| t.url(&format!("/api/v1/datasets/{s}"))).collect();
    assert_eq!(listed, want, "{catalog:#}");
    let response = t.client.get(t.url("/api/v1/catalog/dcat.jsonld")).bearer_auth(TOKEN).send().await.unwrap();
    let admin: Value = response.json().await.unwrap();
    assert!(admin.to_string().contains(&t.url("/api/v1/datasets/secret-draft")), "the admin sees drafts: {admin}");

    // schema.org for search engines, the national portal's form.
    let (status, schema_org) = t.get_json(&t.url("/api/v1/datasets/districts/schema.org.jsonld")).await;
    assert_eq!(status, StatusCode::OK, "{schema_org}");
    assert_eq!(schema_org["@type"], "Dataset", "{schema_org}");
    assert_eq!(schema_org["name"], "行政區事件", "{schema_org}");
    let (status, portal) = t.get_json(&t.url("/api/v1/datasets/districts/data.gov.tw.json")).await;
    assert_eq!(status, StatusCode::OK, "{portal}");
    let resource_fields = portal["distribution"][0]["resourceField"].as_array().unwrap_or_else(|| panic!("{portal}"));
    let portal_names: Vec<&str> = resource_fields.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(portal_names, names, "{portal}");
    for f in resource_fields {
        let name = f["name"].as_str().unwrap();
        assert!(f["description"].as_str().unwrap().contains(&format!("欄位「{name}」的意義")), "{portal}");
    }
    // A draft is not found by those outside its organisation.
    let status = t.get(&t.url("/api/v1/datasets/secret-draft/dcat.jsonld")).await.status();
    assert!(!status.is_success(), "a draft's metadata is not shown to an anonymous caller: {status}");

    // Standard tools (frictionless, browsers, curl --compressed) ask for gzip: the resource downloads in full then too.
    let gzip = async {
        let response = t.client.get(path).header("accept-encoding", "gzip").send().await?;
        let status = response.status();
        let encoding = response.headers().get("content-encoding").map(|v| v.to_str().unwrap_or("").to_string());
        Ok::<_, reqwest::Error>((status, encoding, response.bytes().await?))
    };
    let (status, encoding, body) =
        gzip.await.unwrap_or_else(|e| panic!("GET {path} with Accept-Encoding: gzip breaks off: {e:?}"));
    assert_eq!(status, StatusCode::OK);
    if encoding.as_deref() == Some("gzip") {
        assert!(body.starts_with(&[0x1f, 0x8b]), "not gzip");
    } else {
        assert_eq!(std::str::from_utf8(&body).unwrap(), text);
    }
}

fn is_dataset(node: &Value) -> bool {
    match &node["@type"] {
        Value::String(s) => s == "dcat:Dataset" || s.ends_with("dcat#Dataset"),
        Value::Array(types) => {
            types.iter().any(|t| t == "dcat:Dataset" || t.as_str().is_some_and(|s| s.ends_with("dcat#Dataset")))
        }
        _ => false,
    }
}

/// The Python environment with frictionless and rdflib, when the run has one.
fn venv() -> Option<PathBuf> {
    match std::env::var_os("TAPWATER_TEST_VENV") {
        Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ => {
            eprintln!("TAPWATER_TEST_VENV is not set: skipping the frictionless/rdflib checks of the served exports");
            None
        }
    }
}

/// Runs a tool on a blocking thread, so the test server keeps answering the requests it makes: success, stdout,
/// stderr.
async fn run_tool(program: PathBuf, args: Vec<String>) -> (bool, String, String) {
    tokio::task::spawn_blocking(move || {
        let output = std::process::Command::new(&program)
            .args(&args)
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
        let (stdout, stderr) = (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        );
        (output.status.success(), stdout, stderr)
    })
    .await
    .unwrap()
}

const RDFLIB_CHECK: &str = r#"
import sys
import rdflib
from rdflib.compare import isomorphic
from rdflib.namespace import RDF, DCAT

ttl, jsonld = sys.argv[1:3]
g_ttl = rdflib.Graph().parse(ttl, format="turtle")
g_json = rdflib.Graph().parse(jsonld, format="json-ld")
assert len(g_ttl) > 0, "no triple"
assert isomorphic(g_ttl, g_json), f"the Turtle ({len(g_ttl)} triples) and JSON-LD ({len(g_json)}) graphs differ"
for g in (g_ttl, g_json):
    n = len(set(g.subjects(RDF.type, DCAT.Dataset)))
    assert n >= 1, f"{n} dcat:Dataset"
print(f"ok: {len(g_ttl)} triples, isomorphic")
"#;

#[tokio::test]
async fn standard_tools_accept_the_served_exports() {
    let Some(venv) = venv() else { return };
    let t = spawn_app().await;
    create(&t, json!({"slug": "births", "title": "村里出生死亡結婚離婚", "publisher": "moi", "frequency": "monthly"}))
        .await;
    let version =
        publish_ok(&t, "births", "births-2024-10.csv", fixture("moi_village_births_deaths_marriages_2024-10.csv"))
            .await;
    let names = column_names(&t, "births").await;
    let (status, body) = put_json(&t, "/api/v1/datasets/births/metadata", &describing(&names), true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let dir = tempfile::tempdir().unwrap();

    // The Data Package as served.
    let response = t.get(&t.url("/api/v1/datasets/births/datapackage.json")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let package = response.text().await.unwrap();
    // The resource downloads in full with a plain HTTP client.
    let path = serde_json::from_str::<Value>(&package).unwrap()["resources"][0]["path"].as_str().unwrap().to_string();
    let csv = t.get(&path).await;
    assert_eq!(csv.status(), StatusCode::OK);
    let csv = csv.text().await.unwrap_or_else(|e| panic!("downloading {path}: {e}"));
    assert_eq!(csv.lines().count() as u64, version["row_count"].as_u64().unwrap() + 1, "{path}");
    // The schema describes the CSV tapwater writes: valid on a local copy of the bytes …
    let mut local: Value = serde_json::from_str(&package).unwrap();
    local["resources"][0]["path"] = json!("births.csv");
    std::fs::write(dir.path().join("births.csv"), &csv).unwrap();
    let local_path = dir.path().join("local-datapackage.json");
    std::fs::write(&local_path, serde_json::to_string_pretty(&local).unwrap()).unwrap();
    let report = frictionless(&venv, &local_path).await;
    assert_eq!(report["tasks"][0]["stats"]["rows"].as_u64(), version["row_count"].as_u64(), "{report:#}");

    // rdflib parses the Turtle and the JSON-LD into one graph.
    let ttl = t.get(&t.url("/api/v1/datasets/births/dcat.ttl")).await.text().await.unwrap();
    let jsonld = t.get(&t.url("/api/v1/datasets/births/dcat.jsonld")).await.text().await.unwrap();
    let (ttl_path, jsonld_path) = (dir.path().join("births.ttl"), dir.path().join("births.jsonld"));
    std::fs::write(&ttl_path, ttl).unwrap();
    std::fs::write(&jsonld_path, jsonld).unwrap();
    let (ok, out, err) = run_tool(
        venv.join("bin/python"),
        vec!["-c".into(), RDFLIB_CHECK.into(), ttl_path.display().to_string(), jsonld_path.display().to_string()],
    )
    .await;
    assert!(ok && out.contains("isomorphic"), "rdflib:\n{out}\n{err}");
    // And the whole catalogue.
    let ttl = t.get(&t.url("/api/v1/catalog/dcat.ttl")).await.text().await.unwrap();
    let jsonld = t.get(&t.url("/api/v1/catalog/dcat.jsonld")).await.text().await.unwrap();
    std::fs::write(&ttl_path, ttl).unwrap();
    std::fs::write(&jsonld_path, jsonld).unwrap();
    let (ok, out, err) = run_tool(
        venv.join("bin/python"),
        vec!["-c".into(), RDFLIB_CHECK.into(), ttl_path.display().to_string(), jsonld_path.display().to_string()],
    )
    .await;
    assert!(ok && out.contains("isomorphic"), "rdflib on the catalogue:\n{out}\n{err}");

    // … and as served: frictionless fetches the resource from this server itself.
    let package_path = dir.path().join("datapackage.json");
    std::fs::write(&package_path, &package).unwrap();
    let report = frictionless(&venv, &package_path).await;
    assert_eq!(report["tasks"][0]["stats"]["rows"].as_u64(), version["row_count"].as_u64(), "{report:#}");
}

/// `frictionless validate --json` on a package: asserts it is valid, returns the report.
async fn frictionless(venv: &std::path::Path, package: &std::path::Path) -> Value {
    let (ok, out, err) = run_tool(
        venv.join("bin/frictionless"),
        vec!["validate".into(), "--json".into(), package.display().to_string()],
    )
    .await;
    let start =
        out.find('{').unwrap_or_else(|| panic!("no JSON from frictionless on {}:\n{out}\n{err}", package.display()));
    let report: Value = serde_json::from_str(&out[start..]).unwrap_or_else(|e| panic!("{e}:\n{out}\n{err}"));
    assert_eq!(report["valid"], true, "frictionless refuses {}:\n{report:#}", package.display());
    assert!(ok, "{out}\n{err}");
    report
}

fn stderr_lines(output: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr).lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect()
}

#[tokio::test]
async fn cli_prints_the_report_and_edits_metadata() {
    let t = spawn_app().await;
    let p = planted();
    t.publish_new("cases", "cases.csv", p.csv.clone()).await;
    wait_quality(&t, "cases").await;

    // Errors: exit non-zero with one line on stderr; every finding printed with its fix.
    let output = tapwater_cli(&t).args(["quality", "cases"]).output().unwrap();
    assert!(!output.status.success(), "errors exit non-zero");
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "one line: {lines:?}");
    assert!(lines[0].contains("quality_errors"), "{lines:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report = quality(&t, "cases").await;
    for f in report["findings"].as_array().unwrap() {
        assert!(stdout.contains(f["code"].as_str().unwrap()), "{}: {stdout}", f["code"]);
        assert!(stdout.contains(f["fix"].as_str().unwrap()), "the fix of {}: {stdout}", f["code"]);
    }
    let json_output = tapwater_cli(&t).args(["quality", "cases", "--json"]).output().unwrap();
    assert!(!json_output.status.success());
    let printed: Value = serde_json::from_slice(&json_output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&json_output.stdout)));
    assert_eq!(printed["dataset"], "cases");
    assert_eq!(printed["score"], report["score"], "{printed}");
    assert_eq!(printed["findings"].as_array().unwrap().len(), report["findings"].as_array().unwrap().len());
    assert_report_shape(&printed);

    // metadata set / show / import-schema / export.
    let file = t.dir.path().join("metadata.json");
    std::fs::write(
        &file,
        json!({"title_en": "Cases by district", "contact": {"name": "資料科", "email": "data@example.gov.tw"}})
            .to_string(),
    )
    .unwrap();
    let output = tapwater_cli(&t).args(["metadata", "set", "cases"]).arg(&file).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let output = tapwater_cli(&t).args(["metadata", "show", "cases"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let shown: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(shown["title_en"], "Cases by district", "{shown}");
    assert_eq!(shown["contact"]["email"], "data@example.gov.tw", "{shown}");
    let (_, over_http) = t.get_json(&t.url("/api/v1/datasets/cases/metadata")).await;
    assert_eq!(over_http, shown, "the server reads what the CLI wrote");

    let bad = t.dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"contact": {"email": "not-an-email"}}"#).unwrap();
    let output = tapwater_cli(&t).args(["metadata", "set", "cases"]).arg(&bad).output().unwrap();
    assert!(!output.status.success());
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("contact.email"), "names the member: {lines:?}");
    std::fs::write(&bad, r#"{"colour": 1}"#).unwrap();
    let output = tapwater_cli(&t).args(["metadata", "set", "cases"]).arg(&bad).output().unwrap();
    assert!(!output.status.success());
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("colour"), "names the member: {lines:?}");

    let schema = t.dir.path().join("schema.json");
    std::fs::write(
        &schema,
        json!({"fields": [{"name": "案件數", "type": "string", "description": "每月案件數"}, {"name": "編號", "type": "integer"}],
               "primaryKey": "編號"})
        .to_string(),
    )
    .unwrap();
    let output = tapwater_cli(&t).args(["metadata", "import-schema", "cases"]).arg(&schema).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let (_, metadata) = t.get_json(&t.url("/api/v1/datasets/cases/metadata")).await;
    assert_eq!(metadata["primary_key"], json!(["編號"]), "{metadata}");
    assert_eq!(metadata["title_en"], "Cases by district", "the import keeps the rest: {metadata}");
    assert!(metadata["fields"].as_array().unwrap().iter().any(|f| f["description"] == "每月案件數"), "{metadata}");

    let output = tapwater_cli(&t).args(["metadata", "export", "cases", "--format", "dcat-turtle"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let turtle = String::from_utf8_lossy(&output.stdout);
    assert!(turtle.contains("dcat:Dataset") && turtle.contains("Cases by district"), "{turtle}");

    // A dataset declared in full has no error: the command passes.
    create(&t, json!({"slug": "clean", "title": "村里出生死亡", "publisher": "moi"})).await;
    publish_ok(&t, "clean", "births-2024-10.csv", fixture("moi_village_births_deaths_marriages_2024-10.csv")).await;
    wait_quality(&t, "clean").await;
    let names = column_names(&t, "clean").await;
    let mut metadata = describing(&names);
    metadata["encoding"] = json!("UTF-8");
    let (status, body) = put_json(&t, "/api/v1/datasets/clean/metadata", &metadata, true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let output = tapwater_cli(&t).args(["quality", "clean", "--json"]).output().unwrap();
    let printed: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)));
    let errors: Vec<&Value> =
        printed["findings"].as_array().unwrap().iter().filter(|f| f["severity"] == "error").collect();
    assert!(errors.is_empty(), "errors left on a declared clean file: {errors:#?}");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let output = tapwater_cli(&t).args(["quality", "clean"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// The dataset page carries the schema.org `Dataset` a search engine reads, and shows the quality a user trusts.
#[tokio::test]
async fn the_dataset_page_embeds_schema_org_and_shows_quality() {
    let t = spawn_app().await;
    let (status, body) = t
        .create_dataset(json!({"slug": "births", "title": "村里出生數 <2024>", "description": "內政部村里出生、死亡、結婚及離婚登記。"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let bytes = std::fs::read(fixture_path("moi_village_births_deaths_marriages_2024-10.csv")).unwrap();
    let (status, _) = t.publish("births", "births.csv", bytes).await;
    assert_eq!(status, StatusCode::CREATED);
    let report = wait_quality(&t, "births").await;

    let page = t.get(&t.url("/datasets/births")).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("村里出生數 &lt;2024&gt;"), "the title is escaped");
    assert!(!html.contains("https://cdn"), "nothing loaded from the Internet");
    let start = html.find("<script type=\"application/ld+json\">").expect("JSON-LD embedded") + 35;
    let end = start + html[start..].find("</script>").unwrap();
    let json_ld: Value = serde_json::from_str(&html[start..end]).unwrap();
    assert_eq!(json_ld["@type"], "Dataset");
    assert_eq!(json_ld["name"], "村里出生數 <2024>");
    let (_, api) = t.get_json(&t.url("/api/v1/datasets/births/schema.org.jsonld")).await;
    assert_eq!(json_ld, api, "the page embeds exactly what the API serves");
    assert!(html.contains(&format!("<span class=\"score\">{}</span>", report["score"])), "the score is shown");
    for field in ["統計年月", "區域別"] {
        assert!(html.contains(&format!("<td>{field}</td>")), "column {field} listed");
    }
    let missing = t.get(&t.url("/datasets/nothing-here")).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

/// A dataset's links lead to its quality report, metadata and standard forms, and every one of them answers.
#[tokio::test]
async fn dataset_links_lead_to_quality_metadata_and_standards() {
    let t = spawn_app().await;
    t.publish_new("linked", "linked.csv", generated_csv(20)).await;
    let (_, dataset) = t.get_json(&t.url("/api/v1/datasets/linked")).await;
    let links = &dataset["links"];
    let mut urls = vec![links["quality"].clone(), links["metadata"].clone(), links["page"].clone()];
    urls.extend(links["standards"].as_object().unwrap().values().cloned());
    assert_eq!(links["standards"].as_object().unwrap().len(), 5, "{links}");
    for url in urls {
        let url = url.as_str().unwrap_or_else(|| panic!("a link is missing: {links}"));
        let response = t.get(&t.url(url)).await;
        assert_eq!(response.status(), StatusCode::OK, "{url}");
    }

    // Editors can run the checks again over HTTP; anonymous callers cannot.
    let before = wait_quality(&t, "linked").await;
    let recheck = t.url("/api/v1/datasets/linked/quality/recheck");
    let anonymous = t.client.post(&recheck).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let response = t.client.post(&recheck).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let fresh: Value = response.json().await.unwrap();
    assert_eq!(fresh["status"], "ready");
    assert!(fresh["checked_at"].as_str().unwrap() > before["checked_at"].as_str().unwrap(), "{fresh}");
}
