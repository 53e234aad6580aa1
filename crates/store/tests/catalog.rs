//! The catalog's behaviour, checked on a real SQLite file and, when `TAPWATER_TEST_POSTGRES_URL` names a PostgreSQL
//! server (an admin URL such as `postgres://postgres@127.0.0.1:5432/postgres`), on a fresh PostgreSQL database.
//!
//! Every behaviour is one `async fn scenario(catalog: Catalog)` run by [`on_both`] against both databases, so the
//! two can never drift apart unnoticed.

// The whole file is test code: an `unwrap` here is an assertion (clippy's `allow-unwrap-in-tests` only covers
// `#[test]` functions, not the scenarios they run).
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tapwater_store::testing::{drop_postgres_database, fresh_postgres_database};
use tapwater_store::{
    Catalog, DatasetQuery, DatasetUpdate, DbKind, NewDataset, NewVersion, StoreError, new_version_id,
};
use tapwater_types::{ArtefactStatus, ColumnStats, Field, FieldType, Frequency, OriginalFile, Slug, TableSchema};

const POSTGRES_ENV: &str = "TAPWATER_TEST_POSTGRES_URL";

fn postgres_admin_url() -> Option<String> {
    std::env::var(POSTGRES_ENV).ok().filter(|url| !url.trim().is_empty())
}

fn sqlite_url(dir: &std::path::Path) -> String {
    format!("sqlite://{}", dir.join("catalog.db").display())
}

/// Runs `scenario` on a fresh SQLite file, then on a fresh PostgreSQL database if one is configured.
async fn on_both<F, Fut>(name: &str, scenario: F)
where
    F: Fn(Catalog) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::connect(&sqlite_url(dir.path())).await.unwrap();
    assert_eq!(catalog.kind(), DbKind::Sqlite);
    scenario(catalog.clone()).await;
    catalog.close().await;

    let Some(admin) = postgres_admin_url() else {
        eprintln!("{name}: {POSTGRES_ENV} is not set, skipping the PostgreSQL half");
        return;
    };
    let url = fresh_postgres_database(&admin).await.unwrap();
    let catalog = Catalog::connect(&url).await.unwrap();
    assert_eq!(catalog.kind(), DbKind::Postgres);
    scenario(catalog.clone()).await;
    catalog.close().await;
    drop_postgres_database(&admin, &url).await.unwrap();
}

fn slug(text: &str) -> Slug {
    Slug::parse(text).unwrap()
}

fn new_dataset(name: &str, title: &str) -> NewDataset {
    NewDataset {
        slug: slug(name),
        title: title.to_string(),
        description: String::new(),
        publisher: None,
        license: "gov-tw-1.0".to_string(),
        frequency: None,
        tags: Vec::new(),
        access: tapwater_types::AccessLevel::Public,
        draft: false,
    }
}

