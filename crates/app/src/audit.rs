//! The audit log: who read sensitive data, who was refused, who changed permissions, keys or data — appended to a
//! hash chain in the catalog (see `tapwater-store`), verified by `tapwater audit verify`, exported for an agency.
//!
//! Recorded: every read of an `application` or `restricted` dataset (rows, aggregate, SQL — also a dataset only
//! joined in —, download, with the version, the query and the row count), every refusal of such a read, every
//! access decision on applications, every role, membership, key and access-level change, every publish, account
//! lock-outs and password resets. A read that cannot be recorded is not served: the audit fails closed.

use tapwater_store::{AuditRecord, AuditVerdict, DatasetAccess};
use tapwater_types::{Actor, AuditEntry};

use crate::access::{Action, authorize};
use crate::{AppError, Tapwater};

/// Largest page of entries one export call returns.
pub const MAX_AUDIT_PAGE: i64 = 10_000;

impl Tapwater {
    pub(crate) async fn record_audit(&self, record: AuditRecord) -> Result<(), AppError> {
        self.inner.catalog.append_audit(&record).await?;
        Ok(())
    }

    /// Records an operation (an account, key, role, access or application change) done by `actor`.
    pub(crate) async fn audit(
        &self,
        actor: &Actor,
        action: &str,
        dataset: Option<&str>,
        detail: Option<String>,
    ) -> Result<(), AppError> {
        self.record_audit(AuditRecord {
            actor: actor.label(),
            action: action.to_string(),
            dataset: dataset.map(str::to_string),
            outcome: "ok".to_string(),
            detail,
            ..AuditRecord::default()
        })
        .await
    }

    /// Records a read of an audited dataset (no-op for `public` and `registered` ones).
    pub(crate) async fn audit_read(
        &self,
        actor: &Actor,
        access: &DatasetAccess,
        action: &str,
        version: i64,
        query: String,
        rows: u64,
    ) -> Result<(), AppError> {
        if !access.level.is_audited() {
            return Ok(());
        }
        self.record_audit(AuditRecord {
            actor: actor.label(),
            action: action.to_string(),
            dataset: Some(access.slug.clone()),
            version: Some(version),
            query: Some(query),
            row_count: Some(rows),
            outcome: "ok".to_string(),
            detail: Some(format!("access level {}", access.level.as_str())),
        })
        .await
    }

    /// Records a refused read of an audited dataset.
    pub(crate) async fn audit_refusal(&self, actor: &Actor, access: &DatasetAccess, error: &AppError) {
        if !access.level.is_audited() {
            return;
        }
        let record = AuditRecord {
            actor: actor.label(),
            action: "access.denied".to_string(),
            dataset: Some(access.slug.clone()),
            outcome: error.code().to_string(),
            detail: Some(format!("access level {}", access.level.as_str())),
            ..AuditRecord::default()
        };
        // The refusal stands whether or not it could be recorded; a failure to record it is the operator's problem.
        if let Err(err) = self.record_audit(record).await {
            tracing::error!(%err, dataset = %access.slug, "could not record a refused read in the audit log");
        }
    }

    /// Walks the audit chain (site administrators, the operator).
    pub async fn verify_audit(&self, actor: &Actor) -> Result<AuditVerdict, AppError> {
        authorize(actor, Action::SiteAdministration)?;
        Ok(self.inner.catalog.verify_audit().await?)
    }

    /// A page of audit entries after `after`: all of them for site administrators, or — with `organisation` — those
    /// about that organisation's datasets, for its administrators.
    pub async fn audit_entries(
        &self,
        actor: &Actor,
        organisation: Option<&str>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, AppError> {
        if !(1..=MAX_AUDIT_PAGE).contains(&limit) {
            return Err(AppError::invalid(
                "invalid_parameter",
                "limit",
                format!("limit must be between 1 and {MAX_AUDIT_PAGE}."),
                format!("limit 必須介於 1 到 {MAX_AUDIT_PAGE}。"),
            ));
        }
        match organisation {
            None => {
                authorize(actor, Action::SiteAdministration)?;
                Ok(self.inner.catalog.audit_entries(after, limit, None).await?)
            }
            Some(org) => {
                let org = self.organisation(org).await?;
                authorize(actor, Action::ManageOrganisation(org.slug.as_str()))?;
                let query = tapwater_store::DatasetQuery {
                    publisher: Some(org.slug.clone()),
                    drafts: tapwater_store::Drafts::All,
                    limit: 10_000,
                    ..tapwater_store::DatasetQuery::default()
                };
                let slugs: Vec<String> = self
                    .inner
                    .catalog
                    .list_datasets(&query)
                    .await?
                    .datasets
                    .into_iter()
                    .map(|d| d.slug.as_str().to_string())
                    .collect();
                Ok(self.inner.catalog.audit_entries(after, limit, Some(&slugs)).await?)
            }
        }
    }
}

/// The columns of the CSV export, in order.
pub const AUDIT_CSV_HEADER: [&str; 12] = [
    "seq",
    "at",
    "actor",
    "action",
    "dataset",
    "version",
    "query",
    "row_count",
    "outcome",
    "detail",
    "prev_hash",
    "hash",
];

/// One audit entry as CSV fields, in [`AUDIT_CSV_HEADER`] order.
pub fn audit_csv_record(entry: &AuditEntry) -> [String; 12] {
    [
        entry.seq.to_string(),
        entry.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        entry.actor.clone(),
        entry.action.clone(),
        entry.dataset.clone().unwrap_or_default(),
        entry.version.map(|v| v.to_string()).unwrap_or_default(),
        entry.query.clone().unwrap_or_default(),
        entry.row_count.map(|v| v.to_string()).unwrap_or_default(),
        entry.outcome.clone(),
        entry.detail.clone().unwrap_or_default(),
        entry.prev_hash.clone(),
        entry.hash.clone(),
    ]
}
