//! Bouquet's domain: referral codes, referral rules, attribution models, rewards (amounts,
//! statuses, ledger postings, tiers, leaderboards), money and the wire types of the
//! server's API. Pure functions and types, no I/O; every other crate
//! may depend on this one, and it depends on none of them.

pub mod account;
pub mod analytics;
pub mod api;
pub mod attribution;
pub mod batching;
pub mod campaigns;
pub mod delivery;
pub mod code;
pub mod experiments;
pub mod fraud;
pub mod hlc;
pub mod leaderboard;
pub mod ledger;
pub mod metrics;
pub mod network;
pub mod money;
pub mod notifications;
pub mod recommend;
pub mod referral;
pub mod reward_status;
pub mod rewards;
pub mod sync;
pub mod template;
pub mod tiers;
pub mod webhooks;

pub use account::{AccountKind, VendorType};
pub use attribution::{AttributionModel, Channel};
pub use code::{CodeError, CodeNamespace, ReferralCode};
pub use hlc::Hlc;
pub use leaderboard::LeaderboardPeriod;
pub use ledger::{LedgerAccount, LedgerBucket, LedgerCause, Posting};
pub use money::{Money, CREDITS};
pub use referral::ReferralMethod;
pub use reward_status::{RewardError, RewardEvent, RewardStatus};
pub use rewards::{CampaignBoost, RewardInput, RewardQuote, RewardRole, RewardRules};
pub use tiers::{Perk, Tier};
