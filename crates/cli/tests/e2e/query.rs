//! The rows and aggregate endpoints: filters by type, Chinese names, sorting, projection, keyset paging, formats.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

fn ids(body: &Value) -> Vec<i64> {
    body["rows"].as_array().unwrap().iter().map(|r| r["編號"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn filters_compare_by_column_type_with_chinese_names() {
    let t = spawn_app().await;
    t.publish_new("dd", "d.csv", DISTRICTS_CSV).await;
    let rows = |pairs: Vec<(&'static str, &'static str)>| {
        let url = t.url_with("/api/v1/datasets/dd/rows", &pairs);
        let t = &t;
        async move { t.get_json(&url).await }
    };
    let cases: Vec<(Vec<(&str, &str)>, Vec<i64>)> = vec![
        (vec![("行政區", "苓雅區")], vec![1, 3]),
        (vec![("行政區__ne", "苓雅區")], vec![2, 4, 5]),
        (vec![("人數__gt", "3")], vec![3, 5]),
        (vec![("人數__gte", "3"), ("人數__lte", "7")], vec![1, 3]),
        (vec![("日期__gte", "2020-01-01"), ("日期__lt", "2021-12-31")], vec![1, 2, 3]),
        (vec![("發生時間__lt", "2020-01-05T09:00:00")], vec![1, 4]),
        (vec![("時間__gte", "17:00")], vec![3, 4]),
        (vec![("比例__lte", "0.5")], vec![1, 2]),
        (vec![("有效", "true")], vec![1, 3, 5]),
        (vec![("行政區__in", "苓雅區,鳳山區")], vec![1, 3, 4]),
        (vec![("備註__in", r#"["含,逗號","x"]"#)], vec![1, 5]),
        (vec![("備註__contains", "中文")], vec![3]),
        (vec![("行政區__startswith", "三")], vec![2, 5]),
        (vec![("人數__isnull", "true")], vec![4]),
        (vec![("比例__isnull", "false")], vec![1, 2, 3, 4]),
        (vec![("代碼", "003")], vec![3]),
        (vec![("_filters", r#"[["人數","gt","1"],["行政區","eq","三民區"]]"#)], vec![5]),
    ];
    for (pairs, want) in cases {
        let (status, body) = rows(pairs.clone()).await;
        assert_eq!(status, StatusCode::OK, "{pairs:?}: {body}");
        assert_eq!(ids(&body), want, "{pairs:?}");
        assert_eq!(body["total"], want.len() as i64, "{pairs:?}");
    }
}

#[tokio::test]
async fn sort_fields_limit_offset_and_values() {
    let t = spawn_app().await;
    t.publish_new("dd", "d.csv", DISTRICTS_CSV).await;
    let (_, body) = t.get_json(&t.url_with("/api/v1/datasets/dd/rows", &[("_sort", "-人數")])).await;
    // Nulls sort last.
    assert_eq!(ids(&body), vec![5, 3, 1, 2, 4]);
    let (_, body) = t.get_json(&t.url_with("/api/v1/datasets/dd/rows", &[("_sort", "行政區,-編號")])).await;
    let districts: Vec<&str> = body["rows"].as_array().unwrap().iter().map(|r| r["行政區"].as_str().unwrap()).collect();
    let mut sorted = districts.clone();
    sorted.sort();
    assert_eq!(districts, sorted);
    let (_, body) = t
        .get_json(
            &t.url_with("/api/v1/datasets/dd/rows", &[("_fields", "行政區,編號"), ("_limit", "2"), ("_offset", "1")]),
        )
        .await;
    assert_eq!(body["rows"], json!([{"行政區": "三民區", "編號": 2}, {"行政區": "苓雅區", "編號": 3}]));
    assert_eq!(body["total"], 5);
    // Values keep their types and text as published.
    let (_, body) = t.get_json(&t.url("/api/v1/datasets/dd/rows?_limit=1")).await;
    let row = &body["rows"][0];
    assert_eq!(row["日期"], "2020-01-05");
    assert_eq!(row["時間"], "08:30:00");
    assert_eq!(row["發生時間"], "2020-01-05T08:30:00+08:00");
    assert_eq!(row["比例"], 0.25);
    assert_eq!(row["有效"], true);
    assert_eq!(row["備註"], "含,逗號");
    assert_eq!(row["代碼"], "001");
}

#[tokio::test]
async fn keyset_paging_walks_every_row_once() {
    let t = spawn_app().await;
    t.publish_new("gen", "gen.csv", generated_csv(12_345)).await;
    for (sort, filter) in [("", None), ("-value", None), ("district,-id", Some(("score__gte", "10")))] {
        let mut pairs: Vec<(&str, &str)> = vec![("_limit", "1000")];
        if !sort.is_empty() {
            pairs.push(("_sort", sort));
        }
        if let Some(f) = filter {
            pairs.push(f);
        }
        let mut seen = Vec::new();
        let mut url = t.url_with("/api/v1/datasets/gen/rows", &pairs);
        let mut total;
        let mut pages = 0;
        loop {
            let response = t.get(&url).await;
            assert_eq!(response.status(), StatusCode::OK);
            let link = response.headers().get("link").map(|l| l.to_str().unwrap().to_string());
            let body: Value = response.json().await.unwrap();
            total = body["total"].as_i64().unwrap();
            seen.extend(body["rows"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()));
            pages += 1;
            match body["next_cursor"].as_str() {
                Some(cursor) => {
                    assert!(link.unwrap().contains("rel=\"next\""));
                    let mut next = pairs.clone();
                    next.push(("_cursor", cursor));
                    url = t.url_with("/api/v1/datasets/gen/rows", &next);
                }
                None => break,
            }
            assert!(pages < 100, "paging does not end");
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "no row twice ({sort})");
        assert_eq!(seen.len() as i64, total, "every row once ({sort})");
        if sort.is_empty() {
            assert_eq!(seen, (1..=12_345).collect::<Vec<_>>());
        }
    }
}

#[tokio::test]
async fn a_cursor_keeps_paging_on_its_version_after_a_new_publish() {
    let t = spawn_app().await;
    t.publish_new("moving", "a.csv", generated_csv(30)).await;
    let (_, first) = t.get_json(&t.url("/api/v1/datasets/moving/rows?_limit=10")).await;
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    t.publish("moving", "b.csv", "id,district,value,score\n999,x,1,1\n").await;
    let (_, second) =
        t.get_json(&t.url_with("/api/v1/datasets/moving/rows", &[("_limit", "10"), ("_cursor", &cursor)])).await;
    let ids: Vec<i64> = second["rows"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, (11..=20).collect::<Vec<_>>());
    let (_, now) = t.get_json(&t.url("/api/v1/datasets/moving/rows")).await;
    assert_eq!(now["total"], 1);
}

#[tokio::test]
async fn output_formats() {
    let t = spawn_app().await;
    t.publish_new("geo", "g.csv", "名稱,經度,緯度,n\n甲,120.3,22.6,1\n乙,120.5,,2\n").await;
    let csv = t.get(&t.url("/api/v1/datasets/geo/rows?_format=csv")).await;
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert_eq!(csv.headers()["x-total-count"], "2");
    assert_eq!(csv.text().await.unwrap(), "名稱,經度,緯度,n\n甲,120.3,22.6,1\n乙,120.5,,2\n");
    let nd =
        t.client.get(t.url("/api/v1/datasets/geo/rows")).header("accept", "application/x-ndjson").send().await.unwrap();
    let text = nd.text().await.unwrap();
    assert_eq!(text.lines().count(), 2);
    assert_eq!(serde_json::from_str::<Value>(text.lines().next().unwrap()).unwrap()["名稱"], "甲");
    let (status, geo) = t.get_json(&t.url("/api/v1/datasets/geo/rows?_format=geojson")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(geo["type"], "FeatureCollection");
    assert_eq!(geo["features"][0]["geometry"]["coordinates"], json!([120.3, 22.6]));
    assert_eq!(geo["features"][0]["properties"]["名稱"], "甲");
    assert_eq!(geo["features"][1]["geometry"], Value::Null);
    // GeoJSON of a table without coordinates is refused clearly.
    t.publish_new("plain", "p.csv", "a\n1\n").await;
    let (status, body) = t.get_json(&t.url("/api/v1/datasets/plain/rows?_format=geojson")).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_format");
}

#[tokio::test]
async fn aggregates_group_count_sum_avg_min_max() {
    let t = spawn_app().await;
    t.publish_new("dd", "d.csv", DISTRICTS_CSV).await;
    let (status, body) = t
        .get_json(&t.url_with(
            "/api/v1/datasets/dd/aggregate",
            &[("_group", "行政區"), ("_count", "1"), ("_sum", "人數"), ("_max", "日期"), ("_sort", "-count,行政區")],
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["rows"],
        json!([
            {"行政區": "三民區", "count": 2, "sum_人數": 12, "max_日期": "2022-07-01"},
            {"行政區": "苓雅區", "count": 2, "sum_人數": 10, "max_日期": "2021-03-15"},
            {"行政區": "鳳山區", "count": 1, "sum_人數": null, "max_日期": "2019-12-31"},
        ])
    );
    assert_eq!(body["groups"], 3);
    assert!(body.get("total").is_none() && body.get("next_cursor").is_none(), "{body}");
    let (_, body) = t
        .get_json(
            &t.url_with("/api/v1/datasets/dd/aggregate", &[("_count", "1"), ("人數__gte", "3"), ("_avg", "比例")]),
        )
        .await;
    assert_eq!(body["rows"][0]["count"], 3);
    assert_eq!(body["rows"][0]["avg_比例"].as_f64(), Some(1.0));
}
