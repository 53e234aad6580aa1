//! Dataset metadata: the document a publisher edits, Table Schema import, and the standard forms it is published
//! in (Frictionless Data Package, DCAT-AP 3, schema.org, the national portal's JSON).
//!
//! Metadata is visible to everyone who may see the dataset, including datasets whose rows they may not read: the
//! public must know what exists. None of the exports contains a value of the data (statistics, examples); they
//! describe columns, never rows.

use tapwater_metadata::{ImportedSchema, MetadataError, Site};
use tapwater_types::{Actor, Dataset, DatasetMetadata, FieldMetadata, PipelineRevision, Version};

use crate::access::DatasetAction;
use crate::catalog::parse_slug;
use crate::{AppError, Tapwater};

/// A standard form of a dataset's metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataFormat {
    /// Frictionless Data Package (`datapackage.json`) of one version, with its Table Schema.
    DataPackage,
    /// DCAT-AP 3 as JSON-LD.
    DcatJsonLd,
    /// DCAT-AP 3 as Turtle.
    DcatTurtle,
    /// schema.org `Dataset` JSON-LD (what search engines read from a dataset page).
    SchemaOrg,
    /// The national portal's (data.gov.tw) dataset metadata JSON, to push a dataset there.
    DataGovTw,
}

/// An exported document.
#[derive(Debug, Clone, PartialEq)]
pub enum MetadataDocument {
    Json(serde_json::Value),
    Turtle(String),
}

/// What importing a Table Schema changed.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaImport {
    pub dataset: Dataset,
    /// The pipeline revision made to force the declared types, key and missing values at the next publish, when
    /// anything changed there.
    pub pipeline: Option<PipelineRevision>,
}

/// Reads a metadata document (JSON). Unknown members and wrong types are refused with `invalid_metadata`, naming
/// the member (`metadata.contact.email`), for every front door alike (HTTP body, CLI file).
pub fn parse_metadata(json: &[u8]) -> Result<DatasetMetadata, AppError> {
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let param = if path == "." { "metadata".to_string() } else { format!("metadata.{path}") };
        let inner = e.into_inner();
        AppError::invalid(
            "invalid_metadata",
            param.clone(),
            format!("The metadata document is not valid at {param}: {inner}."),
            format!("詮釋資料文件於 {param} 有誤：{inner}。"),
        )
    })
}

fn metadata_error(err: MetadataError, prefix: &str, code: &'static str) -> AppError {
    let param = if err.param.is_empty() { prefix.to_string() } else { format!("{prefix}.{}", err.param) };
    AppError::invalid(code, param, err.message, err.message_zh)
}

