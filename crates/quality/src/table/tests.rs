//! Real files through ingest and back from Parquet (no false alarm on clean files, real defects found), and small
//! tables with one planted defect per check.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Array, Float64Array, Int64Array, StringArray, StringViewArray};
use arrow::datatypes::{DataType, Field as ArrowField, Schema};
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tapwater_ingest::{IngestOptions, ingest_file};
use tapwater_types::{
    DatasetMetadata, Field, FieldConstraints, FieldMetadata, FieldType, Finding, Pipeline, Severity, TableSchema,
};

use crate::TableChecker;

const FIXTURES: &str = "../ingest/tests/fixtures";

/// A fixture ingested with the default pipeline, read back from its Parquet.
fn fixture(name: &str) -> (TableSchema, Vec<RecordBatch>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURES).join(name);
    let tmp = std::env::temp_dir().join(format!("tapwater-quality-{}-{name}.parquet", std::process::id()));
    let report = ingest_file(&path, std::fs::File::create(&tmp).unwrap(), &IngestOptions::default(), &mut |_| {})
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&tmp).unwrap()).unwrap().build().unwrap();
    let batches = reader.map(|b| b.unwrap()).collect();
    std::fs::remove_file(&tmp).ok();
    (report.schema, batches)
}

fn check_batches(
    schema: &TableSchema,
    batches: &[RecordBatch],
    metadata: &DatasetMetadata,
    pipeline: &Pipeline,
) -> Vec<Finding> {
    let mut checker = TableChecker::new(schema, metadata, pipeline);
    for b in batches {
        checker.push(b);
    }
    let findings = checker.finish();
    assert_messages_hold_no_values(&findings);
    findings
}

fn check_fixture(name: &str) -> Vec<Finding> {
    let (schema, batches) = fixture(name);
    check_batches(&schema, &batches, &DatasetMetadata::default(), &Pipeline::default())
}

/// The Error and Warning findings as (code, column).
fn serious(findings: &[Finding]) -> Vec<(String, Option<String>)> {
    findings.iter().filter(|f| f.severity != Severity::Info).map(|f| (f.code.clone(), f.column.clone())).collect()
}

fn describe(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            format!(
                "{:?} {} {:?} {} {:?} {:?}: {}",
                f.severity, f.code, f.column, f.count, f.rows, f.examples, f.message
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Numbers written in a message, without thousands separators.
fn numbers_in(message: &str) -> Vec<String> {
    let re = regex::Regex::new(r"-?\d[\d,]*(\.\d+)?").unwrap();
    re.find_iter(message).map(|m| m.as_str().replace(',', "")).collect()
}

/// No example value appears in a message: as a substring for text, as one of the message's numbers for a number.
fn assert_messages_hold_no_values(findings: &[Finding]) {
    for f in findings {
        for example in &f.examples {
            let numeric = example.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | ','));
            for message in [&f.message, &f.message_zh] {
                if numeric {
                    let plain = example.replace(',', "");
                    assert!(!numbers_in(message).contains(&plain), "{example:?} in {message:?}");
                } else {
                    assert!(!message.contains(example.as_str()), "{example:?} in {message:?}");
                }
            }
        }
        assert!(f.rows.len() <= 5 && f.examples.len() <= 5, "{f:?}");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Real files

/// Every real fixture, with the errors and warnings a careful person finds in it: nothing on clean files.
#[test]
fn real_files_have_no_false_alarms() {
    let expected: BTreeMap<&str, Vec<(&str, &str)>> = [
        // The 16th field of every row is a single space: an empty column.
        ("cec_2016_legislator_candidates_elcand_T1.csv", vec![("empty_column", "column_16")]),
        ("cec_2019_tainan_legislator_byelection_prof_big5_eudc.csv", vec![]),
        ("cec_2020_polling_station_cross_village.ods", vec![]),
        ("cec_2020_polling_station_cross_village_big5.csv", vec![]),
        ("cec_2022_election_type_codes.xlsx", vec![]),
        ("cec_2022_referendum_rfarea_really_xls.ods", vec![]),
        ("cec_2023_hualien_fuli_byelection_prof_big5.csv", vec![]),
        ("cwb_F-C0032-001_36h_forecast_2015-10-28.xml", vec![]),
        ("cwb_O-A0003-001_station_obs_2014-03-14.xml", vec![]),
        ("kaohsiung_inclusive_playgrounds_pwbmo_2023-02.json", vec![]),
        // <InfoDate/> is empty in every station.
        ("kaohsiung_krtc_metro_stations_wkt.xml", vec![("empty_column", "InfoDate")]),
        ("moi_segis_tainan_district_population_97Y-99Y_big5.csv", vec![]),
        ("moi_segis_tainan_population_by_statistical_area_105Y12M_big5.csv", vec![]),
        ("moi_village_births_deaths_marriages_2014-04.csv", vec![]),
        ("moi_village_births_deaths_marriages_2016-04.csv", vec![]),
        ("moi_village_births_deaths_marriages_2020-10.csv", vec![]),
        ("moi_village_births_deaths_marriages_2024-10.csv", vec![]),
        ("moi_village_education_level_roc102_2013_utf16_tab.csv", vec![]),
        ("moi_village_education_level_roc104_2015.csv", vec![]),
        // Two rows hold the pair the other way round (ingest logs them as `swapped_coordinates` too).
        ("npa_a1_traffic_accidents_2018.csv", vec![("coordinates", "經度")]),
        ("npa_a1_traffic_accidents_roc102_2013.csv", vec![]),
        ("npa_a1_traffic_accidents_roc105_2016.csv", vec![]),
        ("tainan_apartment_management_committees_roc_slash_dates.csv", vec![]),
        ("tainan_dengue_cases_0829_big5.csv", vec![]),
        ("tainan_dengue_cases_by_district_roc1040822.xls", vec![]),
        ("tainan_dengue_cases_roc1040826_big5.csv", vec![]),
        // 日期 is `08月13日`: no year. 可支援人力 has no value at all.
        (
            "tainan_dengue_insecticide_spraying_2015-08.csv",
            vec![("date_format", "日期"), ("empty_column", "可支援人力")],
        ),
        // Numbered blank template rows (項次 3 to 7, nothing else) repeat each other once 項次 is filled down.
        ("tainan_labor_violations_roc103-07-08.xls", vec![("duplicate_rows", "")]),
        // The remarks column is empty.
        ("tainan_labor_violations_roc104-07.xlsx", vec![("empty_column", "備註")]),
        ("tainan_labor_violations_roc105_full_year.xls", vec![]),
        ("tainan_labor_violations_roc106-11.xls", vec![]),
        ("taipei_parking_lots_TCMSV_alldesc_2023-01-28.json", vec![]),
        ("twc_tainan_temporary_water_stations_roc105-02-09.xls", vec![]),
    ]
    .into_iter()
    .collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURES);
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".md") {
            continue;
        }
        let want = expected.get(name.as_str()).unwrap_or_else(|| panic!("{name}: add it to the expectations"));
        let findings = check_fixture(&name);
        let got = serious(&findings);
        let want: Vec<(String, Option<String>)> = want
            .iter()
            .map(|(code, column)| (code.to_string(), (!column.is_empty()).then(|| column.to_string())))
            .collect();
        assert_eq!(got, want, "{name}:\n{}", describe(&findings));
        seen += 1;
    }
    assert_eq!(seen, expected.len());
}

