//! Dataset metadata operations: create, update, list, show.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use tapwater_store::{DatasetQuery, DatasetUpdate, Drafts, NewDataset};
use tapwater_types::{
    AccessLevel, Actor, DEFAULT_LICENSE, Dataset, DatasetInput, DatasetPatch, Frequency, Slug, Version, VersionSummary,
    license_by_id,
};

use crate::access::{Action, DatasetAction, authorize};
use crate::{AppError, Tapwater};

/// Filters and paging for the dataset list.
#[derive(Debug, Clone, Default)]
pub struct DatasetListQuery {
    /// Words to look for in title, description and tags.
    pub q: Option<String>,
    pub publisher: Option<String>,
    pub tag: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DatasetList {
    pub datasets: Vec<Dataset>,
    pub total: u64,
    pub limit: u32,
    pub offset: u64,
}

/// A dataset with its current version and history.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetDetail {
    pub dataset: Dataset,
    pub current: Option<Arc<Version>>,
    pub versions: Vec<VersionSummary>,
}

pub(crate) const MAX_LIST_LIMIT: u32 = 1000;
const MAX_TITLE: usize = 500;
const MAX_DESCRIPTION: usize = 20_000;
const MAX_TAGS: usize = 50;

pub(crate) fn all_datasets_query() -> DatasetQuery {
    DatasetQuery { drafts: Drafts::All, limit: 10_000, ..DatasetQuery::default() }
}

pub(crate) fn parse_slug(value: &str, param: &str) -> Result<Slug, AppError> {
    Slug::parse(value).map_err(|e| {
        AppError::invalid(
            "invalid_slug",
            param,
            format!("\"{value}\" is not a valid slug: {}.", e.reason),
            format!(
                "「{value}」不是有效的代稱（slug）：只能使用 2–64 個小寫英文字母、數字、- 與 _，並以字母或數字開頭。"
            ),
        )
    })
}

fn parse_license(value: Option<&str>) -> Result<String, AppError> {
    let id = value.unwrap_or(DEFAULT_LICENSE);
    match license_by_id(id) {
        Some(license) => Ok(license.id.to_string()),
        None => Err(AppError::invalid(
            "unknown_license",
            "license",
            format!("Unknown licence \"{id}\"; see GET /api/v1/licenses for the accepted ids."),
            format!("未知的授權條款「{id}」；可用的代碼請見 GET /api/v1/licenses。"),
        )),
    }
}

fn parse_frequency(value: &str) -> Result<Frequency, AppError> {
    Frequency::parse(value).ok_or_else(|| {
        AppError::invalid(
            "invalid_frequency",
            "frequency",
            format!(
                "Unknown update frequency \"{value}\"; use realtime, daily, weekly, monthly, quarterly, yearly or irregular."
            ),
            format!("未知的更新頻率「{value}」；可用 realtime、daily、weekly、monthly、quarterly、yearly、irregular。"),
        )
    })
}

pub(crate) fn parse_access(value: &str) -> Result<AccessLevel, AppError> {
    AccessLevel::parse(value).ok_or_else(|| {
        AppError::invalid(
            "invalid_parameter",
            "access",
            format!("Unknown access level \"{value}\"; use public, registered, application or restricted."),
            format!("未知的開放層級「{value}」；可用 public、registered、application、restricted。"),
        )
    })
}

fn check_text(value: &str, param: &str, max: usize) -> Result<String, AppError> {
    let trimmed = value.trim();
    if trimmed.chars().count() > max {
        return Err(AppError::invalid(
            "invalid_metadata",
            param,
            format!("{param} is longer than {max} characters."),
            format!("{param} 超過 {max} 個字元。"),
        ));
    }
    Ok(trimmed.to_string())
}

