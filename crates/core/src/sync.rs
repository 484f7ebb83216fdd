//! Sync between devices and the server (the protocol is described in `docs/sync.md`):
//! the records that travel, which of their fields devices may edit, the wire types of
//! `/api/v1/sync`, and the per-field merge both sides run so they converge.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use ts_rs::TS;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::hlc::Hlc;

/// The protocol version this build speaks. 3 added the `profile` record: a pull by an
/// older app leaves profiles out, since it could not read them. A new optional field
/// (a code's `referee_type`) keeps the version (docs/sync.md, "Versions").
pub const SCHEMA_VERSION: u32 = 3;
/// The oldest version the server still accepts: 1 (one clock per change) and 2 (no
/// profile records) are both still in use.
pub const OLDEST_SCHEMA_VERSION: u32 = 1;
/// Most changes in one push and records in one pull page.
pub const MAX_BATCH: usize = 1000;
/// The largest push body the server takes (a batch of long invitations is large).
pub const MAX_PUSH_BYTES: usize = 8 * 1024 * 1024;
/// A clock this far ahead of the server's is brought back to the server's time.
pub const CLOCK_TOLERANCE_MS: i64 = 5 * 60 * 1000;

/// The kinds of record that sync. Each is a table on the device whose columns are named
/// like the fields below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    Contact,
    Fair,
    /// A referral code made on a device; on the server it becomes a referral.
    Code,
    /// A couple captured at a fair booth; on the server it becomes a fair-lead touch.
    Lead,
    Invitation,
    /// A supplier's profile for couples' recommendations: one per account, its id the
    /// account's id (`bouquet_core::recommend::SupplierProfile`).
    Profile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Text,
    Integer,
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub ty: FieldType,
    pub required: bool,
    /// Longest text accepted, in characters.
    pub max_len: usize,
    /// Set once when the record is made, never changed afterwards (a code's text, a
    /// lead's capture time): an edit is refused rather than merged.
    pub immutable: bool,
}

const fn text(name: &'static str, max_len: usize) -> Field {
    Field { name, ty: FieldType::Text, required: false, max_len, immutable: false }
}
const fn required(name: &'static str, max_len: usize) -> Field {
    Field { name, ty: FieldType::Text, required: true, max_len, immutable: false }
}
const fn fixed(name: &'static str, max_len: usize) -> Field {
    Field { name, ty: FieldType::Text, required: true, max_len, immutable: true }
}
/// Optional, but like [`fixed`] set once when the record is made (absent or null then
/// means never): a code's campaign.
const fn fixed_optional(name: &'static str, max_len: usize) -> Field {
    Field { name, ty: FieldType::Text, required: false, max_len, immutable: true }
}
const fn integer(name: &'static str) -> Field {
    Field { name, ty: FieldType::Integer, required: false, max_len: 0, immutable: false }
}

const CONTACT: &[Field] = &[
    required("kind", 20),
    required("names", 200),
    text("business_name", 200),
    text("vendor_type", 40),
    text("email", 254),
    text("phone", 40),
    text("wedding_date", 10),
    text("location", 200),
    integer("budget_minor"),
    text("budget_currency", 3),
    text("style", 200),
    text("notes", 5000),
    text("tags", 2000),
    integer("marketing_consent"),
    fixed("created_at", 40),
];
const FAIR: &[Field] = &[required("name", 200), text("date", 10), text("place", 200), text("notes", 5000), fixed("created_at", 40)];
const CODE: &[Field] = &[
    fixed("code", 40),
    fixed("method", 10),
    text("fair_id", 36),
    text("utm_source", 200),
    text("utm_medium", 200),
    text("utm_campaign", 200),
    text("message", 5000),
    text("incentive", 200),
    fixed("link", 2000),
    fixed("created_at", 40),
    // The campaign the code was made under, as the device last heard of it; the server
    // applies it only if the campaign is still open to the account (docs/sync.md).
    fixed_optional("campaign_id", 36),
    // Who the code is for: `couple` or `supplier` (a supplier → supplier invitation's
    // code). Absent means the account's usual: a supplier's codes are for couples, a
    // couple's for suppliers.
    fixed_optional("referee_type", 10),
];
// Lists are text, one item per line or comma-separated, so a field merges as a whole.
const PROFILE: &[Field] = &[
    text("location", 200),
    text("styles", 1000),
    integer("budget_min_minor"),
    integer("budget_max_minor"),
    // 366 dates of "YYYY-MM-DD, ": a year's worth (recommend::MAX_BOOKED_DATES).
    text("booked_dates", 4400),
];
const LEAD: &[Field] = &[fixed("fair_id", 36), fixed("code_id", 36), fixed("contact_id", 36), fixed("captured_at", 40)];
const INVITATION: &[Field] = &[
    text("contact_id", 36),
    fixed("code_id", 36),
    required("couple_names", 200),
    required("email", 254),
    text("phone", 40),
    text("wedding_date", 10),
    required("personal_message", 10_000),
    text("discount_offered", 200),
    text("exclusive_content", 2000),
    text("forms_shared", 2000),
    text("prefilled_data", 10_000),
    required("status", 10),
    integer("batch_number"),
    text("send_after", 40),
    text("sent_at", 40),
    text("expires_at", 40),
    fixed("created_at", 40),
];

