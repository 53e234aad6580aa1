//! Pipelines per dataset (read, set, list revisions), the transform log of a version, and the dry run (`check`).
//!
//! A pipeline arrives as JSON or TOML and is validated here, once, with errors that name the offending key
//! (`normalizers.roc_dat`, `eudc.95C`, `types.郵遞區號`) so a publisher can fix the file; every change becomes a new
//! revision in the catalog, and every publish records the revision it used. The dry run reads files exactly as a
//! publish would (same pipeline, same readers) into a temporary Parquet file, reports what it saw and shows the
//! first rows as the API would serve them — and stores nothing.
//!
//! What it does not do: apply a pipeline (the ingest crate does) or store files (publishing does).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use tapwater_ingest::{ColumnProposal, FileReport, IngestOptions, InputFile};
use tapwater_query::encode::{OutputFormat, PageMeta, RowSet, encode_page};
use tapwater_types::{
    Actor, NORMALIZER_RULES, Pipeline, PipelineRevision, SHAPE_RULES, SourceFile, TableSchema, TransformEntry,
    TransformLog,
};

use crate::access::{Action, DatasetAction, authorize};
use crate::catalog::parse_slug;
use crate::publish::version_prefix;
use crate::{AppError, StagedUpload, Tapwater, staging_dir};

/// Rows of the sample a check shows.
pub const CHECK_SAMPLE_ROWS: usize = 10;

/// Transform-log rules that point at a problem the publisher should look at (the others are decisions or routine
/// clean-ups).
pub const PROBLEM_RULES: &[&str] = &[
    "format_mismatch",
    "encoding_mismatch",
    "decode_error",
    "invalid_date",
    "unparsed_date",
    "swapped_coordinates",
    "type_mismatch",
    "cell_error",
    "eudc_unknown",
];

/// How a pipeline document is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipelineFormat {
    Json,
    Toml,
}

impl PipelineFormat {
    /// From a file name: `.toml` is TOML, anything else JSON.
    pub fn of_path(path: &Path) -> PipelineFormat {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("toml") => PipelineFormat::Toml,
            _ => PipelineFormat::Json,
        }
    }
}

/// A dataset's current pipeline. `revision` is `None` while the dataset has never had one (the defaults apply).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PipelineView {
    pub dataset: String,
    pub revision: Option<i64>,
    pub pipeline: Pipeline,
    pub created_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_by: Option<String>,
}

/// How a version was made and what ingestion changed in it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VersionTransforms {
    pub dataset: String,
    pub seq: i64,
    pub version_id: String,
    /// The dataset's pipeline revision the version was ingested with (`None`: defaults).
    pub pipeline_revision: Option<i64>,
    /// The files it was read from, in order.
    pub files: Vec<SourceFile>,
    pub transform_log: TransformLog,
}

/// What tapwater would make of some files, without publishing them.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// Per file: format, encoding and its confidence, the tables it holds and which was read, rows.
    pub files: Vec<FileReport>,
    /// Columns: names, types, aliases, units, roles.
    pub schema: TableSchema,
    pub row_count: u64,
    pub transform_log: TransformLog,
    /// Entries of the log that need a person's attention (see [`PROBLEM_RULES`]).
    pub problems: Vec<TransformEntry>,
    /// With several files: how their columns line up (a yearly series), and the `renames` that mapping makes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapping: Option<Vec<ColumnProposal>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub proposed_renames: BTreeMap<String, String>,
    /// The first rows as the API would serve them (`GET …/rows`).
    pub sample: Vec<serde_json::Value>,
    /// The pipeline applied.
    pub pipeline: Pipeline,
    /// The dataset pipeline revision used, when a dataset's pipeline was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_revision: Option<i64>,
}

