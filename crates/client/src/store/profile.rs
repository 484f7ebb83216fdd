//! The supplier's profile for couples' recommendations: where they work, their style
//! words, their price range and the dates they are booked. One per account (its id the
//! account's), edited offline and synced like any record; the server scores suppliers
//! with it (`bouquet_core::recommend`).

use bouquet_core::AccountKind;
use bouquet_core::recommend::SupplierProfile;
use bouquet_core::sync::Entity;
use rusqlite::{OptionalExtension, params};
use serde::Deserialize;
use ts_rs::TS;

use super::{LocalStore, Result, now_text, tracking};
use crate::ClientError;

/// What the profile editor sends: lists one per line or comma-separated.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[ts(export, optional_fields)]
pub struct ProfileInput {
    pub location: Option<String>,
    pub styles: Option<String>,
    pub budget_min_minor: Option<i64>,
    pub budget_max_minor: Option<i64>,
    pub booked_dates: Option<String>,
}

impl LocalStore {
    /// The profile's record id: the signed-in supplier's account id. A profile belongs to
    /// an account, so it needs one.
    fn profile_id(&self) -> Result<String> {
        let session = self.session()?.ok_or_else(|| ClientError::Invalid("sign in to your Bouquet account to edit your profile".into()))?;
        if session.account_kind != AccountKind::Supplier {
            return Err(ClientError::Invalid("only suppliers have a profile".into()));
        }
        Ok(session.account_id.to_string())
    }

    /// The profile as last saved here or synced from another device; empty when none.
    pub fn profile(&self) -> Result<SupplierProfile> {
        let id = self.profile_id()?;
        let row = self
            .conn()
            .query_row(
                "SELECT location, styles, budget_min_minor, budget_max_minor, booked_dates FROM profiles WHERE id = ?1 AND deleted_at IS NULL",
                [&id],
                |r| Ok((r.get::<_, Option<String>>(0)?, r.get::<_, Option<String>>(1)?, r.get(2)?, r.get(3)?, r.get::<_, Option<String>>(4)?)),
            )
            .optional()?;
        Ok(row
            .map(|(location, styles, lo, hi, dates)| {
                SupplierProfile::from_record_lenient(location.as_deref(), styles.as_deref(), lo, hi, dates.as_deref())
            })
            .unwrap_or_default())
    }

    /// Saves the profile and queues it for the server. Refused whole (nothing saved) when
    /// a date is not a date, the price range is reversed or a list is too long.
    pub fn save_profile(&self, input: ProfileInput) -> Result<SupplierProfile> {
        let id = self.profile_id()?;
        let profile = SupplierProfile::from_input(
            input.location.as_deref(),
            input.styles.as_deref().unwrap_or_default(),
            input.budget_min_minor,
            input.budget_max_minor,
            input.booked_dates.as_deref().unwrap_or_default(),
        )
        .map_err(|e| ClientError::Invalid(e.to_string()))?;
        if profile.location.as_ref().is_some_and(|l| l.chars().count() > 200) {
            return Err(ClientError::Invalid("location is longer than 200 characters".into()));
        }
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO profiles (id, location, styles, budget_min_minor, budget_max_minor, booked_dates, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (id) DO UPDATE SET location = excluded.location, styles = excluded.styles,
                 budget_min_minor = excluded.budget_min_minor, budget_max_minor = excluded.budget_max_minor,
                 booked_dates = excluded.booked_dates, updated_at = excluded.updated_at",
            params![
                id,
                profile.location,
                Some(profile.styles_text()).filter(|s| !s.is_empty()),
                profile.budget_min_minor,
                profile.budget_max_minor,
                Some(profile.booked_dates_text()).filter(|s| !s.is_empty()),
                now_text()
            ],
        )?;
        tracking::record(&tx, Entity::Profile, &id)?;
        tx.commit()?;
        Ok(profile)
    }
}
