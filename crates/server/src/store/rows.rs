//! Rows → domain values, once for both databases. They differ only in how a column
//! becomes a uuid, a time or a date (SQLite keeps them as text), which [`Columns`]
//! abstracts and `db::Row` implements.

use bouquet_core::api::{AccountView, ConversionView, ReferralView};
use bouquet_core::attribution::{Channel, Credit, Touch};
use bouquet_core::{AccountKind, AttributionModel, Money, ReferralCode, ReferralMethod, VendorType};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::{StoreError, StoreResult, StoredReferral};

pub(super) trait Columns {
    fn text(&self, col: &str) -> StoreResult<String>;
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>>;
    fn int(&self, col: &str) -> StoreResult<i64>;
    fn opt_int(&self, col: &str) -> StoreResult<Option<i64>>;
    fn flag(&self, col: &str) -> StoreResult<bool>;
    fn opt_uuid(&self, col: &str) -> StoreResult<Option<Uuid>>;
    fn opt_time(&self, col: &str) -> StoreResult<Option<DateTime<Utc>>>;
    fn opt_date(&self, col: &str) -> StoreResult<Option<NaiveDate>>;

    fn uuid(&self, col: &str) -> StoreResult<Uuid> {
        self.opt_uuid(col)?.ok_or_else(|| StoreError::Corrupt(format!("{col} is null")))
    }

    fn time(&self, col: &str) -> StoreResult<DateTime<Utc>> {
        self.opt_time(col)?.ok_or_else(|| StoreError::Corrupt(format!("{col} is null")))
    }

    fn money(&self, amount_col: &str, currency_col: &str) -> StoreResult<Option<Money>> {
        Ok(match (self.opt_int(amount_col)?, self.opt_text(currency_col)?) {
            (Some(amount_minor), Some(currency)) => Some(Money { amount_minor, currency }),
            _ => None,
        })
    }

    fn parsed<T>(&self, col: &str, parse: impl Fn(&str) -> Option<T>) -> StoreResult<T> {
        let s = self.text(col)?;
        parse(&s).ok_or_else(|| StoreError::Corrupt(format!("{col} '{s}'")))
    }
}

pub(super) fn account(row: &impl Columns) -> StoreResult<AccountView> {
    Ok(AccountView {
        id: row.uuid("id")?,
        kind: row.parsed("kind", AccountKind::parse)?,
        email: row.text("email")?,
        business_name: row.opt_text("business_name")?,
        vendor_type: row.opt_text("vendor_type")?.as_deref().and_then(VendorType::parse),
        couple_names: row.opt_text("couple_names")?,
        wedding_date: row.opt_date("wedding_date")?,
        location: row.opt_text("location")?,
        locale: row.opt_text("locale")?,
        created_at: row.time("created_at")?,
    })
}

/// Expects `referrals.*` plus `referrer_name`.
pub(super) fn referral(row: &impl Columns) -> StoreResult<StoredReferral> {
    let view = ReferralView {
        id: row.uuid("id")?,
        code: row.parsed("code", |c| ReferralCode::parse(c).ok())?,
        link: String::new(),
        qr_link: String::new(),
        referrer_id: row.uuid("referrer_id")?,
        referrer_type: row.parsed("referrer_type", AccountKind::parse)?,
        referee_type: row.parsed("referee_type", AccountKind::parse)?,
        method: row.parsed("method", ReferralMethod::parse)?,
        campaign_id: row.opt_uuid("campaign_id")?,
        source_url: row.opt_text("source_url")?,
        utm_source: row.opt_text("utm_source")?,
        utm_medium: row.opt_text("utm_medium")?,
        utm_campaign: row.opt_text("utm_campaign")?,
        vendor_type: row.opt_text("vendor_type")?.as_deref().and_then(VendorType::parse),
        wedding_date: row.opt_date("wedding_date")?,
        location: row.opt_text("location")?,
        message: row.opt_text("message")?,
        incentive_offered: row.opt_text("incentive_offered")?,
        incentive_amount: row.money("incentive_amount_minor", "incentive_currency")?,
        created_at: row.time("created_at")?,
        expires_at: row.opt_time("expires_at")?,
        clicked_at: row.opt_time("clicked_at")?,
        signed_up_at: row.opt_time("signed_up_at")?,
        activated_at: row.opt_time("activated_at")?,
        converted_at: row.opt_time("converted_at")?,
        conversion_value: row.money("conversion_value_minor", "conversion_currency")?,
        conversion_plan: row.opt_text("conversion_plan")?,
        time_to_convert_seconds: row.opt_int("time_to_convert_seconds")?,
        unique_visits: row.int("unique_visits")?,
        qr_scans: row.int("qr_scans")?,
        leads: row.int("leads")?,
    };
    Ok(StoredReferral { view, referrer_name: row.text("referrer_name")? })
}

