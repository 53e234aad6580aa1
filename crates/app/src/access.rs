//! Who may do what. The one place that decides access; every operation asks here first.
//!
//! Two kinds of question:
//! * [`authorize`] — operations not about one existing dataset (create a dataset, manage an organisation, site
//!   administration), decided from the actor alone;
//! * [`Tapwater::authorize_dataset`] — operations on a dataset, decided from the actor, the dataset's organisation,
//!   access level and draft flag, and for `application` datasets the actor's grant.
//!
//! The rules, in short (docs/access.md has the full matrix):
//! * metadata of every released dataset is visible to everyone; a draft only to its organisation and site admins
//!   (to anyone else it does not exist: 404);
//! * rows (rows, aggregates, SQL, downloads, old versions, statistics, transform examples) follow the access level:
//!   `public` anyone, `registered` anyone signed in or with a key, `application` the owning organisation's members
//!   and holders of an approved unexpired grant, `restricted` nobody (a later privacy-safe aggregate path will be
//!   the only way in);
//! * editing, publishing and sources need the editor or org-admin role in the dataset's organisation; access levels
//!   and members need org-admin; access applications need reviewer or org-admin; site administrators (the admin
//!   token, the operator at the command line) may do all of it — but read restricted rows no more than anyone;
//! * an API key with the `read` scope never writes, whatever its user's roles.

use std::sync::Arc;
use std::time::Instant;

use tapwater_store::DatasetAccess;
use tapwater_types::{AccessLevel, Actor, Role};

use crate::{AppError, Tapwater};

/// An operation that is not about one existing dataset.
#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    /// Create a dataset, owned by this organisation.
    CreateDataset { publisher: Option<&'a str> },
    /// Members, roles and audit export of one organisation.
    ManageOrganisation(&'a str),
    /// Users, organisations, the whole audit log.
    SiteAdministration,
    /// A dry run of the ingestion (`POST /api/v1/check`): anyone who may publish somewhere.
    DryRun,
}

/// An operation on one dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetAction {
    /// Metadata, schema, version list, pipeline, source (redacted).
    View,
    /// Rows, aggregates, SQL, downloads, old versions, statistics, transform examples.
    ReadRows,
    /// Metadata and pipeline changes.
    Edit,
    Publish,
    ConfigureSource,
    /// Change the access level or release a draft.
    SetAccess,
    /// Decide access applications.
    Review,
}

/// Allows or refuses `action` for `actor`.
pub fn authorize(actor: &Actor, action: Action<'_>) -> Result<(), AppError> {
    if matches!(actor, Actor::Anonymous) {
        return Err(AppError::Unauthorized);
    }
    if actor.is_site_admin() {
        return writable(actor);
    }
    let Some(principal) = actor.principal() else { return Err(AppError::Forbidden) };
    let allowed = match action {
        Action::CreateDataset { publisher: Some(publisher) } => {
            principal.role_in(publisher).is_some_and(Role::can_edit)
        }
        Action::CreateDataset { publisher: None } => false,
        Action::ManageOrganisation(organisation) => principal.role_in(organisation) == Some(Role::OrgAdmin),
        Action::SiteAdministration => false,
        Action::DryRun => principal.memberships.iter().any(|m| m.role.can_edit()),
    };
    if !allowed {
        return Err(AppError::Forbidden);
    }
    writable(actor)
}

/// Refuses writes through an API key of the `read` scope.
fn writable(actor: &Actor) -> Result<(), AppError> {
    match actor.principal() {
        Some(principal) if !principal.may_write() => Err(AppError::InsufficientScope),
        _ => Ok(()),
    }
}

/// The role `actor` holds in the dataset's organisation.
fn role_for(actor: &Actor, access: &DatasetAccess) -> Option<Role> {
    let publisher = access.publisher.as_deref()?;
    actor.principal()?.role_in(publisher)
}

/// Whether `actor` sees the dataset at all (drafts are hidden outside their organisation).
pub(crate) fn can_see(actor: &Actor, access: &DatasetAccess) -> bool {
    !access.draft || actor.is_site_admin() || role_for(actor, access).is_some()
}

