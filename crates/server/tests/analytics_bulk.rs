//! A bulk load (a restore, a backfill) leaves far more distinct-referrer marks than one
//! scheduler round normally folds. On SQLite they are folded in batches, each its own write
//! transaction, so visits are not locked out: the counts must come out exactly as if
//! folded at once, on both backends.

use bouquet_server::testing::{TestDb, assert_platform_sums_match_facts, seed};
use chrono::{Duration, Utc};

async fn marks_left(url: &str) -> i64 {
    if url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query_scalar("SELECT COUNT(*) FROM analytics_referrer_new").fetch_one(&pool).await.unwrap()
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query_scalar("SELECT COUNT(*) FROM analytics_referrer_new").fetch_one(&pool).await.unwrap()
    }
}

async fn a_bulk_load_folds_to_the_same_counts(db: TestDb) {
    let store = db.open().await;
    seed::load(&db.url, 30_000).await.unwrap();
    let marks = marks_left(&db.url).await;
    assert!(marks > 40_000, "enough marks for several of SQLite's batches of 20,000: {marks}");
    store.rebuild_analytics_days().await.unwrap();
    assert_eq!(marks_left(&db.url).await, 0, "every mark folded");
    let now = Utc::now();
    assert_platform_sums_match_facts(&store, now - Duration::days(366), now).await;
}

#[tokio::test]
async fn a_bulk_load_folds_to_the_same_counts_on_sqlite() {
    a_bulk_load_folds_to_the_same_counts(TestDb::sqlite()).await;
}

#[tokio::test]
async fn a_bulk_load_folds_to_the_same_counts_on_postgres() {
    if let Some(db) = TestDb::postgres().await {
        a_bulk_load_folds_to_the_same_counts(db).await;
    }
}