#[test]
fn real_swapped_rows_and_age_sentinel_in_npa_2018() {
    let findings = check_fixture("npa_a1_traffic_accidents_2018.csv");
    let swapped = findings.iter().find(|f| f.code == "coordinates").unwrap();
    assert_eq!((swapped.severity, swapped.count, swapped.rows.clone()), (Severity::Error, 2, vec![29, 30]));
    assert!(swapped.message.contains("經度") && swapped.message.contains("緯度"), "{}", swapped.message);
    // Age -1 means "unknown" in 279 rows: a sentinel to declare.
    let age = findings.iter().find(|f| f.column.as_deref() == Some("當事者事故發生時年齡")).unwrap();
    assert_eq!((age.code.as_str(), age.severity, age.count), ("numeric_outliers", Severity::Info, 279));
    assert_eq!(age.examples, vec!["-1"]);
    assert!(age.fix.contains("sentinel"));
}

#[test]
fn real_weather_observations_have_sentinel_codes() {
    // The station at row 27 reports -998 ("no data") in every element; WDIR also has -99.
    let findings = check_fixture("cwb_O-A0003-001_station_obs_2014-03-14.xml");
    let temp = findings.iter().find(|f| f.column.as_deref() == Some("TEMP")).unwrap();
    assert_eq!((temp.code.as_str(), temp.count, temp.rows.clone()), ("numeric_outliers", 1, vec![27]));
    assert_eq!(temp.examples, vec!["-998"]);
    let wdir = findings.iter().find(|f| f.column.as_deref() == Some("WDIR")).unwrap();
    assert_eq!((wdir.count, wdir.examples.clone()), (2, vec!["-99".to_string(), "-998".to_string()]));
}

#[test]
fn real_date_without_year_and_empty_column() {
    let findings = check_fixture("tainan_dengue_insecticide_spraying_2015-08.csv");
    let date = findings.iter().find(|f| f.code == "date_format").unwrap();
    assert_eq!((date.column.as_deref(), date.count, date.rows.clone()), (Some("日期"), 247, vec![1, 2, 3, 4, 5]));
    assert_eq!(date.examples[0], "08月13日");
    assert!(date.message.contains("without a year"));
    let empty = findings.iter().find(|f| f.code == "empty_column").unwrap();
    assert_eq!((empty.column.as_deref(), empty.count), (Some("可支援人力"), 247));
}

#[test]
fn real_constant_columns_are_info() {
    // 統計年月 is one month in a monthly file: worth a line in the description, not a defect.
    let findings = check_fixture("moi_village_births_deaths_marriages_2024-10.csv");
    let constant: Vec<&str> =
        findings.iter().filter(|f| f.code == "constant_column").filter_map(|f| f.column.as_deref()).collect();
    assert!(constant.contains(&"統計年月"), "{}", describe(&findings));
    assert!(findings.iter().all(|f| f.severity == Severity::Info), "{}", describe(&findings));
}

// ---------------------------------------------------------------------------------------------------------------
// Planted defects

/// What a test compares of a finding: column, count, rows, examples.
type Seen<'a> = (Option<&'a str>, u64, Vec<u64>, Vec<String>);