impl Entity {
    /// The sync version that introduced the kind: an app speaking an older one is not sent
    /// records of it.
    pub fn since_version(self) -> u32 {
        match self {
            Self::Profile => 3,
            _ => 1,
        }
    }

    pub const ALL: [Entity; 6] = [Self::Contact, Self::Fair, Self::Code, Self::Lead, Self::Invitation, Self::Profile];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Contact => "contact",
            Self::Fair => "fair",
            Self::Code => "code",
            Self::Lead => "lead",
            Self::Invitation => "invitation",
            Self::Profile => "profile",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// The fields devices write. Anything else (attribution, rewards, fraud status) is
    /// the server's and is refused in a push.
    pub fn fields(self) -> &'static [Field] {
        match self {
            Self::Contact => CONTACT,
            Self::Fair => FAIR,
            Self::Code => CODE,
            Self::Lead => LEAD,
            Self::Invitation => INVITATION,
            Self::Profile => PROFILE,
        }
    }

    pub fn field(self, name: &str) -> Option<&'static Field> {
        self.fields().iter().find(|f| f.name == name)
    }
}

/// Why a change cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    #[error("{entity} has no field '{field}' that devices may write")]
    UnknownField { entity: &'static str, field: String },
    #[error("{entity}.{field} must be {expected}")]
    WrongType { entity: &'static str, field: &'static str, expected: &'static str },
    #[error("{entity}.{field} is longer than {max} characters")]
    TooLong { entity: &'static str, field: &'static str, max: usize },
    #[error("{entity}.{field} has no clock")]
    MissingClock { entity: &'static str, field: String },
    #[error("a new {entity} needs {field}")]
    MissingField { entity: &'static str, field: &'static str },
    #[error("{entity}.{field} cannot change once made")]
    Immutable { entity: &'static str, field: &'static str },
}

/// The state of one record: its fields, the clock of each field's last write, and the
/// clock of its delete. A deleted record stays deleted (a tombstone) whatever arrives later.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordState {
    pub fields: Map<String, Value>,
    pub clocks: BTreeMap<String, Hlc>,
    pub deleted: Option<Hlc>,
}

impl RecordState {
    /// Merges a write into the record, field by field: a field takes the written value
    /// when its clock is later than the field's. Fields are merged even on a tombstone,
    /// so every replica reaches the same values whatever order writes arrive in; the
    /// earliest delete is kept. Returns whether anything changed.
    pub fn merge(&mut self, fields: &Map<String, Value>, clocks: &BTreeMap<String, Hlc>, deleted: Option<&Hlc>) -> bool {
        let mut changed = false;
        for (name, value) in fields {
            let Some(clock) = clocks.get(name) else { continue };
            if self.clocks.get(name).is_none_or(|current| clock > current) {
                self.fields.insert(name.clone(), value.clone());
                self.clocks.insert(name.clone(), clock.clone());
                changed = true;
            }
        }
        if let Some(d) = deleted
            && self.deleted.as_ref().is_none_or(|current| d < current)
        {
            self.deleted = Some(d.clone());
            changed = true;
        }
        changed
    }

    /// The newest clock in the record.
    pub fn newest_clock(&self) -> Option<&Hlc> {
        self.clocks.values().chain(self.deleted.iter()).max()
    }
}

/// Checks a device's write against the entity's fields. `existing` is the record as the
/// receiver holds it (for required and immutable fields).
pub fn check_change(entity: Entity, change: &Change, existing: Option<&RecordState>) -> Result<(), ChangeError> {
    let name = entity.as_str();
    for (field_name, value) in &change.fields {
        let field = entity.field(field_name).ok_or_else(|| ChangeError::UnknownField { entity: name, field: field_name.clone() })?;
        if !change.clocks.contains_key(field_name) {
            return Err(ChangeError::MissingClock { entity: name, field: field_name.clone() });
        }
        match (field.ty, value) {
            (_, Value::Null) if !field.required => {}
            (FieldType::Text, Value::String(s)) => {
                if s.chars().count() > field.max_len {
                    return Err(ChangeError::TooLong { entity: name, field: field.name, max: field.max_len });
                }
            }
            (FieldType::Integer, Value::Number(n)) if n.is_i64() => {}
            (FieldType::Text, _) => {
                let expected = if field.required { "text" } else { "text or null" };
                return Err(ChangeError::WrongType { entity: name, field: field.name, expected });
            }
            (FieldType::Integer, _) => return Err(ChangeError::WrongType { entity: name, field: field.name, expected: "a whole number or null" }),
        }
        if field.immutable
            && let Some(old) = existing.and_then(|r| r.fields.get(field_name))
            && old != value
        {
            return Err(ChangeError::Immutable { entity: name, field: field.name });
        }
    }
    let is_new = existing.is_none_or(|r| r.fields.is_empty());
    if is_new && change.deleted.is_none() {
        for field in entity.fields().iter().filter(|f| f.required) {
            if !change.fields.contains_key(field.name) {
                return Err(ChangeError::MissingField { entity: name, field: field.name });
            }
        }
    }
    Ok(())
}

/// One write from a device: the fields it set (each with its clock) and/or its delete.
/// `seq` numbers the device's changes 1, 2, 3… with no gaps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Change {
    pub seq: i64,
    pub entity: Entity,
    pub id: Uuid,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
    /// Version 2: one clock per field written.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub clocks: BTreeMap<String, Hlc>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub deleted: Option<Hlc>,
}