fn millis(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn new_version(row_count: u64) -> NewVersion {
    let id = new_version_id();
    NewVersion {
        data_path: format!("versions/{id}/data.parquet"),
        original_path: format!("versions/{id}/original.csv"),
        id,
        created_at: millis("2026-11-25T21:35:17.123Z"),
        row_count,
        schema: TableSchema {
            fields: vec![
                Field { description: Some("鄉鎮市區".into()), ..Field::new("行政區", FieldType::Text) },
                Field::new("AQI", FieldType::Integer),
                Field::new("PM2.5", FieldType::Decimal),
            ],
        },
        original: OriginalFile {
            filename: "空氣品質.csv".into(),
            format: "csv".into(),
            media_type: "text/csv".into(),
            encoding: "big5".into(),
            sha256: format!("{row_count:064x}"),
            bytes: 4_321,
        },
        data_bytes: 1_234,
        stats: vec![
            ColumnStats {
                name: "行政區".into(),
                null_count: 0,
                min: Some("中正區".into()),
                max: Some("萬華區".into()),
                distinct_count: Some(12),
            },
            ColumnStats { name: "AQI".into(), null_count: 3, min: None, max: None, distinct_count: None },
        ],
        artefacts: vec![("statistics".into(), ArtefactStatus::Pending), ("indexes".into(), ArtefactStatus::Ready)],
        published_by: "system".into(),
    }
}

async fn publishers_are_created_on_first_use_and_reused(catalog: Catalog) {
    let epa = slug("moenv");
    let created = catalog.ensure_publisher(&epa, "環境部").await.unwrap();
    assert_eq!(created.slug, epa);
    assert_eq!(created.name, "環境部");
    let again = catalog.ensure_publisher(&epa, "another name").await.unwrap();
    assert_eq!(again.name, "環境部", "an existing publisher keeps its name");

    let mut dataset = new_dataset("aqi", "空氣品質指標");
    dataset.publisher = Some(epa.clone());
    let dataset = catalog.create_dataset(&dataset).await.unwrap();
    assert_eq!(dataset.publisher, Some(created));

    let mut orphan = new_dataset("orphan", "無主");
    orphan.publisher = Some(slug("nobody"));
    let error = catalog.create_dataset(&orphan).await.unwrap_err();
    assert!(matches!(&error, StoreError::NotFound { what } if what == "publisher nobody"), "{error:?}");
    assert_eq!(catalog.get_dataset(&slug("orphan")).await.unwrap(), None, "nothing half-created");
}

#[tokio::test]
async fn publishers() {
    on_both("publishers", publishers_are_created_on_first_use_and_reused).await;
}

async fn datasets_are_created_updated_and_read(catalog: Catalog) {
    catalog.ensure_publisher(&slug("taipei"), "臺北市政府").await.unwrap();
    catalog.ensure_publisher(&slug("kaohsiung"), "高雄市政府").await.unwrap();
    let new = NewDataset {
        slug: slug("garbage-stops"),
        title: "垃圾車點位".into(),
        description: "每日更新的垃圾車停靠點".into(),
        publisher: Some(slug("taipei")),
        license: "gov-tw-1.0".into(),
        frequency: Some(Frequency::Daily),
        tags: vec!["環境".into(), "垃圾".into(), "環境".into()],
        access: tapwater_types::AccessLevel::Public,
        draft: false,
    };
    let created = catalog.create_dataset(&new).await.unwrap();
    assert_eq!(created.slug, new.slug);
    assert_eq!(created.title, "垃圾車點位");
    assert_eq!(created.description, "每日更新的垃圾車停靠點");
    assert_eq!(created.publisher.as_ref().map(|p| p.name.as_str()), Some("臺北市政府"));
    assert_eq!(created.license, "gov-tw-1.0");
    assert_eq!(created.frequency, Some(Frequency::Daily));
    assert_eq!(created.tags, ["環境", "垃圾"], "order kept, duplicates dropped");
    assert_eq!(created.created_at, created.updated_at);
    assert_eq!(created.current_version, None);
    assert!((Utc::now() - created.created_at).num_seconds().abs() < 60);
    assert_eq!(catalog.get_dataset(&new.slug).await.unwrap(), Some(created.clone()));

    let error = catalog.create_dataset(&new_dataset("garbage-stops", "again")).await.unwrap_err();
    assert!(matches!(&error, StoreError::Conflict { what } if what == "dataset garbage-stops"), "{error:?}");
    assert_eq!(error.to_string(), "dataset garbage-stops already exists", "no SQL in messages");

    tokio::time::sleep(Duration::from_millis(5)).await;
    let update = DatasetUpdate {
        title: Some("垃圾車停靠點".into()),
        publisher: Some(Some(slug("kaohsiung"))),
        frequency: Some(None),
        tags: Some(vec!["垃圾".into(), "清潔".into()]),
        ..DatasetUpdate::default()
    };
    let updated = catalog.update_dataset(&new.slug, &update).await.unwrap();
    assert_eq!(updated.title, "垃圾車停靠點");
    assert_eq!(updated.description, created.description, "untouched fields stay");
    assert_eq!(updated.license, created.license);
    assert_eq!(updated.publisher.as_ref().map(|p| p.slug.as_str()), Some("kaohsiung"));
    assert_eq!(updated.frequency, None);
    assert_eq!(updated.tags, ["垃圾", "清潔"]);
    assert_eq!(updated.created_at, created.created_at);
    assert!(updated.updated_at > created.updated_at);
    assert_eq!(catalog.get_dataset(&new.slug).await.unwrap(), Some(updated.clone()));

    let cleared = catalog
        .update_dataset(&new.slug, &DatasetUpdate { publisher: Some(None), ..DatasetUpdate::default() })
        .await
        .unwrap();
    assert_eq!(cleared.publisher, None);
    assert_eq!(cleared.tags, updated.tags, "tags stay when not updated");

    let error = catalog.update_dataset(&slug("missing"), &DatasetUpdate::default()).await.unwrap_err();
    assert!(matches!(&error, StoreError::NotFound { what } if what == "dataset missing"), "{error:?}");
    let bad_publisher = DatasetUpdate { publisher: Some(Some(slug("nobody"))), ..DatasetUpdate::default() };
    assert!(matches!(catalog.update_dataset(&new.slug, &bad_publisher).await, Err(StoreError::NotFound { .. })));
    assert_eq!(catalog.get_dataset(&slug("missing")).await.unwrap(), None);
}

#[tokio::test]
async fn datasets() {
    on_both("datasets", datasets_are_created_updated_and_read).await;
}

fn slugs(page: &tapwater_store::DatasetPage) -> Vec<&str> {
    page.datasets.iter().map(|d| d.slug.as_str()).collect()
}

async fn datasets_are_listed_searched_filtered_and_paged(catalog: Catalog) {
    catalog.ensure_publisher(&slug("moenv"), "環境部").await.unwrap();
    catalog.ensure_publisher(&slug("moi"), "內政部").await.unwrap();
    /// slug, title, description, publisher, tags
    type Spec<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, &'a [&'a str]);
    let specs: [Spec; 5] = [
        ("aqi", "空氣品質指標(AQI)", "每小時更新", Some("moenv"), &["空氣", "環境"]),
        ("uv", "紫外線即時監測資料", "UV index", Some("moenv"), &["環境"]),
        ("population", "各村（里）戶籍人口統計月報表", "Population by village", Some("moi"), &["人口"]),
        ("addresses", "門牌位置數值資料", "Address points", Some("moi"), &["Geo"]),
        ("holidays", "政府行政機關辦公日曆表", "Office calendar", None, &[]),
    ];
    for (name, title, description, publisher, tags) in specs {
        let mut dataset = new_dataset(name, title);
        dataset.description = description.into();
        dataset.publisher = publisher.map(slug);
        dataset.tags = tags.iter().map(|t| t.to_string()).collect();
        catalog.create_dataset(&dataset).await.unwrap();
        // Distinct `updated_at`s, so the order below is by time, not by the slug tie-break.
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let list = |query: DatasetQuery| {
        let catalog = catalog.clone();
        async move { catalog.list_datasets(&query).await.unwrap() }
    };

    let all = list(DatasetQuery::default()).await;
    assert_eq!(all.total, 5);
    assert_eq!(slugs(&all), ["holidays", "addresses", "population", "uv", "aqi"], "newest change first");
    assert_eq!(all.datasets[2].tags, ["人口"], "tags come with listed datasets");
    assert_eq!(all.datasets[2].publisher.as_ref().map(|p| p.name.as_str()), Some("內政部"));

    // Chinese substring of a title.
    let search = |text: &str| DatasetQuery { text: Some(text.into()), ..DatasetQuery::default() };
    assert_eq!(slugs(&list(search("人口統計")).await), ["population"]);
    // Case-insensitive over ASCII, in titles and descriptions.
    assert_eq!(slugs(&list(search("aqi")).await), ["aqi"]);
    assert_eq!(slugs(&list(search("uv INDEX")).await), ["uv"]);
    assert_eq!(slugs(&list(search("VILLAGE")).await), ["population"]);
    // Tags are searched too.
    assert_eq!(slugs(&list(search("geo")).await), ["addresses"]);
    assert_eq!(slugs(&list(search("環境")).await), ["uv", "aqi"]);
    assert_eq!(list(search("沒有這種資料")).await.total, 0);
    assert_eq!(list(search("   ")).await.total, 5, "a blank search filters nothing");

    let by_publisher = list(DatasetQuery { publisher: Some(slug("moi")), ..DatasetQuery::default() }).await;
    assert_eq!(slugs(&by_publisher), ["addresses", "population"]);
    assert_eq!(by_publisher.total, 2);

    let by_tag = list(DatasetQuery { tag: Some("環境".into()), ..DatasetQuery::default() }).await;
    assert_eq!(slugs(&by_tag), ["uv", "aqi"]);
    let by_tag_and_text =
        list(DatasetQuery { tag: Some("環境".into()), text: Some("紫外線".into()), ..DatasetQuery::default() }).await;
    assert_eq!(slugs(&by_tag_and_text), ["uv"]);
    let combined =
        list(DatasetQuery { publisher: Some(slug("moenv")), tag: Some("人口".into()), ..DatasetQuery::default() })
            .await;
    assert_eq!(combined.total, 0);

    let page = |limit, offset| DatasetQuery { limit, offset, ..DatasetQuery::default() };
    let first = list(page(2, 0)).await;
    assert_eq!((slugs(&first), first.total), (vec!["holidays", "addresses"], 5));
    let second = list(page(2, 2)).await;
    assert_eq!((slugs(&second), second.total), (vec!["population", "uv"], 5));
    let last = list(page(2, 4)).await;
    assert_eq!((slugs(&last), last.total), (vec!["aqi"], 5));
    let beyond = list(page(2, 10)).await;
    assert_eq!((beyond.datasets.len(), beyond.total), (0, 5));
    let huge_offset = list(page(2, u64::MAX)).await;
    assert_eq!((huge_offset.datasets.len(), huge_offset.total), (0, 5));

    // Updating a dataset moves it to the front.
    catalog.update_dataset(&slug("aqi"), &DatasetUpdate::default()).await.unwrap();
    assert_eq!(slugs(&list(page(1, 0)).await), ["aqi"]);
}

