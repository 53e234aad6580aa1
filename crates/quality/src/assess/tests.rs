//! Tests of [`super::assess`] and [`super::next_due`] over datasets built by hand.

use chrono::{DateTime, Months, TimeDelta, TimeZone, Utc};
use tapwater_types::{
    Contact, Dataset, DatasetMetadata, Fee, FeeKind, Field, FieldConstraints, FieldMetadata, FieldType, Finding,
    ForeignKey, Frequency, OriginalFile, Pipeline, Publisher, QualityReport, Severity, Slug, SourceFile, TableSchema,
    TemporalCoverage, TransformEntry, TransformExample, TransformLog, Version, VersionSources,
};

use super::{AssessInput, LinkCheck, assess, next_due};
use crate::codes::{CHECKS, finding};

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
}

fn now() -> DateTime<Utc> {
    at(2024, 6, 15)
}

/// Everything an assessment reads, owned.
struct Fx {
    dataset: Dataset,
    version: Option<Version>,
    sources: Option<VersionSources>,
    log: Option<TransformLog>,
    pipeline: Pipeline,
    table: Option<Vec<Finding>>,
    status: String,
    links: Option<LinkCheck>,
    stored: bool,
    last_refreshed: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
}

fn field(name: &str, field_type: FieldType) -> Field {
    Field::new(name, field_type)
}

fn described(name: &str, description: &str) -> FieldMetadata {
    FieldMetadata { name: name.into(), description: Some(description.into()), ..FieldMetadata::default() }
}

fn source(name: &str, format: &str, encoding: &str) -> SourceFile {
    SourceFile {
        name: name.into(),
        format: format.into(),
        encoding: encoding.into(),
        sha256: "0".repeat(64),
        bytes: 2048,
        path: format!("blobs/{name}"),
        rows: 12,
    }
}

impl Fx {
    /// A dataset with everything declared: it should pass every check that applies.
    fn well_described() -> Fx {
        let mut district = field("行政區", FieldType::Text);
        district.aliases = vec!["district".into()];
        let mut source_column = field("source_file", FieldType::Text);
        source_column.role = Some("source_file".into());
        let schema = TableSchema {
            fields: vec![
                district,
                field("人口數", FieldType::Integer),
                field("面積", FieldType::Decimal),
                source_column,
            ],
        };
        let version = Version {
            id: "v-1".into(),
            seq: 3,
            created_at: now() - TimeDelta::days(10),
            row_count: 12,
            schema,
            original: OriginalFile {
                filename: "population-2024.csv".into(),
                format: "csv".into(),
                media_type: "text/csv".into(),
                encoding: "UTF-8".into(),
                sha256: "0".repeat(64),
                bytes: 2048,
            },
            data_path: "data/v-1.parquet".into(),
            original_path: "blobs/population-2024.csv".into(),
            data_bytes: 1024,
            stats: Vec::new(),
            artefacts: Vec::new(),
            published_by: "user:editor".into(),
        };
        let metadata = DatasetMetadata {
            title_en: Some("Population by district, Tainan".into()),
            contact: Some(Contact {
                name: Some("王承辦".into()),
                email: Some("data@tainan.gov.tw".into()),
                phone: None,
            }),
            publisher_oid: Some("2.16.886.101.20003.20065".into()),
            categories: vec!["人口".into()],
            temporal: Some(TemporalCoverage { start: Some(at(2024, 1, 1).date_naive()), end: None }),
            spatial: Some("臺南市".into()),
            source: Some("戶役政資訊系統".into()),
            format: Some("CSV".into()),
            encoding: Some("utf8".into()),
            fields: vec![
                // Declared by the column's alias.
                described("district", "行政區名稱"),
                FieldMetadata { unit: Some("人".into()), ..described("人口數", "設籍人口數") },
                FieldMetadata { unit: Some("平方公里".into()), ..described("面積", "行政區面積") },
            ],
            primary_key: vec!["行政區".into()],
            ..DatasetMetadata::default()
        };
        let dataset = Dataset {
            slug: Slug::parse("tainan-population").unwrap(),
            title: "臺南市各區人口數".into(),
            description: "臺南市各行政區每月底之設籍人口數與面積，資料取自戶役政資訊系統，每列為一個行政區。".into(),
            publisher: Some(Publisher {
                slug: Slug::parse("tainan").unwrap(), name: "臺南市政府民政局".into()
            }),
            license: "OGDL-Taiwan-1.0".into(),
            frequency: Some(Frequency::Monthly),
            tags: vec!["人口".into()],
            created_at: at(2020, 1, 1),
            updated_at: at(2024, 6, 1),
            current_version: Some(3),
            access: Default::default(),
            draft: false,
            metadata,
        };
        Fx {
            dataset,
            version: Some(version),
            sources: Some(VersionSources {
                pipeline_revision: Some(1),
                files: vec![source("population-2024.csv", "csv", "UTF-8")],
            }),
            log: Some(TransformLog::default()),
            pipeline: Pipeline::default(),
            table: Some(Vec::new()),
            status: "ready".into(),
            links: None,
            stored: true,
            last_refreshed: None,
            now: now(),
        }
    }