/// Reads a pipeline document, naming the key at fault when it is not a valid pipeline, then checks what serde
/// cannot (see [`validate_pipeline`]).
pub fn parse_pipeline(text: &str, format: PipelineFormat) -> Result<Pipeline, AppError> {
    let parsed: Result<Pipeline, (String, String)> = match format {
        PipelineFormat::Json => {
            let mut de = serde_json::Deserializer::from_str(text);
            serde_path_to_error::deserialize(&mut de).map_err(|e| (e.path().to_string(), e.inner().to_string()))
        }
        PipelineFormat::Toml => match toml::Deserializer::parse(text) {
            Ok(de) => serde_path_to_error::deserialize(de).map_err(|e| (e.path().to_string(), e.inner().to_string())),
            Err(e) => Err((".".to_string(), e.to_string())),
        },
    };
    let pipeline = parsed.map_err(|(path, message)| {
        let message = message.trim().replace('\n', " ");
        // An unknown key is reported at its parent; name the key itself.
        let key = message
            .split_once("unknown field `")
            .and_then(|(_, rest)| rest.split_once('`'))
            .map(|(field, _)| match path.as_str() {
                "." => field.to_string(),
                // serde_path_to_error already ends the path with the unknown key; older versions stop at its parent.
                p if p == field || p.ends_with(&format!(".{field}")) => p.to_string(),
                p => format!("{p}.{field}"),
            })
            .unwrap_or(path);
        invalid(
            &key,
            format!("The pipeline is not valid at \"{key}\": {message}"),
            format!("處理流程（pipeline）在「{key}」有誤：{message}"),
        )
    })?;
    validate_pipeline(&pipeline)?;
    Ok(pipeline)
}

fn invalid(key: &str, message: String, message_zh: String) -> AppError {
    AppError::invalid("invalid_pipeline", format!("pipeline.{key}"), message, message_zh)
}

/// Checks what the types alone do not: normalizer names exist, EUDC keys are Big5 byte pairs mapped to one
/// character, renames and other names are not empty, `header_rows` is 0–2.
pub fn validate_pipeline(pipeline: &Pipeline) -> Result<(), AppError> {
    for name in pipeline.normalizers.keys() {
        if !NORMALIZER_RULES.iter().chain(SHAPE_RULES).any(|(rule, _)| rule == name) {
            let known: Vec<&str> = NORMALIZER_RULES.iter().chain(SHAPE_RULES).map(|(rule, _)| *rule).collect();
            return Err(invalid(
                &format!("normalizers.{name}"),
                format!("There is no normalizer \"{name}\"; the rules are: {}.", known.join(", ")),
                format!("沒有名為「{name}」的正規化規則；可用的規則：{}。", known.join("、")),
            ));
        }
    }
    for (pair, character) in &pipeline.eudc {
        if !is_big5_pair(pair) {
            return Err(invalid(
                &format!("eudc.{pair}"),
                format!(
                    "\"{pair}\" is not a Big5 byte pair: write 4 hexadecimal digits, lead byte 81–FE, trail byte \
                     40–7E or A1–FE (e.g. \"95CD\")."
                ),
                format!(
                    "「{pair}」不是 Big5 位元組對：請寫 4 個十六進位數字，首位元組 81–FE、次位元組 40–7E 或 A1–FE（例如「95CD」）。"
                ),
            ));
        }
        if character.chars().count() != 1 {
            return Err(invalid(
                &format!("eudc.{pair}"),
                format!("The byte pair {pair} must map to exactly one character, not \"{character}\"."),
                format!("位元組對 {pair} 必須對應恰好一個字元，而不是「{character}」。"),
            ));
        }
    }
    for (from, to) in &pipeline.renames {
        if from.trim().is_empty() || to.trim().is_empty() {
            return Err(invalid(
                &format!("renames.{from}"),
                format!("A rename needs a column name on both sides (\"{from}\" → \"{to}\")."),
                format!("欄位更名的兩邊都必須有名稱（「{from}」→「{to}」）。"),
            ));
        }
    }
    if let Some(rows) = pipeline.header_rows
        && rows > 2
    {
        return Err(invalid(
            "header_rows",
            format!("header_rows is 0, 1 or 2, not {rows}."),
            format!("header_rows 只能是 0、1 或 2，而不是 {rows}。"),
        ));
    }
    let named = [
        ("table", pipeline.table.as_deref()),
        ("source_column", pipeline.source_column.as_deref()),
        ("encoding", pipeline.encoding.as_deref()),
    ];
    for (key, value) in named {
        if value.is_some_and(|v| v.trim().is_empty()) {
            return Err(invalid(key, format!("{key} must not be empty."), format!("{key} 不可為空白。")));
        }
    }
    let columns = pipeline
        .types
        .keys()
        .map(|k| ("types", k))
        .chain(pipeline.sentinels.keys().map(|k| ("sentinels", k)))
        .chain(pipeline.code_lists.keys().map(|k| ("code_lists", k)))
        .chain(pipeline.primary_key.iter().map(|k| ("primary_key", k)));
    for (section, column) in columns {
        if column.trim().is_empty() {
            return Err(invalid(
                section,
                format!("{section} names an empty column."),
                format!("{section} 含有空白的欄位名稱。"),
            ));
        }
    }
    Ok(())
}