impl Tapwater {
    fn site(&self) -> Site<'_> {
        Site {
            base_url: self.inner.config.access.public_url.trim_end_matches('/'),
            title: "tapwater 開放資料平臺",
            title_en: "tapwater open data",
            publisher_name: None,
        }
    }

    /// The dataset's metadata document.
    pub async fn dataset_metadata(&self, actor: &Actor, slug: &str) -> Result<DatasetMetadata, AppError> {
        Ok(self.visible_dataset(actor, slug).await?.metadata)
    }

    /// Replaces the dataset's metadata document after validating it (`invalid_metadata`, naming the member).
    pub async fn set_metadata(
        &self,
        actor: &Actor,
        slug: &str,
        metadata: DatasetMetadata,
    ) -> Result<Dataset, AppError> {
        self.authorize_dataset(actor, slug, DatasetAction::Edit).await?;
        tapwater_metadata::validate_metadata(&metadata)
            .map_err(|e| metadata_error(e, "metadata", "invalid_metadata"))?;
        let parsed = parse_slug(slug, "slug")?;
        let dataset = self.inner.catalog.set_metadata(&parsed, &metadata).await?;
        tracing::info!(dataset = %slug, actor = %actor.label(), "metadata set");
        self.recheck_current(&parsed).await;
        Ok(dataset)
    }

    /// Declares types, constraints, descriptions and keys from a Frictionless Table Schema: field descriptions,
    /// units, URIs and constraints go to the metadata (checked on every version from now on); types, the primary key
    /// and missing values go to the pipeline, so the next publish applies them.
    pub async fn import_table_schema(
        &self,
        actor: &Actor,
        slug: &str,
        schema: &serde_json::Value,
    ) -> Result<SchemaImport, AppError> {
        self.authorize_dataset(actor, slug, DatasetAction::Edit).await?;
        let imported = tapwater_metadata::import_table_schema(schema)
            .map_err(|e| metadata_error(e, "schema", "invalid_table_schema"))?;
        let parsed = parse_slug(slug, "slug")?;
        let dataset = self
            .inner
            .catalog
            .get_dataset(&parsed)
            .await?
            .ok_or_else(|| AppError::DatasetNotFound { slug: slug.to_string() })?;
        let metadata = merge_schema(dataset.metadata.clone(), &imported);
        tapwater_metadata::validate_metadata(&metadata)
            .map_err(|e| metadata_error(e, "schema", "invalid_table_schema"))?;

        let current = self.inner.catalog.pipeline(&parsed, None).await?.map(|r| r.pipeline).unwrap_or_default();
        let mut pipeline = current.clone();
        for field in &imported.fields {
            if let Some(declared) = field.declared_type {
                pipeline.types.insert(field.name.clone(), declared);
            }
        }
        if !imported.primary_key.is_empty() {
            pipeline.primary_key = imported.primary_key.clone();
        }
        for marker in &imported.missing_values {
            if !marker.is_empty() && !pipeline.missing_values.contains(marker) {
                pipeline.missing_values.push(marker.clone());
            }
        }
        let revision = if pipeline != current { Some(self.set_pipeline(actor, slug, pipeline).await?) } else { None };
        let dataset = self.inner.catalog.set_metadata(&parsed, &metadata).await?;
        tracing::info!(dataset = %slug, fields = imported.fields.len(), actor = %actor.label(), "table schema imported");
        self.recheck_current(&parsed).await;
        Ok(SchemaImport { dataset, pipeline: revision })
    }

    /// The dataset's metadata in a standard form. A Data Package describes one version (`seq`, or the current one);
    /// the others describe the dataset with its current version.
    pub async fn metadata_document(
        &self,
        actor: &Actor,
        slug: &str,
        format: MetadataFormat,
        seq: Option<i64>,
    ) -> Result<MetadataDocument, AppError> {
        let dataset = self.visible_dataset(actor, slug).await?;
        let version: Option<Version> = match seq {
            Some(seq) => Some(self.version_info(actor, slug, seq).await?),
            None => self.inner.catalog.current_version(&dataset.slug).await?,
        };
        let site = self.site();
        Ok(match format {
            MetadataFormat::DataPackage => {
                let version = version.ok_or_else(|| AppError::NoVersion { slug: slug.to_string() })?;
                MetadataDocument::Json(tapwater_metadata::datapackage(&site, &dataset, &version))
            }
            MetadataFormat::DcatJsonLd => {
                MetadataDocument::Json(tapwater_metadata::dcat_dataset_jsonld(&site, &dataset, version.as_ref()))
            }
            MetadataFormat::DcatTurtle => {
                MetadataDocument::Turtle(tapwater_metadata::dcat_dataset_turtle(&site, &dataset, version.as_ref()))
            }
            MetadataFormat::SchemaOrg => {
                MetadataDocument::Json(tapwater_metadata::schema_org(&site, &dataset, version.as_ref()))
            }
            MetadataFormat::DataGovTw => {
                MetadataDocument::Json(tapwater_metadata::data_gov_tw(&site, &dataset, version.as_ref()))
            }
        })
    }

    /// The whole catalogue as DCAT-AP 3 (JSON-LD or Turtle): every dataset the caller can see.
    pub async fn catalog_document(&self, actor: &Actor, turtle: bool) -> Result<MetadataDocument, AppError> {
        let mut entries = Vec::new();
        for dataset in self.visible_datasets(actor, None).await? {
            let version = self.inner.catalog.current_version(&dataset.slug).await?;
            entries.push((dataset, version));
        }
        let site = self.site();
        Ok(if turtle {
            MetadataDocument::Turtle(tapwater_metadata::dcat_catalog_turtle(&site, &entries))
        } else {
            MetadataDocument::Json(tapwater_metadata::dcat_catalog_jsonld(&site, &entries))
        })
    }
}

/// The metadata with an imported Table Schema's fields, keys and foreign keys. A field the schema does not describe
/// keeps what was declared for it; a description the schema leaves out keeps the one declared before.
fn merge_schema(mut metadata: DatasetMetadata, imported: &ImportedSchema) -> DatasetMetadata {
    let mut fields: Vec<FieldMetadata> = Vec::with_capacity(imported.fields.len());
    for field in &imported.fields {
        let mut merged = field.clone();
        if let Some(before) = metadata.field(&field.name) {
            merged.description = merged.description.or_else(|| before.description.clone());
            merged.unit = merged.unit.or_else(|| before.unit.clone());
            merged.uri = merged.uri.or_else(|| before.uri.clone());
        }
        fields.push(merged);
    }
    for before in &metadata.fields {
        if !fields.iter().any(|f| f.name == before.name) {
            fields.push(before.clone());
        }
    }
    metadata.fields = fields;
    if !imported.primary_key.is_empty() {
        metadata.primary_key = imported.primary_key.clone();
    }
    if !imported.foreign_keys.is_empty() {
        metadata.foreign_keys = imported.foreign_keys.clone();
    }
    metadata
}