    /// The same data with nothing declared beyond what creating a dataset asks for.
    fn undeclared() -> Fx {
        let mut fx = Fx::well_described();
        fx.dataset.metadata = DatasetMetadata::default();
        fx.dataset.frequency = None;
        fx.dataset.tags = Vec::new();
        fx.dataset.publisher = None;
        fx
    }

    fn input(&self) -> AssessInput<'_> {
        AssessInput {
            dataset: &self.dataset,
            version: self.version.as_ref(),
            sources: self.sources.as_ref(),
            transform_log: self.log.as_ref(),
            pipeline: &self.pipeline,
            table_findings: self.table.as_deref(),
            table_status: &self.status,
            checked_at: Some(self.now - TimeDelta::days(10)),
            links: self.links.as_ref(),
            stored_files_present: self.stored,
            last_refreshed: self.last_refreshed,
            now: self.now,
        }
    }

    fn report(&self) -> QualityReport {
        assess(&self.input())
    }

    fn version_mut(&mut self) -> &mut Version {
        self.version.as_mut().unwrap()
    }
}

fn outcome<'r>(report: &'r QualityReport, code: &str) -> &'r str {
    &report.checks.iter().find(|c| c.code == code).unwrap_or_else(|| panic!("no check {code}")).outcome
}

fn earned(report: &QualityReport, code: &str) -> f64 {
    report.checks.iter().find(|c| c.code == code).unwrap().earned
}

fn findings<'r>(report: &'r QualityReport, code: &str) -> Vec<&'r Finding> {
    report.findings.iter().filter(|f| f.code == code).collect()
}

fn met(report: &QualityReport, criterion: &str) -> bool {
    report.badge.criteria.iter().find(|c| c.name == criterion).unwrap().met
}

fn table_finding(code: &str, severity: Severity, examples: &[&str]) -> Finding {
    let mut f = finding(code, severity, format!("{code} found in a column."), format!("欄位發現 {code}。"));
    f.column = Some("人口數".into());
    f.count = examples.len() as u64;
    f.rows = (1..=examples.len() as u64).collect();
    f.examples = examples.iter().map(|e| e.to_string()).collect();
    f
}

fn log_entry(rule: &str, file: &str, detail: &str, count: u64) -> TransformEntry {
    TransformEntry {
        file: Some(file.into()),
        rule: rule.into(),
        count,
        detail: Some(detail.into()),
        ..TransformEntry::default()
    }
}

#[test]
fn a_well_described_dataset_scores_full_marks_with_gold_and_three_stars() {
    let report = Fx::well_described().report();
    assert_eq!(report.dataset, "tainan-population");
    assert_eq!(report.version, 3);
    assert_eq!(report.status, "ready");
    assert_eq!(report.assessed_at, now());
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert_eq!(report.score, 100);
    assert_eq!(report.badge.level, "gold");
    assert!(report.badge.criteria.iter().all(|c| c.met && !c.label.is_empty() && !c.label_zh.is_empty()));
    assert_eq!(report.stars.stars, 3);
    assert!(report.stars.explanation.contains("CSV"), "{}", report.stars.explanation);
    assert!(report.stars.explanation.contains("not proprietary"), "{}", report.stars.explanation);
    assert!(report.stars.next.as_deref().unwrap().contains("4★"));
    assert_eq!(report.stars.next_zh.as_deref(), Some("發布欄位 URI 或結構描述以達到 4★。"));

    // Every check of the catalogue, in its order; the declaration-dependent ones that do not apply are skipped.
    let codes: Vec<&str> = report.checks.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes, CHECKS.iter().map(|c| c.code).collect::<Vec<_>>());
    for check in &report.checks {
        let expected =
            if ["code_list", "constraints", "coordinates"].contains(&check.code.as_str()) { "skip" } else { "pass" };
        assert_eq!(check.outcome, expected, "{}", check.code);
        assert_eq!(check.earned, if expected == "pass" { f64::from(check.weight) } else { 0.0 }, "{}", check.code);
    }
}

#[test]
fn field_uris_reach_four_stars_and_links_to_other_data_five() {
    let mut fx = Fx::well_described();
    for (m, uri) in fx.dataset.metadata.fields.iter_mut().zip([
        "http://schema.org/addressLocality",
        "http://schema.org/population",
        "http://schema.org/area",
    ]) {
        m.uri = Some(uri.into());
    }
    let report = fx.report();
    assert_eq!(report.stars.stars, 4, "{}", report.stars.explanation);
    assert!(report.stars.next.as_deref().unwrap().contains("5★"));

    // One column without a URI is not enough (the tapwater-added source_file column needs none).
    fx.dataset.metadata.fields[2].uri = None;
    assert_eq!(fx.report().stars.stars, 3);
    // A published schema stands for the field URIs.
    fx.dataset.metadata.conforms_to = Some("https://data.tainan.gov.tw/schema/population.json".into());
    assert_eq!(fx.report().stars.stars, 4);

    fx.dataset.metadata.foreign_keys = vec![ForeignKey {
        fields: vec!["行政區".into()],
        resource: "tainan-districts".into(),
        reference_fields: vec!["名稱".into()],
    }];
    let report = fx.report();
    assert_eq!(report.stars.stars, 5);
    assert_eq!((report.stars.next, report.stars.next_zh), (None, None));

    fx.dataset.metadata.foreign_keys.clear();
    fx.dataset.metadata.related = vec!["https://data.gov.tw/dataset/6247".into()];
    assert_eq!(fx.report().stars.stars, 5);
    // Stars do not change the score.
    assert_eq!(fx.report().score, 100);
}

