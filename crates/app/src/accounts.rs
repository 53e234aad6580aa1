//! Accounts: authentication of every request (API keys, browser sessions with CSRF tokens, the admin token),
//! sign-up, sign-in with lock-out, sign-out, password reset by token, API keys, users and organisation memberships.
//!
//! Secrets: passwords are hashed with argon2id (the `argon2` crate, its OWASP-recommended defaults); API keys,
//! session tokens and reset tokens are 256 random bits, stored as SHA-256 — a slow hash adds nothing to a secret
//! nobody can guess, and a fast one keeps key checks cheap on every request. Clear secrets are returned exactly once.
//!
//! OpenID Connect sign-in is a seam, not built: `users.oidc_issuer`/`oidc_subject` hold a linked identity, and a
//! provider would end in [`Tapwater::start_session`] exactly as a password sign-in does.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tapwater_store::{NewUser, SessionRecord};
use tapwater_types::{Actor, ApiKey, Credential, Principal, Publisher, Role, Scope, User};

use crate::access::{Action, authorize};
use crate::catalog::parse_slug;
use crate::notify::Notice;
use crate::{AppError, Tapwater, constant_time_eq};

/// Every API key starts with this, so a leaked key is easy to recognise (secret scanners, logs).
pub const KEY_PREFIX: &str = "tw_";
const MIN_PASSWORD: usize = 10;
/// argon2 is deliberately slow; an unbounded password would make it slower still.
const MAX_PASSWORD: usize = 1024;

/// What a request presented, as the HTTP layer found it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Credentials<'a> {
    /// `Authorization: Bearer …` or `X-Api-Key`: an API key or the admin token.
    pub bearer: Option<&'a str>,
    /// The session cookie's value.
    pub session: Option<&'a str>,
    /// The `X-CSRF-Token` header (or a form's `csrf_token` field).
    pub csrf: Option<&'a str>,
    /// Whether the request may change something (any method but GET, HEAD, OPTIONS).
    pub state_changing: bool,
}

/// A new browser session: the cookie value (secret) and what the page may know.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub view: SessionView,
}

/// The signed-in user and the CSRF token their page must echo on state-changing requests.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub user: User,
    /// Send as `X-CSRF-Token` with every POST, PUT, PATCH and DELETE made with the session cookie.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A key as created: the secret is here once and never again.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub key: ApiKey,
    /// The whole key. Store it now: tapwater keeps only its hash.
    pub secret: String,
}

/// Sign-up input.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SignUp {
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// An account an administrator creates.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewAccount {
    pub email: String,
    /// Absent: the user sets one through a password reset.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// `admin` (site administrator), or an organisation role (`org-admin`, `editor`, `reviewer`, `member`) with
    /// `organisation`.
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub organisation: Option<String>,
}

/// A member of an organisation, as its administrators see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Member {
    pub email: String,
    pub role: Role,
}

fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill(&mut buffer[..]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer)
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill(&mut buffer[..]);
    hex::encode(buffer)
}

pub(crate) fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Lowercased and checked: one `@`, something on both sides, no spaces, at most 254 characters.
pub(crate) fn normalize_email(email: &str) -> Result<String, AppError> {
    let email = email.trim().to_lowercase();
    if !tapwater_types::is_email_address(&email) {
        return Err(AppError::invalid(
            "invalid_email",
            "email",
            format!("\"{email}\" is not an email address."),
            format!("「{email}」不是有效的電子郵件地址。"),
        ));
    }
    Ok(email)
}

fn check_password(password: &str, email: &str) -> Result<(), AppError> {
    let length = password.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&length) {
        return Err(AppError::invalid(
            "invalid_password",
            "password",
            format!("A password has {MIN_PASSWORD} to {MAX_PASSWORD} characters."),
            format!("密碼長度須為 {MIN_PASSWORD} 到 {MAX_PASSWORD} 個字元。"),
        ));
    }
    if password.eq_ignore_ascii_case(email) {
        return Err(AppError::invalid(
            "invalid_password",
            "password",
            "The password must not be the email address.",
            "密碼不可與電子郵件地址相同。",
        ));
    }
    Ok(())
}

