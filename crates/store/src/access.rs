//! Access in the catalog: users and their organisation memberships, browser sessions, password-reset tokens, API
//! keys, the access level of each dataset, access applications (grants), the hash-chained audit log, usage meters
//! and token buckets shared by several servers.
//!
//! Secrets arrive here already hashed (`tapwater-app` hashes passwords with argon2id and tokens with SHA-256); this
//! module never sees a password or a key in clear.
//!
//! The audit log is a hash chain: each entry stores the SHA-256 of its own fields and of the previous entry's hash
//! ([`audit_entry_hash`]). Appends are serialized — SQLite's write lock (`BEGIN IMMEDIATE`), a PostgreSQL table lock
//! that lets readers through but admits one appender at a time — so the chain stays linear when several processes
//! append at once. [`Catalog::verify_audit`] walks the chain and names the first entry that does not fit.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use tapwater_types::{
    AccessApplication, AccessLevel, ApiKey, ApplicationStatus, AuditEntry, Membership, Publisher, Role, Scope, Slug,
    User,
};

use super::{
    Catalog, DbKind, IN_LIST_CHUNK, is_unique_violation, parse_access, parse_slug, publisher_id, to_i64, to_u64,
};
use crate::{StoreError, time};

/// The `prev_hash` of the first audit entry.
pub const AUDIT_GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Entries read per page when verifying or exporting the audit log.
const AUDIT_PAGE: i64 = 1000;

/// An account to create. The password is hashed already (or absent: the user sets one by reset).
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub password_hash: Option<String>,
    pub site_admin: bool,
}

/// What sign-in needs to know about a user.
#[derive(Debug, Clone, PartialEq)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: Option<String>,
    pub failed_sign_ins: i64,
    pub locked_until: Option<DateTime<Utc>>,
}

/// A stored browser session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    pub id: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// Who may see a dataset and read its rows, in one small read.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetAccess {
    pub dataset_id: i64,
    pub slug: String,
    /// The owning organisation's slug.
    pub publisher: Option<String>,
    pub level: AccessLevel,
    pub draft: bool,
}

/// An audit entry to append; time, sequence number and hashes are added by [`Catalog::append_audit`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditRecord {
    pub actor: String,
    pub action: String,
    pub dataset: Option<String>,
    pub version: Option<i64>,
    pub query: Option<String>,
    pub row_count: Option<u64>,
    pub outcome: String,
    pub detail: Option<String>,
}

/// The result of walking the audit chain.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditVerdict {
    /// Entries checked.
    pub entries: u64,
    /// The first entry that does not fit the chain and why, or `None` when the chain is intact.
    pub first_broken: Option<(i64, String)>,
}

/// Usage of one subject on one dataset on one day (UTC), to be added to what is stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UsageRow {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// `key:<id>`, `user:<id>` or `anonymous`.
    pub subject: String,
    pub dataset: String,
    pub requests: u64,
    pub rows: u64,
    pub bytes: u64,
}