#[test]
fn stars_say_when_the_original_was_proprietary_and_need_an_open_licence() {
    let mut fx = Fx::well_described();
    fx.sources.as_mut().unwrap().files = vec![source("人口.xls", "xls", "")];
    fx.dataset.metadata.format = Some("XLS".into());
    let report = fx.report();
    assert_eq!(report.stars.stars, 3);
    assert!(report.stars.explanation.contains("XLS") && report.stars.explanation.contains("proprietary"));
    assert!(report.stars.explanation_zh.contains("XLS"));

    fx.dataset.license = "all-rights-reserved".into();
    let report = fx.report();
    assert_eq!(report.stars.stars, 0);
    assert_eq!(outcome(&report, "license"), "fail");
    assert!(report.stars.next.is_some());

    let mut fx = Fx::well_described();
    fx.version = None;
    assert_eq!(fx.report().stars.stars, 0);
}

#[test]
fn nothing_declared_fails_desc_match_and_warns_on_encoding_and_completeness() {
    let report = Fx::undeclared().report();
    assert_eq!(outcome(&report, "desc_match"), "fail");
    let desc = findings(&report, "desc_match");
    assert_eq!(desc.len(), 1);
    assert!(desc[0].message.contains("主要欄位說明"));
    assert_eq!(desc[0].count, 3, "the tapwater-added source_file column is not required");

    assert_eq!(outcome(&report, "encoding_match"), "warn");
    let encoding = findings(&report, "encoding_match");
    assert!(encoding[0].message_zh.contains("編碼格式"));
    assert_eq!(encoding[0].examples, vec!["UTF-8"]);

    assert_eq!(outcome(&report, "metadata_completeness"), "warn");
    let completeness = findings(&report, "metadata_completeness");
    assert_eq!(
        completeness[0].examples,
        vec![
            "title_en",
            "publisher",
            "contact",
            "frequency",
            "temporal",
            "spatial",
            "categories",
            "tags",
            "source",
            "publisher_oid"
        ]
    );
    for label in
        ["英文名稱", "聯絡人", "更新頻率", "資料時間範圍", "空間範圍", "服務分類", "標籤", "資料來源", "機關OID"]
    {
        assert!(completeness[0].message_zh.contains(label), "{label}");
        assert!(completeness[0].message.contains(label), "{label}");
    }
    // Only the fee (absent means free) is present: 1 of 11.
    assert!((earned(&report, "metadata_completeness") - 10.0 / 11.0).abs() < 1e-9);

    assert_eq!(outcome(&report, "field_descriptions"), "fail");
    assert_eq!(outcome(&report, "timeliness"), "skip");
    assert_eq!(outcome(&report, "primary_key"), "skip");
    assert_eq!(report.badge.level, "none");
    assert!(!met(&report, "updated_on_time"), "no declared frequency is not on time");
    assert!(!met(&report, "field_descriptions"));
    assert!(!met(&report, "correct_encoding"));
    assert!(met(&report, "machine_readable") && met(&report, "links_valid"));
}

#[test]
fn big5_bytes_declared_as_utf8_fail_encoding_match() {
    let mut fx = Fx::well_described();
    fx.sources.as_mut().unwrap().files = vec![source("人口.csv", "csv", "Big5")];
    fx.dataset.metadata.encoding = Some("UTF-8".into());
    let report = fx.report();
    assert_eq!(outcome(&report, "encoding_match"), "fail");
    let found = findings(&report, "encoding_match");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].severity, Severity::Error);
    assert_eq!(found[0].examples, vec!["Big5"]);
    assert!(!met(&report, "correct_encoding"));
    assert_eq!(report.badge.level, "silver");

    // CP950 is Big5; the metadata declaration wins over the pipeline's.
    fx.dataset.metadata.encoding = Some("cp950".into());
    fx.pipeline.encoding = Some("UTF-8".into());
    assert_eq!(outcome(&fx.report(), "encoding_match"), "pass");
    // The pipeline's declaration is used when the metadata has none.
    fx.dataset.metadata.encoding = None;
    assert_eq!(outcome(&fx.report(), "encoding_match"), "fail");
    fx.pipeline.encoding = Some("BIG5-HKSCS".into());
    assert_eq!(outcome(&fx.report(), "encoding_match"), "pass");
}