/// Big5 lead bytes are 0x81–0xFE, trail bytes 0x40–0x7E and 0xA1–0xFE (the EUDC areas are inside these).
fn is_big5_pair(pair: &str) -> bool {
    if pair.len() != 4 || !pair.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    let (Ok(lead), Ok(trail)) = (u8::from_str_radix(&pair[..2], 16), u8::from_str_radix(&pair[2..], 16)) else {
        return false;
    };
    (0x81..=0xFE).contains(&lead) && ((0x40..=0x7E).contains(&trail) || (0xA1..=0xFE).contains(&trail))
}

/// A pipeline as TOML with the proposed header mapping of a series as its `[renames]`, each line commented with its
/// confidence and reason, for the publisher to review (`tapwater check … --write-pipeline series.toml`).
pub fn series_pipeline_toml(base: &Pipeline, proposals: &[ColumnProposal], files: &[String]) -> String {
    let mut out = String::from("# Pipeline proposed by `tapwater check` for a series of files, oldest first:\n");
    for (i, file) in files.iter().enumerate() {
        out.push_str(&format!("#   {}. {file}\n", i + 1));
    }
    out.push_str(
        "# The newest file's column names are kept. Review each rename below (the confidence says how sure tapwater\n\
         # is), delete the wrong ones, then publish with: tapwater publish FILES… --dataset SLUG --pipeline THIS_FILE\n\
         # 請逐行確認下列欄位對應，刪除錯誤者，再以 --pipeline 發布。\n\n",
    );
    let mut rest = base.clone();
    let existing = std::mem::take(&mut rest.renames);
    if rest != Pipeline::default() {
        out.push_str(&toml::to_string(&rest).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("[renames]\n");
    for (from, to) in &existing {
        out.push_str(&format!("{} = {}\n", toml_string(from), toml_string(to)));
    }
    let proposed = tapwater_ingest::renames_of(proposals, 0);
    for (from, to) in &proposed {
        if existing.contains_key(from) {
            continue;
        }
        if let Some(p) = proposals.iter().find(|p| &p.target == to && p.sources.iter().flatten().any(|s| s == from)) {
            let in_files: Vec<&str> = p
                .sources
                .iter()
                .zip(files)
                .filter(|(s, _)| s.as_deref() == Some(from.as_str()))
                .map(|(_, f)| f.as_str())
                .collect();
            out.push_str(&format!("# {}% {} — in {}\n", p.confidence, p.reason, in_files.join(", ")));
        }
        out.push_str(&format!("{} = {}\n", toml_string(from), toml_string(to)));
    }
    out
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Reads `inputs` exactly as a publish would, into a temporary Parquet file in `scratch`, and reports what tapwater
/// saw: per-file format and encoding, the schema, the transform log and its problems, the header mapping when there
/// are several files, and the first rows as served. Blocking (CPU-bound): call it off the async workers.
pub fn check_inputs(
    inputs: &[InputFile],
    pipeline: &Pipeline,
    scratch: Option<&Path>,
) -> Result<CheckReport, AppError> {
    let options = IngestOptions {
        pipeline: pipeline.clone(),
        scratch_dir: scratch.map(Path::to_path_buf),
        ..IngestOptions::default()
    };
    let parquet = match scratch {
        Some(dir) => tempfile::Builder::new().prefix("check-").suffix(".parquet").tempfile_in(dir)?,
        None => tempfile::Builder::new().prefix("check-").suffix(".parquet").tempfile()?,
    };
    let out = std::io::BufWriter::new(parquet.reopen()?);
    let report = tapwater_ingest::ingest_files(inputs, out, &options, &mut |_| {})?;
    let sample = read_sample(parquet.path())?;
    let (mapping, proposed_renames) = if inputs.len() > 1 {
        let proposals = tapwater_ingest::propose_mapping(inputs, &options)?;
        let renames = tapwater_ingest::renames_of(&proposals, 0);
        (Some(proposals), renames)
    } else {
        (None, BTreeMap::new())
    };
    let problems =
        report.transform_log.entries.iter().filter(|e| PROBLEM_RULES.contains(&e.rule.as_str())).cloned().collect();
    Ok(CheckReport {
        files: report.files,
        schema: report.schema,
        row_count: report.row_count,
        transform_log: report.transform_log,
        problems,
        mapping,
        proposed_renames,
        sample,
        pipeline: pipeline.clone(),
        pipeline_revision: None,
    })
}

/// The first rows of a Parquet file, encoded by the same code as `GET …/rows`.
fn read_sample(path: &Path) -> Result<Vec<serde_json::Value>, AppError> {
    let file = std::fs::File::open(path)?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| AppError::Internal(format!("check sample: {e}")))?
        .with_batch_size(CHECK_SAMPLE_ROWS)
        .with_limit(CHECK_SAMPLE_ROWS)
        .build()
        .map_err(|e| AppError::Internal(format!("check sample: {e}")))?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| AppError::Internal(format!("check sample: {e}")))?;
        let columns: Vec<usize> = (0..batch.num_columns()).collect();
        let body = encode_page(OutputFormat::Json, &batch, RowSet::All, &columns, &PageMeta::default())?;
        let page: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| AppError::Internal(format!("check sample: {e}")))?;
        if let Some(page_rows) = page.get("rows").and_then(|r| r.as_array()) {
            rows.extend(page_rows.iter().cloned());
        }
        if rows.len() >= CHECK_SAMPLE_ROWS {
            break;
        }
    }
    rows.truncate(CHECK_SAMPLE_ROWS);
    Ok(rows)
}