fn check_tags(tags: &[String]) -> Result<Vec<String>, AppError> {
    if tags.len() > MAX_TAGS {
        return Err(AppError::invalid(
            "invalid_metadata",
            "tags",
            format!("At most {MAX_TAGS} tags."),
            format!("標籤最多 {MAX_TAGS} 個。"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let tag = check_text(tag, "tags", 100)?;
        if !tag.is_empty() && !out.contains(&tag) {
            out.push(tag);
        }
    }
    Ok(out)
}

/// Which drafts `actor` may see in a listing.
fn drafts_for(actor: &Actor) -> Drafts {
    if actor.is_site_admin() {
        return Drafts::All;
    }
    match actor.principal() {
        Some(principal) => {
            Drafts::Of(principal.memberships.iter().filter_map(|m| Slug::parse(&m.organisation).ok()).collect())
        }
        None => Drafts::Hide,
    }
}

/// A version without what would show values of the data (column statistics: minima, maxima, top values).
fn without_values(mut version: Version) -> Version {
    version.stats.clear();
    version
}

impl Tapwater {
    /// Creates a dataset (metadata only; data arrives with [`Tapwater::publish_version`]).
    ///
    /// Site administrators may name a new organisation (created on first use); editors create datasets in an
    /// organisation where they hold the editor or org-admin role. A dataset other than `public` or a released one
    /// needs the org-admin role (or a site administrator).
    pub async fn create_dataset(&self, actor: &Actor, input: DatasetInput) -> Result<Dataset, AppError> {
        let publisher_slug = input.publisher.as_deref().filter(|p| !p.is_empty());
        authorize(actor, Action::CreateDataset { publisher: publisher_slug })?;
        let slug = parse_slug(&input.slug, "slug")?;
        let access = input.access.as_deref().map(parse_access).transpose()?.unwrap_or_default();
        if access != AccessLevel::Public
            && !actor.is_site_admin()
            && publisher_slug.is_some_and(|p| authorize(actor, Action::ManageOrganisation(p)).is_err())
        {
            return Err(AppError::Forbidden);
        }
        let publisher = if actor.is_site_admin() {
            self.ensure_publisher(input.publisher.as_deref(), input.publisher_name.as_deref()).await?
        } else {
            // Editors publish for an organisation that exists (they were made its members).
            publisher_slug.map(|p| parse_slug(p, "publisher")).transpose()?
        };
        let new = NewDataset {
            title: check_text(input.title.as_deref().unwrap_or(slug.as_str()), "title", MAX_TITLE)?,
            description: check_text(input.description.as_deref().unwrap_or(""), "description", MAX_DESCRIPTION)?,
            slug,
            publisher,
            license: parse_license(input.license.as_deref())?,
            frequency: input.frequency.as_deref().map(parse_frequency).transpose()?,
            tags: check_tags(&input.tags)?,
            access,
            draft: input.draft.unwrap_or(false),
        };
        let dataset = self.inner.catalog.create_dataset(&new).await?;
        self.forget_access(dataset.slug.as_str());
        tracing::info!(dataset = %dataset.slug, actor = %actor.label(), "dataset created");
        let detail = format!("access level {}{}", access.as_str(), if new.draft { ", draft" } else { "" });
        self.audit(actor, "dataset.created", Some(dataset.slug.as_str()), Some(detail)).await?;
        Ok(dataset)
    }

    /// Changes a dataset's metadata; absent fields keep their value.
    ///
    /// Editors change metadata; the access level and the draft flag need the org-admin role; moving a dataset to
    /// another organisation needs the editor role there too (or a site administrator).
    pub async fn update_dataset(&self, actor: &Actor, slug: &str, patch: DatasetPatch) -> Result<Dataset, AppError> {
        let before = self.authorize_dataset(actor, slug, DatasetAction::Edit).await?;
        let access = patch.access.as_deref().map(parse_access).transpose()?;
        let changes_access =
            access.is_some_and(|a| a != before.level) || patch.draft.is_some_and(|d| d != before.draft);
        if changes_access {
            self.authorize_dataset(actor, slug, DatasetAction::SetAccess).await?;
        }
        let slug = self.existing_slug(slug).await?;
        let publisher = match patch.publisher.as_deref() {
            None => None,
            Some("") if actor.is_site_admin() => Some(None),
            Some("") => return Err(AppError::Forbidden),
            Some(p) if actor.is_site_admin() => {
                Some(self.ensure_publisher(Some(p), patch.publisher_name.as_deref()).await?)
            }
            Some(p) => {
                authorize(actor, Action::CreateDataset { publisher: Some(p) })?;
                Some(Some(parse_slug(p, "publisher")?))
            }
        };
        let update = DatasetUpdate {
            title: patch.title.as_deref().map(|t| check_text(t, "title", MAX_TITLE)).transpose()?,
            description: patch
                .description
                .as_deref()
                .map(|d| check_text(d, "description", MAX_DESCRIPTION))
                .transpose()?,
            publisher,
            license: patch.license.as_deref().map(|l| parse_license(Some(l))).transpose()?,
            frequency: match patch.frequency.as_deref() {
                None => None,
                Some("") => Some(None),
                Some(f) => Some(Some(parse_frequency(f)?)),
            },
            tags: patch.tags.as_deref().map(check_tags).transpose()?,
            access,
            draft: patch.draft,
        };
        let dataset = self.inner.catalog.update_dataset(&slug, &update).await?;
        self.forget_access(slug.as_str());
        if changes_access {
            let detail = format!(
                "access level {} -> {}{}",
                before.level.as_str(),
                dataset.access.as_str(),
                if dataset.draft { ", draft" } else { "" }
            );
            self.audit(actor, "access.changed", Some(slug.as_str()), Some(detail)).await?;
        }
        Ok(dataset)
    }

    /// Lists datasets, newest update first.
    ///
    /// Drafts are listed only for the organisations the actor belongs to (all of them for site administrators).
    pub async fn list_datasets(&self, actor: &Actor, query: DatasetListQuery) -> Result<DatasetList, AppError> {
        let limit = query.limit.unwrap_or(50);
        if limit == 0 || limit > MAX_LIST_LIMIT {
            return Err(AppError::invalid(
                "invalid_parameter",
                "limit",
                format!("limit must be between 1 and {MAX_LIST_LIMIT}."),
                format!("limit 必須介於 1 到 {MAX_LIST_LIMIT}。"),
            ));
        }
        let publisher = match query.publisher.as_deref() {
            Some(p) if !p.is_empty() => Some(parse_slug(p, "publisher")?),
            _ => None,
        };
        let offset = query.offset.unwrap_or(0);
        let page = self
            .inner
            .catalog
            .list_datasets(&DatasetQuery {
                text: query.q.filter(|q| !q.trim().is_empty()).map(|q| q.trim().to_string()),
                publisher,
                tag: query.tag.filter(|t| !t.is_empty()),
                drafts: drafts_for(actor),
                limit,
                offset,
            })
            .await?;
        Ok(DatasetList { datasets: page.datasets, total: page.total, limit, offset })
    }

    /// One dataset with its current version and its history.
    ///
    /// Everyone sees the metadata of a released dataset; the column statistics of the current version (minima,
    /// maxima: values of the data) only those who may read its rows.
    pub async fn dataset_detail(&self, actor: &Actor, slug: &str) -> Result<DatasetDetail, AppError> {
        let dataset = self.visible_dataset(actor, slug).await?;
        let parsed = dataset.slug.clone();
        let mut current = self.inner.catalog.current_version(&parsed).await?;
        if current.is_some() && !self.may_read_rows(actor, slug).await? {
            current = current.map(without_values);
        }
        let versions = self.inner.catalog.list_versions(&parsed).await?;
        Ok(DatasetDetail { dataset, current: current.map(Arc::new), versions })
    }

    /// A dataset `actor` may see (`dataset_not_found` otherwise, drafts included).
    pub(crate) async fn visible_dataset(&self, actor: &Actor, slug: &str) -> Result<Dataset, AppError> {
        self.authorize_dataset(actor, slug, DatasetAction::View).await?;
        let parsed = parse_slug(slug, "slug").map_err(|_| AppError::DatasetNotFound { slug: slug.to_string() })?;
        self.inner
            .catalog
            .get_dataset(&parsed)
            .await?
            .ok_or_else(|| AppError::DatasetNotFound { slug: slug.to_string() })
    }

    /// Every dataset `actor` may see (of one publisher, if given), page by page from the catalog: for documents
    /// about many datasets (the DCAT catalogue, the publisher dashboard).
    pub(crate) async fn visible_datasets(
        &self,
        actor: &Actor,
        publisher: Option<Slug>,
    ) -> Result<Vec<Dataset>, AppError> {
        let mut query = all_datasets_query();
        query.publisher = publisher;
        query.drafts = drafts_for(actor);
        let mut datasets = Vec::new();
        loop {
            let page = self.inner.catalog.list_datasets(&query).await?;
            let count = page.datasets.len();
            for dataset in page.datasets {
                if self.authorize_dataset(actor, dataset.slug.as_str(), DatasetAction::View).await.is_ok() {
                    datasets.push(dataset);
                }
            }
            if count < query.limit as usize {
                return Ok(datasets);
            }
            query.offset += u64::from(query.limit);
        }
    }

    /// The metadata of version `seq`: schema, row count, original file, artefacts — and its column statistics for
    /// those who may read the rows.
    pub async fn version_info(&self, actor: &Actor, slug: &str, seq: i64) -> Result<Version, AppError> {
        self.authorize_dataset(actor, slug, DatasetAction::View).await?;
        let version = self.stored_version(slug, seq).await?;
        Ok(if self.may_read_rows(actor, slug).await? { version } else { without_values(version) })
    }

    /// Version `seq` of `slug` from the catalog; `dataset_not_found` or `version_not_found`.
    async fn stored_version(&self, slug: &str, seq: i64) -> Result<Version, AppError> {
        let parsed = self.existing_slug(slug).await?;
        self.inner
            .catalog
            .get_version(&parsed, seq)
            .await?
            .ok_or_else(|| AppError::VersionNotFound { slug: slug.to_string(), seq })
    }

    /// A specific version (or the current one) of a dataset whose rows the actor may read.
    pub async fn version(&self, actor: &Actor, slug: &str, seq: Option<i64>) -> Result<Arc<Version>, AppError> {
        self.authorize_dataset(actor, slug, DatasetAction::ReadRows).await?;
        match seq {
            None => self.current_version(slug).await,
            Some(seq) => Ok(Arc::new(self.stored_version(slug, seq).await?)),
        }
    }

    /// The current version, from a short-lived in-process cache (see `Config::catalog_refresh`).
    pub(crate) async fn current_version(&self, slug: &str) -> Result<Arc<Version>, AppError> {
        let refresh = self.inner.config.catalog_refresh;
        if let Ok(cache) = self.inner.current.lock()
            && let Some((read_at, version)) = cache.get(slug)
            && read_at.elapsed() < refresh
        {
            return version.clone().ok_or_else(|| AppError::NoVersion { slug: slug.to_string() });
        }
        let parsed = parse_slug(slug, "slug").map_err(|_| AppError::DatasetNotFound { slug: slug.to_string() })?;
        let version = match self.inner.catalog.current_version(&parsed).await? {
            Some(v) => Some(Arc::new(v)),
            None => {
                // Tell "no such dataset" from "nothing published yet".
                if self.inner.catalog.get_dataset(&parsed).await?.is_none() {
                    return Err(AppError::DatasetNotFound { slug: slug.to_string() });
                }
                None
            }
        };
        if let Ok(mut cache) = self.inner.current.lock() {
            cache.insert(slug.to_string(), (Instant::now(), version.clone()));
        }
        version.ok_or_else(|| AppError::NoVersion { slug: slug.to_string() })
    }

    pub(crate) fn forget_current(&self, slug: &str) {
        if let Ok(mut cache) = self.inner.current.lock() {
            cache.remove(slug);
        }
    }

    pub(crate) async fn existing_slug(&self, slug: &str) -> Result<Slug, AppError> {
        let parsed = parse_slug(slug, "slug").map_err(|_| AppError::DatasetNotFound { slug: slug.to_string() })?;
        if self.inner.catalog.get_dataset(&parsed).await?.is_none() {
            return Err(AppError::DatasetNotFound { slug: slug.to_string() });
        }
        Ok(parsed)
    }

    async fn ensure_publisher(&self, slug: Option<&str>, name: Option<&str>) -> Result<Option<Slug>, AppError> {
        let Some(slug) = slug.filter(|s| !s.is_empty()) else { return Ok(None) };
        let slug = parse_slug(slug, "publisher")?;
        let name = check_text(name.unwrap_or(slug.as_str()), "publisher_name", MAX_TITLE)?;
        let publisher = self.inner.catalog.ensure_publisher(&slug, &name).await?;
        Ok(Some(publisher.slug))
    }
}