#[test]
fn encoding_mismatch_in_the_log_fails_and_binary_files_skip() {
    let mut fx = Fx::well_described();
    fx.log.as_mut().unwrap().entries.push(log_entry(
        "encoding_mismatch",
        "population-2024.csv",
        "declared Big5, but the bytes are UTF-8 (confidence 99%); read as UTF-8",
        1,
    ));
    let report = fx.report();
    assert_eq!(outcome(&report, "encoding_match"), "fail");
    assert_eq!(findings(&report, "encoding_match")[0].count, 1);

    let mut fx = Fx::well_described();
    fx.sources.as_mut().unwrap().files = vec![source("人口.xlsx", "xlsx", "")];
    fx.dataset.metadata.format = Some("XLSX".into());
    let report = fx.report();
    assert_eq!(outcome(&report, "encoding_match"), "skip");
    assert!(met(&report, "correct_encoding"), "a spreadsheet has no encoding to get wrong");
    assert_eq!(report.badge.level, "gold");
}

#[test]
fn format_mismatches_fail_format_match() {
    let mut fx = Fx::well_described();
    fx.log.as_mut().unwrap().entries.push(log_entry(
        "format_mismatch",
        "人口.csv",
        "named .csv, but the bytes are xls; read as xls",
        1,
    ));
    let report = fx.report();
    assert_eq!(outcome(&report, "format_match"), "fail");
    let found = findings(&report, "format_match");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].severity, Severity::Error);
    assert!(found[0].message.contains("named .csv, but the bytes are xls"));
    assert_eq!(found[0].examples, vec!["人口.csv"]);

    // The declared 檔案格式 against the detected one.
    let mut fx = Fx::well_described();
    fx.dataset.metadata.format = Some("XLS".into());
    let report = fx.report();
    assert_eq!(outcome(&report, "format_match"), "fail");
    assert_eq!(findings(&report, "format_match")[0].examples, vec!["csv"]);
    // TSV is a CSV; a list of declared formats covers each.
    fx.sources.as_mut().unwrap().files = vec![source("a.tsv", "tsv", "UTF-8"), source("b.json", "json", "UTF-8")];
    fx.dataset.metadata.format = Some("CSV;JSON".into());
    assert_eq!(outcome(&fx.report(), "format_match"), "pass");

    let mut fx = Fx::well_described();
    fx.version = None;
    assert_eq!(outcome(&fx.report(), "format_match"), "skip");
}

#[test]
fn decode_errors_warn_with_their_count() {
    let mut fx = Fx::well_described();
    let log = fx.log.as_mut().unwrap();
    log.entries.push(log_entry("decode_error", "a.csv", "bytes that are not text", 3));
    log.entries.push(log_entry("decode_error", "b.csv", "bytes that are not text", 2));
    let report = fx.report();
    assert_eq!(outcome(&report, "decode_errors"), "warn");
    let found = findings(&report, "decode_errors");
    assert_eq!(found[0].count, 5);
    assert_eq!(found[0].examples, vec!["a.csv", "b.csv"]);
    assert_eq!(earned(&report, "decode_errors"), 2.5);
}

#[test]
fn a_monthly_dataset_is_overdue_after_a_month_and_a_day() {
    let mut fx = Fx::well_described();
    fx.last_refreshed = Some(now() - TimeDelta::days(45));
    let report = fx.report();
    assert_eq!(outcome(&report, "timeliness"), "fail");
    let found = findings(&report, "timeliness");
    assert_eq!(found[0].severity, Severity::Error);
    assert!(found[0].message.contains("45 days ago"), "{}", found[0].message);
    assert!(found[0].message.contains("monthly"));
    assert!(found[0].message.contains("2024-05-01") && found[0].message.contains("2024-06-01"), "{}", found[0].message);
    assert!(found[0].message_zh.contains("每月") && found[0].message_zh.contains("45 天"));
    assert!(!met(&report, "updated_on_time"));

    fx.last_refreshed = Some(now() - TimeDelta::days(20));
    assert_eq!(outcome(&fx.report(), "timeliness"), "pass");

    // Without a later refresh, the version's creation counts.
    fx.last_refreshed = None;
    fx.version_mut().created_at = now() - TimeDelta::days(45);
    assert_eq!(outcome(&fx.report(), "timeliness"), "fail");

    // One day of grace, exactly.
    let last = now().checked_sub_months(Months::new(1)).unwrap() - TimeDelta::days(1);
    fx.last_refreshed = Some(last);
    assert_eq!(outcome(&fx.report(), "timeliness"), "pass");
    fx.last_refreshed = Some(last - TimeDelta::seconds(1));
    assert_eq!(outcome(&fx.report(), "timeliness"), "fail");

    fx.dataset.frequency = Some(Frequency::Irregular);
    fx.last_refreshed = Some(at(2010, 1, 1));
    assert_eq!(outcome(&fx.report(), "timeliness"), "pass");
    fx.dataset.frequency = None;
    assert_eq!(outcome(&fx.report(), "timeliness"), "skip");
}

