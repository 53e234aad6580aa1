//! Access applications: a user asks to read an `application`-level dataset and says why; a reviewer (or org admin)
//! of the owning organisation approves — optionally until a date — or rejects with a reason; an approved grant can
//! be revoked. Every step is in the audit log.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tapwater_types::{AccessApplication, AccessLevel, Actor, ApplicationStatus};

use crate::access::DatasetAction;
use crate::{AppError, Tapwater};

const MIN_PURPOSE: usize = 10;
const MAX_PURPOSE: usize = 5000;

/// A reviewer's decision.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct Decision {
    /// `approve`, `reject` or `revoke`.
    pub decision: String,
    /// Required to reject or revoke; shown to the applicant.
    #[serde(default)]
    pub reason: Option<String>,
    /// An approval ends at this time (RFC 3339); absent: until revoked.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

fn new_application_id() -> String {
    format!("app_{}", hex::encode(rand::random::<[u8; 8]>()))
}

impl Tapwater {
    /// Applies for access to an `application`-level dataset.
    pub async fn apply_for_access(
        &self,
        actor: &Actor,
        slug: &str,
        purpose: &str,
    ) -> Result<AccessApplication, AppError> {
        let access = self.authorize_dataset(actor, slug, DatasetAction::View).await?;
        let Some(principal) = actor.principal() else { return Err(AppError::Unauthorized) };
        if access.level != AccessLevel::Application {
            return Err(AppError::invalid(
                "invalid_parameter",
                "slug",
                format!(
                    "Dataset \"{slug}\" is {}: applications are only for datasets released to approved applications.",
                    access.level.as_str()
                ),
                format!("資料集「{slug}」的開放層級為 {}：僅「申請核准」層級的資料集需要申請。", access.level.as_str()),
            ));
        }
        let purpose = purpose.trim();
        let length = purpose.chars().count();
        if !(MIN_PURPOSE..=MAX_PURPOSE).contains(&length) {
            return Err(AppError::invalid(
                "invalid_parameter",
                "purpose",
                format!("Describe the purpose in {MIN_PURPOSE} to {MAX_PURPOSE} characters."),
                format!("請以 {MIN_PURPOSE} 到 {MAX_PURPOSE} 個字說明用途。"),
            ));
        }
        let application = self
            .inner
            .catalog
            .create_application(&new_application_id(), access.dataset_id, principal.user_id, purpose)
            .await?;
        self.audit(actor, "application.submitted", Some(slug), Some(format!("application {}", application.id))).await?;
        Ok(application)
    }

    /// Applications for a dataset (its organisation's reviewers and org admins, site administrators).
    pub async fn dataset_applications(&self, actor: &Actor, slug: &str) -> Result<Vec<AccessApplication>, AppError> {
        let access = self.authorize_dataset(actor, slug, DatasetAction::Review).await?;
        Ok(self.inner.catalog.list_applications(Some(access.dataset_id), None).await?)
    }

    /// The caller's own applications.
    pub async fn my_applications(&self, actor: &Actor) -> Result<Vec<AccessApplication>, AppError> {
        let Some(principal) = actor.principal() else { return Err(AppError::Unauthorized) };
        Ok(self.inner.catalog.list_applications(None, Some(principal.user_id)).await?)
    }

    /// One application: for its applicant and for those who may decide it.
    pub async fn application(&self, actor: &Actor, id: &str) -> Result<AccessApplication, AppError> {
        let not_found = || AppError::ApplicationNotFound { id: id.to_string() };
        let application = self.inner.catalog.application(id).await?.ok_or_else(not_found)?;
        if actor.principal().is_some_and(|p| p.email == application.applicant) {
            return Ok(application);
        }
        match self.authorize_dataset(actor, &application.dataset, DatasetAction::Review).await {
            Ok(_) => Ok(application),
            Err(AppError::Unauthorized) => Err(AppError::Unauthorized),
            Err(_) => Err(not_found()),
        }
    }

    /// Approves, rejects or revokes an application.
    pub async fn decide_application(
        &self,
        actor: &Actor,
        id: &str,
        decision: Decision,
    ) -> Result<AccessApplication, AppError> {
        let current = self.application(actor, id).await?;
        // The applicant may read their application but not decide it (unless they also review for the dataset).
        self.authorize_dataset(actor, &current.dataset, DatasetAction::Review).await?;
        let reason = decision.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
        let (from, to) = match decision.decision.as_str() {
            "approve" => (ApplicationStatus::Pending, ApplicationStatus::Approved),
            "reject" => (ApplicationStatus::Pending, ApplicationStatus::Rejected),
            "revoke" => (ApplicationStatus::Approved, ApplicationStatus::Revoked),
            other => {
                return Err(AppError::invalid(
                    "invalid_parameter",
                    "decision",
                    format!("decision is approve, reject or revoke, not \"{other}\"."),
                    format!("decision 只能是 approve、reject 或 revoke，而不是「{other}」。"),
                ));
            }
        };
        if to != ApplicationStatus::Approved && reason.is_none() {
            return Err(AppError::invalid(
                "invalid_parameter",
                "reason",
                "Give the applicant a reason when rejecting or revoking.",
                "駁回或撤銷時，請提供申請者理由。",
            ));
        }
        if let Some(expires_at) = decision.expires_at
            && expires_at <= Utc::now()
        {
            return Err(AppError::invalid(
                "invalid_parameter",
                "expires_at",
                "expires_at must be in the future.",
                "expires_at 必須是未來的時間。",
            ));
        }
        let decided = self
            .inner
            .catalog
            .decide_application(id, from, to, reason, &actor.label(), decision.expires_at)
            .await?
            .ok_or_else(|| AppError::ApplicationState {
                id: id.to_string(),
                status: current.status.as_str().to_string(),
                expected: from.as_str().to_string(),
            })?;
        let mut detail = format!("application {id} of {}", decided.applicant);
        if let Some(reason) = reason {
            detail.push_str(&format!("; reason: {reason}"));
        }
        if let Some(expires_at) = decided.expires_at.filter(|_| to == ApplicationStatus::Approved) {
            detail.push_str(&format!("; until {}", expires_at.to_rfc3339()));
        }
        self.audit(actor, &format!("application.{}", to.as_str()), Some(&decided.dataset), Some(detail)).await?;
        Ok(decided)
    }
}