/// A column for a hand-built table.
fn col(name: &str, field_type: FieldType, array: ArrayRef) -> (Field, ArrayRef) {
    (Field::new(name, field_type), array)
}

fn text(values: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(values.to_vec()))
}

fn texts(values: impl IntoIterator<Item = String>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(values))
}

fn ints(values: &[Option<i64>]) -> ArrayRef {
    Arc::new(Int64Array::from(values.to_vec()))
}

fn floats(values: &[Option<f64>]) -> ArrayRef {
    Arc::new(Float64Array::from(values.to_vec()))
}

fn table(columns: Vec<(Field, ArrayRef)>) -> (TableSchema, RecordBatch) {
    let arrow = Schema::new(
        columns.iter().map(|(f, a)| ArrowField::new(&f.name, a.data_type().clone(), true)).collect::<Vec<_>>(),
    );
    let batch = RecordBatch::try_new(Arc::new(arrow), columns.iter().map(|c| c.1.clone()).collect()).unwrap();
    (TableSchema { fields: columns.into_iter().map(|c| c.0).collect() }, batch)
}

fn check(schema: &TableSchema, batch: &RecordBatch) -> Vec<Finding> {
    check_batches(schema, std::slice::from_ref(batch), &DatasetMetadata::default(), &Pipeline::default())
}

fn with_code<'a>(findings: &'a [Finding], code: &str) -> Vec<&'a Finding> {
    findings.iter().filter(|f| f.code == code).collect()
}

fn only<'a>(findings: &'a [Finding], code: &str) -> &'a Finding {
    let found = with_code(findings, code);
    assert_eq!(found.len(), 1, "{code}:\n{}", describe(findings));
    found[0]
}

/// Row ids 1..=n, so no two rows of a planted table are equal by accident.
fn ids(n: usize) -> (Field, ArrayRef) {
    col("序號", FieldType::Integer, ints(&(1..=n as i64).map(Some).collect::<Vec<_>>()))
}

#[test]
fn words_in_a_column_of_numbers() {
    let mut values: Vec<String> = (0..96).map(|i| format!("{},{:03}", 1 + i % 7, i * 13 % 1000)).collect();
    values[10] = "不詳".into();
    values[40] = "無資料".into();
    values[41] = "N/A".into();
    values[70] = "1,234人".into();
    let (schema, batch) = table(vec![ids(96), col("人數", FieldType::Text, texts(values))]);
    let findings = check(&schema, &batch);
    let f = only(&findings, "mixed_types");
    assert_eq!((f.severity, f.column.as_deref(), f.count), (Severity::Warning, Some("人數"), 4));
    assert_eq!(f.rows, vec![11, 41, 42, 71]);
    assert_eq!(f.examples, vec!["不詳", "無資料", "N/A", "1,234人"]);
    assert_eq!(f.message, "4 of 96 values of this column are text in a column of numbers.");
    assert_eq!(f.message_zh, "此欄 96 個值中有 4 個為文字，其餘為數值。");
}

#[test]
fn codes_identifiers_and_phones_are_not_mixed_types() {
    let n = 60;
    // Codes with leading zeros and a word; an identifier column; phone numbers with and without a hyphen.
    let codes: Vec<String> = (0..n).map(|i| if i == 5 { "其他".into() } else { format!("{:03}", i) }).collect();
    let station: Vec<String> =
        (0..n).map(|i| if i < 50 { format!("4669{i:02}") } else { format!("C0A9{i}") }).collect();
    let phones: Vec<String> =
        (0..n).map(|i| if i % 10 == 0 { format!("2722-{:04}", i) } else { format!("2705{:04}", i) }).collect();
    let (schema, batch) = table(vec![
        ids(n),
        col("區碼", FieldType::Text, texts(codes)),
        col("stationId", FieldType::Text, texts(station)),
        col("聯絡方式", FieldType::Text, texts(phones)),
    ]);
    let findings = check(&schema, &batch);
    assert!(with_code(&findings, "mixed_types").is_empty(), "{}", describe(&findings));
}

#[test]
fn category_codes_with_a_letter_are_not_mixed_types() {
    // Grades 1–3 and A: codes, not numbers with a word among them. But 不詳 among few numbers is a missing value.
    let grades: Vec<String> = (0..40).map(|i| if i % 8 == 0 { "A".into() } else { format!("{}", 1 + i % 3) }).collect();
    let counts: Vec<String> = (0..40).map(|i| if i == 7 { "不詳".into() } else { format!("{}", i % 4) }).collect();
    let (schema, batch) = table(vec![
        ids(40),
        col("等第", FieldType::Text, texts(grades)),
        col("子女數", FieldType::Text, texts(counts)),
    ]);
    let findings = check(&schema, &batch);
    let f = only(&findings, "mixed_types");
    assert_eq!((f.column.as_deref(), f.count, f.rows.clone()), (Some("子女數"), 1, vec![8]));
}