#[test]
fn next_due_adds_calendar_months_clamped_to_the_month_end() {
    let t = Utc.with_ymd_and_hms(2024, 1, 31, 9, 30, 0).unwrap();
    assert_eq!(next_due(Frequency::Monthly, t), Some(Utc.with_ymd_and_hms(2024, 2, 29, 9, 30, 0).unwrap()));
    assert_eq!(next_due(Frequency::Monthly, at(2023, 1, 31)), Some(at(2023, 2, 28)));
    assert_eq!(next_due(Frequency::Monthly, at(2024, 12, 31)), Some(at(2025, 1, 31)));
    assert_eq!(next_due(Frequency::Quarterly, at(2023, 11, 30)), Some(at(2024, 2, 29)));
    assert_eq!(next_due(Frequency::Yearly, at(2024, 2, 29)), Some(at(2025, 2, 28)));
    assert_eq!(next_due(Frequency::Weekly, at(2024, 2, 26)), Some(at(2024, 3, 4)));
    assert_eq!(next_due(Frequency::Daily, at(2024, 2, 29)), Some(at(2024, 3, 1)));
    assert_eq!(next_due(Frequency::Realtime, t), Some(Utc.with_ymd_and_hms(2024, 1, 31, 10, 30, 0).unwrap()));
    assert_eq!(next_due(Frequency::Irregular, t), None);
}

#[test]
fn a_failing_link_fails_linkable_and_costs_the_badge_its_links() {
    let mut fx = Fx::well_described();
    fx.links = Some(LinkCheck {
        url: "https://data.tainan.gov.tw/population.csv".into(),
        linkable: Err("connection refused".into()),
        downloadable: Err("connection refused".into()),
    });
    let report = fx.report();
    assert_eq!(outcome(&report, "linkable"), "fail");
    assert_eq!(outcome(&report, "downloadable"), "fail");
    let found = findings(&report, "linkable");
    assert!(found[0].message.contains("connection refused"));
    assert_eq!(found[0].examples, vec!["https://data.tainan.gov.tw/population.csv"]);
    assert!(!met(&report, "links_valid"));
    assert_eq!(report.badge.level, "silver");

    let link = fx.links.as_mut().unwrap();
    link.linkable = Ok(404);
    link.downloadable = Ok(0);
    let report = fx.report();
    assert!(findings(&report, "linkable")[0].message.contains("404"));
    assert!(findings(&report, "downloadable")[0].message.contains("empty"));

    let link = fx.links.as_mut().unwrap();
    link.linkable = Ok(302);
    link.downloadable = Ok(2048);
    let report = fx.report();
    assert_eq!((outcome(&report, "linkable"), outcome(&report, "downloadable")), ("pass", "pass"));
    assert_eq!(report.badge.level, "gold");

    // Uploaded files: the store must still hold them.
    fx.links = None;
    fx.stored = false;
    let report = fx.report();
    assert_eq!((outcome(&report, "linkable"), outcome(&report, "downloadable")), ("fail", "fail"));
}

#[test]
fn pending_table_findings_skip_the_table_checks() {
    let mut fx = Fx::well_described();
    fx.table = None;
    fx.status = "pending".into();
    let report = fx.report();
    assert_eq!(report.status, "pending");
    for code in super::tabular::TABLE_CHECKS {
        assert_eq!(outcome(&report, code), "skip", "{code}");
    }
    // The checks that do not read the values are judged already.
    assert_eq!(outcome(&report, "desc_match"), "pass");
    assert_eq!(outcome(&report, "format_match"), "pass");
    assert_eq!(report.score, 100);
}

#[test]
fn table_checks_take_their_outcome_from_the_stored_findings() {
    let mut fx = Fx::well_described();
    fx.table = Some(vec![
        table_finding("mixed_types", Severity::Error, &["n/a"]),
        table_finding("numeric_outliers", Severity::Warning, &["99999"]),
        table_finding("date_format", Severity::Info, &["105/01/01"]),
        table_finding("coordinates", Severity::Warning, &["181.2"]),
        // Made under a key declared then; none is declared now.
        table_finding("code_list", Severity::Error, &["9"]),
    ]);
    let report = fx.report();
    assert_eq!(outcome(&report, "mixed_types"), "fail");
    assert_eq!(outcome(&report, "numeric_outliers"), "warn");
    assert_eq!(outcome(&report, "date_format"), "pass");
    assert_eq!(outcome(&report, "coordinates"), "warn", "findings make coordinates apply");
    assert_eq!(outcome(&report, "code_list"), "skip");
    assert!(findings(&report, "code_list").is_empty());
    assert_eq!(findings(&report, "mixed_types")[0].examples, vec!["n/a"]);

    fx.pipeline.code_lists.insert("性別".into(), [("1".to_string(), "男".to_string())].into());
    assert_eq!(outcome(&fx.report(), "code_list"), "fail");

    fx.dataset.metadata.primary_key.clear();
    assert_eq!(outcome(&fx.report(), "primary_key"), "skip");
    fx.pipeline.primary_key = vec!["行政區".into()];
    assert_eq!(outcome(&fx.report(), "primary_key"), "pass");

    assert_eq!(outcome(&fx.report(), "constraints"), "skip");
    fx.dataset.metadata.fields[1].constraints = FieldConstraints { minimum: Some(0.0), ..FieldConstraints::default() };
    assert_eq!(outcome(&fx.report(), "constraints"), "pass");
}

