//! Who is asking and what they may reach: actors, accounts, organisation roles, API key scopes, dataset access
//! levels, access applications and audit entries. Plain data; the decisions are made in `tapwater-app`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Who may read a dataset's rows. Metadata of every non-draft dataset stays visible to everyone whatever the level:
/// the public must know what exists even when it cannot read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccessLevel {
    /// Anyone, without a key.
    #[default]
    Public,
    /// Anyone signed in or sending an API key.
    Registered,
    /// Users whose application (a stated purpose) a reviewer of the owning organisation approved, while the grant
    /// lasts; members of the owning organisation.
    Application,
    /// Nobody reads rows or downloads; only privacy-safe aggregates (a later capability) may be computed on it.
    Restricted,
}

impl AccessLevel {
    pub const ALL: [AccessLevel; 4] =
        [AccessLevel::Public, AccessLevel::Registered, AccessLevel::Application, AccessLevel::Restricted];

    pub fn as_str(self) -> &'static str {
        match self {
            AccessLevel::Public => "public",
            AccessLevel::Registered => "registered",
            AccessLevel::Application => "application",
            AccessLevel::Restricted => "restricted",
        }
    }

    pub fn parse(value: &str) -> Option<AccessLevel> {
        AccessLevel::ALL.into_iter().find(|l| l.as_str() == value)
    }

    /// Whether reads of this level are written to the audit log.
    pub fn is_audited(self) -> bool {
        matches!(self, AccessLevel::Application | AccessLevel::Restricted)
    }
}

/// A role inside an organisation (an agency). Site administrators are a flag on the user, not an organisation role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Sees the organisation's drafts and application-level datasets.
    Member,
    /// Decides access applications for the organisation's datasets.
    Reviewer,
    /// Creates, edits and publishes the organisation's datasets.
    Editor,
    /// Everything an editor does, plus members, roles and access levels of the organisation.
    OrgAdmin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Member, Role::Reviewer, Role::Editor, Role::OrgAdmin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Reviewer => "reviewer",
            Role::Editor => "editor",
            Role::OrgAdmin => "org-admin",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == value)
    }

    pub fn can_edit(self) -> bool {
        matches!(self, Role::Editor | Role::OrgAdmin)
    }

    pub fn can_review(self) -> bool {
        matches!(self, Role::Reviewer | Role::OrgAdmin)
    }
}

/// What an API key may be used for. A session (browser sign-in) has every scope its user's roles allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read datasets (rows, aggregates, SQL, downloads) and the caller's own account.
    Read,
    /// Everything `read` does, plus writes the user's roles allow (create, edit, publish, decide).
    Publish,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Publish => "publish",
        }
    }

    pub fn parse(value: &str) -> Option<Scope> {
        match value {
            "read" => Some(Scope::Read),
            "publish" => Some(Scope::Publish),
            _ => None,
        }
    }
}

/// One organisation a user belongs to, with the role held there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Membership {
    /// The organisation's (publisher's) slug.
    pub organisation: String,
    pub role: Role,
}

/// How a signed-in user proved who they are on this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A browser session (cookie); state-changing requests also carried the session's CSRF token.
    Session { session_id: String },
    /// An API key.
    ApiKey { key_id: String, prefix: String, scope: Scope },
}

/// A signed-in user as an actor: identity, site flag, memberships, and the credential of this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: i64,
    pub email: String,
    pub site_admin: bool,
    pub memberships: Vec<Membership>,
    pub credential: Credential,
}

impl Principal {
    /// The role held in `organisation`, if any.
    pub fn role_in(&self, organisation: &str) -> Option<Role> {
        self.memberships.iter().filter(|m| m.organisation == organisation).map(|m| m.role).max()
    }

    /// Whether the credential allows writes (sessions do; API keys need the `publish` scope).
    pub fn may_write(&self) -> bool {
        match &self.credential {
            Credential::Session { .. } => true,
            Credential::ApiKey { scope, .. } => *scope == Scope::Publish,
        }
    }
}

