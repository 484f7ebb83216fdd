//! The sync server (`bouquet-server`): accounts and devices, referral codes and their
//! landing pages, platform events and attribution, on SQLite or PostgreSQL.
//! `http` is the thin outer layer; `service` holds the rules; `store` the persistence.

pub mod store;
pub mod config;
pub mod error;
pub mod http;
pub mod i18n;
pub mod service;

#[cfg(feature = "testing")]
pub mod testing;
