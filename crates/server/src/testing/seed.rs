//! A realistic population of referrals loaded straight into the tables, for benchmarks
//! at sizes no test could reach through the API (10,000 to 1,000,000 referrals in
//! seconds to a minute). Referrers' shares are skewed (a few busy venues, many small
//! suppliers; referrer 0 is the busiest, ~2% of all referrals), 10% of referrers are
//! couples referring suppliers, referrals spread over the last year, 70% visited, 40%
//! signed up, 30% activated, 25% converted, 1% refunded, 2% of sign-ups held by fraud
//! review, a reward per conversion. Every day is left marked for the daily rollup and
//! every distinct-referrer mark unfolded: the scheduler's first round (or
//! `Store::rebuild_analytics_days`) builds them, as in a running server.
//!
//! Ids are `id(kind, n)`: kind 1 an account (referrer), 2 a referral (its code is
//! `BENCH-n`), 3 a touch, 4 an event, 5 a conversion, 6 a reward.

use chrono::Utc;
use uuid::Uuid;

/// A uuid from a number and a kind digit, the same in Rust and in both databases' SQL.
pub fn id(kind: u32, n: u64) -> Uuid {
    Uuid::parse_str(&format!("{kind:08x}-0000-4000-8000-{n:012x}")).unwrap()
}

/// The seeding statements for SQLite, with the numbers written in (they are not user input).
pub fn sqlite_seed(n: u64) -> Vec<String> {
    let r = (n / 50).max(100);
    let epoch = Utc::now().timestamp();
    let t = |s: &str| s.replace("$N", &n.to_string()).replace("$R", &r.to_string()).replace("$EPOCH", &epoch.to_string()).replace("$T0", "'2025-01-01T00:00:00.000000Z'");
    vec![
        t("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $R)
           INSERT INTO accounts (id, kind, email, password_hash, business_name, vendor_type, created_at)
           SELECT printf('00000001-0000-4000-8000-%012x', i), CASE WHEN i % 10 = 9 THEN 'couple' ELSE 'supplier' END,
              'r' || i || '@bench.example', 'x', 'Referrer ' || i, CASE WHEN i % 10 = 9 THEN NULL ELSE 'florist' END, $T0 FROM n"),
        t("CREATE TEMP TABLE seed AS WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $N)
           SELECT i, ((((i * 2654435761) % 1000003) * ((i * 2654435761) % 1000003)) / 1000003) * $R / 1000003 AS r,
              $EPOCH - (i * 7919) % 31536000 AS at FROM n"),
        t("INSERT INTO referrals (id, code, referrer_id, referrer_type, referee_type, method, created_at, expires_at)
           SELECT printf('00000002-0000-4000-8000-%012x', i), 'BENCH-' || i, printf('00000001-0000-4000-8000-%012x', r),
              CASE WHEN r % 10 = 9 THEN 'couple' ELSE 'supplier' END, CASE WHEN r % 10 = 9 THEN 'supplier' ELSE 'couple' END,
              CASE i % 4 WHEN 0 THEN 'email' WHEN 1 THEN 'link' WHEN 2 THEN 'qr' ELSE 'social' END,
              strftime('%Y-%m-%dT%H:%M:%S.000000Z', at, 'unixepoch'), strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 31536000, 'unixepoch')
           FROM seed"),
        t("INSERT INTO platform_users (user_id, kind, email, signed_up_at, activated_at, converted_at, refunded_at)
           SELECT 'u' || i, 'couple', 'u' || i || '@mail.example', strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 86400, 'unixepoch'),
              CASE WHEN i % 10 < 3 THEN strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 2 * 86400, 'unixepoch') END,
              CASE WHEN i % 20 < 5 THEN strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 5 * 86400, 'unixepoch') END,
              CASE WHEN i % 100 = 0 THEN strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 9 * 86400, 'unixepoch') END
           FROM seed WHERE i % 10 < 4"),
        t("INSERT INTO touches (id, referral_id, referrer_id, channel, occurred_at, is_unique, visitor_key, platform_user_id)
           SELECT printf('00000003-0000-4000-8000-%012x', i), printf('00000002-0000-4000-8000-%012x', i), printf('00000001-0000-4000-8000-%012x', r),
              'link', strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 3600, 'unixepoch'), 1, 'v' || i, CASE WHEN i % 10 < 4 THEN 'u' || i END
           FROM seed WHERE i % 10 < 7"),
        t("INSERT INTO events (id, idempotency_key, event_type, occurred_at, received_at, platform_user_id, payload)
           SELECT printf('00000004-0000-4000-8000-%012x', i), 'convert-' || i, 'convert', strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 5 * 86400, 'unixepoch'),
              strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 5 * 86400, 'unixepoch'), 'u' || i, '{}'
           FROM seed WHERE i % 20 < 5"),
        t("INSERT INTO conversions (id, event_id, platform_user_id, referral_id, referrer_id, model, converted_at, time_to_convert_seconds, plan, value_minor, currency)
           SELECT printf('00000005-0000-4000-8000-%012x', i), printf('00000004-0000-4000-8000-%012x', i), 'u' || i,
              printf('00000002-0000-4000-8000-%012x', i), printf('00000001-0000-4000-8000-%012x', r), 'last_touch',
              strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 5 * 86400, 'unixepoch'), 5 * 86400 - 3600, 'professional', 4900, 'GBP'
           FROM seed WHERE i % 20 < 5"),
        t("INSERT INTO rewards (id, holder, account_id, role, amount_minor, currency, status, reason, referral_id, conversion_id, created_at, earned_at, status_at)
           SELECT printf('00000006-0000-4000-8000-%012x', i), printf('00000001-0000-4000-8000-%012x', r), printf('00000001-0000-4000-8000-%012x', r),
              'referrer', 1000, 'CRD', CASE WHEN i % 40 < 5 THEN 'eligible' ELSE 'pending' END, 'bench',
              printf('00000002-0000-4000-8000-%012x', i), printf('00000005-0000-4000-8000-%012x', i),
              strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 5 * 86400, 'unixepoch'), strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 5 * 86400, 'unixepoch'),
              strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 5 * 86400, 'unixepoch')
           FROM seed WHERE i % 20 < 5"),
        t("INSERT INTO fraud_subjects (platform_user_id, referrer_id, referral_id, signed_up_at, score_bp, risk, action, assessed_at)
           SELECT 'u' || i, printf('00000001-0000-4000-8000-%012x', r), printf('00000002-0000-4000-8000-%012x', i),
              strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 86400, 'unixepoch'),
              CASE WHEN i % 200 = 7 THEN 7500 ELSE 0 END, CASE WHEN i % 200 = 7 THEN 'high' ELSE 'low' END,
              CASE WHEN i % 200 = 7 THEN 'hold' ELSE 'approve' END, strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 86400, 'unixepoch')
           FROM seed WHERE i % 10 < 4"),
        "DROP TABLE seed".into(),
        "ANALYZE".into(),
    ]
}