#[tokio::test]
async fn listing() {
    on_both("listing", datasets_are_listed_searched_filtered_and_paged).await;
}

async fn search_takes_like_wildcards_literally(catalog: Catalog) {
    for (name, title) in [
        ("percent", "達成率 100% 的計畫"),
        ("plain", "達成率 1000 的計畫"),
        ("underscore", "file_name 欄位"),
        ("nounderscore", "filexname 欄位"),
        ("backslash", "路徑 C:\\data"),
    ] {
        catalog.create_dataset(&new_dataset(name, title)).await.unwrap();
    }
    let search = |text: &str| {
        let catalog = catalog.clone();
        let query = DatasetQuery { text: Some(text.into()), ..DatasetQuery::default() };
        async move { catalog.list_datasets(&query).await.unwrap() }
    };
    assert_eq!(slugs(&search("100%").await), ["percent"]);
    assert_eq!(slugs(&search("%").await), ["percent"]);
    assert_eq!(slugs(&search("file_").await), ["underscore"]);
    assert_eq!(slugs(&search("_").await), ["underscore"]);
    assert_eq!(slugs(&search("c:\\data").await), ["backslash"]);
    assert_eq!(slugs(&search("\\").await), ["backslash"]);
    assert_eq!(search("'; DROP TABLE datasets; --").await.total, 0);
    assert_eq!(catalog.list_datasets(&DatasetQuery::default()).await.unwrap().total, 5);
}