/// The SHA-256 (hex) that chains an audit entry: over its fields, in a fixed order, and the previous hash.
///
/// The fields are serialized as one JSON array, so no separator inside a value (a query holding `|`, say) can make
/// two different entries hash alike.
pub fn audit_entry_hash(entry: &AuditEntry) -> String {
    let canonical = serde_json::json!([
        entry.seq,
        time::format(entry.at),
        entry.actor,
        entry.action,
        entry.dataset,
        entry.version,
        entry.query,
        entry.row_count,
        entry.outcome,
        entry.detail,
        entry.prev_hash,
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

fn optional_time(row: &AnyRow, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    row.try_get::<Option<String>, _>(column)?.map(|t| time::parse(&t)).transpose()
}

fn parse_role(text: &str) -> Result<Role, StoreError> {
    Role::parse(text).ok_or_else(|| StoreError::Corrupt(format!("unknown role {text:?}")))
}

fn user_from_row(row: &AnyRow) -> Result<User, StoreError> {
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        site_admin: row.try_get::<i64, _>("site_admin")? != 0,
        memberships: Vec::new(),
        created_at: time::parse(&row.try_get::<String, _>("created_at")?)?,
        locked_until: optional_time(row, "locked_until")?,
    })
}

fn key_from_row(row: &AnyRow) -> Result<ApiKey, StoreError> {
    let scope: String = row.try_get("scope")?;
    Ok(ApiKey {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        prefix: row.try_get("prefix")?,
        scope: Scope::parse(&scope).ok_or_else(|| StoreError::Corrupt(format!("unknown key scope {scope:?}")))?,
        created_at: time::parse(&row.try_get::<String, _>("created_at")?)?,
        last_used_at: optional_time(row, "last_used_at")?,
        revoked_at: optional_time(row, "revoked_at")?,
    })
}

const APPLICATION_COLUMNS: &str = "a.id, d.slug AS dataset_slug, u.email AS applicant, a.purpose, a.status, a.reason, \
     a.decided_by, a.decided_at, a.expires_at, a.created_at \
     FROM access_applications a JOIN datasets d ON d.id = a.dataset_id JOIN users u ON u.id = a.user_id";

fn application_from_row(row: &AnyRow) -> Result<AccessApplication, StoreError> {
    let status: String = row.try_get("status")?;
    Ok(AccessApplication {
        id: row.try_get("id")?,
        dataset: row.try_get("dataset_slug")?,
        applicant: row.try_get("applicant")?,
        purpose: row.try_get("purpose")?,
        status: ApplicationStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown application status {status:?}")))?,
        reason: row.try_get("reason")?,
        decided_by: row.try_get("decided_by")?,
        decided_at: optional_time(row, "decided_at")?,
        expires_at: optional_time(row, "expires_at")?,
        created_at: time::parse(&row.try_get::<String, _>("created_at")?)?,
    })
}

const AUDIT_COLUMNS: &str =
    "seq, at, actor, action, dataset, version_seq, query, row_count, outcome, detail, prev_hash, hash FROM audit_log";

fn audit_from_row(row: &AnyRow) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        seq: row.try_get("seq")?,
        at: time::parse(&row.try_get::<String, _>("at")?)?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        dataset: row.try_get("dataset")?,
        version: row.try_get("version_seq")?,
        query: row.try_get("query")?,
        row_count: row.try_get::<Option<i64>, _>("row_count")?.map(|n| to_u64(n, "audit row count")).transpose()?,
        outcome: row.try_get("outcome")?,
        detail: row.try_get("detail")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

async fn memberships_of(conn: &mut AnyConnection, user_id: i64) -> Result<Vec<Membership>, StoreError> {
    let rows = sqlx::query(
        "SELECT p.slug, m.role FROM memberships m JOIN publishers p ON p.id = m.publisher_id \
         WHERE m.user_id = $1 ORDER BY p.slug",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Membership { organisation: row.try_get("slug")?, role: parse_role(&row.try_get::<String, _>("role")?)? })
        })
        .collect()
}

impl Catalog {
    // ------------------------------------------------------------------------------------------ users