#[test]
fn words_in_a_column_of_dates() {
    let mut values: Vec<String> = (0..40).map(|i| format!("2016-{:02}-{:02}", 1 + i % 12, 1 + i % 28)).collect();
    values[3] = "不詳".into();
    values[20] = "待查".into();
    let (schema, batch) = table(vec![ids(40), col("核准", FieldType::Text, texts(values))]);
    let findings = check(&schema, &batch);
    let f = only(&findings, "mixed_types");
    assert_eq!((f.column.as_deref(), f.count, f.rows.clone()), (Some("核准"), 2, vec![4, 21]));
    assert_eq!(f.examples, vec!["不詳", "待查"]);
    assert!(with_code(&findings, "date_format").is_empty());
}

#[test]
fn dates_in_mixed_spellings() {
    let mut values: Vec<String> = (0..30).map(|i| format!("2016-12-{:02}", 1 + i)).collect();
    values[2] = "105/12/03".into();
    values[9] = "2016/12/10".into();
    values[12] = "105年12月13日".into();
    let (schema, batch) = table(vec![ids(30), col("核准日期", FieldType::Text, texts(values))]);
    let findings = check(&schema, &batch);
    let f = only(&findings, "date_format");
    assert_eq!((f.severity, f.column.as_deref(), f.count), (Severity::Warning, Some("核准日期"), 3));
    assert_eq!(f.rows, vec![3, 10, 13]);
    assert_eq!(f.examples, vec!["105/12/03", "2016/12/10", "105年12月13日"]);
    assert!(with_code(&findings, "mixed_types").is_empty());
}

#[test]
fn iso_dates_months_and_years_are_fine() {
    let n = 36;
    let (schema, batch) = table(vec![
        ids(n),
        col("日期", FieldType::Text, texts((0..n).map(|i| format!("2016-12-{:02}", 1 + i % 28)))),
        col("統計年月", FieldType::Text, texts((0..n).map(|i| format!("{}-{:02}", 2014 + i / 12, 1 + i % 12)))),
        col("發生時間", FieldType::Text, texts((0..n).map(|i| format!("{:02}{:02}00", i % 24, i)))),
        col("年", FieldType::Text, texts((0..n).map(|i| format!("{}", 1990 + i)))),
    ]);
    let findings = check(&schema, &batch);
    assert!(serious(&findings).is_empty(), "{}", describe(&findings));
}

#[test]
fn empty_and_constant_columns() {
    let n = 12;
    let mut source = Field::new("source_file", FieldType::Text);
    source.role = Some("source_file".into());
    let (schema, batch) = table(vec![
        ids(n),
        col("備註", FieldType::Text, text(&vec![Some("  "); n])),
        col("空", FieldType::Integer, ints(&vec![None; n])),
        col("縣市", FieldType::Text, text(&vec![Some("臺南市"); n])),
        col("年度", FieldType::Integer, ints(&vec![Some(104); n])),
        (source, text(&vec![Some("a.csv"); n])),
    ]);
    let findings = check(&schema, &batch);
    let empty = with_code(&findings, "empty_column");
    assert_eq!(empty.iter().map(|f| f.column.as_deref().unwrap()).collect::<Vec<_>>(), vec!["備註", "空"]);
    assert!(empty.iter().all(|f| f.count == 12 && f.severity == Severity::Warning));
    let constant = with_code(&findings, "constant_column");
    assert_eq!(constant.iter().map(|f| f.column.as_deref().unwrap()).collect::<Vec<_>>(), vec!["縣市", "年度"]);
    assert!(constant.iter().all(|f| f.count == 12 && f.severity == Severity::Info));
    // Errors and warnings come before info.
    assert!(
        findings.iter().position(|f| f.severity == Severity::Info)
            > findings.iter().rposition(|f| f.severity == Severity::Warning)
    );

    // Nine rows are too few to call a column constant.
    let (schema, batch) = table(vec![col("縣市", FieldType::Text, text(&[Some("臺南市"); 9]))]);
    assert!(with_code(&check(&schema, &batch), "constant_column").is_empty());
}

#[test]
fn duplicate_rows_across_batches() {
    let (schema, first) = table(vec![
        col("區", FieldType::Text, text(&[Some("東區"), Some("北區"), Some("東區"), None])),
        col("數", FieldType::Integer, ints(&[Some(1), Some(2), Some(3), None])),
    ]);
    let second = RecordBatch::try_new(
        first.schema(),
        vec![text(&[Some("北區"), None, Some("東區"), Some("北區")]), ints(&[Some(2), None, Some(1), Some(2)])],
    )
    .unwrap();
    let findings = check_batches(&schema, &[first, second], &DatasetMetadata::default(), &Pipeline::default());
    let f = only(&findings, "duplicate_rows");
    // Rows 5 and 8 repeat row 2, row 6 repeats row 4 (all null), row 7 repeats row 1.
    assert_eq!((f.severity, f.column.clone(), f.count), (Severity::Warning, None, 4));
    assert_eq!(f.rows, vec![5, 6, 7, 8]);
    assert!(f.examples.is_empty());
}