#[tokio::test]
async fn search_escaping() {
    on_both("search_escaping", search_takes_like_wildcards_literally).await;
}

async fn commits_number_versions_and_move_current(catalog: Catalog) {
    let aqi = slug("aqi");
    let created = catalog.create_dataset(&new_dataset("aqi", "空氣品質")).await.unwrap();
    assert_eq!(catalog.current_version(&aqi).await.unwrap(), None);
    assert!(catalog.list_versions(&aqi).await.unwrap().is_empty());

    let mut ids = Vec::new();
    let mut last_updated = created.updated_at;
    for expected_seq in 1..=3 {
        tokio::time::sleep(Duration::from_millis(3)).await;
        let version = new_version(100 * expected_seq as u64);
        let committed = catalog.commit_version(&aqi, &version).await.unwrap();
        assert_eq!(committed.seq, expected_seq);
        assert_eq!(committed.id, version.id);
        let dataset = catalog.get_dataset(&aqi).await.unwrap().unwrap();
        assert_eq!(dataset.current_version, Some(expected_seq));
        assert!(dataset.updated_at > last_updated, "a publish bumps updated_at");
        last_updated = dataset.updated_at;
        assert_eq!(catalog.current_version(&aqi).await.unwrap(), Some(committed));
        ids.push(version.id);
    }

    let summaries = catalog.list_versions(&aqi).await.unwrap();
    assert_eq!(summaries.iter().map(|s| s.seq).collect::<Vec<_>>(), [3, 2, 1], "newest first");
    assert_eq!(summaries[0].id, ids[2]);
    assert_eq!(summaries[0].row_count, 300);
    assert_eq!(summaries[0].original_sha256, format!("{:064x}", 300));
    assert_eq!(summaries[2].created_at, millis("2026-11-25T21:35:17.123Z"));

    let first = catalog.get_version(&aqi, 1).await.unwrap().unwrap();
    assert_eq!((first.id.as_str(), first.row_count), (ids[0].as_str(), 100));
    assert_eq!(catalog.get_version(&aqi, 4).await.unwrap(), None);
    assert_eq!(catalog.get_version(&slug("nope"), 1).await.unwrap(), None);
    assert_eq!(catalog.current_version(&slug("nope")).await.unwrap(), None);
    assert!(matches!(catalog.list_versions(&slug("nope")).await, Err(StoreError::NotFound { .. })));

    let error = catalog.commit_version(&slug("nope"), &new_version(1)).await.unwrap_err();
    assert!(matches!(&error, StoreError::NotFound { what } if what == "dataset nope"), "{error:?}");

    // A version id is global: reusing one (even for another dataset) is a conflict, and changes nothing.
    catalog.create_dataset(&new_dataset("other", "其他")).await.unwrap();
    let mut reused = new_version(5);
    reused.id = ids[0].clone();
    let error = catalog.commit_version(&slug("other"), &reused).await.unwrap_err();
    assert!(matches!(&error, StoreError::Conflict { .. }), "{error:?}");
    assert_eq!(catalog.get_dataset(&slug("other")).await.unwrap().unwrap().current_version, None);

    // Numbers are per dataset.
    assert_eq!(catalog.commit_version(&slug("other"), &new_version(5)).await.unwrap().seq, 1);

    let all: HashSet<String> = ids.iter().cloned().collect();
    let known = catalog.all_version_ids().await.unwrap();
    assert!(known.is_superset(&all));
    assert_eq!(known.len(), 4);
}