/// Who is asking. Every application-layer operation takes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// Anyone on the network, without credentials.
    Anonymous,
    /// The holder of the admin token: a site administrator for automation and bootstrapping.
    Admin,
    /// The operator at the command line, working on the data directory or database directly.
    System,
    /// A signed-in user (session or API key).
    User(Arc<Principal>),
}

impl Actor {
    /// The admin token, the operator, or a site administrator.
    pub fn is_site_admin(&self) -> bool {
        match self {
            Actor::Admin | Actor::System => true,
            Actor::User(p) => p.site_admin,
            Actor::Anonymous => false,
        }
    }

    /// The signed-in user, if any.
    pub fn principal(&self) -> Option<&Principal> {
        match self {
            Actor::User(p) => Some(p),
            _ => None,
        }
    }

    /// Who this is, for logs, `published_by` and the audit log: `anonymous`, `admin-token`, `system`,
    /// `user:ana@example.org`, or `key:tw_ab12cd34 (ana@example.org)`.
    pub fn label(&self) -> String {
        match self {
            Actor::Anonymous => "anonymous".to_string(),
            Actor::Admin => "admin-token".to_string(),
            Actor::System => "system".to_string(),
            Actor::User(p) => match &p.credential {
                Credential::Session { .. } => format!("user:{}", p.email),
                Credential::ApiKey { prefix, .. } => format!("key:{prefix} ({})", p.email),
            },
        }
    }
}

/// An account as shown to its owner and to administrators. The password hash never leaves the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub site_admin: bool,
    pub memberships: Vec<Membership>,
    pub created_at: DateTime<Utc>,
    /// Set while sign-in is locked after repeated failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<DateTime<Utc>>,
}

/// An API key as listed: never the secret, which is shown once at creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    /// The visible start of the key (`tw_ab12cd34`), to tell keys apart.
    pub prefix: String,
    pub scope: Scope,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Where an access application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApplicationStatus {
    Pending,
    Approved,
    Rejected,
    Revoked,
}

impl ApplicationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationStatus::Pending => "pending",
            ApplicationStatus::Approved => "approved",
            ApplicationStatus::Rejected => "rejected",
            ApplicationStatus::Revoked => "revoked",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            ApplicationStatus::Pending,
            ApplicationStatus::Approved,
            ApplicationStatus::Rejected,
            ApplicationStatus::Revoked,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }
}

/// A user's request to read an `application`-level dataset, and the reviewer's decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccessApplication {
    pub id: String,
    pub dataset: String,
    pub applicant: String,
    /// What the applicant will do with the data.
    pub purpose: String,
    pub status: ApplicationStatus,
    /// The reviewer's reason (required to reject or revoke).
    pub reason: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// An approved grant ends at this time (`None`: until revoked).
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// One entry of the tamper-evident audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// 1, 2, 3 … with no gaps.
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// An actor label (see [`Actor::label`]).
    pub actor: String,
    /// e.g. `read.rows`, `access.denied`, `key.created`, `version.published`.
    pub action: String,
    pub dataset: Option<String>,
    pub version: Option<i64>,
    /// The query as asked (parameters, SQL text, download format).
    pub query: Option<String>,
    pub row_count: Option<u64>,
    /// `ok` or the error code of a refusal.
    pub outcome: String,
    /// Anything else worth keeping (the role granted, the reason of a decision …).
    pub detail: Option<String>,
    /// Hash of the previous entry (64 zeros for the first).
    pub prev_hash: String,
    /// SHA-256 over this entry's fields and `prev_hash`.
    pub hash: String,
}

/// Whether `value` has the shape of an email address: at most 254 characters, no spaces, one `@` with a local part
/// before it and a dotted domain after it. The one rule for accounts and for dataset contacts; a link is what proves
/// an address works.
pub fn is_email_address(value: &str) -> bool {
    value.len() <= 254
        && !value.chars().any(char::is_whitespace)
        && matches!(value.split_once('@'), Some((local, domain)) if !local.is_empty() && domain.contains('.')
            && !domain.starts_with('.') && !domain.ends_with('.') && !domain.contains('@'))
}