impl Tapwater {
    /// The dataset's current pipeline (the defaults, with `revision: None`, if it never had one).
    pub async fn pipeline(&self, actor: &Actor, slug: &str) -> Result<PipelineView, AppError> {
        self.authorize_dataset(actor, slug, DatasetAction::View).await?;
        let parsed = parse_slug(slug, "slug")?;
        let current = self.inner.catalog.pipeline(&parsed, None).await?;
        Ok(match current {
            Some(r) => PipelineView {
                dataset: slug.to_string(),
                revision: Some(r.revision),
                pipeline: r.pipeline,
                created_at: Some(r.created_at),
                created_by: Some(r.created_by),
            },
            None => PipelineView {
                dataset: slug.to_string(),
                revision: None,
                pipeline: Pipeline::default(),
                created_at: None,
                created_by: None,
            },
        })
    }

    /// Every revision of the dataset's pipeline, newest first.
    pub async fn pipeline_revisions(&self, actor: &Actor, slug: &str) -> Result<Vec<PipelineRevision>, AppError> {
        self.authorize_dataset(actor, slug, DatasetAction::View).await?;
        let parsed = parse_slug(slug, "slug")?;
        Ok(self.inner.catalog.pipeline_revisions(&parsed).await?)
    }

    /// Validates `pipeline` and makes it the dataset's current one: a new revision, unless it equals the current
    /// pipeline (then the current revision is returned and nothing is written).
    pub async fn set_pipeline(
        &self,
        actor: &Actor,
        slug: &str,
        pipeline: Pipeline,
    ) -> Result<PipelineRevision, AppError> {
        self.authorize_dataset(actor, slug, DatasetAction::Edit).await?;
        validate_pipeline(&pipeline)?;
        let parsed = parse_slug(slug, "slug")?;
        if let Some(current) = self.inner.catalog.pipeline(&parsed, None).await?
            && current.pipeline == pipeline
        {
            return Ok(current);
        }
        let revision = self.inner.catalog.set_pipeline(&parsed, &pipeline, &actor.label()).await?;
        tracing::info!(dataset = %slug, revision = revision.revision, actor = %actor.label(), "pipeline set");
        Ok(revision)
    }