#[tokio::test]
async fn commits() {
    on_both("commits", commits_number_versions_and_move_current).await;
}

async fn concurrent_commits_get_distinct_numbers(catalog: Catalog) {
    let aqi = slug("aqi");
    catalog.create_dataset(&new_dataset("aqi", "空氣品質")).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let catalog = catalog.clone();
            let aqi = aqi.clone();
            tokio::spawn(async move { catalog.commit_version(&aqi, &new_version(i)).await.unwrap() })
        })
        .collect();
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.push(task.await.unwrap().seq);
    }
    seqs.sort();
    assert_eq!(seqs, (1..=8).collect::<Vec<i64>>());
    let dataset = catalog.get_dataset(&aqi).await.unwrap().unwrap();
    assert_eq!(dataset.current_version, Some(8));
    assert_eq!(catalog.current_version(&aqi).await.unwrap().unwrap().seq, 8);
    assert_eq!(catalog.list_versions(&aqi).await.unwrap().len(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_commits() {
    on_both("concurrent_commits", concurrent_commits_get_distinct_numbers).await;
}

async fn versions_round_trip_every_field(catalog: Catalog) {
    let aqi = slug("aqi");
    catalog.create_dataset(&new_dataset("aqi", "空氣品質")).await.unwrap();
    let mut version = new_version(u64::from(u32::MAX) + 7);
    version.data_bytes = 9_876_543_210;
    // Sub-millisecond precision is not kept: the catalog stores milliseconds.
    version.created_at = millis("2026-11-25T21:35:17.123456789Z");
    let committed = catalog.commit_version(&aqi, &version).await.unwrap();
    let read = catalog.get_version(&aqi, 1).await.unwrap().unwrap();
    assert_eq!(read, committed, "commit returns what is stored");

    assert_eq!(read.id, version.id);
    assert_eq!(read.seq, 1);
    assert_eq!(read.created_at, millis("2026-11-25T21:35:17.123Z"));
    assert_eq!(read.row_count, version.row_count);
    assert_eq!(read.schema, version.schema);
    assert_eq!(read.original, version.original);
    assert_eq!(read.data_path, version.data_path);
    assert_eq!(read.original_path, version.original_path);
    assert_eq!(read.data_bytes, 9_876_543_210);
    assert_eq!(read.stats, version.stats);
    assert_eq!(read.published_by, "system");
    let artefacts: Vec<(&str, ArtefactStatus, Option<&str>)> =
        read.artefacts.iter().map(|a| (a.kind.as_str(), a.status, a.detail.as_deref())).collect();
    assert_eq!(artefacts, [("indexes", ArtefactStatus::Ready, None), ("statistics", ArtefactStatus::Pending, None)]);

    let mut too_big = new_version(u64::MAX);
    too_big.row_count = u64::MAX;
    assert!(matches!(catalog.commit_version(&aqi, &too_big).await, Err(StoreError::Invalid(_))));
    let mut twice = new_version(1);
    twice.artefacts = vec![("x".into(), ArtefactStatus::Pending), ("x".into(), ArtefactStatus::Ready)];
    assert!(matches!(catalog.commit_version(&aqi, &twice).await, Err(StoreError::Invalid(_))));
    assert_eq!(catalog.list_versions(&aqi).await.unwrap().len(), 1, "failed commits leave nothing");
}

#[tokio::test]
async fn version_round_trip() {
    on_both("version_round_trip", versions_round_trip_every_field).await;
}

async fn artefacts_are_inserted_then_updated(catalog: Catalog) {
    let aqi = slug("aqi");
    catalog.create_dataset(&new_dataset("aqi", "空氣品質")).await.unwrap();
    let mut version = new_version(10);
    version.artefacts.clear();
    let committed = catalog.commit_version(&aqi, &version).await.unwrap();
    assert!(committed.artefacts.is_empty());

    catalog.set_artefact(&version.id, "quality", ArtefactStatus::Pending, None).await.unwrap();
    let first = catalog.current_version(&aqi).await.unwrap().unwrap().artefacts;
    assert_eq!(first.len(), 1);
    assert_eq!(
        (first[0].kind.as_str(), first[0].status, first[0].detail.as_deref()),
        ("quality", ArtefactStatus::Pending, None)
    );

    tokio::time::sleep(Duration::from_millis(3)).await;
    catalog.set_artefact(&version.id, "quality", ArtefactStatus::Failed, Some("欄位 AQI 無法解析")).await.unwrap();
    catalog.set_artefact(&version.id, "indexes", ArtefactStatus::Ready, None).await.unwrap();
    let second = catalog.current_version(&aqi).await.unwrap().unwrap().artefacts;
    let summary: Vec<_> = second.iter().map(|a| (a.kind.as_str(), a.status, a.detail.as_deref())).collect();
    assert_eq!(
        summary,
        [("indexes", ArtefactStatus::Ready, None), ("quality", ArtefactStatus::Failed, Some("欄位 AQI 無法解析"))]
    );
    assert!(second[1].updated_at > first[0].updated_at);

    catalog.set_artefact(&version.id, "quality", ArtefactStatus::Ready, None).await.unwrap();
    let third = catalog.current_version(&aqi).await.unwrap().unwrap().artefacts;
    assert_eq!((third[1].status, third[1].detail.as_deref()), (ArtefactStatus::Ready, None), "detail is replaced too");

    let error = catalog.set_artefact("no-such-version", "quality", ArtefactStatus::Ready, None).await.unwrap_err();
    assert!(matches!(&error, StoreError::NotFound { what } if what == "version no-such-version"), "{error:?}");
}

#[tokio::test]
async fn artefacts() {
    on_both("artefacts", artefacts_are_inserted_then_updated).await;
}

async fn ping_answers(catalog: Catalog) {
    catalog.ping().await.unwrap();
    assert!(catalog.all_version_ids().await.unwrap().is_empty());
}

#[tokio::test]
async fn ping() {
    on_both("ping", ping_answers).await;
}

#[tokio::test]
async fn sqlite_and_postgres_schemas_match() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Catalog::connect(&sqlite_url(dir.path())).await.unwrap();
    let sqlite_schema = sqlite.schema_snapshot().await.unwrap();
    let expect = |table: &str, column: &str, column_type: &str| {
        let entry = (table.to_string(), column.to_string(), column_type.to_string());
        assert!(sqlite_schema.contains(&entry), "{entry:?} missing from {sqlite_schema:#?}");
    };
    expect("versions", "seq", "integer not null");
    expect("versions", "id", "text not null");
    expect("datasets", "current_version_seq", "integer");
    expect("version_artefacts", "detail", "text");
    assert!(sqlite_schema.iter().all(|(table, _, _)| table != "_sqlx_migrations"));

    let Some(admin) = postgres_admin_url() else {
        eprintln!("sqlite_and_postgres_schemas_match: {POSTGRES_ENV} is not set, nothing to compare with");
        return;
    };
    let url = fresh_postgres_database(&admin).await.unwrap();
    let postgres = Catalog::connect(&url).await.unwrap();
    let postgres_schema = postgres.schema_snapshot().await.unwrap();
    postgres.close().await;
    drop_postgres_database(&admin, &url).await.unwrap();
    let only_sqlite: Vec<_> = sqlite_schema.iter().filter(|c| !postgres_schema.contains(c)).collect();
    let only_postgres: Vec<_> = postgres_schema.iter().filter(|c| !sqlite_schema.contains(c)).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "schemas differ\nonly in SQLite: {only_sqlite:#?}\nonly in PostgreSQL: {only_postgres:#?}"
    );
    assert_eq!(sqlite_schema, postgres_schema);
}