/// Hashes on a blocking thread: argon2id takes tens of milliseconds by design.
async fn hash_password(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let salt = new_salt()?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| AppError::Internal(format!("argon2: {e}")))
    })
    .await
    .map_err(|e| AppError::Internal(format!("hashing task: {e}")))?
}

/// Verifies on a blocking thread. With no stored hash (unknown user, no password set) a dummy hash is checked, so
/// the answer takes as long and does not reveal which emails have accounts.
async fn verify_password(password: String, stored: Option<String>) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || {
        let dummy;
        let (hash, real) = match &stored {
            Some(hash) => (hash.as_str(), true),
            None => {
                dummy = dummy_hash();
                (dummy.as_str(), false)
            }
        };
        let parsed = PasswordHash::new(hash).map_err(|e| AppError::Internal(format!("stored password hash: {e}")))?;
        Ok(Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok() && real)
    })
    .await
    .map_err(|e| AppError::Internal(format!("hashing task: {e}")))?
}

/// 16 random bytes (the `rand` crate's thread-local CSPRNG, seeded by the OS) as a PHC salt.
fn new_salt() -> Result<SaltString, AppError> {
    let bytes: [u8; 16] = rand::rng().random();
    SaltString::encode_b64(&bytes).map_err(|e| AppError::Internal(format!("salt: {e}")))
}

fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| {
            let Ok(salt) = new_salt() else { return String::new() };
            Argon2::default()
                .hash_password(b"not a password of anyone", &salt)
                .map(|h| h.to_string())
                .unwrap_or_default()
        })
        .clone()
}

/// The role given at account creation: `admin` is the site flag, anything else a role in an organisation.
pub fn parse_account_role(value: &str) -> Result<Option<Role>, AppError> {
    match value {
        "admin" | "site-admin" => Ok(None),
        other => Role::parse(other).map(Some).ok_or_else(|| {
            AppError::invalid(
                "invalid_parameter",
                "role",
                format!("Unknown role \"{other}\"; use admin, org-admin, editor, reviewer or member."),
                format!("未知的角色「{other}」；可用 admin、org-admin、editor、reviewer、member。"),
            )
        }),
    }
}

impl Tapwater {
    /// Turns what a request presented into an actor.
    ///
    /// A bearer credential wins over a cookie. A wrong or revoked key is an error rather than a silent downgrade to
    /// anonymous, so a misconfigured client learns at once. A stale session cookie on a read is ignored (the page
    /// still works, anonymously); on a state-changing request it is an error, and so is a missing or wrong CSRF
    /// token.
    pub async fn authenticate(&self, credentials: Credentials<'_>) -> Result<Actor, AppError> {
        if let Some(bearer) = credentials.bearer {
            return self.authenticate_bearer(bearer).await;
        }
        let Some(token) = credentials.session else { return Ok(Actor::Anonymous) };
        let session = match self.inner.catalog.session(&sha256_hex(token)).await? {
            Some(session) if session.expires_at > Utc::now() => session,
            _ if credentials.state_changing => return Err(AppError::InvalidSession),
            _ => return Ok(Actor::Anonymous),
        };
        if credentials.state_changing
            && !credentials.csrf.is_some_and(|c| constant_time_eq(c.as_bytes(), session.csrf_token.as_bytes()))
        {
            return Err(AppError::CsrfFailed);
        }
        let Some(user) = self.inner.catalog.user(session.user_id).await? else {
            return Err(AppError::InvalidSession);
        };
        Ok(actor_of(user, Credential::Session { session_id: session.id }))
    }

    async fn authenticate_bearer(&self, bearer: &str) -> Result<Actor, AppError> {
        if bearer.starts_with(KEY_PREFIX) {
            let Some((key, user_id)) = self.inner.catalog.api_key_by_hash(&sha256_hex(bearer)).await? else {
                return Err(AppError::InvalidApiKey);
            };
            if key.revoked_at.is_some() {
                return Err(AppError::InvalidApiKey);
            }
            let Some(user) = self.inner.catalog.user(user_id).await? else { return Err(AppError::InvalidApiKey) };
            self.inner.meter.key_used(&key.id);
            return Ok(actor_of(user, Credential::ApiKey { key_id: key.id, prefix: key.prefix, scope: key.scope }));
        }
        if constant_time_eq(bearer.as_bytes(), self.inner.admin_token.as_bytes()) {
            return Ok(Actor::Admin);
        }
        Err(AppError::Unauthorized)
    }