#[test]
fn findings_are_sorted_errors_then_warnings_then_info() {
    let mut fx = Fx::well_described();
    fx.dataset.description = "短".into();
    fx.table = Some(vec![
        table_finding("date_format", Severity::Info, &[]),
        table_finding("numeric_outliers", Severity::Warning, &[]),
        table_finding("series_gaps", Severity::Error, &[]),
    ]);
    fx.dataset.license = "proprietary".into();
    let report = fx.report();
    let severities: Vec<Severity> = report.findings.iter().map(|f| f.severity).collect();
    assert_eq!(
        severities,
        vec![Severity::Error, Severity::Error, Severity::Warning, Severity::Warning, Severity::Info],
        "{:#?}",
        report.findings
    );
    // Within a severity, catalogue order.
    let codes: Vec<&str> = report.findings.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, vec!["series_gaps", "license", "numeric_outliers", "description", "date_format"]);
    assert_eq!(report.count(Severity::Error), 2);
}

#[test]
fn the_score_is_the_weighted_share_of_checks_passed() {
    let mut fx = Fx::well_described();
    // description: a warning, 3 → 1.5.
    fx.dataset.description = "臺南市人口".into();
    // completeness: 2 of 11 members missing, 10 → 10 × 9/11.
    fx.dataset.metadata.title_en = None;
    fx.dataset.metadata.contact = Some(Contact { name: Some("王承辦".into()), email: None, phone: None });
    // numeric_outliers: a warning, 2 → 1; duplicate_rows: an error, 5 → 0.
    fx.table = Some(vec![
        table_finding("numeric_outliers", Severity::Warning, &["99999"]),
        table_finding("duplicate_rows", Severity::Error, &["3"]),
    ]);
    let report = fx.report();

    // Applying: the portal's six 40, format_match 5, decode_errors 5, the table checks but code_list, constraints and
    // coordinates 31, metadata 28, timeliness 10.
    let denominator = 40.0 + 5.0 + 5.0 + (5.0 + 5.0 + 3.0 + 1.0 + 5.0 + 5.0 + 2.0 + 5.0) + 28.0 + 10.0;
    assert_eq!(denominator, 119.0);
    let applying: u32 = report.checks.iter().filter(|c| c.outcome != "skip").map(|c| c.weight).sum();
    assert_eq!(f64::from(applying), denominator);
    let earned_total = denominator - 1.5 - (10.0 - 10.0 * 9.0 / 11.0) - 1.0 - 5.0;
    assert!((earned(&report, "metadata_completeness") - 10.0 * 9.0 / 11.0).abs() < 1e-9);
    assert_eq!(earned(&report, "description"), 1.5);
    assert_eq!(earned(&report, "numeric_outliers"), 1.0);
    assert_eq!(earned(&report, "duplicate_rows"), 0.0);
    // 100 × 109.68 / 119 = 92.17
    assert_eq!(report.score, (100.0 * earned_total / denominator).round() as u8);
    assert_eq!(report.score, 92);

    // Before the first publish: csv fails (5), license 5, description 3 (a warning: 1.5), completeness 10 × 9/11;
    // everything else is skipped.
    fx.version = None;
    fx.sources = None;
    let report = fx.report();
    assert_eq!(report.status, "unpublished");
    assert_eq!(report.version, 0);
    assert_eq!(report.badge.level, "none");
    let applying: Vec<&str> = report.checks.iter().filter(|c| c.outcome != "skip").map(|c| c.code.as_str()).collect();
    assert_eq!(applying, vec!["csv", "license", "description", "metadata_completeness"]);
    let expected: f64 = 100.0 * (0.0 + 5.0 + 1.5 + 10.0 * 9.0 / 11.0) / 23.0;
    assert_eq!(report.score, expected.round() as u8);
    assert_eq!(report.score, 64);
}

#[test]
fn columns_and_descriptions_are_matched_with_the_declaration() {
    let mut fx = Fx::well_described();
    // A declared column the file no longer has, and a column the declaration lacks.
    fx.dataset.metadata.fields.push(described("戶數", "戶數"));
    fx.version_mut().schema.fields.push(field("男性人口數", FieldType::Integer));
    let report = fx.report();
    assert_eq!(outcome(&report, "desc_match"), "fail");
    let found = findings(&report, "desc_match");
    assert_eq!(found.len(), 2);
    assert_eq!((found[0].count, found[0].examples.clone()), (1, vec!["男性人口數".to_string()]));
    assert_eq!((found[1].count, found[1].examples.clone()), (1, vec!["戶數".to_string()]));
    // 男性人口數 is not described: 1 of 4 columns.
    assert_eq!(outcome(&report, "field_descriptions"), "warn");
    let described_ = findings(&report, "field_descriptions");
    assert_eq!(described_[0].examples, vec!["男性人口數"]);
    assert_eq!(described_[0].severity, Severity::Warning);
    assert!(!met(&report, "field_descriptions"));

    // The schema's own description counts.
    fx.version_mut().schema.fields.last_mut().unwrap().description = Some("男性設籍人口".into());
    assert_eq!(outcome(&fx.report(), "field_descriptions"), "pass");

    // A declaration without descriptions describes nothing.
    for m in &mut fx.dataset.metadata.fields {
        m.description = None;
    }
    for f in &mut fx.version_mut().schema.fields {
        f.description = None;
    }
    assert_eq!(findings(&fx.report(), "field_descriptions")[0].severity, Severity::Error);
}