/// Two `Catalog`s on one file stand for two processes (a server and `tapwater publish`): both write at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_sqlite_catalogs_on_one_file_commit_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let server = Catalog::connect(&url).await.unwrap();
    let cli = Catalog::connect(&url).await.unwrap();
    let aqi = slug("aqi");
    server.create_dataset(&new_dataset("aqi", "空氣品質")).await.unwrap();
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let catalog = if i % 2 == 0 { server.clone() } else { cli.clone() };
            let aqi = aqi.clone();
            tokio::spawn(async move {
                let version = catalog.commit_version(&aqi, &new_version(i)).await.unwrap();
                // Reads and other writes interleave with the commits.
                catalog.set_artefact(&version.id, "statistics", ArtefactStatus::Ready, None).await.unwrap();
                catalog.list_datasets(&DatasetQuery::default()).await.unwrap();
                version.seq
            })
        })
        .collect();
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.push(task.await.unwrap());
    }
    seqs.sort();
    assert_eq!(seqs, (1..=12).collect::<Vec<i64>>());
    assert_eq!(cli.get_dataset(&aqi).await.unwrap().unwrap().current_version, Some(12));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_sqlite_file_can_be_opened_by_two_processes_at_once_and_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let (first, second) = tokio::join!(Catalog::connect(&url), Catalog::connect(&url));
    let (first, second) = (first.unwrap(), second.unwrap());
    first.create_dataset(&new_dataset("aqi", "空氣品質")).await.unwrap();
    assert!(second.get_dataset(&slug("aqi")).await.unwrap().is_some());
    first.close().await;
    second.close().await;

    let reopened = Catalog::connect(&url).await.unwrap();
    assert_eq!(reopened.get_dataset(&slug("aqi")).await.unwrap().unwrap().title, "空氣品質");
    let mode: Vec<u8> = std::fs::read(dir.path().join("catalog.db")).unwrap()[18..20].to_vec();
    assert_eq!(mode, [2, 2], "the file is in WAL mode (header bytes 18-19, https://www.sqlite.org/fileformat.html)");
}

