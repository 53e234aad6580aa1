//! Every real file agencies published (crates/ingest/tests/fixtures, provenance beside them) goes through the HTTP
//! publish endpoint of the real server and reads back as a careful person expects: decoded, shaped, typed, logged.

use std::path::PathBuf;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

fn fixtures() -> PathBuf {
    fixture_path("")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The rules in a version's transform log, with their counts.
fn rules(transforms: &Value) -> Vec<(String, Option<String>, u64)> {
    transforms["transform_log"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["rule"].as_str().unwrap().to_string(),
                e["column"].as_str().map(str::to_string),
                e["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn count_of(transforms: &Value, rule: &str) -> u64 {
    rules(transforms).iter().filter(|(r, _, _)| r == rule).map(|(_, _, n)| n).sum()
}

#[tokio::test]
async fn every_real_file_publishes_and_reads_back() {
    let t = spawn_app().await;
    let mut names: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "PROVENANCE.md")
        .collect();
    names.sort();
    assert_eq!(names.len(), 33, "{names:?}");
    for (i, name) in names.iter().enumerate() {
        let slug = format!("real-{i}");
        let version = t.publish_new(&slug, name, fixture(name)).await;
        let rows = version["row_count"].as_u64().unwrap();
        assert!(rows > 0, "{name}: no rows");
        let fields = version["schema"]["fields"].as_array().unwrap();
        assert!(fields.len() >= 2, "{name}: {fields:?}");
        // No column is named after a data value or left as a raw line-broken header.
        for field in fields {
            let column = field["name"].as_str().unwrap();
            assert!(!column.contains('\n') && !column.trim().is_empty(), "{name}: column {column:?}");
        }
        let (status, page) =
            t.get_json(&t.url_with(&format!("/api/v1/datasets/{slug}/rows"), &[("_limit", "3")])).await;
        assert_eq!(status, StatusCode::OK, "{name}: {page}");
        assert_eq!(page["total"].as_u64(), Some(rows), "{name}");
        let (status, transforms) = t.get_json(&t.url(&format!("/api/v1/datasets/{slug}/transforms"))).await;
        assert_eq!(status, StatusCode::OK, "{name}: {transforms}");
        assert_eq!(
            transforms["files"][0]["name"].as_str().or(transforms["files"][0]["filename"].as_str()),
            Some(name.as_str()),
            "{name}: {transforms}"
        );
        // Nothing is decoded as a replacement character: every byte of every real file has a meaning.
        let (_, all) = t.get_json(&t.url_with(&format!("/api/v1/datasets/{slug}/rows"), &[("_limit", "10000")])).await;
        assert!(!all.to_string().contains('\u{FFFD}'), "{name}: U+FFFD in the rows");
    }
}

#[tokio::test]
async fn big5_village_names_with_user_defined_characters_are_searchable() {
    let t = spawn_app().await;
    let version = t
        .publish_new("dengue", "臺南市登革熱本土病例1040826.csv", fixture("tainan_dengue_cases_roc1040826_big5.csv"))
        .await;
    assert_eq!(version["row_count"], 1977);
    let (_, page) = t.get_json(&t.url_with("/api/v1/datasets/dengue/rows", &[("里別", "塩行里")])).await;
    assert_eq!(page["total"], 4, "{page}");
    let (_, transforms) = t.get_json(&t.url("/api/v1/datasets/dengue/transforms")).await;
    assert_eq!(count_of(&transforms, "eudc"), 7, "{transforms}");
    let dated =
        transforms["transform_log"]["entries"].as_array().unwrap().iter().find(|e| e["rule"] == "file_name_date");
    assert_eq!(dated.unwrap()["examples"][0]["after"], "2015-08-26");
    // 發病日 (`2015/1/16`) is a date column: range filters work.
    let (_, page) = t
        .get_json(&t.url_with("/api/v1/datasets/dengue/rows", &[("發病日__gte", "2015-08-01"), ("_limit", "1")]))
        .await;
    assert!(page["total"].as_u64().unwrap() > 0, "{page}");
}

#[tokio::test]
async fn machine_names_are_aliases_and_roc_dates_are_iso() {
    let t = spawn_app().await;
    let version =
        t.publish_new("births", "births-2016-04.csv", fixture("moi_village_births_deaths_marriages_2016-04.csv")).await;
    assert_eq!(version["row_count"], 7851);
    let field = &version["schema"]["fields"][0];
    assert_eq!((field["name"].as_str(), &field["aliases"][0]), (Some("統計年月"), &Value::from("statistic_yyymm")));
    // The Chinese label and the machine name filter alike; the ROC year-month 10504 is served as 2016-04.
    let (_, by_label) = t.get_json(&t.url_with("/api/v1/datasets/births/rows", &[("統計年月", "2016-04")])).await;
    let (_, by_alias) = t
        .get_json(&t.url_with(
            "/api/v1/datasets/births/rows",
            &[("statistic_yyymm", "2016-04"), ("_fields", "site_id,village")],
        ))
        .await;
    assert_eq!(by_label["total"], 7851, "{by_label}");
    assert_eq!(by_alias["total"], 7851, "{by_alias}");
    assert_eq!(by_alias["rows"][0].as_object().unwrap().len(), 2, "{by_alias}");

    // ROC slash dates become dates; `//` is no date; a filter may be written in either calendar.
    t.publish_new(
        "committees",
        "公寓大廈管理組織.csv",
        fixture("tainan_apartment_management_committees_roc_slash_dates.csv"),
    )
    .await;
    let (_, iso) = t
        .get_json(&t.url_with("/api/v1/datasets/committees/rows", &[("成立核准日期", "2022-01-24"), ("_limit", "1")]))
        .await;
    let (_, roc) = t
        .get_json(&t.url_with("/api/v1/datasets/committees/rows", &[("成立核准日期", "111/01/24"), ("_limit", "1")]))
        .await;
    assert!(iso["total"].as_u64().unwrap() > 0, "{iso}");
    assert_eq!(iso["total"], roc["total"]);
    let (_, nulls) = t
        .get_json(&t.url_with("/api/v1/datasets/committees/rows", &[("成立核准日期__isnull", "true"), ("_limit", "0")]))
        .await;
    assert_eq!(nulls["total"], 15, "14 `//` and one impossible 086/08/00: {nulls}");
}

#[tokio::test]
async fn spreadsheets_utf16_and_xml_are_tables() {
    let t = spawn_app().await;
    // An Excel 97 file named .ods: read as XLS, the mismatch reported.
    let version = t.publish_new("rfarea", "rfarea.ods", fixture("cec_2022_referendum_rfarea_really_xls.ods")).await;
    assert!(version["row_count"].as_u64().unwrap() >= 8146, "{}", version["row_count"]);
    let (_, transforms) = t.get_json(&t.url("/api/v1/datasets/rfarea/transforms")).await;
    assert_eq!(count_of(&transforms, "format_mismatch"), 1, "{transforms}");

    // UTF-16 tab-separated text named .csv.
    let version = t
        .publish_new(
            "education",
            "education-2013.csv",
            fixture("moi_village_education_level_roc102_2013_utf16_tab.csv"),
        )
        .await;
    assert_eq!(version["row_count"], 7839);

    // A workbook with a title row, a two-row header and an example sheet.
    let version = t.publish_new("labor", "103年7月-8月.xls", fixture("tainan_labor_violations_roc103-07-08.xls")).await;
    let names: Vec<&str> =
        version["schema"]["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"違反法令條款"), "{names:?}");

    // CWB's XML: one row per station, key-value elements as columns, `-99` kept unless declared a sentinel.
    let version =
        t.publish_new("weather", "O-A0003-001.xml", fixture("cwb_O-A0003-001_station_obs_2014-03-14.xml")).await;
    assert_eq!(version["row_count"], 30);
    let (_, page) =
        t.get_json(&t.url_with("/api/v1/datasets/weather/rows", &[("TEMP__gt", "10"), ("_limit", "0")])).await;
    assert!(page["total"].as_u64().unwrap() > 0, "{page}");

    // TWD97 coordinates gain WGS84 columns, so the parking lots are a map.
    t.publish_new("parking", "TCMSV_alldesc.json", fixture("taipei_parking_lots_TCMSV_alldesc_2023-01-28.json")).await;
    let response =
        t.get(&t.url_with("/api/v1/datasets/parking/rows", &[("_format", "geojson"), ("_limit", "5")])).await;
    assert_eq!(response.status(), StatusCode::OK);
    let geojson: Value = response.json().await.unwrap();
    let point = &geojson["features"][0]["geometry"]["coordinates"];
    let (lon, lat) = (point[0].as_f64().unwrap(), point[1].as_f64().unwrap());
    assert!((121.4..121.7).contains(&lon) && (24.9..25.3).contains(&lat), "Taipei: {point}");
}

#[tokio::test]
async fn dry_run_reports_without_publishing() {
    let t = spawn_app().await;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(fixture("tainan_dengue_cases_by_district_roc1040822.xls"))
            .file_name("104年台南市本土病例數1040822.xls"),
    );
    let response = t.client.post(t.url("/api/v1/check")).bearer_auth(TOKEN).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["files"][0]["format"], "xls", "{report}");
    let log = report["transform_log"]["entries"].as_array().unwrap();
    for rule in ["title_row", "total_row", "footnote_row"] {
        assert!(log.iter().any(|e| e["rule"] == rule), "{rule} missing: {report}");
    }
    let (_, datasets) = t.get_json(&t.url("/api/v1/datasets")).await;
    assert_eq!(datasets["total"], 0, "a check publishes nothing: {datasets}");
}
