//! The schema's migrations, for either database. Append-only: a released migration is
//! never edited (its checksum is recorded in every database it ran on).
//!
//! - `migrations/server/NNNN_name.sql`: written **once** for both databases, in the SQL
//!   they share, with the column types that differ written as placeholders that
//!   [`render`] replaces: `${uuid}`, `${time}` (an instant), `${date}` and `${bool}`.
//!   Integers are `BIGINT` (SQLite's INTEGER affinity; PostgreSQL's `int8`, which is what
//!   the store decodes), text is `TEXT`, JSON is `TEXT` on both. Add each new file to
//!   [`SHARED`]; a test checks the folder and the list agree.
//! - `migrations/server-sqlite/` and `migrations/server-postgres/`: what cannot be shared
//!   (the first two migrations, written before the shared folder existed, and triggers or
//!   functions, whose languages differ). Such a migration takes the same version number in
//!   both folders.

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AssertSqlSafe, SqlSafeStr};

use super::db::Dialect;

/// The shared migrations: version, description, text.
const SHARED: &[(i64, &str, &str)] = &[
    (3, "rewards", include_str!("../../../../migrations/server/0003_rewards.sql")),
    (4, "campaigns", include_str!("../../../../migrations/server/0004_campaigns.sql")),
    (5, "experiments", include_str!("../../../../migrations/server/0005_experiments.sql")),
    (6, "fraud", include_str!("../../../../migrations/server/0006_fraud.sql")),
    (7, "analytics indexes", include_str!("../../../../migrations/server/0007_analytics_indexes.sql")),
    (8, "recommendations", include_str!("../../../../migrations/server/0008_recommendations.sql")),
    (9, "analytics days", include_str!("../../../../migrations/server/0009_analytics_days.sql")),
    (11, "analytics referrers", include_str!("../../../../migrations/server/0011_analytics_referrers.sql")),
    (13, "invitation email", include_str!("../../../../migrations/server/0013_invitation_email.sql")),
    (14, "webhooks", include_str!("../../../../migrations/server/0014_webhooks.sql")),
    (15, "notifications", include_str!("../../../../migrations/server/0015_notifications.sql")),
    (16, "sign in links", include_str!("../../../../migrations/server/0016_sign_in_links.sql")),
    (17, "friend recommendations", include_str!("../../../../migrations/server/0017_friend_recommendations.sql")),
    (18, "account locale", include_str!("../../../../migrations/server/0018_account_locale.sql")),
    (19, "notification notice", include_str!("../../../../migrations/server/0019_notification_notice.sql")),
    (20, "friend recommendation address", include_str!("../../../../migrations/server/0020_friend_recommendation_address.sql")),
    (21, "sign in failures", include_str!("../../../../migrations/server/0021_sign_in_failures.sql")),
    (22, "account deletion", include_str!("../../../../migrations/server/0022_account_deletion.sql")),
];

/// The placeholders of shared migrations and what each database calls the type.
const TYPES: &[(&str, &str, &str)] = &[
    // placeholder, SQLite, PostgreSQL
    ("${uuid}", "TEXT", "UUID"),
    ("${time}", "TEXT", "TIMESTAMPTZ"),
    ("${date}", "TEXT", "DATE"),
    ("${bool}", "INTEGER", "BOOLEAN"),
];

/// A shared migration's text for `dialect`. Panics on a placeholder it does not know, so
/// a typo fails every test instead of reaching a database.
pub fn render(sql: &str, dialect: Dialect) -> String {
    let mut out = sql.to_string();
    for (placeholder, sqlite, postgres) in TYPES {
        out = out.replace(placeholder, dialect.pick(sqlite, postgres));
    }
    assert!(!out.contains("${"), "unknown placeholder in a shared migration: {out}");
    out
}

/// Every migration for `dialect`, oldest first.
pub fn for_dialect(dialect: Dialect) -> Migrator {
    let own = match dialect {
        Dialect::Sqlite => sqlx::migrate!("../../migrations/server-sqlite"),
        Dialect::Postgres => sqlx::migrate!("../../migrations/server-postgres"),
    };
    let mut all: Vec<Migration> = own.iter().cloned().collect();
    all.extend(SHARED.iter().map(|&(version, description, sql)| {
        Migration::new(
            version,
            description.into(),
            MigrationType::Simple,
            AssertSqlSafe(render(sql, dialect)).into_sql_str(),
            false,
        )
    }));
    // Per-dialect migrations (triggers) may come after shared ones: one order by version.
    all.sort_by_key(|m| m.version);
    Migrator::with_migrations(all)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    fn versions_in(folder: &str) -> BTreeSet<(i64, String)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations").join(folder);
        std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter_map(|name| {
                        let stem = name.strip_suffix(".sql")?;
                        let (version, description) = stem.split_once('_')?;
                        Some((version.parse().ok()?, description.replace('_', " ")))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn the_shared_folder_and_the_list_agree() {
        let listed: BTreeSet<(i64, String)> = SHARED.iter().map(|&(v, d, _)| (v, d.to_string())).collect();
        assert_eq!(listed, versions_in("server"), "add each migrations/server file to SHARED (version, description)");
    }

    #[test]
    fn every_version_is_either_shared_or_in_both_dialect_folders() {
        let sqlite: BTreeSet<i64> = versions_in("server-sqlite").into_iter().map(|(v, _)| v).collect();
        let postgres: BTreeSet<i64> = versions_in("server-postgres").into_iter().map(|(v, _)| v).collect();
        assert_eq!(sqlite, postgres, "a per-dialect migration needs its twin");
        for (v, _, _) in SHARED {
            assert!(!sqlite.contains(v), "version {v} is both shared and per-dialect");
        }
        let all = for_dialect(Dialect::Postgres);
        let versions: Vec<i64> = all.iter().map(|m| m.version).collect();
        assert!(versions.windows(2).all(|w| w[0] < w[1]), "versions must be unique and ordered: {versions:?}");
    }

    #[test]
    fn placeholders_become_each_databases_types() {
        let sql = "CREATE TABLE t (id ${uuid} PRIMARY KEY, at ${time} NOT NULL, day ${date}, ok ${bool} NOT NULL DEFAULT FALSE, n BIGINT)";
        assert_eq!(
            render(sql, Dialect::Sqlite),
            "CREATE TABLE t (id TEXT PRIMARY KEY, at TEXT NOT NULL, day TEXT, ok INTEGER NOT NULL DEFAULT FALSE, n BIGINT)"
        );
        assert_eq!(
            render(sql, Dialect::Postgres),
            "CREATE TABLE t (id UUID PRIMARY KEY, at TIMESTAMPTZ NOT NULL, day DATE, ok BOOLEAN NOT NULL DEFAULT FALSE, n BIGINT)"
        );
    }

    #[test]
    #[should_panic(expected = "unknown placeholder")]
    fn an_unknown_placeholder_is_caught() {
        render("CREATE TABLE t (id ${uid})", Dialect::Sqlite);
    }
}
