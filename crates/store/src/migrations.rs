//! The catalog's migrations, embedded in the binary.
//!
//! Each step exists twice, once per database dialect, under the same file name in `migrations/sqlite/` and
//! `migrations/postgres/`. They are embedded with `include_str!` rather than `sqlx::migrate!`, which would pull in
//! SQLx's proc-macro crate (and with it a second build of every database driver); a test checks that [`STEPS`]
//! lists exactly the files in both directories.

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::DbKind;

/// One migration step: version, description (the file is `{version:04}_{description}.sql`), SQLite SQL, PostgreSQL SQL.
struct Step {
    version: i64,
    description: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

macro_rules! step {
    ($version:literal, $description:literal, $file:literal) => {
        Step {
            version: $version,
            description: $description,
            sqlite: include_str!(concat!("../migrations/sqlite/", $file)),
            postgres: include_str!(concat!("../migrations/postgres/", $file)),
        }
    };
}

/// Every step, oldest first. Never edit a step that has shipped: SQLx refuses to start on a database whose applied
/// migration's checksum differs. Add a new step instead.
const STEPS: &[Step] = &[
    step!(1, "catalog", "0001_catalog.sql"),
    step!(2, "pipelines", "0002_pipelines.sql"),
    step!(3, "sources", "0003_sources.sql"),
    step!(4, "access", "0004_access.sql"),
    step!(5, "quality", "0005_quality.sql"),
];

/// The migrator for one kind of database.
pub(crate) fn migrator(kind: DbKind) -> Migrator {
    let migrations = STEPS
        .iter()
        .map(|step| {
            let sql = match kind {
                DbKind::Sqlite => step.sqlite,
                DbKind::Postgres => step.postgres,
            };
            Migration::new(
                step.version,
                Cow::Borrowed(step.description),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files_in(dialect: &str) -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(dialect);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn both_dialects_have_the_same_steps_and_all_are_embedded() {
        let embedded: Vec<String> =
            STEPS.iter().map(|step| format!("{:04}_{}.sql", step.version, step.description)).collect();
        assert_eq!(files_in("sqlite"), embedded, "migrations/sqlite differs from STEPS");
        assert_eq!(files_in("postgres"), embedded, "migrations/postgres differs from STEPS");
    }

    #[test]
    fn versions_increase() {
        assert!(STEPS.windows(2).all(|pair| pair[0].version < pair[1].version));
        assert_eq!(migrator(DbKind::Sqlite).iter().count(), STEPS.len());
    }
}