pub(super) fn touch(row: &impl Columns) -> StoreResult<Touch> {
    Ok(Touch {
        id: row.uuid("id")?,
        referral_id: row.uuid("referral_id")?,
        referrer_id: row.uuid("referrer_id")?,
        channel: row.parsed("channel", Channel::parse)?,
        at: row.time("occurred_at")?,
    })
}

pub(super) fn credit(row: &impl Columns) -> StoreResult<Credit> {
    Ok(Credit {
        touch_id: row.uuid("touch_id")?,
        referral_id: row.uuid("referral_id")?,
        referrer_id: row.uuid("referrer_id")?,
        channel: row.parsed("channel", Channel::parse)?,
        touched_at: row.time("touched_at")?,
        weight_ppm: u32::try_from(row.int("weight_ppm")?).map_err(|e| StoreError::Corrupt(format!("weight_ppm: {e}")))?,
        value_minor: row.int("value_minor")?,
    })
}

/// A `conversions` row and its credits.
pub(super) fn conversion(row: &impl Columns, credits: Vec<Credit>) -> StoreResult<ConversionView> {
    Ok(ConversionView {
        id: row.uuid("id")?,
        model: row.parsed("model", AttributionModel::parse)?,
        referral_id: row.uuid("referral_id")?,
        referrer_id: row.uuid("referrer_id")?,
        converted_at: row.time("converted_at")?,
        time_to_convert_seconds: row.int("time_to_convert_seconds")?,
        plan: row.opt_text("plan")?,
        value: row.money("value_minor", "currency")?,
        annual: row.flag("annual")?,
        mrr: row.money("mrr_minor", "mrr_currency")?,
        credits,
    })
}

/// A sync record's state as stored: fields and clocks as JSON text, the delete clock as text.
pub(super) struct EncodedState {
    pub fields: String,
    pub clocks: String,
    pub deleted: Option<String>,
}

pub(super) fn encode_state(state: &bouquet_core::sync::RecordState) -> EncodedState {
    EncodedState {
        fields: serde_json::Value::Object(state.fields.clone()).to_string(),
        clocks: serde_json::to_string(&state.clocks).unwrap_or_else(|_| "{}".into()),
        deleted: state.deleted.as_ref().map(ToString::to_string),
    }
}

pub(super) fn record_state(row: &impl Columns) -> StoreResult<bouquet_core::sync::RecordState> {
    let corrupt = |col: &str, e: &dyn std::fmt::Display| StoreError::Corrupt(format!("sync record {col}: {e}"));
    Ok(bouquet_core::sync::RecordState {
        fields: serde_json::from_str(&row.text("fields")?).map_err(|e| corrupt("fields", &e))?,
        clocks: serde_json::from_str(&row.text("clocks")?).map_err(|e| corrupt("clocks", &e))?,
        deleted: row.opt_text("deleted")?.map(|d| d.parse()).transpose().map_err(|e| corrupt("deleted", &e))?,
    })
}

pub(super) fn sync_record(row: &impl Columns) -> StoreResult<bouquet_core::sync::Record> {
    let state = record_state(row)?;
    Ok(bouquet_core::sync::Record {
        entity: row.parsed("entity", bouquet_core::sync::Entity::parse)?,
        id: row.uuid("id")?,
        fields: state.fields,
        clocks: state.clocks,
        deleted: state.deleted,
        change: row.int("change")?,
    })
}

pub(super) fn code_status(row: &impl Columns, now: DateTime<Utc>) -> StoreResult<bouquet_core::sync::CodeStatus> {
    Ok(bouquet_core::sync::CodeStatus {
        code: row.text("code")?,
        clicks: row.int("unique_visits")?,
        qr_scans: row.int("qr_scans")?,
        leads: row.int("leads")?,
        signed_up_at: row.opt_time("signed_up_at")?,
        converted_at: row.opt_time("converted_at")?,
        fraud_status: row.text("fraud_status")?,
        expired: row.opt_time("expires_at")?.is_some_and(|at| at <= now),
        rewards: Vec::new(),
    })
}
