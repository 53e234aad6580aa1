//! Every error path: the right status, a stable code, the offending parameter, a message in the reader's language,
//! and nothing internal leaking out.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn query_errors_name_the_parameter() {
    let t = spawn_app().await;
    t.publish_new("dd", "d.csv", DISTRICTS_CSV).await;
    let cases: Vec<(Vec<(&str, &str)>, &str, &str)> = vec![
        (vec![("不存在", "1")], "unknown_column", "不存在"),
        (vec![("人數__near", "1")], "unknown_operator", "人數__near"),
        (vec![("人數__gt", "三")], "invalid_filter_value", "人數__gt"),
        (vec![("日期__gte", "2020-02-30")], "invalid_filter_value", "日期__gte"),
        (vec![("人數__contains", "1")], "operator_not_applicable", "人數__contains"),
        (vec![("_limit", "10001")], "invalid_parameter", "_limit"),
        (vec![("_limit", "many")], "invalid_parameter", "_limit"),
        (vec![("_sort", "nope")], "unknown_column", "_sort"),
        (vec![("_fields", "行政區,nope")], "unknown_column", "_fields"),
        (vec![("_cursor", "garbage")], "invalid_cursor", "_cursor"),
        (vec![("_format", "xml")], "invalid_format", "_format"),
        (vec![("_filters", "not json")], "invalid_parameter", "_filters"),
    ];
    for (pairs, code, param) in cases {
        let (status, body) = t.get_json(&t.url_with("/api/v1/datasets/dd/rows", &pairs)).await;
        let error = assert_error(status, &body, StatusCode::BAD_REQUEST, code);
        assert_eq!(error["param"], param, "{pairs:?}: {body}");
    }
    let (status, body) = t.get_json(&t.url_with("/api/v1/datasets/dd/aggregate", &[("_sum", "行政區")])).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "operator_not_applicable");
    let (status, body) = t.get_json(&t.url("/api/v1/datasets/dd/rows?_version=9")).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "version_not_found");
}

#[tokio::test]
async fn a_cursor_is_bound_to_its_query() {
    let t = spawn_app().await;
    t.publish_new("gg", "g.csv", generated_csv(50)).await;
    let (_, page) = t.get_json(&t.url("/api/v1/datasets/gg/rows?_limit=10&_sort=value")).await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let (status, body) = t
        .get_json(
            &t.url_with("/api/v1/datasets/gg/rows", &[("_limit", "10"), ("_sort", "-value"), ("_cursor", cursor)]),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_cursor");
}

#[tokio::test]
async fn messages_follow_accept_language() {
    let t = spawn_app().await;
    let zh = t
        .client
        .get(t.url("/api/v1/datasets/missing"))
        .header("accept-language", "zh-TW,zh;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(zh.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = zh.json().await.unwrap();
    assert_eq!(body["error"]["code"], "dataset_not_found");
    assert!(body["error"]["message"].as_str().unwrap().contains("找不到資料集"), "{body}");
    let (_, en) = t.get_json(&t.url("/api/v1/datasets/missing")).await;
    assert!(en["error"]["message"].as_str().unwrap().starts_with("There is no dataset"), "{en}");
}

#[tokio::test]
async fn catalog_and_protocol_errors() {
    let t = spawn_app().await;
    for (path, code) in [
        ("/api/v1/datasets/missing/rows", "dataset_not_found"),
        ("/api/v1/datasets/missing/download", "dataset_not_found"),
        ("/api/v1/datasets/NOT-A-SLUG", "dataset_not_found"),
        ("/api/v1/nothing-here", "not_found"),
    ] {
        let (status, body) = t.get_json(&t.url(path)).await;
        assert_error(status, &body, StatusCode::NOT_FOUND, code);
    }
    let response = t.client.delete(t.url("/api/v1/datasets")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "method_not_allowed");

    // Metadata validation.
    for (input, code, param) in [
        (json!({"slug": "Bad Slug"}), "invalid_slug", "slug"),
        (json!({"slug": "ok-slug", "license": "WTFPL"}), "unknown_license", "license"),
        (json!({"slug": "ok-slug", "frequency": "hourly"}), "invalid_frequency", "frequency"),
        (json!({"slug": "ok-slug", "publisher": "Bad Org"}), "invalid_slug", "publisher"),
    ] {
        let (status, body) = t.create_dataset(input).await;
        let error = assert_error(status, &body, StatusCode::BAD_REQUEST, code);
        assert_eq!(error["param"], param);
    }
    let (status, _) = t.create_dataset(json!({"slug": "dup"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = t.create_dataset(json!({"slug": "dup"})).await;
    assert_error(status, &body, StatusCode::CONFLICT, "dataset_exists");
    // Nothing published yet.
    let (status, body) = t.get_json(&t.url("/api/v1/datasets/dup/rows")).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "no_version");

    // Malformed JSON and the wrong content type.
    let response = t
        .client
        .post(t.url("/api/v1/datasets"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_body");
    let response = t
        .client
        .post(t.url("/api/v1/datasets"))
        .bearer_auth(TOKEN)
        .header("content-type", "text/plain")
        .body("slug=x")
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_error(status, &body, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    // Publishing to a dataset that does not exist.
    let (status, body) = t.publish("ghost", "g.csv", "a\n1\n").await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "dataset_not_found");
    // Text in an encoding tapwater does not decode (UTF-32) is refused with a clear 415 naming it.
    t.create_dataset(json!({"slug": "utf32"})).await;
    let utf32: Vec<u8> =
        b"\xFF\xFE\0\0".iter().copied().chain("a,b\n1,2\n".chars().flat_map(|c| (c as u32).to_le_bytes())).collect();
    let (status, body) = t.publish("utf32", "prof.csv", utf32).await;
    let error = assert_error(status, &body, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_encoding");
    assert!(error["message"].as_str().unwrap().contains("UTF-32"), "{error}");
}