#[tokio::test]
async fn in_memory_and_non_ascii_sqlite_paths_work() {
    let memory = Catalog::connect("sqlite::memory:").await.unwrap();
    memory.create_dataset(&new_dataset("aqi", "空氣品質")).await.unwrap();
    let version = memory.commit_version(&slug("aqi"), &new_version(1)).await.unwrap();
    assert_eq!(memory.current_version(&slug("aqi")).await.unwrap(), Some(version));

    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("目錄 with space");
    std::fs::create_dir(&nested).unwrap();
    let catalog = Catalog::connect(&sqlite_url(&nested)).await.unwrap();
    catalog.ping().await.unwrap();
    assert!(nested.join("catalog.db").is_file());
}

#[tokio::test]
async fn unsupported_catalog_urls_are_refused_without_echoing_secrets() {
    for url in ["mysql://user:secret@host/db", "not a url", "file:///tmp/catalog.db"] {
        let error = Catalog::connect(url).await.unwrap_err();
        assert!(matches!(error, StoreError::InvalidUrl(_)), "{url}: {error:?}");
        assert!(!error.to_string().contains("secret"), "{error}");
    }
}

async fn jobs_are_recorded_updated_and_read(catalog: Catalog) {
    let now = chrono::Utc::now();
    let mut job = tapwater_types::Job {
        id: "job-1".to_string(),
        kind: "publish".to_string(),
        dataset: "aqi".to_string(),
        status: tapwater_types::JobStatus::Queued,
        stage: None,
        done: 0,
        total: 0,
        version: None,
        error: None,
        created_at: now,
        updated_at: now,
    };
    catalog.create_job(&job).await.unwrap();
    job.status = tapwater_types::JobStatus::Failed;
    job.stage = Some("converting".to_string());
    job.done = 5_000_000_000;
    job.total = 6_000_000_000;
    job.error = Some(tapwater_types::JobError {
        code: "malformed_file".to_string(),
        message: "line 3".to_string(),
        message_zh: "第 3 行".to_string(),
    });
    catalog.update_job(&job).await.unwrap();
    let read = catalog.get_job("job-1").await.unwrap().unwrap();
    assert_eq!(read.status, tapwater_types::JobStatus::Failed);
    assert_eq!(read.stage.as_deref(), Some("converting"));
    assert_eq!((read.done, read.total), (5_000_000_000, 6_000_000_000));
    assert_eq!(read.error, job.error);
    assert_eq!(read.dataset, "aqi");
    assert!(catalog.get_job("nope").await.unwrap().is_none());
    job.id = "nope".to_string();
    assert!(matches!(catalog.update_job(&job).await, Err(tapwater_store::StoreError::NotFound { .. })));
}

#[tokio::test]
async fn jobs() {
    on_both("jobs", jobs_are_recorded_updated_and_read).await;
}