/// A version-1 change: one clock for the whole change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeV1 {
    pub seq: i64,
    pub entity: Entity,
    pub id: Uuid,
    pub hlc: Hlc,
    #[serde(default)]
    pub fields: Map<String, Value>,
    #[serde(default)]
    pub deleted: bool,
}

impl From<ChangeV1> for Change {
    fn from(v1: ChangeV1) -> Self {
        let clocks = v1.fields.keys().map(|k| (k.clone(), v1.hlc.clone())).collect();
        Change { seq: v1.seq, entity: v1.entity, id: v1.id, fields: v1.fields, clocks, deleted: v1.deleted.then_some(v1.hlc) }
    }
}

/// `POST /api/v1/sync/push`: the device's next changes, in order. The changes' shape
/// depends on `schema_version` (see [`Change`], [`ChangeV1`]).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    pub schema_version: u32,
    #[schema(value_type = Vec<Object>)]
    pub changes: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PushResponse {
    /// Every change of this device up to this number is applied (now or before).
    pub applied_through: i64,
    pub server_time: DateTime<Utc>,
}

/// `GET /api/v1/sync/state`: where this device and its account stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SyncState {
    pub applied_through: i64,
    /// The account's newest change number.
    pub last_change: i64,
    pub epoch: String,
    pub server_time: DateTime<Utc>,
}

/// One record as the server holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Record {
    pub entity: Entity,
    pub id: Uuid,
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
    #[schema(value_type = Object)]
    pub clocks: BTreeMap<String, Hlc>,
    #[schema(value_type = Option<String>)]
    pub deleted: Option<Hlc>,
    /// The account's change number of the record's last change.
    pub change: i64,
}

impl Record {
    pub fn state(&self) -> RecordState {
        RecordState { fields: self.fields.clone(), clocks: self.clocks.clone(), deleted: self.deleted.clone() }
    }

    /// The latest clock of any of its writes.
    pub fn newest_clock(&self) -> Option<&Hlc> {
        self.clocks.values().chain(self.deleted.iter()).max()
    }
}

/// `GET /api/v1/sync/pull?after=N&epoch=E&limit=L`: records changed after change `N`,
/// oldest change first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PullPage {
    /// Start again: the cursor is not one this database gave (restored from a backup,
    /// or another epoch). Pull from 0; keep every local change and send it again.
    pub reset: bool,
    pub epoch: String,
    pub records: Vec<Record>,
    /// The cursor for the next pull.
    pub next_after: i64,
    pub more: bool,
    pub server_time: DateTime<Utc>,
}

/// The server's live state of one code (clicks, sign-ups, conversions, fraud hold),
/// read-only on devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct CodeStatus {
    pub code: String,
    pub clicks: i64,
    pub qr_scans: i64,
    pub leads: i64,
    /// When the first couple who came through it signed up.
    pub signed_up_at: Option<DateTime<Utc>>,
    /// When it brought a conversion (as the primary referral).
    pub converted_at: Option<DateTime<Utc>>,
    /// Where fraud review of its referees stands: `pending` (none assessed yet),
    /// `approved`, `under_review` (one or more held for review) or `rejected`.
    pub fraud_status: String,
    pub expired: bool,
    /// The rewards this code earned its referrer, oldest first.
    #[serde(default)]
    pub rewards: Vec<CodeReward>,
}