/// The same population on PostgreSQL.
pub fn postgres_seed(n: u64) -> Vec<String> {
    let r = (n / 50).max(100);
    let epoch = Utc::now().timestamp();
    let t = |s: &str| s.replace("$N", &n.to_string()).replace("$R", &r.to_string()).replace("$EPOCH", &epoch.to_string());
    let uid = |kind: u32, col: &str| format!("('{kind:08x}-0000-4000-8000-' || lpad(to_hex({col}), 12, '0'))::uuid");
    let ts = |secs: &str| format!("to_timestamp({secs})");
    vec![
        t(&format!(
            "INSERT INTO accounts (id, kind, email, password_hash, business_name, vendor_type, created_at)
             SELECT {}, CASE WHEN i % 10 = 9 THEN 'couple' ELSE 'supplier' END, 'r' || i || '@bench.example', 'x', 'Referrer ' || i,
                CASE WHEN i % 10 = 9 THEN NULL ELSE 'florist' END, now() FROM generate_series(0, $R - 1) AS g(i)",
            uid(1, "i")
        )),
        t("CREATE TEMP TABLE seed AS SELECT i, ((((i * 2654435761) % 1000003) * ((i * 2654435761) % 1000003)) / 1000003) * $R / 1000003 AS r,
              $EPOCH - (i * 7919) % 31536000 AS at FROM generate_series(0::bigint, $N - 1) AS g(i)"),
        t(&format!(
            "INSERT INTO referrals (id, code, referrer_id, referrer_type, referee_type, method, created_at, expires_at)
             SELECT {}, 'BENCH-' || i, {}, CASE WHEN r % 10 = 9 THEN 'couple' ELSE 'supplier' END, CASE WHEN r % 10 = 9 THEN 'supplier' ELSE 'couple' END,
                (ARRAY['email', 'link', 'qr', 'social'])[i % 4 + 1], {}, {} FROM seed",
            uid(2, "i"),
            uid(1, "r"),
            ts("at"),
            ts("at + 31536000")
        )),
        t(&format!(
            "INSERT INTO platform_users (user_id, kind, email, signed_up_at, activated_at, converted_at, refunded_at)
             SELECT 'u' || i, 'couple', 'u' || i || '@mail.example', {}, CASE WHEN i % 10 < 3 THEN {} END,
                CASE WHEN i % 20 < 5 THEN {} END, CASE WHEN i % 100 = 0 THEN {} END FROM seed WHERE i % 10 < 4",
            ts("at + 86400"),
            ts("at + 2 * 86400"),
            ts("at + 5 * 86400"),
            ts("at + 9 * 86400")
        )),
        t(&format!(
            "INSERT INTO touches (id, referral_id, referrer_id, channel, occurred_at, is_unique, visitor_key, platform_user_id)
             SELECT {}, {}, {}, 'link', {}, TRUE, 'v' || i, CASE WHEN i % 10 < 4 THEN 'u' || i END FROM seed WHERE i % 10 < 7",
            uid(3, "i"),
            uid(2, "i"),
            uid(1, "r"),
            ts("at + 3600")
        )),
        t(&format!(
            "INSERT INTO events (id, idempotency_key, event_type, occurred_at, received_at, platform_user_id, payload)
             SELECT {}, 'convert-' || i, 'convert', {}, {}, 'u' || i, '{{}}' FROM seed WHERE i % 20 < 5",
            uid(4, "i"),
            ts("at + 5 * 86400"),
            ts("at + 5 * 86400")
        )),
        t(&format!(
            "INSERT INTO conversions (id, event_id, platform_user_id, referral_id, referrer_id, model, converted_at, time_to_convert_seconds, plan, value_minor, currency)
             SELECT {}, {}, 'u' || i, {}, {}, 'last_touch', {}, 5 * 86400 - 3600, 'professional', 4900, 'GBP' FROM seed WHERE i % 20 < 5",
            uid(5, "i"),
            uid(4, "i"),
            uid(2, "i"),
            uid(1, "r"),
            ts("at + 5 * 86400")
        )),
        t(&format!(
            "INSERT INTO rewards (id, holder, account_id, role, amount_minor, currency, status, reason, referral_id, conversion_id, created_at, earned_at, status_at)
             SELECT {}, {}, {}, 'referrer', 1000, 'CRD', CASE WHEN i % 40 < 5 THEN 'eligible' ELSE 'pending' END, 'bench', {}, {}, {}, {}, {}
             FROM seed WHERE i % 20 < 5",
            uid(6, "i"),
            uid(1, "r"),
            uid(1, "r"),
            uid(2, "i"),
            uid(5, "i"),
            ts("at + 5 * 86400"),
            ts("at + 5 * 86400"),
            ts("at + 5 * 86400")
        )),
        t(&format!(
            "INSERT INTO fraud_subjects (platform_user_id, referrer_id, referral_id, signed_up_at, score_bp, risk, action, assessed_at)
             SELECT 'u' || i, {}, {}, {}, CASE WHEN i % 200 = 7 THEN 7500 ELSE 0 END, CASE WHEN i % 200 = 7 THEN 'high' ELSE 'low' END,
                CASE WHEN i % 200 = 7 THEN 'hold' ELSE 'approve' END, {} FROM seed WHERE i % 10 < 4",
            uid(1, "r"),
            uid(2, "i"),
            ts("at + 86400"),
            ts("at + 86400")
        )),
        "DROP TABLE seed".into(),
        // Statistics, and the visibility map autovacuum would have set by the time anyone
        // reads bulk-loaded rows: without it every index-only scan visits the heap too.
        "VACUUM ANALYZE".into(),
    ]
}

/// Loads `n` referrals into the (migrated, empty) database at `url`.
pub async fn load(url: &str, n: u64) -> Result<(), sqlx::Error> {
    if url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(url).await?;
        // One connection: the seed table is temporary.
        let mut conn = pool.acquire().await?;
        for statement in sqlite_seed(n) {
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&mut *conn).await?;
        }
        drop(conn);
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await?;
        let mut conn = pool.acquire().await?;
        for statement in postgres_seed(n) {
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&mut *conn).await?;
        }
        drop(conn);
        pool.close().await;
    }
    Ok(())
}
