//! A supplier's network (issue 15): the suppliers who joined the platform through their
//! supplier → supplier invitations, and who joined through those in turn.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

/// Most suppliers listed at each level.
pub const MAX_MEMBERS: i64 = 100;

/// A supplier who joined the platform through a referral of the account's (or of a member's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct JoinedSupplier {
    /// The code they joined through: the app names them from the invitation it made.
    pub code: String,
    /// Their business name, where they also use Bouquet (else the app's contact name).
    pub business_name: Option<String>,
    pub vendor_type: Option<String>,
    pub joined_at: DateTime<Utc>,
    /// When they first paid, and on which plan.
    pub subscribed_at: Option<DateTime<Utc>>,
    pub plan: Option<String>,
}

/// One who joined through me, and who joined through them (two levels, not a tree: the
/// schema stays finite).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct NetworkMember {
    pub supplier: JoinedSupplier,
    pub joined_through_them: Vec<JoinedSupplier>,
}

/// `GET /api/v1/me/network`: who joined through me, newest first, and who joined through
/// each of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[ts(export)]
pub struct Network {
    pub members: Vec<NetworkMember>,
}

impl Network {
    /// Everyone in it, at both levels.
    pub fn size(&self) -> usize {
        self.members.iter().map(|m| 1 + m.joined_through_them.len()).sum()
    }
}