    /// The transform log, source files and pipeline revision of version `seq` (the current version if `None`).
    ///
    /// The examples in the log are cells of the data: those who may not read the rows get the log without them.
    pub async fn transforms(&self, actor: &Actor, slug: &str, seq: Option<i64>) -> Result<VersionTransforms, AppError> {
        self.authorize_dataset(actor, slug, DatasetAction::View).await?;
        let readable = self.may_read_rows(actor, slug).await?;
        let version = match seq {
            None => self.current_version(slug).await?,
            Some(seq) => std::sync::Arc::new(self.version_info(actor, slug, seq).await?),
        };
        let sources = self.inner.catalog.version_sources(&version.id).await?;
        let path = format!("{}transforms.json", version_prefix(&version.id));
        // Versions published before transform logs existed have none: an empty log, not an error.
        let transform_log = match self.inner.blobs.head(&path).await? {
            Some(_) => {
                let bytes = self.inner.blobs.get_bytes(&path).await?;
                serde_json::from_slice(&bytes).map_err(|e| AppError::Internal(format!("{path}: {e}")))?
            }
            None => TransformLog::default(),
        };
        let mut transform_log: TransformLog = transform_log;
        if !readable {
            for entry in &mut transform_log.entries {
                entry.examples.clear();
            }
        } else if transform_log.entries.iter().any(|e| !e.examples.is_empty()) {
            // Examples are cells of the data: on an audited dataset, showing them is a read like any other.
            let access = self.dataset_access(slug).await?;
            let shown = transform_log.entries.iter().map(|e| e.examples.len() as u64).sum();
            self.audit_read(actor, &access, "read.transforms", version.seq, "transform log examples".into(), shown)
                .await?;
        }
        Ok(VersionTransforms {
            dataset: slug.to_string(),
            seq: version.seq,
            version_id: version.id.clone(),
            pipeline_revision: sources.pipeline_revision,
            files: sources.files,
            transform_log,
        })
    }

    /// Whether `actor` may run a dry run (the right to publish), checked before an upload is read.
    pub fn check_publish_right(&self, actor: &Actor) -> Result<(), AppError> {
        authorize(actor, Action::DryRun)
    }