    /// Creates an account and signs it in. Open to anyone unless sign-up is closed (`Config::access.signup`);
    /// site administrators may always.
    pub async fn sign_up(&self, actor: &Actor, input: SignUp) -> Result<NewSession, AppError> {
        if !self.inner.config.access.signup && !actor.is_site_admin() {
            return Err(AppError::invalid(
                "signup_closed",
                "email",
                "Sign-up is closed on this server; ask its administrators for an account.",
                "本站未開放自行註冊；請洽管理者建立帳號。",
            ));
        }
        let email = normalize_email(&input.email)?;
        check_password(&input.password, &email)?;
        let name = input.name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).unwrap_or_else(|| email.clone());
        let hash = hash_password(input.password).await?;
        let user = self
            .inner
            .catalog
            .create_user(&NewUser { email: email.clone(), name, password_hash: Some(hash), site_admin: false })
            .await?;
        self.audit(actor, "user.signed_up", None, Some(format!("user {email}"))).await?;
        self.start_session(user).await
    }

    /// Password sign-in, with lock-out after `Config::access.max_failed_sign_ins` consecutive failures.
    pub async fn sign_in(&self, email: &str, password: &str) -> Result<NewSession, AppError> {
        let email = normalize_email(email).map_err(|_| AppError::InvalidCredentials)?;
        let stored = self.inner.catalog.user_credentials(&email).await?;
        let now = Utc::now();
        if let Some(locked_until) = stored.as_ref().and_then(|s| s.locked_until).filter(|t| *t > now) {
            return Err(AppError::AccountLocked { retry_after_secs: seconds_until(locked_until, now) });
        }
        let ok = verify_password(password.to_string(), stored.as_ref().and_then(|s| s.password_hash.clone())).await?;
        let Some(stored) = stored else { return Err(AppError::InvalidCredentials) };
        if !ok {
            let config = &self.inner.config.access;
            let lock_until = now + chrono::Duration::from_std(config.lockout).unwrap_or(chrono::Duration::minutes(15));
            let locked = self
                .inner
                .catalog
                .record_failed_sign_in(stored.user.id, i64::from(config.max_failed_sign_ins), lock_until)
                .await?;
            if let Some(until) = locked {
                let actor = Actor::Anonymous;
                self.audit(&actor, "account.locked", None, Some(format!("user {email}"))).await?;
                return Err(AppError::AccountLocked { retry_after_secs: seconds_until(until, now) });
            }
            return Err(AppError::InvalidCredentials);
        }
        self.inner.catalog.record_sign_in(stored.user.id).await?;
        self.start_session(stored.user).await
    }

    /// A new session for a user who proved who they are (password now; an OpenID Connect provider later).
    pub async fn start_session(&self, user: User) -> Result<NewSession, AppError> {
        let token = random_token(32);
        let expires_at = Utc::now()
            + chrono::Duration::from_std(self.inner.config.access.session_ttl).unwrap_or(chrono::Duration::days(14));
        let record = SessionRecord { id: random_hex(8), user_id: user.id, csrf_token: random_token(32), expires_at };
        self.inner.catalog.create_session(&sha256_hex(&token), &record).await?;
        Ok(NewSession {
            token,
            view: SessionView { user, csrf_token: Some(record.csrf_token), expires_at: Some(record.expires_at) },
        })
    }

    /// Ends the session with this cookie value (nothing happens for an unknown one).
    pub async fn sign_out(&self, session_token: &str) -> Result<(), AppError> {
        self.inner.catalog.delete_session(&sha256_hex(session_token)).await?;
        Ok(())
    }

    /// Who the caller is: the user, and for a browser session its CSRF token.
    pub async fn me(&self, actor: &Actor, session_token: Option<&str>) -> Result<SessionView, AppError> {
        let Some(principal) = actor.principal() else { return Err(AppError::Unauthorized) };
        let user = self
            .inner
            .catalog
            .user(principal.user_id)
            .await?
            .ok_or_else(|| AppError::UserNotFound { email: principal.email.clone() })?;
        let session = match (&principal.credential, session_token) {
            (Credential::Session { .. }, Some(token)) => self.inner.catalog.session(&sha256_hex(token)).await?,
            _ => None,
        };
        Ok(SessionView {
            user,
            csrf_token: session.as_ref().map(|s| s.csrf_token.clone()),
            expires_at: session.map(|s| s.expires_at),
        })
    }

    /// Sends a reset link if the email has an account. Always succeeds, so the answer does not tell who has one.
    pub async fn request_password_reset(&self, email: &str) -> Result<(), AppError> {
        let Ok(email) = normalize_email(email) else { return Ok(()) };
        let Some(stored) = self.inner.catalog.user_credentials(&email).await? else {
            tracing::info!("password reset asked for an email without account");
            return Ok(());
        };
        let token = random_token(32);
        let expires_at = Utc::now()
            + chrono::Duration::from_std(self.inner.config.access.reset_ttl).unwrap_or(chrono::Duration::hours(1));
        self.inner.catalog.create_password_reset(&sha256_hex(&token), stored.user.id, expires_at).await?;
        let base = self.inner.config.access.public_url.trim_end_matches('/');
        let minutes = self.inner.config.access.reset_ttl.as_secs() / 60;
        let notice = Notice {
            to: email.clone(),
            subject: "tapwater：重設密碼 / Reset your password".to_string(),
            body: format!(
                "有人（希望是您）要求重設 tapwater 帳號 {email} 的密碼。\n\
                 Someone (hopefully you) asked to reset the password of the tapwater account {email}.\n\n\
                 {base}/reset-password?token={token}\n\n\
                 或以 API / or with the API:\n\
                 POST {base}/api/v1/auth/password-reset/confirm {{\"token\":\"{token}\",\"password\":\"…\"}}\n\n\
                 連結 {minutes} 分鐘內有效，只能使用一次。若您沒有提出要求，請忽略此信。\n\
                 The link works once, for {minutes} minutes. If you did not ask, ignore this message.\n"
            ),
            token: Some(token),
        };
        self.inner.notifier.send(notice).await?;
        self.audit(&Actor::Anonymous, "password.reset_requested", None, Some(format!("user {email}"))).await?;
        Ok(())
    }

    /// Sets a new password with a reset token; ends every session of the user and lifts a lock-out.
    pub async fn confirm_password_reset(&self, token: &str, password: &str) -> Result<(), AppError> {
        let invalid = || {
            AppError::invalid(
                "invalid_token",
                "token",
                "This reset link is unknown, used or expired; ask for a new one.",
                "此重設連結不存在、已使用或已逾期；請重新申請。",
            )
        };
        // Check the length first, so a too-short password does not use up the token.
        check_password(password, "")?;
        let user_id =
            self.inner.catalog.consume_password_reset(&sha256_hex(token), Utc::now()).await?.ok_or_else(invalid)?;
        let user = self.inner.catalog.user(user_id).await?.ok_or_else(invalid)?;
        check_password(password, &user.email)?;
        let hash = hash_password(password.to_string()).await?;
        self.inner.catalog.set_password(user_id, &hash).await?;
        self.audit(&Actor::Anonymous, "password.reset", None, Some(format!("user {}", user.email))).await?;
        Ok(())
    }

    // ------------------------------------------------------------------------------------------ API keys

    /// Creates an API key for the signed-in user (or, for the operator, for `email`).
    pub async fn create_api_key(
        &self,
        actor: &Actor,
        owner_email: Option<&str>,
        name: &str,
        scope: Scope,
    ) -> Result<CreatedKey, AppError> {
        let owner = self.key_owner(actor, owner_email).await?;
        let name = name.trim();
        if name.chars().count() > 100 {
            return Err(AppError::invalid(
                "invalid_parameter",
                "name",
                "A key name has at most 100 characters.",
                "金鑰名稱最多 100 個字元。",
            ));
        }
        let id = random_hex(6);
        let secret = format!("{KEY_PREFIX}{id}_{}", random_token(32));
        let key = ApiKey {
            id: id.clone(),
            name: if name.is_empty() { format!("key {id}") } else { name.to_string() },
            prefix: format!("{KEY_PREFIX}{id}"),
            scope,
            created_at: crate::now_millis(),
            last_used_at: None,
            revoked_at: None,
        };
        self.inner.catalog.create_api_key(owner.id, &key, &sha256_hex(&secret)).await?;
        self.audit(
            actor,
            "key.created",
            None,
            Some(format!("key {} ({}) of {}", key.prefix, scope.as_str(), owner.email)),
        )
        .await?;
        Ok(CreatedKey { key, secret })
    }

    pub async fn list_api_keys(&self, actor: &Actor) -> Result<Vec<ApiKey>, AppError> {
        let owner = self.key_owner(actor, None).await?;
        Ok(self.inner.catalog.list_api_keys(owner.id).await?)
    }

    /// Revokes one of the caller's keys; the next request with it is refused, on every server.
    pub async fn revoke_api_key(&self, actor: &Actor, key_id: &str) -> Result<ApiKey, AppError> {
        let owner = self.key_owner(actor, None).await?;
        let key = self
            .inner
            .catalog
            .revoke_api_key(owner.id, key_id)
            .await?
            .ok_or_else(|| AppError::KeyNotFound { id: key_id.to_string() })?;
        self.audit(actor, "key.revoked", None, Some(format!("key {} of {}", key.prefix, owner.email))).await?;
        Ok(key)
    }

    async fn key_owner(&self, actor: &Actor, email: Option<&str>) -> Result<User, AppError> {
        match (actor, email) {
            (Actor::User(principal), None) => self
                .inner
                .catalog
                .user(principal.user_id)
                .await?
                .ok_or_else(|| AppError::UserNotFound { email: principal.email.clone() }),
            (_, Some(email)) => {
                authorize(actor, Action::SiteAdministration)?;
                self.user_by_email(email).await
            }
            (Actor::Anonymous, None) => Err(AppError::Unauthorized),
            // The admin token and the operator have no keys of their own.
            (_, None) => Err(AppError::invalid(
                "invalid_parameter",
                "email",
                "Name the user whose key this is.",
                "請指定金鑰所屬的使用者。",
            )),
        }
    }

    pub(crate) async fn user_by_email(&self, email: &str) -> Result<User, AppError> {
        let email = normalize_email(email)?;
        Ok(self.inner.catalog.user_credentials(&email).await?.ok_or(AppError::UserNotFound { email })?.user)
    }

    // ------------------------------------------------------------------------------------------ administration

    /// Creates an account (site administrators; `tapwater admin create-user` as the operator), optionally with a
    /// role in an organisation or as a site administrator.
    pub async fn create_account(&self, actor: &Actor, input: NewAccount) -> Result<User, AppError> {
        authorize(actor, Action::SiteAdministration)?;
        let email = normalize_email(&input.email)?;
        let role = input.role.as_deref().map(parse_account_role).transpose()?;
        let organisation = match (&role, input.organisation.as_deref().filter(|o| !o.is_empty())) {
            (Some(Some(_)), None) => {
                return Err(AppError::invalid(
                    "invalid_parameter",
                    "organisation",
                    "An organisation role needs the organisation (--org SLUG).",
                    "機關角色需要指定機關（--org SLUG）。",
                ));
            }
            (_, Some(org)) => Some(self.organisation(org).await?.slug),
            (_, None) => None,
        };
        let password_hash = match input.password {
            Some(password) => {
                check_password(&password, &email)?;
                Some(hash_password(password).await?)
            }
            None => None,
        };
        let name = input.name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).unwrap_or_else(|| email.clone());
        let site_admin = matches!(role, Some(None));
        let user =
            self.inner.catalog.create_user(&NewUser { email: email.clone(), name, password_hash, site_admin }).await?;
        let mut detail = format!("user {email}");
        if site_admin {
            detail.push_str(" as site admin");
        }
        self.audit(actor, "user.created", None, Some(detail)).await?;
        if let (Some(Some(role)), Some(org)) = (role, organisation) {
            self.set_member(actor, org.as_str(), &email, role).await?;
        }
        self.inner.catalog.user(user.id).await?.ok_or(AppError::UserNotFound { email })
    }

    pub async fn list_users(&self, actor: &Actor) -> Result<Vec<User>, AppError> {
        authorize(actor, Action::SiteAdministration)?;
        Ok(self.inner.catalog.list_users().await?)
    }

    /// Makes a user a site administrator, or not.
    pub async fn set_site_admin(&self, actor: &Actor, email: &str, site_admin: bool) -> Result<User, AppError> {
        authorize(actor, Action::SiteAdministration)?;
        let user = self.user_by_email(email).await?;
        self.inner.catalog.set_site_admin(user.id, site_admin).await?;
        self.audit(actor, "role.changed", None, Some(format!("user {} site admin = {site_admin}", user.email))).await?;
        self.inner.catalog.user(user.id).await?.ok_or_else(|| AppError::UserNotFound { email: email.to_string() })
    }

    pub async fn list_organisations(&self) -> Result<Vec<Publisher>, AppError> {
        Ok(self.inner.catalog.list_publishers().await?)
    }

    pub async fn organisation(&self, slug: &str) -> Result<Publisher, AppError> {
        let parsed =
            parse_slug(slug, "organisation").map_err(|_| AppError::OrganisationNotFound { slug: slug.into() })?;
        self.inner
            .catalog
            .get_publisher(&parsed)
            .await?
            .ok_or_else(|| AppError::OrganisationNotFound { slug: slug.into() })
    }

    /// Creates an organisation (an agency); site administrators only.
    pub async fn create_organisation(&self, actor: &Actor, slug: &str, name: &str) -> Result<Publisher, AppError> {
        authorize(actor, Action::SiteAdministration)?;
        let parsed = parse_slug(slug, "slug")?;
        if self.inner.catalog.get_publisher(&parsed).await?.is_some() {
            return Err(AppError::OrganisationExists { slug: slug.to_string() });
        }
        let name = name.trim();
        let publisher = self.inner.catalog.ensure_publisher(&parsed, if name.is_empty() { slug } else { name }).await?;
        self.audit(actor, "organisation.created", None, Some(format!("organisation {slug}"))).await?;
        Ok(publisher)
    }

    /// Members of an organisation (its org admins and site administrators).
    pub async fn members(&self, actor: &Actor, organisation: &str) -> Result<Vec<Member>, AppError> {
        let org = self.organisation(organisation).await?;
        authorize(actor, Action::ManageOrganisation(org.slug.as_str()))?;
        Ok(self
            .inner
            .catalog
            .members(&org.slug)
            .await?
            .into_iter()
            .map(|(email, role)| Member { email, role })
            .collect())
    }

    /// Gives a user a role in an organisation (replacing the one held there).
    pub async fn set_member(&self, actor: &Actor, organisation: &str, email: &str, role: Role) -> Result<(), AppError> {
        let org = self.organisation(organisation).await?;
        authorize(actor, Action::ManageOrganisation(org.slug.as_str()))?;
        let user = self.user_by_email(email).await?;
        self.inner.catalog.set_membership(user.id, &org.slug, role).await?;
        self.audit(
            actor,
            "role.changed",
            None,
            Some(format!("user {} is {} of {}", user.email, role.as_str(), org.slug)),
        )
        .await?;
        Ok(())
    }

    pub async fn remove_member(&self, actor: &Actor, organisation: &str, email: &str) -> Result<(), AppError> {
        let org = self.organisation(organisation).await?;
        authorize(actor, Action::ManageOrganisation(org.slug.as_str()))?;
        let user = self.user_by_email(email).await?;
        if !self.inner.catalog.remove_membership(user.id, &org.slug).await? {
            return Err(AppError::UserNotFound { email: user.email });
        }
        self.audit(actor, "role.changed", None, Some(format!("user {} removed from {}", user.email, org.slug))).await?;
        Ok(())
    }

    /// Removes expired sessions and reset tokens (run periodically by servers).
    pub async fn expire_sessions(&self) -> Result<u64, AppError> {
        Ok(self.inner.catalog.delete_expired_sessions(Utc::now()).await?)
    }
}

fn actor_of(user: User, credential: Credential) -> Actor {
    Actor::User(Arc::new(Principal {
        user_id: user.id,
        email: user.email,
        site_admin: user.site_admin,
        memberships: user.memberships,
        credential,
    }))
}

fn seconds_until(until: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    u64::try_from((until - now).num_seconds()).unwrap_or(0).max(1)
}
