//! Pipelines per dataset, transform logs, append mode, yearly series and the dry run, over HTTP against the real
//! server (and the `tapwater check` / `pipeline` / `publish --mode` commands), on real agency files.

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::support::*;
use crate::support::{fixture_path as fixture, tapwater_cli as tapwater};

async fn put_pipeline(t: &TestApp, slug: &str, content_type: &str, body: &str) -> (StatusCode, Value) {
    let response = t
        .client
        .put(t.url(&format!("/api/v1/datasets/{slug}/pipeline")))
        .bearer_auth(TOKEN)
        .header("content-type", content_type)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// Sends files as `file` parts of a multipart body to `path`, with extra text parts.
async fn post_files(
    t: &TestApp,
    path: &str,
    files: &[(&str, Vec<u8>)],
    fields: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut form = Form::new();
    for (name, bytes) in files {
        form = form.part("file", Part::bytes(bytes.clone()).file_name(name.to_string()));
    }
    for (name, value) in fields {
        form = form.text(name.to_string(), value.to_string());
    }
    let response = t.client.post(t.url(path)).bearer_auth(TOKEN).multipart(form).send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")))
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

#[tokio::test]
async fn pipeline_put_get_revisions_and_validation_errors() {
    let t = spawn_app().await;
    t.create_dataset(json!({"slug": "accidents", "title": "A1"})).await;
    let (status, view) = t.get_json(&t.url("/api/v1/datasets/accidents/pipeline")).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["revision"], Value::Null);
    assert_eq!(view["pipeline"], json!({}));

    let (status, r1) =
        put_pipeline(&t, "accidents", "application/json", r#"{"renames":{"傷者人數":"受傷人數"}}"#).await;
    assert_eq!(status, StatusCode::OK, "{r1}");
    assert_eq!(r1["revision"], 1);
    assert_eq!(r1["created_by"], "admin-token");
    let toml = "primary_key = [\"編號\"]\n[types]\n\"郵遞區號\" = \"text\"\n[eudc]\n\"95CD\" = \"塩\"\n";
    let (status, r2) = put_pipeline(&t, "accidents", "application/toml", toml).await;
    assert_eq!(status, StatusCode::OK, "{r2}");
    assert_eq!(r2["revision"], 2);
    // The same pipeline again makes no new revision.
    let (_, again) = put_pipeline(&t, "accidents", "application/toml; charset=utf-8", toml).await;
    assert_eq!(again["revision"], 2);
    let (_, view) = t.get_json(&t.url("/api/v1/datasets/accidents/pipeline")).await;
    assert_eq!(view["revision"], 2);
    assert_eq!(view["pipeline"]["types"]["郵遞區號"], "text");
    assert_eq!(view["pipeline"]["eudc"]["95CD"], "塩");
    let (_, revisions) = t.get_json(&t.url("/api/v1/datasets/accidents/pipeline/revisions")).await;
    let revisions = revisions.as_array().unwrap();
    assert_eq!(revisions.len(), 2);
    assert_eq!(revisions[0]["revision"], 2);
    assert_eq!(revisions[1]["pipeline"]["renames"]["傷者人數"], "受傷人數");

    for (content_type, body, param) in [
        ("application/json", r#"{"normalizers":{"roc_dat":false}}"#, "pipeline.normalizers.roc_dat"),
        ("application/json", r#"{"types":{"郵遞區號":"txt"}}"#, "pipeline.types.郵遞區號"),
        ("application/json", r#"{"eudc":{"95C":"塩"}}"#, "pipeline.eudc.95C"),
        ("application/json", r#"{"renames":{"傷者人數":""}}"#, "pipeline.renames.傷者人數"),
        ("application/json", r#"{"renamez":{}}"#, "pipeline.renamez"),
        ("application/toml", "[normalizers]\nfullwidht = false\n", "pipeline.normalizers.fullwidht"),
    ] {
        let (status, body) = put_pipeline(&t, "accidents", content_type, body).await;
        let error = assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_pipeline");
        assert_eq!(error["param"], param, "{body}");
    }
    // Nothing invalid was stored.
    let (_, view) = t.get_json(&t.url("/api/v1/datasets/accidents/pipeline")).await;
    assert_eq!(view["revision"], 2);

    let (status, body) = put_pipeline(&t, "accidents", "text/csv", "a,b").await;
    assert_error(status, &body, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let (status, body) = put_pipeline(&t, "nope", "application/json", "{}").await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "dataset_not_found");
    let anonymous = t
        .client
        .put(t.url("/api/v1/datasets/accidents/pipeline"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_rename_changes_the_next_version_and_the_log_says_so() {
    let t = spawn_app().await;
    let v1 = t.publish_new("injuries", "102.csv", "編號,傷者人數\n1,3\n2,5\n").await;
    assert_eq!(v1["schema"]["fields"][1]["name"], "傷者人數");
    let (status, _) = put_pipeline(&t, "injuries", "application/json", r#"{"renames":{"傷者人數":"受傷人數"}}"#).await;
    assert_eq!(status, StatusCode::OK);
    let (status, v2) = t.publish("injuries", "103.csv", "編號,傷者人數\n1,4\n").await;
    assert_eq!(status, StatusCode::CREATED, "{v2}");
    let field = &v2["schema"]["fields"][1];
    assert_eq!(field["name"], "受傷人數");
    assert_eq!(field["aliases"], json!(["傷者人數"]));

    // The version records the pipeline revision, its file and the rename in its transform log.
    let (status, log) = t.get_json(&t.url("/api/v1/datasets/injuries/versions/2/transforms")).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    assert_eq!(log["pipeline_revision"], 1);
    assert_eq!(log["files"][0]["name"], "103.csv");
    assert_eq!(log["files"][0]["rows"], 1);
    assert_eq!(log["files"][0]["sha256"].as_str().unwrap().len(), 64);
    let entries = log["transform_log"]["entries"].as_array().unwrap();
    assert!(entries.iter().any(|e| e["rule"] == "rename" && e["column"] == "受傷人數"), "{log}");
    let (_, current) = t.get_json(&t.url("/api/v1/datasets/injuries/transforms")).await;
    assert_eq!(current["seq"], 2);
    let (_, old) = t.get_json(&t.url("/api/v1/datasets/injuries/versions/1/transforms")).await;
    assert_eq!(old["pipeline_revision"], Value::Null);
    let (status, body) = t.get_json(&t.url("/api/v1/datasets/injuries/versions/9/transforms")).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "version_not_found");

    // Filters by the new name, and by the old one (an alias).
    let (status, rows) = t.get_json(&t.url_with("/api/v1/datasets/injuries/rows", &[("受傷人數", "4")])).await;
    assert_eq!(status, StatusCode::OK, "{rows}");
    assert_eq!(rows["total"], 1);
    let (status, rows) = t.get_json(&t.url_with("/api/v1/datasets/injuries/rows", &[("傷者人數", "4")])).await;
    assert_eq!(status, StatusCode::OK, "the old name is an alias: {rows}");
    assert_eq!(rows["total"], 1);
}

#[tokio::test]
async fn append_twice_adds_rows_with_a_source_file_column_and_stable_types() {
    let t = spawn_app().await;
    t.publish_new("monthly", "2024-01.csv", "日期,件數\n2024-01-05,3\n2024-01-20,4\n").await;
    let append = |name: &'static str, body: &'static str| {
        let t = &t;
        async move {
            let response = t
                .client
                .post(t.url_with("/api/v1/datasets/monthly/versions", &[("filename", name), ("mode", "append")]))
                .bearer_auth(TOKEN)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let (status, v2) = append("2024-02.csv", "日期,件數\n2024-02-01,7\n").await;
    assert_eq!(status, StatusCode::CREATED, "{v2}");
    assert_eq!(v2["row_count"], 3);
    let (status, v3) = append("2024-03.csv", "日期,件數\n2024-03-09,1\n2024-03-10,2\n2024-03-31,0\n").await;
    assert_eq!(status, StatusCode::CREATED, "{v3}");
    assert_eq!(v3["row_count"], 6);
    let fields = v3["schema"]["fields"].as_array().unwrap();
    assert_eq!(fields[0]["name"], "source_file");
    assert_eq!(fields[0]["role"], "source_file");
    assert_eq!(fields[1]["type"], "date");
    assert_eq!(fields[2]["type"], "integer");
    let (_, rows) = t
        .get_json(&t.url_with("/api/v1/datasets/monthly/rows", &[("source_file", "2024-03.csv"), ("_sort", "-件數")]))
        .await;
    assert_eq!(rows["total"], 3, "{rows}");
    assert_eq!(rows["rows"][0]["件數"], 2);
    let (_, log) = t.get_json(&t.url("/api/v1/datasets/monthly/transforms")).await;
    let names: Vec<&str> = log["files"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["2024-01.csv", "2024-02.csv", "2024-03.csv"]);
    let rows: Vec<u64> = log["files"].as_array().unwrap().iter().map(|f| f["rows"].as_u64().unwrap()).collect();
    assert_eq!(rows, [2, 1, 3]);
    // Files carried over are stored once: v3 points at v1's original.
    assert_eq!(log["files"][0]["path"].as_str().unwrap(), format!("versions/{}/original", version_id(&t, 1).await));

    let (status, body) = append("x.csv", "a\n1\n").await;
    assert_eq!(status, StatusCode::CREATED, "{body}"); // a new column is fine: it is added, earlier rows null
    let response = t
        .client
        .post(t.url_with("/api/v1/datasets/monthly/versions", &[("mode", "merge")]))
        .bearer_auth(TOKEN)
        .body("a\n1\n")
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_parameter")["param"], "mode");
}

async fn version_id(t: &TestApp, seq: i64) -> String {
    let (_, v1) = t.get_json(&t.url(&format!("/api/v1/datasets/monthly/versions/{seq}"))).await;
    v1["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn an_npa_series_with_the_proposed_mapping_becomes_one_table() {
    let t = spawn_app().await;
    let names = [
        "npa_a1_traffic_accidents_roc102_2013.csv",
        "npa_a1_traffic_accidents_roc105_2016.csv",
        "npa_a1_traffic_accidents_2018.csv",
    ];
    let files: Vec<(&str, Vec<u8>)> = names.iter().map(|n| (*n, read(n))).collect();
    let (status, check) = post_files(&t, "/api/v1/check", &files, &[]).await;
    assert_eq!(status, StatusCode::OK, "{check}");
    let mapping = check["mapping"].as_array().unwrap();
    let place = mapping.iter().find(|p| p["target"] == "發生地點").unwrap();
    assert_eq!(place["sources"], json!(["發生地點", "發生地點", "發生地點"]));
    let per_file: Vec<u64> = check["files"].as_array().unwrap().iter().map(|f| f["rows"].as_u64().unwrap()).collect();
    assert!(per_file.iter().all(|&r| r > 1000), "{per_file:?}");

    t.create_dataset(json!({"slug": "a1", "title": "A1 交通事故"})).await;
    // Nothing drifted in name between these three years: the mapping groups identical names, renames nothing.
    let renames = check.get("proposed_renames").and_then(Value::as_object).cloned().unwrap_or_default();
    let pipeline = json!({"renames": renames, "source_column": "來源檔案"});
    let (status, _) = put_pipeline(&t, "a1", "application/json", &pipeline.to_string()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, version) = post_files(&t, "/api/v1/datasets/a1/versions", &files, &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{version}");
    assert_eq!(version["row_count"].as_u64().unwrap(), per_file.iter().sum::<u64>());
    assert_eq!(version["row_count"], check["row_count"]);
    assert_eq!(version["schema"]["fields"][0]["name"], "來源檔案");
    assert_eq!(version["schema"]["fields"][0]["role"], "source_file");
    let (_, rows) =
        t.get_json(&t.url_with("/api/v1/datasets/a1/rows", &[("來源檔案", names[1]), ("_limit", "1")])).await;
    assert_eq!(rows["total"].as_u64().unwrap(), per_file[1]);
    let (_, log) = t.get_json(&t.url("/api/v1/datasets/a1/transforms")).await;
    assert_eq!(log["files"].as_array().unwrap().len(), 3);
    assert_eq!(log["pipeline_revision"], 1);

    // A yearly series of 2013, 2016 and 2018: the quality report names the years without a file.
    let mut report = Value::Null;
    for _ in 0..300 {
        report = t.get_json(&t.url("/api/v1/datasets/a1/quality")).await.1;
        if report["status"] == "ready" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let gaps: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "series_gaps" && f["column"] == "來源檔案")
        .collect();
    assert_eq!(gaps.len(), 1, "{report:#}");
    assert_eq!(gaps[0]["examples"], json!(["2014", "2015", "2017"]), "{report:#}");
    assert_eq!(gaps[0]["severity"], "warning");
}

#[tokio::test]
async fn check_reports_format_encoding_and_the_log_of_real_files() {
    let t = spawn_app().await;
    let (status, report) =
        post_files(&t, "/api/v1/check", &[("1040826.csv", read("tainan_dengue_cases_roc1040826_big5.csv"))], &[]).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["files"][0]["format"], "csv");
    assert!(report["files"][0]["encoding"].as_str().unwrap().to_lowercase().contains("big5"), "{report}");
    assert!(!report["transform_log"]["entries"].as_array().unwrap().is_empty());
    assert_eq!(report["sample"].as_array().unwrap().len(), 10);
    assert_eq!(report["sample"][0]["編號"], 1);
    assert!(report["schema"]["fields"].as_array().unwrap().iter().any(|f| f["name"] == "里別"));

    let xls = "tainan_dengue_cases_by_district_roc1040822.xls";
    let (status, report) = post_files(&t, "/api/v1/check", &[(xls, read(xls))], &[]).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["files"][0]["format"], "xls");
    assert!(
        report["transform_log"]["entries"].as_array().unwrap().iter().any(|e| e["rule"] == "total_row"),
        "{report}"
    );

    // With a pipeline part, and with a dataset's pipeline.
    let (status, report) = post_files(
        &t,
        "/api/v1/check",
        &[("a.csv", "編號,傷者人數\n1,3\n".into())],
        &[("pipeline", r#"{"renames":{"傷者人數":"受傷人數"}}"#)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["schema"]["fields"][1]["name"], "受傷人數");
    let (status, body) =
        post_files(&t, "/api/v1/check", &[("a.csv", "a\n1\n".into())], &[("pipeline", r#"{"eudc":{"zz":"x"}}"#)]).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_pipeline");
    let (status, body) = post_files(&t, "/api/v1/check", &[("a.csv", "a\n1\n".into())], &[("dataset", "nope")]).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "dataset_not_found");
    let (status, body) = post_files(&t, "/api/v1/check", &[("bad.csv", "a,b\n1,2\n1,2,3\n".into())], &[]).await;
    assert_error(status, &body, StatusCode::UNPROCESSABLE_ENTITY, "malformed_file");

    // The dry run needs the token, like publishing, and stores nothing.
    let form = Form::new().part("file", Part::bytes(b"a\n1\n".to_vec()).file_name("a.csv"));
    let anonymous = t.client.post(t.url("/api/v1/check")).multipart(form).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let (_, list) = t.get_json(&t.url("/api/v1/datasets")).await;
    assert_eq!(list["total"], 0);
}

#[tokio::test]
async fn cli_check_prints_for_people_and_as_json_and_writes_the_series_pipeline() {
    let t = spawn_app().await;
    let file = fixture("npa_a1_traffic_accidents_roc105_2016.csv");
    let output = tapwater(&t).arg("check").arg(&file).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout);
    for heading in
        ["Files / 檔案", "Columns / 欄位", "Transform log / 轉換紀錄", "Problems / 問題", "First 10 rows / 前 10 列"]
    {
        assert!(text.contains(heading), "{heading} in {text}");
    }
    assert!(text.contains("發生地點"));

    let output = tapwater(&t).arg("check").arg(&file).arg("--json").output().unwrap();
    assert!(output.status.success());
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["files"][0]["format"], "csv");
    assert!(report["files"][0]["encoding"].as_str().unwrap().to_lowercase().contains("utf-8"));
    assert_eq!(report["sample"].as_array().unwrap().len(), 10);

    let series = t.dir.path().join("series.toml");
    let output = tapwater(&t)
        .arg("check")
        .arg(fixture("tainan_dengue_cases_roc1040826_big5.csv"))
        .arg(fixture("tainan_dengue_cases_0829_big5.csv"))
        .arg("--write-pipeline")
        .arg(&series)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let toml = std::fs::read_to_string(&series).unwrap();
    assert!(toml.contains("\"發病日\" = \"確診日期\""), "{toml}");
    assert!(toml.contains("\"Latitude(緯度)\" = \"緯度座標\""), "{toml}");

    // Publishing with the confirmed mapping: one table under the newest names.
    let output = tapwater(&t)
        .args(["publish", "--dataset", "dengue", "--quiet", "--pipeline"])
        .arg(&series)
        .arg(fixture("tainan_dengue_cases_roc1040826_big5.csv"))
        .arg(fixture("tainan_dengue_cases_0829_big5.csv"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let (_, detail) = t.get_json(&t.url("/api/v1/datasets/dengue")).await;
    let names: Vec<&str> =
        detail["schema"]["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"確診日期") && names.contains(&"緯度座標"), "{names:?}");
    assert!(!names.contains(&"發病日"), "{names:?}");

    // Unreadable: non-zero, one line naming the file and the line.
    let bad = t.dir.path().join("bad.csv");
    std::fs::write(&bad, "a,b\n1,2\n1,2,3\n").unwrap();
    let output = tapwater(&t).arg("check").arg(&bad).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("bad.csv") && lines[0].contains('3'), "{stderr}");
}

#[tokio::test]
async fn cli_pipeline_set_show_and_publish_in_append_mode() {
    let t = spawn_app().await;
    let dir = t.dir.path();
    std::fs::write(dir.join("jan.csv"), "區,件數\n苓雅區,1\n").unwrap();
    std::fs::write(dir.join("feb.csv"), "區,件數\n三民區,2\n").unwrap();
    std::fs::write(dir.join("p.toml"), "[renames]\n\"區\" = \"行政區\"\n").unwrap();
    std::fs::write(dir.join("bad.toml"), "[normalizers]\nnope = true\n").unwrap();
    let run = |args: &[&str]| {
        let output = tapwater(&t).current_dir(dir).args(args).output().unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).to_string(),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    };
    let (ok, _, err) = run(&["publish", "jan.csv", "--dataset", "cases", "--quiet", "--pipeline", "p.toml"]);
    assert!(ok, "{err}");
    let (ok, _, err) = run(&["publish", "feb.csv", "--dataset", "cases", "--quiet", "--mode", "append"]);
    assert!(ok, "{err}");
    let (_, rows) = t.get_json(&t.url_with("/api/v1/datasets/cases/rows", &[("_sort", "件數")])).await;
    assert_eq!(rows["total"], 2, "{rows}");
    assert_eq!(rows["rows"][1]["行政區"], "三民區");
    assert_eq!(rows["rows"][0]["source_file"], "jan.csv");

    let (ok, out, _) = run(&["pipeline", "show", "cases"]);
    assert!(ok);
    assert!(out.contains("revision 1") && out.contains("行政區"), "{out}");
    let (ok, out, err) = run(&["pipeline", "set", "cases", "bad.toml"]);
    assert!(!ok, "{out}");
    assert!(err.contains("normalizers.nope") || err.contains("nope"), "{err}");
    assert!(err.contains("invalid_pipeline"), "{err}");
    std::fs::write(dir.join("p2.json"), r#"{"renames":{"區":"行政區"},"primary_key":["行政區"]}"#).unwrap();
    let (ok, out, err) = run(&["pipeline", "set", "cases", "p2.json"]);
    assert!(ok, "{err}");
    assert!(out.contains("revision 2"), "{out}");
    let (ok, out, _) = run(&["pipeline", "show", "cases", "--revisions"]);
    assert!(ok);
    assert_eq!(out.lines().count(), 2, "{out}");
}

#[tokio::test]
async fn all_tables_publishes_each_sheet_as_its_own_dataset() {
    let t = spawn_app().await;
    let status = tapwater(&t)
        .args(["publish", "--dataset", "labor", "--all-tables", "--quiet"])
        .arg(fixture("tainan_labor_violations_roc103-07-08.xls"))
        .status()
        .unwrap();
    assert!(status.success());
    let (_, list) = t.get_json(&t.url("/api/v1/datasets")).await;
    let mut slugs: Vec<&str> =
        list["datasets"].as_array().unwrap().iter().map(|d| d["slug"].as_str().unwrap()).collect();
    slugs.sort();
    // Sheet names with letters or digits keep them; 範例 (example) has none and gets its position.
    assert_eq!(slugs, ["labor-1", "labor-103-01-02", "labor-103-03-04", "labor-103-05-06"], "{list}");
    for slug in slugs {
        let (_, dataset) = t.get_json(&t.url(&format!("/api/v1/datasets/{slug}"))).await;
        assert_eq!(dataset["current_version"]["seq"], 1, "{slug}: {dataset}");
        let (_, pipeline) = t.get_json(&t.url(&format!("/api/v1/datasets/{slug}/pipeline"))).await;
        assert!(pipeline["pipeline"]["table"].as_str().unwrap().starts_with('#'), "{slug}: {pipeline}");
    }
}
