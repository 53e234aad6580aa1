//! Test support: throwaway PostgreSQL databases.
//!
//! Tests that need PostgreSQL read an admin URL from `TAPWATER_TEST_POSTGRES_URL` and create a fresh database per
//! test, so tests run in parallel without seeing each other's data.

use sqlx::{AnyConnection, AssertSqlSafe, Connection, Executor};
use url::Url;

use crate::StoreError;

/// Creates an empty database `tapwater_test_<16 hex digits>` through `admin_url` (a URL of a user allowed to
/// `CREATE DATABASE`) and returns the URL of the new database: `admin_url` with its path replaced.
pub async fn fresh_postgres_database(admin_url: &str) -> Result<String, StoreError> {
    sqlx::any::install_default_drivers();
    let mut url = Url::parse(admin_url).map_err(|e| StoreError::InvalidUrl(format!("admin URL: {e}")))?;
    let name = format!("tapwater_test_{:016x}", rand::random::<u64>());
    let mut conn = AnyConnection::connect(admin_url).await?;
    // The name is ours (letters, digits, underscore), so formatting it into the statement is safe.
    conn.execute(AssertSqlSafe(format!("CREATE DATABASE {name}"))).await?;
    conn.close().await?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

/// Drops a database made by [`fresh_postgres_database`], closing any connection still open to it.
pub async fn drop_postgres_database(admin_url: &str, database_url: &str) -> Result<(), StoreError> {
    sqlx::any::install_default_drivers();
    let url = Url::parse(database_url).map_err(|e| StoreError::InvalidUrl(format!("database URL: {e}")))?;
    let name = url.path().trim_start_matches('/');
    if !name.starts_with("tapwater_test_") || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(StoreError::Invalid(format!("refusing to drop {name:?}: not a test database")));
    }
    let mut conn = AnyConnection::connect(admin_url).await?;
    conn.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).await?;
    conn.close().await?;
    Ok(())
}
