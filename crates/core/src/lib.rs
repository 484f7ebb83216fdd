//! Bouquet's domain: referral codes, referral rules, attribution models, money and the
//! wire types of the server's API. Pure functions and types, no I/O; every other crate
//! may depend on this one, and it depends on none of them.

pub mod account;
pub mod api;
pub mod attribution;
pub mod batching;
pub mod code;
pub mod hlc;
pub mod money;
pub mod referral;
pub mod sync;
pub mod template;

pub use account::{AccountKind, VendorType};
pub use attribution::{AttributionModel, Channel};
pub use code::{CodeError, CodeNamespace, ReferralCode};
pub use hlc::Hlc;
pub use money::Money;
pub use referral::ReferralMethod;
