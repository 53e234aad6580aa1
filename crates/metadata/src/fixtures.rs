//! A representative dataset and version for the tests: Chinese names, every field type, declared metadata.

use std::collections::BTreeMap;

use chrono::{NaiveDate, TimeZone, Utc};
use tapwater_types::{
    AccessLevel, Contact, Dataset, DatasetMetadata, Fee, FeeKind, Field, FieldConstraints, FieldMetadata, FieldType,
    ForeignKey, Frequency, OriginalFile, Publisher, Slug, TableSchema, TemporalCoverage, Version,
};

use crate::Site;

pub(crate) fn site() -> Site<'static> {
    Site {
        base_url: "https://data.example.gov.tw/",
        title: "臺南市資料開放平臺",
        title_en: "Tainan City Open Data",
        publisher_name: Some("臺南市政府"),
    }
}

fn field(name: &str, field_type: FieldType) -> Field {
    Field::new(name, field_type)
}

pub(crate) fn dataset() -> Dataset {
    let mut district = FieldConstraints { required: true, ..FieldConstraints::default() };
    district.allowed = BTreeMap::from([
        ("東區".to_string(), "East District".to_string()),
        ("中西區".to_string(), "West Central District".to_string()),
    ]);
    Dataset {
        slug: Slug::parse("tainan-population").expect("slug"),
        title: "臺南市各區人口統計".into(),
        description: "臺南市各行政區每月人口數，含 \"原鄉\" 註記。\n第二行說明。".into(),
        publisher: Some(Publisher {
            slug: Slug::parse("tainan-cab").expect("slug"), name: "臺南市政府民政局".into()
        }),
        license: "OGDL-Taiwan-1.0".into(),
        frequency: Some(Frequency::Monthly),
        tags: vec!["人口".into(), "戶政".into()],
        created_at: Utc.with_ymd_and_hms(2023, 1, 5, 2, 0, 0).unwrap(),
        updated_at: Utc.with_ymd_and_hms(2024, 3, 1, 4, 30, 0).unwrap(),
        current_version: Some(3),
        access: AccessLevel::Public,
        draft: false,
        metadata: DatasetMetadata {
            title_en: Some("Population of Tainan City by district".into()),
            description_en: Some("Monthly population of each district of Tainan City.".into()),
            contact: Some(Contact {
                name: Some("王小明".into()),
                email: Some("wang@example.gov.tw".into()),
                phone: Some("06-2991111#1234".into()),
            }),
            publisher_oid: Some("2.16.886.101.20003.20065".into()),
            national_id: Some("6247".into()),
            categories: vec!["人口及住宅".into(), "人口".into()],
            temporal: Some(TemporalCoverage {
                start: NaiveDate::from_ymd_opt(2020, 1, 1),
                end: NaiveDate::from_ymd_opt(2024, 2, 29),
            }),
            spatial: Some("臺南市".into()),
            spatial_bbox: Some([120.03, 22.89, 120.66, 23.41]),
            source: Some("戶役政資訊系統".into()),
            landing_page: Some("https://www.tainan.gov.tw/population".into()),
            format: Some("CSV".into()),
            encoding: Some("UTF-8".into()),
            fee: Some(Fee { kind: FeeKind::Free, description: None }),
            legal_basis: Some("戶籍法".into()),
            language: Some("zh-TW".into()),
            conforms_to: Some("https://schema.example.gov.tw/population.json".into()),
            related: vec!["https://data.example.gov.tw/api/v1/datasets/tainan-districts".into()],
            fields: vec![
                FieldMetadata {
                    name: "district".into(),
                    description: Some("行政區名稱".into()),
                    uri: Some("http://schema.org/addressLocality".into()),
                    constraints: district,
                    ..FieldMetadata::default()
                },
                FieldMetadata {
                    name: "人口數".into(),
                    description: Some("月底戶籍登記人口".into()),
                    unit: Some("人".into()),
                    constraints: FieldConstraints { minimum: Some(0.0), ..FieldConstraints::default() },
                    ..FieldMetadata::default()
                },
                FieldMetadata {
                    name: "代碼".into(),
                    description: Some("行政區代碼".into()),
                    constraints: FieldConstraints {
                        pattern: Some("[0-9]{8}".into()),
                        min_length: Some(8),
                        max_length: Some(8),
                        unique: true,
                        ..FieldConstraints::default()
                    },
                    ..FieldMetadata::default()
                },
            ],
            primary_key: vec!["代碼".into(), "統計年月".into()],
            foreign_keys: vec![
                ForeignKey {
                    fields: vec!["代碼".into()],
                    resource: "tainan-districts".into(),
                    reference_fields: vec!["code".into()],
                },
                ForeignKey {
                    fields: vec!["上層代碼".into()],
                    resource: "tainan-population".into(),
                    reference_fields: vec!["代碼".into()],
                },
            ],
        },
    }
}

pub(crate) fn version() -> Version {
    let mut district = field("行政區", FieldType::Text);
    district.aliases = vec!["district".into()];
    let mut people = field("人口數", FieldType::Integer);
    people.unit = Some("人".into());
    let mut ratio = field("性比例", FieldType::Decimal);
    ratio.description = Some("每百女子所當男子數".into());
    Version {
        id: "01HV0000000000000000000003".into(),
        seq: 3,
        created_at: Utc.with_ymd_and_hms(2024, 3, 2, 1, 0, 0).unwrap(),
        row_count: 3,
        schema: TableSchema {
            fields: vec![
                field("代碼", FieldType::Text),
                field("上層代碼", FieldType::Text),
                district,
                field("統計年月", FieldType::Date),
                people,
                ratio,
                field("原鄉", FieldType::Boolean),
                field("更新時間", FieldType::Datetime),
                field("開放時間", FieldType::Time),
            ],
        },
        original: OriginalFile {
            filename: "人口統計 2024-02.csv".into(),
            format: "csv".into(),
            media_type: "text/csv; charset=big5".into(),
            encoding: "big5".into(),
            sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
            bytes: 1234,
        },
        data_path: "data/x.parquet".into(),
        original_path: "originals/x".into(),
        data_bytes: 999,
        stats: Vec::new(),
        artefacts: Vec::new(),
        published_by: "user:wang".into(),
    }
}

/// Three rows of the version in tapwater's CSV style (see `tapwater-query`'s encoder): `\n` line ends, RFC 4180
/// quoting, booleans `true`/`false`, dates `YYYY-MM-DD`, times `HH:MM:SS[.ffffff]`, date-times RFC 3339 with the
/// Asia/Taipei offset, decimals without exponent, nulls as empty cells, no BOM.
pub(crate) const CSV: &str = "代碼,上層代碼,行政區,統計年月,人口數,性比例,原鄉,更新時間,開放時間\n\
67000010,,東區,2024-02-01,187654,95.37,false,2024-03-01T09:30:00+08:00,08:30:00\n\
67000020,67000010,中西區,2024-02-01,76543,0.00001,true,2024-03-01T09:30:00.25+08:00,17:45:30.5\n\
67000030,67000010,\"東區\",2024-02-01,,101,,1989-07-01T00:00:00+09:00,\n";