#[test]
fn primary_key_nulls_and_repeats() {
    let mut key = Field::new("案件編號", FieldType::Text);
    key.aliases = vec!["case_id".into()];
    let (schema, batch) = table(vec![
        (key, text(&[Some("A1"), Some("A2"), None, Some("A2"), Some("A5"), Some("A1")])),
        col(
            "區",
            FieldType::Text,
            text(&[Some("東區"), Some("北區"), Some("南區"), Some("西區"), Some("中區"), Some("東區")]),
        ),
    ]);
    // Declared by alias in the metadata.
    let metadata = DatasetMetadata { primary_key: vec!["case_id".into()], ..DatasetMetadata::default() };
    let findings = check_batches(&schema, std::slice::from_ref(&batch), &metadata, &Pipeline::default());
    let pk = with_code(&findings, "primary_key");
    assert_eq!(pk.len(), 2, "{}", describe(&findings));
    assert!(pk.iter().all(|f| f.severity == Severity::Error && f.column.as_deref() == Some("案件編號")));
    let nulls = pk.iter().find(|f| f.message.contains("no value")).unwrap();
    assert_eq!((nulls.count, nulls.rows.clone()), (1, vec![3]));
    let repeats = pk.iter().find(|f| f.message.contains("repeat")).unwrap();
    assert_eq!(
        (repeats.count, repeats.rows.clone(), repeats.examples.clone()),
        (2, vec![4, 6], vec!["A2".into(), "A1".into()])
    );
    // Row 6 repeats row 1 exactly.
    assert_eq!(only(&findings, "duplicate_rows").rows, vec![6]);

    // The pipeline's key when the metadata declares none; a composite key.
    let pipeline = Pipeline { primary_key: vec!["案件編號".into(), "區".into()], ..Pipeline::default() };
    let findings = check_batches(&schema, std::slice::from_ref(&batch), &DatasetMetadata::default(), &pipeline);
    let repeats: Vec<&Finding> =
        with_code(&findings, "primary_key").into_iter().filter(|f| f.message.contains("repeat")).collect();
    assert_eq!(repeats.len(), 1);
    assert_eq!((repeats[0].count, repeats[0].rows.clone(), repeats[0].column.clone()), (1, vec![6], None));
    assert_eq!(repeats[0].examples, vec!["A1, 東區"]);

    // A key column the table does not have.
    let pipeline = Pipeline { primary_key: vec!["編號".into()], ..Pipeline::default() };
    let findings = check_batches(&schema, std::slice::from_ref(&batch), &DatasetMetadata::default(), &pipeline);
    let f = only(&findings, "primary_key");
    assert_eq!((f.severity, f.column.as_deref()), (Severity::Error, Some("編號")));
    assert!(f.message.contains("編號") && f.message.contains("does not have"));

    // No key declared: nothing about keys.
    assert!(with_code(&check(&schema, &batch), "primary_key").is_empty());
}

#[test]
fn values_outside_code_lists() {
    let (schema, batch) = table(vec![
        col("性別", FieldType::Text, text(&[Some("1"), Some("2"), Some("3"), Some("1"), None, Some("9")])),
        col("等級", FieldType::Integer, ints(&[Some(1), Some(2), Some(2), Some(7), Some(1), Some(3)])),
    ]);
    let pipeline = Pipeline {
        code_lists: [(
            "性別".to_string(),
            [("1", "男"), ("2", "女")].map(|(k, v)| (k.to_string(), v.to_string())).into(),
        )]
        .into(),
        ..Pipeline::default()
    };
    let allowed: BTreeMap<String, String> = ["1", "2", "3"].iter().map(|c| (c.to_string(), String::new())).collect();
    let metadata = DatasetMetadata {
        fields: vec![FieldMetadata {
            name: "等級".into(),
            constraints: FieldConstraints { allowed, ..FieldConstraints::default() },
            ..FieldMetadata::default()
        }],
        ..DatasetMetadata::default()
    };
    let findings = check_batches(&schema, &[batch], &metadata, &pipeline);
    let codes = with_code(&findings, "code_list");
    assert_eq!(codes.len(), 2, "{}", describe(&findings));
    assert_eq!((codes[0].column.as_deref(), codes[0].count, codes[0].rows.clone()), (Some("性別"), 2, vec![3, 6]));
    assert_eq!(codes[0].examples, vec!["3", "9"]);
    assert_eq!((codes[1].column.as_deref(), codes[1].count, codes[1].rows.clone()), (Some("等級"), 1, vec![4]));
    assert_eq!(codes[1].examples, vec!["7"]);
    assert!(codes.iter().all(|f| f.severity == Severity::Error));
}