#[test]
fn web_pages_warn_and_other_formats_fail_structure() {
    let mut fx = Fx::well_described();
    fx.dataset.metadata.format = None;
    fx.sources.as_mut().unwrap().files = vec![source("list.html", "html", "UTF-8")];
    let report = fx.report();
    assert_eq!(outcome(&report, "structure"), "warn");
    assert_eq!(findings(&report, "structure")[0].examples, vec!["list.html"]);
    assert!(!met(&report, "machine_readable"));

    fx.sources.as_mut().unwrap().files = vec![source("report.pdf", "pdf", ""), source("a.csv", "csv", "UTF-8")];
    let report = fx.report();
    assert_eq!(outcome(&report, "structure"), "fail");
    assert_eq!(findings(&report, "structure")[0].count, 1);

    // Without a listing, the original file's format is judged.
    fx.sources = None;
    fx.version_mut().original.format = "html".into();
    assert_eq!(outcome(&fx.report(), "structure"), "warn");
}

#[test]
fn descriptions_are_counted_in_characters_and_must_differ_from_the_title() {
    let mut fx = Fx::well_described();
    fx.dataset.description = "人".repeat(29);
    assert_eq!(outcome(&fx.report(), "description"), "warn", "29 characters (87 bytes) is short");
    fx.dataset.description = "人".repeat(30);
    assert_eq!(outcome(&fx.report(), "description"), "pass");
    fx.dataset.title = "人".repeat(30);
    assert_eq!(outcome(&fx.report(), "description"), "warn");
    assert!(findings(&fx.report(), "description")[0].message.contains("title"));
}

#[test]
fn completeness_needs_a_reachable_contact_and_a_paid_fee_explained() {
    let mut fx = Fx::well_described();
    fx.dataset.metadata.contact = Some(Contact { name: None, email: Some("data@tainan.gov.tw".into()), phone: None });
    fx.dataset.metadata.fee = Some(Fee { kind: FeeKind::Paid, description: None });
    let report = fx.report();
    assert_eq!(findings(&report, "metadata_completeness")[0].examples, vec!["contact", "fee"]);
    fx.dataset.metadata.contact =
        Some(Contact { name: Some("王承辦".into()), email: None, phone: Some("06-1234567".into()) });
    fx.dataset.metadata.fee = Some(Fee { kind: FeeKind::Paid, description: Some("規費法".into()) });
    fx.dataset.metadata.spatial = None;
    fx.dataset.metadata.spatial_bbox = Some([120.0, 22.8, 120.7, 23.5]);
    assert_eq!(outcome(&fx.report(), "metadata_completeness"), "pass");
}