/// The decision for everything but the grant lookup, which [`Tapwater::authorize_dataset`] adds for
/// `application` datasets: `Ok(true)` allowed, `Ok(false)` allowed only with a grant.
fn decide(actor: &Actor, access: &DatasetAccess, action: DatasetAction) -> Result<bool, AppError> {
    if !can_see(actor, access) {
        return Err(AppError::DatasetNotFound { slug: access.slug.clone() });
    }
    let role = role_for(actor, access);
    let site_admin = actor.is_site_admin();
    let write = |allowed: bool| -> Result<bool, AppError> {
        match actor {
            Actor::Anonymous => Err(AppError::Unauthorized),
            _ if !allowed => Err(AppError::Forbidden),
            _ => writable(actor).map(|()| true),
        }
    };
    match action {
        DatasetAction::View => Ok(true),
        DatasetAction::ReadRows => match access.level {
            AccessLevel::Public => Ok(true),
            AccessLevel::Registered => match actor {
                Actor::Anonymous => Err(AppError::KeyRequired { slug: access.slug.clone() }),
                _ => Ok(true),
            },
            AccessLevel::Application => match actor {
                Actor::Anonymous => Err(AppError::KeyRequired { slug: access.slug.clone() }),
                _ if site_admin || role.is_some() => Ok(true),
                _ => Ok(false),
            },
            AccessLevel::Restricted => Err(AppError::RestrictedDataset { slug: access.slug.clone() }),
        },
        DatasetAction::Edit | DatasetAction::Publish | DatasetAction::ConfigureSource => {
            write(site_admin || role.is_some_and(Role::can_edit))
        }
        DatasetAction::SetAccess => write(site_admin || role == Some(Role::OrgAdmin)),
        DatasetAction::Review => write(site_admin || role.is_some_and(Role::can_review)),
    }
}

impl Tapwater {
    /// Decides `action` on dataset `slug` for `actor`; returns the dataset's access facts when allowed.
    /// `DatasetNotFound` for a dataset that does not exist or that the actor may not see.
    pub(crate) async fn authorize_dataset(
        &self,
        actor: &Actor,
        slug: &str,
        action: DatasetAction,
    ) -> Result<Arc<DatasetAccess>, AppError> {
        let access = self.dataset_access(slug).await?;
        if decide(actor, &access, action)? {
            return Ok(access);
        }
        // An `application` dataset and a signed-in user outside the organisation: the grant decides.
        let Some(principal) = actor.principal() else { return Err(AppError::Forbidden) };
        if self.inner.catalog.has_grant(access.dataset_id, principal.user_id, chrono::Utc::now()).await? {
            Ok(access)
        } else {
            Err(AppError::ApplicationRequired { slug: access.slug.clone() })
        }
    }

    /// Whether `actor` may read the rows of `slug` (for views that show statistics or examples only then).
    pub(crate) async fn may_read_rows(&self, actor: &Actor, slug: &str) -> Result<bool, AppError> {
        match self.authorize_dataset(actor, slug, DatasetAction::ReadRows).await {
            Ok(_) => Ok(true),
            Err(
                AppError::KeyRequired { .. }
                | AppError::ApplicationRequired { .. }
                | AppError::RestrictedDataset { .. }
                | AppError::Forbidden,
            ) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// The access facts of a dataset, from a short-lived in-process cache (`Config::catalog_refresh`, as for the
    /// current version), so a read costs no catalog round trip for them.
    pub(crate) async fn dataset_access(&self, slug: &str) -> Result<Arc<DatasetAccess>, AppError> {
        let refresh = self.inner.config.catalog_refresh;
        if let Ok(cache) = self.inner.access.lock()
            && let Some((read_at, access)) = cache.get(slug)
            && read_at.elapsed() < refresh
        {
            return access.clone().ok_or_else(|| AppError::DatasetNotFound { slug: slug.to_string() });
        }
        let access = self.inner.catalog.dataset_access(slug).await?.map(Arc::new);
        if let Ok(mut cache) = self.inner.access.lock() {
            cache.insert(slug.to_string(), (Instant::now(), access.clone()));
        }
        access.ok_or_else(|| AppError::DatasetNotFound { slug: slug.to_string() })
    }

    pub(crate) fn forget_access(&self, slug: &str) {
        if let Ok(mut cache) = self.inner.access.lock() {
            cache.remove(slug);
        }
    }
}