/// A reward a code earned: how much, and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct CodeReward {
    pub amount: crate::money::Money,
    pub status: crate::reward_status::RewardStatus,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn clock(wall: i64, node: &str) -> Hlc {
        Hlc { wall_ms: wall, counter: 0, node: node.into() }
    }

    fn write(pairs: &[(&str, Value)], at: Hlc) -> (Map<String, Value>, BTreeMap<String, Hlc>) {
        let fields: Map<String, Value> = pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        let clocks = fields.keys().map(|k| (k.clone(), at.clone())).collect();
        (fields, clocks)
    }

    #[test]
    fn merge_is_per_field_and_order_free() {
        let a = write(&[("names", json!("Anna & Ben")), ("phone", json!("0770"))], clock(10, "a"));
        let b = write(&[("phone", json!("0771"))], clock(20, "b"));
        let c = write(&[("email", json!("a@x.com"))], clock(5, "c"));
        let mut one = RecordState::default();
        let mut two = RecordState::default();
        for (f, k) in [&a, &b, &c] {
            one.merge(f, k, None);
        }
        for (f, k) in [&c, &b, &a] {
            two.merge(f, k, None);
        }
        assert_eq!(one, two);
        assert_eq!(one.fields["phone"], json!("0771"));
        assert_eq!(one.fields["names"], json!("Anna & Ben"));
        assert!(!one.merge(&a.0, &a.1, None), "replaying a write changes nothing");
    }

    #[test]
    fn a_delete_is_never_undone() {
        let mut state = RecordState::default();
        let (f, k) = write(&[("names", json!("A"))], clock(10, "a"));
        state.merge(&f, &k, Some(&clock(11, "a")));
        let (f2, k2) = write(&[("names", json!("B"))], clock(30, "b"));
        state.merge(&f2, &k2, None);
        assert_eq!(state.deleted, Some(clock(11, "a")));
    }

    #[test]
    fn changes_are_checked_against_the_entity() {
        let change = |fields: Value| Change {
            seq: 1,
            entity: Entity::Contact,
            id: Uuid::nil(),
            clocks: fields.as_object().unwrap().keys().map(|k| (k.clone(), clock(1, "a"))).collect(),
            fields: fields.as_object().unwrap().clone(),
            deleted: None,
        };
        let ok = change(json!({"kind": "couple", "names": "A & B", "created_at": "2026-01-01T00:00:00Z"}));
        assert_eq!(check_change(Entity::Contact, &ok, None), Ok(()));
        let server_owned = change(json!({"fraud_status": "clear"}));
        assert!(matches!(check_change(Entity::Contact, &server_owned, None), Err(ChangeError::UnknownField { .. })));
        let missing = change(json!({"kind": "couple"}));
        assert!(matches!(check_change(Entity::Contact, &missing, None), Err(ChangeError::MissingField { field: "names", .. })));
        let wrong = change(json!({"kind": "couple", "names": 7}));
        assert!(matches!(check_change(Entity::Contact, &wrong, None), Err(ChangeError::WrongType { .. })));
        let existing = RecordState { fields: ok.fields.clone(), ..Default::default() };
        let rewritten = change(json!({"created_at": "2020-01-01T00:00:00Z"}));
        assert!(matches!(check_change(Entity::Contact, &rewritten, Some(&existing)), Err(ChangeError::Immutable { .. })));
    }

    #[test]
    fn a_codes_campaign_is_optional_and_fixed_once_set() {
        let change = |fields: Value| Change {
            seq: 1,
            entity: Entity::Code,
            id: Uuid::nil(),
            clocks: fields.as_object().unwrap().keys().map(|k| (k.clone(), clock(1, "a"))).collect(),
            fields: fields.as_object().unwrap().clone(),
            deleted: None,
        };
        let base = json!({"code": "PETAL-ABCDEFGHJK", "method": "qr", "link": "https://x/r/PETAL-ABCDEFGHJK", "created_at": "2026-01-01T00:00:00Z"});
        // An older app sends no campaign at all.
        assert_eq!(check_change(Entity::Code, &change(base.clone()), None), Ok(()));
        let mut with = base.as_object().unwrap().clone();
        with.insert("campaign_id".into(), json!("0190a3c4-0000-7000-8000-000000000001"));
        assert_eq!(check_change(Entity::Code, &change(Value::Object(with.clone())), None), Ok(()));
        let made = RecordState { fields: with, ..Default::default() };
        let moved = change(json!({"campaign_id": "0190a3c4-0000-7000-8000-000000000002"}));
        assert!(matches!(check_change(Entity::Code, &moved, Some(&made)), Err(ChangeError::Immutable { field: "campaign_id", .. })));
        let mut without = base.as_object().unwrap().clone();
        without.insert("campaign_id".into(), Value::Null);
        let made_without = RecordState { fields: without, ..Default::default() };
        assert!(matches!(check_change(Entity::Code, &moved, Some(&made_without)), Err(ChangeError::Immutable { .. })), "made without one: never gets one");
    }
}