    /// The dry run over HTTP: staged uploads read with `pipeline`, or else the pipeline of `dataset`, or else the
    /// defaults. Needs the same right as publishing (it stores nothing, but reads up to the upload limit and costs
    /// CPU, so anonymous callers could use it to load the server).
    pub async fn check(
        &self,
        actor: &Actor,
        uploads: Vec<StagedUpload>,
        pipeline: Option<Pipeline>,
        dataset: Option<&str>,
    ) -> Result<CheckReport, AppError> {
        match dataset {
            Some(slug) => {
                self.authorize_dataset(actor, slug, DatasetAction::Publish).await?;
            }
            None => authorize(actor, Action::DryRun)?,
        }
        if uploads.is_empty() {
            return Err(AppError::invalid(
                "invalid_body",
                "file",
                "Send at least one file part named \"file\".",
                "請至少送出一個名為「file」的檔案。",
            ));
        }
        let (pipeline, revision) = match (pipeline, dataset) {
            (Some(pipeline), _) => {
                validate_pipeline(&pipeline)?;
                (pipeline, None)
            }
            (None, Some(slug)) => {
                let view = self.pipeline(actor, slug).await?;
                if view.revision.is_none() {
                    // Make sure the dataset exists: a typo must not silently check with the defaults.
                    self.existing_slug(slug).await?;
                }
                (view.pipeline, view.revision)
            }
            (None, None) => (Pipeline::default(), None),
        };
        let scratch = staging_dir(&self.inner.config.data_dir);
        let mut report = tokio::task::spawn_blocking(move || {
            let inputs: Vec<InputFile> =
                uploads.iter().map(|u| InputFile::named(u.path(), u.filename.clone())).collect();
            let report = check_inputs(&inputs, &pipeline, Some(&scratch));
            drop(uploads);
            report
        })
        .await
        .map_err(|e| AppError::Internal(format!("check task: {e}")))??;
        report.pipeline_revision = revision;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param_of(error: AppError) -> String {
        assert_eq!(error.code(), "invalid_pipeline", "{error:?}");
        error.param().unwrap_or_default()
    }

    #[test]
    fn a_pipeline_reads_from_toml_and_json_alike() {
        let toml = "table = \"#2\"\nheader_rows = 1\n[renames]\n\"傷者人數\" = \"受傷人數\"\n[types]\n\"郵遞區號\" = \"text\"\n\
                    [eudc]\n\"95CD\" = \"塩\"\n[normalizers]\nfullwidth = false\n";
        let from_toml = parse_pipeline(toml, PipelineFormat::Toml).unwrap();
        let json = serde_json::to_string(&from_toml).unwrap();
        assert_eq!(parse_pipeline(&json, PipelineFormat::Json).unwrap(), from_toml);
        assert_eq!(from_toml.renames["傷者人數"], "受傷人數");
        assert_eq!(from_toml.types["郵遞區號"], tapwater_types::FieldType::Text);
    }

    #[test]
    fn errors_name_the_offending_key() {
        let cases = [
            (r#"{"normalizers":{"roc_dat":false}}"#, "pipeline.normalizers.roc_dat"),
            (r#"{"types":{"郵遞區號":"txt"}}"#, "pipeline.types.郵遞區號"),
            (r#"{"eudc":{"95C":"塩"}}"#, "pipeline.eudc.95C"),
            (r#"{"eudc":{"20CD":"塩"}}"#, "pipeline.eudc.20CD"),
            (r#"{"eudc":{"95CD":"塩行"}}"#, "pipeline.eudc.95CD"),
            (r#"{"renames":{"傷者人數":" "}}"#, "pipeline.renames.傷者人數"),
            (r#"{"rename":{"a":"b"}}"#, "pipeline.rename"),
            (r#"{"header_rows":5}"#, "pipeline.header_rows"),
        ];
        for (json, want) in cases {
            let error = parse_pipeline(json, PipelineFormat::Json).unwrap_err();
            assert!(
                error.message(tapwater_types::Lang::ZhTw).contains("處理流程")
                    || error.message(tapwater_types::Lang::ZhTw).len() > 3
            );
            assert_eq!(param_of(error), want, "{json}");
        }
        let error = parse_pipeline("[types]\n\"郵遞區號\" = \"txt\"\n", PipelineFormat::Toml).unwrap_err();
        assert_eq!(param_of(error), "pipeline.types.郵遞區號");
        let error = parse_pipeline("bogus = 1\n", PipelineFormat::Toml).unwrap_err();
        assert_eq!(param_of(error), "pipeline.bogus");
    }

    #[test]
    fn big5_pairs_follow_the_byte_ranges() {
        assert!(is_big5_pair("95CD"));
        assert!(is_big5_pair("fa40"));
        assert!(!is_big5_pair("95C"));
        assert!(!is_big5_pair("8080"));
        assert!(!is_big5_pair("95GZ"));
        assert!(!is_big5_pair("ＡＡＡＡ"));
    }

    #[test]
    fn the_series_toml_is_a_valid_pipeline_with_commented_renames() {
        let proposals = tapwater_ingest::propose_from_headers(&[
            tapwater_ingest::FileHeader {
                file: "a".into(), columns: vec!["傷者人數".into()], aliases: vec![vec![]]
            },
            tapwater_ingest::FileHeader {
                file: "b".into(), columns: vec!["受傷人數".into()], aliases: vec![vec![]]
            },
        ]);
        let base = Pipeline { table: Some("#1".into()), ..Pipeline::default() };
        let text = series_pipeline_toml(&base, &proposals, &["a.csv".into(), "b.csv".into()]);
        assert!(text.contains("# 80% synonym — in a.csv"), "{text}");
        let parsed = parse_pipeline(&text, PipelineFormat::Toml).unwrap();
        assert_eq!(parsed.renames["傷者人數"], "受傷人數");
        assert_eq!(parsed.table.as_deref(), Some("#1"));
    }
}
