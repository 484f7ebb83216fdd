//! The server's business rules over the store: who may do what, what a valid request
//! is, what an event does. Handlers call these; these call the store and bouquet-core.

pub mod accounts;
pub mod announce;
pub mod analytics;
pub mod campaigns;
pub mod couples;
pub mod email;
pub mod events;
pub mod experiments;
pub mod fraud;
pub mod landing;
pub mod notices;
pub mod privacy;
pub mod recommendations;
pub mod referrals;
pub mod rewards;
pub mod stats;
pub mod sync;
pub mod validate;
pub mod visitors;
pub mod webhook_signature;
pub mod webhooks;
