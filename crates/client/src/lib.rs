//! The desktop app's engine, usable without a window: the local store (contacts, fairs,
//! offline referral codes, the outbox), QR rendering and the server API client.
//! Depends on bouquet-core only, never on Tauri, so every part is tested headless.

pub mod background;
pub mod error;
pub mod qr;
pub mod server;
pub mod sheet;
pub mod store;
pub mod sync;
pub mod token;

pub use error::{ClientError, DataProblem};
pub use server::{ServerClient, ServerStatus};
pub use store::LocalStore;