#[test]
fn each_declared_constraint() {
    let (schema, batch) = table(vec![
        col("名稱", FieldType::Text, text(&[Some("甲公司"), None, Some("乙"), Some("丙股份有限公司"), Some("甲公司")])),
        col("金額", FieldType::Decimal, floats(&[Some(10.5), Some(-3.25), Some(500.0), Some(7.0), Some(12_345.5)])),
        col("文號", FieldType::Text, text(&[Some("A-001"), Some("A-002"), Some("B002"), Some("A-003"), Some("A-004")])),
    ]);
    let field = |name: &str, constraints: FieldConstraints| FieldMetadata {
        name: name.into(),
        constraints,
        ..FieldMetadata::default()
    };
    let metadata = DatasetMetadata {
        fields: vec![
            field(
                "名稱",
                FieldConstraints {
                    required: true,
                    unique: true,
                    min_length: Some(2),
                    max_length: Some(5),
                    ..FieldConstraints::default()
                },
            ),
            field(
                "金額",
                FieldConstraints { minimum: Some(0.0), maximum: Some(1_000.0), ..FieldConstraints::default() },
            ),
            field("文號", FieldConstraints { pattern: Some("[A-Z]-\\d{3}".into()), ..FieldConstraints::default() }),
        ],
        ..DatasetMetadata::default()
    };
    let findings = check_batches(&schema, &[batch], &metadata, &Pipeline::default());
    let constraints = with_code(&findings, "constraints");
    let got: Vec<(&str, Seen<'_>)> = constraints
        .iter()
        .map(|f| {
            let kind = ["required", "unique", "minimum length", "maximum length", "minimum", "maximum", "pattern"]
                .into_iter()
                .find(|k| f.message.contains(k))
                .unwrap();
            (kind, (f.column.as_deref(), f.count, f.rows.clone(), f.examples.clone()))
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("unique", (Some("名稱"), 1, vec![5], vec!["甲公司".to_string()])),
            ("required", (Some("名稱"), 1, vec![2], vec![])),
            ("minimum length", (Some("名稱"), 1, vec![3], vec!["乙".to_string()])),
            ("maximum length", (Some("名稱"), 1, vec![4], vec!["丙股份有限公司".to_string()])),
            ("minimum", (Some("金額"), 1, vec![2], vec!["-3.25".to_string()])),
            ("maximum", (Some("金額"), 1, vec![5], vec!["12345.5".to_string()])),
            ("pattern", (Some("文號"), 1, vec![3], vec!["B002".to_string()])),
        ],
        "{}",
        describe(&findings)
    );
    assert!(constraints.iter().all(|f| f.severity == Severity::Error));
}

#[test]
fn coordinates_outside_taiwan_and_zero() {
    // Kinmen, Matsu, Pratas, Taiping Island, Orchid Island and Taipei are all in Taiwan.
    let mut lon = vec![Some(118.32), Some(119.95), Some(116.72), Some(114.36), Some(121.55), Some(121.56)];
    let mut lat = vec![Some(24.43), Some(26.16), Some(20.70), Some(10.38), Some(22.04), Some(25.04)];
    lon.extend([Some(12.15), Some(0.0), None, Some(121.3)]);
    lat.extend([Some(23.1), Some(0.0), Some(24.0), Some(35.6)]);
    let (schema, batch) = table(vec![
        ids(10),
        col("經度", FieldType::Decimal, floats(&lon)),
        col("緯度", FieldType::Decimal, floats(&lat)),
    ]);
    let findings = check(&schema, &batch);
    let coords = with_code(&findings, "coordinates");
    assert!(coords.iter().all(|f| f.severity == Severity::Error));
    let got: Vec<Seen<'_>> =
        coords.iter().map(|f| (f.column.as_deref(), f.count, f.rows.clone(), f.examples.clone())).collect();
    assert_eq!(
        got,
        vec![
            (Some("經度"), 1, vec![8], vec!["0, 0".to_string()]),
            (Some("經度"), 1, vec![7], vec!["12.15".to_string()]),
            (Some("緯度"), 1, vec![10], vec!["35.6".to_string()]),
        ],
        "{}",
        describe(&findings)
    );
    assert!(coords[0].message.contains("經度") && coords[0].message.contains("緯度"));
}

#[test]
fn swapped_coordinate_columns() {
    let n = 20;
    let lat_values: Vec<Option<f64>> = (0..n).map(|i| Some(22.6 + f64::from(i) * 0.01)).collect();
    let lon_values: Vec<Option<f64>> = (0..n).map(|i| Some(120.3 + f64::from(i) * 0.01)).collect();
    // Named longitude first, holding latitudes (ingest gives such a column the role its values say).
    let mut lon = Field::new("Longitude", FieldType::Decimal);
    lon.role = Some("latitude".into());
    let mut lat = Field::new("Latitude", FieldType::Decimal);
    lat.role = Some("longitude".into());
    let (schema, batch) = table(vec![(lon, floats(&lat_values)), (lat, floats(&lon_values))]);
    let findings = check(&schema, &batch);
    let f = only(&findings, "coordinates");
    assert_eq!((f.severity, f.column.as_deref(), f.count), (Severity::Error, Some("Longitude"), 20));
    assert_eq!(f.rows, vec![1, 2, 3, 4, 5]);
    assert!(f.message.starts_with("Columns Longitude and Latitude look swapped"), "{}", f.message);
    assert!(f.fix.contains("Swap the two columns"));
}

#[test]
fn twd97_metres_and_other_numbers_are_not_coordinates() {
    let n = 40;
    let mut x = Field::new("tw97x", FieldType::Decimal);
    x.role = Some("twd97_x".into());
    let mut y = Field::new("tw97y", FieldType::Decimal);
    y.role = Some("twd97_y".into());
    let (schema, batch) = table(vec![
        ids(n),
        (x, floats(&(0..n).map(|i| Some(300_000.0 + i as f64)).collect::<Vec<_>>())),
        (y, floats(&(0..n).map(|i| Some(2_770_000.0 + i as f64)).collect::<Vec<_>>())),
        // Named like a coordinate, but a chart position.
        col("x", FieldType::Decimal, floats(&(0..n).map(|i| Some(i as f64 * 0.5)).collect::<Vec<_>>())),
        // Metres under a WGS84-like name.
        col("X坐標", FieldType::Decimal, floats(&(0..n).map(|i| Some(170_000.0 + i as f64)).collect::<Vec<_>>())),
    ]);
    let findings = check(&schema, &batch);
    assert!(with_code(&findings, "coordinates").is_empty(), "{}", describe(&findings));
}

fn dates(days: impl IntoIterator<Item = i32>) -> ArrayRef {
    Arc::new(Date32Array::from(days.into_iter().map(Some).collect::<Vec<_>>()))
}

fn days_of(y: i32, m: u32) -> i32 {
    let d = chrono::NaiveDate::from_ymd_opt(y, m, 1).unwrap();
    (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32
}

#[test]
fn a_monthly_series_with_a_gap() {
    // Three districts per month, 2014-11 to 2015-06, without 2015-03 and 2015-04.
    let months: Vec<(i32, u32)> = vec![(2014, 11), (2014, 12), (2015, 1), (2015, 2), (2015, 5), (2015, 6)];
    let mut labels = Vec::new();
    let mut days = Vec::new();
    for (y, m) in &months {
        for _ in 0..3 {
            labels.push(format!("{y}-{m:02}"));
            days.push(days_of(*y, *m));
        }
    }
    let n = labels.len();
    let (schema, batch) = table(vec![
        ids(n),
        col("統計年月", FieldType::Text, texts(labels)),
        col("資料月份", FieldType::Date, dates(days)),
    ]);
    let findings = check(&schema, &batch);
    let gaps = with_code(&findings, "series_gaps");
    assert_eq!(gaps.len(), 2, "{}", describe(&findings));
    for f in gaps {
        assert_eq!((f.severity, f.count), (Severity::Warning, 2));
        assert_eq!(f.examples, vec!["2015-03", "2015-04"]);
        assert!(f.message.contains("monthly"));
    }
}

#[test]
fn yearly_series_quarterly_series_and_dates_that_are_not_series() {
    // ROC years 100–105 without 103, two rows a year.
    let years: Vec<Option<i64>> = [100, 100, 101, 101, 102, 102, 104, 104, 105, 105].map(Some).to_vec();
    let (schema, batch) = table(vec![ids(10), col("年度", FieldType::Integer, ints(&years))]);
    let f = only(&check(&schema, &batch), "series_gaps").clone();
    assert_eq!((f.column.as_deref(), f.count, f.examples), (Some("年度"), 1, vec!["103".to_string()]));

    // Quarterly, complete; a complete year series; event dates (founding years) with uneven counts and holes.
    let quarters: Vec<String> =
        (0..12).map(|i| format!("{}-{:02}", 2008 + (i * 3 + 5) / 12, (i * 3 + 5) % 12 + 1)).collect();
    let (schema, batch) = table(vec![
        ids(12),
        col("統計期", FieldType::Text, texts(quarters)),
        col("year", FieldType::Integer, ints(&(2010..2022).map(Some).collect::<Vec<_>>())),
        col(
            "成立年",
            FieldType::Integer,
            ints(&[1990, 1990, 1990, 1990, 1991, 1993, 1993, 1993, 1993, 1995, 1996, 1996].map(Some)),
        ),
    ]);
    let findings = check(&schema, &batch);
    assert!(with_code(&findings, "series_gaps").is_empty(), "{}", describe(&findings));
}

#[test]
fn an_isolated_extreme_value_and_a_sentinel() {
    let n = 400;
    let mut amount: Vec<Option<f64>> = (0..n).map(|i| Some(1_000.0 + (i * 37 % 500) as f64)).collect();
    amount[123] = Some(1_350_000.0);
    let mut rain: Vec<Option<i64>> = (0..n).map(|i| Some((i * 7 % 120) as i64)).collect();
    rain[9] = Some(9_999);
    rain[300] = Some(9_999);
    // A skewed column (populations): a long tail is the distribution, not outliers.
    let population: Vec<Option<i64>> = (0..n).map(|i| Some((300.0 * (1.0 + i as f64 / 40.0).powi(3)) as i64)).collect();
    let (schema, batch) = table(vec![
        ids(n),
        col("金額", FieldType::Decimal, floats(&amount)),
        col("雨量", FieldType::Integer, ints(&rain)),
        col("人口數", FieldType::Integer, ints(&population)),
        // Identifiers are not quantities.
        col(
            "代碼",
            FieldType::Integer,
            ints(&(0..n).map(|i| Some(if i == 5 { 99_999_999 } else { i as i64 })).collect::<Vec<_>>()),
        ),
    ]);
    let findings = check(&schema, &batch);
    let outliers = with_code(&findings, "numeric_outliers");
    assert_eq!(outliers.len(), 2, "{}", describe(&findings));
    assert_eq!(
        (outliers[0].column.as_deref(), outliers[0].count, outliers[0].rows.clone(), outliers[0].examples.clone()),
        (Some("金額"), 1, vec![124], vec!["1350000".to_string()])
    );
    assert_eq!(
        (outliers[1].column.as_deref(), outliers[1].count, outliers[1].rows.clone(), outliers[1].examples.clone()),
        (Some("雨量"), 2, vec![10, 301], vec!["9999".to_string()])
    );
    assert!(outliers[1].fix.contains("sentinel"));
    assert!(outliers.iter().all(|f| f.severity == Severity::Info));
}

#[test]
fn text_may_come_as_string_views() {
    let values: Vec<Option<&str>> = (0..30).map(|i| if i == 4 { Some("不詳") } else { Some("12") }).collect();
    let array: ArrayRef = Arc::new(StringViewArray::from(values.clone()));
    let (schema, _) = table(vec![ids(30), col("數量", FieldType::Text, text(&values))]);
    let arrow = Schema::new(vec![
        ArrowField::new("序號", DataType::Int64, true),
        ArrowField::new("數量", DataType::Utf8View, true),
    ]);
    let batch = RecordBatch::try_new(Arc::new(arrow), vec![ids(30).1, array]).unwrap();
    let findings = check(&schema, &batch);
    let f = only(&findings, "mixed_types");
    assert_eq!((f.count, f.rows.clone()), (1, vec![5]));
}

#[test]
fn findings_are_ordered_by_severity_then_column() {
    let n = 12;
    let (schema, batch) = table(vec![
        col("a", FieldType::Text, text(&vec![Some("same"); n])),
        col("b", FieldType::Integer, ints(&vec![None; n])),
        col("c", FieldType::Text, text(&vec![Some("same"); n])),
    ]);
    let pipeline = Pipeline { primary_key: vec!["b".into()], ..Pipeline::default() };
    let findings = check_batches(&schema, &[batch], &DatasetMetadata::default(), &pipeline);
    let order: Vec<(Severity, &str, Option<&str>)> =
        findings.iter().map(|f| (f.severity, f.code.as_str(), f.column.as_deref())).collect();
    assert_eq!(
        order,
        vec![
            (Severity::Error, "primary_key", Some("b")),
            (Severity::Warning, "empty_column", Some("b")),
            (Severity::Warning, "duplicate_rows", None),
            (Severity::Info, "constant_column", Some("a")),
            (Severity::Info, "constant_column", Some("c")),
        ]
    );
}

/// The benchmark's table shape at a million rows: `cargo test --release -p tapwater-quality -- --ignored`.
#[test]
#[ignore = "timing; run in release"]
fn a_million_rows_in_well_under_a_few_seconds() {
    let n = 1_000_000usize;
    let districts = ["苓雅區", "三民區", "鳳山區", "前鎮區", "左營區", "楠梓區", "小港區", "鼓山區"];
    let schema = TableSchema {
        fields: vec![
            Field::new("id", FieldType::Integer),
            Field::new("year", FieldType::Integer),
            Field::new("city", FieldType::Text),
            Field::new("district", FieldType::Text),
            Field::new("road", FieldType::Text),
            Field::new("vehicle_type", FieldType::Text),
            Field::new("weather", FieldType::Text),
            Field::new("injuries", FieldType::Integer),
            Field::new("deaths", FieldType::Integer),
            Field { role: Some("longitude".into()), ..Field::new("lon", FieldType::Decimal) },
            Field { role: Some("latitude".into()), ..Field::new("lat", FieldType::Decimal) },
        ],
    };
    let batch_rows = 65_536;
    let mut batches = Vec::new();
    let arrow = Arc::new(Schema::new(
        schema
            .fields
            .iter()
            .map(|f| ArrowField::new(&f.name, tapwater_ingest::arrow_type(f.field_type), true))
            .collect::<Vec<_>>(),
    ));
    let mut start = 0;
    while start < n {
        let end = (start + batch_rows).min(n);
        let r = start..end;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(r.clone().map(|i| i as i64 + 1))),
            Arc::new(Int64Array::from_iter_values(r.clone().map(|i| 2016 + (i % 8) as i64))),
            Arc::new(StringArray::from_iter_values(r.clone().map(|i| if i % 9 == 0 { "臺南市" } else { "高雄市" }))),
            Arc::new(StringArray::from_iter_values(r.clone().map(|i| districts[i * 7 % 8]))),
            Arc::new(StringArray::from_iter_values(r.clone().map(|i| format!("中正{}路", i % 97)))),
            Arc::new(StringArray::from_iter_values(r.clone().map(|i| ["機車", "小客車", "大貨車"][i % 3]))),
            Arc::new(StringArray::from_iter_values(r.clone().map(|i| ["晴", "雨", "陰"][i * 5 % 3]))),
            Arc::new(Int64Array::from_iter_values(r.clone().map(|i| (i * 31 % 9) as i64))),
            Arc::new(Int64Array::from_iter_values(r.clone().map(|i| i64::from(i % 397 == 0)))),
            Arc::new(Float64Array::from_iter_values(r.clone().map(|i| 120.2 + (i % 1000) as f64 * 0.0004))),
            Arc::new(Float64Array::from_iter_values(r.clone().map(|i| 22.5 + (i % 777) as f64 * 0.0005))),
        ];
        batches.push(RecordBatch::try_new(arrow.clone(), columns).unwrap());
        start = end;
    }
    let started = std::time::Instant::now();
    let findings = check_batches(&schema, &batches, &DatasetMetadata::default(), &Pipeline::default());
    let elapsed = started.elapsed();
    println!("1,000,000 rows × 11 columns checked in {elapsed:?}\n{}", describe(&findings));
    assert!(serious(&findings).is_empty(), "{}", describe(&findings));
    assert!(elapsed.as_secs_f64() < 2.0, "{elapsed:?}");
}
