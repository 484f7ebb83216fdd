//! The desktop app's engine, usable without a window: the server API client today; the
//! local store, outbox and sync engine next. Depends on bouquet-core only, never on Tauri.

pub mod error;
pub mod server;

pub use error::ClientError;
pub use server::{ServerClient, ServerStatus};