#[test]
fn no_message_contains_a_value_of_the_data() {
    // Values of the data planted wherever the input carries them: transform-log examples, column statistics and the
    // stored table findings' examples. None may reach a message.
    let planted = ["王小明", "0912345678", "A123456789", "99999"];
    let example = |before: &str| TransformExample { row: Some(7), before: before.into(), after: None };
    let mut fx = Fx::undeclared();
    fx.dataset.metadata.format = Some("XLS".into());
    fx.dataset.metadata.encoding = Some("UTF-8".into());
    fx.dataset.frequency = Some(Frequency::Daily);
    fx.dataset.description = "短".into();
    fx.last_refreshed = Some(now() - TimeDelta::days(9));
    fx.sources.as_mut().unwrap().files =
        vec![source("a.csv", "csv", "Big5"), source("b.html", "html", "UTF-8"), source("c.pdf", "pdf", "")];
    let mut decode = log_entry("decode_error", "a.csv", "bytes that are not text", 2);
    decode.column = Some("姓名".into());
    decode.examples = vec![example(planted[0]), example(planted[1])];
    let mut mismatch = log_entry("format_mismatch", "a.csv", "named .csv, but the bytes are xls; read as xls", 1);
    mismatch.examples = vec![example(planted[2])];
    fx.log = Some(TransformLog { entries: vec![decode, mismatch] });
    fx.version_mut().stats = vec![tapwater_types::ColumnStats {
        name: "人口數".into(),
        null_count: 0,
        min: Some(planted[3].into()),
        max: Some(planted[1].into()),
        distinct_count: None,
    }];
    fx.table = Some(vec![table_finding("numeric_outliers", Severity::Warning, &[planted[3]])]);
    fx.links = Some(LinkCheck {
        url: "https://example.gov.tw/a.csv".into(),
        linkable: Ok(500),
        downloadable: Err("timed out".into()),
    });
    let report = fx.report();

    let failing =
        ["linkable", "downloadable", "structure", "encoding_match", "desc_match", "format_match", "timeliness"];
    for code in failing {
        assert_eq!(outcome(&report, code), "fail", "{code}");
    }
    assert_eq!(outcome(&report, "decode_errors"), "warn");
    assert!(report.findings.len() >= 12, "{:#?}", report.findings);
    for f in &report.findings {
        assert!(!f.message.trim().is_empty() && !f.message_zh.trim().is_empty(), "{}", f.code);
        assert!(f.message_zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{}: {}", f.code, f.message_zh);
        for value in planted {
            assert!(!f.message.contains(value) && !f.message_zh.contains(value), "{}: {}", f.code, f.message);
        }
    }
    // The decoding finding names the files, not the bytes.
    assert_eq!(findings(&report, "decode_errors")[0].examples, vec!["a.csv"]);
    // The stored finding keeps its example, which withholding removes.
    let mut withheld = report.clone();
    withheld.withhold_examples();
    assert!(withheld.findings.iter().all(|f| f.examples.is_empty()));
    assert_eq!(findings(&report, "numeric_outliers")[0].examples, vec![planted[3]]);
}

fn dated_file(name: &str, iso: &str) -> TransformEntry {
    let mut entry = log_entry("file_name_date", name, "the file name says a date", 1);
    entry.examples =
        vec![tapwater_types::TransformExample { row: None, before: name.to_string(), after: Some(iso.to_string()) }];
    entry
}

#[test]
fn a_series_of_yearly_files_with_a_missing_year_warns_series_gaps() {
    let mut fx = Fx::well_described();
    let years = [("A1_2013.csv", "2013-01-01"), ("A1_2014.csv", "2014-01-01"), ("A1_2016.csv", "2016-01-01")];
    fx.sources.as_mut().unwrap().files = years.iter().map(|(name, _)| source(name, "csv", "UTF-8")).collect();
    fx.log.as_mut().unwrap().entries.extend(years.iter().map(|(name, iso)| dated_file(name, iso)));
    let report = fx.report();
    assert_eq!(outcome(&report, "series_gaps"), "warn");
    let found = findings(&report, "series_gaps");
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].count, found[0].examples.clone()), (1, vec!["2015".to_string()]));
    assert!(!found[0].message.contains("2015"), "{}", found[0].message);

    // Every year present: no gap. Samples far apart (more missing than present): not a series, no alarm.
    let complete = [("A1_2013.csv", "2013-01-01"), ("A1_2014.csv", "2014-01-01"), ("A1_2015.csv", "2015-01-01")];
    let sparse = [("A1_2001.csv", "2001-01-01"), ("A1_2010.csv", "2010-01-01"), ("A1_2020.csv", "2020-01-01")];
    for files in [complete, sparse] {
        let mut fx = Fx::well_described();
        fx.sources.as_mut().unwrap().files = files.iter().map(|(name, _)| source(name, "csv", "UTF-8")).collect();
        fx.log.as_mut().unwrap().entries.extend(files.iter().map(|(name, iso)| dated_file(name, iso)));
        assert_eq!(outcome(&fx.report(), "series_gaps"), "pass", "{files:?}");
    }

    // Monthly files of one year, one month missing.
    let mut fx = Fx::well_described();
    let months = [("202401.csv", "2024-01-01"), ("202402.csv", "2024-02-01"), ("202404.csv", "2024-04-01")];
    fx.sources.as_mut().unwrap().files = months.iter().map(|(name, _)| source(name, "csv", "UTF-8")).collect();
    fx.log.as_mut().unwrap().entries.extend(months.iter().map(|(name, iso)| dated_file(name, iso)));
    let report = fx.report();
    assert_eq!(findings(&report, "series_gaps")[0].examples, vec!["2024-03".to_string()]);
}

#[test]
fn plain_years_in_file_names_count_as_periods_too() {
    let mut fx = Fx::well_described();
    // Ingestion dated the ROC names; the Gregorian one is read from its name.
    let files = ["A1_roc102_2013.csv", "A1_roc105_2016.csv", "A1_2018.csv"];
    fx.sources.as_mut().unwrap().files = files.iter().map(|name| source(name, "csv", "UTF-8")).collect();
    let log = &mut fx.log.as_mut().unwrap().entries;
    log.push(dated_file(files[0], "2013-01-01"));
    log.push(dated_file(files[1], "2016-01-01"));
    let report = fx.report();
    let found = findings(&report, "series_gaps");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].examples, vec!["2014", "2015", "2017"]);
    // A name without a period: no series, no finding.
    fx.sources.as_mut().unwrap().files[2] = source("A1_latest.csv", "csv", "UTF-8");
    assert!(findings(&fx.report(), "series_gaps").is_empty());
}