    /// Creates an account. `Conflict` when the email is taken.
    pub async fn create_user(&self, new: &NewUser) -> Result<User, StoreError> {
        let now = time::format(time::now());
        let inserted = sqlx::query(
            "INSERT INTO users (email, name, password_hash, site_admin, failed_sign_ins, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 0, $5, $5) RETURNING id",
        )
        .bind(new.email.as_str())
        .bind(new.name.as_str())
        .bind(new.password_hash.clone())
        .bind(i64::from(new.site_admin))
        .bind(now)
        .fetch_one(&self.pool)
        .await;
        let id: i64 = match inserted {
            Ok(row) => row.try_get("id")?,
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict { what: format!("user {}", new.email) });
            }
            Err(e) => return Err(e.into()),
        };
        self.user(id).await?.ok_or_else(|| StoreError::Database(format!("user {id} vanished while being created")))
    }

    /// A user with memberships, by id.
    pub async fn user(&self, id: i64) -> Result<Option<User>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let Some(row) =
            sqlx::query("SELECT id, email, name, site_admin, created_at, locked_until FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?
        else {
            return Ok(None);
        };
        let mut user = user_from_row(&row)?;
        user.memberships = memberships_of(&mut conn, id).await?;
        Ok(Some(user))
    }

    /// A user with the fields sign-in needs, by (lowercased) email.
    pub async fn user_credentials(&self, email: &str) -> Result<Option<UserCredentials>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let Some(row) = sqlx::query(
            "SELECT id, email, name, site_admin, created_at, locked_until, password_hash, failed_sign_ins \
             FROM users WHERE email = $1",
        )
        .bind(email)
        .fetch_optional(&mut *conn)
        .await?
        else {
            return Ok(None);
        };
        let mut user = user_from_row(&row)?;
        user.memberships = memberships_of(&mut conn, user.id).await?;
        Ok(Some(UserCredentials {
            password_hash: row.try_get("password_hash")?,
            failed_sign_ins: row.try_get("failed_sign_ins")?,
            locked_until: user.locked_until,
            user,
        }))
    }

    /// Every user, by email, with memberships.
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rows =
            sqlx::query("SELECT id, email, name, site_admin, created_at, locked_until FROM users ORDER BY email")
                .fetch_all(&mut *conn)
                .await?;
        let mut users = rows.iter().map(user_from_row).collect::<Result<Vec<_>, _>>()?;
        for user in &mut users {
            user.memberships = memberships_of(&mut conn, user.id).await?;
        }
        Ok(users)
    }

    /// Counts a failed sign-in; at `max_failures` consecutive failures the account is locked until `lock_until`
    /// and the count starts again. Returns the lock, if one is now set. One statement, so concurrent failures from
    /// several servers all count.
    pub async fn record_failed_sign_in(
        &self,
        user_id: i64,
        max_failures: i64,
        lock_until: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = sqlx::query(
            "UPDATE users SET \
               locked_until = CASE WHEN failed_sign_ins + 1 >= $2 THEN $3 ELSE locked_until END, \
               failed_sign_ins = CASE WHEN failed_sign_ins + 1 >= $2 THEN 0 ELSE failed_sign_ins + 1 END \
             WHERE id = $1 RETURNING locked_until",
        )
        .bind(user_id)
        .bind(max_failures)
        .bind(time::format(lock_until))
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok(optional_time(&row, "locked_until")?.filter(|t| *t >= time::to_millis(lock_until))),
            None => Ok(None),
        }
    }

    /// A successful sign-in clears the failure count and any expired lock.
    pub async fn record_sign_in(&self, user_id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET failed_sign_ins = 0, locked_until = NULL WHERE id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Sets a new password hash, ends every session of the user and lifts a lock-out.
    pub async fn set_password(&self, user_id: i64, password_hash: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE users SET password_hash = $1, failed_sign_ins = 0, locked_until = NULL, updated_at = $2 \
             WHERE id = $3",
        )
        .bind(password_hash)
        .bind(time::format(time::now()))
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: format!("user {user_id}") });
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_site_admin(&self, user_id: i64, site_admin: bool) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET site_admin = $1, updated_at = $2 WHERE id = $3")
            .bind(i64::from(site_admin))
            .bind(time::format(time::now()))
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ------------------------------------------------------------------------------------------ organisations

    /// Every organisation (publisher), by slug.
    pub async fn list_publishers(&self) -> Result<Vec<Publisher>, StoreError> {
        let rows = sqlx::query("SELECT slug, name FROM publishers ORDER BY slug").fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(Publisher { slug: parse_slug(&row.try_get::<String, _>("slug")?)?, name: row.try_get("name")? })
            })
            .collect()
    }

    pub async fn get_publisher(&self, slug: &Slug) -> Result<Option<Publisher>, StoreError> {
        let row = sqlx::query("SELECT slug, name FROM publishers WHERE slug = $1")
            .bind(slug.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(Publisher { slug: parse_slug(&row.try_get::<String, _>("slug")?)?, name: row.try_get("name")? })
        })
        .transpose()
    }

    /// Gives `user_id` the role `role` in `organisation` (replacing the one held there). `NotFound` for an unknown
    /// organisation.
    pub async fn set_membership(&self, user_id: i64, organisation: &Slug, role: Role) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let publisher = publisher_id(&mut tx, organisation).await?;
        sqlx::query("DELETE FROM memberships WHERE user_id = $1 AND publisher_id = $2")
            .bind(user_id)
            .bind(publisher)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO memberships (user_id, publisher_id, role, created_at) VALUES ($1, $2, $3, $4)")
            .bind(user_id)
            .bind(publisher)
            .bind(role.as_str())
            .bind(time::format(time::now()))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a membership; `false` if there was none.
    pub async fn remove_membership(&self, user_id: i64, organisation: &Slug) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM memberships WHERE user_id = $1 AND publisher_id = (SELECT id FROM publishers WHERE slug = $2)",
        )
        .bind(user_id)
        .bind(organisation.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Members of an organisation: (email, role), by email.
    pub async fn members(&self, organisation: &Slug) -> Result<Vec<(String, Role)>, StoreError> {
        let rows = sqlx::query(
            "SELECT u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id \
             JOIN publishers p ON p.id = m.publisher_id WHERE p.slug = $1 ORDER BY u.email",
        )
        .bind(organisation.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| Ok((row.try_get("email")?, parse_role(&row.try_get::<String, _>("role")?)?))).collect()
    }

    // ------------------------------------------------------------------------------------------ sessions

    pub async fn create_session(&self, token_hash: &str, session: &SessionRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, id, user_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(session.id.as_str())
        .bind(session.user_id)
        .bind(session.csrf_token.as_str())
        .bind(time::format(time::now()))
        .bind(time::format(session.expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn session(&self, token_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query("SELECT id, user_id, csrf_token, expires_at FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(SessionRecord {
                id: row.try_get("id")?,
                user_id: row.try_get("user_id")?,
                csrf_token: row.try_get("csrf_token")?,
                expires_at: time::parse(&row.try_get::<String, _>("expires_at")?)?,
            })
        })
        .transpose()
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.pool).await?;
        Ok(())
    }

    /// Removes sessions and reset tokens that have expired; returns how many sessions went.
    pub async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let now = time::format(now);
        let done =
            sqlx::query("DELETE FROM sessions WHERE expires_at < $1").bind(now.as_str()).execute(&self.pool).await?;
        sqlx::query("DELETE FROM password_resets WHERE expires_at < $1").bind(now.as_str()).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    // ------------------------------------------------------------------------------------------ password resets

    pub async fn create_password_reset(
        &self,
        token_hash: &str,
        user_id: i64,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(time::format(time::now()))
        .bind(time::format(expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks a reset token used and returns its user, if it exists, is unused and has not expired. One statement,
    /// so a token works exactly once even when two requests race with it.
    pub async fn consume_password_reset(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let now = time::format(now);
        let row = sqlx::query(
            "UPDATE password_resets SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
             RETURNING user_id",
        )
        .bind(now)
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| row.try_get("user_id")).transpose()?)
    }

    // ------------------------------------------------------------------------------------------ API keys

    pub async fn create_api_key(&self, user_id: i64, key: &ApiKey, key_hash: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO api_keys (id, user_id, name, prefix, key_hash, scope, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(key.id.as_str())
        .bind(user_id)
        .bind(key.name.as_str())
        .bind(key.prefix.as_str())
        .bind(key_hash)
        .bind(key.scope.as_str())
        .bind(time::format(key.created_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The key with this hash and its owner's id, revoked or not.
    pub async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<(ApiKey, i64)>, StoreError> {
        let row = sqlx::query(
            "SELECT id, user_id, name, prefix, scope, created_at, last_used_at, revoked_at FROM api_keys \
             WHERE key_hash = $1",
        )
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| Ok((key_from_row(&row)?, row.try_get("user_id")?))).transpose()
    }

    /// The keys of a user, newest first.
    pub async fn list_api_keys(&self, user_id: i64) -> Result<Vec<ApiKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, prefix, scope, created_at, last_used_at, revoked_at FROM api_keys WHERE user_id = $1 \
             ORDER BY created_at DESC, id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(key_from_row).collect()
    }

    /// Revokes a key of `user_id`; `None` if the user has no such key. Revoking twice keeps the first time.
    pub async fn revoke_api_key(&self, user_id: i64, key_id: &str) -> Result<Option<ApiKey>, StoreError> {
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
            .bind(time::format(time::now()))
            .bind(key_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        let row = sqlx::query(
            "SELECT id, name, prefix, scope, created_at, last_used_at, revoked_at FROM api_keys \
             WHERE id = $1 AND user_id = $2",
        )
        .bind(key_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| key_from_row(&row)).transpose()
    }

    /// Records when keys were last used (batched by the usage meter).
    pub async fn touch_api_keys(&self, key_ids: &[String], at: DateTime<Utc>) -> Result<(), StoreError> {
        let at = time::format(at);
        for chunk in key_ids.chunks(IN_LIST_CHUNK) {
            let placeholders: Vec<String> = (2..chunk.len() + 2).map(|i| format!("${i}")).collect();
            let sql = format!("UPDATE api_keys SET last_used_at = $1 WHERE id IN ({})", placeholders.join(", "));
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(at.as_str());
            for id in chunk {
                query = query.bind(id.as_str());
            }
            query.execute(&self.pool).await?;
        }
        Ok(())
    }

    // ------------------------------------------------------------------------------------------ dataset access

    /// The access facts of a dataset, or `None` if it does not exist.
    pub async fn dataset_access(&self, slug: &str) -> Result<Option<DatasetAccess>, StoreError> {
        let row = sqlx::query(
            "SELECT d.id, d.slug, d.access_level, d.draft, p.slug AS publisher_slug FROM datasets d \
             LEFT JOIN publishers p ON p.id = d.publisher_id WHERE d.slug = $1",
        )
        .bind(slug)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(DatasetAccess {
                dataset_id: row.try_get("id")?,
                slug: row.try_get("slug")?,
                publisher: row.try_get("publisher_slug")?,
                level: parse_access(&row.try_get::<String, _>("access_level")?)?,
                draft: row.try_get::<i64, _>("draft")? != 0,
            })
        })
        .transpose()
    }

    // ------------------------------------------------------------------------------------------ applications

    pub async fn create_application(
        &self,
        id: &str,
        dataset_id: i64,
        user_id: i64,
        purpose: &str,
    ) -> Result<AccessApplication, StoreError> {
        sqlx::query(
            "INSERT INTO access_applications (id, dataset_id, user_id, purpose, status, created_at) \
             VALUES ($1, $2, $3, $4, 'pending', $5)",
        )
        .bind(id)
        .bind(dataset_id)
        .bind(user_id)
        .bind(purpose)
        .bind(time::format(time::now()))
        .execute(&self.pool)
        .await?;
        self.application(id).await?.ok_or_else(|| StoreError::Database(format!("application {id} vanished")))
    }

    pub async fn application(&self, id: &str) -> Result<Option<AccessApplication>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {APPLICATION_COLUMNS} WHERE a.id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| application_from_row(&row)).transpose()
    }

    /// Applications for a dataset, or of a user, newest first.
    pub async fn list_applications(
        &self,
        dataset_id: Option<i64>,
        user_id: Option<i64>,
    ) -> Result<Vec<AccessApplication>, StoreError> {
        let mut conditions = Vec::new();
        if dataset_id.is_some() {
            conditions.push("a.dataset_id = $1");
        }
        if user_id.is_some() {
            conditions.push(if dataset_id.is_some() { "a.user_id = $2" } else { "a.user_id = $1" });
        }
        let filter = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
        let sql = format!("SELECT {APPLICATION_COLUMNS}{filter} ORDER BY a.created_at DESC, a.id");
        let mut query = sqlx::query(AssertSqlSafe(sql));
        if let Some(id) = dataset_id {
            query = query.bind(id);
        }
        if let Some(id) = user_id {
            query = query.bind(id);
        }
        query.fetch_all(&self.pool).await?.iter().map(application_from_row).collect()
    }

    /// Moves an application from `from` to `to` with the reviewer's reason; `None` if it was not in state `from`
    /// (decided meanwhile by someone else: compare-and-set, so two reviewers cannot both decide).
    pub async fn decide_application(
        &self,
        id: &str,
        from: ApplicationStatus,
        to: ApplicationStatus,
        reason: Option<&str>,
        decided_by: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<Option<AccessApplication>, StoreError> {
        let done = sqlx::query(
            "UPDATE access_applications SET status = $1, reason = $2, decided_by = $3, decided_at = $4, \
             expires_at = CASE WHEN $1 = 'approved' THEN $5 ELSE expires_at END WHERE id = $6 AND status = $7",
        )
        .bind(to.as_str())
        .bind(reason.map(str::to_string))
        .bind(decided_by)
        .bind(time::format(time::now()))
        .bind(expires_at.map(time::format))
        .bind(id)
        .bind(from.as_str())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.application(id).await
    }

    /// Whether `user_id` holds an approved, unexpired grant on the dataset.
    pub async fn has_grant(&self, dataset_id: i64, user_id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM access_applications WHERE dataset_id = $1 AND user_id = $2 \
             AND status = 'approved' AND (expires_at IS NULL OR expires_at > $3)",
        )
        .bind(dataset_id)
        .bind(user_id)
        .bind(time::format(now))
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    // ------------------------------------------------------------------------------------------ audit log

    /// Appends an entry to the audit chain and returns it with its sequence number and hashes.
    pub async fn append_audit(&self, record: &AuditRecord) -> Result<AuditEntry, StoreError> {
        let mut tx = self.begin_write().await?;
        if self.kind == DbKind::Postgres {
            // SHARE ROW EXCLUSIVE conflicts with itself, so appenders queue one behind the other, while plain
            // SELECTs (export, verify) go on.
            sqlx::query("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE").execute(&mut *tx).await?;
        }
        let last =
            sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetch_optional(&mut *tx).await?;
        let (seq, prev_hash) = match last {
            Some(row) => (row.try_get::<i64, _>("seq")? + 1, row.try_get::<String, _>("hash")?),
            None => (1, AUDIT_GENESIS.to_string()),
        };
        let mut entry = AuditEntry {
            seq,
            at: time::now(),
            actor: record.actor.clone(),
            action: record.action.clone(),
            dataset: record.dataset.clone(),
            version: record.version,
            query: record.query.clone(),
            row_count: record.row_count,
            outcome: record.outcome.clone(),
            detail: record.detail.clone(),
            prev_hash,
            hash: String::new(),
        };
        entry.hash = audit_entry_hash(&entry);
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor, action, dataset, version_seq, query, row_count, outcome, detail, \
             prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(entry.seq)
        .bind(time::format(entry.at))
        .bind(entry.actor.as_str())
        .bind(entry.action.as_str())
        .bind(entry.dataset.clone())
        .bind(entry.version)
        .bind(entry.query.clone())
        .bind(entry.row_count.map(|n| to_i64(n, "audit row count")).transpose()?)
        .bind(entry.outcome.as_str())
        .bind(entry.detail.clone())
        .bind(entry.prev_hash.as_str())
        .bind(entry.hash.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(entry)
    }

    /// Up to `limit` audit entries after `after_seq`, in order, optionally only those about `datasets`.
    pub async fn audit_entries(
        &self,
        after_seq: i64,
        limit: i64,
        datasets: Option<&[String]>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut sql = format!("SELECT {AUDIT_COLUMNS} WHERE seq > $1");
        if let Some(datasets) = datasets {
            if datasets.is_empty() {
                return Ok(Vec::new());
            }
            let placeholders: Vec<String> =
                (3..datasets.len().min(IN_LIST_CHUNK) + 3).map(|i| format!("${i}")).collect();
            sql.push_str(&format!(" AND dataset IN ({})", placeholders.join(", ")));
        }
        sql.push_str(" ORDER BY seq LIMIT $2");
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(after_seq).bind(limit);
        for dataset in datasets.unwrap_or_default().iter().take(IN_LIST_CHUNK) {
            query = query.bind(dataset.as_str());
        }
        query.fetch_all(&self.pool).await?.iter().map(audit_from_row).collect()
    }

    /// Walks the whole chain: sequence numbers without gaps from 1, each `prev_hash` equal to the hash before, each
    /// hash equal to the hash of the entry's fields.
    pub async fn verify_audit(&self) -> Result<AuditVerdict, StoreError> {
        let mut checked = 0u64;
        let mut expected_seq = 1i64;
        let mut prev = AUDIT_GENESIS.to_string();
        loop {
            let page = self.audit_entries(expected_seq - 1, AUDIT_PAGE, None).await?;
            if page.is_empty() {
                return Ok(AuditVerdict { entries: checked, first_broken: None });
            }
            for entry in page {
                let broken = |why: String| Ok(AuditVerdict { entries: checked, first_broken: Some((entry.seq, why)) });
                if entry.seq != expected_seq {
                    return broken(format!("entry {expected_seq} is missing (next is {})", entry.seq));
                }
                if entry.prev_hash != prev {
                    return broken("its prev_hash does not match the hash of the entry before".to_string());
                }
                if audit_entry_hash(&entry) != entry.hash {
                    return broken("its content does not match its hash (the entry was edited)".to_string());
                }
                prev = entry.hash.clone();
                expected_seq += 1;
                checked += 1;
            }
        }
    }

    // ------------------------------------------------------------------------------------------ usage

    /// Adds usage counts (one transaction for the batch).
    pub async fn add_usage(&self, rows: &[UsageRow]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for row in rows {
            sqlx::query(
                "INSERT INTO usage_daily (day, subject, dataset, requests, row_count, bytes) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (day, subject, dataset) DO UPDATE SET \
                 requests = usage_daily.requests + excluded.requests, \
                 row_count = usage_daily.row_count + excluded.row_count, bytes = usage_daily.bytes + excluded.bytes",
            )
            .bind(row.day.as_str())
            .bind(row.subject.as_str())
            .bind(row.dataset.as_str())
            .bind(to_i64(row.requests, "requests")?)
            .bind(to_i64(row.rows, "rows")?)
            .bind(to_i64(row.bytes, "bytes")?)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Stored usage of the given subjects (all subjects when `None`) from day `since` on, by day then dataset.
    pub async fn usage(&self, subjects: Option<&[String]>, since: &str) -> Result<Vec<UsageRow>, StoreError> {
        let mut sql =
            "SELECT day, subject, dataset, requests, row_count, bytes FROM usage_daily WHERE day >= $1".to_string();
        if let Some(subjects) = subjects {
            if subjects.is_empty() {
                return Ok(Vec::new());
            }
            let placeholders: Vec<String> =
                (2..subjects.len().min(IN_LIST_CHUNK) + 2).map(|i| format!("${i}")).collect();
            sql.push_str(&format!(" AND subject IN ({})", placeholders.join(", ")));
        }
        sql.push_str(" ORDER BY day, dataset, subject");
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(since);
        for subject in subjects.unwrap_or_default().iter().take(IN_LIST_CHUNK) {
            query = query.bind(subject.as_str());
        }
        query
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                Ok(UsageRow {
                    day: row.try_get("day")?,
                    subject: row.try_get("subject")?,
                    dataset: row.try_get("dataset")?,
                    requests: to_u64(row.try_get("requests")?, "requests")?,
                    rows: to_u64(row.try_get("row_count")?, "rows")?,
                    bytes: to_u64(row.try_get("bytes")?, "bytes")?,
                })
            })
            .collect()
    }

    // ------------------------------------------------------------------------------------------ rate buckets

    /// Takes one token from the shared bucket `bucket` (capacity `burst`, refilled at `per_ms` tokens per
    /// millisecond) in one atomic upsert, so any number of servers on this database share one budget. Returns
    /// whether the request is allowed and the tokens left.
    ///
    /// `now_ms` comes from the calling process; servers' clocks within a few milliseconds of each other change a
    /// per-minute budget by a few milliseconds' worth of tokens.
    pub async fn take_rate_token(
        &self,
        bucket: &str,
        burst: f64,
        per_ms: f64,
        now_ms: i64,
    ) -> Result<(bool, f64), StoreError> {
        // The refilled level, capped at the burst; a clock that went backwards refills nothing.
        let refill = "(CASE WHEN $3 > rate_buckets.refreshed_ms THEN \
              (CASE WHEN rate_buckets.tokens + ($3 - rate_buckets.refreshed_ms) * $4 > $2 THEN $2 \
               ELSE rate_buckets.tokens + ($3 - rate_buckets.refreshed_ms) * $4 END) \
            ELSE rate_buckets.tokens END)";
        let sql = format!(
            "INSERT INTO rate_buckets (bucket, tokens, refreshed_ms, allowed) VALUES ($1, $2 - 1, $3, 1) \
             ON CONFLICT (bucket) DO UPDATE SET \
               allowed = CASE WHEN {refill} >= 1 THEN 1 ELSE 0 END, \
               tokens = CASE WHEN {refill} >= 1 THEN {refill} - 1 ELSE {refill} END, \
               refreshed_ms = CASE WHEN $3 > rate_buckets.refreshed_ms THEN $3 ELSE rate_buckets.refreshed_ms END \
             RETURNING tokens, allowed"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(bucket)
            .bind(burst)
            .bind(now_ms)
            .bind(per_ms)
            .fetch_one(&self.pool)
            .await?;
        Ok((row.try_get::<i64, _>("allowed")? != 0, row.try_get::<f64, _>("tokens")?))
    }

    /// Drops buckets untouched since `before_ms` (they would be full again anyway).
    pub async fn prune_rate_buckets(&self, before_ms: i64) -> Result<u64, StoreError> {
        let done =
            sqlx::query("DELETE FROM rate_buckets WHERE refreshed_ms < $1").bind(before_ms).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }
}
